package group

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// ErrWeight is the error Wait returns when a function's weight exceeds
// the group's limit, so that the function could never start. Go and
// GoWeighted return at once in that case instead of blocking forever.
var ErrWeight = errors.New("group: weight exceeds limit")

// ErrInvalidWeight is the error Wait returns when GoWeighted was given a
// weight below 1.
var ErrInvalidWeight = errors.New("group: invalid weight")

// A Group is a collection of goroutines working on subtasks that are part
// of the same overall task.
//
// A zero Group is valid, has no limit on the number of active functions,
// and does not cancel on error. A Group must not be copied after first
// use.
type Group struct {
	cancel func(error) // from WithContext; nil for a zero Group

	mu      sync.Mutex
	limited bool // SetLimit was given n >= 0
	limit   int  // with limited: the most weight that may run at once
	inUse   int  // weight of the functions running
	running int  // functions admitted that have not returned

	// head and tail are the queue of Go callers blocked for admission,
	// oldest first.
	head, tail *waiter

	idle chan struct{} // made by a Wait that blocks, closed when running reaches 0

	// starts holds the functions admitted, in the order they were, whose
	// goroutines have not taken them yet. Each goroutine of the group
	// starts as spawner, the method value g.spawned made once, which
	// takes one: a go statement with a function value and no arguments
	// allocates nothing, where go g.run(f, w) would allocate a closure
	// for f and w on every Go.
	starts  ring
	spawner func()

	// spare is a waiter kept for the next blocked Go, so that a Go that
	// blocks allocates nothing after the first. It is the group's own,
	// not from a sync.Pool shared by all groups: a channel made in one
	// testing/synctest bubble (or outside any) does not block durably in
	// another, and synctest.Wait would never return.
	spare atomic.Pointer[waiter]

	err  error   // the first error
	join bool    // JoinErrors was called
	errs []error // with join: every error, in the order recorded
}

// A waiter is a Go caller blocked until its function may start. A
// goroutine of the group that finishes its function takes the oldest
// waiter's function and runs it itself (or, when several fit at once,
// starts goroutines for the others), then wakes the caller, whose Go
// returns: one wake-up per function, and no goroutine started for it.
type waiter struct {
	f     func() error
	w     int
	next  *waiter
	ready chan struct{} // buffered 1; signalled once the function started
}

// WithContext returns a new Group and an associated Context derived from
// ctx.
//
// The derived Context is canceled the first time a function passed to Go
// returns a non-nil error or the first time Wait returns, whichever occurs
// first. Its cause ([context.Cause]) is that first error, or
// [context.Canceled] if Wait returned nil.
func WithContext(ctx context.Context) (*Group, context.Context) {
	ctx, cancel := context.WithCancelCause(ctx)
	return &Group{cancel: cancel}, ctx
}

// Wait blocks until all function calls from the Go method have returned,
// then returns the first non-nil error (if any) from them, or with
// [Group.JoinErrors] all of them joined. The return of every function
// synchronizes before Wait returns. Wait also waits for Go calls that
// are blocked for admission and their functions: a blocked Go caller's
// function runs before Wait returns.
//
// Errors are kept after Wait returns: a Group used again returns the
// same first error from its next Wait, as errgroup does.
func (g *Group) Wait() error {
	g.mu.Lock()
	if g.running > 0 {
		if g.idle == nil {
			g.idle = make(chan struct{})
		}
		idle := g.idle
		g.mu.Unlock()
		<-idle
		g.mu.Lock()
	}
	if g.running == 0 {
		g.starts.release() // the group may well be done with
	}
	err := g.err
	if g.join && err != nil {
		err = errors.Join(g.errs...)
	}
	g.mu.Unlock()
	if g.cancel != nil {
		g.cancel(err)
	}
	return err
}

// Go calls the given function in a goroutine of the group.
//
// The first call to Go must happen before a Wait. It blocks until the
// function can start without the number of functions running in the
// group exceeding the configured limit. Functions waiting in Go start in
// the order Go was called.
//
// The first function in the group that returns a non-nil error will
// cancel the associated Context, if any. The error will be returned by
// Wait.
//
// Go is GoWeighted with weight 1: under a limit of 0 it does not block
// forever as errgroup's does, but makes Wait return [ErrWeight].
func (g *Group) Go(f func() error) {
	g.GoWeighted(1, f)
}

