package job

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
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

const (
	// Queued: admitted and handed to the executor, not yet running.
	Queued State = iota
	// Running: its Run method is executing.
	Running
	// Succeeded: Run returned nil.
	Succeeded
	// Failed: Run returned an error while its ctx was not done, or called
	// runtime.Goexit.
	Failed
	// Canceled: cancelled before it ran, or Run returned an error after
	// its ctx was done (by Cancel, the submitter's ctx or the executor).
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

// Bits of Handle.flags besides the State in the low bits.
const (
	stateMask  = 0xf
	flagDone   = 1 << 4 // a Done channel exists and must be closed
	flagCtx    = 1 << 5 // the job's ctx has a Done channel
	flagCancel = 1 << 6 // Cancel was called
	flagEnded  = 1 << 7 // Run is over: the job's ctx reports endErr
	flagFinal  = 1 << 8 // resolved: err and the final state are published
)

// An Option sets a property of a job when it is submitted.
type Option interface {
	apply(*settings)
}

// settings are what options set.
type settings struct {
	name   string
	weight int64
}

type nameOption string

func (o nameOption) apply(s *settings) { s.name = string(o) }

// WithName names the job. The name is visible from its handle and, while it
// runs, from its ctx (see NameFrom). Without it, the name is "job-" and the
// job's ID.
func WithName(name string) Option { return nameOption(name) }

type weightOption int64

func (o weightOption) apply(s *settings) { s.weight = int64(o) }

// WithWeight sets how much of the executor's limit the job holds while it
// runs; the default is 1. Executors reject weights below 1.
func WithWeight(weight int64) Option { return weightOption(weight) }

// Handle is the join handle of one submitted job. Its methods are safe for
// concurrent use. The job's completion, including every write it made,
// happens before Wait returns and before Done is closed.
type Handle struct {
	settings
	id     uint64
	job    Job
	parent context.Context // the submitter's ctx
	base   context.Context // the executor's ctx, ended on forced shutdown; may be nil

	flags   atomic.Uint32
	outcome State          // recorded by Run, published by Resolve
	err     error          // written before flagFinal is set
	endErr  error          // the ctx's error from the end on; written before flagEnded
	stamp   int64          // the executor's own value; see Task.SetStamp
	wg      sync.WaitGroup // Wait parks here: no channel unless Done is called

	mu   sync.Mutex
	done chan struct{} // lazily made; under mu
	ctx  *ctxState     // made when the job first asks for ctx.Done(); under mu
	cerr error         // first error of the job's ctx; under mu
}

// ctxState is the part of a job's ctx that exists only once the job has
// asked for ctx.Done().
type ctxState struct {
	done  chan struct{}
	stops [2]func() bool // AfterFunc registrations with parent and base
}

// closedChan is returned by Done once the job is resolved.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// ID returns the job's ID, unique within its executor.
func (h *Handle) ID() uint64 { return h.id }

// Name returns the job's name: the one given with WithName, or "job-"
// followed by its ID.
func (h *Handle) Name() string {
	if h.name != "" {
		return h.name
	}
	return DefaultName(h.id)
}

// Weight returns the weight the job holds while it runs.
func (h *Handle) Weight() int64 { return h.weight }

// State returns where the job is now. Once State reports a final state,
// Err and Wait return at once.
func (h *Handle) State() State {
	return State(h.flags.Load() & stateMask)
}

// Done returns a channel that is closed when the job has finished and its
// weight has been given back. It is for select statements; Wait is
// simpler otherwise.
func (h *Handle) Done() <-chan struct{} {
	if h.flags.Load()&flagFinal != 0 {
		return closedChan
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done != nil {
		return h.done
	}
	for {
		f := h.flags.Load()
		if f&flagFinal != 0 {
			return closedChan
		}
		if h.flags.CompareAndSwap(f, f|flagDone) {
			break
		}
	}
	h.done = make(chan struct{})
	return h.done
}

// Wait blocks until the job has finished and returns its error: the error
// Run returned, a *PanicError, ErrGoexit, or, if it never ran, ErrCanceled,
// the submitter's ctx error, or the cause with which the executor's base
// ctx ended (package pool's wraps ErrCanceled). Every error of a job that
// never ran matches context.Canceled or context.DeadlineExceeded. Wait may
// be called from many goroutines, any number of times; all get the same
// error.
func (h *Handle) Wait() error {
	if h.flags.Load()&flagFinal == 0 {
		h.wg.Wait()
	}
	return h.err
}

// Err returns the job's error if it has finished, and nil while it has
// not. It never blocks.
func (h *Handle) Err() error {
	if h.flags.Load()&flagFinal == 0 {
		return nil
	}
	return h.err
}

// Cancel asks the job to stop. A job that has not started yet never runs
// and ends Canceled with ErrCanceled; a running job's ctx is cancelled, and
// the job ends when its Run returns. Cancel does not wait; calling it again,
// or after the job ended, does nothing.
func (h *Handle) Cancel() {
	f := h.flags.Or(flagCancel)
	if f&flagCtx != 0 {
		h.cancelCtx(context.Canceled)
	}
}
