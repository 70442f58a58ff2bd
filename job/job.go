package job

import (
	"context"
	"strconv"

	"github.com/weir-go/weir/internal/task"
)

// Job is a unit of work. Run does the work and returns its error; it
// should return soon after ctx is done.
type Job interface {
	Run(ctx context.Context) error
}

// Func adapts a function to a Job.
type Func func(ctx context.Context) error

// Run calls f(ctx).
func (f Func) Run(ctx context.Context) error { return f(ctx) }

// State is where a job is in its life.
type State uint32

// The states, in the order a job goes through them. Their values are the
// ones package pool's tasks record (TestStatesMatchTheExecutors).
const (
	// Queued: submitted, waiting for its weight or for a goroutine.
	Queued State = iota
	// Running: its Run method is executing.
	Running
	// Succeeded: Run returned nil.
	Succeeded
	// Failed: Run returned an error while its ctx was not done, or called
	// runtime.Goexit.
	Failed
	// Canceled: it never ran (cancelled, its submitter's ctx ended, or
	// the executor shut down while it was queued), or Run returned an
	// error after its ctx was done.
	Canceled
	// Panicked: Run panicked; Err is a *PanicError.
	Panicked
)

var stateNames = [...]string{"queued", "running", "succeeded", "failed", "canceled", "panicked"}

// String returns the state's name in lower case, such as "running".
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// Final reports whether s is an end state: the job will not run again and
// its handle is resolved.
func (s State) Final() bool { return s >= Succeeded && s <= Panicked }

// An Option sets a property of a job when it is submitted: WithName or
// WithWeight.
type Option task.Option

// WithName names the job. The name is visible from its handle and, while it
// runs, from its ctx (see NameFrom). Without it, the name is "job-" and the
// job's ID.
func WithName(name string) Option { return Option(task.NameOption(name)) }

// WithWeight sets how much of the executor's limit the job holds while it
// runs; the default is 1. Executors reject weights below 1.
func WithWeight(weight int64) Option { return Option(task.WeightOption(weight)) }

// Handle is the join handle of one submitted job. Its methods are safe for
// concurrent use. The job's completion, including every write it made,
// happens before Wait returns and before Done is closed.
type Handle task.Task

func (h *Handle) t() *task.Task { return (*task.Task)(h) }

// ID returns the job's ID, unique within its executor and given in the
// order jobs are submitted.
func (h *Handle) ID() uint64 { return h.t().ID() }

// Name returns the job's name: the one given with WithName, or "job-"
// followed by its ID.
func (h *Handle) Name() string { return h.t().DisplayName() }

// Weight returns the weight the job holds while it runs.
func (h *Handle) Weight() int64 { return h.t().Weight() }

// State returns where the job is now. Once State reports a final state,
// Err and Wait return at once.
func (h *Handle) State() State { return State(h.t().State()) }

// Done returns a channel that is closed when the job has finished and its
// weight has been given back. It is for select statements; Wait is
// simpler otherwise, and makes no channel.
func (h *Handle) Done() <-chan struct{} { return h.t().Done() }

// Wait blocks until the job has finished and returns its error: the error
// Run returned, a *PanicError, ErrGoexit, or, if it never ran, ErrCanceled,
// the submitter's ctx error, or the executor's error for a job it dropped
// at shutdown (package pool's matches pool.ErrClosed and ErrCanceled).
// Every error of a job that never ran matches context.Canceled or
// context.DeadlineExceeded. Wait may be called from many goroutines, any
// number of times; all get the same error.
func (h *Handle) Wait() error { return h.t().Wait() }

// Err returns the job's error if it has finished, and nil while it has
// not. It never blocks.
func (h *Handle) Err() error { return h.t().Err() }

// Cancel asks the job to stop. A job that has not started yet leaves the
// queue at once, never runs, and ends Canceled with ErrCanceled; a
// running job's ctx is cancelled, and the job ends when its Run returns.
// Cancel does not wait; calling it again, or after the job ended, does
// nothing.
func (h *Handle) Cancel() { h.t().Cancel() }
