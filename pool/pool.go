package pool

import (
	"context"
	"errors"
	"fmt"
	"math"
	rtdebug "runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/ants/v2"
	"github.com/weir-go/weir/internal/wsem"
	"github.com/weir-go/weir/job"
	"github.com/weir-go/weir/limit"
	"go.uber.org/zap"
)

// Pool runs submitted jobs on goroutines, at most limit weight at a time.
// Its methods are safe for concurrent use. Create one with New and end it
// with Shutdown or Close.
type Pool struct {
	name       string
	log        *zap.Logger
	maxWaiting int64 // -1: unbounded

	// sem admits jobs: weir's semaphore in strict mode, so that a weight
	// above the limit fails instead of waiting, and closable. The pool uses
	// only Acquire, TryAcquire, Release, Resize, Close, Size and InUse, so
	// another limiter can stand here.
	sem  *wsem.Weighted
	exec *ants.PoolWithFunc

	// jobs counts callers inside Submit/Do, jobs not yet resolved, and
	// of those the admitted ones; it also marks the start of shutdown.
	jobs    joiner
	nextID  atomic.Uint64 // IDs are given at admission: also the count admitted
	waiting atomic.Int64  // submitters waiting for admission

	succeeded, failed, panicked, canceled atomic.Uint64

	// base is every job's executor ctx; force ends it on a forced shutdown.
	base  context.Context
	force context.CancelCauseFunc

	mu      sync.Mutex // serialises resizes and the start of shutdown
	closing bool
	resizes atomic.Uint64

	adapt    limit.Controller // nil unless WithAdaptiveLimit
	adaptMu  sync.Mutex       // one Observe at a time
	shutdown sync.Once        // releases the executor once
	forced   atomic.Bool
}

// New makes a pool that runs at most limit weight of jobs at once.
// A limit below 1 returns an error matching ErrInvalidLimit, and an
// invalid option one matching ErrInvalidOption.
func New(limit int64, opts ...Option) (*Pool, error) {
	o := options{logger: zap.NewNop(), name: "pool", maxWaiting: -1}
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
	if optErr != nil {
		return nil, fmt.Errorf("%w (pool %q)", optErr, o.name)
	}
	if limit < 1 {
		return nil, fmt.Errorf("%w: %d (pool %q)", ErrInvalidLimit, limit, o.name)
	}
	if o.adapt != nil {
		if lo, hi := o.adapt.Bounds(); limit < lo || limit > hi {
			return nil, fmt.Errorf("%w: limit %d is outside the adaptive bounds [%d, %d] (pool %q)",
				ErrInvalidOption, limit, lo, hi, o.name)
		}
	}
	p := &Pool{
		name:       o.name,
		log:        o.logger.Named("weir").WithOptions(zap.WithCaller(false)).With(zap.String(KeyPool, o.name)),
		maxWaiting: o.maxWaiting,
		sem:        wsem.NewStrict(limit),
		adapt:      o.adapt,
	}
	p.base, p.force = context.WithCancelCause(context.Background())
	antsLog, err := zap.NewStdLogAt(p.log, zap.ErrorLevel)
	if err != nil {
		return nil, err
	}
	p.exec, err = ants.NewPoolWithFunc(execCap(limit), p.execute,
		ants.WithNonblocking(true), ants.WithLogger(antsLog))
	if err != nil {
		p.force(nil)
		return nil, fmt.Errorf("pool: starting executor: %w", err)
	}
	return p, nil
}

// errForced is the error of a job that a forced shutdown stopped before it
// ran: it matches ErrClosed, job.ErrCanceled and context.Canceled.
var errForced = fmt.Errorf("%w: %w", ErrClosed, job.ErrCanceled)

// execCap sizes ants so that handing a job to it never waits: running jobs
// are at most limit, and as many workers again may be between releasing a
// job's weight and returning to ants.
func execCap(limit int64) int {
	return int(min(limit, math.MaxInt32/2) * 2)
}

// Name returns the pool's name.
func (p *Pool) Name() string { return p.name }

