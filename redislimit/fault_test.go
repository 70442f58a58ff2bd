package redislimit_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weir-go/weir/redislimit"
)

// The fault tests log what they measured (recovery time, over-admission);
// RELIABILITY.md records the figures. On miniredis the server's clock is
// moved by the test; on a real server the TTLs are short and real.

// forEachPlainServer is forEachServer without the ACL variant.
func forEachPlainServer(t *testing.T, f func(t *testing.T, srv *testServer)) {
	t.Run("miniredis", func(t *testing.T) { f(t, startMiniredis(t)) })
	t.Run("redis-server", func(t *testing.T) {
		if !haveRedis() {
			t.Skip("redis-server not on PATH: ran on miniredis only")
		}
		f(t, startRedis(t))
	})
}

// when returns a channel that yields how long after start c closed.
func when(c <-chan struct{}, start time.Time) <-chan time.Duration {
	d := make(chan time.Duration, 1)
	go func() {
		<-c
		d <- time.Since(start)
	}()
	return d
}

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// TestFaultLeaseExpiresWhileJobRuns: a process holds the whole limit and
// cannot refresh (stalled) while its job runs. The job's ctx must end, on
// the process's own clock, before Redis gives the weight to anyone else.
func TestFaultLeaseExpiresWhileJobRuns(t *testing.T) {
	forEachPlainServer(t, func(t *testing.T, srv *testServer) {
		ctx := context.Background()
		const ttl = time.Second // the client's margin is 0.1 × TTL: keep it well above scheduling delays
		a := open(t, srv, 2, redislimit.WithTTL(ttl))
		b := openOn(t, srv.client(t), a.Name(), 2, redislimit.WithTTL(ttl))
		start := time.Now()
		l, err := a.Acquire(ctx, 2)
		require.NoError(t, err)
		a.Stall(true)
		got := make(chan time.Time, 1)
		go func() {
			m, err := b.Acquire(ctx, 2)
			if assert.NoError(t, err) {
				got <- time.Now()
				m.Release()
			}
		}()
		<-l.Context().Done()
		lostAt := time.Since(start)
		assert.ErrorIs(t, context.Cause(l.Context()), redislimit.ErrLeaseLost)
		// The ctx ends first, then Lost closes (both under the lease's
		// lock): wait for Lost rather than poll it.
		select {
		case <-l.Lost():
		case <-time.After(5 * time.Second):
			t.Error("Lost not closed 5 s after the lease's ctx ended")
		}
		if !srv.real() {
			srv.advance(ttl) // Redis's clock reaches the expiry
		}
		grantedAt := (<-got).Sub(start)
		t.Logf("lease lost on the client after %v; weight regranted after %v (TTL %v)", lostAt, grantedAt, ttl)
		assert.Less(t, lostAt, grantedAt, "the job's ctx ends before the weight is regranted")
		assert.GreaterOrEqual(t, lostAt, ttl*9/10)
		l.Release()
		st, err := a.Stats(ctx)
		require.NoError(t, err)
		assert.EqualValues(t, 1, st.Lost)
		assert.EqualValues(t, 0, st.Held)
	})
}

// TestFaultLeaseRefreshedWhileJobRuns: the converse, a long job with a
// live refresher keeps its lease for many TTLs.
func TestFaultLeaseRefreshedWhileJobRuns(t *testing.T) {
	forEachPlainServer(t, func(t *testing.T, srv *testServer) {
		const ttl = 300 * time.Millisecond
		a := open(t, srv, 1, redislimit.WithTTL(ttl), redislimit.WithPollInterval(ttl/3))
		l, err := a.Acquire(context.Background(), 1)
		require.NoError(t, err)
		for range 10 {
			srv.advance(ttl / 3)
			time.Sleep(ttl / 3)
		}
		assert.NoError(t, l.Context().Err(), "lease kept for 10 × TTL/3")
		st, err := a.Stats(context.Background())
		require.NoError(t, err)
		assert.EqualValues(t, 1, st.InUse)
		l.Release()
	})
}

