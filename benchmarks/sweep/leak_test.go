package sweep_test

import (
	"testing"

	"go.uber.org/goleak"
)

// ants (weir's executor) starts two goroutines at import, hence
// IgnoreCurrent.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreCurrent())
}
