package job

import (
	"context"
	"errors"
	"fmt"

	"github.com/weir-go/weir/internal/task"
)

var (
	// ErrPanic is matched by errors.Is for every *PanicError: the job
	// panicked, and its handle reports the panic as an error instead of
	// crashing the program.
	ErrPanic = errors.New("job: panic")

	// ErrCanceled is the error of a job that was cancelled with
	// Handle.Cancel before it started: it never ran. It matches
	// context.Canceled too.
	ErrCanceled = fmt.Errorf("job: canceled: %w", context.Canceled)

	// ErrGoexit is the error of a job that called runtime.Goexit (as
	// testing's t.FailNow does) instead of returning.
	ErrGoexit = errors.New("job: runtime.Goexit called")
)

// PanicError is the error of a job that panicked: the value it panicked
// with and the stack of the goroutine at the panic. errors.Is(err,
// ErrPanic) is true for it, and if the value was an error, errors.Is and
// errors.As see through to it.
type PanicError struct {
	Value any
	Stack []byte
}

// Error returns "job: panic: " and the value.
func (e *PanicError) Error() string {
	return fmt.Sprintf("job: panic: %v", e.Value)
}

// Is reports whether target is ErrPanic.
func (e *PanicError) Is(target error) bool { return target == ErrPanic }

// Unwrap returns the panic value if it is an error, else nil.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// The errors above are the ones tasks return: package pool runs jobs
// through internal/task, which cannot import this package.
func init() {
	task.ErrPanic, task.ErrCanceled, task.ErrGoexit = ErrPanic, ErrCanceled, ErrGoexit
	task.NewPanicError = func(v any, stack []byte) error { return &PanicError{Value: v, Stack: stack} }
}
