package pool_test

import (
	"context"
	"errors"
	"runtime"
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

// waitUntilDone is a group job that runs until its ctx is done, records
// when that happened, and returns the ctx's error.
func waitUntilDone(start time.Time, at *atomic.Int64) job.Func {
	return func(ctx context.Context) error {
		<-ctx.Done()
		at.Store(int64(time.Since(start)))
		return ctx.Err()
	}
}

func TestGroupWaitsForAllJobs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		type key struct{}
		parent := context.WithValue(context.Background(), key{}, "v")
		p := mustNew(t, 4)
		g, gctx := p.Group(parent)
		assert.Equal(t, "v", gctx.Value(key{}), "the group ctx must derive from ctx")
		start := time.Now()

		var values recorder[any]
		var ctxDoneDuringRun atomic.Int32
		var hs []*job.Handle
		for i, d := range []time.Duration{1, 3, 2} {
			f := func(ctx context.Context) error {
				values.add(ctx.Value(key{}))
				time.Sleep(d * time.Second)
				if ctx.Err() != nil || gctx.Err() != nil {
					ctxDoneDuringRun.Add(1)
				}
				return nil
			}
			var h *job.Handle
			var err error
			if i%2 == 0 {
				h, err = g.Go(f, job.WithName("g"))
			} else {
				h, err = g.Submit(job.Func(f))
			}
			require.NoError(t, err)
			hs = append(hs, h)
		}
		require.NoError(t, g.Wait())
		assert.Equal(t, 3*time.Second, time.Since(start))
		for i, h := range hs {
			assert.Truef(t, h.State().Final(), "job %d not finished when Group.Wait returned", i)
			assert.Equal(t, job.Succeeded, h.State())
		}
		assert.Equal(t, []any{"v", "v", "v"}, values.all())
		assert.Zero(t, ctxDoneDuringRun.Load(), "the group ctx ended while no job had failed")
		requireUnchanged(t, context.Canceled, gctx.Err()) // Wait cancels the group's ctx
		assert.NoError(t, parent.Err())
		assert.Equal(t, "g", hs[0].Name())
	})
}

func TestGroupWaitWithNoJobsReturnsNilAndCancelsCtx(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, 1)
		g, gctx := p.Group(context.Background())
		assert.NoError(t, gctx.Err())
		start := time.Now()
		require.NoError(t, g.Wait())
		assert.Zero(t, time.Since(start))
		requireUnchanged(t, context.Canceled, gctx.Err())
	})
}

// Wait returns the first error a job returned; that error cancels the
// group's ctx, which the other jobs see.
func TestGroupWaitReturnsFirstErrorAndCancelsCtx(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, 4)
		g, gctx := p.Group(context.Background())
		start := time.Now()
		errA, errB := errors.New("a failed first"), errors.New("b failed later")

		var cSawDone atomic.Int64
		hc, err := g.Submit(waitUntilDone(start, &cSawDone))
		require.NoError(t, err)
		hb, err := g.Go(func(context.Context) error { time.Sleep(2 * time.Second); return errB }) // ignores ctx
		require.NoError(t, err)
		ha, err := g.Go(func(context.Context) error { time.Sleep(time.Second); return errA })
		require.NoError(t, err)

		requireUnchanged(t, errA, g.Wait())
		assert.Equal(t, 2*time.Second, time.Since(start), "Wait must wait for every job, not only the first error")
		assert.Equal(t, int64(time.Second), cSawDone.Load(), "the sibling saw the group ctx end when A failed")
		assert.ErrorIs(t, gctx.Err(), context.Canceled)
		// Each job's own error reaches its handle too.
		requireUnchanged(t, errA, ha.Err())
		requireUnchanged(t, errB, hb.Err())
		requireUnchanged(t, context.Canceled, hc.Err())
		assert.Equal(t, job.Canceled, hc.State())
		// Wait again returns the same first error.
		requireUnchanged(t, errA, g.Wait())
	})
}

