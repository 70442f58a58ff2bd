// Package task is the storage and life cycle of a submitted job, shared by
// package job (which shows it to users as job.Handle) and package pool
// (which queues, runs and resolves it).
//
// The life of a task: Init when it is submitted; it may wait as a node of
// the pool's semaphore; Run exactly once on the goroutine that runs it
// (or never, if it is dropped from the queue); Resolve once. Between Run
// and Resolve the pool gives back the job's weight, so that a caller who
// returns from Wait and submits again finds the capacity free.
package task

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/weir-go/weir/internal/wsem"
)

// Job is job.Job.
type Job interface {
	Run(ctx context.Context) error
}

// States, the values of job.State.
const (
	Queued uint32 = iota
	Running
	Succeeded
	Failed
	Canceled
	Panicked
)

// The errors of package job, which sets them at init to its own values,
// so that tasks return them; these are defaults for tests of this package.
var (
	ErrPanic    = errors.New("job: panic")
	ErrCanceled = fmt.Errorf("job: canceled: %w", context.Canceled)
	ErrGoexit   = errors.New("job: runtime.Goexit called")
)

// NewPanicError makes the error of a panic; package job sets it to make a
// *job.PanicError.
var NewPanicError func(v any, stack []byte) error

// Option is job.Option: a name or a weight.
type Option struct {
	kind   uint8
	name   string
	weight int64
}

const (
	optName = 1 + iota
	optWeight
)

// NameOption and WeightOption make the options of job.WithName and
// job.WithWeight.
func NameOption(name string) Option { return Option{kind: optName, name: name} }
func WeightOption(w int64) Option   { return Option{kind: optWeight, weight: w} }

// Apply returns name and weight with o applied.
func (o Option) Apply(name string, weight int64) (string, int64) {
	switch o.kind {
	case optName:
		name = o.name
	case optWeight:
		weight = o.weight
	}
	return name, weight
}

// Exec is what a task needs from the executor that runs it.
type Exec struct {
	// Base ends, with ForcedErr as its cause, when the executor forces
	// its jobs to stop; Forced is set just before.
	Base      context.Context
	Forced    atomic.Bool
	ForcedErr error
	// Unqueue takes a cancelled task out of the queue if it is there,
	// and resolves it.
	Unqueue func(t *Task)
}

// Task is a submitted job. The wsem.Node must stay the first field: the
// pool's semaphore links tasks through it (see FromNode).
type Task struct {
	node wsem.Node // weight, and the links while it waits

	name   string // as given by job.WithName, or ""
	id     uint64
	job    Job
	parent context.Context // the submitter's ctx
	exec   *Exec

	flags   atomic.Uint32
	outcome uint32 // recorded by Run, published by Resolve
	err     error  // written before flagFinal is set
	wg      sync.WaitGroup
	side    atomic.Pointer[side]
}

// Bits of Task.flags besides the state in the low bits.
const (
	stateMask   = 0xf
	flagFinal   = 1 << 4 // resolved: err and the final state are published
	flagDone    = 1 << 5 // the Handle's Done channel exists and must be closed
	flagCancel  = 1 << 6 // Cancel was called
	flagKeep    = 1 << 7 // run even if the submitter's ctx has ended
	reasonShift = 8      // why the job's ctx ended, the first reason only
	reasonMask  = 0x7 << reasonShift
	flagBare    = 1 << 11 // no handle: the job runs with the submitter's ctx
)

// Reasons the job's ctx ended.
const (
	reasonParent = 1 + iota
	reasonCancel
	reasonForced
	reasonEnded
)

// side is what a task allocates only when it is asked for: channels, the
// job ctx's inner ctx, and the executor's fields.
type side struct {
	mu       sync.Mutex
	done     chan struct{}           // Handle.Done; closed by Resolve
	innerCtx context.Context         // see Task.inner
	cancel   context.CancelCauseFunc // cancels innerCtx
	stopBase func() bool             // the registration with the executor's base ctx

	// For the executor, under mu (Lock) where it says so.
	Woken    bool          // a blocked submitter may return; under mu
	Ready    chan struct{} // closed when Woken is set, if made; under mu
	ReadyErr error         // why, if it must fail
	Dequeue  func() bool   // stops the registration that drops a queued task when its ctx ends; under mu
	Stamp    int64         // the executor's time stamp
	InFlight int64         // jobs running when it was admitted, for an adaptive limit
}

