package job_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind, such as
// an AfterFunc registration or a context-propagation goroutine that a job's
// ctx never released. The examples run jobs on package pool, whose
// executor (ants) starts its default pool's goroutines when it is
// imported, before any test: those are ignored.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreCurrent())
}