func TestGroupPanicReachesWaitAsPanicError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, 2)
		g, _ := p.Group(context.Background())
		start := time.Now()
		var sawDone atomic.Int64
		_, err := g.Submit(waitUntilDone(start, &sawDone))
		require.NoError(t, err)
		_, err = g.Go(func(context.Context) error { time.Sleep(time.Second); panic("group boom") })
		require.NoError(t, err)

		err = g.Wait()
		var pe *job.PanicError
		require.ErrorAs(t, err, &pe)
		assert.ErrorIs(t, err, job.ErrPanic)
		assert.Equal(t, "group boom", pe.Value)
		assert.Equal(t, int64(time.Second), sawDone.Load(), "a panic must cancel the group ctx")
		assertStats(t, pool.Stats{Limit: 2, Submitted: 2, Panicked: 1, Canceled: 1}, p.Stats())

		// The pool keeps working with its full limit.
		h, err := p.TrySubmit(context.Background(), job.Func(func(context.Context) error { return nil }), job.WithWeight(2))
		require.NoError(t, err)
		require.NoError(t, waitHandle(t, h))
	})
}

func TestGroupGoexitReachesWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, 2)
		g, gctx := p.Group(context.Background())
		_, err := g.Go(func(context.Context) error { runtime.Goexit(); return nil })
		require.NoError(t, err)
		assert.ErrorIs(t, g.Wait(), job.ErrGoexit)
		assert.Error(t, gctx.Err())
	})
}

// A job of the group that is cancelled fails the group.
func TestGroupCancelledJobCancelsGroupCtx(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, 2)
		g, gctx := p.Group(context.Background())
		start := time.Now()
		var aDone, bDone atomic.Int64
		ha, err := g.Submit(waitUntilDone(start, &aDone))
		require.NoError(t, err)
		_, err = g.Submit(waitUntilDone(start, &bDone))
		require.NoError(t, err)
		time.Sleep(time.Second)
		synctest.Wait()
		assert.NoError(t, gctx.Err())

		ha.Cancel()
		requireUnchanged(t, context.Canceled, g.Wait())
		assert.Equal(t, int64(time.Second), aDone.Load())
		assert.Equal(t, int64(time.Second), bDone.Load(), "the sibling did not see the group ctx end")
		assert.Equal(t, job.Canceled, ha.State())
	})
}

// Once the group has failed, Submit fails with the group ctx's error and the
// job does not run.
func TestGroupSubmitAfterFailureReturnsCtxErr(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, 2)
		g, gctx := p.Group(context.Background())
		_, err := g.Go(func(context.Context) error { return errJob })
		require.NoError(t, err)
		synctest.Wait()
		require.Error(t, gctx.Err())

		var ran atomic.Int32
		_, err = g.Submit(job.Func(func(context.Context) error { ran.Add(1); return nil }))
		requireUnchanged(t, gctx.Err(), err)
		_, err = g.Go(func(context.Context) error { ran.Add(1); return nil })
		requireUnchanged(t, gctx.Err(), err)
		requireUnchanged(t, errJob, g.Wait())
		assert.Zero(t, ran.Load())
		assertStats(t, pool.Stats{Limit: 2, Submitted: 1, Failed: 1}, p.Stats())
	})
}

// A group Submit waiting for admission when the group fails gives up with
// the group ctx's error, and its job never runs. The failing job's weight
// is freed when it ends; none of it may go to the failed group's waiters.
// Many waiters and several rounds make a wrong order (weight given back
// before the group is cancelled) show up on a multi-core machine.
func TestGroupSubmitWaitingWhenGroupFailsReturnsCtxErr(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		const n = 500
		p := mustNew(t, n+1)
		release := newLatch(t)
		_, err := p.Submit(ctx, holder(nil, release)) // outside the group
		require.NoError(t, err)
		for round := range 10 {
			g, gctx := p.Group(ctx)
			fail := newLatch(t)
			_, err := g.Go(func(context.Context) error { <-fail.ch; return errJob }, job.WithWeight(n))
			require.NoError(t, err)

			var ran, admitted atomic.Int32
			var wrongErr atomic.Value
			var wg sync.WaitGroup
			for range n {
				wg.Go(func() {
					_, err := g.Go(func(context.Context) error { ran.Add(1); return nil })
					switch {
					case err == nil:
						admitted.Add(1)
					case err != gctx.Err():
						wrongErr.Store(err)
					}
				})
			}
			synctest.Wait()
			require.Equal(t, int64(n), p.Stats().Waiting)
			fail.open()
			wg.Wait()
			requireUnchanged(t, errJob, g.Wait())
			require.Zerof(t, admitted.Load(), "round %d: %d of %d group Submits waiting when the group failed were admitted", round, admitted.Load(), n)
			require.Nil(t, wrongErr.Load(), "a waiting group Submit failed with another error than the group ctx's")
			require.Zero(t, ran.Load())
		}
		st := p.Stats()
		assertStats(t, pool.Stats{Limit: n + 1, InUse: 1, Running: 1, Submitted: 11, Failed: 10}, st)
		release.open()
	})
}