// Lock and Unlock lock the side data for the executor's fields.
func (s *side) Lock()   { s.mu.Lock() }
func (s *side) Unlock() { s.mu.Unlock() }

// FromNode returns the task whose Node is n.
func FromNode(n *wsem.Node) *Task {
	return (*Task)(unsafe.Pointer(n))
}

// Init prepares t, which must be new, to run j (nil to keep the job set
// by SetJob) with the given name and weight, for the submitter's ctx
// parent on exec, as job id: Prepare and Bind in one.
func (t *Task) Init(j Job, name string, weight int64, parent context.Context, exec *Exec, id uint64) {
	t.Prepare(j, name, weight)
	t.Bind(parent, exec, id)
}

// Prepare sets what a task is before it is submitted: its job (nil to
// keep the one set by SetJob), name and weight. It makes Wait block
// until Resolve.
func (t *Task) Prepare(j Job, name string, weight int64) {
	if j != nil {
		t.job = j
	}
	t.name = name
	t.node.SetWeight(weight)
	if t.flags.Load()&flagBare == 0 {
		t.wg.Add(1)
	}
}

// Bind gives a prepared task the submitter's ctx, its executor and its ID,
// before it can run.
func (t *Task) Bind(parent context.Context, exec *Exec, id uint64) {
	t.parent, t.exec, t.id = parent, exec, id
}

// Keep makes t run even if the submitter's ctx ends before it starts, as
// errgroup runs every function it accepted. Call it before Init.
func (t *Task) Keep() { t.flags.Or(flagKeep) }

// Kept reports whether Keep was called.
func (t *Task) Kept() bool { return t.flags.Load()&flagKeep != 0 }

// Bare makes t a task without a handle: its job runs with the
// submitter's ctx itself (no job ctx is made), nothing can wait for it or
// cancel it, and Resolve must not be called. The executor may Reset and
// reuse it once it has ended. Call it before Init.
func (t *Task) Bare() { t.flags.Or(flagBare) }

// IsBare reports whether Bare was called.
func (t *Task) IsBare() bool { return t.flags.Load()&flagBare != 0 }

// Reset makes a bare task that has ended new again, for reuse. Nothing
// may refer to it any more: it has left the executor's lists, and it has
// no side data (SideIfAny is nil), so that no registration can reach it.
func (t *Task) Reset() { *t = Task{} }

// SetJob sets the job of a task that is not yet initialised.
func (t *Task) SetJob(j Job) { t.job = j }

// Node returns the task's node in the semaphore's list.
func (t *Task) Node() *wsem.Node { return &t.node }

// Weight returns the job's weight.
func (t *Task) Weight() int64 { return t.node.Weight() }

// SetID gives the job its ID, once it is accepted.
func (t *Task) SetID(id uint64) { t.id = id }

// ID returns the job's ID.
func (t *Task) ID() uint64 { return t.id }

// Job returns the job.
func (t *Task) Job() Job { return t.job }

// SetParent replaces the ctx that a bare task's job runs with, before
// Run: a ctx derived from the submitter's.
func (t *Task) SetParent(ctx context.Context) { t.parent = ctx }

// Parent returns the submitter's ctx.
func (t *Task) Parent() context.Context { return t.parent }

// Side returns the task's side data, allocating it once.
func (t *Task) Side() *side {
	if s := t.side.Load(); s != nil {
		return s
	}
	s := new(side)
	if t.side.CompareAndSwap(nil, s) {
		return s
	}
	return t.side.Load()
}

// SideIfAny returns the task's side data, or nil if it has none.
func (t *Task) SideIfAny() *side { return t.side.Load() }

// DisplayName returns the job's name: the one given, or "job-" and its ID.
func (t *Task) DisplayName() string {
	if t.name != "" {
		return t.name
	}
	return DefaultName(t.id)
}

// DefaultName is the name of a job with the given ID that was not named.
func DefaultName(id uint64) string {
	return "job-" + strconv.FormatUint(id, 10)
}

// State returns the task's state.
func (t *Task) State() uint32 { return t.flags.Load() & stateMask }

// Final reports whether the task has been resolved.
func (t *Task) Final() bool { return t.flags.Load()&flagFinal != 0 }

// Canceled reports whether Cancel was called.
func (t *Task) Canceled() bool { return t.flags.Load()&flagCancel != 0 }

