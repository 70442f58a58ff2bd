package redislimit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/semaphore"
)

// A Semaphore is a weighted, FIFO, lease-based semaphore shared through
// Redis by every process that opens the same name with the same prefix.
// Its methods are safe for concurrent use. Close it to release what it
// holds and stop its two goroutines (the refresher and the stream reader).
type Semaphore struct {
	rdb   redis.UniversalClient
	name  string
	keys  []string
	o     options
	local *semaphore.Weighted // WithFallbackLocal only

	limit atomic.Int64 // New's limit, then SetLimit's; seeds Redis when it has none

	mu       sync.Mutex
	closed   bool
	leases   map[string]*Lease // leases granted by Redis and not yet released or lost
	waiters  map[string]*waiter
	stream   string        // the reader's position in the wake stream
	keepKick chan struct{} // wakes the idle refresher
	readKick chan struct{} // wakes the idle reader
	stop     chan struct{}
	wg       sync.WaitGroup

	seenLimit, seenHeld, seenWaiting, seenRejected atomic.Int64
	acquired, fallbacks, lost, unavailable         atomic.Uint64
	brk                                            breaker
	localHeld                                      atomic.Int64
	localLeases                                    atomic.Int64
	reading                                        atomic.Bool // the reader is blocked on the stream
	stalled                                        atomic.Bool // tests: the refresher skips its round trips, as in a stalled process
}

// A waiter is an Acquire call queued in Redis. Its fields are guarded by
// the Semaphore's mu; whoever changes them sends on ready.
type waiter struct {
	ctx     context.Context // Acquire's, for the values of the lease's Context
	id      string
	weight  int64
	since   time.Time // last time Redis confirmed the queue entry
	lease   *Lease    // set when granted
	err     error     // set when the wait must end with an error
	recheck bool      // a wake-up or a lost queue entry: ask Redis again
	ready   chan struct{}
}

