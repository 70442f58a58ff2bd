package pool_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/weir-go/weir/job"
	"github.com/weir-go/weir/pool"
)

// events records what an Observer sees.
type events struct {
	mu      sync.Mutex
	admits  []pool.Admission
	ends    []pool.JobEnd
	changes []pool.LimitChange
}

func (e *events) observer() pool.Observer {
	return pool.Observer{
		Admission:   func(a pool.Admission) { e.mu.Lock(); e.admits = append(e.admits, a); e.mu.Unlock() },
		JobEnd:      func(j pool.JobEnd) { e.mu.Lock(); e.ends = append(e.ends, j); e.mu.Unlock() },
		LimitChange: func(c pool.LimitChange) { e.mu.Lock(); e.changes = append(e.changes, c); e.mu.Unlock() },
	}
}

func (e *events) take() ([]pool.Admission, []pool.JobEnd, []pool.LimitChange) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, j, c := e.admits, e.ends, e.changes
	e.admits, e.ends, e.changes = nil, nil, nil
	return a, j, c
}

// Every admission decision reaches the observer with its result and the
// time it waited; every end with its hold time and outcome; every change
// of limit.
func TestObserverSeesEveryDecisionEndAndChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ev events
		p := newQueued(t, 2, pool.WithName("obs"), pool.WithObserver(ev.observer()))
		ctx := context.Background()

		// Admitted at once, held 3s.
		h, err := p.Go(ctx, func(context.Context) error { time.Sleep(3 * time.Second); return nil }, job.WithName("a"), job.WithWeight(2))
		require.NoError(t, err)
		// Queued 3s, then admitted, held 1s, failed.
		h2, err := p.Go(ctx, func(context.Context) error { time.Sleep(time.Second); return errors.New("x") }, job.WithName("b"))
		require.NoError(t, err)
		// Queued, its ctx ends after 1s: turned away after waiting 1s.
		dctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		h3, err := p.Go(dctx, func(context.Context) error { return nil }, job.WithName("c"))
		require.NoError(t, err)
		// Bad input: a nil job and a weight above the limit.
		_, err = p.Go(ctx, nil)
		require.ErrorIs(t, err, pool.ErrNilJob)
		require.ErrorIs(t, p.Do(ctx, job.Func(func(context.Context) error { return nil }), job.WithWeight(3)), pool.ErrWeightExceedsLimit)
		require.NoError(t, h.Wait())
		require.Error(t, h2.Wait())
		require.ErrorIs(t, h3.Wait(), context.DeadlineExceeded)
		require.NoError(t, p.Resize(3))
		p.Wait()

		admits, ends, changes := ev.take()
		type admit struct {
			job    string
			waited time.Duration
			result pool.AdmissionResult
		}
		var gotA []admit
		for _, a := range admits {
			assert.Equal(t, "obs", a.Pool)
			gotA = append(gotA, admit{a.Job, a.Waited, a.Result})
		}
		assert.ElementsMatch(t, []admit{
			{"a", 0, pool.AdmissionAdmitted},
			{"", 0, pool.AdmissionInvalid}, // nil job
			{"", 0, pool.AdmissionInvalid}, // too heavy
			{"c", time.Second, pool.AdmissionCanceled},
			{"b", 3 * time.Second, pool.AdmissionAdmitted},
		}, gotA)
		type end struct {
			job     string
			held    time.Duration
			outcome job.State
		}
		var gotE []end
		for _, e := range ends {
			gotE = append(gotE, end{e.Job, e.Held, e.Outcome})
		}
		assert.ElementsMatch(t, []end{
			{"a", 3 * time.Second, job.Succeeded},
			{"b", time.Second, job.Failed},
			{"c", 0, job.Canceled},
		}, gotE)
		require.Len(t, changes, 1)
		assert.Equal(t, pool.LimitChange{Pool: "obs", Old: 2, New: 3, Reason: "Resize"}, changes[0])
	})
}

// A wait that ends in a rejection reports how long it waited.
func TestObserverReportsTheWaitOfARejection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ev events
		p := mustNew(t, 1, pool.WithObserver(ev.observer()))
		release := newLatch(t)
		_, err := p.Submit(context.Background(), holder(nil, release))
		require.NoError(t, err)
		synctest.Wait() // the holder's admission is reported by its worker
		ev.take()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		require.ErrorIs(t, p.Do(ctx, job.Func(func(context.Context) error { return nil })), context.DeadlineExceeded)
		_, err = p.Submit(ctx, job.Func(func(context.Context) error { return nil }))
		require.ErrorIs(t, err, context.DeadlineExceeded) // already done: turned away at once
		admits, _, _ := ev.take()
		require.Len(t, admits, 2)
		assert.Equal(t, pool.AdmissionCanceled, admits[0].Result)
		assert.Equal(t, 20*time.Millisecond, admits[0].Waited)
		assert.Equal(t, pool.AdmissionCanceled, admits[1].Result)
		assert.Zero(t, admits[1].Waited)
	})
}