// GoWeighted is Go for a function that counts as w against the limit: it
// blocks until the weights of the functions running, plus w, fit the
// limit. Without a limit the weight is ignored. Waiting functions start
// in the order of the calls, so a heavy function is never overtaken by
// lighter ones that came after it.
//
// If w exceeds the limit, f never runs: GoWeighted returns at once and
// the group records an error matching [ErrWeight], as if f had returned
// it (the Context is canceled, Wait returns it). A w below 1 is recorded
// as [ErrInvalidWeight] in the same way.
func (g *Group) GoWeighted(w int, f func() error) {
	g.mu.Lock()
	if g.head == nil && (!g.limited || g.inUse+w <= g.limit) && w >= 1 {
		g.inUse += w
		g.running++
		g.push(f, w)
		g.mu.Unlock()
		go g.spawner()
		return
	}
	if err := g.check(w); err != nil {
		g.mu.Unlock()
		g.fail(err)
		return
	}
	wt := g.spare.Swap(nil)
	if wt == nil {
		wt = &waiter{ready: make(chan struct{}, 1)}
	}
	wt.f, wt.w = f, w
	if g.tail == nil {
		g.head = wt
	} else {
		g.tail.next = wt
	}
	g.tail = wt
	g.mu.Unlock()
	<-wt.ready
	g.spare.Store(wt)
}

// check returns why a function of weight w can never start, or nil.
// g.mu is held.
func (g *Group) check(w int) error {
	if w < 1 {
		return fmt.Errorf("%w: %d", ErrInvalidWeight, w)
	}
	if g.limited && w > g.limit {
		return fmt.Errorf("%w: weight %d, limit %d", ErrWeight, w, g.limit)
	}
	return nil
}

// TryGo calls the given function in a goroutine of the group only if the
// number of functions running in the group is currently below the
// configured limit and no Go call is waiting.
//
// The return value reports whether the function was started.
func (g *Group) TryGo(f func() error) bool {
	g.mu.Lock()
	if g.head != nil || g.limited && g.inUse+1 > g.limit {
		g.mu.Unlock()
		return false
	}
	g.inUse++
	g.running++
	g.push(f, 1)
	g.mu.Unlock()
	go g.spawner()
	return true
}

// SetLimit limits the total weight of the functions running in this group
// to at most n: n functions started by Go, which count 1 each. A negative
// value indicates no limit. A limit of zero will prevent any new function
// from starting.
//
// Any subsequent call to the Go method will block until it can start its
// function without exceeding the configured limit.
//
// The limit must not be modified while any functions in the group are
// running: SetLimit(n) with n >= 0 then panics. Removing the limit
// (n < 0) is allowed at any time, as in errgroup, and starts the
// functions of every blocked Go call.
func (g *Group) SetLimit(n int) {
	g.mu.Lock()
	if n < 0 {
		g.limited = false
		_, _, spawn := g.grant(false)
		g.mu.Unlock()
		g.spawn(spawn)
		return
	}
	if g.running > 0 {
		running := g.running
		g.mu.Unlock()
		panic(fmt.Errorf("group: SetLimit(%d) while %d functions of the group are still running; change the limit only when none run", n, running))
	}
	g.limited, g.limit = true, n
	g.mu.Unlock()
}

// JoinErrors makes Wait return every error the group's functions
// returned (and every weight refused), joined with [errors.Join] in the
// order they were recorded, instead of only the first. The Context of
// WithContext is still canceled by the first error, which stays its
// cause. Errors recorded before JoinErrors was called are not collected;
// call it before the first Go.
func (g *Group) JoinErrors() {
	g.mu.Lock()
	g.join = true
	g.mu.Unlock()
}

// spawned is the body of every goroutine of the group: it takes the
// function it was started for from g.starts and runs it.
func (g *Group) spawned() {
	g.mu.Lock()
	it := g.starts.pop()
	g.mu.Unlock()
	g.run(it.f, it.w)
}

// run runs f, then, in a loop, the function of the oldest blocked Go call
// that fits, and returns when none does.
func (g *Group) run(f func() error, w int) {
	// If f panics the program crashes, as with errgroup. If f calls
	// runtime.Goexit (t.FailNow in a test does), this goroutine ends:
	// the deferred call releases f's weight and starts goroutines for
	// the blocked Go calls that then fit.
	done := false
	defer func() {
		if !done {
			g.finish(w, false)
		}
	}()
	for {
		if err := f(); err != nil {
			g.fail(err)
		}
		if f, w = g.finish(w, true); f == nil {
			done = true
			return
		}
	}
}

