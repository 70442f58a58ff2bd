package pool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	rtdebug "runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/ants/v2"
	"github.com/weir-go/weir/internal/task"
	"github.com/weir-go/weir/internal/wsem"
	"github.com/weir-go/weir/job"
	"github.com/weir-go/weir/limit"
	"go.uber.org/zap"
)

// Pool runs submitted jobs on goroutines, at most limit weight at a time.
// Its methods are safe for concurrent use. Create one with New and end it
// with Shutdown or Close.
type Pool struct {
	name    string
	log     *zap.Logger
	logSet  bool         // WithLogger was given
	slog    *slog.Logger // WithSlog's, or nil
	onPanic func(PanicInfo)
	obs     []Observer // WithObserver's

	// sem admits jobs and holds the queue: weir's semaphore in strict
	// mode (a weight above the limit fails instead of waiting), with
	// task nodes, so that a queued job is an entry in its FIFO list and
	// not a goroutine. The pool uses it through TryAcquire, Enqueue,
	// Remove, ReleaseTasks, ResizeTasks, Close, WaitIdle and its gauges,
	// so another limiter can stand here.
	sem  *wsem.Weighted
	exec *ants.PoolWithFunc
	x    task.Exec // what tasks see of the pool: forced stop, unqueue

	// tasks counts the jobs of Submit and its kin from the moment they
	// are given a handle until it resolves; with the semaphore's weight
	// it tells Wait and Shutdown when nothing is left.
	tasks   joiner
	nextID  atomic.Uint64 // IDs, given when a job is accepted: admitted or queued
	running atomic.Int64  // tasks admitted and not finished

	// Outcomes of jobs with an ID, and of Do calls without one (made
	// while nothing watched), which Stats counts as submitted when they
	// return.
	tc, dc counts

	force context.CancelCauseFunc // ends x.Base

	mu       sync.Mutex // serialises resizes and the start of shutdown
	closing  bool
	resizes  atomic.Uint64
	released sync.Once // releases the executor once
	stopper  sync.Once // starts the goroutine that releases it after a forced shutdown
	logged   sync.Once // logs the shutdown

	shared  SharedLimit      // nil unless WithSharedLimit
	adapt   limit.Controller // nil unless WithAdaptiveLimit
	adaptMu sync.Mutex       // one Observe at a time
}

type counts struct {
	succeeded, failed, panicked, canceled atomic.Uint64
}

func (c *counts) add(state uint32) {
	switch state {
	case task.Succeeded:
		c.succeeded.Add(1)
	case task.Panicked:
		c.panicked.Add(1)
	case task.Canceled:
		c.canceled.Add(1)
	default:
		c.failed.Add(1)
	}
}

// New makes a pool that runs at most limit weight of jobs at once.
// A limit below 1 returns an error matching ErrInvalidLimit, and an
// invalid option one matching ErrInvalidOption; both name the pool.
func New(limit int64, opts ...Option) (*Pool, error) {
	o := options{logger: zap.NewNop(), name: "pool", maxQueued: DefaultMaxQueued, maxWaiting: -1}
	var optErr error
	for _, opt := range opts {
		var err error
		if opt == nil {
			err = fmt.Errorf("%w: nil Option", ErrInvalidOption)
		} else {
			err = opt.apply(&o)
		}
		if err != nil && optErr == nil {
			optErr = err
		}
	}
	if optErr == nil && limit < 1 {
		optErr = fmt.Errorf("%w: %d", ErrInvalidLimit, limit)
	}
	if optErr == nil && o.adapt != nil {
		if lo, hi := o.adapt.Bounds(); limit < lo || limit > hi {
			optErr = fmt.Errorf("%w: limit %d is outside the adaptive bounds [%d, %d]",
				ErrInvalidOption, limit, lo, hi)
		}
	}
	if optErr != nil {
		return nil, fmt.Errorf("%w (pool %q)", optErr, o.name)
	}
	p := &Pool{
		name:    o.name,
		log:     o.logger.Named("weir").WithOptions(zap.WithCaller(false)).With(zap.String(KeyPool, o.name)),
		logSet:  o.loggerSet,
		slog:    slogFor(o.slog, o.name),
		onPanic: o.onPanic,
		obs:     o.observers,
		sem:     wsem.NewStrict(limit, o.maxQueued, o.maxWaiting),
		adapt:   o.adapt,
		shared:  o.shared,
	}
	p.sem.Wake = p.wake
	p.sem.OnAccept = p.accept
	p.x.Base, p.force = context.WithCancelCause(context.Background())
	p.x.ForcedErr = errForced
	p.x.Unqueue = p.unqueue
	antsLog, err := zap.NewStdLogAt(p.log, zap.ErrorLevel)
	if err != nil {
		return nil, err
	}
	p.exec, err = ants.NewPoolWithFunc(execCap(limit), p.execute,
		ants.WithNonblocking(true), ants.WithLogger(antsLog))
	if err != nil {
		p.force(nil)
		return nil, fmt.Errorf("pool %q: starting executor: %w", o.name, err)
	}
	return p, nil
}