// TestFaultHolderKilled: a child process holding the whole limit is killed
// with SIGKILL; the weight comes back when its lease expires.
func TestFaultHolderKilled(t *testing.T) {
	forEachPlainServer(t, func(t *testing.T, srv *testServer) {
		ctx := context.Background()
		const ttl = time.Second
		s := open(t, srv, 3, redislimit.WithTTL(ttl))
		h := startHelper(t, helperConfig{Mode: "hold", Addr: srv.addr(), Name: s.Name(), Limit: 3, Weight: 3, TTL: ttl, Poll: 50 * time.Millisecond})
		h.expect("held")
		h.kill()
		killed := time.Now()
		got := make(chan time.Duration, 1)
		go func() {
			l, err := s.Acquire(ctx, 3)
			if assert.NoError(t, err) {
				got <- time.Since(killed)
				l.Release()
			}
		}()
		if !srv.real() {
			waitFor(t, func() bool { st, _ := s.Stats(ctx); return st.Waiting == 1 })
			srv.advance(ttl)
		}
		d := <-got
		t.Logf("weight of the killed holder regranted %v after SIGKILL (TTL %v)", d, ttl)
		assert.Less(t, d, ttl+time.Second)
		checkInvariant(t, s, srv.adminClient(t), 3)
	})
}

// TestFaultWaiterKilled: a child process queued at the head is killed; the
// waiter behind it must not be blocked for longer than the TTL.
func TestFaultWaiterKilled(t *testing.T) {
	forEachPlainServer(t, func(t *testing.T, srv *testServer) {
		ctx := context.Background()
		const ttl = time.Second
		s := open(t, srv, 2, redislimit.WithTTL(ttl))
		hold, err := s.Acquire(ctx, 2)
		require.NoError(t, err)
		h := startHelper(t, helperConfig{Mode: "wait", Addr: srv.addr(), Name: s.Name(), Limit: 2, Weight: 2, TTL: ttl, Poll: 50 * time.Millisecond})
		h.expect("waiting")
		waitFor(t, func() bool { st, _ := s.Stats(ctx); return st.Waiting == 1 })
		got := make(chan time.Duration, 1)
		var killed time.Time
		go func() {
			l, err := s.Acquire(ctx, 2)
			if assert.NoError(t, err) {
				got <- time.Since(killed)
				l.Release()
			}
		}()
		waitFor(t, func() bool { st, _ := s.Stats(ctx); return st.Waiting == 2 })
		h.kill()
		killed = time.Now()
		hold.Release() // the dead head is granted, or has lapsed already
		if !srv.real() {
			srv.advance(ttl)
		}
		d := <-got
		t.Logf("waiter behind a killed head granted %v after SIGKILL (TTL %v)", d, ttl)
		assert.Less(t, d, ttl+time.Second)
		checkInvariant(t, s, srv.adminClient(t), 2)
	})
}

// TestFaultRedisKilledMidAcquire: with Redis gone, new Acquires fail with
// ErrUnavailable (fail closed), a queued one fails within the TTL, and a
// held lease is lost within 0.9 × TTL; a semaphore with the local fallback
// admits through its local limit instead.
func TestFaultRedisKilledMidAcquire(t *testing.T) {
	forEachPlainServer(t, func(t *testing.T, srv *testServer) {
		ctx := context.Background()
		const ttl = 600 * time.Millisecond
		opts := []redislimit.Option{redislimit.WithTTL(ttl), redislimit.WithTimeout(200 * time.Millisecond)}
		s := open(t, srv, 1, opts...)
		fb := openOn(t, srv.client(t), s.Name(), 1, append(opts, redislimit.WithFallbackLocal(1))...)
		l, err := s.Acquire(ctx, 1)
		require.NoError(t, err)
		queued := make(chan error, 1)
		var queuedAt time.Duration
		var killed time.Time
		go func() {
			_, err := s.Acquire(ctx, 1)
			queuedAt = time.Since(killed)
			queued <- err
		}()
		waitFor(t, func() bool { st, _ := s.Stats(ctx); return st.Waiting == 1 })
		srv.kill()
		killed = time.Now()
		lost := when(l.Lost(), killed)

		_, err = s.Acquire(ctx, 1)
		assert.ErrorIs(t, err, redislimit.ErrUnavailable)
		t.Logf("Acquire with Redis down failed after %v: %v", time.Since(killed), err)

		f, err := fb.Acquire(ctx, 1)
		require.NoError(t, err, "the local fallback admits")
		assert.Zero(t, f.Token())
		_, err = fb.TryAcquire(ctx, 1)
		assert.ErrorIs(t, err, redislimit.ErrNoCapacity, "within the local limit")
		f.Release()

		t.Logf("held lease lost %v after Redis died (TTL %v)", <-lost, ttl)
		err = <-queued
		assert.ErrorIs(t, err, redislimit.ErrUnavailable)
		t.Logf("queued Acquire failed %v after Redis died: %v", queuedAt, err)
		l.Release()
		st := mustLocalStats(t, s)
		assert.Zero(t, st.Held)
		assert.Zero(t, st.Waiters)
	})
}

