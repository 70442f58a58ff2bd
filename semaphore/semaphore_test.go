package semaphore_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
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
	xsem "golang.org/x/sync/semaphore"

	"github.com/weir-go/weir/semaphore"
)

const releasedMoreThanHeld = "semaphore: released more than held"

// acquirer is one Acquire call running in its own goroutine. Create it with
// goAcquire inside a synctest bubble.
type acquirer struct {
	n      int64
	cancel context.CancelFunc
	ch     chan error // receives the result of Acquire
	done   bool
	err    error
}

// goAcquire starts s.Acquire(ctx', n) in a new goroutine, where ctx' is a
// cancelable child of ctx, and waits until that goroutine has either
// returned or durably blocked, so that successive calls arrive in order.
func goAcquire(ctx context.Context, s *semaphore.Weighted, n int64) *acquirer {
	ctx, cancel := context.WithCancel(ctx)
	a := &acquirer{n: n, cancel: cancel, ch: make(chan error, 1)}
	go func() { a.ch <- s.Acquire(ctx, n) }()
	synctest.Wait()
	return a
}

// returned reports whether Acquire has returned, recording its result.
func (a *acquirer) returned() bool {
	if !a.done {
		select {
		case a.err = <-a.ch:
			a.done = true
		default:
		}
	}
	return a.done
}

func requireBlocked(t *testing.T, as ...*acquirer) {
	t.Helper()
	synctest.Wait()
	for i, a := range as {
		require.False(t, a.returned(), "acquirer #%d: Acquire(ctx, %d) returned %v, want it still blocked", i, a.n, a.err)
	}
}

func requireGranted(t *testing.T, as ...*acquirer) {
	t.Helper()
	synctest.Wait()
	for i, a := range as {
		require.True(t, a.returned(), "acquirer #%d: Acquire(ctx, %d) still blocked, want it granted", i, a.n)
		require.NoError(t, a.err, "acquirer #%d: Acquire(ctx, %d)", i, a.n)
	}
}

func requireFailed(t *testing.T, a *acquirer, want error) {
	t.Helper()
	synctest.Wait()
	require.True(t, a.returned(), "Acquire(ctx, %d) still blocked, want it to fail with %v", a.n, want)
	require.Equal(t, want, a.err, "Acquire(ctx, %d) must return ctx.Err() unchanged", a.n)
}

func requireState(t *testing.T, s *semaphore.Weighted, wantSize, wantInUse int64, wantWaiting int) {
	t.Helper()
	require.Equal(t, wantSize, s.Size(), "Size()")
	require.Equal(t, wantInUse, s.InUse(), "InUse()")
	require.Equal(t, wantWaiting, s.Waiting(), "Waiting()")
}

// mustTryAcquire takes n from s, failing the test if it cannot.
func mustTryAcquire(t *testing.T, s *semaphore.Weighted, n int64) {
	t.Helper()
	require.True(t, s.TryAcquire(n), "TryAcquire(%d) with Size()=%d InUse()=%d Waiting()=%d", n, s.Size(), s.InUse(), s.Waiting())
}

// panicValue runs f and returns what it panicked with.
func panicValue(f func()) (v any, panicked bool) {
	defer func() {
		if r := recover(); r != nil {
			v, panicked = r, true
		}
	}()
	f()
	return nil, false
}

// errCtx is a context that is already done and whose Err is a custom error,
// to check that Acquire returns ctx.Err() unchanged.
type errCtx struct {
	context.Context
	done chan struct{}
	err  error
}

var errCustom = errors.New("custom context error")

func newErrCtx() errCtx {
	done := make(chan struct{})
	close(done)
	return errCtx{Context: context.Background(), done: done, err: errCustom}
}

func (c errCtx) Done() <-chan struct{} { return c.done }
func (c errCtx) Err() error            { return c.err }

func TestNewWeighted(t *testing.T) {
	tests := []struct {
		name string
		give int64
	}{
		{name: "zero", give: 0},
		{name: "one", give: 1},
		{name: "ten", give: 10},
		{name: "max int64", give: math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := semaphore.NewWeighted(tt.give)
			requireState(t, s, tt.give, 0, 0)
			if tt.give < math.MaxInt64 {
				assert.False(t, s.TryAcquire(tt.give+1), "TryAcquire(size+1)")
			}
			mustTryAcquire(t, s, tt.give)
			requireState(t, s, tt.give, tt.give, 0)
			assert.False(t, s.TryAcquire(1), "TryAcquire(1) on a full semaphore")
			s.Release(tt.give)
			requireState(t, s, tt.give, 0, 0)
		})
	}
}

func TestZeroValue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()

		var s semaphore.Weighted
		requireState(t, &s, 0, 0, 0)
		require.NoError(t, s.Acquire(ctx, 0))
		require.True(t, s.TryAcquire(0))
		require.False(t, s.TryAcquire(1))
		s.Release(0)
		requireState(t, &s, 0, 0, 0)

		// Acquire(1) is larger than the size: it waits until its ctx ends.
		tctx, tcancel := context.WithTimeout(ctx, time.Second)
		defer tcancel()
		a := goAcquire(tctx, &s, 1)
		requireBlocked(t, a)
		requireState(t, &s, 0, 0, 1)
		time.Sleep(time.Second)
		requireFailed(t, a, context.DeadlineExceeded)
		requireState(t, &s, 0, 0, 0)

		require.PanicsWithValue(t, releasedMoreThanHeld, func() { s.Release(1) })

		// The zero value can be resized like any other.
		var z semaphore.Weighted
		z.Resize(2)
		requireState(t, &z, 2, 0, 0)
		mustTryAcquire(t, &z, 2)
		require.False(t, z.TryAcquire(1))
		z.Release(2)
		requireState(t, &z, 2, 0, 0)
	})
}

