// Package wsem implements the FIFO weighted semaphore behind package
// semaphore, and the admission queue of package pool.
//
// Package semaphore uses the x/sync contract only: Acquire, TryAcquire,
// Release, Resize and the gauges. Package pool also uses:
//
//   - Close, which fails every waiter and later acquire;
//   - strict mode, in which a request larger than the size fails at once
//     (and a waiter that a shrinking Resize leaves too large fails) instead
//     of waiting for its ctx to end;
//   - task nodes: a job that waits for its weight is a Node in the same
//     FIFO list as the goroutines blocked in Acquire, with no goroutine of
//     its own. When a Release, a Resize or a removal makes a task node fit,
//     it is taken out of the list and handed back to the caller, which
//     runs it;
//   - bounds on how many task nodes may be queued and how many callers may
//     block, counted under the same lock as the list, so they are exact;
//   - WaitIdle, which waits until nothing is held or waiting.
package wsem

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Errors of Close, strict mode and the bounds; plain semaphores never
// return them.
var (
	ErrClosed   = errors.New("semaphore: closed")
	ErrTooLarge = errors.New("semaphore: weight exceeds size")
	ErrFull     = errors.New("semaphore: too many waiters")
)

// The state word packs the weight still available (low 63 bits) with a flag
// (the top bit) that sends every caller to the slow path. The flag is set
// exactly while a node that fits the size is in the list, while the held
// weight exceeds the size after a shrinking Resize (deficit > 0), while a
// WaitIdle caller waits, or once the semaphore is closed. While it is
// clear, Acquire and Release touch only this word; while it is set, the
// word changes only under mu.
const (
	slowFlag  = uint64(1) << 63
	availMask = slowFlag - 1
)

// Unbounded is the bound of a semaphore that limits neither its queue nor
// its blocked callers.
const Unbounded = -1

// Weighted is the semaphore; package semaphore documents its contract.
// The zero value is a semaphore of size 0.
type Weighted struct {
	state atomic.Uint64 // slowFlag | available weight
	size  atomic.Int64  // written under mu

	mu       sync.Mutex
	deficit  int64    // held weight above size after a shrink; under mu
	queue    nodeList // nodes with n <= size, FIFO; under mu
	over     nodeList // goroutine waiters with n > size, by arrival; under mu
	seq      uint64   // arrival counter; under mu
	closed   bool     // under mu
	strict   bool     // set before use
	idleWait int      // WaitIdle callers; under mu
	idle     chan struct{}

	// Bounds and counts for package pool, under mu. A task node is
	// queued (its submitter has gone on) or blocked (its submitter waits
	// for it); blocked nodes are always behind every queued one, because
	// a node blocks only while the queue is full, and the oldest blocked
	// node becomes queued as soon as there is room.
	bounded               bool // the bounds below apply (NewStrict)
	maxQueued, maxBlocked int  // Unbounded, or a bound
	queued, blocked       int  // task nodes queued; goroutines and task nodes blocked
	blockedTasks          int  // of the blocked, the task nodes
	queuedW, blockedW     int64
	firstBlocked          *Node // oldest blocked task node, or nil

	// OnAccept is called, under mu, when a task node joins the queue,
	// directly or from the blocked ones: before any other goroutine can
	// see it there. Package pool sets it before use.
	OnAccept func(n *Node)

	// Wake is called, under mu, for a blocked task node when it stops
	// blocking without being granted: moved into the queue, or failed
	// (err set). A granted blocked node is returned to the caller, which
	// wakes its submitter. Package pool sets it before use.
	Wake func(n *Node, err error)
}

// Node is an entry of the FIFO list. A pool's task embeds it as its first
// field; a goroutine blocked in Acquire uses one inside a waiter.
type Node struct {
	prev, next *Node
	n          int64  // weight
	tag        uint64 // arrival seq << tagBits | kind and place bits
}

const (
	tagTask    = 1 << 0 // a task node, not a waiter
	tagBlocked = 1 << 1 // a task node whose submitter waits
	tagListed  = 1 << 2 // in queue or over
	tagOver    = 1 << 3 // in over
	tagBits    = 4
)

// Weight returns the node's weight.
func (n *Node) Weight() int64 { return n.n }

// SetWeight sets the node's weight; call it before the node is used.
func (n *Node) SetWeight(w int64) { n.n = w }

