package redislimit_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/weir-go/weir/redislimit"
)

// model is the reference semantics of the semaphore, in memory: a limit,
// holders with weights, and a FIFO queue. grant gives the head of the queue
// its weight while it fits, passes over requests larger than the limit, and
// stops at the first that does not fit.
type model struct {
	limit int64
	held  map[int]int64
	queue []modelReq
	// outcome of requests that ended without a lease
	failed map[int]error
}

type modelReq struct {
	id int
	w  int64
}

func newModel(limit int64) *model {
	return &model{limit: limit, held: map[int]int64{}, failed: map[int]error{}}
}

func (m *model) sum() int64 {
	var s int64
	for _, w := range m.held {
		s += w
	}
	return s
}

func (m *model) grant(t testing.TB) {
	for i := 0; i < len(m.queue); {
		r := m.queue[i]
		switch {
		case r.w > m.limit:
			i++
		case m.sum()+r.w <= m.limit:
			m.held[r.id] = r.w
			m.queue = slices.Delete(m.queue, i, i+1)
			if m.sum() > m.limit {
				t.Fatalf("model granted above the limit")
			}
		default:
			return
		}
	}
}

func (m *model) acquire(t testing.TB, id int, w int64, try bool) {
	if w > m.limit {
		m.failed[id] = redislimit.ErrWeightExceedsLimit
		return
	}
	m.queue = append(m.queue, modelReq{id, w})
	m.grant(t)
	if _, ok := m.held[id]; ok || !try {
		return
	}
	m.remove(id)
	m.failed[id] = redislimit.ErrNoCapacity
	m.grant(t)
}

func (m *model) remove(id int) bool {
	for i, r := range m.queue {
		if r.id == id {
			m.queue = slices.Delete(m.queue, i, i+1)
			return true
		}
	}
	return false
}

func (m *model) release(t testing.TB, id int) {
	delete(m.held, id)
	m.grant(t)
}

func (m *model) cancel(t testing.TB, id int) {
	if m.remove(id) {
		m.failed[id] = context.Canceled
	}
	m.grant(t)
}

func (m *model) setLimit(t testing.TB, n int64) {
	m.limit = n
	m.grant(t)
}

// A target is what the conformance suite drives: the model itself, or
// semaphores on a server (several, as if in several processes).
type target interface {
	acquire(proc, id int, w int64, try bool)
	release(id int)
	cancel(id int)
	setLimit(proc int, n int64)
	// check waits until the target agrees with want, then checks the
	// invariant: held == sum of live holders' weights <= limit.
	check(t *testing.T, want *model, step string)
	close()
}

type modelTarget struct{ m *model }

func (mt *modelTarget) acquire(_ int, id int, w int64, try bool) { mt.m.acquire(nil, id, w, try) }
func (mt *modelTarget) release(id int)                           { mt.m.release(nil, id) }
func (mt *modelTarget) cancel(id int)                            { mt.m.cancel(nil, id) }
func (mt *modelTarget) setLimit(_ int, n int64)                  { mt.m.setLimit(nil, n) }
func (mt *modelTarget) close()                                   {}
func (mt *modelTarget) check(t *testing.T, want *model, step string) {
	require.Equal(t, want.held, mt.m.held, step)
	require.Equal(t, want.queue, mt.m.queue, step)
	require.LessOrEqual(t, mt.m.sum(), max(mt.m.limit, want.sum()), step)
}

type serverTarget struct {
	t    *testing.T
	sems []*redislimit.Semaphore
	rdb  redis.UniversalClient

	mu      sync.Mutex
	leases  map[int]*redislimit.Lease
	errs    map[int]error
	cancels map[int]context.CancelFunc
	wg      sync.WaitGroup
}

func newServerTarget(t *testing.T, srv *testServer, procs int, limit int64) *serverTarget {
	st := &serverTarget{t: t, rdb: srv.adminClient(t), leases: map[int]*redislimit.Lease{}, errs: map[int]error{}, cancels: map[int]context.CancelFunc{}}
	name := fmt.Sprintf("conf%d", nameSeq.Add(1))
	for range procs {
		st.sems = append(st.sems, openOn(t, srv.client(t), name, limit))
	}
	return st
}

func (st *serverTarget) acquire(proc, id int, w int64, try bool) {
	ctx, cancel := context.WithCancel(context.Background())
	st.mu.Lock()
	st.cancels[id] = cancel
	st.mu.Unlock()
	st.wg.Go(func() {
		var l *redislimit.Lease
		var err error
		if try {
			l, err = st.sems[proc].TryAcquire(ctx, w)
		} else {
			l, err = st.sems[proc].Acquire(ctx, w)
		}
		st.mu.Lock()
		defer st.mu.Unlock()
		if err != nil {
			st.errs[id] = err
		} else {
			st.leases[id] = l
		}
	})
}

