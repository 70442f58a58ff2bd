package pool_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/weir-go/weir/job"
	"github.com/weir-go/weir/pool"
)

// The queue: a job that waits for its weight is an entry in the pool's
// FIFO list, and Submit returns at once.

// newQueued makes a pool with the default queue (mustNew has none).
func newQueued(t testing.TB, limit int64, opts ...pool.Option) *pool.Pool {
	t.Helper()
	return mustNew(t, limit, append([]pool.Option{pool.WithMaxQueued(pool.DefaultMaxQueued)}, opts...)...)
}

// order records the names of jobs as they start.
type order struct {
	mu    sync.Mutex
	names []string
}

func (o *order) job(name string, release *latch) job.Job {
	return job.Func(func(context.Context) error {
		o.mu.Lock()
		o.names = append(o.names, name)
		o.mu.Unlock()
		if release != nil {
			<-release.ch
		}
		return nil
	})
}

func (o *order) got() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.names...)
}

func TestSubmitQueuesAndReturnsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		p := newQueued(t, 2)
		release := newLatch(t)
		var o order
		for _, name := range []string{"a", "b", "c", "d", "e"} {
			c := goSubmit(ctx, p, o.job(name, release))
			require.True(t, c.returned(), "Submit waited with room in the queue")
			require.NoError(t, c.got.err)
		}
		assert.ElementsMatch(t, []string{"a", "b"}, o.got())
		st := p.Stats()
		assertStats(t, pool.Stats{Limit: 2, InUse: 2, Running: 2, Submitted: 5}, st)
		assert.Equal(t, int64(3), st.Queued)
		assert.Equal(t, int64(3), st.QueuedWeight)
		release.open()
		p.Wait()
		// a and b end together, so c and d start together, on two
		// goroutines: their order of starting is not their order of
		// admission (TestFIFOAcrossQueuedAndBlockedSubmitters checks
		// that).
		got := o.got()
		assert.ElementsMatch(t, []string{"a", "b"}, got[:2])
		assert.ElementsMatch(t, []string{"c", "d", "e"}, got[2:])
		assertStats(t, pool.Stats{Limit: 2, Submitted: 5, Succeeded: 5}, p.Stats())
	})
}

// FIFO holds across queued jobs and submitters blocked on a full queue,
// and a heavy job at the head is not overtaken by lighter ones behind it.
func TestFIFOAcrossQueuedAndBlockedSubmitters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		p := newQueued(t, 2, pool.WithMaxQueued(2))
		var o order
		r1, r2, rest := newLatch(t), newLatch(t), newLatch(t)
		_, err := p.Submit(ctx, o.job("h1", r1))
		require.NoError(t, err)
		_, err = p.Submit(ctx, o.job("h2", r2))
		require.NoError(t, err)
		a := goSubmit(ctx, p, o.job("A", rest), job.WithWeight(2)) // queued, heavy, at the head
		b := goSubmit(ctx, p, o.job("B", rest))                    // queued
		c := goSubmit(ctx, p, o.job("C", rest))                    // blocked: the queue is full
		d := goSubmit(ctx, p, o.job("D", rest), job.WithWeight(2)) // blocked
		require.True(t, a.returned() && b.returned())
		requireBlocked(t, c, d)
		st := p.Stats()
		assert.Equal(t, int64(2), st.Queued)
		assert.Equal(t, int64(2), st.Waiting)
		assert.Equal(t, int64(3), st.WaitingWeight)

		// h1 and h2 start on two goroutines, in either order.
		started := func() []string { return o.got()[2:] }
		assert.ElementsMatch(t, []string{"h1", "h2"}, o.got()[:2])

		r1.open() // one unit free: A needs two, and nobody may pass it
		synctest.Wait()
		assert.Empty(t, started(), "a job overtook the heavy one at the head")
		requireBlocked(t, c, d)

		r2.open() // A starts; C moves into the queue, so its Submit returns
		synctest.Wait()
		assert.Equal(t, []string{"A"}, started())
		require.True(t, c.returned(), "C's Submit still waits with room in the queue")
		requireBlocked(t, d)

		rest.open()
		p.Wait()
		assert.Equal(t, []string{"A", "B", "C", "D"}, started())
		for _, s := range []*call[submitted]{a, b, c, d} {
			require.NoError(t, s.result(t).err)
			require.NoError(t, s.got.h.Wait())
		}
		// IDs are given in acceptance order.
		assert.Less(t, a.got.h.ID(), b.got.h.ID())
		assert.Less(t, b.got.h.ID(), c.got.h.ID())
		assert.Less(t, c.got.h.ID(), d.got.h.ID())
	})
}