func mustLocalStats(t *testing.T, s *redislimit.Semaphore) redislimit.Stats {
	st, _ := s.Stats(context.Background()) // Redis may be down: local fields only
	return st
}

// TestFaultRestartEmpty: Redis restarts with no data. Holders learn at
// their next refresh that their leases are gone; until then a newcomer can
// be admitted on top of them (the over-admission, bounded by TTL/3 + poll).
func TestFaultRestartEmpty(t *testing.T) {
	forEachPlainServer(t, func(t *testing.T, srv *testServer) {
		ctx := context.Background()
		const ttl = 900 * time.Millisecond
		a := open(t, srv, 2, redislimit.WithTTL(ttl))
		l, err := a.Acquire(ctx, 2)
		require.NoError(t, err)
		srv.restart()
		restarted := time.Now()
		srv.advance(time.Millisecond)
		b := openOn(t, srv.client(t), a.Name(), 2, redislimit.WithTTL(ttl))
		m, err := b.TryAcquire(ctx, 2)
		require.NoError(t, err, "the empty server admits at once")
		assert.Greater(t, m.Token(), l.Token(), "fencing tokens still grow")
		<-l.Lost()
		window := time.Since(restarted)
		t.Logf("over-admission after an empty restart: weight 2 on top of 2 (limit 2) for %v, until the old holder's refresh (TTL %v)", window, ttl)
		assert.Less(t, window, ttl*9/10+100*time.Millisecond)
		assert.ErrorIs(t, context.Cause(l.Context()), redislimit.ErrLeaseLost)
		l.Release()
		m.Release()
		checkInvariant(t, b, srv.adminClient(t), 2)
	})
}

// pauseFault runs the server-stall scenario shared by CLIENT PAUSE and DEBUG
// SLEEP: stall(d) blocks the server for d.
func pauseFault(t *testing.T, srv *testServer, stall func(d time.Duration)) {
	ctx := context.Background()
	const ttl = time.Second
	a := open(t, srv, 1, redislimit.WithTTL(ttl), redislimit.WithTimeout(300*time.Millisecond))
	b := openOn(t, srv.client(t), a.Name(), 1, redislimit.WithTTL(ttl), redislimit.WithTimeout(300*time.Millisecond))
	l, err := a.Acquire(ctx, 1)
	require.NoError(t, err)
	sent := time.Now()
	lost := when(l.Lost(), sent)
	go stall(2 * time.Second)
	time.Sleep(50 * time.Millisecond)
	_, err = b.Acquire(ctx, 1)
	assert.ErrorIs(t, err, redislimit.ErrUnavailable, "fails closed while the server is stalled")
	t.Logf("Acquire during the stall failed after %v: %v", time.Since(sent), err)
	lostAt := <-lost
	var m *redislimit.Lease
	waitFor(t, func() bool {
		m, err = b.TryAcquire(ctx, 1)
		return err == nil
	})
	grantedAt := time.Since(sent)
	t.Logf("lease lost on the client %v after acquiring; weight regranted at %v (TTL %v, stall 2s)", lostAt, grantedAt, ttl)
	assert.Less(t, lostAt, grantedAt)
	m.Release()
	l.Release()
	checkInvariant(t, b, srv.adminClient(t), 1)
}

// TestFaultClientPause: CLIENT PAUSE stalls every client for 2s, twice the
// TTL. Acquire fails closed; the holder counts its lease lost before
// Redis can regrant it.
func TestFaultClientPause(t *testing.T) {
	if !haveRedis() {
		t.Skip("redis-server not on PATH")
	}
	srv := startRedis(t)
	admin := srv.adminClient(t)
	pauseFault(t, srv, func(d time.Duration) {
		assert.NoError(t, admin.Do(context.Background(), "CLIENT", "PAUSE", d.Milliseconds(), "ALL").Err())
	})
}

