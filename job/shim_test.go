package job_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/weir-go/weir/internal/task"
	"github.com/weir-go/weir/job"
)

// This file is the executor side of the tests: what package pool does
// with a job's task (internal/task), done by hand, so that the tests can
// drive a handle and its ctx through every step of its life.

// errForced is the error of a job that the test executor stopped: like
// package pool's, it matches job.ErrCanceled.
var errForced = fmt.Errorf("test executor stopped: %w", job.ErrCanceled)

// executor is the part of an executor that a task sees: the base ctx that
// ends when it forces its jobs to stop.
type executor struct {
	exec   *task.Exec
	cancel context.CancelCauseFunc
}

// newExecutor returns an executor whose jobs run until stop is called.
func newExecutor() *executor {
	x := &executor{exec: &task.Exec{ForcedErr: errForced}}
	x.exec.Base, x.cancel = context.WithCancelCause(context.Background())
	return x
}

// stop forces the executor's jobs to stop, as pool.Shutdown does when its
// ctx ends: it sets Forced, then ends the base ctx with errForced.
func (x *executor) stop() {
	x.exec.Forced.Store(true)
	x.cancel(errForced)
}

// release ends the base ctx without forcing, as a pool does once all its
// jobs have finished; for cleanup.
func (x *executor) release() { x.cancel(nil) }

// testTask is a task as an executor holds it.
type testTask struct{ t *task.Task }

// applyOptions returns the name and weight that opts set, as package
// pool reads them.
func applyOptions(opts ...job.Option) (name string, weight int64) {
	weight = 1
	for _, o := range opts {
		name, weight = task.Option(o).Apply(name, weight)
	}
	return name, weight
}

// newTask returns the task of a new job running j, prepared for
// submission with opts.
func newTask(j job.Job, opts ...job.Option) *testTask {
	t := new(task.Task)
	name, weight := applyOptions(opts...)
	t.Prepare(j, name, weight)
	return &testTask{t}
}

// resultTask prepares the task of r, which must be new, with opts, as
// pool.SubmitResult does.
func resultTask[T any](r *job.Result[T], opts ...job.Option) *testTask {
	t := (*task.Task)(&r.Handle)
	name, weight := applyOptions(opts...)
	t.Prepare(nil, name, weight)
	return &testTask{t}
}

// Start gives the task its ID, the submitter's ctx parent and the
// executor x (nil for none), as an executor does once it accepts it.
func (tk *testTask) Start(id uint64, parent context.Context, x *executor) {
	var exec *task.Exec
	if x != nil {
		exec = x.exec
	}
	tk.t.Bind(parent, exec, id)
}

// Run runs the job on the calling goroutine, unless it must not start.
func (tk *testTask) Run() (job.State, error) {
	st, err := tk.t.Run()
	return job.State(st), err
}

// Outcome returns what Run recorded.
func (tk *testTask) Outcome() (job.State, error) {
	st, err := tk.t.Outcome()
	return job.State(st), err
}

// Resolve publishes the outcome to the handle.
func (tk *testTask) Resolve() { tk.t.Resolve() }

// Handle returns the job's handle.
func (tk *testTask) Handle() *job.Handle { return (*job.Handle)(tk.t) }

// Job returns the job.
func (tk *testTask) Job() job.Job { return tk.t.Job() }

// Weight returns the job's weight.
func (tk *testTask) Weight() int64 { return tk.t.Weight() }

func TestStatesMatchTheExecutors(t *testing.T) {
	for _, tt := range []struct {
		give job.State
		want uint32
	}{
		{job.Queued, task.Queued}, {job.Running, task.Running}, {job.Succeeded, task.Succeeded},
		{job.Failed, task.Failed}, {job.Canceled, task.Canceled}, {job.Panicked, task.Panicked},
	} {
		if uint32(tt.give) != tt.want {
			t.Errorf("job.%v is %d, the executor's %d", tt.give, tt.give, tt.want)
		}
	}
	if task.ErrCanceled != job.ErrCanceled || task.ErrGoexit != job.ErrGoexit || task.ErrPanic != job.ErrPanic {
		t.Error("the executor returns other errors than package job's")
	}
}