// errForced is the error of a job that shutdown dropped before it ran: it
// matches ErrClosed, job.ErrCanceled and context.Canceled.
var errForced = fmt.Errorf("%w: %w", ErrClosed, job.ErrCanceled)

// execCap sizes ants so that handing a job to it never waits: the jobs
// granted weight are at most limit, and as many workers again may be
// between finishing a job and returning to ants.
func execCap(limit int64) int {
	return int(min(limit, math.MaxInt32/2) * 2)
}

// Name returns the pool's name.
func (p *Pool) Name() string { return p.name }

// Limit returns the pool's limit: the most weight that runs at once.
func (p *Pool) Limit() int64 { return p.sem.Size() }

// Submit runs j on the pool and returns its handle. It first checks its
// arguments, failing at once with ErrNilContext, ErrNilJob,
// ErrInvalidWeight (weight below 1) or ErrWeightExceedsLimit. If the job's
// weight (job.WithWeight, default 1) is free and no one waits before it,
// the job starts on a goroutine at once; otherwise it joins the queue, in
// FIFO order, and Submit returns without waiting. A queued job costs its
// handle and no goroutine; it starts on the goroutine of a job that
// finishes and leaves its weight free. If the queue is full
// (WithMaxQueued), Submit waits until there is room or the job starts, or
// fails with ErrQueueFull when WithMaxWaiting callers already wait. If ctx
// ends first, Submit returns ctx.Err() unchanged and nothing is held. It
// returns ErrClosed once shutdown has begun.
//
// The job's ctx carries ctx's values, deadline and cancellation; it is
// also cancelled by Handle.Cancel and by a forced shutdown, and it names
// the job (see job.FromContext). A queued job whose ctx ends, or whose
// handle is cancelled, leaves the queue at once, holds nothing, and
// resolves Canceled with the ctx's error or job.ErrCanceled.
//
// A job that submits to its own pool and waits for the result deadlocks
// when the pool is full, since it holds weight the inner job needs: give
// such inner Submits a bounded ctx, so that the wait ends in an error.
func (p *Pool) Submit(ctx context.Context, j job.Job, opts ...job.Option) (*job.Handle, error) {
	if isNil(j) {
		return nil, p.rejected(opts, ErrNilJob, time.Time{})
	}
	t := new(task.Task)
	if err := p.submit(ctx, t, j, opts, false); err != nil {
		return nil, err
	}
	return (*job.Handle)(t), nil
}

// TrySubmit is Submit without queueing: if the job's weight is not free at
// once, or others already wait for it, it returns ErrFull.
func (p *Pool) TrySubmit(ctx context.Context, j job.Job, opts ...job.Option) (*job.Handle, error) {
	if isNil(j) {
		return nil, p.rejected(opts, ErrNilJob, time.Time{})
	}
	t := new(task.Task)
	if err := p.submit(ctx, t, j, opts, true); err != nil {
		return nil, err
	}
	return (*job.Handle)(t), nil
}

// Go is Submit for a plain function.
func (p *Pool) Go(ctx context.Context, f func(ctx context.Context) error, opts ...job.Option) (*job.Handle, error) {
	if f == nil {
		return nil, p.rejected(opts, ErrNilJob, time.Time{})
	}
	return p.Submit(ctx, job.Func(f), opts...)
}

// Spawn runs j on the pool without a handle: fire and forget, like
// pond's Go or ants' Submit. It is admitted, queued and bounded exactly as
// Submit (the same FIFO order, weights, WithMaxQueued and errors), but
// nothing can wait for or cancel that one job by itself: Pool.Wait and
// Close wait for it with the others. j receives ctx unchanged, as with
// Do, so job.FromContext does not name it and a forced Shutdown cannot
// cancel it (Shutdown still drops it while it is queued); give it a ctx
// you cancel if it must be stoppable. Its outcome is counted
// in Stats and reported to the logger and the observers; a panic goes to
// the panic handler (or stderr), and the job's error goes nowhere else.
//
// Spawn is the cheapest way to run a job on a pool: its bookkeeping is
// reused from job to job, so it allocates nothing in the common case.
func (p *Pool) Spawn(ctx context.Context, j job.Job, opts ...job.Option) error {
	if isNil(j) {
		return p.rejected(opts, ErrNilJob, time.Time{})
	}
	var t *task.Task
	if p.tasks.count() < reuseBelow {
		t = taskPool.Get().(*task.Task)
	} else {
		t = new(task.Task)
	}
	t.Bare()
	if err := p.submit(ctx, t, j, opts, false); err != nil {
		p.recycle(t)
		return err
	}
	return nil
}

// taskPool holds bare tasks for reuse.
var taskPool = sync.Pool{New: func() any { return new(task.Task) }}

// reuseBelow is how many jobs a pool may have in flight for Spawn to reuse
// tasks. Reuse pays while the jobs in flight are few, as in a steady
// stream; a burst that queues a million jobs would otherwise keep a
// million spare tasks alive in taskPool, for the collector to scan, and
// look for spares that are not there on every Spawn.
const reuseBelow = 4096