// New returns a Semaphore named name with the given limit, on the Redis
// reached through rdb (a standalone, Sentinel-backed or Cluster client; it
// carries TLS and ACL credentials). New does no network I/O.
//
// The limit is shared: Redis keeps one limit per name, set by the first
// process to use it (or by [Semaphore.SetLimit]), and limit is only used
// when Redis has none, such as after it lost its data.
//
// A name is 1 to 128 bytes of UTF-8 without braces or control characters.
// Bad input returns an error wrapping [ErrInvalidName], [ErrInvalidLimit]
// or [ErrInvalidOption]; New never panics.
func New(rdb redis.UniversalClient, name string, limit int64, opts ...Option) (*Semaphore, error) {
	if rdb == nil {
		return nil, fmt.Errorf("%w: nil client", ErrInvalidOption)
	}
	if err := validName(name, 128); err != nil {
		return nil, err
	}
	if limit < 1 {
		return nil, fmt.Errorf("%w: %d", ErrInvalidLimit, limit)
	}
	o := defaultOptions()
	for _, opt := range opts {
		if opt == nil {
			return nil, fmt.Errorf("%w: nil Option", ErrInvalidOption)
		}
		opt.apply(&o)
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	base := o.prefix + "{" + name + "}:"
	s := &Semaphore{
		rdb:      rdb,
		name:     name,
		keys:     []string{base + "holders", base + "expiry", base + "state", base + "queue", base + "wants", base + "beats", base + "wake"},
		o:        o,
		leases:   make(map[string]*Lease),
		waiters:  make(map[string]*waiter),
		stream:   "$",
		keepKick: make(chan struct{}, 1),
		readKick: make(chan struct{}, 1),
		stop:     make(chan struct{}),
	}
	if o.fallback == fallbackLocal {
		s.local = semaphore.NewWeighted(o.localN)
	}
	s.limit.Store(limit)
	s.seenLimit.Store(limit)
	s.wg.Add(2)
	go s.keep()
	go s.read()
	return s, nil
}

func validName(name string, maxLen int) error {
	if name == "" || len(name) > maxLen || !utf8.ValidString(name) {
		return fmt.Errorf("%w: %q must be 1 to %d bytes of UTF-8", ErrInvalidName, name, maxLen)
	}
	if strings.ContainsAny(name, "{}") || strings.ContainsFunc(name, unicode.IsControl) {
		return fmt.Errorf("%w: %q has braces or control characters", ErrInvalidName, name)
	}
	return nil
}

// Name returns the semaphore's name.
func (s *Semaphore) Name() string { return s.name }

// Acquire waits, in FIFO order across all processes, until weight fits
// under the shared limit, and returns a lease on it. It makes one round
// trip when the weight fits at once. A queued Acquire is woken one round
// trip after the release that frees its weight (through the wake stream),
// or at the latest one poll interval later.
//
// On failure Acquire holds nothing: if ctx ends it returns ctx.Err()
// unchanged and withdraws from the queue (a grant that raced the end is
// given back). A weight below 1 gets [ErrInvalidWeight], a weight above the
// shared limit [ErrWeightExceedsLimit]. If Redis is unavailable, Acquire
// fails with an error wrapping [ErrUnavailable], unless a fallback option
// admits it. Every round trip of one Acquire names the same lease ID, made
// here, so its retries are safe: a retry finds the request where the first
// attempt left it.
func (s *Semaphore) Acquire(ctx context.Context, weight int64) (*Lease, error) {
	return s.acquire(ctx, weight, false)
}

// TryAcquire takes weight only if it fits now and nobody is queued ahead,
// in one round trip; otherwise it returns [ErrNoCapacity] and leaves
// nothing behind. Its other errors are Acquire's.
func (s *Semaphore) TryAcquire(ctx context.Context, weight int64) (*Lease, error) {
	return s.acquire(ctx, weight, true)
}

func (s *Semaphore) acquire(ctx context.Context, weight int64, try bool) (*Lease, error) {
	if weight < 1 {
		return nil, fmt.Errorf("%w: %d", ErrInvalidWeight, weight)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.o.breakMin > 0 {
		if cause := s.brk.skip(); cause != nil {
			return s.fallback(ctx, weight, try, cause)
		}
	}
	w := &waiter{ctx: ctx, id: newID(), weight: weight, ready: make(chan struct{}, 1)}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	if !try {
		// Registered before the first round trip, so that a wake-up for it
		// on the stream cannot arrive before the reader knows it.
		w.since = time.Now()
		s.waiters[w.id] = w
	}
	s.mu.Unlock()
	s.poke()

	mode := "wait"
	if try {
		mode = "try"
	}
	for {
		sent := time.Now()
		res, err := s.run(ctx, acquireScript, w.id, weight, mode)
		if err == nil {
			var status, token int64
			status, token, err = s.acquireResult(res)
			switch {
			case err != nil:
			case status == 1:
				l, err := s.granted(ctx, w, token, sent)
				if err != nil {
					return nil, err
				}
				return l, nil
			case status == -1:
				err = fmt.Errorf("%w: weight %d, limit %d", ErrWeightExceedsLimit, weight, s.seenLimit.Load())
			case status == -2:
				err = ErrNoCapacity
			}
		}
		if err != nil {
			s.forget(w)
			if errors.Is(err, ErrUnavailable) {
				return s.fallback(ctx, weight, try, err)
			}
			return nil, err
		}
		// Queued: wait for a grant, a wake-up, an error, or the ctx.
		s.mu.Lock()
		w.since = sent
		s.mu.Unlock()
		for again := false; !again; {
			select {
			case <-ctx.Done():
				s.mu.Lock()
				delete(s.waiters, w.id)
				l, closed := w.lease, w.err == ErrClosed
				s.mu.Unlock()
				if l != nil {
					l.Release()
				} else if !closed {
					s.release(w.id)
				}
				return nil, ctx.Err()
			case <-w.ready:
			}
			s.mu.Lock()
			l, werr := w.lease, w.err
			again, w.recheck = w.recheck, false
			s.mu.Unlock()
			if l != nil {
				if err := s.replicate(ctx, l); err != nil {
					return nil, err
				}
				return l, nil
			}
			if werr != nil {
				s.forget(w)
				if errors.Is(werr, ErrUnavailable) {
					s.release(w.id)
					return s.fallback(ctx, weight, try, werr)
				}
				return nil, werr
			}
		}
	}
}

// granted turns an acquire script's grant into a lease.
func (s *Semaphore) granted(ctx context.Context, w *waiter, token int64, sent time.Time) (*Lease, error) {
	s.mu.Lock()
	if l := w.lease; l != nil { // the refresher got there first
		s.mu.Unlock()
		return l, s.replicate(ctx, l)
	}
	if s.closed {
		s.mu.Unlock()
		s.release(w.id)
		return nil, ErrClosed
	}
	l := s.promoteLocked(w, token, sent)
	s.mu.Unlock()
	return l, s.replicate(ctx, l)
}

// replicate waits for WithReplicas after a grant; on a shortfall it gives
// the lease back.
func (s *Semaphore) replicate(ctx context.Context, l *Lease) error {
	if s.o.replicas == 0 {
		return nil
	}
	err := s.wait(ctx)
	if err != nil {
		l.Release()
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return err
}

// promoteLocked makes w's grant a lease. s.mu is held.
func (s *Semaphore) promoteLocked(w *waiter, token int64, sent time.Time) *Lease {
	delete(s.waiters, w.id)
	lctx, cancel := context.WithCancelCause(context.WithoutCancel(w.ctx))
	l := &Lease{
		s:      s,
		id:     w.id,
		weight: w.weight,
		token:  token,
		ctx:    lctx,
		cancel: cancel,
		lost:   make(chan struct{}),
		lostAt: sent.Add(s.o.ttl * 9 / 10),
	}
	l.timer = time.AfterFunc(time.Until(l.lostAt), func() { s.expire(l) })
	s.leases[l.id] = l
	w.lease = l
	s.acquired.Add(1)
	s.localHeld.Add(w.weight)
	return l
}

// forget drops w from the waiters.
func (s *Semaphore) forget(w *waiter) {
	s.mu.Lock()
	delete(s.waiters, w.id)
	s.mu.Unlock()
}

func (s *Semaphore) fallback(ctx context.Context, weight int64, try bool, cause error) (*Lease, error) {
	switch s.o.fallback {
	case fallbackLocal:
		if weight > s.o.localN {
			return nil, fmt.Errorf("%w: weight %d, local fallback limit %d", ErrWeightExceedsLimit, weight, s.o.localN)
		}
		if try {
			if !s.local.TryAcquire(weight) {
				return nil, ErrNoCapacity
			}
		} else if err := s.local.Acquire(ctx, weight); err != nil {
			return nil, err
		}
	case fallbackUnlimited:
	default:
		return nil, cause
	}
	s.fallbacks.Add(1)
	s.localHeld.Add(weight)
	s.localLeases.Add(1)
	lctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	return &Lease{s: s, weight: weight, ctx: lctx, cancel: cancel, lost: make(chan struct{}), local: true}, nil
}

func (s *Semaphore) acquireResult(res any) (status, token int64, err error) {
	a, ok := res.([]any)
	if !ok || len(a) != 5 {
		return 0, 0, fmt.Errorf("%w: unexpected reply %v", ErrUnavailable, res)
	}
	v := ints(a)
	s.seen(v[2], v[3], v[4])
	return v[0], v[1], nil
}

func (s *Semaphore) seen(limit, held, waiting int64) {
	s.seenLimit.Store(limit)
	s.seenHeld.Store(held)
	s.seenWaiting.Store(waiting)
}

func ints(a []any) []int64 {
	v := make([]int64, len(a))
	for i, x := range a {
		v[i], _ = x.(int64)
	}
	return v
}

// release gives back or withdraws ids in one round trip, best effort
// within the timeout; whatever it fails to give back expires by its TTL.
func (s *Semaphore) release(ids ...string) error {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	_, err := s.run(context.Background(), releaseScript, args...)
	return err
}

// SetLimit sets the shared limit for every process using this semaphore,
// and grants at once what the new limit lets through. Leases already held
// keep their weight, so after a decrease the weight held may stay above the
// new limit until enough of them are released. A limit below 1 gets
// [ErrInvalidLimit] and changes nothing.
func (s *Semaphore) SetLimit(ctx context.Context, limit int64) error {
	if limit < 1 {
		return fmt.Errorf("%w: %d", ErrInvalidLimit, limit)
	}
	if s.isClosed() {
		return ErrClosed
	}
	s.limit.Store(limit)
	res, err := s.run(ctx, setLimitScript, limit)
	if err != nil {
		return err
	}
	if a, ok := res.([]any); ok && len(a) == 3 {
		v := ints(a)
		s.seen(v[0], v[1], v[2])
	}
	return nil
}

// Stats describes a semaphore. The shared fields come from Redis in the
// round trip Stats makes; the others are this process's.
type Stats struct {
	Limit   int64 // the shared limit
	InUse   int64 // weight held by live leases, across all processes
	Waiting int64 // Acquire calls queued, across all processes
	// RejectedReleases counts, across all processes, releases that named
	// no live holder or waiter: replays, forgeries, and leases that had
	// already expired. None of them changed anything.
	RejectedReleases int64

	Held        int64  // weight held by this Semaphore's leases, fallback leases included
	Leases      int    // this Semaphore's leases, fallback leases included
	Waiters     int    // this Semaphore's Acquire calls queued in Redis
	Acquired    uint64 // leases Redis granted to this Semaphore
	Fallbacks   uint64 // leases a fallback admitted while Redis was unavailable
	Lost        uint64 // leases this Semaphore lost
	Unavailable uint64 // round trips that failed
	Bypassed    uint64 // Acquire calls that did not try Redis: the circuit breaker was open
}

// Stats reports the semaphore's state in one round trip. It reaps expired
// holders and grants what fits, as every call does.
func (s *Semaphore) Stats(ctx context.Context) (Stats, error) {
	res, err := s.run(ctx, statsScript)
	st := s.localStats()
	if err != nil {
		return st, err
	}
	if a, ok := res.([]any); ok && len(a) == 4 {
		v := ints(a)
		s.seen(v[0], v[1], v[2])
		s.seenRejected.Store(v[3])
		st.Limit, st.InUse, st.Waiting, st.RejectedReleases = v[0], v[1], v[2], v[3]
	}
	return st, nil
}

func (s *Semaphore) localStats() Stats {
	s.mu.Lock()
	st := Stats{Leases: len(s.leases) + int(s.localLeases.Load()), Waiters: len(s.waiters)}
	s.mu.Unlock()
	st.Held = s.localHeld.Load()
	st.Acquired = s.acquired.Load()
	st.Fallbacks = s.fallbacks.Load()
	st.Lost = s.lost.Load()
	st.Unavailable = s.unavailable.Load()
	st.Bypassed = s.brk.skipped.Load()
	return st
}

// Close releases every lease this Semaphore holds (their Contexts end with
// cause [ErrClosed]) and withdraws its queued Acquire calls (they return
// [ErrClosed]), in one round trip, then stops its goroutines. Leases a
// fallback admitted stay valid until released. Close is idempotent; it
// returns the error of the release round trip, if any, in which case the
// weight is freed by the TTL instead.
func (s *Semaphore) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	var ids []string
	for id, l := range s.leases {
		ids = append(ids, id)
		l.endLocked(stateClosed, ErrClosed)
	}
	for id, w := range s.waiters {
		ids = append(ids, id)
		w.err = ErrClosed
		delete(s.waiters, id)
		signal(w.ready)
	}
	s.mu.Unlock()
	close(s.stop)
	var err error
	if len(ids) > 0 {
		err = s.release(ids...)
	}
	if s.reading.Load() {
		ctx, cancel := context.WithTimeout(context.Background(), s.o.timeout)
		_ = wakeScript.Run(ctx, s.rdb, s.keys).Err()
		cancel()
	}
	s.wg.Wait()
	return err
}

func (s *Semaphore) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// poke wakes the refresher and the reader if they are idle.
func (s *Semaphore) poke() {
	signal(s.keepKick)
	signal(s.readKick)
}

// keep is the refresher: while this process holds leases it refreshes them
// all every TTL/3 in one round trip; while it has waiters, the same round
// trip runs every poll interval as their heartbeat and wake-up backstop.
func (s *Semaphore) keep() {
	defer s.wg.Done()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	var last time.Time
	for {
		s.mu.Lock()
		nh, nw := len(s.leases), len(s.waiters)
		s.mu.Unlock()
		if nh == 0 && nw == 0 {
			select {
			case <-s.keepKick:
				last = time.Now() // whatever arrives was just sent
				continue
			case <-s.stop:
				return
			}
		}
		t.Reset(s.o.poll)
		select {
		case <-t.C:
		case <-s.stop:
			return
		}
		if nw > 0 || time.Since(last) >= s.o.ttl/3-s.o.poll {
			last = time.Now()
			s.heartbeat()
		}
	}
}

func (s *Semaphore) heartbeat() {
	if s.stalled.Load() {
		return
	}
	s.mu.Lock()
	hs := make([]string, 0, len(s.leases))
	for id := range s.leases {
		hs = append(hs, id)
	}
	ws := make([]string, 0, len(s.waiters))
	for id := range s.waiters {
		ws = append(ws, id)
	}
	s.mu.Unlock()
	if len(hs)+len(ws) == 0 {
		return
	}
	args := make([]any, 0, len(hs)+len(ws)+2)
	args = append(args, len(hs))
	for _, id := range hs {
		args = append(args, id)
	}
	args = append(args, len(ws))
	for _, id := range ws {
		args = append(args, id)
	}
	sent := time.Now()
	res, err := s.run(context.Background(), heartbeatScript, args...)
	a, ok := res.([]any)
	if err == nil && (!ok || len(a) != 5) {
		err = fmt.Errorf("%w: unexpected reply %v", ErrUnavailable, res)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		// Leases end by their own timers. A waiter whose queue entry Redis
		// has not confirmed for a TTL has surely lost it.
		for _, id := range ws {
			if w := s.waiters[id]; w != nil && time.Since(w.since) > s.o.ttl {
				w.err = err
				signal(w.ready)
			}
		}
		return
	}
	hv, _ := a[0].([]any)
	wv, _ := a[1].([]any)
	v := ints(a[2:])
	s.seen(v[0], v[1], v[2])
	for i, x := range ints(hv) {
		if i >= len(hs) {
			break
		}
		l := s.leases[hs[i]]
		if l == nil {
			continue
		}
		if x == 1 {
			l.extendLocked(sent)
		} else {
			l.endLocked(stateGone, ErrLeaseLost)
		}
	}
	for i, x := range ints(wv) {
		if i >= len(ws) {
			break
		}
		w := s.waiters[ws[i]]
		if w == nil {
			continue
		}
		w.since = sent
		switch {
		case x > 0:
			s.promoteLocked(w, x, sent)
		case x < 0:
			w.recheck = true
		default:
			continue
		}
		signal(w.ready)
	}
}

// read is the wake-up reader: while this process has waiters it blocks on
// the wake stream (one connection) and wakes each waiter named in a grant.
func (s *Semaphore) read() {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		nw, pos := len(s.waiters), s.stream
		s.mu.Unlock()
		if nw == 0 {
			select {
			case <-s.readKick:
				continue
			case <-s.stop:
				return
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.o.poll+s.o.timeout)
		s.reading.Store(true)
		res, err := s.rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{s.keys[6], pos}, Count: 256, Block: s.o.poll}).Result()
		s.reading.Store(false)
		cancel()
		select {
		case <-s.stop:
			return
		default:
		}
		if err != nil {
			if !errors.Is(err, redis.Nil) {
				s.unavailable.Add(1)
				select { // Redis is down: the refresher tells the waiters
				case <-time.After(s.o.poll):
				case <-s.stop:
					return
				}
			}
			continue
		}
		s.mu.Lock()
		for _, st := range res {
			for _, m := range st.Messages {
				s.stream = m.ID
				id, _ := m.Values["id"].(string)
				if w := s.waiters[id]; w != nil && w.lease == nil {
					w.recheck = true
					signal(w.ready)
				}
			}
		}
		s.mu.Unlock()
	}
}

