// Package wsem implements the FIFO weighted semaphore behind package
// semaphore, with two more abilities that package pool needs: Close, which
// fails every waiter and later acquire, and strict mode, in which a request
// larger than the size fails at once (and a waiter that a shrinking Resize
// leaves too large fails) instead of waiting for its ctx to end.
package wsem

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
)

// Errors of Close and strict mode; plain semaphores never return them.
var (
	ErrClosed   = errors.New("semaphore: closed")
	ErrTooLarge = errors.New("semaphore: weight exceeds size")
)

// The state word packs the weight still available (low 63 bits) with a flag
// (the top bit) that sends every caller to the slow path. The flag is set
// exactly while a waiter that fits the size is queued, while the held
// weight exceeds the size after a shrinking Resize (deficit > 0), or once
// the semaphore is closed. While it
// is clear, Acquire and Release touch only this word; while it is set, the
// word changes only under mu.
const (
	slowFlag  = uint64(1) << 63
	availMask = slowFlag - 1
)

// Weighted is the semaphore; package semaphore documents its contract.
// The zero value is a semaphore of size 0.
type Weighted struct {
	state atomic.Uint64 // slowFlag | available weight
	size  atomic.Int64  // written under mu

	mu      sync.Mutex
	deficit int64      // held weight above size after a shrink; under mu
	queue   waiterList // waiters with n <= size, FIFO; under mu
	over    waiterList // waiters with n > size, by arrival; under mu
	seq     uint64     // arrival counter for waiters; under mu
	closed  bool       // under mu
	strict  bool       // set before use
}

type waiter struct {
	n       int64
	seq     uint64
	ready   chan struct{} // closed when granted
	granted bool          // under mu
	err     error         // why it was woken without a grant; under mu
	over    bool          // in the over list; under mu
	prev    *waiter
	next    *waiter
}

// Waiter structs are recycled; their channels are not, because a channel
// made inside a testing/synctest bubble must never be used outside it, and
// a semaphore may be shared across bubbles.
var waiterPool = sync.Pool{New: func() any { return new(waiter) }}

// NewStrict is NewWeighted in strict mode: Acquire fails with ErrTooLarge
// instead of waiting when n exceeds the size, and so does a waiter when a
// Resize leaves n above the size.
func NewStrict(n int64) *Weighted {
	s := NewWeighted(n)
	s.strict = true
	return s
}

// NewWeighted creates a new weighted semaphore with the given maximum
// combined weight for concurrent access. NewWeighted panics if n is
// negative.
func NewWeighted(n int64) *Weighted {
	s := &Weighted{}
	s.Init(n)
	return s
}

// Init sets the size of a new, unused semaphore to n, for semaphores that
// live inside another struct. Init panics if n is negative.
func (s *Weighted) Init(n int64) {
	if n < 0 {
		panic("semaphore: NewWeighted called with negative size " + strconv.FormatInt(n, 10))
	}
	s.size.Store(n)
	s.state.Store(uint64(n))
}

// Acquire acquires the semaphore with a weight of n, blocking until
// resources are available or ctx is done. On success, returns nil. On
// failure, returns ctx.Err() and leaves the semaphore unchanged; if the
// caller was at the head of the queue, the waiters behind it that now fit
// are granted at once.
//
// If ctx is already done when Acquire is called, Acquire fails even if the
// weight is available. Requests are granted in the order they arrive: while
// any waiter is queued, a new request queues behind it, whatever its
// weight (n == 0 included). A request larger than the size waits, without
// blocking other callers, until ctx is done or a Resize makes it fit.
// Acquire panics if n is negative.
//
// Cost: one compare-and-swap when no one waits; otherwise a mutex and a
// park, with no allocation.
func (s *Weighted) Acquire(ctx context.Context, n int64) error {
	if n < 0 {
		panic("semaphore: Acquire called with negative weight " + strconv.FormatInt(n, 10))
	}
	done := ctx.Done()
	if done != nil {
		select {
		case <-done:
			return ctx.Err()
		default:
		}
	}
	if st := s.state.Load(); st&slowFlag == 0 && uint64(n) <= st &&
		s.state.CompareAndSwap(st, st-uint64(n)) {
		return nil
	}
	return s.acquireSlow(ctx, done, n)
}