// recycle puts back a bare task that has ended, unless something might
// still refer to it: a task with side data has had a registration on its
// ctx or a blocked submitter, and is left to the garbage collector.
func (p *Pool) recycle(t *task.Task) {
	if t.SideIfAny() == nil && p.tasks.count() < reuseBelow {
		t.Reset()
		taskPool.Put(t)
	}
}

// SubmitResult is Submit for a function that returns a value: the handle's
// Wait returns the value and the error.
func SubmitResult[T any](ctx context.Context, p *Pool, f func(ctx context.Context) (T, error), opts ...job.Option) (*job.Result[T], error) {
	if f == nil {
		return nil, p.rejected(opts, ErrNilJob, time.Time{})
	}
	r := job.NewResult(f)
	if err := p.submit(ctx, (*task.Task)(&r.Handle), nil, opts, false); err != nil {
		return nil, err
	}
	return r, nil
}

// isNil reports whether j is nil, or a nil job.Func.
func isNil(j job.Job) bool {
	f, ok := j.(job.Func)
	return j == nil || ok && f == nil
}

// options returns the name and weight that opts set.
func jobOptions(opts []job.Option) (name string, weight int64) {
	weight = 1
	for _, o := range opts {
		name, weight = task.Option(o).Apply(name, weight)
	}
	return name, weight
}

// submit gives t its job, ID and ctx, and admits it, queues it, or waits
// for room in the queue. On failure nothing is held or counted.
func (p *Pool) submit(ctx context.Context, t *task.Task, j job.Job, opts []job.Option, try bool) error {
	var start time.Time
	if len(p.obs) > 0 {
		start = time.Now()
	}
	if err := p.admit(ctx, t, j, opts, try); err != nil {
		return p.rejected(opts, err, start)
	}
	return nil
}

// admit is submit without the report of a rejection.
func (p *Pool) admit(ctx context.Context, t *task.Task, j job.Job, opts []job.Option, try bool) error {
	if ctx == nil {
		return ErrNilContext
	}
	name, w := jobOptions(opts)
	if err := p.check(ctx, w); err != nil {
		return err
	}
	t.Init(j, name, w, ctx, &p.x, 0)
	p.tasks.add(1)
	if p.watching() {
		t.Side().Stamp = time.Now().UnixNano()
	}
	if p.sem.TryAcquire(w) {
		p.accept(t.Node())
		p.start(t)
		return nil
	}
	if try {
		if p.sem.Closed() {
			return p.unsubmit(ErrClosed)
		}
		return p.unsubmit(ErrFull)
	}
	return p.enqueue(ctx, t, w)
}

// check validates weight w and ctx before a job is admitted.
func (p *Pool) check(ctx context.Context, w int64) error {
	if w < 1 {
		return errInvalidWeight(w)
	}
	if limit := p.sem.Size(); w > limit {
		return errTooHeavy(w, limit)
	}
	return ctx.Err()
}

// unsubmit takes back a submission that failed after it was counted.
func (p *Pool) unsubmit(err error) error {
	p.tasks.sub(1)
	return err
}

// enqueue is submit's slow path: the weight is not free, so t joins the
// FIFO list, as a queued entry or, with the queue full, as a blocked
// submitter.
func (p *Pool) enqueue(ctx context.Context, t *task.Task, w int64) error {
	keep := t.Kept()
	if !keep && ctx.Done() != nil {
		// Registered before t is in the list, so that no end of ctx
		// is missed; it finds nothing to do until then. (A kept job,
		// a group's, stays queued when its ctx ends: only if it has
		// to wait for room in the queue does block register.)
		s := t.Side()
		s.Dequeue = context.AfterFunc(ctx, func() { p.drop(t, ctx.Err()) })
	}
	place, err := p.sem.Enqueue(t.Node(), w, true)
	if err != nil {
		p.unwatch(t)
		switch err {
		case wsem.ErrClosed:
			err = ErrClosed
		case wsem.ErrTooLarge:
			err = errTooHeavy(w, p.sem.Size())
		case wsem.ErrFull:
			err = ErrQueueFull
		}
		return p.unsubmit(err)
	}
	switch place {
	case wsem.Admitted:
		p.unwatch(t)
		p.accept(t.Node())
		p.start(t)
	case wsem.Queued:
		// t may have run and ended by now (a bare one even been
		// reused): look at it only if ctx can end, which kept t's
		// side data and so kept it from reuse.
		if !keep && ctx.Done() != nil && ctx.Err() != nil {
			// Ended while we queued, perhaps before the
			// registration could see t in the list.
			p.drop(t, ctx.Err())
		}
	case wsem.Blocked:
		return p.block(ctx, t)
	}
	return nil
}

// accept gives a job its ID when it is admitted or queued: IDs are dense
// and, with Do calls made while something watches, count what Stats calls
// submitted.
func (p *Pool) accept(n *wsem.Node) {
	task.FromNode(n).SetID(p.nextID.Add(1))
}

// unwatch stops the registration that drops t when its ctx ends: t is
// admitted, or was never queued.
func (p *Pool) unwatch(t *task.Task) {
	if s := t.SideIfAny(); s != nil {
		s.Lock()
		stop := s.Dequeue
		s.Dequeue = nil
		s.Unlock()
		if stop != nil {
			stop()
		}
	}
}