// TestFaultSlowServer: the server is busy for 2s (DEBUG SLEEP, as a slow
// script or command would make it).
func TestFaultSlowServer(t *testing.T) {
	if !haveRedis() {
		t.Skip("redis-server not on PATH")
	}
	srv := startRedis(t)
	admin := redis.NewClient(&redis.Options{Addr: srv.addr(), ReadTimeout: time.Minute})
	defer admin.Close()
	pauseFault(t, srv, func(d time.Duration) {
		assert.NoError(t, admin.Do(context.Background(), "DEBUG", "SLEEP", d.Seconds()).Err())
	})
}

// TestFaultClockSkew: by default the scripts use Redis's clock, so client
// clocks do not matter. With WithClientTime a process whose clock runs a
// TTL ahead expires other processes' leases early: over-admission.
func TestFaultClockSkew(t *testing.T) {
	forEachPlainServer(t, func(t *testing.T, srv *testServer) {
		ctx := context.Background()
		const ttl = 5 * time.Second
		ahead := func() time.Time { return time.Now().Add(2 * ttl) }
		t.Run("server time", func(t *testing.T) {
			a := open(t, srv, 1, redislimit.WithTTL(ttl))
			b := openOn(t, srv.client(t), a.Name(), 1, redislimit.WithTTL(ttl), redislimit.WithClock(ahead))
			l, err := a.Acquire(ctx, 1)
			require.NoError(t, err)
			_, err = b.TryAcquire(ctx, 1)
			assert.ErrorIs(t, err, redislimit.ErrNoCapacity, "a skewed client clock is ignored")
			l.Release()
		})
		t.Run("client time", func(t *testing.T) {
			a := open(t, srv, 1, redislimit.WithTTL(ttl), redislimit.WithClientTime())
			b := openOn(t, srv.client(t), a.Name(), 1, redislimit.WithTTL(ttl), redislimit.WithClientTime(), redislimit.WithClock(ahead))
			l, err := a.Acquire(ctx, 1)
			require.NoError(t, err)
			m, err := b.TryAcquire(ctx, 1)
			require.NoError(t, err, "the process 2×TTL ahead reaps the live lease")
			t.Logf("client time, clock 2×TTL ahead: over-admission of 1 (limit 1); the victim learns at its next refresh")
			a.Heartbeat()
			assert.True(t, closed(l.Lost()))
			l.Release()
			m.Release()
		})
	})
}

// TestFaultLoad runs 3 helper processes of 100 contenders each against one
// limit of 8, with weights 1-3, and checks the global peak.
func TestFaultLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test skipped with -short")
	}
	var srv *testServer
	if haveRedis() {
		srv = startRedis(t)
	} else {
		srv = startMiniredis(t)
	}
	const limit, procs, goroutines, iterations = 8, 3, 100, 10
	name := "load" + time.Now().Format("150405.000")
	s := openOn(t, srv.client(t), name, limit)
	var hs []*helper
	for range procs {
		hs = append(hs, startHelper(t, helperConfig{
			Mode: "load", Addr: srv.addr(), Name: name, Limit: limit, TTL: 10 * time.Second, Poll: 100 * time.Millisecond,
			Goroutines: goroutines, Iterations: iterations, Counter: "load:" + name,
		}))
	}
	var total int64
	for i, h := range hs {
		line := h.expect("{")
		var r loadResult
		require.NoError(t, json.Unmarshal([]byte(line), &r))
		t.Logf("process %d: %d acquired, %d errors, peak seen %d, %v", i, r.Acquired, r.Errors, r.Peak, r.Elapsed)
		assert.LessOrEqual(t, r.Peak, int64(limit), "global peak above the limit")
		assert.Zero(t, r.Errors)
		total += r.Acquired
	}
	assert.EqualValues(t, procs*goroutines*iterations, total)
	st, err := s.Stats(context.Background())
	require.NoError(t, err)
	assert.Zero(t, st.InUse)
	assert.Zero(t, st.Waiting)
	assert.Zero(t, st.RejectedReleases)
	t.Logf("%s: %d processes × %d contenders, %d grants", srv.kind, procs, goroutines, total)
}

