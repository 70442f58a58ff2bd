package job

import (
	"context"

	"github.com/weir-go/weir/internal/task"
)

// Result is the handle of a job that returns a value: a function
// func(ctx) (T, error). It is a Handle (Done, State, Cancel, Name, ...)
// whose Wait also returns the value.
type Result[T any] struct {
	Handle
	fn  func(context.Context) (T, error)
	val T
}

// Wait blocks until the job has finished and returns what the function
// returned. If the function panicked, called runtime.Goexit or never ran,
// the value is the zero value and the error says why, as for Handle.Wait.
func (r *Result[T]) Wait() (T, error) {
	err := r.Handle.Wait()
	return r.val, err
}

// resultJob is the Job that runs a Result's function and keeps its value.
type resultJob[T any] Result[T]

func (j *resultJob[T]) Run(ctx context.Context) error {
	v, err := j.fn(ctx)
	j.val = v
	return err
}

// NewResult returns the handle of a job that runs fn, for an executor to
// submit: package pool's SubmitResult does. A Result that no executor
// runs never finishes.
func NewResult[T any](fn func(context.Context) (T, error)) *Result[T] {
	r := &Result[T]{fn: fn}
	(*task.Task)(&r.Handle).SetJob((*resultJob[T])(r))
	return r
}
