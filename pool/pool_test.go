package pool_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/weir-go/weir/job"
	"github.com/weir-go/weir/limit"
	"github.com/weir-go/weir/pool"
)

// ---------------------------------------------------------------------------
// Helpers. Unless noted, they are meant for use inside a synctest bubble,
// where time is fake and synctest.Wait lets every other goroutine run until
// it is durably blocked.

var (
	errJob    = errors.New("job failed")
	errCustom = errors.New("custom context error")
)

// mustNew makes a pool and shuts it down when the test ends. Inside a
// bubble the cleanup runs inside the bubble too, so the pool's goroutines
// are gone before the bubble ends.
// quietPanics keeps the jobs that tests make panic from printing to
// standard error (the default when neither a logger nor a handler is
// set; TestPanicWithoutLoggerOrHandlerGoesToStderr covers it).
var quietPanics = pool.WithPanicHandler(func(pool.PanicInfo) {})

func mustNew(t testing.TB, limit int64, opts ...pool.Option) *pool.Pool {
	t.Helper()
	p, err := pool.New(limit, append([]pool.Option{pool.WithMaxQueued(0), quietPanics}, opts...)...)
	require.NoError(t, err)
	require.NotNil(t, p)
	t.Cleanup(func() {
		// A test that fails may leave jobs waiting for their ctx: force
		// them after a minute (of fake time inside a bubble).
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = p.Shutdown(ctx)
	})
	return p
}

// assertStats compares the fields of Stats that the tests are about, so
// that a field added later does not break them; Resizes has its own test.
func assertStats(t testing.TB, want, got pool.Stats, msgAndArgs ...any) bool {
	t.Helper()
	type view struct {
		Limit, InUse, Running, Waiting                   int64
		Submitted, Succeeded, Failed, Panicked, Canceled uint64
	}
	v := func(s pool.Stats) view {
		return view{s.Limit, s.InUse, s.Running, s.Waiting, s.Submitted, s.Succeeded, s.Failed, s.Panicked, s.Canceled}
	}
	return assert.Equal(t, v(want), v(got), msgAndArgs...)
}

// requirePoolErr checks that err matches sentinel and that its message
// starts with "pool:", as every error of the package does.
func requirePoolErr(t testing.TB, err, sentinel error) {
	t.Helper()
	require.ErrorIs(t, err, sentinel)
	require.Truef(t, strings.HasPrefix(err.Error(), "pool:"), "error %q must start with \"pool:\"", err)
}

// requireUnchanged checks that got is want itself, not a wrapper or a
// different error with the same text.
func requireUnchanged(t testing.TB, want, got error) {
	t.Helper()
	require.Truef(t, got == want, "got error %#v (%v), want %v returned unchanged", got, got, want)
}

// call is a pool call running in its own goroutine.
type call[T any] struct {
	ch   chan T
	got  T
	done bool
}

// goCall runs f in a new goroutine and waits until that goroutine has
// returned or durably blocked, so that calls started one after another
// reach the pool in that order.
func goCall[T any](f func() T) *call[T] {
	c := &call[T]{ch: make(chan T, 1)}
	go func() { c.ch <- f() }()
	synctest.Wait()
	return c
}

// returned reports whether the call has returned, recording its result.
func (c *call[T]) returned() bool {
	if !c.done {
		select {
		case c.got = <-c.ch:
			c.done = true
		default:
		}
	}
	return c.done
}

// result waits for the call to return, failing the test if it is still
// blocked after an hour of fake time (the pool's own tickers keep the
// bubble's clock moving, so a hang would not be reported as a deadlock).
func (c *call[T]) result(t testing.TB) T {
	t.Helper()
	if !c.done {
		select {
		case c.got = <-c.ch:
			c.done = true
		case <-time.After(time.Hour):
			t.Fatal("call still blocked after an hour")
		}
	}
	return c.got
}

type submitted struct {
	h   *job.Handle
	err error
}

func goSubmit(ctx context.Context, p *pool.Pool, j job.Job, opts ...job.Option) *call[submitted] {
	return goCall(func() submitted {
		h, err := p.Submit(ctx, j, opts...)
		return submitted{h, err}
	})
}

func goDo(ctx context.Context, p *pool.Pool, j job.Job, opts ...job.Option) *call[error] {
	return goCall(func() error { return p.Do(ctx, j, opts...) })
}

// requireBlocked checks that none of the calls has returned.
func requireBlocked[T any](t testing.TB, cs ...*call[T]) {
	t.Helper()
	synctest.Wait()
	for i, c := range cs {
		require.Falsef(t, c.returned(), "call #%d returned %+v, want it still blocked", i, c.got)
	}
}

// waitHandle waits for h, failing the test if it has not finished after an
// hour of fake time.
func waitHandle(t testing.TB, h *job.Handle) error {
	t.Helper()
	select {
	case <-h.Done():
	case <-time.After(time.Hour):
		t.Fatalf("job %s not finished after an hour", h.Name())
	}
	return h.Wait()
}

// gauge counts the weight of the jobs running now and records its peak.
type gauge struct{ cur, peak atomic.Int64 }

func (g *gauge) enter(w int64) {
	n := g.cur.Add(w)
	for p := g.peak.Load(); n > p && !g.peak.CompareAndSwap(p, n); p = g.peak.Load() {
	}
}

func (g *gauge) exit(w int64) { g.cur.Add(-w) }

// sleeper is a job of weight w that counts itself in g while it sleeps d.
func sleeper(g *gauge, w int64, d time.Duration) job.Func {
	return func(context.Context) error {
		g.enter(w)
		defer g.exit(w)
		time.Sleep(d)
		return nil
	}
}

// latch lets a test release the jobs that wait for it. It is also opened
// when the test ends, so that a failing test leaves no job blocked and the
// pool's shutdown does not wait for them forever.
type latch struct {
	ch   chan struct{}
	once sync.Once
}

// newLatch makes a latch. Call it after mustNew: cleanups run last-in
// first-out, so the latch opens before the pool shuts down.
func newLatch(t testing.TB) *latch {
	l := &latch{ch: make(chan struct{})}
	t.Cleanup(l.open)
	return l
}

func (l *latch) open() { l.once.Do(func() { close(l.ch) }) }

// holder is a job that runs until release opens, counting its starts.
func holder(started *atomic.Int32, release *latch) job.Func {
	return func(context.Context) error {
		if started != nil {
			started.Add(1)
		}
		<-release.ch
		return nil
	}
}

// recorder records events in order.
type recorder[T any] struct {
	mu sync.Mutex
	xs []T
}

func (r *recorder[T]) add(x T) {
	r.mu.Lock()
	r.xs = append(r.xs, x)
	r.mu.Unlock()
}

func (r *recorder[T]) all() []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.xs)
}

// customCtx is a context whose Err is whatever end was given, so that a
// test can tell ctx.Err() returned unchanged from a replaced error.
type customCtx struct {
	context.Context // Background: no deadline, no values
	done            chan struct{}
	once            sync.Once
	mu              sync.Mutex
	err             error
}

func newCustomCtx() *customCtx {
	return &customCtx{Context: context.Background(), done: make(chan struct{})}
}

func (c *customCtx) Done() <-chan struct{} { return c.done }

func (c *customCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *customCtx) end(err error) {
	c.once.Do(func() {
		c.mu.Lock()
		c.err = err
		c.mu.Unlock()
		close(c.done)
	})
}

// goid returns the ID of the calling goroutine.
func goid() uint64 {
	var buf [64]byte
	s := strings.TrimPrefix(string(buf[:runtime.Stack(buf[:], false)]), "goroutine ")
	id, err := strconv.ParseUint(s[:strings.IndexByte(s, ' ')], 10, 64)
	if err != nil {
		panic(err)
	}
	return id
}

// ---------------------------------------------------------------------------
// New and options.

func TestNewRejectsLimitBelowOne(t *testing.T) {
	for _, limit := range []int64{0, -1, math.MinInt64} {
		p, err := pool.New(limit)
		assert.Nil(t, p, "New(%d)", limit)
		requirePoolErr(t, err, pool.ErrInvalidLimit)
	}
}

func TestNewRejectsInvalidOptions(t *testing.T) {
	for _, tt := range []struct {
		name string
		opt  pool.Option
	}{
		{"nil logger", pool.WithLogger(nil)},
		{"negative max waiting", pool.WithMaxWaiting(-1)},
		{"very negative max waiting", pool.WithMaxWaiting(math.MinInt)},
		{"nil option", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := pool.New(2, tt.opt)
			assert.Nil(t, p)
			requirePoolErr(t, err, pool.ErrInvalidOption)
		})
	}
}

// WithName "names the pool ... in errors from New".
func TestNewErrorsNameThePool(t *testing.T) {
	for _, tt := range []struct {
		name  string
		limit int64
		opt   pool.Option
	}{
		{"invalid limit", 0, nil},
		{"nil logger", 1, pool.WithLogger(nil)},
		{"negative max waiting", 1, pool.WithMaxWaiting(-1)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opts := []pool.Option{pool.WithName("orders-db")}
			if tt.opt != nil {
				opts = append(opts, tt.opt)
			}
			_, err := pool.New(tt.limit, opts...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "orders-db")
		})
	}
}

func TestNewDefaultsAndAccessors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, 3)
		assert.Equal(t, "pool", p.Name())
		assert.Equal(t, int64(3), p.Limit())
		assertStats(t, pool.Stats{Limit: 3}, p.Stats())

		q := mustNew(t, 1, pool.WithName("db"), pool.WithMaxWaiting(0))
		assert.Equal(t, "db", q.Name())
		assert.Equal(t, int64(1), q.Limit())
	})
}

// ---------------------------------------------------------------------------
// Argument checks and context errors.

