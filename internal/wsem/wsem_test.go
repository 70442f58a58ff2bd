package wsem_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/weir-go/weir/internal/wsem"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The public contract is tested in package semaphore; these tests cover
// what only package pool uses: Close and strict mode.

func TestCloseFailsWaitersAndLaterAcquires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := wsem.NewWeighted(2)
		require.NoError(t, s.Acquire(context.Background(), 2))
		errs := make(chan error, 3)
		for _, n := range []int64{1, 2, 5} { // fitting waiters and an oversized one
			go func() { errs <- s.Acquire(context.Background(), n) }()
		}
		synctest.Wait()
		require.Equal(t, 3, s.Waiting())

		s.Close()
		for range 3 {
			assert.ErrorIs(t, <-errs, wsem.ErrClosed)
		}
		assert.Equal(t, 0, s.Waiting())
		assert.ErrorIs(t, s.Acquire(context.Background(), 0), wsem.ErrClosed)
		assert.False(t, s.TryAcquire(0))

		// Release still takes back what is held, and grants nothing.
		s.Release(2)
		assert.Equal(t, int64(0), s.InUse())
		assert.False(t, s.TryAcquire(1))
		s.Close() // idempotent
	})
}

func TestCloseKeepsCtxErrorsFirst(t *testing.T) {
	s := wsem.NewWeighted(1)
	s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, s.Acquire(ctx, 1), context.Canceled)
}

func TestStrictRejectsOversizedAtOnce(t *testing.T) {
	s := wsem.NewStrict(3, wsem.Unbounded, wsem.Unbounded)
	assert.ErrorIs(t, s.Acquire(context.Background(), 4), wsem.ErrTooLarge)
	assert.Equal(t, int64(0), s.InUse())
	assert.Equal(t, 0, s.Waiting())
	// A plain semaphore would park it instead (x/sync's contract).
	plain := wsem.NewWeighted(3)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, plain.Acquire(ctx, 4), context.Canceled)
}

func TestStrictShrinkFailsWaitersThatNoLongerFit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := wsem.NewStrict(4, wsem.Unbounded, wsem.Unbounded)
		require.NoError(t, s.Acquire(context.Background(), 4))
		big, small := make(chan error, 1), make(chan error, 1)
		go func() { big <- s.Acquire(context.Background(), 3) }()
		synctest.Wait()
		go func() { small <- s.Acquire(context.Background(), 1) }()
		synctest.Wait()

		s.Resize(2) // the head waiter (3) no longer fits; the one behind it does
		assert.ErrorIs(t, <-big, wsem.ErrTooLarge)
		assert.Equal(t, 1, s.Waiting())

		s.Release(4) // held 0 of 2: the small waiter is granted
		require.NoError(t, <-small)
		assert.Equal(t, int64(1), s.InUse())
		s.Release(1)
	})
}

func TestStrictWaiterCancelledAfterFailureLeavesStateAlone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := wsem.NewStrict(2, wsem.Unbounded, wsem.Unbounded)
		require.NoError(t, s.Acquire(context.Background(), 2))
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() { errc <- s.Acquire(ctx, 2) }()
		synctest.Wait()
		s.Resize(1)
		cancel() // after the failure: must not touch the lists again
		assert.ErrorIs(t, <-errc, wsem.ErrTooLarge)
		assert.Equal(t, 0, s.Waiting())
		s.Release(2)
		assert.True(t, s.TryAcquire(1))
	})
}

// WaitIdle racing a Release on the fast path must see the release: the
// word is frozen before it is read. (Before, a release between the look
// and the freeze left WaitIdle waiting for ever.)
func TestWaitIdleRacingFastRelease(t *testing.T) {
	s := wsem.NewStrict(1, wsem.Unbounded, wsem.Unbounded)
	for round := range 20000 {
		require.True(t, s.TryAcquire(1))
		go s.Release(1)
		stop := make(chan struct{})
		tm := time.AfterFunc(5*time.Second, func() { close(stop) })
		require.Truef(t, s.WaitIdle(stop), "round %d: WaitIdle missed the release", round)
		tm.Stop()
	}
}