// Next returns the node after n in a list returned by this package.
func (n *Node) Next() *Node { return n.next }

// Blocked reports whether n is a task node whose submitter waits. It is
// stable once the node has left the list.
func (n *Node) Blocked() bool { return n.tag&tagBlocked != 0 }

func (n *Node) seq() uint64 { return n.tag >> tagBits }

// waiter is a goroutine blocked in Acquire.
type waiter struct {
	Node
	ready   chan struct{} // closed when granted or failed
	granted bool          // under mu
	err     error         // why it was woken without a grant; under mu
}

func asWaiter(n *Node) *waiter { return (*waiter)(unsafe.Pointer(n)) }

// Waiter structs are recycled; their channels are not, because a channel
// made inside a testing/synctest bubble must never be used outside it, and
// a semaphore may be shared across bubbles.
var waiterPool = sync.Pool{New: func() any { return new(waiter) }}

// NewStrict is NewWeighted in strict mode: Acquire fails with ErrTooLarge
// instead of waiting when n exceeds the size, and so does a waiter when a
// Resize leaves n above the size. maxQueued bounds the task nodes queued
// and maxBlocked the callers blocked (Unbounded for no bound).
func NewStrict(n int64, maxQueued, maxBlocked int) *Weighted {
	s := NewWeighted(n)
	s.strict = true
	s.bounded, s.maxQueued, s.maxBlocked = true, maxQueued, maxBlocked
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
// are granted at once. Granting a task node hands it to the caller; only
// package pool's semaphores have task nodes, and it uses AcquireTasks.
func (s *Weighted) Acquire(ctx context.Context, n int64) error {
	err, granted := s.AcquireTasks(ctx, n)
	s.mustBeEmpty(granted)
	return err
}

// AcquireTasks is Acquire that returns the task nodes a failed wait
// granted (linked by Next), for the caller to run.
func (s *Weighted) AcquireTasks(ctx context.Context, n int64) (error, *Node) {
	if n < 0 {
		panic("semaphore: Acquire called with negative weight " + strconv.FormatInt(n, 10))
	}
	done := ctx.Done()
	if done != nil {
		select {
		case <-done:
			return ctx.Err(), nil
		default:
		}
	}
	if st := s.state.Load(); st&slowFlag == 0 && uint64(n) <= st &&
		s.state.CompareAndSwap(st, st-uint64(n)) {
		return nil, nil
	}
	return s.acquireSlow(ctx, done, n)
}

func (s *Weighted) acquireSlow(ctx context.Context, done <-chan struct{}, n int64) (error, *Node) {
	s.mu.Lock()
	if done != nil {
		select {
		case <-done:
			// ctx ended before we could acquire: fail even if we
			// could, as x/sync does.
			s.mu.Unlock()
			return ctx.Err(), nil
		default:
		}
	}
	w, err := s.tryOrQueueLocked(n)
	s.mu.Unlock()
	if w == nil {
		return err, nil
	}
	if done == nil {
		// A plain receive keeps the parked goroutine's frame small.
		<-w.ready
		return s.woken(w), nil
	}
	select {
	case <-done:
		s.mu.Lock()
		var granted *Node
		switch {
		case w.granted:
			// Granted after ctx ended: put the weight back, as
			// if the grant had not happened.
			granted = s.releaseLocked(n)
		case w.err != nil:
			// Failed by Close or Resize, and out of the lists.
		default:
			granted = s.removeLocked(&w.Node)
		}
		s.mu.Unlock()
		w.ready = nil
		waiterPool.Put(w)
		return ctx.Err(), granted
	case <-w.ready:
		if err := s.woken(w); err != nil {
			return err, nil
		}
		// Granted; if ctx ended meanwhile, give the weight back and
		// report the failure, as x/sync does. Err, not done: a ctx
		// that learns of its parent's end by asking (a pool job's
		// ctx) may report it before its Done channel is closed.
		if err := ctx.Err(); err != nil {
			return err, s.ReleaseTasks(n)
		}
		return nil, nil
	}
}

// woken recycles a waiter whose channel was closed and returns its error.
func (s *Weighted) woken(w *waiter) error {
	err := w.err
	w.ready = nil
	waiterPool.Put(w)
	return err
}

// tryOrQueueLocked acquires n at once if it can and returns nil, nil;
// otherwise it queues a waiter for n and returns it, or fails.
func (s *Weighted) tryOrQueueLocked(n int64) (*waiter, error) {
	if s.closed {
		return nil, ErrClosed
	}
	if s.tryLocked(n) {
		return nil, nil
	}
	if n > s.size.Load() && s.strict {
		s.thawLocked()
		return nil, ErrTooLarge
	}
	if s.bounded && s.maxBlocked >= 0 && s.blocked >= s.maxBlocked {
		s.thawLocked()
		return nil, ErrFull
	}
	w := waiterPool.Get().(*waiter)
	w.granted, w.err = false, nil
	w.ready = make(chan struct{})
	s.blocked++
	s.blockedW += n
	s.pushLocked(&w.Node, n, 0)
	return w, nil
}

// tryLocked takes n if it is free and nobody that fits is waiting. It
// sets the flag when it fails, so that from then on every Release comes
// through mu. s.mu is held.
func (s *Weighted) tryLocked(n int64) bool {
	for {
		st := s.state.Load()
		if st&slowFlag == 0 && uint64(n) <= st {
			if s.state.CompareAndSwap(st, st-uint64(n)) {
				return true
			}
			continue
		}
		if st&slowFlag != 0 || s.state.CompareAndSwap(st, st|slowFlag) {
			return false
		}
	}
}

// pushLocked puts node x of weight n at the back of the queue, or in the
// over list if it is larger than the size (goroutine waiters of plain
// semaphores only). The flag is set. s.mu is held.
func (s *Weighted) pushLocked(x *Node, n int64, kind uint64) {
	s.seq++
	x.n = n
	x.tag = s.seq<<tagBits | kind | tagListed
	if n > s.size.Load() {
		x.tag |= tagOver
		s.over.pushBack(x)
		// Nothing that fits waits: the flag may be clear again.
		s.thawLocked()
		return
	}
	s.queue.pushBack(x)
}

// Placement says where Enqueue put a task node.
type Placement int

const (
	Admitted Placement = iota // the weight was free: the caller runs the task now
	Queued                    // in the queue: the submitter may go on
	Blocked                   // the queue is full: the submitter waits for Wake
)

// Enqueue admits task node x of weight n, or puts it in the FIFO list: as
// queued while fewer than maxQueued task nodes are queued, else as
// blocked if block is true and fewer than maxBlocked callers block. It
// fails with ErrClosed, ErrTooLarge (strict mode) or ErrFull.
func (s *Weighted) Enqueue(x *Node, n int64, block bool) (Placement, error) {
	if n < 0 {
		panic("semaphore: Enqueue called with negative weight " + strconv.FormatInt(n, 10))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, ErrClosed
	}
	if s.tryLocked(n) {
		return Admitted, nil
	}
	if n > s.size.Load() {
		s.thawLocked()
		return 0, ErrTooLarge
	}
	if !s.bounded || s.maxQueued < 0 || s.queued < s.maxQueued {
		s.queued++
		s.queuedW += n
		s.pushLocked(x, n, tagTask)
		s.OnAccept(x)
		return Queued, nil
	}
	if !block || s.bounded && s.maxBlocked >= 0 && s.blocked >= s.maxBlocked {
		s.thawLocked()
		return 0, ErrFull
	}
	s.blocked++
	s.blockedTasks++
	s.blockedW += n
	s.pushLocked(x, n, tagTask|tagBlocked)
	if s.firstBlocked == nil {
		s.firstBlocked = x
	}
	return Blocked, nil
}

// Remove takes task node x out of the list if it is still there (and,
// with onlyBlocked, still blocked), as when its ctx ends, and reports
// whether it did. Removing the head may let the nodes behind it fit: they
// are returned, linked by Next, for the caller to run.
func (s *Weighted) Remove(x *Node, onlyBlocked bool) (removed bool, granted *Node) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if x.tag&tagListed == 0 || onlyBlocked && x.tag&tagBlocked == 0 {
		return false, nil
	}
	return true, s.removeLocked(x)
}