func TestNegativeArgumentPanics(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		give int64
		call func(s *semaphore.Weighted, n int64)
	}{
		{name: "NewWeighted", give: -7, call: func(_ *semaphore.Weighted, n int64) { semaphore.NewWeighted(n) }},
		{name: "NewWeighted min int64", give: math.MinInt64, call: func(_ *semaphore.Weighted, n int64) { semaphore.NewWeighted(n) }},
		{name: "Acquire", give: -7, call: func(s *semaphore.Weighted, n int64) { _ = s.Acquire(context.Background(), n) }},
		{name: "Acquire done ctx", give: -3, call: func(s *semaphore.Weighted, n int64) { _ = s.Acquire(canceled, n) }},
		{name: "Acquire min int64", give: math.MinInt64, call: func(s *semaphore.Weighted, n int64) { _ = s.Acquire(context.Background(), n) }},
		{name: "TryAcquire", give: -7, call: func(s *semaphore.Weighted, n int64) { s.TryAcquire(n) }},
		{name: "TryAcquire min int64", give: math.MinInt64, call: func(s *semaphore.Weighted, n int64) { s.TryAcquire(n) }},
		{name: "Release", give: -7, call: func(s *semaphore.Weighted, n int64) { s.Release(n) }},
		{name: "Release min int64", give: math.MinInt64, call: func(s *semaphore.Weighted, n int64) { s.Release(n) }},
		{name: "Resize", give: -7, call: func(s *semaphore.Weighted, n int64) { s.Resize(n) }},
		{name: "Resize min int64", give: math.MinInt64, call: func(s *semaphore.Weighted, n int64) { s.Resize(n) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// In a bubble, so that an Acquire that blocks instead of
			// panicking is reported as a deadlock rather than hanging.
			synctest.Test(t, func(t *testing.T) {
				s := semaphore.NewWeighted(3)
				mustTryAcquire(t, s, 1)

				v, panicked := panicValue(func() { tt.call(s, tt.give) })
				require.True(t, panicked, "%s(%d) did not panic", tt.name, tt.give)
				msg := fmt.Sprint(v)
				assert.True(t, strings.HasPrefix(msg, "semaphore:"), "panic message %q must start with %q", msg, "semaphore:")
				assert.Contains(t, msg, strconv.FormatInt(tt.give, 10), "panic message must name the bad value")

				// The failed call changed nothing.
				requireState(t, s, 3, 1, 0)
				mustTryAcquire(t, s, 2)
				s.Release(3)
				requireState(t, s, 3, 0, 0)
			})
		})
	}
}

func TestReleaseMoreThanHeldPanics(t *testing.T) {
	tests := []struct {
		name       string
		giveSize   int64
		giveHeld   int64
		giveResize int64 // if >= 0, Resize to it after acquiring
		giveRelase int64
	}{
		{name: "nothing held", giveSize: 1, giveHeld: 0, giveResize: -1, giveRelase: 1},
		{name: "one more than held", giveSize: 3, giveHeld: 2, giveResize: -1, giveRelase: 3},
		{name: "more than size", giveSize: 3, giveHeld: 3, giveResize: -1, giveRelase: 4},
		{name: "size zero", giveSize: 0, giveHeld: 0, giveResize: -1, giveRelase: 1},
		{name: "after shrink, held above size", giveSize: 4, giveHeld: 4, giveResize: 2, giveRelase: 5},
		{name: "after grow", giveSize: 2, giveHeld: 1, giveResize: 6, giveRelase: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := semaphore.NewWeighted(tt.giveSize)
			mustTryAcquire(t, s, tt.giveHeld)
			if tt.giveResize >= 0 {
				s.Resize(tt.giveResize)
			}
			require.PanicsWithValue(t, releasedMoreThanHeld, func() { s.Release(tt.giveRelase) })
		})
	}

	t.Run("released twice", func(t *testing.T) {
		s := semaphore.NewWeighted(2)
		mustTryAcquire(t, s, 1)
		s.Release(1)
		require.PanicsWithValue(t, releasedMoreThanHeld, func() { s.Release(1) })
	})

	t.Run("with waiters queued", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			s := semaphore.NewWeighted(2)
			mustTryAcquire(t, s, 2)
			a := goAcquire(ctx, s, 1)
			requireBlocked(t, a)
			require.PanicsWithValue(t, releasedMoreThanHeld, func() { s.Release(3) })
			a.cancel()
			requireFailed(t, a, context.Canceled)
		})
	})
}

func TestReleaseHeldAfterShrinkDoesNotPanic(t *testing.T) {
	s := semaphore.NewWeighted(4)
	mustTryAcquire(t, s, 4)
	s.Resize(1)
	requireState(t, s, 1, 4, 0)
	require.NotPanics(t, func() { s.Release(3) })
	requireState(t, s, 1, 1, 0)
	require.NotPanics(t, func() { s.Release(1) })
	requireState(t, s, 1, 0, 0)
}

func TestTryAcquire(t *testing.T) {
	tests := []struct {
		name      string
		giveSize  int64
		giveHeld  int64
		giveN     int64
		want      bool
		wantInUse int64
	}{
		{name: "fits exactly", giveSize: 2, giveHeld: 0, giveN: 2, want: true, wantInUse: 2},
		{name: "fits in the rest", giveSize: 5, giveHeld: 2, giveN: 3, want: true, wantInUse: 5},
		{name: "one too many", giveSize: 5, giveHeld: 2, giveN: 4, want: false, wantInUse: 2},
		{name: "larger than size", giveSize: 2, giveHeld: 0, giveN: 3, want: false, wantInUse: 0},
		{name: "zero on full", giveSize: 1, giveHeld: 1, giveN: 0, want: true, wantInUse: 1},
		{name: "zero on size zero", giveSize: 0, giveHeld: 0, giveN: 0, want: true, wantInUse: 0},
		{name: "one on size zero", giveSize: 0, giveHeld: 0, giveN: 1, want: false, wantInUse: 0},
		{name: "huge size", giveSize: math.MaxInt64, giveHeld: math.MaxInt64 - 1, giveN: 1, want: true, wantInUse: math.MaxInt64},
		{name: "huge n", giveSize: 10, giveHeld: 0, giveN: math.MaxInt64, want: false, wantInUse: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := semaphore.NewWeighted(tt.giveSize)
			mustTryAcquire(t, s, tt.giveHeld)
			assert.Equal(t, tt.want, s.TryAcquire(tt.giveN))
			requireState(t, s, tt.giveSize, tt.wantInUse, 0)
		})
	}

	// The sequence from x/sync's TestWeightedTryAcquire.
	t.Run("x/sync sequence", func(t *testing.T) {
		ctx := context.Background()
		s := semaphore.NewWeighted(2)
		var got []bool
		require.NoError(t, s.Acquire(ctx, 1))
		got = append(got, s.TryAcquire(1))
		got = append(got, s.TryAcquire(1))
		s.Release(2)
		got = append(got, s.TryAcquire(1))
		require.NoError(t, s.Acquire(ctx, 1))
		got = append(got, s.TryAcquire(1))
		require.Equal(t, []bool{true, false, true, false}, got)
	})
}

func TestTryAcquireWithWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()

		// A waiter that fits the size is queued: TryAcquire fails even
		// though weight is free, for every n.
		s := semaphore.NewWeighted(3)
		mustTryAcquire(t, s, 2)
		a := goAcquire(ctx, s, 2)
		requireBlocked(t, a)
		for _, n := range []int64{0, 1} {
			assert.False(t, s.TryAcquire(n), "TryAcquire(%d) while a waiter is queued", n)
		}
		requireState(t, s, 3, 2, 1)
		a.cancel()
		requireFailed(t, a, context.Canceled)
		require.True(t, s.TryAcquire(1), "TryAcquire(1) once the queue is empty")
		requireState(t, s, 3, 3, 0)
		s.Release(3)

		// A waiter larger than the size blocks nobody.
		o := goAcquire(ctx, s, 4)
		requireBlocked(t, o)
		requireState(t, s, 3, 0, 1)
		require.True(t, s.TryAcquire(3), "TryAcquire(3) beside an oversized waiter")
		s.Release(3)
		require.True(t, s.TryAcquire(0))
		requireState(t, s, 3, 0, 1)
		o.cancel()
		requireFailed(t, o, context.Canceled)
		requireState(t, s, 3, 0, 0)
	})
}