func (st *serverTarget) release(id int) {
	st.mu.Lock()
	l := st.leases[id]
	delete(st.leases, id)
	st.mu.Unlock()
	l.Release()
}

func (st *serverTarget) cancel(id int) {
	st.mu.Lock()
	c := st.cancels[id]
	st.mu.Unlock()
	c()
}

func (st *serverTarget) setLimit(proc int, n int64) {
	require.NoError(st.t, st.sems[proc].SetLimit(context.Background(), n))
}

func (st *serverTarget) close() {
	for _, c := range st.cancels {
		c()
	}
	st.wg.Wait()
	for _, l := range st.leases {
		l.Release()
	}
	for _, s := range st.sems {
		stats, err := s.Stats(context.Background())
		require.NoError(st.t, err)
		require.Zero(st.t, stats.Lost, "no lease may be lost")
		require.Zero(st.t, stats.Unavailable)
	}
}

func (st *serverTarget) check(t *testing.T, want *model, step string) {
	t.Helper()
	ctx := context.Background()
	var last string
	deadline := time.Now().Add(10 * time.Second)
	for {
		st.mu.Lock()
		held := map[int]int64{}
		for id, l := range st.leases {
			held[id] = l.Weight()
		}
		errs := maps.Clone(st.errs)
		st.mu.Unlock()
		stats, err := st.sems[0].Stats(ctx)
		require.NoError(t, err)
		ok := maps.Equal(held, want.held) && len(errs) == len(want.failed) &&
			stats.InUse == want.sum() && stats.Waiting == int64(len(want.queue)) && stats.Limit == want.limit
		for id, e := range want.failed {
			ok = ok && errors.Is(errs[id], e)
		}
		if ok {
			break
		}
		last = fmt.Sprintf("leases %v errs %v stats %+v; want held %v failed %v queue %v limit %d", held, errs, stats, want.held, want.failed, want.queue, want.limit)
		if time.Now().After(deadline) {
			t.Fatalf("after %s: target does not agree with the model: %s", step, last)
		}
		time.Sleep(2 * time.Millisecond)
	}
	checkInvariant(t, st.sems[0], st.rdb, max(want.limit, want.sum()))
}

// TestConformance drives the model, miniredis and a real redis-server
// through the same random sequences of Acquire, TryAcquire, Release,
// cancellation and SetLimit, from three semaphores on one name (as if three
// processes), and requires each to agree with the model after every step.
func TestConformance(t *testing.T) {
	seeds := []uint64{1, 2, 3}
	steps := 60
	if testing.Short() {
		seeds, steps = seeds[:1], 30
	}
	targets := []struct {
		name string
		make func(t *testing.T, limit int64) target
	}{
		{"model", func(t *testing.T, limit int64) target { return &modelTarget{newModel(limit)} }},
		{"miniredis", func(t *testing.T, limit int64) target { return newServerTarget(t, startMiniredis(t), 3, limit) }},
		{"redis-server", func(t *testing.T, limit int64) target {
			if !haveRedis() {
				t.Skip("redis-server not on PATH")
			}
			return newServerTarget(t, startRedis(t), 3, limit)
		}},
		{"redis-server-acl", func(t *testing.T, limit int64) target {
			if !haveRedis() {
				t.Skip("redis-server not on PATH")
			}
			return newServerTarget(t, startRedisACL(t), 3, limit)
		}},
	}
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			for _, seed := range seeds {
				t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
					runConformance(t, seed, steps, tg.make)
				})
			}
		})
	}
}

func runConformance(t *testing.T, seed uint64, steps int, mk func(*testing.T, int64) target) {
	r := rand.New(rand.NewPCG(seed, 15))
	const limit = 6
	want := newModel(limit)
	tg := mk(t, limit)
	defer tg.close()
	next := 0
	for step := range steps {
		held := slices.Sorted(maps.Keys(want.held))
		var op string
		switch k := r.IntN(10); {
		case k < 4 || (len(held) == 0 && len(want.queue) == 0):
			id, w, try := next, 1+r.Int64N(want.limit+1), r.IntN(4) == 0
			next++
			op = fmt.Sprintf("acquire(id=%d, w=%d, try=%v)", id, w, try)
			want.acquire(t, id, w, try)
			tg.acquire(r.IntN(3), id, w, try)
		case k < 7 && len(held) > 0:
			id := held[r.IntN(len(held))]
			op = fmt.Sprintf("release(%d)", id)
			want.release(t, id)
			tg.release(id)
		case k < 9 && len(want.queue) > 0:
			id := want.queue[r.IntN(len(want.queue))].id
			op = fmt.Sprintf("cancel(%d)", id)
			want.cancel(t, id)
			tg.cancel(id)
		default:
			n := int64(2 + r.IntN(limit))
			op = fmt.Sprintf("setLimit(%d)", n)
			want.setLimit(t, n)
			tg.setLimit(r.IntN(3), n)
		}
		tg.check(t, want, fmt.Sprintf("step %d: %s", step, op))
	}
}