// block waits, with the queue full, until t is queued or admitted, or
// fails. It parks on a plain receive, with no select, so that a parked
// submitter's stack stays small; ctx's end reaches it through drop.
func (p *Pool) block(ctx context.Context, t *task.Task) error {
	s := t.Side()
	s.Lock()
	if t.Kept() && ctx.Done() != nil && !s.Woken {
		s.Dequeue = context.AfterFunc(ctx, func() { p.drop(t, ctx.Err()) })
	}
	if !s.Woken {
		s.Ready = make(chan struct{})
		s.Unlock()
		if err := ctx.Err(); err != nil {
			// ctx may have ended before t was in the list, when the
			// registration that drops t could not find it there.
			p.drop(t, err)
		}
		<-s.Ready
	} else {
		s.Unlock()
	}
	if err := s.ReadyErr; err != nil {
		// Out of the list, never run, never resolved.
		p.unwatch(t)
		switch err {
		case wsem.ErrClosed:
			err = ErrClosed
		case wsem.ErrTooLarge:
			err = errTooHeavy(t.Weight(), p.sem.Size())
		}
		return p.unsubmit(err)
	}
	if ctx.Err() != nil {
		p.drop(t, ctx.Err())
	}
	return nil
}

// wake is the semaphore's Wake: a blocked submitter's job was queued,
// admitted, or failed with err. It runs under the semaphore's lock.
func (p *Pool) wake(n *wsem.Node, err error) {
	s := task.FromNode(n).Side()
	s.Lock()
	s.Woken, s.ReadyErr = true, err
	if s.Ready != nil {
		close(s.Ready)
	}
	s.Unlock()
}

// drop takes t out of the queue if it is still there, because its ctx
// ended with err: a queued job resolves Canceled, a blocked submitter
// fails with err.
//
// A kept task (a group's) that is queued has been accepted and is not
// dropped: only its blocked submitter leaves.
func (p *Pool) drop(t *task.Task, err error) {
	removed, granted := p.sem.Remove(t.Node(), t.Kept())
	if removed {
		if t.Node().Blocked() {
			p.wake(t.Node(), err)
		} else {
			p.resolveDropped(t, err)
		}
	}
	p.dispatch(granted, false)
}

// unqueue is Handle.Cancel's way to drop a queued job.
func (p *Pool) unqueue(t *task.Task) {
	removed, granted := p.sem.Remove(t.Node(), false)
	if removed {
		p.resolveDropped(t, job.ErrCanceled)
	}
	p.dispatch(granted, false)
}

// resolveDropped resolves a job that left the queue without running.
func (p *Pool) resolveDropped(t *task.Task, err error) {
	p.unwatch(t)
	t.Drop(err)
	p.tc.add(task.Canceled)
	if len(p.obs) > 0 {
		var waited time.Duration
		if s := t.SideIfAny(); s != nil && s.Stamp != 0 {
			waited = time.Duration(time.Now().UnixNano() - s.Stamp)
		}
		p.observeAdmission(t.DisplayName(), t.ID(), t.Weight(), waited, admissionResult(err), err)
		p.ended(t, 0, task.Canceled, err, false)
	}
	p.resolve(t, err)
}

// start hands an admitted task to an ants worker.
func (p *Pool) start(t *task.Task) {
	p.running.Add(1)
	if err := p.exec.Invoke(t); err != nil {
		// ants is sized never to refuse; if it does, run the job
		// on a goroutine of its own rather than lose it.
		go p.execute(t)
	}
}

// dispatch starts the tasks of a granted list. With inline, it returns the
// first for the caller to run on its own goroutine and starts the rest on
// ants; otherwise it starts them all. A granted task whose submitter still
// waited for room in the queue wakes it; if the submitter's ctx has ended
// meanwhile, the submission fails instead and the weight goes back.
func (p *Pool) dispatch(n *wsem.Node, inline bool) *task.Task {
	var first *task.Task
	for n != nil {
		next := n.Next()
		t := task.FromNode(n)
		p.unwatch(t)
		if n.Blocked() {
			if err := t.Parent().Err(); err != nil {
				p.wake(n, err)
				more := p.sem.ReleaseTasks(t.Weight())
				for m := more; m != nil; m = m.Next() {
					if m.Next() == nil {
						m.SetNext(next)
						next = more
						break
					}
				}
				n = next
				continue
			}
			p.accept(n)
			p.wake(n, nil)
		}
		if inline && first == nil {
			p.running.Add(1)
			first = t
		} else {
			p.start(t)
		}
		n = next
	}
	return first
}

// execute runs on an ants worker: it runs the task, and then, as long as
// the weight it gives back lets the next queued job start, that job too,
// with no hand-off to another goroutine.
func (p *Pool) execute(arg any) {
	t := arg.(*task.Task)
	for t != nil {
		t = p.runOne(t)
	}
}