func TestAcquireImmediate(t *testing.T) {
	tests := []struct {
		name      string
		giveSize  int64
		giveHeld  int64
		giveN     int64
		wantInUse int64
	}{
		{name: "empty", giveSize: 3, giveHeld: 0, giveN: 1, wantInUse: 1},
		{name: "whole size", giveSize: 3, giveHeld: 0, giveN: 3, wantInUse: 3},
		{name: "the rest", giveSize: 3, giveHeld: 1, giveN: 2, wantInUse: 3},
		{name: "zero on full", giveSize: 3, giveHeld: 3, giveN: 0, wantInUse: 3},
		{name: "zero on size zero", giveSize: 0, giveHeld: 0, giveN: 0, wantInUse: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := semaphore.NewWeighted(tt.giveSize)
				mustTryAcquire(t, s, tt.giveHeld)
				// Must not block: inside the bubble a block is a deadlock.
				require.NoError(t, s.Acquire(context.Background(), tt.giveN))
				requireState(t, s, tt.giveSize, tt.wantInUse, 0)
			})
		})
	}
}

func TestAcquireBlocksUntilRelease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()

		s := semaphore.NewWeighted(2)
		require.NoError(t, s.Acquire(ctx, 2))
		a := goAcquire(ctx, s, 1)
		requireBlocked(t, a)
		requireState(t, s, 2, 2, 1)

		s.Release(1)
		requireGranted(t, a)
		requireState(t, s, 2, 2, 0)
		s.Release(2)
		requireState(t, s, 2, 0, 0)
	})
}

// TestAcquireGrantOrder checks that waiters are granted strictly in the
// order they arrived: after each Release the set of granted waiters must be
// exactly a prefix of the arrival order.
func TestAcquireGrantOrder(t *testing.T) {
	tests := []struct {
		name         string
		giveSize     int64
		giveHeld     int64
		giveWeights  []int64 // arrival order
		giveReleases []int64
		want         [][]int // indices granted after each release
	}{
		{
			name:     "unit weights one at a time",
			giveSize: 1, giveHeld: 1,
			giveWeights:  []int64{1, 1, 1, 1},
			giveReleases: []int64{1, 1, 1, 1},
			want:         [][]int{{0}, {0, 1}, {0, 1, 2}, {0, 1, 2, 3}},
		},
		{
			name:     "mixed weights",
			giveSize: 5, giveHeld: 5,
			giveWeights:  []int64{2, 1, 3, 1},
			giveReleases: []int64{1, 1, 4, 1},
			want:         [][]int{{}, {0}, {0, 1, 2}, {0, 1, 2, 3}},
		},
		{
			name:     "large head blocks smaller later waiters",
			giveSize: 4, giveHeld: 4,
			giveWeights:  []int64{4, 1, 1},
			giveReleases: []int64{1, 1, 1, 1, 4},
			want:         [][]int{{}, {}, {}, {0}, {0, 1, 2}},
		},
		{
			name:     "zero weights wait their turn",
			giveSize: 2, giveHeld: 2,
			giveWeights:  []int64{1, 0, 2, 0},
			giveReleases: []int64{1, 1, 1},
			want:         [][]int{{0, 1}, {0, 1}, {0, 1, 2, 3}},
		},
		{
			name:     "one release grants several",
			giveSize: 6, giveHeld: 6,
			giveWeights:  []int64{1, 2, 3, 1},
			giveReleases: []int64{6, 1, 2, 3},
			want:         [][]int{{0, 1, 2}, {0, 1, 2, 3}, {0, 1, 2, 3}, {0, 1, 2, 3}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()

				s := semaphore.NewWeighted(tt.giveSize)
				mustTryAcquire(t, s, tt.giveHeld)
				as := make([]*acquirer, len(tt.giveWeights))
				for i, w := range tt.giveWeights {
					as[i] = goAcquire(ctx, s, w)
				}
				requireBlocked(t, as...)

				for step, r := range tt.giveReleases {
					s.Release(r)
					synctest.Wait()
					got := []int{}
					for i, a := range as {
						if a.returned() {
							require.NoError(t, a.err, "waiter %d", i)
							got = append(got, i)
						}
					}
					require.Equal(t, tt.want[step], got, "granted after release #%d (Release(%d))", step, r)
				}

				// Everyone was granted: give it all back.
				var total int64
				for _, w := range tt.giveWeights {
					total += w
				}
				require.Equal(t, tt.giveHeld+total-sum(tt.giveReleases), s.InUse())
				s.Release(s.InUse())
				requireState(t, s, tt.giveSize, 0, 0)
			})
		})
	}
}

func sum(xs []int64) (n int64) {
	for _, x := range xs {
		n += x
	}
	return n
}

// TestAcquireGrantOrderRecorded records the order in which waiters are
// granted, one grant per Release, and requires it to be the arrival order.
func TestAcquireGrantOrderRecorded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()

		const waiters = 8
		s := semaphore.NewWeighted(1)
		mustTryAcquire(t, s, 1)

		var mu sync.Mutex
		var order []int
		var wg sync.WaitGroup
		for i := range waiters {
			wg.Go(func() {
				if err := s.Acquire(ctx, 1); err != nil {
					t.Errorf("waiter %d: %v", i, err)
					return
				}
				mu.Lock()
				order = append(order, i)
				mu.Unlock()
			})
			synctest.Wait() // fix the arrival order
		}
		require.Equal(t, waiters, s.Waiting())
		for range waiters {
			s.Release(1)
			synctest.Wait()
		}
		wg.Wait()
		require.Equal(t, []int{0, 1, 2, 3, 4, 5, 6, 7}, order)
		s.Release(1)
		requireState(t, s, 1, 0, 0)
	})
}

// TestLargeWaiterNotStarved: a writer wanting the whole semaphore is queued
// behind readers; readers that arrive after it must not overtake it, even
// though there is always a unit free for them.
func TestLargeWaiterNotStarved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()

		const n = 4
		s := semaphore.NewWeighted(n)
		for range n {
			require.NoError(t, s.Acquire(ctx, 1)) // n readers hold a unit each
		}
		writer := goAcquire(ctx, s, n)
		requireBlocked(t, writer)

		// Each reader gives its unit back and tries to take one again.
		var readers []*acquirer
		for i := range n {
			s.Release(1)
			r := goAcquire(ctx, s, 1)
			readers = append(readers, r)
			require.False(t, s.TryAcquire(1), "TryAcquire(1) overtook the queued writer")
			if i < n-1 {
				requireBlocked(t, writer)
				requireBlocked(t, readers...)
			}
		}
		// All the readers' units are back: the writer goes first.
		requireGranted(t, writer)
		requireBlocked(t, readers...)
		requireState(t, s, n, n, n)

		s.Release(n)
		requireGranted(t, readers...)
		requireState(t, s, n, n, 0)
		s.Release(n)
		requireState(t, s, n, 0, 0)
	})
}