// Every argument error comes at once, even when the pool is full and others
// wait, and nothing runs or is counted.
func TestSubmitRejectsInvalidArgumentsWithoutWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		p := mustNew(t, 2)
		release := newLatch(t)
		_, err := p.Submit(ctx, holder(nil, release), job.WithWeight(2))
		require.NoError(t, err)
		waiter := goSubmit(ctx, p, job.Func(func(context.Context) error { return nil }))
		requireBlocked(t, waiter)
		g, _ := p.Group(ctx)

		var ran atomic.Int32
		j := job.Func(func(context.Context) error { ran.Add(1); return nil })
		f := func(context.Context) error { ran.Add(1); return nil }
		rf := func(context.Context) (int, error) { ran.Add(1); return 1, nil }
		w0, wneg, wbig := job.WithWeight(0), job.WithWeight(-3), job.WithWeight(3)
		var nilCtx context.Context

		for _, tt := range []struct {
			name string
			call func() error
			want error
		}{
			{"Submit nil ctx", func() error { _, err := p.Submit(nilCtx, j); return err }, pool.ErrNilContext},
			{"Submit nil job", func() error { _, err := p.Submit(ctx, nil); return err }, pool.ErrNilJob},
			{"Submit weight 0", func() error { _, err := p.Submit(ctx, j, w0); return err }, pool.ErrInvalidWeight},
			{"Submit negative weight", func() error { _, err := p.Submit(ctx, j, wneg); return err }, pool.ErrInvalidWeight},
			{"Submit weight above limit", func() error { _, err := p.Submit(ctx, j, wbig); return err }, pool.ErrWeightExceedsLimit},
			{"TrySubmit nil ctx", func() error { _, err := p.TrySubmit(nilCtx, j); return err }, pool.ErrNilContext},
			{"TrySubmit nil job", func() error { _, err := p.TrySubmit(ctx, nil); return err }, pool.ErrNilJob},
			{"TrySubmit weight 0", func() error { _, err := p.TrySubmit(ctx, j, w0); return err }, pool.ErrInvalidWeight},
			{"TrySubmit weight above limit", func() error { _, err := p.TrySubmit(ctx, j, wbig); return err }, pool.ErrWeightExceedsLimit},
			{"Go nil ctx", func() error { _, err := p.Go(nilCtx, f); return err }, pool.ErrNilContext},
			{"Go nil func", func() error { _, err := p.Go(ctx, nil); return err }, pool.ErrNilJob},
			{"Go negative weight", func() error { _, err := p.Go(ctx, f, wneg); return err }, pool.ErrInvalidWeight},
			{"Go weight above limit", func() error { _, err := p.Go(ctx, f, wbig); return err }, pool.ErrWeightExceedsLimit},
			{"Spawn nil ctx", func() error { return p.Spawn(nilCtx, j) }, pool.ErrNilContext},
			{"Spawn nil job", func() error { return p.Spawn(ctx, nil) }, pool.ErrNilJob},
			{"Spawn weight 0", func() error { return p.Spawn(ctx, j, w0) }, pool.ErrInvalidWeight},
			{"Spawn weight above limit", func() error { return p.Spawn(ctx, j, wbig) }, pool.ErrWeightExceedsLimit},
			{"SubmitResult nil ctx", func() error { _, err := pool.SubmitResult(nilCtx, p, rf); return err }, pool.ErrNilContext},
			{"SubmitResult nil func", func() error {
				_, err := pool.SubmitResult[int](ctx, p, nil)
				return err
			}, pool.ErrNilJob},
			{"SubmitResult weight 0", func() error { _, err := pool.SubmitResult(ctx, p, rf, w0); return err }, pool.ErrInvalidWeight},
			{"SubmitResult weight above limit", func() error { _, err := pool.SubmitResult(ctx, p, rf, wbig); return err }, pool.ErrWeightExceedsLimit},
			{"Do nil ctx", func() error { return p.Do(nilCtx, j) }, pool.ErrNilContext},
			{"Do nil job", func() error { return p.Do(ctx, nil) }, pool.ErrNilJob},
			{"Do weight 0", func() error { return p.Do(ctx, j, w0) }, pool.ErrInvalidWeight},
			{"Do negative weight", func() error { return p.Do(ctx, j, wneg) }, pool.ErrInvalidWeight},
			{"Do weight above limit", func() error { return p.Do(ctx, j, wbig) }, pool.ErrWeightExceedsLimit},
			{"Group.Submit nil job", func() error { _, err := g.Submit(nil); return err }, pool.ErrNilJob},
			{"Group.Go nil func", func() error { _, err := g.Go(nil); return err }, pool.ErrNilJob},
			{"Group.Submit weight 0", func() error { _, err := g.Submit(j, w0); return err }, pool.ErrInvalidWeight},
			{"Group.Go weight above limit", func() error { _, err := g.Go(f, wbig); return err }, pool.ErrWeightExceedsLimit},
		} {
			c := goCall(tt.call)
			require.Truef(t, c.returned(), "%s: still blocked, want %v at once", tt.name, tt.want)
			requirePoolErr(t, c.got, tt.want)
		}
		// Arguments are checked before the context.
		done, cancel := context.WithCancel(ctx)
		cancel()
		_, err = p.Submit(done, j, w0)
		requirePoolErr(t, err, pool.ErrInvalidWeight)
		_, err = p.Submit(done, j, wbig)
		requirePoolErr(t, err, pool.ErrWeightExceedsLimit)
		_, err = p.Submit(done, nil)
		requirePoolErr(t, err, pool.ErrNilJob)

		synctest.Wait()
		assert.Zero(t, ran.Load(), "a rejected job ran")
		assertStats(t, pool.Stats{Limit: 2, InUse: 2, Running: 1, Waiting: 1, Submitted: 1}, p.Stats())
		release.open()
		require.NoError(t, waiter.result(t).err)
		// A group loses nothing: its rejected submissions reach Wait,
		// the first one first.
		requirePoolErr(t, g.Wait(), pool.ErrNilJob)
	})
}

// A weight above the limit fails fast on an idle pool with no bound on
// waiting, where waiting would otherwise be allowed.
func TestWeightAboveLimitFailsFastOnIdlePool(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, 3)
		c := goSubmit(context.Background(), p, job.Func(func(context.Context) error { return nil }), job.WithWeight(4))
		require.True(t, c.returned(), "Submit with weight above the limit parked")
		requirePoolErr(t, c.got.err, pool.ErrWeightExceedsLimit)
		d := goDo(context.Background(), p, job.Func(func(context.Context) error { return nil }), job.WithWeight(4))
		require.True(t, d.returned(), "Do with weight above the limit parked")
		requirePoolErr(t, d.got, pool.ErrWeightExceedsLimit)
		assertStats(t, pool.Stats{Limit: 3}, p.Stats())
	})
}

// A ctx already done makes every entry point return ctx.Err() itself,
// without running the job or holding anything, even with capacity free.
func TestSubmitWithDoneCtxReturnsCtxErrUnchanged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, 2)
		var ran atomic.Int32
		j := job.Func(func(context.Context) error { ran.Add(1); return nil })

		custom := newCustomCtx()
		custom.end(errCustom)
		canceled, cancel := context.WithCancel(context.Background())
		cancel()
		expired, cancel2 := context.WithTimeout(context.Background(), time.Second)
		defer cancel2()
		time.Sleep(2 * time.Second)

		for _, ctx := range []context.Context{custom, canceled, expired} {
			want := ctx.Err()
			_, err := p.Submit(ctx, j)
			requireUnchanged(t, want, err)
			_, err = p.TrySubmit(ctx, j)
			requireUnchanged(t, want, err)
			_, err = p.Go(ctx, j)
			requireUnchanged(t, want, err)
			requireUnchanged(t, want, p.Spawn(ctx, j))
			_, err = pool.SubmitResult(ctx, p, func(context.Context) (int, error) { ran.Add(1); return 0, nil })
			requireUnchanged(t, want, err)
			requireUnchanged(t, want, p.Do(ctx, j))

			g, gctx := p.Group(ctx)
			_, err = g.Submit(j)
			requireUnchanged(t, gctx.Err(), err)
			requireUnchanged(t, gctx.Err(), g.Wait()) // never a silent nil
		}
		synctest.Wait()
		assert.Zero(t, ran.Load())
		assertStats(t, pool.Stats{Limit: 2}, p.Stats())
	})
}

// A submitter whose ctx ends while it waits gets ctx.Err() itself and
// leaves nothing held or waiting behind.
func TestSubmitCtxEndsWhileWaiting(t *testing.T) {
	for _, tt := range []struct {
		name string
		call func(ctx context.Context, p *pool.Pool, j job.Func) error
	}{
		{"Submit", func(ctx context.Context, p *pool.Pool, j job.Func) error { _, err := p.Submit(ctx, j); return err }},
		{"Go", func(ctx context.Context, p *pool.Pool, j job.Func) error { _, err := p.Go(ctx, j); return err }},
		{"SubmitResult", func(ctx context.Context, p *pool.Pool, j job.Func) error {
			_, err := pool.SubmitResult(ctx, p, func(ctx context.Context) (int, error) { return 1, j(ctx) })
			return err
		}},
		{"Do", func(ctx context.Context, p *pool.Pool, j job.Func) error { return p.Do(ctx, j) }},
		{"Spawn", func(ctx context.Context, p *pool.Pool, j job.Func) error { return p.Spawn(ctx, j) }},
		{"Group.Submit", func(ctx context.Context, p *pool.Pool, j job.Func) error {
			g, _ := p.Group(ctx)
			_, err := g.Submit(j)
			if werr := g.Wait(); werr != nil {
				return werr
			}
			return err
		}},
	} {
		t.Run(tt.name+"/cancel", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := mustNew(t, 2)
				release := newLatch(t)
				_, err := p.Submit(context.Background(), holder(nil, release), job.WithWeight(2))
				require.NoError(t, err)

				var ran atomic.Int32
				ctx := newCustomCtx()
				c := goCall(func() error { return tt.call(ctx, p, func(context.Context) error { ran.Add(1); return nil }) })
				requireBlocked(t, c)
				assertStats(t, pool.Stats{Limit: 2, InUse: 2, Running: 1, Waiting: 1, Submitted: 1}, p.Stats())

				ctx.end(errCustom)
				synctest.Wait()
				require.True(t, c.returned(), "still waiting after its ctx ended")
				requireUnchanged(t, errCustom, c.got)
				assertStats(t, pool.Stats{Limit: 2, InUse: 2, Running: 1, Waiting: 0, Submitted: 1}, p.Stats())

				release.open()
				p.Wait()
				assertStats(t, pool.Stats{Limit: 2, Submitted: 1, Succeeded: 1}, p.Stats())
				// The full limit is free: the waiter kept nothing.
				h, err := p.TrySubmit(context.Background(), job.Func(func(context.Context) error { return nil }), job.WithWeight(2))
				require.NoError(t, err)
				require.NoError(t, waitHandle(t, h))
				assert.Zero(t, ran.Load(), "the job of a submitter whose ctx ended ran")
			})
		})
		t.Run(tt.name+"/deadline", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := mustNew(t, 1)
				release := newLatch(t)
				_, err := p.Submit(context.Background(), holder(nil, release))
				require.NoError(t, err)

				start := time.Now()
				ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
				defer cancel()
				var ran atomic.Int32
				c := goCall(func() error { return tt.call(ctx, p, func(context.Context) error { ran.Add(1); return nil }) })
				requireBlocked(t, c)
				requireUnchanged(t, context.DeadlineExceeded, c.result(t))
				assert.Equal(t, 1500*time.Millisecond, time.Since(start))
				assertStats(t, pool.Stats{Limit: 1, InUse: 1, Running: 1, Submitted: 1}, p.Stats())
				release.open()
				p.Wait()
				assert.Zero(t, ran.Load())
			})
		})
	}
}

