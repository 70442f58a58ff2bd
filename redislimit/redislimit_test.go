package redislimit_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weir-go/weir/redislimit"
)

var nameSeq atomic.Int64

// open returns a semaphore on srv with a fresh name; it is closed at cleanup.
func open(t testing.TB, srv *testServer, limit int64, opts ...redislimit.Option) *redislimit.Semaphore {
	t.Helper()
	return openOn(t, srv.client(t), "t"+strconv.FormatInt(nameSeq.Add(1), 10), limit, opts...)
}

func openOn(t testing.TB, rdb redis.UniversalClient, name string, limit int64, opts ...redislimit.Option) *redislimit.Semaphore {
	t.Helper()
	opts = append([]redislimit.Option{redislimit.WithPollInterval(50 * time.Millisecond)}, opts...)
	s, err := redislimit.New(rdb, name, limit, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// checkInvariant asserts, on the raw keys, that the weight held equals the
// sum of the live holders' weights and is at most max.
func checkInvariant(t testing.TB, s *redislimit.Semaphore, rdb redis.UniversalClient, max int64) int64 {
	t.Helper()
	ctx := context.Background()
	_, err := s.Stats(ctx) // reaps, so every holder left is live
	require.NoError(t, err)
	k := s.Keys()
	holders, err := rdb.HGetAll(ctx, k[0]).Result()
	require.NoError(t, err)
	expiry, err := rdb.ZRange(ctx, k[1], 0, -1).Result()
	require.NoError(t, err)
	heldStr, err := rdb.HGet(ctx, k[2], "held").Result()
	if errors.Is(err, redis.Nil) {
		heldStr = "0"
	} else {
		require.NoError(t, err)
	}
	held, _ := strconv.ParseInt(heldStr, 10, 64)
	var sum int64
	for id, v := range holders {
		w, _ := strconv.ParseInt(strings.SplitN(v, ":", 2)[0], 10, 64)
		sum += w
		assert.Contains(t, expiry, id, "holder without expiry")
	}
	assert.Len(t, expiry, len(holders), "expiry entries without holder")
	assert.Equal(t, sum, held, "held is not the sum of the holders' weights")
	assert.LessOrEqual(t, held, max, "held above the limit")
	return held
}

func TestNewRejectsBadInput(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer rdb.Close()
	tests := []struct {
		name string
		give func() (*redislimit.Semaphore, error)
		want error
	}{
		{"nil client", func() (*redislimit.Semaphore, error) { return redislimit.New(nil, "a", 1) }, redislimit.ErrInvalidOption},
		{"empty name", func() (*redislimit.Semaphore, error) { return redislimit.New(rdb, "", 1) }, redislimit.ErrInvalidName},
		{"brace", func() (*redislimit.Semaphore, error) { return redislimit.New(rdb, "a{b}", 1) }, redislimit.ErrInvalidName},
		{"control", func() (*redislimit.Semaphore, error) { return redislimit.New(rdb, "a\nb", 1) }, redislimit.ErrInvalidName},
		{"not utf-8", func() (*redislimit.Semaphore, error) { return redislimit.New(rdb, "a\xff", 1) }, redislimit.ErrInvalidName},
		{"long", func() (*redislimit.Semaphore, error) { return redislimit.New(rdb, strings.Repeat("a", 129), 1) }, redislimit.ErrInvalidName},
		{"limit 0", func() (*redislimit.Semaphore, error) { return redislimit.New(rdb, "a", 0) }, redislimit.ErrInvalidLimit},
		{"nil option", func() (*redislimit.Semaphore, error) { return redislimit.New(rdb, "a", 1, nil) }, redislimit.ErrInvalidOption},
		{"ttl", func() (*redislimit.Semaphore, error) {
			return redislimit.New(rdb, "a", 1, redislimit.WithTTL(time.Millisecond))
		}, redislimit.ErrInvalidOption},
		{"poll above ttl/3", func() (*redislimit.Semaphore, error) {
			return redislimit.New(rdb, "a", 1, redislimit.WithTTL(time.Second), redislimit.WithPollInterval(time.Second))
		}, redislimit.ErrInvalidOption},
		{"timeout", func() (*redislimit.Semaphore, error) { return redislimit.New(rdb, "a", 1, redislimit.WithTimeout(0)) }, redislimit.ErrInvalidOption},
		{"breaker pause 0", func() (*redislimit.Semaphore, error) {
			return redislimit.New(rdb, "a", 1, redislimit.WithCircuitBreaker(0, time.Second))
		}, redislimit.ErrInvalidOption},
		{"breaker max below min", func() (*redislimit.Semaphore, error) {
			return redislimit.New(rdb, "a", 1, redislimit.WithCircuitBreaker(time.Second, time.Millisecond))
		}, redislimit.ErrInvalidOption},
		{"prefix", func() (*redislimit.Semaphore, error) { return redislimit.New(rdb, "a", 1, redislimit.WithPrefix("x{")) }, redislimit.ErrInvalidName},
		{"replicas", func() (*redislimit.Semaphore, error) {
			return redislimit.New(rdb, "a", 1, redislimit.WithReplicas(1, 0))
		}, redislimit.ErrInvalidOption},
		{"local fallback", func() (*redislimit.Semaphore, error) {
			return redislimit.New(rdb, "a", 1, redislimit.WithFallbackLocal(0))
		}, redislimit.ErrInvalidOption},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := tt.give()
			assert.Nil(t, s)
			assert.ErrorIs(t, err, tt.want)
			assert.True(t, strings.HasPrefix(err.Error(), "redislimit: ") || strings.HasPrefix(err.Error(), "prefix: redislimit: "), err.Error())
		})
	}
}

