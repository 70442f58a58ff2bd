package job

import (
	"context"
	"runtime/debug"
	"strconv"
)

// Task is the executor's side of a submitted job: the same object as its
// Handle, with the calls that run it and resolve it. Users of an executor
// such as package pool never need it; it is exported so that executors
// outside this package can be written.
//
// The life of a task: NewTask, then Start once it is admitted, then Run
// exactly once on the goroutine that runs it, then Resolve. Between Run
// and Resolve the executor gives back the job's weight, so that a caller
// who returns from Wait and submits again finds the capacity free.
type Task Handle

// NewTask makes a queued task for j with the given options applied; its
// weight defaults to 1.
func NewTask(j Job, opts ...Option) *Task {
	t := &Task{settings: settings{weight: 1}, job: j}
	for _, o := range opts {
		o.apply(&t.settings)
	}
	t.wg.Add(1)
	return t
}

// Handle returns the task's join handle.
func (t *Task) Handle() *Handle { return (*Handle)(t) }

// Weight returns the task's weight.
func (t *Task) Weight() int64 { return t.weight }

// Job returns the job the task runs.
func (t *Task) Job() Job { return t.job }

// Start gives the task its ID and contexts once it is admitted. parent is
// the submitter's ctx, whose values, deadline and cancellation the job's
// ctx carries; base, which may be nil, is the executor's ctx, whose end
// cancels the job too. Start must be called once, before Run.
func (t *Task) Start(id uint64, parent, base context.Context) {
	t.id, t.parent, t.base = id, parent, base
}

// SetStamp keeps one value for the executor, such as the time the task
// was admitted, so that it needs no side table; Stamp returns it. Set it
// before handing the task to the goroutine that will read it.
func (t *Task) SetStamp(v int64) { t.stamp = v }

// Stamp returns the value given to SetStamp.
func (t *Task) Stamp() int64 { return t.stamp }

// Run runs the job on the calling goroutine unless it was cancelled or its
// ctx ended before it started, and records the outcome for Resolve: the
// error Run returned, a *PanicError for a panic, or ErrGoexit if the job
// called runtime.Goexit. In that last case the goroutine exits after Run's
// deferred calls, so executors resolve the task from a deferred call of
// their own. Run returns the outcome, which Outcome also reports.
func (t *Task) Run() (state State, err error) {
	h := (*Handle)(t)
	if err := t.startErr(); err != nil {
		t.outcome, t.err = Canceled, err
		t.end()
		return Canceled, err
	}
	h.flags.Or(uint32(Running)) // from Queued, which is 0
	normal := false
	defer func() {
		if normal {
			return
		}
		if v := recover(); v != nil {
			state, err = Panicked, &PanicError{Value: v, Stack: debug.Stack()}
		} else {
			state, err = Failed, ErrGoexit
		}
		t.outcome, t.err = state, err
		t.end()
	}()
	err = t.job.Run((*jobCtx)(h))
	normal = true
	switch {
	case err == nil:
		state = Succeeded
	case h.ctxCause() != nil:
		state = Canceled
	default:
		state = Failed
	}
	t.outcome, t.err = state, err
	t.end()
	return state, err
}

// end ends the job's ctx once Run is over: from now on it reports the
// cause that had ended it, or context.Canceled, and it drops its
// registrations with the parent and base contexts.
func (t *Task) end() {
	h := (*Handle)(t)
	if h.endErr = h.ctxCause(); h.endErr == nil {
		h.endErr = context.Canceled
	}
	if f := h.flags.Or(flagEnded); f&flagCtx == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	cs := h.ctx
	for i, stop := range cs.stops {
		if stop != nil {
			stop()
			cs.stops[i] = nil
		}
	}
	if h.cerr == nil {
		h.endCtxLocked(h.endErr)
	}
}

// startErr reports why the task must not run: Cancel was called, or the
// submitter's or executor's ctx has ended.
func (t *Task) startErr() error {
	if t.flags.Load()&flagCancel != 0 {
		return ErrCanceled
	}
	if err := t.parent.Err(); err != nil {
		return err
	}
	if t.base != nil && t.base.Err() != nil {
		if cause := context.Cause(t.base); cause != nil {
			return cause
		}
		return ErrCanceled
	}
	return nil
}

// Outcome returns the state and error Run recorded. It is for the
// executor, on the goroutine that called Run, before Resolve.
func (t *Task) Outcome() (State, error) {
	return t.outcome, t.err
}

// Resolve publishes the outcome Run recorded: State reports it, Wait and
// Err return its error, and Done is closed. Call it once, after Run.
func (t *Task) Resolve() {
	h := (*Handle)(t)
	var f uint32
	for {
		f = h.flags.Load()
		if h.flags.CompareAndSwap(f, f&^stateMask|uint32(t.outcome)|flagFinal) {
			break
		}
	}
	if f&flagDone != 0 {
		h.mu.Lock()
		close(h.done)
		h.mu.Unlock()
	}
	h.wg.Done()
}

// Options returns the name and weight that opts set, for executors that
// run a job without a Task (the name is "" unless set; the weight 1 unless
// set).
func Options(opts ...Option) (name string, weight int64) {
	s := settings{weight: 1}
	for _, o := range opts {
		o.apply(&s)
	}
	return s.name, s.weight
}

// DefaultName is the name of a job with the given ID that was not named.
func DefaultName(id uint64) string {
	return "job-" + strconv.FormatUint(id, 10)
}
