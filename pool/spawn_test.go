package pool_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/weir-go/weir/job"
	"github.com/weir-go/weir/pool"
	"github.com/weir-go/weir/semaphore"
)

type spawnKey struct{}

// Spawn's job gets the caller's ctx itself, as Do's does, and its outcome
// reaches Stats.
func TestSpawnRunsWithTheCallersCtx(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newQueued(t, 2)
		ctx := context.WithValue(context.Background(), spawnKey{}, "v")
		var got context.Context
		var named bool
		require.NoError(t, p.Spawn(ctx, job.Func(func(c context.Context) error {
			got = c
			_, named = job.FromContext(c)
			return nil
		})))
		errJob := errors.New("job failed")
		require.NoError(t, p.Spawn(ctx, job.Func(func(context.Context) error { return errJob })))

		cctx, cancel := context.WithCancel(context.Background())
		require.NoError(t, p.Spawn(cctx, job.Func(func(c context.Context) error {
			cancel()
			return c.Err()
		})))
		p.Wait()
		assert.Equal(t, ctx, got, "the job runs with the caller's ctx")
		assert.False(t, named, "a Spawned job has no job ctx")
		assertStats(t, pool.Stats{Limit: 2, Submitted: 3, Succeeded: 1, Failed: 1, Canceled: 1}, p.Stats())
	})
}

// A queued Spawned job keeps FIFO with weights, and leaves the queue at
// once, holding nothing, when its ctx ends.
func TestSpawnQueuedFIFOAndCtxEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newQueued(t, 2)
		release := newLatch(t)
		require.NoError(t, p.Spawn(context.Background(), holder(nil, release)))
		var o order
		rec := func(name string) job.Job { return o.job(name, nil) }
		require.NoError(t, p.Spawn(context.Background(), rec("heavy"), job.WithWeight(2)))
		ctx, cancel := context.WithCancel(context.Background())
		var ranCanceled atomic.Bool
		require.NoError(t, p.Spawn(ctx, job.Func(func(context.Context) error { ranCanceled.Store(true); return nil })))
		require.NoError(t, p.Spawn(context.Background(), rec("light")))
		synctest.Wait()
		st := p.Stats()
		assert.Equal(t, int64(3), st.Queued, "a light job does not overtake the heavy one at the head")
		assert.Equal(t, int64(1), st.InUse)

		cancel()
		synctest.Wait()
		st = p.Stats()
		assert.Equal(t, int64(2), st.Queued, "the cancelled job left the queue at once")
		assert.Equal(t, uint64(1), st.Canceled)

		release.open()
		p.Wait()
		assert.Equal(t, []string{"heavy", "light"}, o.got())
		assert.False(t, ranCanceled.Load())
		assertStats(t, pool.Stats{Limit: 2, Submitted: 4, Succeeded: 3, Canceled: 1}, p.Stats())
	})
}

// With the queue full, Spawn waits for room like Submit, and returns
// ctx's error if it ends first.
func TestSpawnWaitsForRoomInTheQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, 1, pool.WithMaxQueued(1))
		release := newLatch(t)
		require.NoError(t, p.Spawn(context.Background(), holder(nil, release)))
		require.NoError(t, p.Spawn(context.Background(), holder(nil, release)))
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		err := p.Spawn(ctx, holder(nil, release))
		requireUnchanged(t, context.DeadlineExceeded, err)
		assert.Equal(t, time.Second, time.Since(start))

		c := goCall(func() error { return p.Spawn(context.Background(), holder(nil, release)) })
		requireBlocked(t, c)
		release.open()
		require.NoError(t, c.result(t))
		p.Wait()
		assertStats(t, pool.Stats{Limit: 1, Submitted: 3, Succeeded: 3}, p.Stats())
	})
}

// A Spawned job's panic is never silent, and the observers see its
// admission and end under its name.
func TestSpawnPanicAndEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var infos recorder[pool.PanicInfo]
		var ends recorder[pool.JobEnd]
		var admissions recorder[pool.Admission]
		p := newQueued(t, 1,
			pool.WithPanicHandler(infos.add),
			pool.WithObserver(pool.Observer{Admission: admissions.add, JobEnd: ends.add}))
		require.NoError(t, p.Spawn(context.Background(), job.Func(func(context.Context) error {
			time.Sleep(time.Second)
			panic("boom")
		}), job.WithName("bomb")))
		require.NoError(t, p.Spawn(context.Background(), job.Func(func(context.Context) error { return nil }), job.WithName("after")))
		p.Wait()

		require.Len(t, infos.all(), 1)
		pi := infos.all()[0]
		assert.Equal(t, "bomb", pi.Job.Name)
		require.NotNil(t, pi.Err)
		assert.Equal(t, "boom", pi.Err.Value)

		require.Len(t, ends.all(), 2)
		assert.Equal(t, "bomb", ends.all()[0].Job)
		assert.Equal(t, job.Panicked, ends.all()[0].Outcome)
		assert.Equal(t, time.Second, ends.all()[0].Held)
		assert.Equal(t, "after", ends.all()[1].Job)
		assert.Equal(t, job.Succeeded, ends.all()[1].Outcome)
		require.Len(t, admissions.all(), 2)
		assert.Equal(t, time.Second, admissions.all()[1].Waited, "the second waited in the queue for the first")
		assertStats(t, pool.Stats{Limit: 1, Submitted: 2, Succeeded: 1, Panicked: 1}, p.Stats())
	})
}