// Limit returns the pool's limit: the most weight that runs at once.
func (p *Pool) Limit() int64 { return p.sem.Size() }

// Submit runs j on the pool and returns its handle. It first checks its
// arguments, failing at once with ErrNilContext, ErrNilJob,
// ErrInvalidWeight (weight below 1) or ErrWeightExceedsLimit; then it waits
// in FIFO order until the job's weight (job.WithWeight, default 1) is
// free, and hands the job to a goroutine. If ctx ends first, Submit returns
// ctx.Err() unchanged and nothing is held. It returns ErrClosed once
// shutdown has begun, and ErrQueueFull when WithMaxWaiting submitters
// already wait.
//
// The job's ctx carries ctx's values, deadline and cancellation; it is
// also cancelled by Handle.Cancel and by a forced shutdown, and it names
// the job (see job.FromContext).
//
// A job that submits to its own pool and waits for the result deadlocks
// when the pool is full, since it holds weight the inner job needs: give
// such inner Submits a bounded ctx, so the wait ends in an error.
func (p *Pool) Submit(ctx context.Context, j job.Job, opts ...job.Option) (*job.Handle, error) {
	if isNil(j) {
		return nil, ErrNilJob
	}
	t := job.NewTask(j, opts...)
	if err := p.submit(ctx, t, true); err != nil {
		return nil, err
	}
	return t.Handle(), nil
}

// TrySubmit is Submit without waiting: if the job's weight is not free at
// once, or others already wait for it, it returns ErrFull.
func (p *Pool) TrySubmit(ctx context.Context, j job.Job, opts ...job.Option) (*job.Handle, error) {
	if isNil(j) {
		return nil, ErrNilJob
	}
	t := job.NewTask(j, opts...)
	if err := p.submit(ctx, t, false); err != nil {
		return nil, err
	}
	return t.Handle(), nil
}

// Go is Submit for a plain function.
func (p *Pool) Go(ctx context.Context, f func(ctx context.Context) error, opts ...job.Option) (*job.Handle, error) {
	if f == nil {
		return nil, ErrNilJob
	}
	return p.Submit(ctx, job.Func(f), opts...)
}

// SubmitResult is Submit for a function that returns a value: the handle's
// Wait returns the value and the error.
func SubmitResult[T any](ctx context.Context, p *Pool, f func(ctx context.Context) (T, error), opts ...job.Option) (*job.Result[T], error) {
	if f == nil {
		return nil, ErrNilJob
	}
	r := job.NewResult(f, opts...)
	if err := p.submit(ctx, r.Task(), true); err != nil {
		return nil, err
	}
	return r, nil
}

// isNil reports whether j is nil, or a nil job.Func.
func isNil(j job.Job) bool {
	f, ok := j.(job.Func)
	return j == nil || ok && f == nil
}

// submit admits t and hands it to the executor.
func (p *Pool) submit(ctx context.Context, t *job.Task, block bool) error {
	if ctx == nil {
		return ErrNilContext
	}
	w := t.Weight()
	var start int64 // Unix ns, only when Debug is on
	if p.debugOn() {
		start = time.Now().UnixNano()
	}
	if err := p.acquire(ctx, w, block); err != nil {
		return err
	}
	id := p.nextID.Add(1)
	t.Start(id, ctx, p.base)
	if start != 0 {
		p.logSubmitted(t, start)
	}
	if err := p.exec.Invoke(t); err != nil {
		// ants is sized never to refuse; if it does, run the job
		// on a goroutine of its own rather than lose it.
		go p.execute(t)
	}
	return nil
}

// logSubmitted stamps t with its admission time and logs it; out of line
// so that the admission path's frames stay small (see errTooHeavy).
//
//go:noinline
func (p *Pool) logSubmitted(t *job.Task, start int64) {
	now := time.Now().UnixNano()
	t.SetStamp(now)
	h := t.Handle()
	p.logAcquired(h.Name(), h.ID(), h.Weight(), time.Duration(now-start))
}