// runOne runs t and finishes it, and returns a task that its weight
// admitted, for the caller to run next. If t calls runtime.Goexit, the
// deferred finish still runs and starts whatever it admitted elsewhere.
func (p *Pool) runOne(t *task.Task) *task.Task {
	goexit := true
	defer func() {
		if goexit {
			p.dispatch(p.finish(t), false)
		}
	}()
	if p.watching() {
		p.admitted(t)
	}
	p.runTask(t)
	goexit = false
	return p.dispatch(p.finish(t), true)
}

// finish gives back t's weight, counts and reports its outcome, resolves
// its handle, and returns the tasks the weight admitted.
func (p *Pool) finish(t *task.Task) *wsem.Node {
	state, err := t.Outcome()
	if g := groupOf(t); g != nil && err != nil {
		// Fail the group before giving the weight back, so that none
		// of its queued jobs is admitted after it failed.
		g.fail(err)
	}
	granted := p.end(t.Weight(), state, err, &p.tc, t)
	p.running.Add(-1)
	p.resolve(t, err)
	return granted
}

// resolve publishes a task's outcome and stops counting it. A bare task
// has no one to tell and is recycled; nothing may use t after resolve.
func (p *Pool) resolve(t *task.Task, err error) {
	if t.IsBare() {
		p.tasks.sub(1)
		p.recycle(t)
		return
	}
	g := groupOf(t)
	if g != nil && err != nil {
		g.fail(err)
	}
	t.Resolve()
	if g != nil {
		g.jobs.sub(1)
	}
	p.tasks.sub(1)
}

// end is what every admitted job does when it ends, Submit's and Do's
// alike: report a panic, give the weight back, count the outcome, feed
// the adaptive limit and the observers. t is nil for Do. It returns the
// tasks the weight admitted.
func (p *Pool) end(w int64, state uint32, err error, c *counts, t *task.Task) *wsem.Node {
	if state == task.Panicked {
		p.panicked(t, err)
	}
	granted := p.sem.ReleaseTasks(w)
	c.add(state)
	if t != nil && p.watching() {
		var held time.Duration
		if s := t.SideIfAny(); s != nil && s.Stamp != 0 {
			held = time.Duration(time.Now().UnixNano() - s.Stamp)
		}
		p.ended(t, held, state, err, true)
	}
	return granted
}

// watching reports whether anything wants per-job times: Debug logging,
// an observer or an adaptive limit.
func (p *Pool) watching() bool {
	return len(p.obs) > 0 || p.adapt != nil || p.debugOn()
}

// admitted stamps t with its admission time and reports it.
//
//go:noinline
func (p *Pool) admitted(t *task.Task) {
	now := time.Now().UnixNano()
	s := t.Side()
	var waited time.Duration
	if s.Stamp != 0 {
		waited = time.Duration(now - s.Stamp)
	}
	s.Stamp = now
	if p.adapt != nil {
		s.InFlight = p.running.Load()
	}
	p.logAcquired(t.DisplayName(), t.ID(), t.Weight(), waited)
	p.observeAdmission(t.DisplayName(), t.ID(), t.Weight(), waited, AdmissionAdmitted, nil)
}

// ended reports a task's end: to the log, the observer and the adaptive
// limit (for jobs that ran).
//
//go:noinline
func (p *Pool) ended(t *task.Task, held time.Duration, state uint32, err error, ran bool) {
	if ran {
		var inFlight int64
		if s := t.SideIfAny(); s != nil {
			inFlight = s.InFlight
		}
		p.observe(held, inFlight, err)
		p.logReleased(t.DisplayName(), t.ID(), t.Weight(), held, job.State(state), err)
	}
	p.observeEnd(t.DisplayName(), t.ID(), t.Weight(), held, job.State(state), err)
}

// errInvalidWeight and errTooHeavy build errors out of line: a call with
// fmt's variadic arguments would enlarge the frames of the admission path.
//
//go:noinline
func errInvalidWeight(w int64) error {
	return fmt.Errorf("%w: %d", ErrInvalidWeight, w)
}

//go:noinline
func errTooHeavy(w, limit int64) error {
	return fmt.Errorf("%w: weight %d, limit %d", ErrWeightExceedsLimit, w, limit)
}

// observe feeds a finished job to the adaptive controller and applies its
// answer.
func (p *Pool) observe(held time.Duration, inFlight int64, err error) {
	if p.adapt == nil {
		return
	}
	s := limit.Sample{Latency: held, InFlight: inFlight, Dropped: limit.IsDrop(err)}
	p.adaptMu.Lock()
	defer p.adaptMu.Unlock()
	cur := p.sem.Size()
	if next, reason := p.adapt.Observe(cur, s); next != cur && next >= 1 {
		_ = p.resize(next, reason) // fails only once shutdown began
	}
}

// PanicInfo is what a panic handler learns of a job that panicked.
type PanicInfo struct {
	Pool string
	Job  job.Info // the zero ID for a Do call made while nothing watches
	Err  *job.PanicError
}