// When the waiter at the head of the queue gives up, the ones behind it
// that now fit are admitted at once.
func TestWaiterLeavingAdmitsWaitersBehindIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		p := mustNew(t, 3)
		release := newLatch(t)
		_, err := p.Submit(ctx, holder(nil, release), job.WithWeight(2))
		require.NoError(t, err)

		headCtx, cancelHead := context.WithCancel(ctx)
		var started atomic.Int32
		head := goSubmit(headCtx, p, holder(&started, release), job.WithWeight(2))
		behind := goSubmit(ctx, p, holder(&started, release), job.WithWeight(1))
		requireBlocked(t, head, behind) // 1 is free, but FIFO keeps it for the head

		cancelHead()
		synctest.Wait()
		require.True(t, head.returned())
		requireUnchanged(t, context.Canceled, head.got.err)
		require.True(t, behind.returned(), "the waiter behind was not admitted when the head left")
		require.NoError(t, behind.got.err)
		assert.Equal(t, int32(1), started.Load())
		assertStats(t, pool.Stats{Limit: 3, InUse: 3, Running: 2, Submitted: 2}, p.Stats())
		release.open()
	})
}

// ---------------------------------------------------------------------------
// Limit and fairness.

func TestPeakConcurrencyEqualsLimit(t *testing.T) {
	for _, tt := range []struct {
		limit int64
		jobs  int
	}{
		{1, 10}, {3, 10}, {4, 10}, {10, 10}, {16, 10},
	} {
		for _, concurrent := range []bool{false, true} {
			t.Run(fmt.Sprintf("limit=%d/jobs=%d/concurrent=%t", tt.limit, tt.jobs, concurrent), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					ctx := context.Background()
					p := mustNew(t, tt.limit)
					var g gauge
					start := time.Now()
					var wg sync.WaitGroup
					for range tt.jobs {
						submit := func() {
							_, err := p.Submit(ctx, sleeper(&g, 1, time.Second))
							assert.NoError(t, err)
						}
						if concurrent {
							wg.Go(submit)
						} else {
							submit()
						}
					}
					wg.Wait()
					p.Wait()
					rounds := (int64(tt.jobs) + tt.limit - 1) / tt.limit
					assert.Equal(t, time.Duration(rounds)*time.Second, time.Since(start), "total time")
					assert.Equal(t, min(tt.limit, int64(tt.jobs)), g.peak.Load(), "peak concurrency")
					assertStats(t, pool.Stats{Limit: tt.limit, Submitted: uint64(tt.jobs), Succeeded: uint64(tt.jobs)}, p.Stats())
				})
			})
		}
	}
}

func TestSubmitAdmitsWaitersInFIFOOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		p := mustNew(t, 1)
		release := newLatch(t)
		_, err := p.Submit(ctx, holder(nil, release))
		require.NoError(t, err)

		var order recorder[int]
		var calls []*call[submitted]
		const n = 8
		for i := range n {
			j := job.Func(func(context.Context) error {
				order.add(i)
				time.Sleep(time.Second)
				return nil
			})
			// Alternate the entry points: they share one queue.
			if i%2 == 0 {
				calls = append(calls, goSubmit(ctx, p, j))
			} else {
				calls = append(calls, goCall(func() submitted { return submitted{err: p.Do(ctx, j)} }))
			}
			requireBlocked(t, calls...)
		}
		assert.Equal(t, int64(n), p.Stats().Waiting)
		start := time.Now()
		release.open()
		for _, c := range calls {
			require.NoError(t, c.result(t).err)
		}
		p.Wait()
		assert.Equal(t, []int{0, 1, 2, 3, 4, 5, 6, 7}, order.all())
		assert.Equal(t, n*time.Second, time.Since(start))
	})
}

// A waiter at the head of the queue blocks lighter waiters behind it even
// when their weight is free.
func TestSubmitWaiterBlocksLighterWaitersBehindIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		p := mustNew(t, 4)
		releaseA, releaseB, releaseRest := newLatch(t), newLatch(t), newLatch(t)
		_, err := p.Submit(ctx, holder(nil, releaseA), job.WithWeight(3))
		require.NoError(t, err)
		_, err = p.Submit(ctx, holder(nil, releaseB), job.WithWeight(1))
		require.NoError(t, err)

		var started atomic.Int32
		heavy := goSubmit(ctx, p, holder(&started, releaseRest), job.WithWeight(2))
		light := goSubmit(ctx, p, holder(&started, releaseRest), job.WithWeight(1))
		requireBlocked(t, heavy, light)

		releaseB.open() // 1 free: not enough for the head, and the light one must not pass it
		requireBlocked(t, heavy, light)
		assertStats(t, pool.Stats{Limit: 4, InUse: 3, Running: 1, Waiting: 2, Submitted: 2, Succeeded: 1}, p.Stats())
		_, err = p.TrySubmit(ctx, job.Func(func(context.Context) error { return nil }))
		requirePoolErr(t, err, pool.ErrFull)

		releaseA.open()
		synctest.Wait()
		require.True(t, heavy.returned())
		require.True(t, light.returned())
		require.NoError(t, heavy.got.err)
		require.NoError(t, light.got.err)
		assert.Equal(t, int32(2), started.Load())
		assert.Equal(t, int64(3), p.Stats().InUse)
		releaseRest.open()
	})
}

// The weights of the jobs running never add up to more than the limit.
func TestWeightedMixNeverExceedsLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		const limit = 6
		p := mustNew(t, limit)
		weights := []int64{1, 6, 2, 3, 1, 5, 4, 2, 2, 1, 6, 3, 1, 1, 4, 2, 5, 1, 3, 3}
		var g gauge
		var over atomic.Int32
		var wg sync.WaitGroup
		for i, w := range weights {
			d := time.Duration(i%3+1) * 500 * time.Millisecond
			wg.Go(func() {
				_, err := p.Submit(ctx, job.Func(func(ctx context.Context) error {
					g.enter(w)
					defer g.exit(w)
					if s := p.Stats(); s.InUse > s.Limit {
						over.Add(1)
					}
					time.Sleep(d)
					return nil
				}), job.WithWeight(w))
				assert.NoError(t, err)
			})
		}
		wg.Wait()
		p.Wait()
		assert.LessOrEqual(t, g.peak.Load(), int64(limit))
		assert.Equal(t, int64(limit), g.peak.Load(), "a weight-6 job runs alone at the limit")
		assert.Zero(t, over.Load(), "Stats.InUse above Limit")
		n := uint64(len(weights))
		assertStats(t, pool.Stats{Limit: limit, Submitted: n, Succeeded: n}, p.Stats())
	})
}

// A job that needs the whole limit is admitted in its turn even while a
// stream of light jobs would keep some weight in use. The stream is finite,
// so that a starved heavy job shows up as a late start, not a hang.
func TestHeavyJobNotStarvedByLightJobs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		p := mustNew(t, 4)
		var g gauge
		var feeders sync.WaitGroup
		for range 8 {
			feeders.Go(func() {
				for range 10 {
					if _, err := p.Submit(ctx, sleeper(&g, 1, time.Second)); err != nil {
						return
					}
				}
			})
		}
		start := time.Now()
		time.Sleep(500 * time.Millisecond)
		// 4 light jobs run and 8 feeders wait ahead of the heavy job: it
		// must be admitted after two rounds of light jobs, at 3s, not
		// once the 80 light jobs are done (20s).
		var heavyAt atomic.Int64
		heavy := goSubmit(ctx, p, job.Func(func(context.Context) error {
			heavyAt.Store(int64(time.Since(start)))
			g.enter(4)
			defer g.exit(4)
			time.Sleep(time.Second)
			return nil
		}), job.WithWeight(4))
		s := heavy.result(t)
		require.NoError(t, s.err)
		require.NoError(t, waitHandle(t, s.h))
		assert.Equal(t, 3*time.Second, time.Duration(heavyAt.Load()), "when the heavy job started")
		cancel()
		feeders.Wait()
		p.Wait()
		assert.Equal(t, int64(4), g.peak.Load())
	})
}

// ---------------------------------------------------------------------------
// TrySubmit, Go, SubmitResult, Do.

func TestTrySubmit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		p := mustNew(t, 3)
		var ran atomic.Int32
		j := job.Func(func(context.Context) error { ran.Add(1); return errJob })

		// Free weight: admitted and run.
		h, err := p.TrySubmit(ctx, j, job.WithName("try"))
		require.NoError(t, err)
		requireUnchanged(t, errJob, waitHandle(t, h))
		assert.Equal(t, "try", h.Name())
		assert.Equal(t, int32(1), ran.Load())

		release := newLatch(t)
		_, err = p.TrySubmit(ctx, holder(nil, release), job.WithWeight(2))
		require.NoError(t, err)
		synctest.Wait()
		before := p.Stats()

		// Not enough free weight: ErrFull at once.
		c := goCall(func() error { _, err := p.TrySubmit(ctx, j, job.WithWeight(2)); return err })
		require.True(t, c.returned(), "TrySubmit waited")
		requirePoolErr(t, c.got, pool.ErrFull)
		assert.Equal(t, before, p.Stats(), "a refused TrySubmit changed Stats")

		// Enough free weight, but someone waits for it: ErrFull.
		waiter := goSubmit(ctx, p, holder(nil, release), job.WithWeight(2))
		requireBlocked(t, waiter)
		_, err = p.TrySubmit(ctx, j, job.WithWeight(1))
		requirePoolErr(t, err, pool.ErrFull)

		release.open()
		require.NoError(t, waiter.result(t).err)
		p.Wait()
		h, err = p.TrySubmit(ctx, j, job.WithWeight(3))
		require.NoError(t, err)
		requireUnchanged(t, errJob, waitHandle(t, h))
		assert.Equal(t, int32(2), ran.Load())
		assertStats(t, pool.Stats{Limit: 3, Submitted: 4, Succeeded: 2, Failed: 2}, p.Stats())
	})
}

func TestGoRunsFunctionWithOptions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, 3)
		var info job.Info
		var inUse int64
		h, err := p.Go(context.Background(), func(ctx context.Context) error {
			info, _ = job.FromContext(ctx)
			inUse = p.Stats().InUse
			return errJob
		}, job.WithName("go-job"), job.WithWeight(2))
		require.NoError(t, err)
		requireUnchanged(t, errJob, waitHandle(t, h))
		assert.Equal(t, job.Info{ID: h.ID(), Name: "go-job", Weight: 2}, info)
		assert.Equal(t, int64(2), inUse)
		assert.Equal(t, job.Failed, h.State())
	})
}