func TestCancelHeadLetsFollowersThrough(t *testing.T) {
	tests := []struct {
		name        string
		giveTimeout bool // end the head by deadline rather than cancel
		wantErr     error
	}{
		{name: "cancel", wantErr: context.Canceled},
		{name: "deadline", giveTimeout: true, wantErr: context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()

				s := semaphore.NewWeighted(3)
				mustTryAcquire(t, s, 2)
				headCtx := ctx
				if tt.giveTimeout {
					var c context.CancelFunc
					headCtx, c = context.WithTimeout(ctx, time.Minute)
					defer c()
				}
				head := goAcquire(headCtx, s, 2)
				b := goAcquire(ctx, s, 1)
				c := goAcquire(ctx, s, 1)
				requireBlocked(t, head, b, c)
				requireState(t, s, 3, 2, 3)

				if tt.giveTimeout {
					time.Sleep(time.Minute)
				} else {
					head.cancel()
				}
				requireFailed(t, head, tt.wantErr)
				requireGranted(t, b)
				requireBlocked(t, c)
				requireState(t, s, 3, 3, 1)

				s.Release(1)
				requireGranted(t, c)
				requireState(t, s, 3, 3, 0)
				s.Release(3)
				requireState(t, s, 3, 0, 0)
			})
		})
	}

	t.Run("follower still does not fit", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()

			s := semaphore.NewWeighted(3)
			mustTryAcquire(t, s, 2)
			head := goAcquire(ctx, s, 2)
			b := goAcquire(ctx, s, 2)
			requireBlocked(t, head, b)
			head.cancel()
			requireFailed(t, head, context.Canceled)
			requireBlocked(t, b)
			requireState(t, s, 3, 2, 1)
			s.Release(1)
			requireGranted(t, b)
			requireState(t, s, 3, 3, 0)
			s.Release(3)
		})
	})

	// An oversized waiter that arrived first is not "the head": cancelling
	// the first waiter that fits the size must still let the others in.
	t.Run("behind an oversized waiter", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()

			s := semaphore.NewWeighted(3)
			mustTryAcquire(t, s, 2)
			over := goAcquire(ctx, s, 5)
			head := goAcquire(ctx, s, 2)
			b := goAcquire(ctx, s, 1)
			requireBlocked(t, over, head, b)
			requireState(t, s, 3, 2, 3)

			head.cancel()
			requireFailed(t, head, context.Canceled)
			requireGranted(t, b)
			requireBlocked(t, over)
			requireState(t, s, 3, 3, 1)

			over.cancel()
			requireFailed(t, over, context.Canceled)
			s.Release(3)
			requireState(t, s, 3, 0, 0)
		})
	})

	// From x/sync's TestAllocCancelDoesntStarve: cancelling a large head
	// concurrently with a small Acquire must let the small one through.
	t.Run("concurrent cancel and acquire", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := semaphore.NewWeighted(10)
			require.NoError(t, s.Acquire(context.Background(), 1))
			head := goAcquire(context.Background(), s, 10)
			requireBlocked(t, head)
			go head.cancel()
			require.NoError(t, s.Acquire(context.Background(), 1))
			requireFailed(t, head, context.Canceled)
			s.Release(2)
			requireState(t, s, 10, 0, 0)
		})
	})
}

func TestCancelNonHeadLeavesState(t *testing.T) {
	tests := []struct {
		name       string
		giveCancel int // index of the waiter to cancel, never 0
	}{
		{name: "middle", giveCancel: 1},
		{name: "tail", giveCancel: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()

				s := semaphore.NewWeighted(2)
				mustTryAcquire(t, s, 2)
				as := []*acquirer{goAcquire(ctx, s, 1), goAcquire(ctx, s, 1), goAcquire(ctx, s, 1)}
				requireBlocked(t, as...)
				requireState(t, s, 2, 2, 3)

				as[tt.giveCancel].cancel()
				requireFailed(t, as[tt.giveCancel], context.Canceled)
				rest := slices.Delete(slices.Clone(as), tt.giveCancel, tt.giveCancel+1)
				requireBlocked(t, rest...)
				requireState(t, s, 2, 2, 2)
				require.False(t, s.TryAcquire(0), "TryAcquire(0) while waiters are queued")

				s.Release(1)
				requireGranted(t, rest[0])
				requireBlocked(t, rest[1])
				requireState(t, s, 2, 2, 1)
				s.Release(1)
				requireGranted(t, rest[1])
				requireState(t, s, 2, 2, 0)
				s.Release(2)
				requireState(t, s, 2, 0, 0)
			})
		})
	}
}

func TestAcquireCtxAlreadyDone(t *testing.T) {
	ctxs := []struct {
		name string
		give func() (context.Context, context.CancelFunc)
	}{
		{name: "canceled", give: func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		}},
		{name: "deadline passed", give: func() (context.Context, context.CancelFunc) {
			return context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		}},
		{name: "custom error", give: func() (context.Context, context.CancelFunc) {
			return newErrCtx(), func() {}
		}},
	}
	tests := []struct {
		name     string
		giveSize int64
		giveHeld int64
		giveN    int64
		giveWait int64 // if > 0, a waiter of this weight is queued first
	}{
		{name: "room available", giveSize: 3, giveHeld: 1, giveN: 2},
		{name: "zero weight", giveSize: 3, giveHeld: 3, giveN: 0},
		{name: "zero weight size zero", giveSize: 0, giveHeld: 0, giveN: 0},
		{name: "no room", giveSize: 3, giveHeld: 3, giveN: 1},
		{name: "larger than size", giveSize: 3, giveHeld: 0, giveN: 4},
		{name: "waiters queued", giveSize: 3, giveHeld: 2, giveN: 1, giveWait: 3},
	}
	for _, c := range ctxs {
		for _, tt := range tests {
			t.Run(c.name+"/"+tt.name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					bg, cancel := context.WithCancel(context.Background())
					defer cancel()
					doneCtx, doneCancel := c.give()
					defer doneCancel()

					s := semaphore.NewWeighted(tt.giveSize)
					mustTryAcquire(t, s, tt.giveHeld)
					wantWaiting := 0
					var w *acquirer
					if tt.giveWait > 0 {
						w = goAcquire(bg, s, tt.giveWait)
						requireBlocked(t, w)
						wantWaiting = 1
					}

					err := s.Acquire(doneCtx, tt.giveN)
					require.Error(t, err)
					require.Equal(t, doneCtx.Err(), err, "Acquire must return ctx.Err() unchanged")
					requireState(t, s, tt.giveSize, tt.giveHeld, wantWaiting)

					if w != nil {
						w.cancel()
						requireFailed(t, w, context.Canceled)
					}
					// Nothing was taken: what was free still is.
					mustTryAcquire(t, s, tt.giveSize-tt.giveHeld)
					requireState(t, s, tt.giveSize, tt.giveSize, 0)
				})
			})
		}
	}
}