// acquire validates weight w, waits for it, and counts the caller in
// p.jobs as admitted. On failure nothing is held or counted.
func (p *Pool) acquire(ctx context.Context, w int64, block bool) error {
	if w < 1 {
		return errInvalidWeight(w)
	}
	if limit := p.sem.Size(); w > limit {
		return errTooHeavy(w, limit)
	}
	if p.jobs.closed() {
		return ErrClosed
	}
	// Err, not only Done: a ctx derived through context.AfterFunc (a
	// job's own ctx, say) reports its parent's end in Err a moment
	// before its Done channel closes.
	if err := ctx.Err(); err != nil {
		return err
	}
	if p.sem.TryAcquire(w) {
		if !p.jobs.enter(1 + runUnit) {
			p.sem.Release(w)
			return ErrClosed
		}
	} else {
		if !p.jobs.enter(1) {
			return ErrClosed
		}
		if !block {
			p.jobs.sub(1)
			return ErrFull
		}
		if err := p.wait(ctx, w); err != nil {
			p.jobs.sub(1)
			return err
		}
		p.jobs.add(runUnit)
	}
	if err := ctx.Err(); err != nil {
		// Ended while we waited, in a way Done had not shown yet.
		p.sem.Release(w)
		p.jobs.sub(1 + runUnit)
		return err
	}
	return nil
}

// errInvalidWeight and errTooHeavy build errors out of line: a call with
// fmt's variadic arguments would enlarge the frames of the admission path,
// and a submitter parked there would need a 4 KB stack instead of 2 KB.
//
//go:noinline
func errInvalidWeight(w int64) error {
	return fmt.Errorf("%w: %d", ErrInvalidWeight, w)
}

//go:noinline
func errTooHeavy(w, limit int64) error {
	return fmt.Errorf("%w: weight %d, limit %d", ErrWeightExceedsLimit, w, limit)
}

// wait is the slow path of acquire: it waits in FIFO order for weight w,
// and gives up when ctx ends, when the pool closes, or when a Resize puts
// the limit below w.
func (p *Pool) wait(ctx context.Context, w int64) error {
	if n := p.waiting.Add(1); p.maxWaiting >= 0 && n > p.maxWaiting {
		p.waiting.Add(-1)
		return ErrQueueFull
	}
	err := p.sem.Acquire(ctx, w)
	p.waiting.Add(-1)
	switch err {
	case nil:
		return nil
	case wsem.ErrClosed:
		return ErrClosed
	case wsem.ErrTooLarge:
		return errTooHeavy(w, p.sem.Size())
	}
	return err
}

// execute runs on an ants worker: it runs the task and then, deferred so
// that it also happens after runtime.Goexit, gives back its weight and
// resolves its handle.
func (p *Pool) execute(arg any) {
	t := arg.(*job.Task)
	var m measure
	if p.adapt != nil {
		m = p.startMeasure()
	}
	defer p.finish(t, m)
	t.Run()
}

// measure is what an adaptive limit needs from the start of a job.
type measure struct {
	start    time.Time
	inFlight int64
}

func (p *Pool) startMeasure() measure {
	return measure{start: time.Now(), inFlight: p.jobs.running()}
}

// observe feeds a finished job to the adaptive controller and applies its
// answer.
func (p *Pool) observe(m measure, err error) {
	s := limit.Sample{Latency: time.Since(m.start), InFlight: m.inFlight, Dropped: limit.IsDrop(err)}
	p.adaptMu.Lock()
	defer p.adaptMu.Unlock()
	cur := p.sem.Size()
	if next, reason := p.adapt.Observe(cur, s); next != cur && next >= 1 {
		_ = p.resize(next, reason) // fails only once shutdown began
	}
}

