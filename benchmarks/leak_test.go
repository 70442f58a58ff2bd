package benchmarks

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the tests if a peer's pool leaves a goroutine behind
// after Close. ants starts two goroutines at import, hence IgnoreCurrent.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreCurrent())
}