// TestAcquireCanceledBeforeGrant is x/sync's TestWeightedAcquireCanceled
// (go.dev/issue/63615): the ctx of a waiter is canceled before the weight it
// needs is released, so its Acquire must fail and give back what it may
// have been granted, to the next waiter.
//
// With GOMAXPROCS(1) the waiter only runs once the test goroutine blocks,
// after the Release, so it finds both its ctx done and the weight granted;
// which of the two its select sees first is random, so each path is taken
// in about half of the runs.
func TestAcquireCanceledBeforeGrant(t *testing.T) {
	for _, procs := range []int{0, 1} {
		t.Run("GOMAXPROCS="+strconv.Itoa(procs), func(t *testing.T) {
			if procs > 0 {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			}
			for i := range 32 {
				testAcquireCanceledBeforeGrant(t, i)
			}
		})
	}
}

func testAcquireCanceledBeforeGrant(t *testing.T, i int) {
	t.Run(strconv.Itoa(i), func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()

			s := semaphore.NewWeighted(2)
			mustTryAcquire(t, s, 1)
			a := goAcquire(ctx, s, 2)
			b := goAcquire(ctx, s, 1)
			requireBlocked(t, a, b)

			a.cancel()
			s.Release(1) // no Wait in between
			requireFailed(t, a, context.Canceled)
			requireGranted(t, b)
			requireState(t, s, 2, 1, 0)
			s.Release(1)
			mustTryAcquire(t, s, 2)
			s.Release(2)
			requireState(t, s, 2, 0, 0)
		})
	})
}

// weighted is what x/sync's semaphore and ours have in common.
type weighted interface {
	Acquire(ctx context.Context, n int64) error
	TryAcquire(n int64) bool
	Release(n int64)
}

// TestAcquireGrantedThenCanceledBeforeReturn: a waiter is granted, and its
// ctx ends before it gets to run again. x/sync checks ctx after being
// granted, gives the weight back and returns ctx.Err(); with GOMAXPROCS(1)
// that schedule is deterministic, so the test runs it on x/sync too, to
// show that this is what x/sync does.
func TestAcquireGrantedThenCanceledBeforeReturn(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	impls := []struct {
		name string
		give func(n int64) weighted
	}{
		{name: "x/sync", give: func(n int64) weighted { return xsem.NewWeighted(n) }},
		{name: "weir", give: func(n int64) weighted { return semaphore.NewWeighted(n) }},
	}
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			for range 16 {
				synctest.Test(t, func(t *testing.T) {
					ctx, cancel := context.WithCancel(context.Background())
					defer cancel()

					s := im.give(2)
					require.True(t, s.TryAcquire(1))
					ch := make(chan error, 1)
					go func() { ch <- s.Acquire(ctx, 2) }()
					synctest.Wait()

					s.Release(1) // grants the waiter...
					cancel()     // ...whose ctx ends before it runs again
					synctest.Wait()
					require.Equal(t, context.Canceled, <-ch, "Acquire granted, then ctx done before it returned")
					require.True(t, s.TryAcquire(2), "the waiter must have given the weight back")
					s.Release(2)
				})
			}
		})
	}
}

// TestAcquirePostGrant: once Acquire has returned nil the weight is held
// until Release, whatever happens to ctx afterwards.
func TestAcquirePostGrant(t *testing.T) {
	tests := []struct {
		name      string
		giveQueue bool // granted from the queue rather than at once
	}{
		{name: "immediate"},
		{name: "queued", giveQueue: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := semaphore.NewWeighted(3)
				if tt.giveQueue {
					mustTryAcquire(t, s, 3)
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				a := goAcquire(ctx, s, 2)
				if tt.giveQueue {
					requireBlocked(t, a)
					s.Release(3)
				}
				requireGranted(t, a)
				requireState(t, s, 3, 2, 0)

				a.cancel()
				time.Sleep(2 * time.Second) // and the deadline passes
				synctest.Wait()
				requireState(t, s, 3, 2, 0)
				require.False(t, s.TryAcquire(2), "the granted weight must still be held")
				mustTryAcquire(t, s, 1)
				s.Release(1)
				s.Release(2)
				requireState(t, s, 3, 0, 0)
				mustTryAcquire(t, s, 3)
				s.Release(3)
			})
		})
	}
}

func TestAcquireZero(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, ctx context.Context)
	}{
		{name: "full semaphore, nobody waits", run: func(t *testing.T, ctx context.Context) {
			s := semaphore.NewWeighted(1)
			mustTryAcquire(t, s, 1)
			z := goAcquire(ctx, s, 0)
			requireGranted(t, z)
			requireState(t, s, 1, 1, 0)
		}},
		{name: "size zero", run: func(t *testing.T, ctx context.Context) {
			s := semaphore.NewWeighted(0)
			z := goAcquire(ctx, s, 0)
			requireGranted(t, z)
			requireState(t, s, 0, 0, 0)
		}},
		{name: "queued behind a waiter", run: func(t *testing.T, ctx context.Context) {
			s := semaphore.NewWeighted(2)
			mustTryAcquire(t, s, 2)
			a := goAcquire(ctx, s, 1)
			z := goAcquire(ctx, s, 0)
			requireBlocked(t, a, z)
			requireState(t, s, 2, 2, 2)
			require.False(t, s.TryAcquire(0), "TryAcquire(0) while waiters are queued")
			s.Release(1)
			requireGranted(t, a, z)
			requireState(t, s, 2, 2, 0)
		}},
		{name: "queued behind a large head", run: func(t *testing.T, ctx context.Context) {
			s := semaphore.NewWeighted(2)
			mustTryAcquire(t, s, 1)
			a := goAcquire(ctx, s, 2)
			z := goAcquire(ctx, s, 0)
			requireBlocked(t, a, z)
			s.Release(1)
			requireGranted(t, a, z)
			requireState(t, s, 2, 2, 0)
		}},
		{name: "queued then head canceled", run: func(t *testing.T, ctx context.Context) {
			s := semaphore.NewWeighted(2)
			mustTryAcquire(t, s, 1)
			a := goAcquire(ctx, s, 2)
			z := goAcquire(ctx, s, 0)
			requireBlocked(t, a, z)
			a.cancel()
			requireFailed(t, a, context.Canceled)
			requireGranted(t, z)
			requireState(t, s, 2, 1, 0)
		}},
		{name: "beside an oversized waiter", run: func(t *testing.T, ctx context.Context) {
			s := semaphore.NewWeighted(2)
			mustTryAcquire(t, s, 2)
			o := goAcquire(ctx, s, 3)
			requireBlocked(t, o)
			z := goAcquire(ctx, s, 0)
			requireGranted(t, z)
			requireState(t, s, 2, 2, 1)
			o.cancel()
			requireFailed(t, o, context.Canceled)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				tt.run(t, ctx)
			})
		})
	}
}