// panicked makes a job's panic visible: to the handler given with
// WithPanicHandler and to the logger, or, with neither, to standard error.
func (p *Pool) panicked(t *task.Task, err error) {
	pe, _ := err.(*job.PanicError)
	info := job.Info{Name: "do"}
	if t != nil {
		info = job.Info{ID: t.ID(), Name: t.DisplayName(), Weight: t.Weight()}
	}
	if p.onPanic != nil {
		p.onPanic(PanicInfo{Pool: p.name, Job: info, Err: pe})
	}
	if p.logSet || p.slog != nil {
		p.logPanicked(info.Name, info.ID, err)
	}
	if p.onPanic == nil && !p.logSet && p.slog == nil && t != nil { // Do's panic goes on up the caller's stack
		var stack []byte
		if pe != nil {
			stack = pe.Stack
		}
		fmt.Fprintf(os.Stderr, "weir: pool %q: job %s panicked: %v\n%s\n", p.name, info.Name, err, stack)
	}
}

// Do runs j in the caller's goroutine under the same admission as Submit:
// it waits in FIFO order for the job's weight (job.WithWeight; default 1),
// runs j with ctx, gives the weight back and returns j's error. It fails
// like Submit before running j, returns ctx.Err() if ctx ends while it
// waits, and ErrQueueFull when WithMaxWaiting callers already wait. There
// is no handle and no hand-off to another goroutine; j receives ctx
// unchanged, so job.FromContext does not name it, and a forced shutdown
// cannot cancel it (Shutdown does not wait for it, Close does). A panic in
// j gives the weight back, is counted and reported to the panic handler or
// logger, and continues up the caller's stack; runtime.Goexit gives the
// weight back and is counted as a failure.
//
// Do is the way to limit concurrent calls to a dependency from many
// request goroutines. It costs no allocation.
func (p *Pool) Do(ctx context.Context, j job.Job, opts ...job.Option) (err error) {
	if isNil(j) {
		return p.rejected(opts, ErrNilJob, time.Time{})
	}
	if ctx == nil {
		return p.rejected(opts, ErrNilContext, time.Time{})
	}
	name, w := "", int64(1)
	if len(opts) > 0 {
		name, w = jobOptions(opts)
	}
	if err := p.check(ctx, w); err != nil {
		return p.rejected(opts, err, time.Time{})
	}
	var start time.Time
	watch := len(p.obs) > 0 || p.debugOn() // then Do's job gets an ID and events
	if watch {
		start = time.Now()
	}
	if !p.sem.TryAcquire(w) {
		if err := p.acquireSlow(ctx, w); err != nil {
			return p.rejected(opts, err, start)
		}
	}
	if watch {
		return p.doWatched(ctx, j, name, w, start)
	}
	var m measure
	if p.adapt != nil {
		// Do calls are not counted in running: the weight in use,
		// this call's included, stands for them.
		m = measure{start: time.Now(), inFlight: p.running.Load() + p.sem.Held()}
	}
	state := task.Panicked
	defer func() {
		if state == task.Succeeded && p.adapt == nil {
			// The common case, kept short: count, give the weight back.
			p.dc.succeeded.Add(1)
			if granted := p.sem.ReleaseTasks(w); granted != nil {
				p.dispatch(granted, false)
			}
			return
		}
		var v any
		if state == task.Panicked {
			v, state, err = doRecover(recover())
		}
		if granted := p.end(w, state, err, &p.dc, nil); granted != nil {
			p.dispatch(granted, false)
		}
		if p.adapt != nil {
			p.observe(time.Since(m.start), m.inFlight, err)
		}
		if v != nil {
			panic(v)
		}
	}()
	return p.runDo(ctx, j, w, &state)
}

// measure is what an adaptive limit learns of a Do call that no one else
// watches.
type measure struct {
	start    time.Time
	inFlight int64
}

// doRecover turns what Do's deferred call recovered into an outcome: a
// panic (which Do then re-panics) or runtime.Goexit.
func doRecover(v any) (any, uint32, error) {
	if v != nil {
		return v, task.Panicked, task.NewPanicError(v, rtdebug.Stack())
	}
	return nil, task.Failed, job.ErrGoexit
}

func outcome(ctx context.Context, err error) uint32 {
	switch {
	case err == nil:
		return task.Succeeded
	case ctx.Err() != nil:
		return task.Canceled
	}
	return task.Failed
}

// doWatched is Do when something watches per-job times: it gives the call
// an ID and reports its admission and end.
func (p *Pool) doWatched(ctx context.Context, j job.Job, name string, w int64, start time.Time) (err error) {
	t := new(task.Task)
	t.Init(j, name, w, ctx, nil, p.nextID.Add(1))
	if p.adapt != nil {
		t.Side().InFlight = p.running.Load() + 1
	}
	p.running.Add(1) // with an ID, it counts as a job in every way
	admitted := time.Now()
	t.Side().Stamp = admitted.UnixNano() // for the held time end reports
	p.logAcquired(t.DisplayName(), t.ID(), w, admitted.Sub(start))
	p.observeAdmission(t.DisplayName(), t.ID(), w, admitted.Sub(start), AdmissionAdmitted, nil)
	state := task.Panicked
	defer func() {
		var v any
		if state == task.Panicked {
			v, state, err = doRecover(recover())
		}
		granted := p.end(w, state, err, &p.tc, t)
		p.running.Add(-1)
		p.dispatch(granted, false)
		if v != nil {
			panic(v)
		}
	}()
	return p.runDo(ctx, j, w, &state)
}