func TestAcquireRelease(t *testing.T) {
	forEachServer(t, func(t *testing.T, srv *testServer) {
		ctx := context.Background()
		s := open(t, srv, 5)
		rdb := srv.adminClient(t)
		a, err := s.Acquire(ctx, 3)
		require.NoError(t, err)
		b, err := s.Acquire(ctx, 2)
		require.NoError(t, err)
		assert.Greater(t, b.Token(), a.Token(), "tokens grow")
		assert.EqualValues(t, 5, checkInvariant(t, s, rdb, 5))
		_, err = s.TryAcquire(ctx, 1)
		assert.ErrorIs(t, err, redislimit.ErrNoCapacity)
		_, err = s.Acquire(ctx, 6)
		assert.ErrorIs(t, err, redislimit.ErrWeightExceedsLimit)
		_, err = s.Acquire(ctx, 0)
		assert.ErrorIs(t, err, redislimit.ErrInvalidWeight)

		a.Release()
		a.Release() // idempotent
		assert.ErrorIs(t, context.Cause(a.Context()), redislimit.ErrReleased)
		select {
		case <-a.Lost():
			t.Fatal("a released lease is not lost")
		default:
		}
		st, err := s.Stats(ctx)
		require.NoError(t, err)
		assert.Equal(t, redislimit.Stats{Limit: 5, InUse: 2, Held: 2, Leases: 1, Acquired: 2}, st)
		b.Release()
		assert.EqualValues(t, 0, checkInvariant(t, s, rdb, 5))
	})
}

func TestWaiterIsWokenByRelease(t *testing.T) {
	forEachServer(t, func(t *testing.T, srv *testServer) {
		ctx := context.Background()
		// A long poll interval: the wake-up must come from the stream.
		s := open(t, srv, 2, redislimit.WithPollInterval(3*time.Second))
		a, err := s.Acquire(ctx, 2)
		require.NoError(t, err)
		got := make(chan *redislimit.Lease)
		go func() {
			l, err := s.Acquire(ctx, 2)
			assert.NoError(t, err)
			got <- l
		}()
		waitFor(t, func() bool { st, _ := s.Stats(ctx); return st.Waiting == 1 })
		start := time.Now()
		a.Release()
		l := <-got
		t.Logf("woken %v after the release", time.Since(start))
		assert.Less(t, time.Since(start), 2*time.Second, "woken by the stream, not the poll")
		l.Release()
	})
}

func TestCancelWhileQueuedLeavesNothing(t *testing.T) {
	forEachServer(t, func(t *testing.T, srv *testServer) {
		ctx := context.Background()
		s := open(t, srv, 2)
		a, err := s.Acquire(ctx, 1)
		require.NoError(t, err)
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan error)
		go func() {
			_, err := s.Acquire(cctx, 2)
			done <- err
		}()
		waitFor(t, func() bool { st, _ := s.Stats(ctx); return st.Waiting == 1 })
		// A small request behind the big head must wait (FIFO).
		_, err = s.TryAcquire(ctx, 1)
		assert.ErrorIs(t, err, redislimit.ErrNoCapacity)
		cancel()
		assert.ErrorIs(t, <-done, context.Canceled)
		st, err := s.Stats(ctx)
		require.NoError(t, err)
		assert.EqualValues(t, 0, st.Waiting)
		assert.EqualValues(t, 1, st.InUse)
		assert.Zero(t, st.RejectedReleases)
		a.Release()
	})
}