func TestSubmitResultReturnsValueAndError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		p := mustNew(t, 2)

		r, err := pool.SubmitResult(ctx, p, func(context.Context) (int, error) {
			time.Sleep(time.Second)
			return 42, nil
		})
		require.NoError(t, err)
		v, err := r.Wait()
		assert.NoError(t, err)
		assert.Equal(t, 42, v)
		assert.Equal(t, job.Succeeded, r.State())

		// Both the value and the error come back.
		rs, err := pool.SubmitResult(ctx, p, func(ctx context.Context) (string, error) {
			return "partial:" + job.NameFrom(ctx), errJob
		}, job.WithName("fetch"))
		require.NoError(t, err)
		s, err := rs.Wait()
		requireUnchanged(t, errJob, err)
		assert.Equal(t, "partial:fetch", s)
		assert.Equal(t, "fetch", rs.Name())

		// A panic gives the zero value and a *job.PanicError.
		rp, err := pool.SubmitResult(ctx, p, func(context.Context) (int, error) { panic("no value") })
		require.NoError(t, err)
		v, err = rp.Wait()
		var pe *job.PanicError
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, "no value", pe.Value)
		assert.Zero(t, v)

		// It is a handle: Cancel reaches the running function's ctx.
		rc, err := pool.SubmitResult(ctx, p, func(ctx context.Context) (int, error) {
			<-ctx.Done()
			return 7, ctx.Err()
		})
		require.NoError(t, err)
		synctest.Wait()
		rc.Cancel()
		v, err = rc.Wait()
		requireUnchanged(t, context.Canceled, err)
		assert.Equal(t, 7, v)
		assert.Equal(t, job.Canceled, rc.State())
		assertStats(t, pool.Stats{Limit: 2, Submitted: 4, Succeeded: 1, Failed: 1, Panicked: 1, Canceled: 1}, p.Stats())
	})
}

func TestDoRunsInCallerGoroutineWithCtxUnchanged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, 2)
		type key struct{}
		ctx := context.WithValue(context.Background(), key{}, "v")
		me := goid()
		var ranOn uint64
		var got context.Context
		err := p.Do(ctx, job.Func(func(c context.Context) error {
			ranOn, got = goid(), c
			return errJob
		}), job.WithName("named"))
		requireUnchanged(t, errJob, err)
		assert.Equal(t, me, ranOn, "Do ran j on another goroutine")
		assert.True(t, got == ctx, "j did not receive ctx unchanged")
		_, ok := job.FromContext(got)
		assert.False(t, ok, "job.FromContext names a Do job")

		require.NoError(t, p.Do(ctx, job.Func(func(context.Context) error { return nil })))
		assertStats(t, pool.Stats{Limit: 2, Submitted: 2, Succeeded: 1, Failed: 1}, p.Stats())
	})
}

// Do and Submit share one limit.
func TestDoRespectsLimitTogetherWithSubmittedJobs(t *testing.T) {
	t.Run("blocks", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx := context.Background()
			p := mustNew(t, 2)
			r1, r2 := newLatch(t), newLatch(t)
			_, err := p.Submit(ctx, holder(nil, r1))
			require.NoError(t, err)
			_, err = p.Submit(ctx, holder(nil, r2))
			require.NoError(t, err)

			var ran atomic.Int32
			releaseDo := newLatch(t)
			d := goDo(ctx, p, holder(&ran, releaseDo))
			requireBlocked(t, d)
			assert.Zero(t, ran.Load())
			assert.Equal(t, int64(1), p.Stats().Waiting)

			r1.open()
			synctest.Wait()
			assert.Equal(t, int32(1), ran.Load(), "Do did not run when weight was freed")
			// A Do call shows in InUse, and is counted once it returns.
			assertStats(t, pool.Stats{Limit: 2, InUse: 2, Running: 1, Submitted: 2, Succeeded: 1}, p.Stats())
			// The Do job holds its weight: a Submit now waits.
			s := goSubmit(ctx, p, job.Func(func(context.Context) error { return nil }))
			requireBlocked(t, s)
			releaseDo.open()
			require.NoError(t, d.result(t))
			require.NoError(t, s.result(t).err)
			r2.open()
		})
	})
	t.Run("peak", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx := context.Background()
			p := mustNew(t, 3)
			var g gauge
			var wg sync.WaitGroup
			start := time.Now()
			for i := range 12 {
				wg.Go(func() {
					if i%2 == 0 {
						assert.NoError(t, p.Do(ctx, sleeper(&g, 1, time.Second)))
					} else {
						_, err := p.Submit(ctx, sleeper(&g, 1, time.Second))
						assert.NoError(t, err)
					}
				})
			}
			wg.Wait()
			p.Wait()
			assert.Equal(t, int64(3), g.peak.Load())
			assert.Equal(t, 4*time.Second, time.Since(start))
		})
	})
}

func TestDoPanicPropagatesAndReleasesWeight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, 1)
		boom := errors.New("boom")
		var recovered any
		func() {
			defer func() { recovered = recover() }()
			_ = p.Do(context.Background(), job.Func(func(context.Context) error { panic(boom) }))
		}()
		assert.Same(t, boom, recovered, "the panic must continue up the caller's stack as it was")
		assertStats(t, pool.Stats{Limit: 1, Submitted: 1, Panicked: 1}, p.Stats())
		h, err := p.TrySubmit(context.Background(), job.Func(func(context.Context) error { return nil }))
		require.NoError(t, err, "the weight of the panicking Do was not given back")
		require.NoError(t, waitHandle(t, h))
	})
}

// ---------------------------------------------------------------------------
// Panics, Goexit, cancellation, identity.

func TestPanickingJobReturnsPanicErrorAndPoolKeepsWorking(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		p := mustNew(t, 1)
		boom := errors.New("boom")

		h, err := p.Submit(ctx, job.Func(func(context.Context) error { panic(boom) }))
		require.NoError(t, err)
		err = waitHandle(t, h)
		var pe *job.PanicError
		require.ErrorAs(t, err, &pe)
		assert.ErrorIs(t, err, job.ErrPanic)
		assert.ErrorIs(t, err, boom)
		assert.Same(t, boom, pe.Value)
		assert.Contains(t, string(pe.Stack), "pool_test.go")
		assert.Equal(t, job.Panicked, h.State())

		h2, err := p.Submit(ctx, job.Func(func(context.Context) error { panic("kaboom") }))
		require.NoError(t, err)
		err = waitHandle(t, h2)
		require.ErrorAs(t, err, &pe)
		assert.ErrorIs(t, err, job.ErrPanic)
		assert.Equal(t, "kaboom", pe.Value)

		assertStats(t, pool.Stats{Limit: 1, Submitted: 2, Panicked: 2}, p.Stats())
		// The weight came back and the pool keeps working.
		h3, err := p.TrySubmit(ctx, job.Func(func(context.Context) error { return nil }))
		require.NoError(t, err)
		require.NoError(t, waitHandle(t, h3))
		assertStats(t, pool.Stats{Limit: 1, Submitted: 3, Succeeded: 1, Panicked: 2}, p.Stats())
	})
}

func TestGoexitInJobReturnsErrGoexitAndReleasesWeight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		p := mustNew(t, 1)
		h, err := p.Submit(ctx, job.Func(func(context.Context) error {
			runtime.Goexit()
			return nil
		}))
		require.NoError(t, err)
		assert.ErrorIs(t, waitHandle(t, h), job.ErrGoexit)
		assert.Equal(t, job.Failed, h.State())
		assertStats(t, pool.Stats{Limit: 1, Submitted: 1, Failed: 1}, p.Stats())

		h2, err := p.TrySubmit(ctx, job.Func(func(context.Context) error { return nil }))
		require.NoError(t, err, "the weight of the job that called Goexit was not given back")
		require.NoError(t, waitHandle(t, h2))
	})
}

func TestHandleCancelCancelsRunningJobCtx(t *testing.T) {
	for _, tt := range []struct {
		name string
		run  job.Func
	}{
		{"select on Done", func(ctx context.Context) error {
			<-ctx.Done()
			return ctx.Err()
		}},
		{"poll Err", func(ctx context.Context) error {
			for ctx.Err() == nil {
				time.Sleep(100 * time.Millisecond)
			}
			return ctx.Err()
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				p := mustNew(t, 1)
				h, err := p.Submit(ctx, tt.run)
				require.NoError(t, err)
				time.Sleep(time.Second)
				synctest.Wait()
				assert.Equal(t, job.Running, h.State())
				h.Cancel()
				requireUnchanged(t, context.Canceled, waitHandle(t, h))
				assert.Equal(t, job.Canceled, h.State())
				assertStats(t, pool.Stats{Limit: 1, Submitted: 1, Canceled: 1}, p.Stats())
				assert.NoError(t, ctx.Err())
			})
		})
	}
}

func TestJobCtxCarriesSubmitterValuesDeadlineAndCancellation(t *testing.T) {
	type key struct{}
	t.Run("values and deadline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := mustNew(t, 1)
			start := time.Now()
			dl := start.Add(5 * time.Second)
			ctx, cancel := context.WithDeadline(context.WithValue(context.Background(), key{}, "v"), dl)
			defer cancel()
			var value any
			var gotDl time.Time
			var hasDl bool
			var endedAt time.Duration
			h, err := p.Submit(ctx, job.Func(func(ctx context.Context) error {
				value = ctx.Value(key{})
				gotDl, hasDl = ctx.Deadline()
				<-ctx.Done()
				endedAt = time.Since(start)
				return ctx.Err()
			}))
			require.NoError(t, err)
			requireUnchanged(t, context.DeadlineExceeded, waitHandle(t, h))
			assert.Equal(t, "v", value)
			assert.True(t, hasDl)
			assert.Equal(t, dl, gotDl)
			assert.Equal(t, 5*time.Second, endedAt)
			assert.Equal(t, job.Canceled, h.State())
		})
	})
	for _, poll := range []bool{false, true} {
		t.Run(fmt.Sprintf("cancel/poll=%t", poll), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := mustNew(t, 1)
				ctx, cancel := context.WithCancel(context.Background())
				h, err := p.Submit(ctx, job.Func(func(ctx context.Context) error {
					if poll {
						for ctx.Err() == nil {
							time.Sleep(10 * time.Millisecond)
						}
					} else {
						<-ctx.Done()
					}
					return ctx.Err()
				}))
				require.NoError(t, err)
				time.Sleep(time.Second)
				assert.Equal(t, job.Running, h.State())
				cancel()
				requireUnchanged(t, context.Canceled, waitHandle(t, h))
				assertStats(t, pool.Stats{Limit: 1, Submitted: 1, Canceled: 1}, p.Stats())
			})
		})
	}
}

