package pool_test

import (
	"context"
	"errors"
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

// fakeShared is a SharedLimit in memory: a semaphore, leases that can be
// lost, and an error to fail with.
type fakeShared struct {
	sem          *semaphore.Weighted
	held, peak   atomic.Int64
	fail         error
	mu           sync.Mutex
	leases       []*fakeLease
	acquireCalls atomic.Int32
}

type fakeLease struct {
	f      *fakeShared
	w      int64
	ctx    context.Context
	lose   context.CancelCauseFunc
	once   sync.Once
	closed atomic.Bool
}

var errLost = errors.New("fake: lease lost")

func (f *fakeShared) Acquire(ctx context.Context, w int64) (pool.SharedLease, error) {
	f.acquireCalls.Add(1)
	if f.fail != nil {
		return nil, f.fail
	}
	if err := f.sem.Acquire(ctx, w); err != nil {
		return nil, err
	}
	n := f.held.Add(w)
	for p := f.peak.Load(); n > p && !f.peak.CompareAndSwap(p, n); p = f.peak.Load() {
	}
	l := &fakeLease{f: f, w: w}
	l.ctx, l.lose = context.WithCancelCause(context.Background())
	f.mu.Lock()
	f.leases = append(f.leases, l)
	f.mu.Unlock()
	return l, nil
}

func (l *fakeLease) Context() context.Context { return l.ctx }

func (l *fakeLease) Release() {
	l.once.Do(func() {
		l.closed.Store(true)
		l.f.held.Add(-l.w)
		l.f.sem.Release(l.w)
		l.lose(nil)
	})
}

func TestSharedLimitCapsJobsAcrossPools(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		shared := &fakeShared{sem: semaphore.NewWeighted(3)}
		// Two pools of limit 4 each: 8 locally, 3 globally.
		var ps []*pool.Pool
		for range 2 {
			ps = append(ps, newQueued(t, 4, pool.WithSharedLimit(shared)))
		}
		var hs []*job.Handle
		for i := range 40 {
			p := ps[i%2]
			if i%5 == 0 {
				go func() {
					_ = p.Do(context.Background(), job.Func(func(context.Context) error { time.Sleep(time.Second); return nil }))
				}()
				continue
			}
			h, err := p.Go(context.Background(), func(context.Context) error { time.Sleep(time.Second); return nil })
			require.NoError(t, err)
			hs = append(hs, h)
		}
		for _, h := range hs {
			require.NoError(t, h.Wait())
		}
		for _, p := range ps {
			p.Wait()
		}
		assert.Equal(t, int64(3), shared.peak.Load(), "the shared limit is reached and never exceeded")
		assert.Zero(t, shared.held.Load(), "every lease was released")
	})
}

func TestSharedLimitFailureFailsTheJob(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		unavailable := errors.New("fake: unavailable")
		shared := &fakeShared{sem: semaphore.NewWeighted(3), fail: unavailable}
		p := newQueued(t, 2, pool.WithSharedLimit(shared))
		var ran atomic.Int32
		h, err := p.Go(context.Background(), func(context.Context) error { ran.Add(1); return nil })
		require.NoError(t, err)
		require.ErrorIs(t, h.Wait(), unavailable)
		assert.Equal(t, job.Failed, h.State())
		require.ErrorIs(t, p.Do(context.Background(), job.Func(func(context.Context) error { ran.Add(1); return nil })), unavailable)
		assert.Zero(t, ran.Load(), "a job without a lease ran")
		p.Wait()
		assertStats(t, pool.Stats{Limit: 2, Submitted: 2, Failed: 2}, p.Stats())
	})
}

func TestSharedLeaseLostCancelsTheJob(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		shared := &fakeShared{sem: semaphore.NewWeighted(3)}
		p := newQueued(t, 2, pool.WithSharedLimit(shared))
		h, err := p.Go(context.Background(), func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
		require.NoError(t, err)
		var doErr error
		done := make(chan struct{})
		go func() {
			defer close(done)
			doErr = p.Do(context.Background(), job.Func(func(ctx context.Context) error { <-ctx.Done(); return context.Cause(ctx) }))
		}()
		synctest.Wait()
		shared.mu.Lock()
		require.Len(t, shared.leases, 2)
		for _, l := range shared.leases {
			l.lose(errLost)
		}
		shared.mu.Unlock()
		require.ErrorIs(t, h.Wait(), context.Canceled)
		assert.Equal(t, job.Canceled, h.State())
		<-done
		require.ErrorIs(t, doErr, errLost, "Do's ctx ends with the lease's cause")
		p.Wait()
		assert.Zero(t, shared.held.Load())
		assertStats(t, pool.Stats{Limit: 2, Submitted: 2, Canceled: 2}, p.Stats(), "a job whose lease was lost is Canceled, Do's too")
	})
}