// run sends a script with the shared KEYS and common ARGV, then args. It
// retries a failed round trip twice (each names the same IDs, so it is
// safe), each bounded by the timeout. A failure wraps ErrUnavailable; if
// ctx ended, it returns ctx.Err().
func (s *Semaphore) run(ctx context.Context, sc *redis.Script, args ...any) (res any, err error) {
	if s.o.breakMin > 0 {
		defer func() { s.brk.record(err, s.o.breakMin, s.o.breakMax) }()
	}
	var now int64
	if s.o.clientNow {
		now = s.o.now().UnixMilli()
	}
	ttl := s.o.ttl.Milliseconds()
	argv := append([]any{now, ttl, ttl, s.limit.Load()}, args...)
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(time.Duration(attempt*attempt) * 10 * time.Millisecond):
			}
		}
		rctx, cancel := context.WithTimeout(ctx, s.o.timeout)
		res, err = sc.Run(rctx, s.rdb, s.keys, argv...).Result()
		cancel()
		if err == nil {
			return res, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !retryable(err) {
			break
		}
	}
	s.unavailable.Add(1)
	return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// breaker is WithCircuitBreaker's state.
type breaker struct {
	mu      sync.Mutex
	open    bool
	until   time.Time     // while open, when the next probe may go
	pause   time.Duration // the current pause
	probing bool          // an Acquire is probing
	cause   error         // the failure that opened it, last
	skipped atomic.Uint64
}