func TestJobCtxNamesTheJob(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		p := mustNew(t, 4)
		_, ok := job.FromContext(ctx)
		assert.False(t, ok)
		assert.Empty(t, job.NameFrom(ctx))

		type seen struct {
			info job.Info
			ok   bool
			name string
		}
		look := func(out *seen) func(ctx context.Context) error {
			return func(ctx context.Context) error {
				out.info, out.ok = job.FromContext(ctx)
				out.name = job.NameFrom(ctx)
				return nil
			}
		}
		var named, unnamed, viaGo, viaResult seen
		h1, err := p.Submit(ctx, job.Func(look(&named)), job.WithName("alpha"), job.WithWeight(2))
		require.NoError(t, err)
		h2, err := p.Submit(ctx, job.Func(look(&unnamed)))
		require.NoError(t, err)
		h3, err := p.Go(ctx, look(&viaGo), job.WithName("beta"))
		require.NoError(t, err)
		r4, err := pool.SubmitResult(ctx, p, func(ctx context.Context) (int, error) { return 0, look(&viaResult)(ctx) })
		require.NoError(t, err)
		for _, h := range []*job.Handle{h1, h2, h3, &r4.Handle} {
			require.NoError(t, waitHandle(t, h))
		}

		assert.Equal(t, seen{job.Info{ID: h1.ID(), Name: "alpha", Weight: 2}, true, "alpha"}, named)
		assert.Equal(t, "alpha", h1.Name())
		def := "job-" + strconv.FormatUint(h2.ID(), 10)
		assert.Equal(t, seen{job.Info{ID: h2.ID(), Name: def, Weight: 1}, true, def}, unnamed)
		assert.Equal(t, def, h2.Name())
		assert.Equal(t, seen{job.Info{ID: h3.ID(), Name: "beta", Weight: 1}, true, "beta"}, viaGo)
		def4 := "job-" + strconv.FormatUint(r4.ID(), 10)
		assert.Equal(t, seen{job.Info{ID: r4.ID(), Name: def4, Weight: 1}, true, def4}, viaResult)

		ids := []uint64{h1.ID(), h2.ID(), h3.ID(), r4.ID()}
		slices.Sort(ids)
		assert.Len(t, slices.Compact(ids), 4, "job IDs must be unique")
	})
}

func TestConcurrentWaitsOnOneHandleReturnSameError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, 1)
		jobErr := fmt.Errorf("wrapped: %w", errJob)
		h, err := p.Submit(context.Background(), job.Func(func(context.Context) error {
			time.Sleep(time.Second)
			return jobErr
		}))
		require.NoError(t, err)
		const n = 32
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { errs[i] = h.Wait() })
		}
		synctest.Wait()
		assert.Nil(t, h.Err(), "Err before the job finished")
		wg.Wait()
		for i, err := range errs {
			assert.Truef(t, err == jobErr, "Wait #%d returned %v", i, err)
		}
		assert.True(t, h.Err() == jobErr)
		assert.True(t, h.Wait() == jobErr)
	})
}

// A job that submits to its own full pool with a bounded ctx gets the
// ctx's error instead of deadlocking.
func TestJobSubmittingToItsOwnFullPoolGetsDeadlineExceeded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, 1)
		start := time.Now()
		var innerErr error
		var innerRan atomic.Bool
		h, err := p.Submit(context.Background(), job.Func(func(ctx context.Context) error {
			ictx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			ih, err := p.Submit(ictx, job.Func(func(context.Context) error { innerRan.Store(true); return nil }))
			innerErr = err
			if ih != nil {
				return ih.Wait()
			}
			return nil
		}))
		require.NoError(t, err)
		require.NoError(t, waitHandle(t, h))
		requireUnchanged(t, context.DeadlineExceeded, innerErr)
		assert.Equal(t, 2*time.Second, time.Since(start))
		assert.False(t, innerRan.Load())
		assertStats(t, pool.Stats{Limit: 1, Submitted: 1, Succeeded: 1}, p.Stats())
	})
}

// A job's weight is given back before its handle resolves: a caller
// returning from Wait finds the capacity free.
func TestWeightFreeWhenWaitReturns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		p := mustNew(t, 2)
		for i := range 200 {
			var h *job.Handle
			var err error
			if i%2 == 0 {
				h, err = p.TrySubmit(ctx, job.Func(func(context.Context) error { return nil }), job.WithWeight(2))
			} else {
				h, err = p.Go(ctx, func(context.Context) error { panic("still gives back") }, job.WithWeight(2))
			}
			require.NoErrorf(t, err, "round %d: the previous job's weight was not free when its Wait returned", i)
			_ = h.Wait()
			require.Zero(t, p.Stats().InUse, "round %d", i)
		}
	})
}

// Once a job's handle reports it finished (Wait returned, or State is
// final), Stats no longer counts it as running ("jobs admitted and not yet
// finished"). Polling State catches the moment the handle resolves.
func TestStatsRunningExcludesResolvedJobs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		p := mustNew(t, 1)
		for i := range 2000 {
			h, err := p.Submit(ctx, job.Func(func(context.Context) error { return nil }))
			require.NoError(t, err)
			if i%2 == 0 {
				for !h.State().Final() {
					if runtime.GOMAXPROCS(0) == 1 {
						runtime.Gosched()
					} // else spin: the job runs on another P
				}
			} else {
				require.NoError(t, h.Wait())
			}
			st := p.Stats()
			require.Zerof(t, st.Running, "round %d: Running counts a job whose handle has resolved: %+v", i, st)
			require.Equalf(t, st.Submitted, st.Finished(), "round %d", i)
		}
	})
}

// ---------------------------------------------------------------------------
// Wait and Stats.

func TestPoolWaitJoinsEverySubmittedJob(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		p := mustNew(t, 3)
		start := time.Now()
		p.Wait() // nothing submitted: returns at once
		assert.Zero(t, time.Since(start))

		var hs []*job.Handle
		for _, d := range []time.Duration{3, 1, 2, 1, 1} {
			h, err := p.Submit(ctx, job.Func(func(context.Context) error {
				time.Sleep(d * time.Second)
				return errJob
			}))
			require.NoError(t, err)
			hs = append(hs, h)
		}
		// Job 4 runs from 1s to 2s and job 5 from 2s to 3s, both
		// waiting for weight first: everything is done at 3s, with job 1.
		var waiters sync.WaitGroup
		var late atomic.Int32
		for range 4 {
			waiters.Go(func() {
				p.Wait()
				for _, h := range hs {
					if !h.State().Final() {
						late.Add(1)
					}
				}
			})
		}
		p.Wait()
		assert.Equal(t, 3*time.Second, time.Since(start))
		for i, h := range hs {
			assert.Truef(t, h.State().Final(), "job %d not finished when Wait returned", i)
		}
		waiters.Wait()
		assert.Zero(t, late.Load(), "a concurrent Wait returned before every job finished")

		// The pool stays open; a later Wait joins the later jobs.
		h, err := p.Submit(ctx, job.Func(func(context.Context) error { time.Sleep(time.Second); return nil }))
		require.NoError(t, err)
		p.Wait()
		assert.Equal(t, 4*time.Second, time.Since(start))
		assert.True(t, h.State().Final())
		assertStats(t, pool.Stats{Limit: 3, Submitted: 6, Succeeded: 1, Failed: 5}, p.Stats())
	})
}

func TestStatsGaugesAndOutcomeCounters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		p := mustNew(t, 3)
		release := newLatch(t)
		_, err := p.Submit(ctx, holder(nil, release), job.WithWeight(2))
		require.NoError(t, err)
		_, err = p.Submit(ctx, holder(nil, release), job.WithWeight(1))
		require.NoError(t, err)
		w1 := goSubmit(ctx, p, holder(nil, release), job.WithWeight(3))
		w2 := goDo(ctx, p, holder(nil, release))
		requireBlocked(t, w1)
		requireBlocked(t, w2)
		assertStats(t, pool.Stats{Limit: 3, InUse: 3, Running: 2, Waiting: 2, Submitted: 2}, p.Stats())
		release.open()
		require.NoError(t, w1.result(t).err)
		require.NoError(t, w2.result(t))
		p.Wait()
		assertStats(t, pool.Stats{Limit: 3, Submitted: 4, Succeeded: 4}, p.Stats())

		// One job of each outcome.
		var hs []*job.Handle
		submit := func(f job.Func) {
			h, err := p.Submit(ctx, f)
			require.NoError(t, err)
			hs = append(hs, h)
		}
		submit(func(context.Context) error { return nil })                         // succeeded
		submit(func(context.Context) error { return errJob })                      // failed
		submit(func(context.Context) error { runtime.Goexit(); return nil })       // failed
		submit(func(context.Context) error { panic("boom") })                      // panicked
		submit(func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }) // canceled by Cancel
		cctx, cancel := context.WithCancel(ctx)
		h, err := p.Submit(cctx, job.Func(func(ctx context.Context) error { <-ctx.Done(); return errJob })) // canceled by its submitter
		require.NoError(t, err)
		hs = append(hs, h)
		cctx2, cancel2 := context.WithCancel(ctx)
		h, err = p.Submit(cctx2, job.Func(func(ctx context.Context) error { <-ctx.Done(); return nil })) // returned nil after ctx ended: succeeded
		require.NoError(t, err)
		hs = append(hs, h)
		synctest.Wait()
		hs[4].Cancel()
		cancel()
		cancel2()
		for _, h := range hs {
			_ = waitHandle(t, h)
		}
		p.Wait()
		states := make([]job.State, len(hs))
		for i, h := range hs {
			states[i] = h.State()
		}
		assert.Equal(t, []job.State{job.Succeeded, job.Failed, job.Failed, job.Panicked, job.Canceled, job.Canceled, job.Succeeded}, states)
		st := p.Stats()
		assertStats(t, pool.Stats{Limit: 3, Submitted: 11, Succeeded: 6, Failed: 2, Panicked: 1, Canceled: 2}, st)
		assert.Equal(t, st.Submitted, st.Finished())
	})
}

func TestStatsFinishedSumsOutcomes(t *testing.T) {
	s := pool.Stats{Submitted: 20, Succeeded: 1, Failed: 2, Panicked: 4, Canceled: 8}
	assert.Equal(t, uint64(15), s.Finished())
	assert.Zero(t, pool.Stats{Submitted: 3}.Finished())
}

// While jobs run, Submitted minus Finished is the number in flight.
func TestStatsSubmittedMinusFinishedIsInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, 4)
		release := newLatch(t)
		for range 3 {
			_, err := p.Submit(context.Background(), holder(nil, release))
			require.NoError(t, err)
		}
		h, err := p.Submit(context.Background(), job.Func(func(context.Context) error { return nil }))
		require.NoError(t, err)
		require.NoError(t, waitHandle(t, h))
		st := p.Stats()
		assert.Equal(t, uint64(3), st.Submitted-st.Finished())
		assert.Equal(t, int64(3), st.Running)
		release.open()
	})
}

// ---------------------------------------------------------------------------
// Resize.