// TestFaultReplicaPromotion: grants acknowledged with WithReplicas survive
// the loss of the primary: after the replica is promoted it still counts
// them, so it admits nothing on top.
// startReplicated starts a primary and a replica of it, and waits until
// the replica is in sync; rc is an admin client of the replica.
func startReplicated(t *testing.T) (primary, replica *testServer, rc *redis.Client) {
	primary = startRedis(t, "--repl-diskless-sync-delay", "0")
	replica = startRedis(t, "--replicaof", "127.0.0.1", strings.Split(primary.addr(), ":")[1])
	rc = replica.adminClient(t)
	waitFor(t, func() bool {
		info, _ := rc.Info(context.Background(), "replication").Result()
		return strings.Contains(info, "master_link_status:up")
	})
	return primary, replica, rc
}

func TestFaultReplicaPromotion(t *testing.T) {
	if !haveRedis() {
		t.Skip("redis-server not on PATH")
	}
	ctx := context.Background()
	primary, replica, rc := startReplicated(t)
	s := open(t, primary, 4, redislimit.WithReplicas(1, time.Second))
	var held []*redislimit.Lease
	for _, w := range []int64{1, 2} {
		l, err := s.Acquire(ctx, w)
		require.NoError(t, err)
		held = append(held, l)
	}
	primary.kill()
	require.NoError(t, rc.Do(ctx, "REPLICAOF", "NO", "ONE").Err())
	promoted := openOn(t, replica.client(t), s.Name(), 4)
	st, err := promoted.Stats(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, 3, st.InUse, "the promoted replica has every acknowledged grant")
	_, err = promoted.TryAcquire(ctx, 2)
	assert.ErrorIs(t, err, redislimit.ErrNoCapacity, "no over-admission after the failover")
	t.Logf("after promotion: in use %d of 4, as granted on the old primary", st.InUse)
	for _, l := range held {
		l.Release() // the old primary is gone: counted as unavailable, freed by TTL
	}
}

// TestFaultFailoverWithoutReplicaWait: a partition cuts the replica off
// the primary (the replica stops replicating) and it is promoted; a grant
// the old primary acknowledged after the cut is not on the new one. With
// WithReplicas that grant fails closed instead; without it the promoted
// server over-admits the lost grant's weight until the process that holds
// it learns, at 0.9 x TTL after its last refresh, that its lease is lost.
func TestFaultFailoverWithoutReplicaWait(t *testing.T) {
	if !haveRedis() {
		t.Skip("redis-server not on PATH")
	}
	ctx := context.Background()
	const ttl, limit = 2 * time.Second, 5
	primary, replica, rc := startReplicated(t)
	s := open(t, primary, limit, redislimit.WithTTL(ttl))
	l1, err := s.Acquire(ctx, 1)
	require.NoError(t, err)
	require.NoError(t, primary.adminClient(t).Do(ctx, "WAIT", 1, 2000).Err(), "the first grant reached the replica")

	// The partition: the replica takes over while the old primary, still
	// up, acknowledges a grant it can no longer pass on.
	require.NoError(t, rc.Do(ctx, "REPLICAOF", "NO", "ONE").Err())
	promotedAt := time.Now()
	l3, err := s.Acquire(ctx, 3)
	require.NoError(t, err, "acknowledged by the primary alone")
	guarded := openOn(t, primary.client(t), s.Name(), limit, redislimit.WithTTL(ttl), redislimit.WithReplicas(1, 200*time.Millisecond))
	_, err = guarded.Acquire(ctx, 1)
	assert.ErrorIs(t, err, redislimit.ErrUnavailable, "with WithReplicas a grant no replica has fails closed")

	primary.kill()
	lost := when(l3.Lost(), promotedAt)
	promoted := openOn(t, replica.client(t), s.Name(), limit, redislimit.WithTTL(ttl))
	st, err := promoted.Stats(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, 1, st.InUse, "the promoted replica lost the grant of 3")
	over, err := promoted.TryAcquire(ctx, limit-1)
	require.NoError(t, err, "so it admits weight that a live process still holds")
	var lostAfter time.Duration
	select {
	case lostAfter = <-lost:
	case <-time.After(2 * ttl):
		t.Fatal("the holder of the lost grant was never told")
	}
	assert.Less(t, lostAfter, ttl+ttl/4, "the holder learns at 0.9 x TTL after its grant")
	assert.ErrorIs(t, context.Cause(l3.Context()), redislimit.ErrLeaseLost)
	t.Logf("failover without WAIT: over-admission of 3 of limit %d; the holder's lease was lost %v after the promotion (TTL %v)", limit, lostAfter, ttl)
	over.Release()
	l1.Release()
	l3.Release()
}