// TryAcquire acquires the semaphore with a weight of n without blocking.
// On success, returns true. On failure, returns false and leaves the
// semaphore unchanged. It fails while any node that fits the size is
// queued, even if n is available. TryAcquire panics if n is negative.
func (s *Weighted) TryAcquire(n int64) bool {
	if n < 0 {
		negative("TryAcquire", n)
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

// negative panics for a negative weight passed to call; out of line, so
// that the fast paths stay small enough to inline.
//
//go:noinline
func negative(call string, n int64) {
	panic("semaphore: " + call + " called with negative weight " + strconv.FormatInt(n, 10))
}

// Release releases the semaphore with a weight of n, and grants, in order,
// every queued waiter that now fits. Release panics with "semaphore:
// released more than held" if n exceeds the weight held, and panics if n
// is negative.
func (s *Weighted) Release(n int64) {
	s.mustBeEmpty(s.ReleaseTasks(n))
}

func (s *Weighted) mustBeEmpty(granted *Node) {
	if granted != nil {
		panic("semaphore: task nodes granted to a caller that cannot run them")
	}
}

// ReleaseTasks is Release that returns the task nodes it granted, linked
// by Next, for the caller to run. Blocked ones have been woken already.
func (s *Weighted) ReleaseTasks(n int64) *Node {
	if st := s.state.Load(); st&slowFlag == 0 && n >= 0 &&
		uint64(n) <= uint64(s.size.Load())-st && s.state.CompareAndSwap(st, st+uint64(n)) {
		// held = size - avail >= n: checked again under mu when in doubt.
		return nil
	}
	return s.releaseSlow(n)
}

func (s *Weighted) releaseSlow(n int64) *Node {
	if n < 0 {
		negative("Release", n)
	}
	s.mu.Lock()
	granted := s.releaseLocked(n)
	s.mu.Unlock()
	return granted
}

// releaseLocked returns n to the semaphore and grants nodes. s.mu is held.
func (s *Weighted) releaseLocked(n int64) *Node {
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
				return nil
			}
			continue
		}
		// The flag is set: the word changes only under mu.
		pay := min(n, s.deficit)
		s.deficit -= pay
		return s.grantLocked(avail + n - pay)
	}
}

