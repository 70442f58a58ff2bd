package job_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind, such as
// an AfterFunc registration or a context-propagation goroutine that a job's
// ctx never released.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