// Shutdown drops the queued Spawned jobs, and a forced one leaves a
// running Spawned job running (its ctx is the caller's) until it ends.
func TestSpawnShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newQueued(t, 1)
		var ran atomic.Int32
		require.NoError(t, p.Spawn(context.Background(), job.Func(func(context.Context) error {
			time.Sleep(time.Hour)
			ran.Add(1)
			return nil
		})))
		for range 3 {
			require.NoError(t, p.Spawn(context.Background(), job.Func(func(context.Context) error { ran.Add(1); return nil })))
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		requireUnchanged(t, context.DeadlineExceeded, p.Shutdown(ctx))
		requirePoolErr(t, p.Spawn(context.Background(), job.Func(func(context.Context) error { return nil })), pool.ErrClosed)
		assertStats(t, pool.Stats{Limit: 1, InUse: 1, Running: 1, Submitted: 4, Canceled: 3}, p.Stats())
		p.Wait()
		assert.Equal(t, int32(1), ran.Load(), "only the running job ran")
		assertStats(t, pool.Stats{Limit: 1, Submitted: 4, Succeeded: 1, Canceled: 3}, p.Stats())
	})
}

// A Spawned job runs under a lease of the shared limit, and its ctx ends
// when the lease is lost.
func TestSpawnUnderSharedLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		shared := &fakeShared{sem: semaphore.NewWeighted(1)}
		p := newQueued(t, 4, pool.WithSharedLimit(shared))
		var cause atomic.Value
		for range 3 {
			require.NoError(t, p.Spawn(context.Background(), job.Func(func(ctx context.Context) error {
				select {
				case <-ctx.Done():
					cause.Store(context.Cause(ctx))
					return ctx.Err()
				case <-time.After(time.Second):
					return nil
				}
			})))
		}
		synctest.Wait()
		shared.mu.Lock()
		require.Len(t, shared.leases, 1)
		shared.leases[0].lose(errLost)
		shared.mu.Unlock()
		p.Wait()
		assert.Equal(t, errLost, cause.Load())
		assert.Equal(t, int64(1), shared.peak.Load())
		assert.Zero(t, shared.held.Load())
		assertStats(t, pool.Stats{Limit: 4, Submitted: 3, Succeeded: 2, Canceled: 1}, p.Stats())
	})
}

// Spawn reuses its bookkeeping from job to job: under load, with every
// kind of ctx, queue bound and weight, and with Submits mixed in, every
// job runs exactly once, with its own ctx, or is counted cancelled.
func TestSpawnReuseUnderLoad(t *testing.T) {
	p, err := pool.New(4, pool.WithMaxQueued(32), quietPanics)
	require.NoError(t, err)
	const workers, each = 8, 1500
	runs := make([]atomic.Int32, workers*each)
	var wrongCtx, submitted atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for i := range each {
				id := w*each + i
				ctx := context.WithValue(context.Background(), spawnKey{}, id)
				var cancel context.CancelFunc = func() {}
				if r.IntN(3) == 0 {
					ctx, cancel = context.WithCancel(ctx)
				}
				f := job.Func(func(c context.Context) error {
					if c.Value(spawnKey{}) != id {
						wrongCtx.Add(1)
					}
					runs[id].Add(1)
					if id%97 == 0 {
						panic("sometimes")
					}
					return nil
				})
				opt := job.WithWeight(int64(1 + r.IntN(3)))
				if r.IntN(10) == 0 {
					h, err := p.Submit(ctx, f, opt)
					if err == nil {
						submitted.Add(1)
						if r.IntN(2) == 0 {
							h.Cancel()
						}
					}
				} else if p.Spawn(ctx, f, opt) == nil {
					submitted.Add(1)
				}
				if r.IntN(4) == 0 {
					cancel()
				}
				defer cancel()
			}
		})
	}
	wg.Wait()
	p.Wait()
	require.NoError(t, p.Close())
	var ran int64
	for i := range runs {
		n := runs[i].Load()
		require.LessOrEqual(t, n, int32(1), "job %d ran %d times", i, n)
		ran += int64(n)
	}
	assert.Zero(t, wrongCtx.Load(), "a job ran with another job's ctx")
	st := p.Stats()
	assert.Equal(t, uint64(submitted.Load()), st.Submitted)
	assert.Equal(t, uint64(ran), st.Succeeded+st.Panicked+st.Failed, "every job that ran is counted once")
	assert.Equal(t, st.Submitted, st.Finished(), "every accepted job ended")
	assert.NotZero(t, st.Panicked)
	assert.Zero(t, st.InUse)
}

// A burst of Spawns beyond the in-flight count below which tasks are
// reused: every job runs once, and reuse resumes once the burst drains.
func TestSpawnBurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newQueued(t, 1)
		release := newLatch(t)
		require.NoError(t, p.Spawn(context.Background(), holder(nil, release)))
		const n = 10_000
		runs := make([]atomic.Int32, n)
		for i := range n {
			require.NoError(t, p.Spawn(context.Background(), job.Func(func(context.Context) error {
				runs[i].Add(1)
				return nil
			})))
		}
		assert.Equal(t, int64(n), p.Stats().Queued)
		release.open()
		p.Wait()
		for i := range runs {
			require.Equal(t, int32(1), runs[i].Load(), "job %d", i)
		}
		assertStats(t, pool.Stats{Limit: 1, Submitted: n + 1, Succeeded: n + 1}, p.Stats())
	})
}