// skip reports whether an Acquire must not try Redis, with the error it
// then fails with (or hands its fallback); nil means go ahead, perhaps as
// the probe.
func (b *breaker) skip() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.open {
		return nil
	}
	if !b.probing && !time.Now().Before(b.until) {
		b.probing = true
		return nil
	}
	b.skipped.Add(1)
	// b.cause wraps ErrUnavailable.
	return fmt.Errorf("redislimit: circuit breaker open for %v (retried after it), Redis last failed with: %w", b.pause, b.cause)
}

// record learns from the end of a round trip: success closes the
// breaker, unavailability opens it or, after a failed probe, doubles its
// pause; anything else (the caller's ctx ended) only ends a probe.
func (b *breaker) record(err error, lo, hi time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case err == nil:
		b.open, b.probing, b.pause, b.cause = false, false, 0, nil
	case errors.Is(err, ErrUnavailable):
		now := time.Now()
		switch {
		case !b.open:
			b.pause = lo
		case b.probing || !now.Before(b.until):
			b.pause = min(2*b.pause, hi)
		default:
			return // a round trip that began before the breaker opened
		}
		b.open, b.probing, b.until, b.cause = true, false, now.Add(b.pause), err
	default:
		b.probing = false
	}
}

func retryable(err error) bool {
	msg := err.Error()
	for _, p := range []string{"NOPERM", "ERR ", "WRONGTYPE", "NOAUTH", "WRONGPASS"} {
		if strings.HasPrefix(msg, p) {
			return false
		}
	}
	return true
}

