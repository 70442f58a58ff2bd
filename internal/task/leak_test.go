package task_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind, such as
// the registration of a job's ctx with its executor's base ctx.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