func (p *Pool) finish(t *job.Task, m measure) {
	state, err := t.Outcome()
	w := t.Weight()
	gj, grouped := t.Job().(*groupJob)
	if grouped && err != nil {
		// Cancel the group before giving the weight back, so that none
		// of its waiting submitters is admitted after it failed.
		gj.g.fail(err)
	}
	p.sem.Release(w)
	p.count(state)
	if p.adapt != nil {
		p.observe(m, err)
	}
	if p.debugOn() || state == job.Panicked {
		h := t.Handle()
		var held time.Duration
		if s := t.Stamp(); s != 0 {
			held = time.Duration(time.Now().UnixNano() - s)
		}
		p.logReleased(h.Name(), h.ID(), w, held, state, err)
	}
	p.jobs.sub(runUnit) // no longer running once its handle resolves
	t.Resolve()
	if grouped {
		gj.g.jobs.sub(1)
	}
	p.jobs.sub(1)
}

func (p *Pool) count(s job.State) {
	switch s {
	case job.Succeeded:
		p.succeeded.Add(1)
	case job.Panicked:
		p.panicked.Add(1)
	case job.Canceled:
		p.canceled.Add(1)
	default:
		p.failed.Add(1)
	}
}

// Do runs j in the caller's goroutine under the same admission as Submit:
// it waits in FIFO order for the job's weight (job.WithWeight; default 1),
// runs j with ctx, gives the weight back and returns j's error. It fails
// like Submit before running j, and returns ctx.Err() if ctx ends while
// it waits. There is no handle and no hand-off to another goroutine; j
// receives ctx unchanged, so job.FromContext does not name it, and a
// forced shutdown cannot cancel it (Shutdown waits for it to return). A
// panic in j gives the weight back, is counted and logged, and continues up
// the caller's stack; runtime.Goexit gives the weight back and is counted
// as a failure.
//
// Do is the way to limit concurrent calls to a dependency from many
// request goroutines.
func (p *Pool) Do(ctx context.Context, j job.Job, opts ...job.Option) (err error) {
	if isNil(j) {
		return ErrNilJob
	}
	if ctx == nil {
		return ErrNilContext
	}
	name, w := "", int64(1)
	if len(opts) > 0 {
		name, w = job.Options(opts...)
	}
	var start time.Time
	debug := p.debugOn()
	if debug {
		start = time.Now()
	}
	if err := p.acquire(ctx, w, true); err != nil {
		return err
	}
	id := p.nextID.Add(1)
	var m measure
	if p.adapt != nil {
		m = p.startMeasure()
	}
	var admitted time.Time
	if debug {
		admitted = time.Now()
		if name == "" {
			name = job.DefaultName(id)
		}
		p.logAcquired(name, id, w, admitted.Sub(start))
	}
	state := job.Panicked
	defer func() {
		var v any
		if state == job.Panicked {
			// Run did not return: a panic, which goes on up the
			// caller's stack once the weight is back, or Goexit.
			if v = recover(); v != nil {
				err = &job.PanicError{Value: v, Stack: rtdebug.Stack()}
			} else {
				state, err = job.Failed, job.ErrGoexit
			}
		}
		p.sem.Release(w)
		p.count(state)
		if p.adapt != nil {
			p.observe(m, err)
		}
		if debug || state == job.Panicked {
			if name == "" {
				name = job.DefaultName(id)
			}
			var held time.Duration
			if debug {
				held = time.Since(admitted)
			}
			p.logReleased(name, id, w, held, state, err)
		}
		p.jobs.sub(1 + runUnit)
		if v != nil {
			panic(v)
		}
	}()
	err = j.Run(ctx)
	switch {
	case err == nil:
		state = job.Succeeded
	case ctx.Err() != nil:
		state = job.Canceled
	default:
		state = job.Failed
	}
	return err
}

// Wait blocks until every job submitted so far has finished. Jobs
// submitted while it waits may be waited for too.
func (p *Pool) Wait() {
	p.jobs.wait(nil)
}

// Resize changes the limit while the pool runs. Growing admits waiting
// jobs at once, in order; shrinking takes nothing back from running jobs,
// but admits no more until the weight in use is below the new limit.
// Submitters waiting with a weight above the new limit fail with
// ErrWeightExceedsLimit. Resizing to the current limit does nothing. A
// limit below 1 returns ErrInvalidLimit, and a pool that is shutting down
// ErrClosed.
func (p *Pool) Resize(limit int64) error {
	return p.resize(limit, "Resize")
}