// wait runs WAIT on the connection that carries the semaphore's writes.
func (s *Semaphore) wait(ctx context.Context) error {
	var c redis.Cmdable = s.rdb
	if cc, ok := s.rdb.(*redis.ClusterClient); ok {
		node, err := cc.MasterForKey(ctx, s.keys[0])
		if err != nil {
			s.unavailable.Add(1)
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		c = node
	}
	// WAIT counts replicas that have this connection's last write, and that
	// write comes after the grant, so it covers the grant too. A pipeline
	// keeps the write and WAIT on one connection. The write is the stats
	// script, which changes nothing but, like every script, writes the
	// state.
	var n *redis.Cmd
	ttl := s.o.ttl.Milliseconds()
	var now int64
	if s.o.clientNow {
		now = s.o.now().UnixMilli()
	}
	rctx, cancel := context.WithTimeout(ctx, s.o.timeout+s.o.replWait)
	defer cancel()
	_, err := c.Pipelined(rctx, func(p redis.Pipeliner) error {
		statsScript.Eval(rctx, p, s.keys, now, ttl, ttl, s.limit.Load())
		n = p.Do(rctx, "wait", s.o.replicas, s.o.replWait.Milliseconds())
		return nil
	})
	if err == nil {
		if got, _ := n.Int64(); got < int64(s.o.replicas) {
			err = fmt.Errorf("%d of %d replicas acknowledged", got, s.o.replicas)
		}
	}
	if err != nil {
		s.unavailable.Add(1)
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return nil
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

type leaseState int

const (
	stateHeld     leaseState = iota
	stateReleased            // Release called
	stateClosed              // released by Close
	stateGone                // Redis no longer has it: lost
	stateLate                // not refreshed within 0.9 × TTL: lost
)

// A Lease is weight held in a [Semaphore] until Release, or until it is
// lost. Its methods are safe for concurrent use.
//
// A lease is lost when Redis no longer has it (it expired, or Redis lost
// its data) or when this process could not refresh it in time: it counts a
// lease as lost 0.9 × TTL after the last refresh it sent, on the monotonic
// clock, which is before Redis can expire it. Losing a lease closes Lost
// and ends Context with cause [ErrLeaseLost]; work done under it should
// stop, since its weight may already be granted to someone else.
type Lease struct {
	s      *Semaphore
	id     string
	weight int64
	token  int64
	ctx    context.Context
	cancel context.CancelCauseFunc
	lost   chan struct{}
	timer  *time.Timer
	local  bool // admitted by a fallback

	lostAt   time.Time  // guarded by s.mu
	state    leaseState // guarded by s.mu
	released atomic.Bool
}

// Weight returns the weight the lease holds.
func (l *Lease) Weight() int64 { return l.weight }

// Token returns the lease's fencing token. Tokens grow with every grant
// of the semaphore, so a resource that remembers the largest token it has
// seen can refuse a late writer whose lease was lost and regranted. Tokens
// start from the server's clock in µs when Redis has no state, so they keep
// growing across an empty restart as long as the clock does. A lease a
// fallback admitted has token 0.
func (l *Lease) Token() int64 { return l.token }

// Context returns a context that carries the values of the ctx given to
// Acquire, and ends when the lease is released (cause [ErrReleased]), lost
// ([ErrLeaseLost]) or released by Close ([ErrClosed]). Run the work the
// lease admits under it.
func (l *Lease) Context() context.Context { return l.ctx }

// Lost returns a channel closed when the lease is lost. It is never
// closed for a lease that is released first.
func (l *Lease) Lost() <-chan struct{} { return l.lost }

// Release gives the weight back and grants it to the queue in the same
// round trip. It is idempotent and does not block longer than the timeout
// ([WithTimeout]); if Redis cannot be reached, the weight is freed by the
// TTL instead. Releasing a lost lease is harmless.
func (l *Lease) Release() {
	if !l.released.CompareAndSwap(false, true) {
		return
	}
	s := l.s
	if l.local {
		s.localHeld.Add(-l.weight)
		s.localLeases.Add(-1)
		l.cancel(ErrReleased)
		if s.local != nil {
			s.local.Release(l.weight)
		}
		return
	}
	s.mu.Lock()
	prev := l.state
	if prev == stateHeld || prev == stateLate {
		l.endLocked(stateReleased, ErrReleased)
	}
	s.mu.Unlock()
	if prev == stateHeld || prev == stateLate {
		// A late lease may still be in Redis: give it back now.
		_ = s.release(l.id)
	}
}

// endLocked moves the lease out of the held state. s.mu is held.
func (l *Lease) endLocked(st leaseState, cause error) {
	s := l.s
	if l.state != stateHeld {
		if l.state == stateLate && st == stateReleased {
			l.state = st
		}
		return
	}
	l.state = st
	delete(s.leases, l.id)
	l.timer.Stop()
	s.localHeld.Add(-l.weight)
	// The ctx first: whoever sees Lost closed finds it already ended,
	// with its cause.
	l.cancel(cause)
	if st == stateGone || st == stateLate {
		s.lost.Add(1)
		close(l.lost)
	}
}

// extendLocked records a refresh sent at sent. s.mu is held.
func (l *Lease) extendLocked(sent time.Time) {
	if l.state != stateHeld {
		return
	}
	at := sent.Add(l.s.o.ttl * 9 / 10)
	if at.After(l.lostAt) {
		l.lostAt = at
		l.timer.Reset(time.Until(at))
	}
}

// expire runs when the lease's timer fires.
func (s *Semaphore) expire(l *Lease) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l.state == stateHeld && !time.Now().Before(l.lostAt) {
		l.endLocked(stateLate, ErrLeaseLost)
	}
}