func (s *Weighted) acquireSlow(ctx context.Context, done <-chan struct{}, n int64) error {
	s.mu.Lock()
	select {
	case <-done:
		// ctx ended before we could acquire: fail even if we could,
		// as x/sync does.
		s.mu.Unlock()
		return ctx.Err()
	default:
	}
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	size := s.size.Load()
	w := (*waiter)(nil)
	for {
		st := s.state.Load()
		if st&slowFlag == 0 && uint64(n) <= st {
			if s.state.CompareAndSwap(st, st-uint64(n)) {
				s.mu.Unlock()
				return nil
			}
			continue
		}
		if n > size {
			if s.strict {
				s.mu.Unlock()
				return ErrTooLarge
			}
			// Doomed until a Resize: wait aside so that nobody
			// queues behind this request.
			w = s.newWaiter(n)
			w.over = true
			s.over.pushBack(w)
			break
		}
		// Set the flag in the same step that saw too little weight:
		// from now on every Release comes through mu and sees us.
		if st&slowFlag != 0 || s.state.CompareAndSwap(st, st|slowFlag) {
			w = s.newWaiter(n)
			s.queue.pushBack(w)
			break
		}
	}
	s.mu.Unlock()

	select {
	case <-done:
		s.mu.Lock()
		w.ready = nil
		switch {
		case w.granted:
			// Granted after ctx ended: put the weight back, as
			// if the grant had not happened.
			s.releaseLocked(n)
		case w.err != nil:
			// Failed by Close or Resize, and out of the lists.
		default:
			s.removeLocked(w)
		}
		s.mu.Unlock()
		waiterPool.Put(w)
		return ctx.Err()
	case <-w.ready:
		w.ready = nil
		if err := w.err; err != nil {
			waiterPool.Put(w)
			return err
		}
		waiterPool.Put(w)
		// Granted; if ctx ended meanwhile, give the weight back and
		// report the failure, as x/sync does.
		select {
		case <-done:
			s.Release(n)
			return ctx.Err()
		default:
		}
		return nil
	}
}

func (s *Weighted) newWaiter(n int64) *waiter {
	w := waiterPool.Get().(*waiter)
	s.seq++
	w.n, w.seq, w.granted, w.over, w.err = n, s.seq, false, false, nil
	w.ready = make(chan struct{})
	return w
}

// TryAcquire acquires the semaphore with a weight of n without blocking.
// On success, returns true. On failure, returns false and leaves the
// semaphore unchanged. It fails while any waiter that fits the size is
// queued, even if n is available. TryAcquire panics if n is negative.
func (s *Weighted) TryAcquire(n int64) bool {
	if n < 0 {
		panic("semaphore: TryAcquire called with negative weight " + strconv.FormatInt(n, 10))
	}
	for {
		st := s.state.Load()
		if st&slowFlag != 0 || uint64(n) > st {
			return false
		}
		if s.state.CompareAndSwap(st, st-uint64(n)) {
			return true
		}
	}
}

// Release releases the semaphore with a weight of n, and grants, in order,
// every queued waiter that now fits. Release panics with "semaphore:
// released more than held" if n exceeds the weight held, and panics if n
// is negative.
//
// Cost: one compare-and-swap when no one waits; otherwise a mutex and a
// channel send per waiter granted.
func (s *Weighted) Release(n int64) {
	if n < 0 {
		panic("semaphore: Release called with negative weight " + strconv.FormatInt(n, 10))
	}
	st := s.state.Load()
	if st&slowFlag == 0 {
		// held = size - avail; checked again under mu when in doubt.
		if size := s.size.Load(); uint64(n) <= uint64(size)-st &&
			s.state.CompareAndSwap(st, st+uint64(n)) {
			return
		}
	}
	s.mu.Lock()
	s.releaseLocked(n)
	s.mu.Unlock()
}

// releaseLocked returns n to the semaphore and grants waiters. s.mu is held.
func (s *Weighted) releaseLocked(n int64) {
	size := s.size.Load()
	for {
		st := s.state.Load()
		avail := int64(st & availMask)
		if held := size - avail + s.deficit; n > held {
			s.mu.Unlock()
			panic("semaphore: released more than held")
		}
		if st&slowFlag == 0 {
			// Nobody waits and no deficit: only the fast paths
			// race with us.
			if s.state.CompareAndSwap(st, st+uint64(n)) {
				return
			}
			continue
		}
		// The flag is set: the word changes only under mu.
		pay := min(n, s.deficit)
		s.deficit -= pay
		s.grantLocked(avail + n - pay)
		return
	}
}

// grantLocked grants queued waiters from the head while they fit in avail,
// then stores avail and the flag. The flag must be set on entry (so the
// word is stable) and s.mu held.
func (s *Weighted) grantLocked(avail int64) {
	if s.deficit == 0 && !s.closed {
		for w := s.queue.head; w != nil && w.n <= avail; w = s.queue.head {
			avail -= w.n
			s.queue.remove(w)
			w.granted = true
			close(w.ready)
		}
	}
	st := uint64(avail)
	if s.queue.head != nil || s.deficit > 0 || s.closed {
		st |= slowFlag
	}
	s.state.Store(st)
}