// grantLocked grants queued nodes from the head while they fit in avail,
// then stores avail and the flag. It returns the task nodes granted. The
// flag must be set on entry (so the word is stable) and s.mu held.
func (s *Weighted) grantLocked(avail int64) *Node {
	var out nodeChain
	if s.deficit == 0 && !s.closed {
		for x := s.queue.head; x != nil && x.n <= avail; x = s.queue.head {
			avail -= x.n
			s.unlinkLocked(x)
			if x.tag&tagTask == 0 {
				w := asWaiter(x)
				w.granted = true
				close(w.ready)
				continue
			}
			out.addTask(x)
		}
	}
	s.storeLocked(avail)
	return out.head
}

// thawLocked stores the flag that the state calls for, after tryLocked
// set it for a request that then did not wait. s.mu is held.
func (s *Weighted) thawLocked() {
	s.storeLocked(int64(s.state.Load() & availMask))
}

// storeLocked stores avail and the flag that its state calls for, and
// tells WaitIdle callers when nothing is held or waiting. s.mu is held
// and the flag is set.
func (s *Weighted) storeLocked(avail int64) {
	st := uint64(avail)
	if s.queue.head != nil || s.deficit > 0 || s.closed || s.idleWait > 0 {
		st |= slowFlag
	}
	s.state.Store(st)
	if s.idle != nil && s.idleLocked() {
		close(s.idle)
		s.idle = nil
	}
}

func (s *Weighted) idleLocked() bool {
	return s.queue.len == 0 && s.over.len == 0 && s.deficit == 0 &&
		int64(s.state.Load()&availMask) >= s.size.Load()
}

// unlinkLocked takes x out of its list and its counts, and moves the
// oldest blocked task node into the queue if x leaves room. s.mu is held.
func (s *Weighted) unlinkLocked(x *Node) {
	next := x.next
	if x.tag&tagOver != 0 {
		s.over.remove(x)
	} else {
		s.queue.remove(x)
	}
	tag := x.tag
	x.tag &^= tagListed | tagOver
	switch {
	case tag&tagTask == 0 || tag&tagBlocked != 0:
		s.blocked--
		s.blockedW -= x.n
		if tag&tagTask != 0 {
			s.blockedTasks--
		}
		if x == s.firstBlocked {
			s.firstBlocked = s.nextBlocked(next)
		}
		return
	}
	s.queued--
	s.queuedW -= x.n
	if b := s.firstBlocked; b != nil && !s.closed && (!s.bounded || s.maxQueued < 0 || s.queued < s.maxQueued) {
		s.firstBlocked = s.nextBlocked(b.next)
		b.tag &^= tagBlocked
		s.OnAccept(b)
		s.blocked--
		s.blockedTasks--
		s.blockedW -= b.n
		s.queued++
		s.queuedW += b.n
		s.Wake(b, nil)
	}
}