func TestResizeGrowAdmitsWaitersAtOnceInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		p := mustNew(t, 1)
		release := newLatch(t)
		_, err := p.Submit(ctx, holder(nil, release))
		require.NoError(t, err)
		var started [4]atomic.Int32
		var calls []*call[submitted]
		for i := range 4 {
			calls = append(calls, goSubmit(ctx, p, holder(&started[i], release)))
		}
		requireBlocked(t, calls...)

		require.NoError(t, p.Resize(3))
		synctest.Wait()
		assert.Equal(t, int64(3), p.Limit())
		for i, c := range calls {
			want := int32(0)
			if i < 2 { // the first two in the queue, not any two
				want = 1
			}
			require.Equalf(t, want == 1, c.returned(), "waiter %d admitted", i)
			assert.Equalf(t, want, started[i].Load(), "waiter %d started", i)
		}
		assertStats(t, pool.Stats{Limit: 3, InUse: 3, Running: 3, Waiting: 2, Submitted: 3}, p.Stats())

		require.NoError(t, p.Resize(10))
		synctest.Wait()
		for i, c := range calls {
			require.Truef(t, c.returned(), "waiter %d not admitted after growing to 10", i)
			require.NoError(t, c.got.err)
		}
		assertStats(t, pool.Stats{Limit: 10, InUse: 5, Running: 5, Submitted: 5}, p.Stats())
		release.open()
	})
}

func TestResizeShrinkKeepsRunningJobsAndAdmitsOnlyBelowNewLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		p := mustNew(t, 4)
		var releases [4]*latch
		var hs [4]*job.Handle
		var canceled atomic.Int32
		for i := range releases {
			releases[i] = newLatch(t)
			h, err := p.Submit(ctx, job.Func(func(ctx context.Context) error {
				select {
				case <-releases[i].ch:
					return nil
				case <-ctx.Done():
					canceled.Add(1)
					return ctx.Err()
				}
			}))
			require.NoError(t, err)
			hs[i] = h
		}
		require.NoError(t, p.Resize(2))
		synctest.Wait()
		assert.Equal(t, int64(2), p.Limit())
		assertStats(t, pool.Stats{Limit: 2, InUse: 4, Running: 4, Submitted: 4}, p.Stats())
		assert.Zero(t, canceled.Load(), "shrinking cancelled a running job")

		var started atomic.Int32
		last := newLatch(t)
		w := goSubmit(ctx, p, holder(&started, last))
		_, err := p.TrySubmit(ctx, job.Func(func(context.Context) error { return nil }))
		requirePoolErr(t, err, pool.ErrFull)

		releases[0].open() // in use 3
		requireBlocked(t, w)
		releases[1].open() // in use 2: not below the limit of 2
		requireBlocked(t, w)
		assertStats(t, pool.Stats{Limit: 2, InUse: 2, Running: 2, Waiting: 1, Submitted: 4, Succeeded: 2}, p.Stats())
		releases[2].open() // in use 1: the waiter fits
		synctest.Wait()
		require.True(t, w.returned(), "waiter not admitted once in use fell below the new limit")
		require.NoError(t, w.got.err)
		assert.Equal(t, int32(1), started.Load())
		assertStats(t, pool.Stats{Limit: 2, InUse: 2, Running: 2, Submitted: 5, Succeeded: 3}, p.Stats())
		releases[3].open()
		last.open()
		p.Wait()
		assert.Zero(t, canceled.Load())
		for _, h := range hs {
			assert.Equal(t, job.Succeeded, h.State())
		}
	})
}

func TestResizeFailsWaitersHeavierThanNewLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		p := mustNew(t, 4)
		release := newLatch(t)
		_, err := p.Submit(ctx, holder(nil, release), job.WithWeight(4))
		require.NoError(t, err)

		var ran atomic.Int32
		heavySubmit := goSubmit(ctx, p, holder(&ran, release), job.WithWeight(3))
		light := goSubmit(ctx, p, holder(&ran, release), job.WithWeight(1))
		heavyDo := goDo(ctx, p, holder(&ran, release), job.WithWeight(4))
		heavyResult := goCall(func() error {
			_, err := pool.SubmitResult(ctx, p, func(context.Context) (int, error) { ran.Add(1); return 0, nil }, job.WithWeight(3))
			return err
		})
		requireBlocked(t, heavySubmit, light)
		requireBlocked(t, heavyDo, heavyResult)
		assert.Equal(t, int64(4), p.Stats().Waiting)

		require.NoError(t, p.Resize(2))
		synctest.Wait()
		require.True(t, heavySubmit.returned(), "weight-3 Submit still waits under limit 2")
		requirePoolErr(t, heavySubmit.got.err, pool.ErrWeightExceedsLimit)
		require.True(t, heavyDo.returned(), "weight-4 Do still waits under limit 2")
		requirePoolErr(t, heavyDo.got, pool.ErrWeightExceedsLimit)
		require.True(t, heavyResult.returned(), "weight-3 SubmitResult still waits under limit 2")
		requirePoolErr(t, heavyResult.got, pool.ErrWeightExceedsLimit)
		requireBlocked(t, light)
		assertStats(t, pool.Stats{Limit: 2, InUse: 4, Running: 1, Waiting: 1, Submitted: 1}, p.Stats())

		// New heavy submissions fail fast, light ones fit after the holder.
		_, err = p.Submit(ctx, holder(&ran, release), job.WithWeight(3))
		requirePoolErr(t, err, pool.ErrWeightExceedsLimit)
		release.open()
		require.NoError(t, light.result(t).err)
		p.Wait()
		assert.Equal(t, int32(1), ran.Load(), "only the light waiter ran")

		require.NoError(t, p.Resize(4))
		h, err := p.Submit(ctx, job.Func(func(context.Context) error { return nil }), job.WithWeight(3))
		require.NoError(t, err)
		require.NoError(t, waitHandle(t, h))
	})
}

func TestResizeRejectsLimitBelowOne(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, 3)
		for _, limit := range []int64{0, -1, math.MinInt64} {
			requirePoolErr(t, p.Resize(limit), pool.ErrInvalidLimit)
			assert.Equal(t, int64(3), p.Limit())
			assert.Equal(t, int64(3), p.Stats().Limit)
		}
	})
}

func TestResizeDuringAndAfterShutdownReturnsErrClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, 2)
		release := newLatch(t)
		_, err := p.Submit(context.Background(), holder(nil, release))
		require.NoError(t, err)
		sd := goCall(func() error { return p.Shutdown(context.Background()) })
		requireBlocked(t, sd)
		requirePoolErr(t, p.Resize(5), pool.ErrClosed)
		release.open()
		require.NoError(t, sd.result(t))
		requirePoolErr(t, p.Resize(5), pool.ErrClosed)
		assert.Equal(t, int64(2), p.Limit())
	})
}

// ---------------------------------------------------------------------------
// WithMaxWaiting.

func TestWithMaxWaitingBoundsWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		p := mustNew(t, 1, pool.WithMaxWaiting(2))
		release := newLatch(t)
		_, err := p.Submit(ctx, holder(nil, release))
		require.NoError(t, err)

		var ran atomic.Int32
		w1 := goSubmit(ctx, p, holder(&ran, release))
		w2 := goDo(ctx, p, holder(&ran, release))
		requireBlocked(t, w1)
		requireBlocked(t, w2)

		// The bound is reached: turned away at once.
		for name, f := range map[string]func() error{
			"Submit": func() error { _, err := p.Submit(ctx, holder(&ran, release)); return err },
			"Go":     func() error { _, err := p.Go(ctx, holder(&ran, release)); return err },
			"Do":     func() error { return p.Do(ctx, holder(&ran, release)) },
			"SubmitResult": func() error {
				_, err := pool.SubmitResult(ctx, p, func(context.Context) (int, error) { ran.Add(1); return 0, nil })
				return err
			},
		} {
			c := goCall(f)
			require.Truef(t, c.returned(), "%s waited beyond WithMaxWaiting(2)", name)
			requirePoolErr(t, c.got, pool.ErrQueueFull)
		}
		_, err = p.TrySubmit(ctx, holder(&ran, release))
		requirePoolErr(t, err, pool.ErrFull)
		assertStats(t, pool.Stats{Limit: 1, InUse: 1, Running: 1, Waiting: 2, Submitted: 1}, p.Stats())

		// One waiter admitted: one more may wait.
		require.NoError(t, p.Resize(2))
		synctest.Wait()
		require.True(t, w1.returned())
		require.NoError(t, w1.got.err)
		w3 := goSubmit(ctx, p, holder(&ran, release))
		requireBlocked(t, w2)
		requireBlocked(t, w3)
		c := goCall(func() error { _, err := p.Submit(ctx, holder(&ran, release)); return err })
		require.True(t, c.returned())
		requirePoolErr(t, c.got, pool.ErrQueueFull)

		release.open()
		require.NoError(t, w2.result(t))
		require.NoError(t, w3.result(t).err)
		p.Wait()
		assert.Equal(t, int32(3), ran.Load())
		assertStats(t, pool.Stats{Limit: 2, Submitted: 4, Succeeded: 4}, p.Stats())
	})
}

func TestWithMaxWaitingZeroLetsNoOneWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		p := mustNew(t, 1, pool.WithMaxWaiting(0))
		release := newLatch(t)
		_, err := p.Submit(ctx, holder(nil, release)) // free weight: no waiting needed
		require.NoError(t, err)
		c := goSubmit(ctx, p, holder(nil, release))
		require.True(t, c.returned(), "Submit waited with WithMaxWaiting(0)")
		requirePoolErr(t, c.got.err, pool.ErrQueueFull)
		d := goDo(ctx, p, holder(nil, release))
		require.True(t, d.returned(), "Do waited with WithMaxWaiting(0)")
		requirePoolErr(t, d.got, pool.ErrQueueFull)
		assertStats(t, pool.Stats{Limit: 1, InUse: 1, Running: 1, Submitted: 1}, p.Stats())
		release.open()
		p.Wait()
		require.NoError(t, p.Do(ctx, job.Func(func(context.Context) error { return nil })))
	})
}

// ---------------------------------------------------------------------------
// Shutdown.

func TestShutdownWaitsForRunningJobs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, 2)
		start := time.Now()
		var ctxErrAtEnd error
		h, err := p.Submit(context.Background(), job.Func(func(ctx context.Context) error {
			time.Sleep(3 * time.Second)
			ctxErrAtEnd = ctx.Err()
			return nil
		}))
		require.NoError(t, err)
		require.NoError(t, p.Shutdown(context.Background()))
		assert.Equal(t, 3*time.Second, time.Since(start))
		assert.NoError(t, ctxErrAtEnd, "an unforced shutdown cancelled a running job")
		assert.Equal(t, job.Succeeded, h.State())
		assertStats(t, pool.Stats{Limit: 2, Submitted: 1, Succeeded: 1}, p.Stats())
	})
}