// A queued job whose ctx ends, or whose handle is cancelled, leaves the
// queue at once, never runs, holds nothing, and resolves Canceled; the
// jobs behind it move up.
func TestQueuedJobLeavesWhenItsCtxEnds(t *testing.T) {
	for _, how := range []string{"cancel", "deadline", "Handle.Cancel"} {
		t.Run(how, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := newQueued(t, 2)
				release := newLatch(t)
				_, err := p.Submit(context.Background(), holder(nil, release), job.WithWeight(2))
				require.NoError(t, err)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				if how == "deadline" {
					ctx, cancel = context.WithTimeout(context.Background(), time.Second)
					defer cancel()
				}
				var ran atomic.Int32
				h, err := p.Submit(ctx, holder(&ran, release), job.WithWeight(2))
				require.NoError(t, err)
				behind, err := p.Submit(context.Background(), job.Func(func(context.Context) error { return nil }))
				require.NoError(t, err)
				assert.Equal(t, int64(2), p.Stats().Queued)

				start := time.Now()
				want := error(context.Canceled)
				switch how {
				case "cancel":
					cancel()
				case "deadline":
					want = context.DeadlineExceeded
				case "Handle.Cancel":
					h.Cancel()
					want = job.ErrCanceled
				}
				require.ErrorIs(t, waitHandle(t, h), want)
				if how == "deadline" {
					assert.Equal(t, time.Second, time.Since(start))
				} else {
					assert.Zero(t, time.Since(start), "left the queue at once")
				}
				assert.Equal(t, job.Canceled, h.State())
				st := p.Stats()
				assert.Equal(t, int64(1), st.Queued, "only the job behind it is queued")
				assert.Equal(t, int64(2), st.InUse, "the queued job took no weight")
				assert.Equal(t, uint64(1), st.Canceled)
				release.open()
				require.NoError(t, waitHandle(t, behind))
				p.Wait()
				assert.Zero(t, ran.Load(), "a dropped job ran")
				assertStats(t, pool.Stats{Limit: 2, Submitted: 3, Succeeded: 2, Canceled: 1}, p.Stats())
			})
		})
	}
}

// Shutdown resolves every queued handle, Canceled with an error matching
// ErrClosed and job.ErrCanceled; none of them runs. Close instead runs
// them all first.
func TestShutdownResolvesEveryQueuedHandle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newQueued(t, 1)
		release := newLatch(t)
		_, err := p.Submit(context.Background(), holder(nil, release))
		require.NoError(t, err)
		var ran atomic.Int32
		var hs []*job.Handle
		for range 100 {
			h, err := p.Submit(context.Background(), holder(&ran, nil))
			require.NoError(t, err)
			hs = append(hs, h)
		}
		sd := goCall(func() error { return p.Shutdown(context.Background()) })
		for _, h := range hs {
			require.True(t, h.State().Final(), "a queued handle is resolved once shutdown begins")
			require.Equal(t, job.Canceled, h.State())
			requirePoolErr(t, h.Err(), pool.ErrClosed)
			require.ErrorIs(t, h.Err(), job.ErrCanceled)
			require.ErrorIs(t, h.Err(), context.Canceled)
		}
		release.open()
		require.NoError(t, sd.result(t))
		assert.Zero(t, ran.Load())
		assertStats(t, pool.Stats{Limit: 1, Submitted: 101, Succeeded: 1, Canceled: 100}, p.Stats())
	})
	synctest.Test(t, func(t *testing.T) {
		p := newQueued(t, 1)
		var ran atomic.Int32
		for range 100 {
			_, err := p.Submit(context.Background(), job.Func(func(context.Context) error {
				time.Sleep(time.Millisecond)
				ran.Add(1)
				return nil
			}))
			require.NoError(t, err)
		}
		require.NoError(t, p.Close())
		assert.Equal(t, int32(100), ran.Load(), "Close runs the queued jobs before it stops")
	})
}

// The bound on the queue is exact under concurrency: with WithMaxQueued(n)
// and no one allowed to wait, exactly n of many concurrent Submits queue
// while the pool is full, and the rest get ErrQueueFull.
func TestQueueBoundIsExactUnderConcurrency(t *testing.T) {
	for round := range 20 {
		p, err := pool.New(2, pool.WithMaxQueued(7), pool.WithMaxWaiting(0))
		require.NoError(t, err)
		release := make(chan struct{})
		for range 2 {
			_, err := p.Submit(context.Background(), job.Func(func(context.Context) error { <-release; return nil }))
			require.NoError(t, err)
		}
		var queued, full atomic.Int32
		var wg sync.WaitGroup
		for range 64 {
			wg.Go(func() {
				_, err := p.Submit(context.Background(), job.Func(func(context.Context) error { return nil }))
				switch {
				case err == nil:
					queued.Add(1)
				case errors.Is(err, pool.ErrQueueFull):
					full.Add(1)
				default:
					t.Errorf("Submit: %v", err)
				}
			})
		}
		wg.Wait()
		require.Equalf(t, int32(7), queued.Load(), "round %d", round)
		require.Equal(t, int32(57), full.Load())
		require.Equal(t, int64(7), p.Stats().Queued)
		close(release)
		require.NoError(t, p.Close())
		require.Equal(t, uint64(9), p.Stats().Succeeded)
	}
}