// Group jobs share the pool's limit with the pool's other jobs, and
// Group.Submit waits for admission like Pool.Submit.
func TestGroupSharesPoolLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		p := mustNew(t, 2)
		var gg gauge
		start := time.Now()
		for range 2 {
			_, err := p.Submit(ctx, sleeper(&gg, 1, time.Second))
			require.NoError(t, err)
		}
		g, _ := p.Group(ctx)
		blocked := goCall(func() error { _, err := g.Submit(sleeper(&gg, 1, time.Second)); return err })
		requireBlocked(t, blocked)
		assert.Equal(t, int64(1), p.Stats().Waiting)
		require.NoError(t, blocked.result(t))
		for range 5 {
			_, err := g.Go(sleeper(&gg, 1, time.Second))
			require.NoError(t, err)
		}
		require.NoError(t, g.Wait())
		assert.Equal(t, 4*time.Second, time.Since(start))
		assert.Equal(t, int64(2), gg.peak.Load())
		assertStats(t, pool.Stats{Limit: 2, Submitted: 8, Succeeded: 8}, p.Stats())
	})
}

// Cancelling the parent ctx ends the group's ctx.
func TestGroupParentCancelEndsGroupCtx(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, 2)
		parent, cancel := context.WithCancel(context.Background())
		g, gctx := p.Group(parent)
		start := time.Now()
		var sawDone atomic.Int64
		_, err := g.Submit(waitUntilDone(start, &sawDone))
		require.NoError(t, err)
		time.Sleep(time.Second)
		cancel()
		requireUnchanged(t, context.Canceled, g.Wait())
		assert.Equal(t, int64(time.Second), sawDone.Load())
		requireUnchanged(t, context.Canceled, gctx.Err())
		_, err = g.Go(func(context.Context) error { return nil })
		requireUnchanged(t, gctx.Err(), err)
	})
}

// A failure in one group does not touch another group on the same pool.
func TestGroupsOnOnePoolAreIndependent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, 4)
		g1, g1ctx := p.Group(context.Background())
		g2, g2ctx := p.Group(context.Background())
		var g2Canceled atomic.Bool
		_, err := g2.Go(func(ctx context.Context) error {
			time.Sleep(2 * time.Second)
			g2Canceled.Store(ctx.Err() != nil)
			return nil
		})
		require.NoError(t, err)
		_, err = g1.Go(func(context.Context) error { time.Sleep(time.Second); return errJob })
		require.NoError(t, err)
		requireUnchanged(t, errJob, g1.Wait())
		assert.Error(t, g1ctx.Err())
		assert.NoError(t, g2ctx.Err())
		require.NoError(t, g2.Wait())
		assert.False(t, g2Canceled.Load())
	})
}

// Pool.Wait joins group jobs too.
func TestPoolWaitJoinsGroupJobs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, 2)
		g, _ := p.Group(context.Background())
		start := time.Now()
		h, err := g.Go(func(context.Context) error { time.Sleep(2 * time.Second); return nil })
		require.NoError(t, err)
		p.Wait()
		assert.Equal(t, 2*time.Second, time.Since(start))
		assert.True(t, h.State().Final())
		require.NoError(t, g.Wait())
	})
}