// runDo runs Do's job, under a lease of the shared limit if the pool has
// one, and records its outcome in *state.
func (p *Pool) runDo(ctx context.Context, j job.Job, w int64, state *uint32) (err error) {
	if p.shared != nil {
		jctx, done, err := p.lease(ctx, w)
		if err != nil {
			*state = outcome(ctx, err)
			return err
		}
		defer done()
		ctx = jctx // a lost lease ends it: the job is then Canceled
	}
	err = j.Run(ctx)
	*state = outcome(ctx, err)
	return err
}

// acquireSlow is Do's wait for its weight.
func (p *Pool) acquireSlow(ctx context.Context, w int64) error {
	err, granted := p.sem.AcquireTasks(ctx, w)
	p.dispatch(granted, false)
	switch err {
	case nil:
		return nil
	case wsem.ErrClosed:
		return ErrClosed
	case wsem.ErrTooLarge:
		return errTooHeavy(w, p.sem.Size())
	case wsem.ErrFull:
		return ErrQueueFull
	}
	return err
}

// Wait blocks until every job submitted so far has finished, including
// the queued ones, the submitters waiting for room in the queue and the
// Do calls waiting or running. Jobs submitted while it waits may be
// waited for too. Called from one of the pool's own jobs, it waits for
// that job too, and so never returns.
func (p *Pool) Wait() {
	p.waitIdle(nil)
}

// waitIdle waits until no task is unresolved and the semaphore is idle,
// or stop is closed; it reports which.
func (p *Pool) waitIdle(stop <-chan struct{}) bool {
	for {
		if !p.tasks.wait(stop) || !p.sem.WaitIdle(stop) {
			return false
		}
		if p.tasks.count() == 0 {
			return true
		}
	}
}

// Resize changes the limit while the pool runs. Growing admits queued jobs
// at once, in order; shrinking takes nothing back from running jobs, but
// admits no more until the weight in use is below the new limit. Queued
// jobs and waiting submitters with a weight above the new limit fail with
// ErrWeightExceedsLimit (a queued job resolves Canceled with it).
// Resizing to the current limit does nothing. A limit below 1 returns
// ErrInvalidLimit, and a pool that is shutting down ErrClosed.
func (p *Pool) Resize(limit int64) error {
	return p.resize(limit, "Resize")
}

func (p *Pool) resize(limit int64, reason string) error {
	if limit < 1 {
		return fmt.Errorf("%w: %d (pool %q)", ErrInvalidLimit, limit, p.name)
	}
	p.mu.Lock()
	if p.closing {
		p.mu.Unlock()
		return ErrClosed
	}
	old := p.sem.Size()
	if limit == old {
		p.mu.Unlock()
		return nil
	}
	p.exec.Tune(execCap(max(limit, old)))
	granted, failed := p.sem.ResizeTasks(limit)
	p.exec.Tune(execCap(limit))
	p.resizes.Add(1)
	p.mu.Unlock()
	for n := failed; n != nil; {
		next := n.Next()
		if t := task.FromNode(n); !n.Blocked() {
			p.resolveDropped(t, fmt.Errorf("%w: %w", errTooHeavy(t.Weight(), limit), job.ErrCanceled))
		}
		n = next
	}
	p.dispatch(granted, false)
	if ce := p.log.Check(zap.InfoLevel, MsgResized); ce != nil {
		ce.Write(zap.Int64(KeyOld, old), zap.Int64(KeyLimit, limit), zap.String(KeyReason, reason))
	}
	if p.slog != nil {
		p.logInfo(MsgResized, slog.Int64(KeyOld, old), slog.Int64(KeyLimit, limit), slog.String(KeyReason, reason))
	}
	p.observeResize(old, limit, reason)
	return nil
}

// Stats is a snapshot of a pool.
type Stats struct {
	Limit   int64  // the most weight that runs at once
	Resizes uint64 // limit changes since New, by Resize or an adaptive limit
	InUse   int64  // weight held by running jobs and Do calls; above Limit only after a shrinking Resize
	Running int64  // jobs admitted and not finished (see Submitted for Do calls)

	Queued        int64 // jobs in the queue, waiting for their weight
	QueuedWeight  int64 // their weight
	Waiting       int64 // callers waiting in Submit for room in the queue, and in Do for weight
	WaitingWeight int64 // the weight they wait for

	Submitted uint64 // jobs accepted (admitted or queued) since New; a Do call is counted
	// when it is admitted, like the others, while the pool reports per-job events (logging at
	// Debug, or an observer) and gives it an ID; otherwise, to keep Do as cheap as the
	// semaphore, when it returns, and it shows in no gauge but InUse meanwhile.
	Succeeded uint64 // jobs whose Run returned nil
	Failed    uint64 // jobs whose Run returned an error (or called runtime.Goexit) with their ctx not done
	Panicked  uint64 // jobs that panicked
	Canceled  uint64 // jobs dropped before running, or that returned an error after their ctx ended
}