// Err returns the task's error once it is resolved, else nil.
func (t *Task) Err() error {
	if t.flags.Load()&flagFinal == 0 {
		return nil
	}
	return t.err
}

// Wait blocks until the task is resolved and returns its error.
func (t *Task) Wait() error {
	if t.flags.Load()&flagFinal == 0 {
		t.wg.Wait()
	}
	return t.err
}

// closedChan is returned by Done once the task is resolved.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// Done returns a channel closed when the task is resolved.
func (t *Task) Done() <-chan struct{} {
	if t.flags.Load()&flagFinal != 0 {
		return closedChan
	}
	s := t.Side()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done != nil {
		return s.done
	}
	s.done = make(chan struct{})
	if t.flags.Or(flagDone)&flagFinal != 0 {
		// Resolve published before it saw flagDone: close it here.
		close(s.done)
	}
	return s.done
}

// Cancel ends the job's ctx and, if the job has not started, drops it:
// it never runs and resolves Canceled.
func (t *Task) Cancel() {
	if t.flags.Or(flagCancel)&flagCancel != 0 {
		return
	}
	t.endCtx(reasonCancel)
	if t.State() == Queued && t.exec != nil && t.exec.Unqueue != nil {
		t.exec.Unqueue(t)
	}
}

// StartErr reports why the task must not run: it was cancelled, the
// submitter's ctx has ended, or the executor forced its jobs to stop.
func (t *Task) StartErr() error {
	if t.flags.Load()&flagCancel != 0 {
		return ErrCanceled
	}
	if f := t.flags.Load(); f&flagKeep == 0 {
		if err := t.parent.Err(); err != nil {
			return err
		}
	}
	if t.exec != nil && t.exec.Forced.Load() {
		return t.exec.ForcedErr
	}
	return nil
}

// Run runs the job on the calling goroutine unless it must not start (see
// StartErr), and records the outcome for Resolve: the error Run returned,
// a panic error, or ErrGoexit if the job called runtime.Goexit. In that
// last case the goroutine exits after Run's deferred calls, so executors
// resolve the task from a deferred call of their own.
func (t *Task) Run() (state uint32, err error) {
	if err := t.StartErr(); err != nil {
		t.Drop(err)
		return Canceled, err
	}
	t.flags.Or(Running) // from Queued, which is 0
	// A bare task's job gets the submitter's ctx, and is Canceled if it
	// failed once that ctx had ended; another's gets the job ctx.
	bare := t.flags.Load()&flagBare != 0
	var c context.Context = (*ctx)(t)
	if bare {
		c = t.parent
	}
	normal := false
	defer func() {
		if normal {
			return
		}
		if v := recover(); v != nil {
			state, err = Panicked, NewPanicError(v, debug.Stack())
		} else {
			state, err = Failed, ErrGoexit
		}
		t.outcome, t.err = state, err
		t.endCtx(reasonEnded)
	}()
	err = t.job.Run(c)
	normal = true
	switch {
	case err == nil:
		state = Succeeded
	case bare && t.parent.Err() != nil, !bare && t.ctxReason() != 0:
		state = Canceled
	default:
		state = Failed
	}
	t.outcome, t.err = state, err
	t.endCtx(reasonEnded)
	return state, err
}

// Abort records that the task did not run because the executor could not
// start it, with err: Canceled if its ctx has ended, else Failed.
func (t *Task) Abort(err error) {
	st := Failed
	if t.ctxReason() != 0 {
		st = Canceled
	}
	t.outcome, t.err = st, err
	t.endCtx(reasonEnded)
}

// Drop records that the task never ran, with err, for Resolve.
func (t *Task) Drop(err error) {
	t.outcome, t.err = Canceled, err
	t.endCtx(reasonEnded)
}

// Outcome returns the state and error that Run or Drop recorded.
func (t *Task) Outcome() (uint32, error) { return t.outcome, t.err }

// Resolve publishes the recorded outcome: State reports it, Wait and Err
// return its error, and Done is closed. Call it once, after Run or Drop.
func (t *Task) Resolve() {
	var f uint32
	for {
		f = t.flags.Load()
		if t.flags.CompareAndSwap(f, f&^stateMask|t.outcome|flagFinal) {
			break
		}
	}
	if f&flagDone != 0 {
		s := t.side.Load()
		s.mu.Lock()
		close(s.done)
		s.mu.Unlock()
	}
	t.wg.Done()
}