func (p *Pool) resize(limit int64, reason string) error {
	if limit < 1 {
		return fmt.Errorf("%w: %d", ErrInvalidLimit, limit)
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
	p.sem.Resize(limit)
	p.exec.Tune(execCap(limit))
	p.resizes.Add(1)
	p.mu.Unlock()
	if ce := p.log.Check(zap.InfoLevel, MsgResized); ce != nil {
		ce.Write(zap.Int64(KeyOld, old), zap.Int64(KeyLimit, limit), zap.String(KeyReason, reason))
	}
	return nil
}

// Stats is a snapshot of a pool.
type Stats struct {
	Limit   int64  // the most weight that runs at once
	Resizes uint64 // limit changes since New, by Resize or an adaptive limit
	InUse   int64  // weight held by running jobs; above Limit only after a shrinking Resize
	Running int64  // jobs admitted and not yet finished
	Waiting int64  // submitters waiting for admission

	Submitted uint64 // jobs admitted since New
	Succeeded uint64 // jobs whose Run returned nil
	Failed    uint64 // jobs whose Run returned an error (or called runtime.Goexit) with their ctx not done
	Panicked  uint64 // jobs that panicked
	Canceled  uint64 // jobs cancelled before running, or that returned an error after their ctx ended
}

// Finished returns how many admitted jobs have finished. Submitted minus
// Finished is the number of jobs in flight.
func (s Stats) Finished() uint64 {
	return s.Succeeded + s.Failed + s.Panicked + s.Canceled
}

// Stats returns a snapshot of the pool. Counters are read so that
// Submitted >= Finished() always holds; gauges are read at nearly the same
// moment, not atomically together.
func (p *Pool) Stats() Stats {
	s := Stats{
		Succeeded: p.succeeded.Load(),
		Failed:    p.failed.Load(),
		Panicked:  p.panicked.Load(),
		Canceled:  p.canceled.Load(),
	}
	s.Submitted = p.nextID.Load()
	s.Limit = p.sem.Size()
	s.Resizes = p.resizes.Load()
	s.InUse = p.sem.InUse()
	s.Running = p.jobs.running()
	s.Waiting = p.waiting.Load()
	return s
}

// Shutdown stops the pool: new submissions fail with ErrClosed, and so do
// submitters waiting for admission; jobs already admitted run to the end.
// When they have all finished, Shutdown releases the pool's goroutines and
// returns nil. If ctx ends first, Shutdown cancels the ctx of every job
// still running, waits for them to return, releases the goroutines and
// returns ctx.Err(). A job that ignores its ctx keeps Shutdown waiting, and
// so does a Do still running, whose ctx is its caller's.
//
// Shutdown may be called many times and from many goroutines; every call
// returns once the pool has stopped. When it returns, no goroutine of the
// pool remains.
func (p *Pool) Shutdown(ctx context.Context) error {
	if ctx == nil {
		return ErrNilContext
	}
	p.mu.Lock()
	if !p.closing {
		p.closing = true
		p.jobs.close()
		p.sem.Close()
	}
	p.mu.Unlock()

	var err error
	if !p.jobs.wait(ctx.Done()) {
		err = ctx.Err()
		p.forced.Store(true)
		p.force(errForced)
		p.jobs.wait(nil)
	}
	p.shutdown.Do(func() {
		p.force(errForced)
		// Every job has resolved; wait for the ants workers to exit.
		if rerr := p.exec.ReleaseContext(context.Background()); rerr != nil && !errors.Is(rerr, ants.ErrPoolClosed) {
			p.log.Error("releasing executor", zap.Error(rerr))
		}
		if ce := p.log.Check(zap.InfoLevel, MsgShutdown); ce != nil {
			ce.Write(zap.Bool(KeyForced, p.forced.Load()), zap.Uint64(KeySubmitted, p.nextID.Load()))
		}
	})
	return err
}

// Close is Shutdown without a deadline: it waits for every admitted job to
// finish.
func (p *Pool) Close() error {
	return p.Shutdown(context.Background())
}