// TestAcquireZeroWhileOverCommitted: after a shrink leaves InUse above
// Size, every new request waits until InUse + n <= Size, n == 0 included
// (x/sync's test for a grant is size-cur >= n, which a shrink makes false
// even for n == 0).
func TestAcquireZeroWhileOverCommitted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()

		s := semaphore.NewWeighted(4)
		mustTryAcquire(t, s, 4)
		s.Resize(2)
		require.False(t, s.TryAcquire(0), "TryAcquire(0) with InUse 4 > Size 2")
		z := goAcquire(ctx, s, 0)
		requireBlocked(t, z)
		requireState(t, s, 2, 4, 1)
		s.Release(1) // InUse 3 > Size 2
		requireBlocked(t, z)
		requireState(t, s, 2, 3, 1)
		s.Release(1) // InUse 2 == Size 2
		requireGranted(t, z)
		requireState(t, s, 2, 2, 0)
		require.True(t, s.TryAcquire(0))
		s.Release(2)
		requireState(t, s, 2, 0, 0)
	})
}

func TestAcquireOversized(t *testing.T) {
	t.Run("waits until ctx ends and blocks nobody", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()

			s := semaphore.NewWeighted(2)
			octx, ocancel := context.WithTimeout(ctx, time.Hour)
			defer ocancel()
			o := goAcquire(octx, s, 3)
			requireBlocked(t, o)
			requireState(t, s, 2, 0, 1)

			// Others come and go as if o were not there.
			mustTryAcquire(t, s, 2)
			s.Release(2)
			a := goAcquire(ctx, s, 1)
			b := goAcquire(ctx, s, 1)
			requireGranted(t, a, b)
			c := goAcquire(ctx, s, 2)
			requireBlocked(t, c)
			requireState(t, s, 2, 2, 2)
			s.Release(2)
			requireGranted(t, c)
			s.Release(2)

			// Even with everything free, o cannot be granted.
			requireBlocked(t, o)
			requireState(t, s, 2, 0, 1)
			time.Sleep(time.Hour - time.Nanosecond)
			requireBlocked(t, o)
			time.Sleep(time.Nanosecond)
			requireFailed(t, o, context.DeadlineExceeded)
			requireState(t, s, 2, 0, 0)
			mustTryAcquire(t, s, 2)
			s.Release(2)
		})
	})

	// x/sync's TestWeightedDoesntBlockIfTooBig, with many small acquirers.
	t.Run("many small acquirers beside it", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()

			const n = 2
			s := semaphore.NewWeighted(n)
			o := goAcquire(ctx, s, n+1)
			var wg sync.WaitGroup
			for range n * 3 {
				wg.Go(func() {
					if err := s.Acquire(ctx, 1); err != nil {
						t.Errorf("Acquire(ctx, 1) beside Acquire(ctx, %d): %v", n+1, err)
						return
					}
					time.Sleep(time.Millisecond)
					s.Release(1)
				})
			}
			wg.Wait()
			requireBlocked(t, o)
			o.cancel()
			requireFailed(t, o, context.Canceled)
			requireState(t, s, n, 0, 0)
		})
	})

	t.Run("between fitting waiters", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()

			s := semaphore.NewWeighted(2)
			mustTryAcquire(t, s, 2)
			a := goAcquire(ctx, s, 1)
			o := goAcquire(ctx, s, 3)
			b := goAcquire(ctx, s, 1)
			requireBlocked(t, a, o, b)
			requireState(t, s, 2, 2, 3)

			s.Release(2)
			requireGranted(t, a, b)
			requireBlocked(t, o)
			requireState(t, s, 2, 2, 1)

			o.cancel()
			requireFailed(t, o, context.Canceled)
			requireState(t, s, 2, 2, 0)
			s.Release(2)
		})
	})
}

func TestResizeGrowGrantsOversized(t *testing.T) {
	t.Run("grow to fit with room", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()

			s := semaphore.NewWeighted(2)
			o := goAcquire(ctx, s, 3)
			requireBlocked(t, o)
			s.Resize(3)
			requireGranted(t, o)
			requireState(t, s, 3, 3, 0)
			s.Release(3)
			requireState(t, s, 3, 0, 0)
		})
	})

	t.Run("grow to fit without room", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()

			s := semaphore.NewWeighted(2)
			mustTryAcquire(t, s, 1)
			o := goAcquire(ctx, s, 3)
			requireBlocked(t, o)
			s.Resize(3)
			requireBlocked(t, o)
			requireState(t, s, 3, 1, 1)
			// o now fits the size: it is a queued waiter like any other
			// and new requests queue behind it.
			require.False(t, s.TryAcquire(1), "TryAcquire(1) overtook a waiter that fits after Resize")
			s.Release(1)
			requireGranted(t, o)
			requireState(t, s, 3, 3, 0)
			s.Release(3)
		})
	})

	t.Run("grow that still does not fit", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()

			s := semaphore.NewWeighted(2)
			o := goAcquire(ctx, s, 5)
			s.Resize(4)
			requireBlocked(t, o)
			requireState(t, s, 4, 0, 1)
			mustTryAcquire(t, s, 4)
			s.Release(4)
			o.cancel()
			requireFailed(t, o, context.Canceled)
			requireState(t, s, 4, 0, 0)
		})
	})

	// After the grow, the oversized waiter takes its place by arrival.
	tests := []struct {
		name          string
		giveOverFirst bool
	}{
		{name: "oversized arrived first", giveOverFirst: true},
		{name: "oversized arrived second", giveOverFirst: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()

				s := semaphore.NewWeighted(2)
				mustTryAcquire(t, s, 2)
				var o, b *acquirer
				if tt.giveOverFirst {
					o = goAcquire(ctx, s, 3)
					b = goAcquire(ctx, s, 1)
				} else {
					b = goAcquire(ctx, s, 1)
					o = goAcquire(ctx, s, 3)
				}
				requireBlocked(t, o, b)
				requireState(t, s, 2, 2, 2)

				s.Resize(3) // 1 free
				if tt.giveOverFirst {
					// o (3) is first and does not fit in 1: b waits behind it.
					requireBlocked(t, o, b)
					requireState(t, s, 3, 2, 2)
					s.Release(2) // 3 free
					requireGranted(t, o)
					requireBlocked(t, b)
					requireState(t, s, 3, 3, 1)
					s.Release(3)
					requireGranted(t, b)
					requireState(t, s, 3, 1, 0)
					s.Release(1)
				} else {
					requireGranted(t, b)
					requireBlocked(t, o)
					requireState(t, s, 3, 3, 1)
					s.Release(3)
					requireGranted(t, o)
					requireState(t, s, 3, 3, 0)
					s.Release(3)
				}
				requireState(t, s, 3, 0, 0)
			})
		})
	}
}