// TestRefresherWakesForEveryNewLease guards a lost wake-up: the refresher
// and the stream reader once shared one wake channel, so when the reader
// took the wake-up, a new lease was never refreshed and expired under its
// job.
func TestRefresherWakesForEveryNewLease(t *testing.T) {
	srv := startMiniredis(t)
	ctx := context.Background()
	const ttl, poll = 300 * time.Millisecond, 50 * time.Millisecond
	for i := range 10 {
		s := open(t, srv, 1, redislimit.WithTTL(ttl), redislimit.WithPollInterval(poll))
		l, err := s.Acquire(ctx, 1)
		require.NoError(t, err)
		srv.advance(ttl * 2 / 3)
		time.Sleep(ttl/3 + 2*poll) // the refresher's round trip is due
		srv.advance(ttl * 2 / 3)   // past the first expiry
		st, err := s.Stats(ctx)
		require.NoError(t, err)
		require.EqualValues(t, 1, st.InUse, "round %d: lease not refreshed", i)
		l.Release()
		require.NoError(t, s.Close())
	}
}

// TestFaultCircuitBreaker: with Redis down, WithCircuitBreaker sends
// Acquire straight to the fallback (or fails it closed) without a round
// trip, probes once per pause, doubles the pause after a failed probe, and
// closes on the first probe that succeeds.
func TestFaultCircuitBreaker(t *testing.T) {
	forEachPlainServer(t, func(t *testing.T, srv *testServer) {
		ctx := context.Background()
		const pause = 300 * time.Millisecond
		opts := []redislimit.Option{redislimit.WithTimeout(200 * time.Millisecond), redislimit.WithCircuitBreaker(pause, 4*pause)}
		s := open(t, srv, 2, append(opts, redislimit.WithFallbackLocal(1))...)
		closedS := openOn(t, srv.client(t), s.Name(), 2, opts...)
		l, err := s.Acquire(ctx, 1)
		require.NoError(t, err)
		l.Release()

		srv.kill()
		fl, err := s.Acquire(ctx, 1)
		require.NoError(t, err, "the failed round trip falls back")
		assert.Zero(t, fl.Token(), "a fallback lease")
		_, err = closedS.Acquire(ctx, 1)
		require.ErrorIs(t, err, redislimit.ErrUnavailable)

		before, _ := s.Stats(ctx)
		start := time.Now()
		for range 5 {
			_, err := s.TryAcquire(ctx, 1)
			assert.ErrorIs(t, err, redislimit.ErrNoCapacity, "the local fallback is full")
		}
		_, err = closedS.Acquire(ctx, 1)
		assert.ErrorIs(t, err, redislimit.ErrUnavailable)
		assert.ErrorContains(t, err, "circuit breaker open")
		fast := time.Since(start)
		after, _ := s.Stats(ctx)
		assert.Equal(t, before.Unavailable+1, after.Unavailable, "no round trip but the second Stats'")
		assert.EqualValues(t, 5, after.Bypassed-before.Bypassed)
		assert.Less(t, fast, 200*time.Millisecond, "bypassed calls do not wait for the timeout")

		time.Sleep(pause + 50*time.Millisecond)
		_, err = closedS.Acquire(ctx, 1) // the probe: Redis is still down
		assert.ErrorIs(t, err, redislimit.ErrUnavailable)
		assert.NotContains(t, err.Error(), "circuit breaker open", "the probe tried Redis")
		time.Sleep(pause + 50*time.Millisecond) // less than the doubled pause
		_, err = closedS.Acquire(ctx, 1)
		assert.ErrorContains(t, err, "circuit breaker open", "a failed probe doubles the pause")

		srv.restart()
		time.Sleep(pause + 100*time.Millisecond) // the doubled pause is over
		l, err = closedS.Acquire(ctx, 1)
		require.NoError(t, err, "the probe finds Redis back and closes the breaker")
		assert.NotZero(t, l.Token())
		st, err := closedS.Stats(ctx)
		require.NoError(t, err)
		bypassed := st.Bypassed
		m, err := closedS.Acquire(ctx, 1)
		require.NoError(t, err)
		st, err = closedS.Stats(ctx)
		require.NoError(t, err)
		assert.Equal(t, bypassed, st.Bypassed, "closed again: Acquire goes to Redis")
		m.Release()
		l.Release()
		fl.Release()
	})
}