// nextBlocked returns the first blocked task node from x on.
func (s *Weighted) nextBlocked(x *Node) *Node {
	for ; x != nil; x = x.next {
		if x.tag&(tagTask|tagBlocked) == tagTask|tagBlocked {
			return x
		}
	}
	return nil
}

// removeLocked takes a node whose wait ended out of its list. If it was at
// the head of the queue, the nodes behind it may now fit; they are
// granted and the task nodes among them returned.
func (s *Weighted) removeLocked(x *Node) *Node {
	head := s.queue.head == x
	s.unlinkLocked(x)
	x.next, x.prev = nil, nil
	if head || s.idle != nil {
		// The flag is set while x was queued, so the word is stable.
		return s.grantLocked(int64(s.state.Load() & availMask))
	}
	return nil
}

// Resize sets the size of the semaphore to n. Growing grants, in order, the
// queued waiters that now fit, including requests that were larger than the
// old size. Shrinking takes back no weight already held: until the held
// weight falls below the new size, new requests wait. Queued requests that
// are larger than the new size stop blocking the waiters behind them, as
// a request larger than the size does in Acquire. Resize panics if n is
// negative.
func (s *Weighted) Resize(n int64) {
	granted, failed := s.ResizeTasks(n)
	s.mustBeEmpty(granted)
	s.mustBeEmpty(failed)
}

// ResizeTasks is Resize that returns the task nodes it granted, and, in
// strict mode, the task nodes it took out of the list because they are
// larger than the new size (blocked ones have been woken with
// ErrTooLarge), both linked by Next.
func (s *Weighted) ResizeTasks(n int64) (granted, failed *Node) {
	if n < 0 {
		panic("semaphore: Resize called with negative size " + strconv.FormatInt(n, 10))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.size.Load()
	if n == old {
		return nil, nil
	}
	st := s.freezeLocked()
	held := old - int64(st&availMask) + s.deficit
	s.size.Store(n)
	s.deficit = max(held-n, 0)
	avail := max(n-held, 0)
	var out nodeChain
	if n < old {
		for x := s.queue.head; x != nil; {
			next := x.next
			if x.n > n {
				if s.strict {
					s.failLocked(x, ErrTooLarge)
					out.addTask(x)
				} else {
					s.queue.remove(x)
					x.tag |= tagOver
					s.over.insertBySeq(x)
				}
			}
			x = next
		}
	} else {
		for x := s.over.head; x != nil; {
			next := x.next
			if x.n <= n {
				s.over.remove(x)
				x.tag &^= tagOver
				s.queue.insertBySeq(x)
			}
			x = next
		}
	}
	return s.grantLocked(avail), out.head
}

// freezeLocked sets the flag, so that only mu holders change the word,
// and returns the word.
func (s *Weighted) freezeLocked() uint64 {
	for {
		st := s.state.Load()
		if s.state.CompareAndSwap(st, st|slowFlag) {
			return st
		}
	}
}

// Close fails every waiter with ErrClosed, and every later Acquire and
// Enqueue; TryAcquire fails from now on. Release still takes back weight
// held. It returns the task nodes it took out of the list, linked by Next;
// blocked ones have been woken with ErrClosed.
func (s *Weighted) Close() (failed *Node) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.freezeLocked()
	var out nodeChain
	for _, l := range []*nodeList{&s.queue, &s.over} {
		for x := l.head; x != nil; x = l.head {
			s.failLocked(x, ErrClosed)
			out.addTask(x)
		}
	}
	failed = out.head
	s.storeLocked(int64(s.state.Load() & availMask))
	return failed
}

// failLocked takes x out of its list and wakes it with err.
func (s *Weighted) failLocked(x *Node, err error) {
	s.unlinkLocked(x)
	x.next, x.prev = nil, nil
	if x.tag&tagTask == 0 {
		w := asWaiter(x)
		w.err = err
		close(w.ready)
	} else if x.tag&tagBlocked != 0 {
		s.Wake(x, err)
	}
}