func TestSetLimitGrantsWaiters(t *testing.T) {
	forEachServer(t, func(t *testing.T, srv *testServer) {
		ctx := context.Background()
		s := open(t, srv, 1)
		other := openOn(t, srv.client(t), s.Name(), 1)
		a, err := s.Acquire(ctx, 1)
		require.NoError(t, err)
		got := make(chan *redislimit.Lease)
		go func() {
			l, err := other.Acquire(ctx, 1)
			assert.NoError(t, err)
			got <- l
		}()
		waitFor(t, func() bool { st, _ := s.Stats(ctx); return st.Waiting == 1 })
		require.NoError(t, s.SetLimit(ctx, 2))
		l := <-got
		st, err := other.Stats(ctx)
		require.NoError(t, err)
		assert.EqualValues(t, 2, st.Limit, "the limit is shared")
		assert.ErrorIs(t, s.SetLimit(ctx, 0), redislimit.ErrInvalidLimit)
		l.Release()
		a.Release()
	})
}

func TestForgedReleaseIsANoOpAndCounted(t *testing.T) {
	forEachServer(t, func(t *testing.T, srv *testServer) {
		ctx := context.Background()
		s := open(t, srv, 3)
		a, err := s.Acquire(ctx, 3)
		require.NoError(t, err)
		require.NoError(t, s.ReleaseID("0123456789abcdef0123456789abcdef"))
		st, err := s.Stats(ctx)
		require.NoError(t, err)
		assert.EqualValues(t, 3, st.InUse)
		assert.EqualValues(t, 1, st.RejectedReleases)
		a.Release()
		require.NoError(t, s.ReleaseID(a.ID())) // a replay
		st, err = s.Stats(ctx)
		require.NoError(t, err)
		assert.EqualValues(t, 0, st.InUse)
		assert.EqualValues(t, 2, st.RejectedReleases)
	})
}

func TestCloseReleasesAndStops(t *testing.T) {
	forEachServer(t, func(t *testing.T, srv *testServer) {
		ctx := context.Background()
		s := open(t, srv, 2)
		peer := openOn(t, srv.client(t), s.Name(), 2)
		a, err := s.Acquire(ctx, 2)
		require.NoError(t, err)
		done := make(chan error)
		go func() {
			_, err := s.Acquire(ctx, 1)
			done <- err
		}()
		waitFor(t, func() bool { st, _ := s.Stats(ctx); return st.Waiting == 1 })
		require.NoError(t, s.Close())
		require.NoError(t, s.Close())
		assert.ErrorIs(t, <-done, redislimit.ErrClosed)
		assert.ErrorIs(t, context.Cause(a.Context()), redislimit.ErrClosed)
		a.Release()
		_, err = s.Acquire(ctx, 1)
		assert.ErrorIs(t, err, redislimit.ErrClosed)
		st, err := peer.Stats(ctx)
		require.NoError(t, err)
		assert.Zero(t, st.InUse)
		assert.Zero(t, st.Waiting)
		assert.Zero(t, st.RejectedReleases)
	})
}

func TestLeaseContextKeepsValues(t *testing.T) {
	srv := startMiniredis(t)
	type key struct{}
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	s := open(t, srv, 1)
	l, err := s.Acquire(ctx, 1)
	require.NoError(t, err)
	cancel()
	assert.NoError(t, l.Context().Err(), "the lease outlives Acquire's ctx")
	assert.Equal(t, "v", l.Context().Value(key{}))
	l.Release()
}

// waitFor polls cond on the real clock (the servers run in real time).
func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestLeastPrivilege shows that the ACL the suite passes with is narrow:
// the semaphores' user can touch nothing outside its prefix and run no
// command but the scripts' own.
func TestLeastPrivilege(t *testing.T) {
	if !haveRedis() {
		t.Skip("redis-server not on PATH")
	}
	srv := startRedisACL(t)
	ctx := context.Background()
	rdb := srv.client(t)
	s := open(t, srv, 2)
	l, err := s.Acquire(ctx, 1)
	require.NoError(t, err)
	defer l.Release()
	for _, cmd := range [][]any{
		{"SET", "other", "1"},
		{"HGETALL", s.Keys()[0]},
		{"DEL", s.Keys()[0]},
		{"FLUSHALL"},
		{"KEYS", "*"},
		{"EVAL", "return redis.call('SET', KEYS[1], '1')", 1, "other"},
		{"EVAL", "return redis.call('DEL', KEYS[1])", 1, s.Keys()[0]},
	} {
		err := rdb.Do(ctx, cmd...).Err()
		require.Error(t, err, "%v", cmd)
		assert.Regexp(t, "NOPERM|can't run this command", err.Error(), "%v", cmd)
	}
	// A prefix outside the user's key pattern is refused, and reported as
	// unavailable (fail closed).
	other, err := redislimit.New(rdb, "x", 1, redislimit.WithPrefix("elsewhere:"))
	require.NoError(t, err)
	defer other.Close()
	_, err = other.Acquire(ctx, 1)
	assert.ErrorIs(t, err, redislimit.ErrUnavailable)
	t.Logf("prefix outside the ACL: %v", err)
}