func TestResizeGrowWakesInOrder(t *testing.T) {
	tests := []struct {
		name        string
		giveWeights []int64
		giveSizes   []int64 // successive Resize calls
		want        [][]int // indices granted after each Resize
	}{
		{
			name:        "one at a time",
			giveWeights: []int64{1, 2, 1, 3},
			giveSizes:   []int64{2, 4, 5, 8},
			want:        [][]int{{0}, {0, 1}, {0, 1, 2}, {0, 1, 2, 3}},
		},
		{
			name:        "all at once",
			giveWeights: []int64{1, 2, 1, 3},
			giveSizes:   []int64{8},
			want:        [][]int{{0, 1, 2, 3}},
		},
		{
			// w0 is skipped while larger than the size; once it fits
			// the size it takes its place by arrival, ahead of w2.
			name:        "oversized head takes its place by arrival",
			giveWeights: []int64{3, 1, 1, 1},
			giveSizes:   []int64{2, 3, 5, 7},
			want:        [][]int{{1}, {1}, {0, 1}, {0, 1, 2, 3}},
		},
		{
			name:        "oversized head skipped while it does not fit the size",
			giveWeights: []int64{6, 1, 1},
			giveSizes:   []int64{3, 5, 8, 9},
			want:        [][]int{{1, 2}, {1, 2}, {1, 2}, {0, 1, 2}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()

				s := semaphore.NewWeighted(1)
				mustTryAcquire(t, s, 1)
				as := make([]*acquirer, len(tt.giveWeights))
				for i, w := range tt.giveWeights {
					as[i] = goAcquire(ctx, s, w)
				}
				requireBlocked(t, as...)
				for step, size := range tt.giveSizes {
					s.Resize(size)
					synctest.Wait()
					got := []int{}
					for i, a := range as {
						if a.returned() {
							require.NoError(t, a.err, "waiter %d", i)
							got = append(got, i)
						}
					}
					require.Equal(t, tt.want[step], got, "granted after Resize(%d)", size)
				}
				s.Release(s.InUse())
				require.Equal(t, 0, s.Waiting())
			})
		})
	}
}

func TestResizeShrinkBelowHeld(t *testing.T) {
	tests := []struct {
		name         string
		giveSize     int64
		giveHeld     int64
		giveResize   int64
		giveN        int64   // a new Acquire after the shrink
		giveReleases []int64 // one unit at a time until granted
		wantGranted  int     // index in giveReleases after which it is granted
	}{
		{name: "to half", giveSize: 4, giveHeld: 4, giveResize: 2, giveN: 1, giveReleases: []int64{1, 1, 1}, wantGranted: 2},
		{name: "to one", giveSize: 5, giveHeld: 5, giveResize: 1, giveN: 1, giveReleases: []int64{2, 2, 1}, wantGranted: 2},
		{name: "wait for the whole new size", giveSize: 6, giveHeld: 3, giveResize: 2, giveN: 2, giveReleases: []int64{1, 1, 1}, wantGranted: 2},
		{name: "shrink that still leaves room", giveSize: 6, giveHeld: 2, giveResize: 4, giveN: 3, giveReleases: []int64{1}, wantGranted: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()

				s := semaphore.NewWeighted(tt.giveSize)
				mustTryAcquire(t, s, tt.giveHeld)
				s.Resize(tt.giveResize)
				requireState(t, s, tt.giveResize, tt.giveHeld, 0)
				if tt.giveHeld+tt.giveN > tt.giveResize {
					require.False(t, s.TryAcquire(tt.giveN), "TryAcquire(%d) with InUse %d > Size %d", tt.giveN, tt.giveHeld, tt.giveResize)
				}

				a := goAcquire(ctx, s, tt.giveN)
				held := tt.giveHeld
				for i, r := range tt.giveReleases {
					if i == 0 {
						requireBlocked(t, a)
						requireState(t, s, tt.giveResize, held, 1)
					}
					s.Release(r)
					held -= r
					if i < tt.wantGranted {
						requireBlocked(t, a)
						requireState(t, s, tt.giveResize, held, 1)
					}
				}
				requireGranted(t, a)
				requireState(t, s, tt.giveResize, held+tt.giveN, 0)
				s.Release(held + tt.giveN)
				requireState(t, s, tt.giveResize, 0, 0)
				mustTryAcquire(t, s, tt.giveResize)
			})
		})
	}

	t.Run("to zero", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()

			s := semaphore.NewWeighted(3)
			mustTryAcquire(t, s, 3)
			s.Resize(0)
			requireState(t, s, 0, 3, 0)
			a := goAcquire(ctx, s, 1) // larger than the size now
			requireBlocked(t, a)
			s.Release(3)
			requireBlocked(t, a)
			requireState(t, s, 0, 0, 1)
			require.True(t, s.TryAcquire(0))
			require.False(t, s.TryAcquire(1))
			s.Resize(1)
			requireGranted(t, a)
			requireState(t, s, 1, 1, 0)
			s.Release(1)
		})
	})
}

// TestResizeShrinkUnblocksBehindOversizedHead: a shrink makes the head
// waiter larger than the size; it must stop blocking the waiters behind it.
func TestResizeShrinkUnblocksBehindOversizedHead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()

		s := semaphore.NewWeighted(10)
		mustTryAcquire(t, s, 5)
		a := goAcquire(ctx, s, 8)
		b := goAcquire(ctx, s, 2)
		requireBlocked(t, a, b) // b waits behind a: strict FIFO
		requireState(t, s, 10, 5, 2)

		s.Resize(7) // a no longer fits; b does: 5+2 <= 7
		requireGranted(t, b)
		requireBlocked(t, a)
		requireState(t, s, 7, 7, 1)
		require.True(t, s.TryAcquire(0), "TryAcquire(0) beside an oversized waiter with InUse == Size")
		require.False(t, s.TryAcquire(1))

		s.Resize(13) // a fits the size again, but only 6 are free
		requireBlocked(t, a)
		requireState(t, s, 13, 7, 1)
		require.False(t, s.TryAcquire(1), "TryAcquire(1) overtook a queued waiter")
		s.Release(2)
		requireGranted(t, a)
		requireState(t, s, 13, 13, 0)
		s.Release(13)
		requireState(t, s, 13, 0, 0)
	})
}

func TestResizeShrinkHeadStillFits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()

		s := semaphore.NewWeighted(10)
		mustTryAcquire(t, s, 8)
		a := goAcquire(ctx, s, 4)
		b := goAcquire(ctx, s, 1)
		requireBlocked(t, a, b)
		s.Resize(6) // a still fits the size: b stays behind it
		requireBlocked(t, a, b)
		requireState(t, s, 6, 8, 2)
		s.Release(6) // 2 held: a fits (2+4 <= 6), b does not
		requireGranted(t, a)
		requireBlocked(t, b)
		requireState(t, s, 6, 6, 1)
		s.Release(1)
		requireGranted(t, b)
		s.Release(6)
		requireState(t, s, 6, 0, 0)
	})
}

func TestResizeSameSize(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()

		s := semaphore.NewWeighted(2)
		mustTryAcquire(t, s, 1)
		a := goAcquire(ctx, s, 2)
		requireBlocked(t, a)
		s.Resize(2)
		requireBlocked(t, a)
		requireState(t, s, 2, 1, 1)
		s.Release(1)
		requireGranted(t, a)
		s.Release(2)
		requireState(t, s, 2, 0, 0)
	})
}

func TestWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()

		s := semaphore.NewWeighted(2)
		require.Equal(t, 0, s.Waiting())
		mustTryAcquire(t, s, 2)
		require.Equal(t, 0, s.Waiting())

		a := goAcquire(ctx, s, 1)
		require.Equal(t, 1, s.Waiting())
		o := goAcquire(ctx, s, 5) // oversized waiters count too
		require.Equal(t, 2, s.Waiting())
		z := goAcquire(ctx, s, 0)
		require.Equal(t, 3, s.Waiting())
		b := goAcquire(ctx, s, 2)
		require.Equal(t, 4, s.Waiting())
		requireBlocked(t, a, o, z, b)

		o.cancel()
		requireFailed(t, o, context.Canceled)
		require.Equal(t, 3, s.Waiting())

		s.Release(1) // grants a and z
		requireGranted(t, a, z)
		require.Equal(t, 1, s.Waiting())

		s.Release(2) // grants b
		requireGranted(t, b)
		require.Equal(t, 0, s.Waiting())
		requireState(t, s, 2, 2, 0)
		s.Release(2)
	})
}

// TestHammer runs many goroutines with random weights, random cancellations
// and random resizes, and checks with an independent counter that the
// weight held never exceeds the largest size ever set.
func TestHammer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			workers  = 64
			rounds   = 50
			maxSize  = 10
			resizes  = 400
			initSize = 5
		)
		s := semaphore.NewWeighted(initSize)
		var (
			maxSet  atomic.Int64 // largest size set so far; raised before Resize
			held    atomic.Int64 // weight held according to the workers
			granted atomic.Int64
			failed  atomic.Int64
		)
		maxSet.Store(initSize)

		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(w), 0x5eed))
				for range rounds {
					n := 1 + r.Int64N(maxSize)
					ctx, cancel := context.Background(), context.CancelFunc(func() {})
					stop := func() bool { return false }
					mustSucceed := false
					switch r.IntN(3) {
					case 0:
						ctx, cancel = context.WithTimeout(ctx, time.Duration(r.IntN(20))*time.Millisecond)
					case 1:
						ctx, cancel = context.WithCancel(ctx)
						stop = time.AfterFunc(time.Duration(r.IntN(20))*time.Millisecond, cancel).Stop
					default:
						mustSucceed = true
					}
					err := s.Acquire(ctx, n)
					stop()
					if err != nil {
						if mustSucceed {
							t.Errorf("Acquire(background, %d) = %v", n, err)
						} else if err != ctx.Err() {
							t.Errorf("Acquire(ctx, %d) = %v, want ctx.Err() = %v", n, err, ctx.Err())
						}
						failed.Add(1)
						cancel()
						continue
					}
					granted.Add(1)
					if h, m := held.Add(n), maxSet.Load(); h > m {
						t.Errorf("held %d after Acquire(ctx, %d), more than the largest size ever set %d", h, n, m)
					}
					time.Sleep(time.Duration(r.IntN(4)) * time.Millisecond)
					if h := held.Add(-n); h < 0 {
						t.Errorf("held %d < 0", h)
					}
					s.Release(n)
					cancel()
				}
			})
		}
		wg.Go(func() {
			r := rand.New(rand.NewPCG(0xface, 0x5eed))
			for range resizes {
				time.Sleep(time.Duration(r.IntN(3)) * time.Millisecond)
				n := r.Int64N(maxSize + 1)
				if n > maxSet.Load() {
					maxSet.Store(n)
				}
				s.Resize(n)
				if u, m := s.InUse(), maxSet.Load(); u < 0 || u > m {
					t.Errorf("InUse() = %d, want 0 <= InUse() <= %d", u, m)
				}
				if w := s.Waiting(); w < 0 || w > workers {
					t.Errorf("Waiting() = %d, want 0..%d", w, workers)
				}
			}
			// Let every pending request fit.
			maxSet.Store(maxSize)
			s.Resize(maxSize)
		})
		wg.Wait()

		require.Zero(t, held.Load())
		requireState(t, s, maxSize, 0, 0)
		require.True(t, s.TryAcquire(s.Size()), "TryAcquire(Size()) at the end")
		s.Release(s.Size())
		t.Logf("granted %d, failed %d", granted.Load(), failed.Load())
		require.Positive(t, granted.Load())
		require.Positive(t, failed.Load())
	})
}

// TestDifferentialXSync runs the same random sequences of non-blocking
// operations on x/sync's semaphore and on ours and compares every result.
func TestDifferentialXSync(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		canceled, cancel := context.WithCancel(context.Background())
		cancel()
		expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		defer cancel2()
		doneCtxs := []context.Context{canceled, expired, newErrCtx()}

		for seed := range 300 {
			r := rand.New(rand.NewPCG(uint64(seed), 0xd1ff))
			size := r.Int64N(7)
			ours, ref := semaphore.NewWeighted(size), xsem.NewWeighted(size)
			var held int64
			var trace []string
			for step := range 100 {
				var op string
				switch r.IntN(4) {
				case 0:
					n := r.Int64N(size + 3)
					op = fmt.Sprintf("TryAcquire(%d)", n)
					got, want := ours.TryAcquire(n), ref.TryAcquire(n)
					require.Equal(t, want, got, "seed %d step %d: %s; trace %v", seed, step, op, trace)
					if got {
						held += n
					}
				case 1:
					n := r.Int64N(held + 1)
					op = fmt.Sprintf("Release(%d)", n)
					ours.Release(n)
					ref.Release(n)
					held -= n
				case 2:
					n := r.Int64N(size + 3)
					ctx := doneCtxs[r.IntN(len(doneCtxs))]
					op = fmt.Sprintf("Acquire(done ctx, %d)", n)
					got, want := ours.Acquire(ctx, n), ref.Acquire(ctx, n)
					require.Equal(t, want, got, "seed %d step %d: %s; trace %v", seed, step, op, trace)
					require.Equal(t, ctx.Err(), got)
				default:
					// Acquire with a live ctx, only when it cannot block.
					n := r.Int64N(size - held + 1)
					op = fmt.Sprintf("Acquire(background, %d)", n)
					got, want := ours.Acquire(context.Background(), n), ref.Acquire(context.Background(), n)
					require.Equal(t, want, got, "seed %d step %d: %s; trace %v", seed, step, op, trace)
					held += n
				}
				trace = append(trace, op)
				require.Equal(t, held, ours.InUse(), "seed %d step %d: InUse after %v", seed, step, trace)
				require.Equal(t, size, ours.Size())
				require.Zero(t, ours.Waiting())
			}
			// Both agree on what is left.
			require.Equal(t, ref.TryAcquire(size-held), ours.TryAcquire(size-held), "seed %d: final TryAcquire", seed)
			require.Equal(t, ref.TryAcquire(1), ours.TryAcquire(1), "seed %d: TryAcquire(1) on full", seed)
		}
	})
}