// fail records err as the group's error. The first error cancels the
// Context before the function that returned it releases its weight, so a
// function that starts after it sees the Context canceled.
func (g *Group) fail(err error) {
	g.mu.Lock()
	first := g.err == nil
	if first {
		g.err = err
	}
	if g.join {
		g.errs = append(g.errs, err)
	}
	g.mu.Unlock()
	if first && g.cancel != nil {
		g.cancel(err)
	}
}

// finish releases weight w of a function that returned and grants the
// blocked Go calls that now fit, oldest first. If cont, the caller's
// goroutine goes on with the first granted function, which finish
// returns with its weight; the others get goroutines of their own.
// Otherwise (nothing granted, or !cont) the caller's goroutine ends.
func (g *Group) finish(w int, cont bool) (func() error, int) {
	g.mu.Lock()
	g.inUse -= w
	g.running--
	f, fw, spawn := g.grant(cont)
	if g.running == 0 && g.idle != nil {
		close(g.idle)
		g.idle = nil
	}
	g.mu.Unlock()
	g.spawn(spawn)
	return f, fw
}

// grant takes from the queue every waiter that fits, oldest first,
// counts its weight and function as running, and wakes its Go caller.
// If cont, it returns the first granted function and its weight, for
// the calling goroutine to run; the others are put in g.starts, and
// grant returns how many goroutines the caller must start for them,
// with g.spawn, once it has unlocked g.mu. g.mu is held.
func (g *Group) grant(cont bool) (f func() error, w int, spawn int) {
	for wt := g.head; wt != nil; wt = g.head {
		if g.limited && g.inUse+wt.w > g.limit {
			break
		}
		g.head = wt.next
		if g.head == nil {
			g.tail = nil
		}
		g.inUse += wt.w
		g.running++
		if cont && f == nil {
			f, w = wt.f, wt.w
		} else {
			g.push(wt.f, wt.w)
			spawn++
		}
		wt.f, wt.next = nil, nil
		// Never blocks: the channel has room for one signal, and its
		// caller is woken once per wait. Done under g.mu, the caller's
		// waiter cannot be reused before we are finished with it.
		wt.ready <- struct{}{}
	}
	return f, w, spawn
}

// push puts f in g.starts for a goroutine that the caller starts with
// g.spawner once it has unlocked g.mu. g.mu is held.
func (g *Group) push(f func() error, w int) {
	g.starts.push(item{f, w})
	if g.spawner == nil {
		g.spawner = g.spawned
	}
}

// spawn starts n goroutines of the group for functions in g.starts.
func (g *Group) spawn(n int) {
	for range n {
		go g.spawner()
	}
}

// item is a function with its weight, admitted and waiting for a
// goroutine in g.starts.
type item struct {
	f func() error
	w int
}

// ring is a FIFO queue of items in a circular buffer that grows as
// needed. Its buffers come from and go back to buffers, so that groups
// made for one task each do not grow a buffer of their own every time.
type ring struct {
	b          *buffer
	head, size int
}

// buffer is the storage of a ring, pooled as a pointer so that putting it
// back allocates nothing. Its items are zero whenever it is in the pool.
type buffer struct{ items []item }

// buffers holds the buffers of idle rings. They hold no channels, so
// sharing them between testing/synctest bubbles is safe.
var buffers sync.Pool

func (r *ring) push(it item) {
	if r.b == nil {
		if b, ok := buffers.Get().(*buffer); ok {
			r.b = b
		} else {
			r.b = &buffer{items: make([]item, 16)}
		}
	}
	items := r.b.items
	if r.size == len(items) {
		grown := make([]item, 2*len(items))
		n := copy(grown, items[r.head:])
		copy(grown[n:], items[:r.head])
		clear(items)
		r.b.items, r.head = grown, 0
		items = grown
	}
	items[(r.head+r.size)%len(items)] = it
	r.size++
}

func (r *ring) pop() item {
	items := r.b.items
	it := items[r.head]
	items[r.head] = item{}
	r.head = (r.head + 1) % len(items)
	r.size--
	return it
}

// release gives an empty ring's buffer back to buffers.
func (r *ring) release() {
	if r.b != nil && r.size == 0 {
		buffers.Put(r.b)
		r.b, r.head = nil, 0
	}
}