// Finished returns how many submitted jobs have finished. Submitted minus
// Finished is the number of jobs queued or running.
func (s Stats) Finished() uint64 {
	return s.Succeeded + s.Failed + s.Panicked + s.Canceled
}

// String formats s with field names, for logs.
func (s Stats) String() string {
	return fmt.Sprintf("limit=%d in_use=%d running=%d queued=%d (weight %d) waiting=%d (weight %d) "+
		"submitted=%d succeeded=%d failed=%d panicked=%d canceled=%d resizes=%d",
		s.Limit, s.InUse, s.Running, s.Queued, s.QueuedWeight, s.Waiting, s.WaitingWeight,
		s.Submitted, s.Succeeded, s.Failed, s.Panicked, s.Canceled, s.Resizes)
}

// Stats returns a snapshot of the pool. Counters are read so that
// Submitted >= Finished() always holds; gauges are read at nearly the same
// moment, not atomically together.
func (p *Pool) Stats() Stats {
	var s Stats
	for _, c := range []*counts{&p.tc, &p.dc} {
		s.Succeeded += c.succeeded.Load()
		s.Failed += c.failed.Load()
		s.Panicked += c.panicked.Load()
		s.Canceled += c.canceled.Load()
	}
	doCalls := p.dc.succeeded.Load() + p.dc.failed.Load() + p.dc.panicked.Load() + p.dc.canceled.Load()
	// Outcomes before IDs: a job has its ID before it can end, so
	// Submitted >= Finished, and both only grow.
	s.Submitted = p.nextID.Load() + doCalls
	g := p.sem.Gauges()
	s.Limit, s.InUse = g.Size, g.InUse
	s.Queued, s.QueuedWeight = int64(g.Queued), g.QueuedWeight
	s.Waiting, s.WaitingWeight = int64(g.Blocked), g.BlockedWeight
	s.Resizes = p.resizes.Load()
	s.Running = p.running.Load()
	return s
}

// Shutdown stops the pool: new submissions fail with ErrClosed, and so do
// submitters waiting for room in the queue and Do calls waiting for
// weight; queued jobs are dropped (they resolve Canceled with an error
// matching ErrClosed and job.ErrCanceled). Running jobs go on. When they
// have all finished, Shutdown releases the pool's goroutines and returns
// nil.
//
// If ctx ends first, Shutdown cancels the ctx of every running job and
// returns ctx.Err() at once, as net/http's Server.Shutdown does. A job
// that goes on running keeps its weight and shows in Stats; Close and
// Wait still wait for it, and the pool's goroutines are released when the
// last such job returns.
//
// Shutdown may be called many times and from many goroutines. Called from
// one of the pool's own jobs, only Shutdown with a ctx that ends returns:
// Close, Wait and Shutdown without a deadline wait for every job,
// including the caller.
func (p *Pool) Shutdown(ctx context.Context) error {
	if ctx == nil {
		return ErrNilContext
	}
	p.mu.Lock()
	var dropped *wsem.Node
	if !p.closing {
		p.closing = true
		dropped = p.sem.Close()
	}
	p.mu.Unlock()
	for n := dropped; n != nil; {
		next := n.Next()
		if !n.Blocked() {
			p.resolveDropped(task.FromNode(n), errForced)
		}
		n = next
	}
	if p.waitIdle(ctx.Done()) {
		p.logShutdown()
		p.release()
		return nil
	}
	p.x.Forced.Store(true)
	p.force(errForced)
	p.logShutdown()
	p.stopper.Do(func() {
		go func() {
			p.waitIdle(nil)
			p.release()
		}()
	})
	return ctx.Err()
}

// release lets the executor's goroutines go, once every job has returned.
func (p *Pool) release() {
	p.released.Do(func() {
		p.force(errForced)
		if err := p.exec.ReleaseContext(context.Background()); err != nil && !errors.Is(err, ants.ErrPoolClosed) {
			p.log.Error("releasing executor", zap.Error(err))
		}
	})
}

// logShutdown logs the end of the pool once: when every job has finished,
// or when a deadline forced the running ones to stop.
func (p *Pool) logShutdown() {
	p.logged.Do(func() {
		if ce := p.log.Check(zap.InfoLevel, MsgShutdown); ce != nil {
			ce.Write(zap.Bool(KeyForced, p.x.Forced.Load()), zap.Uint64(KeySubmitted, p.Stats().Submitted))
		}
		if p.slog != nil {
			p.logInfo(MsgShutdown, slog.Bool(KeyForced, p.x.Forced.Load()), slog.Uint64(KeySubmitted, p.Stats().Submitted))
		}
	})
}

// Close drains the pool and stops it: it waits until every job submitted
// so far has finished, the queued ones included (as Wait does), then shuts
// the pool down as Shutdown without a deadline does, and returns nil. A
// job submitted while Close runs may be run or dropped. Use Shutdown to
// drop the queued jobs instead, or to bound the wait.
func (p *Pool) Close() error {
	p.Wait()
	return p.Shutdown(context.Background())
}