// Closed reports whether Close was called.
func (s *Weighted) Closed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// WaitIdle blocks until nothing is held and nothing waits, or stop is
// closed (a nil stop never is); it reports whether the semaphore was idle.
func (s *Weighted) WaitIdle(stop <-chan struct{}) bool {
	s.mu.Lock()
	// Freeze the word before looking at it: a Release on the fast path
	// between the look and the freeze would otherwise make the semaphore
	// idle with nobody left to say so.
	s.freezeLocked()
	if s.idleLocked() {
		s.thawLocked()
		s.mu.Unlock()
		return true
	}
	s.idleWait++
	if s.idle == nil {
		s.idle = make(chan struct{})
	}
	idle := s.idle
	s.mu.Unlock()
	ok := true
	select {
	case <-idle:
	case <-stop:
		ok = false
	}
	s.mu.Lock()
	s.idleWait--
	if s.idleWait == 0 {
		s.idle = nil
	}
	s.storeLocked(int64(s.state.Load() & availMask))
	s.mu.Unlock()
	return ok
}

// Size returns the current size of the semaphore: the value given to
// NewWeighted or the last Resize.
func (s *Weighted) Size() int64 {
	return s.size.Load()
}

// InUse returns the weight currently held. It can exceed Size after a
// shrinking Resize, until enough weight is released.
func (s *Weighted) InUse() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inUseLocked()
}

func (s *Weighted) inUseLocked() int64 {
	return s.size.Load() - int64(s.state.Load()&availMask) + s.deficit
}

// Held returns the weight held, read without the lock: exact unless a
// shrinking Resize left more held than the size.
func (s *Weighted) Held() int64 {
	return s.size.Load() - int64(s.state.Load()&availMask)
}

// Waiting returns the number of callers blocked in Acquire, including
// requests larger than the current size, and of blocked task nodes.
func (s *Weighted) Waiting() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.blocked
}

// Gauges are the semaphore's counts, read together under its lock.
type Gauges struct {
	Size, InUse                   int64
	Queued, Blocked, BlockedTasks int
	QueuedWeight, BlockedWeight   int64
}

// Gauges returns the semaphore's counts.
func (s *Weighted) Gauges() Gauges {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Gauges{
		Size: s.size.Load(), InUse: s.inUseLocked(),
		Queued: s.queued, Blocked: s.blocked, BlockedTasks: s.blockedTasks,
		QueuedWeight: s.queuedW, BlockedWeight: s.blockedW,
	}
}

// nodeChain collects task nodes that left the list, linked by next, in
// order, for the caller.
type nodeChain struct{ head, tail *Node }

func (c *nodeChain) addTask(x *Node) {
	if x.tag&tagTask == 0 {
		return
	}
	x.next = nil
	if c.tail == nil {
		c.head = x
	} else {
		c.tail.next = x
	}
	c.tail = x
}

// nodeList is an intrusive doubly linked list of nodes.
type nodeList struct {
	head, tail *Node
	len        int
}

func (l *nodeList) pushBack(x *Node) {
	x.prev, x.next = l.tail, nil
	if l.tail == nil {
		l.head = x
	} else {
		l.tail.next = x
	}
	l.tail = x
	l.len++
}

// insertBySeq inserts x keeping the list ordered by arrival.
func (l *nodeList) insertBySeq(x *Node) {
	at := l.tail
	for at != nil && at.seq() > x.seq() {
		at = at.prev
	}
	if at == nil { // new head
		x.prev, x.next = nil, l.head
		if l.head == nil {
			l.tail = x
		} else {
			l.head.prev = x
		}
		l.head = x
	} else {
		x.prev, x.next = at, at.next
		if at.next == nil {
			l.tail = x
		} else {
			at.next.prev = x
		}
		at.next = x
	}
	l.len++
}

func (l *nodeList) remove(x *Node) {
	if x.prev == nil {
		l.head = x.next
	} else {
		x.prev.next = x.next
	}
	if x.next == nil {
		l.tail = x.prev
	} else {
		x.next.prev = x.prev
	}
	x.prev, x.next = nil, nil
	l.len--
}

// SetNext links n to next, for callers that splice lists returned by this
// package.
func (n *Node) SetNext(next *Node) { n.next = next }