func TestSubmitDuringAndAfterShutdownReturnsErrClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		p := mustNew(t, 2)
		release := newLatch(t)
		_, err := p.Submit(ctx, holder(nil, release))
		require.NoError(t, err)
		g, _ := p.Group(ctx)

		var ran atomic.Int32
		j := job.Func(func(context.Context) error { ran.Add(1); return nil })
		check := func(when string) {
			t.Helper()
			_, err := p.Submit(ctx, j)
			requirePoolErr(t, err, pool.ErrClosed)
			_, err = p.TrySubmit(ctx, j)
			requirePoolErr(t, err, pool.ErrClosed)
			_, err = p.Go(ctx, j)
			requirePoolErr(t, err, pool.ErrClosed)
			_, err = pool.SubmitResult(ctx, p, func(context.Context) (int, error) { ran.Add(1); return 0, nil })
			requirePoolErr(t, err, pool.ErrClosed)
			requirePoolErr(t, p.Do(ctx, j), pool.ErrClosed)
			_, err = g.Submit(j)
			requirePoolErr(t, err, pool.ErrClosed)
		}

		sd := goCall(func() error { return p.Shutdown(ctx) })
		requireBlocked(t, sd) // shutdown has begun, a job still runs
		check("during shutdown")
		release.open()
		require.NoError(t, sd.result(t))
		check("after shutdown")
		assert.Zero(t, ran.Load())
		assertStats(t, pool.Stats{Limit: 2, Submitted: 1, Succeeded: 1}, p.Stats())
		requirePoolErr(t, g.Wait(), pool.ErrClosed) // its lost submissions
	})
}

// Submitters waiting for admission when shutdown begins get ErrClosed at
// once, without waiting for the running jobs, and Shutdown does not
// deadlock on them.
func TestShutdownWhileSubmitBlocked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		p := mustNew(t, 1)
		start := time.Now()
		_, err := p.Submit(ctx, job.Func(func(context.Context) error { time.Sleep(5 * time.Second); return nil }))
		require.NoError(t, err)

		var ran atomic.Int32
		j := job.Func(func(context.Context) error { ran.Add(1); return nil })
		g, _ := p.Group(ctx)
		waiters := []*call[error]{
			goCall(func() error { _, err := p.Submit(ctx, j); return err }),
			goCall(func() error { return p.Do(ctx, j) }),
			goCall(func() error { _, err := p.Go(ctx, j); return err }),
			goCall(func() error {
				_, err := pool.SubmitResult(ctx, p, func(context.Context) (int, error) { ran.Add(1); return 0, nil })
				return err
			}),
			goCall(func() error { _, err := g.Submit(j); return err }),
		}
		requireBlocked(t, waiters...)
		time.Sleep(time.Second)

		sd := goCall(func() error { return p.Shutdown(ctx) })
		for i, w := range waiters {
			require.Truef(t, w.returned(), "waiter %d still blocked after shutdown began", i)
			requirePoolErr(t, w.got, pool.ErrClosed)
		}
		assertStats(t, pool.Stats{Limit: 1, InUse: 1, Running: 1, Submitted: 1}, p.Stats())
		require.NoError(t, sd.result(t))
		assert.Equal(t, 5*time.Second, time.Since(start))
		assert.Zero(t, ran.Load())
		requirePoolErr(t, g.Wait(), pool.ErrClosed) // its lost submission
	})
}

// When Shutdown's ctx ends first, it cancels the running jobs' ctxs and
// returns ctx.Err() at once, as net/http's Server.Shutdown does; the
// jobs finish afterwards, keeping their weight until they do, and Wait
// and Close wait for them.
func TestShutdownDeadlineCancelsRunningJobs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, 3)
		start := time.Now()
		var sawDone recorder[time.Duration]
		var hs []*job.Handle
		for range 3 {
			h, err := p.Submit(context.Background(), job.Func(func(ctx context.Context) error {
				<-ctx.Done()
				sawDone.add(time.Since(start))
				time.Sleep(time.Second) // clean up
				return ctx.Err()
			}))
			require.NoError(t, err)
			hs = append(hs, h)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		err := p.Shutdown(ctx)
		requireUnchanged(t, context.DeadlineExceeded, err)
		assert.Equal(t, 2*time.Second, time.Since(start), "Shutdown must return at its deadline")
		synctest.Wait()
		assert.Equal(t, []time.Duration{2 * time.Second, 2 * time.Second, 2 * time.Second}, sawDone.all())
		// The stragglers still hold their weight and show in Stats.
		assertStats(t, pool.Stats{Limit: 3, InUse: 3, Running: 3, Submitted: 3}, p.Stats())
		require.NoError(t, p.Close()) // waits for them
		assert.Equal(t, 3*time.Second, time.Since(start))
		for _, h := range hs {
			assert.True(t, h.State().Final())
			assert.Equal(t, job.Canceled, h.State())
			assert.ErrorIs(t, h.Err(), context.Canceled)
		}
		assertStats(t, pool.Stats{Limit: 3, Submitted: 3, Canceled: 3}, p.Stats())
	})
}

// A job that ignores its ctx does not keep Shutdown past its deadline: it
// runs on, holding its weight, and the pool's goroutines are released when
// it returns.
func TestShutdownKeepsItsDeadlineWhenAJobIgnoresCtx(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, 1)
		start := time.Now()
		h, err := p.Submit(context.Background(), job.Func(func(context.Context) error {
			time.Sleep(time.Hour)
			return nil
		}))
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		requireUnchanged(t, context.DeadlineExceeded, p.Shutdown(ctx))
		assert.Equal(t, 10*time.Second, time.Since(start))
		assert.Equal(t, job.Running, h.State())
		assert.Equal(t, int64(1), p.Stats().InUse)
		p.Wait()
		assert.Equal(t, time.Hour, time.Since(start))
		assert.Equal(t, job.Succeeded, h.State())
		// No goroutine of the pool is left once the straggler returned:
		// the bubble would report it as a deadlock at its end.
	})
}

// A job may shut down its own pool with a deadline: Shutdown returns at
// the deadline, and the pool stops once the job returns.
func TestShutdownWithDeadlineFromInsideAJob(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, 2)
		start := time.Now()
		h, err := p.Submit(context.Background(), job.Func(func(ctx context.Context) error {
			sctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			return p.Shutdown(sctx)
		}))
		require.NoError(t, err)
		requireUnchanged(t, context.DeadlineExceeded, h.Wait())
		assert.Equal(t, time.Second, time.Since(start))
		require.NoError(t, p.Close())
	})
}

func TestShutdownIsIdempotent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, 1)
		h, err := p.Submit(context.Background(), job.Func(func(context.Context) error { time.Sleep(time.Second); return nil }))
		require.NoError(t, err)
		require.NoError(t, p.Close())
		assert.True(t, h.State().Final())
		require.NoError(t, p.Close())
		require.NoError(t, p.Shutdown(context.Background()))
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		require.NoError(t, p.Shutdown(ctx))
	})
}

// Every one of many concurrent Shutdown calls returns, and none before the
// pool has stopped.
func TestConcurrentShutdownsAllReturnOnceStopped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, 2)
		start := time.Now()
		var jobEnded atomic.Int64
		_, err := p.Submit(context.Background(), job.Func(func(context.Context) error {
			time.Sleep(2 * time.Second)
			jobEnded.Store(int64(time.Since(start)))
			return nil
		}))
		require.NoError(t, err)

		type ret struct {
			err error
			at  time.Duration
		}
		rets := make([]ret, 6)
		var wg sync.WaitGroup
		for i := range rets {
			wg.Go(func() {
				var err error
				switch i % 3 {
				case 0:
					err = p.Close()
				case 1:
					err = p.Shutdown(context.Background())
				case 2:
					ctx, cancel := context.WithTimeout(context.Background(), time.Second)
					defer cancel()
					err = p.Shutdown(ctx)
				}
				rets[i] = ret{err, time.Since(start)}
			})
		}
		wg.Wait()
		assert.Equal(t, int64(2*time.Second), jobEnded.Load())
		for i, r := range rets {
			want := 2 * time.Second
			if i%3 == 2 {
				want = time.Second // at its deadline
			}
			assert.Equalf(t, want, r.at, "Shutdown #%d", i)
			if i%3 == 2 {
				requireUnchanged(t, context.DeadlineExceeded, r.err)
			} else {
				assert.NoErrorf(t, r.err, "Shutdown #%d", i)
			}
		}
	})
}

func TestShutdownNilCtxReturnsErrNilContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, 1)
		var nilCtx context.Context
		requirePoolErr(t, p.Shutdown(nilCtx), pool.ErrNilContext)
		// It did not begin a shutdown.
		h, err := p.Submit(context.Background(), job.Func(func(context.Context) error { return nil }))
		require.NoError(t, err)
		require.NoError(t, waitHandle(t, h))
	})
}

// When Close returns, no goroutine of the pool remains.
func TestShutdownLeavesNoGoroutines(t *testing.T) {
	opt := goleak.IgnoreCurrent()
	p, err := pool.New(12)
	require.NoError(t, err)
	release := newLatch(t)
	var hs []*job.Handle
	for range 8 {
		h, err := p.Submit(context.Background(), job.Func(func(ctx context.Context) error {
			<-ctx.Done() // registers with the parent and base contexts
			return nil
		}))
		require.NoError(t, err)
		hs = append(hs, h)
	}
	for range 4 {
		_, err := p.Go(t.Context(), func(context.Context) error { <-release.ch; return nil })
		require.NoError(t, err)
	}
	for _, h := range hs {
		h.Cancel()
	}
	release.open()
	require.NoError(t, p.Close())
	goleak.VerifyNone(t, opt)
}