// removeLocked takes a waiter whose ctx ended out of its list. If it was at
// the head of the queue, the waiters behind it may now fit.
func (s *Weighted) removeLocked(w *waiter) {
	if w.over {
		s.over.remove(w)
		return
	}
	head := s.queue.head == w
	s.queue.remove(w)
	if head {
		// The flag is set while w was queued, so the word is stable.
		s.grantLocked(int64(s.state.Load() & availMask))
	}
}

// Resize sets the size of the semaphore to n. Growing grants, in order, the
// queued waiters that now fit, including requests that were larger than the
// old size. Shrinking takes back no weight already held: until the held
// weight falls below the new size, new requests wait. Queued requests that
// are larger than the new size stop blocking the waiters behind them, as
// a request larger than the size does in Acquire. Resize panics if n is
// negative.
func (s *Weighted) Resize(n int64) {
	if n < 0 {
		panic("semaphore: Resize called with negative size " + strconv.FormatInt(n, 10))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.size.Load()
	if n == old {
		return
	}
	// Freeze the word: with the flag set, only mu holders change it.
	var st uint64
	for {
		st = s.state.Load()
		if s.state.CompareAndSwap(st, st|slowFlag) {
			break
		}
	}
	held := old - int64(st&availMask) + s.deficit
	s.size.Store(n)
	s.deficit = max(held-n, 0)
	avail := max(n-held, 0)
	if n < old {
		for w := s.queue.head; w != nil; {
			next := w.next
			if w.n > n {
				s.queue.remove(w)
				if s.strict {
					s.failLocked(w, ErrTooLarge)
				} else {
					w.over = true
					s.over.insertBySeq(w)
				}
			}
			w = next
		}
	} else {
		for w := s.over.head; w != nil; {
			next := w.next
			if w.n <= n {
				s.over.remove(w)
				w.over = false
				s.queue.insertBySeq(w)
			}
			w = next
		}
	}
	s.grantLocked(avail)
}

// Close fails every waiter with ErrClosed, and every later Acquire;
// TryAcquire fails from now on. Release still takes back weight held.
func (s *Weighted) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	for {
		st := s.state.Load()
		if s.state.CompareAndSwap(st, st|slowFlag) {
			break
		}
	}
	for _, l := range []*waiterList{&s.queue, &s.over} {
		for w := l.head; w != nil; w = l.head {
			l.remove(w)
			s.failLocked(w, ErrClosed)
		}
	}
}

// failLocked wakes a waiter, already out of its list, with err.
func (s *Weighted) failLocked(w *waiter, err error) {
	w.err = err
	close(w.ready)
}

// Size returns the current size of the semaphore: the value given to
// NewWeighted or the last Resize.
func (s *Weighted) Size() int64 {
	return s.size.Load()
}

// InUse returns the weight currently held. It can exceed Size after a
// shrinking Resize, until enough weight is released.
//
// InUse is reported rather than the weight available because it stays
// exact when a shrink leaves more held than the size, and because it is
// what a gauge of load wants; the weight available is
// max(Size()-InUse(), 0).
func (s *Weighted) InUse() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.size.Load() - int64(s.state.Load()&availMask) + s.deficit
}

// Waiting returns the number of callers blocked in Acquire, including
// requests larger than the current size.
func (s *Weighted) Waiting() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queue.len + s.over.len
}

// waiterList is an intrusive doubly linked list of waiters.
type waiterList struct {
	head, tail *waiter
	len        int
}

func (l *waiterList) pushBack(w *waiter) {
	w.prev, w.next = l.tail, nil
	if l.tail == nil {
		l.head = w
	} else {
		l.tail.next = w
	}
	l.tail = w
	l.len++
}

// insertBySeq inserts w keeping the list ordered by arrival.
func (l *waiterList) insertBySeq(w *waiter) {
	at := l.tail
	for at != nil && at.seq > w.seq {
		at = at.prev
	}
	if at == nil { // new head
		w.prev, w.next = nil, l.head
		if l.head == nil {
			l.tail = w
		} else {
			l.head.prev = w
		}
		l.head = w
	} else {
		w.prev, w.next = at, at.next
		if at.next == nil {
			l.tail = w
		} else {
			at.next.prev = w
		}
		at.next = w
	}
	l.len++
}

func (l *waiterList) remove(w *waiter) {
	if w.prev == nil {
		l.head = w.next
	} else {
		w.prev.next = w.next
	}
	if w.next == nil {
		l.tail = w.prev
	} else {
		w.next.prev = w.prev
	}
	w.prev, w.next = nil, nil
	l.len--
}