// WithMaxWaiting counts waiters under the same lock as the wait list: a
// waiter stops counting the moment it is granted. Before, C below got a
// spurious ErrQueueFull in 40-100% of rounds, because B's grant was
// counted only once B's goroutine ran. Real goroutines, not a bubble: the
// race is between B's wake-up and C.
func TestMaxWaitingIsExactWhenAWaiterIsGranted(t *testing.T) {
	for _, via := range []string{"Submit", "Do"} {
		t.Run(via, func(t *testing.T) {
			p := mustNew(t, 1, pool.WithMaxWaiting(1)) // no queue: Submit waits
			for round := range 300 {
				a, bHolds := make(chan struct{}), make(chan struct{})
				ha, err := p.Submit(context.Background(), job.Func(func(context.Context) error { <-a; return nil }))
				require.NoError(t, err)
				b := make(chan error, 1)
				bj := job.Func(func(context.Context) error { <-bHolds; return nil })
				go func() {
					if via == "Do" {
						b <- p.Do(context.Background(), bj)
						return
					}
					_, err := p.Submit(context.Background(), bj)
					b <- err
				}()
				for p.Stats().Waiting != 1 {
					runtime.Gosched()
				}
				close(a)
				require.NoError(t, ha.Wait()) // A has ended: its weight went to B
				ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
				_, err = p.Submit(ctx, job.Func(func(context.Context) error { return nil }))
				cancel()
				require.Truef(t, err == context.DeadlineExceeded, "round %d: C got %v, want it to wait and time out", round, err)
				close(bHolds)
				require.NoError(t, <-b)
				p.Wait()
			}
		})
	}
}

// A job's ctx keeps package context's contract: a ctx derived from it is
// done by the time Cancel returns (synchronously, with no goroutine), and
// context.Cause reports the first reason it ended.
func TestJobCtxDerivedCtxAndCause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newQueued(t, 2)
		submitCtx, cancelSubmit := context.WithCancelCause(context.Background())
		defer cancelSubmit(nil)
		started, checked := newLatch(t), newLatch(t)
		var grew bool
		var cause error
		var last context.Context
		h, err := p.Submit(submitCtx, job.Func(func(ctx context.Context) error {
			before := runtimeNumGoroutine()
			var children []context.Context
			for range 100 {
				c, cancel := context.WithCancel(ctx)
				defer cancel()
				children = append(children, c)
			}
			// A goroutine per derived ctx would add 100; allow for the
			// few that other parts of the process may start meanwhile.
			grew = runtimeNumGoroutine()-before >= 50
			last = children[99]
			started.open()
			<-ctx.Done()
			cause = context.Cause(ctx)
			<-checked.ch
			return ctx.Err()
		}))
		require.NoError(t, err)
		<-started.ch
		h.Cancel() // first
		childDone := false
		select {
		case <-last.Done():
			childDone = true
		default:
		}
		cancelSubmit(errors.New("later cause")) // second
		checked.open()
		require.ErrorIs(t, h.Wait(), context.Canceled)
		assert.False(t, grew, "a ctx derived from a job's ctx started a goroutine")
		assert.True(t, childDone, "a derived ctx was not done when Cancel returned")
		assert.Equal(t, context.Canceled, cause, "Cause must report the first reason: Cancel")
	})
}

// With neither a logger nor a panic handler, a panic is printed to
// standard error with its stack, as net/http does: never silent.
func TestPanicWithoutLoggerOrHandlerGoesToStderr(t *testing.T) {
	r, w, err := os.Pipe()
	require.NoError(t, err)
	saved := os.Stderr
	os.Stderr = w
	p, err := pool.New(1, pool.WithName("loud"))
	if err == nil {
		var h *job.Handle
		h, err = p.Go(context.Background(), func(context.Context) error { panic("kaboom") })
		if err == nil {
			err = h.Wait()
		}
		_ = p.Close()
	}
	os.Stderr = saved
	require.NoError(t, w.Close())
	var out bytes.Buffer
	_, _ = io.Copy(&out, r)
	require.ErrorIs(t, err, job.ErrPanic)
	assert.Contains(t, out.String(), `weir: pool "loud": job job-1 panicked: job: panic: kaboom`)
	assert.Contains(t, out.String(), "queue_test.go", "the stack is printed")

	// A handler sees the job and the panic, and nothing is printed.
	var got []pool.PanicInfo
	var mu sync.Mutex
	p = mustNew(t, 1, pool.WithPanicHandler(func(pi pool.PanicInfo) { mu.Lock(); got = append(got, pi); mu.Unlock() }))
	h, err := p.Go(context.Background(), func(context.Context) error { panic("quiet") }, job.WithName("q"))
	require.NoError(t, err)
	require.ErrorIs(t, h.Wait(), job.ErrPanic)
	require.Panics(t, func() {
		_ = p.Do(context.Background(), job.Func(func(context.Context) error { panic("from Do") }))
	})
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, got, 2)
	assert.Equal(t, "q", got[0].Job.Name)
	assert.Equal(t, "quiet", got[0].Err.Value)
	assert.True(t, strings.Contains(string(got[0].Err.Stack), "queue_test.go"))
	assert.Equal(t, "from Do", got[1].Err.Value)
}

func runtimeNumGoroutine() int { return runtime.NumGoroutine() }