// Many goroutines submit while Shutdown runs: each Submit either fails with
// ErrClosed or returns a handle whose job runs to completion before
// Shutdown returns, and the counters balance.
func TestSubmitRacingShutdown(t *testing.T) {
	for _, limit := range []int64{1, 4, 64} {
		t.Run("limit="+strconv.FormatInt(limit, 10), func(t *testing.T) {
			// A short queue: the submitters also block on it, and
			// shutdown meets jobs queued and submitters waiting.
			p, err := pool.New(limit, pool.WithMaxQueued(int(limit)), quietPanics)
			require.NoError(t, err)
			ctx := context.Background()
			var ran, handles, doOK atomic.Int64
			var bad atomic.Int32
			j := job.Func(func(ctx context.Context) error {
				if ctx.Err() != nil {
					bad.Add(1)
				}
				runtime.Gosched()
				ran.Add(1)
				return nil
			})
			startLine := make(chan struct{})
			var submitters sync.WaitGroup
			var results recorder[*job.Handle]
			for i := range 16 {
				submitters.Go(func() {
					<-startLine
					for {
						var err error
						switch i % 4 {
						case 0, 1:
							var h *job.Handle
							if h, err = p.Submit(ctx, j); err == nil {
								handles.Add(1)
								results.add(h)
							}
						case 2:
							if err = p.Do(ctx, j); err == nil {
								doOK.Add(1)
							}
						case 3:
							var h *job.Handle
							if h, err = p.TrySubmit(ctx, j); err == nil {
								handles.Add(1)
								results.add(h)
							} else if errors.Is(err, pool.ErrFull) {
								continue
							}
						}
						if err != nil {
							if !errors.Is(err, pool.ErrClosed) {
								t.Errorf("submit failed with %v, want nil or ErrClosed", err)
							}
							return
						}
					}
				})
			}
			close(startLine)
			for ran.Load() < 100 {
				runtime.Gosched()
			}
			require.NoError(t, p.Shutdown(ctx))
			ranAtShutdown := ran.Load()
			submitters.Wait()

			assert.Equal(t, ranAtShutdown, ran.Load(), "a job ran after Shutdown returned")
			// A job queued when shutdown began is dropped: it resolves
			// Canceled with ErrClosed and never runs.
			var dropped int64
			for _, h := range results.all() {
				require.True(t, h.State().Final())
				if h.State() == job.Succeeded {
					continue
				}
				require.Equal(t, job.Canceled, h.State())
				require.ErrorIs(t, h.Err(), pool.ErrClosed)
				dropped++
			}
			assert.Equal(t, handles.Load()+doOK.Load(), ran.Load()+dropped, "every accepted job ran exactly once or was dropped")
			assert.Zero(t, bad.Load(), "an admitted job's ctx was cancelled by an unforced shutdown")
			n := uint64(ran.Load())
			assertStats(t, pool.Stats{Limit: limit, Submitted: n + uint64(dropped), Succeeded: n, Canceled: uint64(dropped)}, p.Stats())
		})
	}
}

// A job that a forced shutdown stops before it runs never runs, ends
// Canceled, and its error matches ErrClosed, job.ErrCanceled and
// context.Canceled. With one P, the submitted jobs cannot start before
// Shutdown, called right after, has forced the pool.
func TestForcedShutdownStopsJobsThatHaveNotStarted(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	p, err := pool.New(4)
	require.NoError(t, err)
	var ran atomic.Int32
	var hs []*job.Handle
	for range 4 {
		h, err := p.Submit(context.Background(), job.Func(func(context.Context) error { ran.Add(1); return nil }))
		require.NoError(t, err)
		hs = append(hs, h)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = p.Shutdown(ctx)
	p.Wait() // Shutdown returned at once; the jobs resolve when they start
	notRun := 0
	for _, h := range hs {
		require.True(t, h.State().Final())
		if h.State() == job.Succeeded {
			continue // started before the shutdown
		}
		notRun++
		assert.Equal(t, job.Canceled, h.State())
		assert.ErrorIs(t, h.Err(), pool.ErrClosed)
		assert.ErrorIs(t, h.Err(), job.ErrCanceled)
		assert.ErrorIs(t, h.Err(), context.Canceled)
	}
	if notRun == 0 {
		t.Skip("every job started before the shutdown; the case was not produced")
	}
	requireUnchanged(t, context.Canceled, err)
	assert.Equal(t, int32(len(hs)-notRun), ran.Load(), "a job stopped by the shutdown ran")
	st := p.Stats()
	assert.Equal(t, uint64(notRun), st.Canceled)
	assert.Equal(t, st.Submitted, st.Finished())
}

// ---------------------------------------------------------------------------
// Resizes and adaptive limits.

func TestStatsCountsResizes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, 3)
		assert.Zero(t, p.Stats().Resizes)
		require.NoError(t, p.Resize(5))
		require.NoError(t, p.Resize(2))
		assert.Equal(t, uint64(2), p.Stats().Resizes)
		requirePoolErr(t, p.Resize(0), pool.ErrInvalidLimit)
		assert.Equal(t, uint64(2), p.Stats().Resizes, "a refused Resize changed no limit")
		require.NoError(t, p.Close())
		requirePoolErr(t, p.Resize(4), pool.ErrClosed)
		assert.Equal(t, uint64(2), p.Stats().Resizes)
	})
}

// fakeController records what the pool reports and answers with next.
type fakeController struct {
	lo, hi  int64
	next    func(limit int64, s limit.Sample) (int64, string)
	mu      sync.Mutex
	seen    []observation
	active  atomic.Int32
	overlap atomic.Int32
}

type observation struct {
	limit  int64
	sample limit.Sample
}

func (c *fakeController) Observe(l int64, s limit.Sample) (int64, string) {
	if c.active.Add(1) > 1 {
		c.overlap.Add(1)
	}
	defer c.active.Add(-1)
	runtime.Gosched()
	c.mu.Lock()
	c.seen = append(c.seen, observation{l, s})
	c.mu.Unlock()
	if c.next != nil {
		return c.next(l, s)
	}
	return l, ""
}

func (c *fakeController) Bounds() (int64, int64) { return c.lo, c.hi }

func (c *fakeController) observations() []observation {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.seen)
}

func TestWithAdaptiveLimitRejectsNilAndLimitOutsideBounds(t *testing.T) {
	p, err := pool.New(2, pool.WithAdaptiveLimit(nil))
	assert.Nil(t, p)
	requirePoolErr(t, err, pool.ErrInvalidOption)

	c := &fakeController{lo: 2, hi: 8}
	for _, l := range []int64{1, 9} {
		p, err := pool.New(l, pool.WithAdaptiveLimit(c), pool.WithName("adaptive"))
		assert.Nil(t, p)
		requirePoolErr(t, err, pool.ErrInvalidOption)
		assert.Contains(t, err.Error(), "adaptive")
	}
	for _, l := range []int64{2, 8} {
		p, err := pool.New(l, pool.WithAdaptiveLimit(c))
		require.NoError(t, err)
		require.NoError(t, p.Close())
	}
	assert.Empty(t, c.observations())
}

// After every job, Submit's and Do's alike, the pool reports its latency,
// the jobs in flight when it started and whether it was dropped, and
// resizes itself to the controller's answer, logging the reason.
func TestWithAdaptiveLimitObservesEveryJobAndResizes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		type answer struct {
			next   int64
			reason string
		}
		// The answer is chosen by the sample's latency, which names the job.
		answers := map[time.Duration]answer{2 * time.Second: {3, "grow"}, time.Second: {1, "drop"}}
		c := &fakeController{lo: 1, hi: 10}
		c.next = func(l int64, s limit.Sample) (int64, string) {
			if a, ok := answers[s.Latency]; ok {
				return a.next, a.reason
			}
			return l, ""
		}
		core, logs := observer.New(zap.InfoLevel)
		p := mustNew(t, 2, pool.WithAdaptiveLimit(c), pool.WithLogger(zap.New(core)))

		// 1. A job of 2s that succeeds: the controller grows the limit.
		h, err := p.Go(ctx, func(context.Context) error { time.Sleep(2 * time.Second); return nil })
		require.NoError(t, err)
		require.NoError(t, waitHandle(t, h))
		synctest.Wait()
		assert.Equal(t, int64(3), p.Limit())
		assert.Equal(t, uint64(1), p.Stats().Resizes)

		// 2. A Do of 1s that is dropped: the controller shrinks it.
		err = p.Do(ctx, job.Func(func(context.Context) error {
			time.Sleep(time.Second)
			return fmt.Errorf("%w: 503", limit.ErrDropped)
		}))
		require.ErrorIs(t, err, limit.ErrDropped)
		synctest.Wait()
		assert.Equal(t, int64(1), p.Limit())

		// 3. A timeout is a drop; an ordinary error and a panic are not.
		h, err = p.Go(ctx, func(context.Context) error { time.Sleep(3 * time.Second); return context.DeadlineExceeded })
		require.NoError(t, err)
		_ = waitHandle(t, h)
		h, err = p.Go(ctx, func(context.Context) error { time.Sleep(4 * time.Second); return errJob })
		require.NoError(t, err)
		_ = waitHandle(t, h)
		h, err = p.Go(ctx, func(context.Context) error { time.Sleep(5 * time.Second); panic("x") })
		require.NoError(t, err)
		_ = waitHandle(t, h)
		synctest.Wait()

		// 4. Resize still works, and the controller carries on from it.
		require.NoError(t, p.Resize(6))
		release := newLatch(t)
		a, err := p.Go(ctx, func(context.Context) error { <-release.ch; time.Sleep(6 * time.Second); return nil })
		require.NoError(t, err)
		synctest.Wait()
		b, err := p.Go(ctx, func(context.Context) error { time.Sleep(7 * time.Second); return nil })
		require.NoError(t, err)
		release.open()
		require.NoError(t, waitHandle(t, a))
		require.NoError(t, waitHandle(t, b))
		synctest.Wait()

		got := c.observations()
		require.Len(t, got, 7, "one sample per job")
		want := []observation{
			{2, limit.Sample{Latency: 2 * time.Second, InFlight: 1}},
			{3, limit.Sample{Latency: time.Second, InFlight: 1, Dropped: true}},
			{1, limit.Sample{Latency: 3 * time.Second, InFlight: 1, Dropped: true}},
			{1, limit.Sample{Latency: 4 * time.Second, InFlight: 1}},
			{1, limit.Sample{Latency: 5 * time.Second, InFlight: 1}},
		}
		assert.Equal(t, want, got[:5])
		// a and b ran together; b started while a ran, so it saw two in
		// flight. a ended at 6s, b at 7s, so a was observed first.
		assert.Equal(t, observation{6, limit.Sample{Latency: 6 * time.Second, InFlight: 1}}, got[5])
		assert.Equal(t, observation{6, limit.Sample{Latency: 7 * time.Second, InFlight: 2}}, got[6])
		assert.Zero(t, c.overlap.Load(), "Observe was called concurrently")
		assert.Equal(t, uint64(3), p.Stats().Resizes)

		var reasons []string
		for _, e := range logs.FilterMessage(pool.MsgResized).All() {
			m := e.ContextMap()
			reasons = append(reasons, fmt.Sprintf("%v->%v %v", m[pool.KeyOld], m[pool.KeyLimit], m[pool.KeyReason]))
		}
		assert.Equal(t, []string{"2->3 grow", "3->1 drop", "1->6 Resize"}, reasons)
	})
}

// Observe is never called concurrently, however many jobs end at once, and
// every job is observed exactly once.
func TestWithAdaptiveLimitObservesOneAtATime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &fakeController{lo: 1, hi: 64}
		p := mustNew(t, 16, pool.WithAdaptiveLimit(c))
		var wg sync.WaitGroup
		for i := range 64 {
			wg.Go(func() {
				if i%2 == 0 {
					_ = p.Do(context.Background(), job.Func(func(context.Context) error { time.Sleep(time.Second); return nil }))
				} else {
					_, _ = p.Go(context.Background(), func(context.Context) error { time.Sleep(time.Second); return nil })
				}
			})
		}
		wg.Wait()
		p.Wait()
		synctest.Wait()
		assert.Len(t, c.observations(), 64)
		assert.Zero(t, c.overlap.Load(), "Observe was called concurrently")
	})
}
