package semaphore_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/require"

	"github.com/weir-go/weir/semaphore"
)

// Operations decoded from the fuzz input: data[0] is the initial size, then
// each pair of bytes is (op, arg).
const (
	opAcquire       = iota // start Acquire(arg%10) in a goroutine
	opAcquireMore          // the same, to make it more frequent
	opTryAcquire           // TryAcquire(arg%10)
	opRelease              // release (part of) what a holder holds
	opResize               // Resize(arg%10)
	opCancelWaiter         // cancel the ctx of a blocked Acquire
	opAcquireDone          // Acquire(arg%10) with a ctx already canceled
	opCancelHolder         // cancel the ctx of a granted Acquire: no effect
	opCancelRelease        // cancel a blocked Acquire and at once release a holder
	numOps
)

const (
	fuzzMaxWeight = 10 // weights 0..9
	fuzzMaxSize   = 10 // sizes 0..9
	fuzzMaxOps    = 200
)

type fuzzWaiter struct {
	id     int
	n      int64
	cancel context.CancelFunc
	ch     chan error
}

type fuzzHolder struct {
	id     int
	n      int64              // weight still held
	cancel context.CancelFunc // nil when taken by TryAcquire
}

// fuzzModel is the reference semantics of the semaphore.
type fuzzModel struct {
	size    int64
	held    int64
	queue   []*fuzzWaiter // blocked in Acquire, by arrival
	holders []*fuzzHolder
}

// fittingQueued reports whether a waiter that fits the size is queued;
// such a waiter makes TryAcquire fail and new Acquires queue.
func (m *fuzzModel) fittingQueued() bool {
	return slices.ContainsFunc(m.queue, func(w *fuzzWaiter) bool { return w.n <= m.size })
}

// grant grants, in arrival order, the queued waiters that fit, stopping at
// the first waiter that fits the size but not the weight free (strict
// FIFO). Waiters larger than the size are passed over. It returns the
// waiters granted.
func (m *fuzzModel) grant() (granted []*fuzzWaiter) {
	var kept []*fuzzWaiter
	blocked := false
	for _, w := range m.queue {
		switch {
		case w.n > m.size || blocked:
			kept = append(kept, w)
		case m.held+w.n <= m.size:
			m.held += w.n
			granted = append(granted, w)
		default:
			blocked = true
			kept = append(kept, w)
		}
	}
	m.queue = kept
	return granted
}

func (m *fuzzModel) String() string {
	var q []string
	for _, w := range m.queue {
		q = append(q, fmt.Sprintf("#%d:%d", w.id, w.n))
	}
	var h []string
	for _, x := range m.holders {
		h = append(h, fmt.Sprintf("#%d:%d", x.id, x.n))
	}
	return fmt.Sprintf("size=%d held=%d queue=[%s] holders=[%s]", m.size, m.held, strings.Join(q, " "), strings.Join(h, " "))
}

type fuzzRun struct {
	t      *testing.T
	s      *semaphore.Weighted
	m      fuzzModel
	root   context.Context
	nextID int
	trace  []string
}

func (r *fuzzRun) fatalf(format string, args ...any) {
	r.t.Helper()
	r.t.Fatalf("%s\nmodel: %v\ntrace:\n  %s", fmt.Sprintf(format, args...), &r.m, strings.Join(r.trace, "\n  "))
}

// check waits until every goroutine is durably blocked and compares the
// semaphore with the model: the waiters the model granted must have been
// granted (no lost wake-up), the ones still queued in the model must still
// be blocked (no grant without room, out of order, or of an oversized
// request), and the reported state must agree.
func (r *fuzzRun) check(granted []*fuzzWaiter) {
	r.t.Helper()
	synctest.Wait()
	for _, w := range granted {
		select {
		case err := <-w.ch:
			if err != nil {
				r.fatalf("waiter #%d Acquire(ctx, %d) = %v, want it granted", w.id, w.n, err)
			}
		default:
			r.fatalf("waiter #%d Acquire(ctx, %d) still blocked although it fits: lost wake-up", w.id, w.n)
		}
		r.m.holders = append(r.m.holders, &fuzzHolder{id: w.id, n: w.n, cancel: w.cancel})
	}
	for _, w := range r.m.queue {
		select {
		case err := <-w.ch:
			why := "out of FIFO order"
			switch {
			case err != nil:
				why = "with an error though its ctx is live"
			case w.n > r.m.size:
				why = "though larger than the size"
			case r.m.held+w.n > r.m.size:
				why = fmt.Sprintf("without room (held %d + %d > size %d)", r.m.held, w.n, r.m.size)
			}
			r.fatalf("waiter #%d Acquire(ctx, %d) returned %v %s", w.id, w.n, err, why)
		default:
		}
	}
	if got := r.s.InUse(); got != r.m.held {
		r.fatalf("InUse() = %d, want %d", got, r.m.held)
	}
	if got := r.s.Waiting(); got != len(r.m.queue) {
		r.fatalf("Waiting() = %d, want %d", got, len(r.m.queue))
	}
	if got := r.s.Size(); got != r.m.size {
		r.fatalf("Size() = %d, want %d", got, r.m.size)
	}
	if r.m.held < 0 {
		r.fatalf("model held %d < 0", r.m.held)
	}
}

// noGrants checks an operation after which nobody may be granted.
func (r *fuzzRun) noGrants() {
	r.t.Helper()
	if g := r.m.grant(); len(g) > 0 {
		r.fatalf("model: %d waiters became grantable after an operation that frees nothing", len(g))
	}
	r.check(nil)
}

func (r *fuzzRun) acquire(n int64) {
	ctx, cancel := context.WithCancel(r.root)
	w := &fuzzWaiter{id: r.nextID, n: n, cancel: cancel, ch: make(chan error, 1)}
	r.nextID++
	r.trace = append(r.trace, fmt.Sprintf("#%d: go Acquire(ctx, %d)", w.id, n))
	s := r.s
	go func() { w.ch <- s.Acquire(ctx, n) }()
	r.m.queue = append(r.m.queue, w)
	r.check(r.m.grant())
}

func (r *fuzzRun) tryAcquire(n int64) {
	want := !r.m.fittingQueued() && r.m.held+n <= r.m.size
	got := r.s.TryAcquire(n)
	r.trace = append(r.trace, fmt.Sprintf("TryAcquire(%d) = %t", n, got))
	if got != want {
		r.fatalf("TryAcquire(%d) = %t, want %t", n, got, want)
	}
	if got {
		r.m.held += n
		r.m.holders = append(r.m.holders, &fuzzHolder{id: r.nextID, n: n})
		r.nextID++
	}
	r.noGrants()
}

func (r *fuzzRun) release(i int, n int64) {
	h := r.m.holders[i]
	r.trace = append(r.trace, fmt.Sprintf("Release(%d) of #%d", n, h.id))
	r.s.Release(n)
	h.n -= n
	r.m.held -= n
	if h.n == 0 {
		r.m.holders = slices.Delete(r.m.holders, i, i+1)
	}
	r.check(r.m.grant())
}

func (r *fuzzRun) resize(n int64) {
	r.trace = append(r.trace, fmt.Sprintf("Resize(%d)", n))
	r.s.Resize(n)
	r.m.size = n
	r.check(r.m.grant())
}

func (r *fuzzRun) cancelWaiter(i int) {
	w := r.m.queue[i]
	r.trace = append(r.trace, fmt.Sprintf("cancel #%d", w.id))
	w.cancel()
	r.m.queue = slices.Delete(r.m.queue, i, i+1)
	granted := r.m.grant()
	synctest.Wait()
	select {
	case err := <-w.ch:
		if err != context.Canceled {
			r.fatalf("canceled waiter #%d Acquire(ctx, %d) = %v, want %v", w.id, w.n, err, context.Canceled)
		}
	default:
		r.fatalf("canceled waiter #%d Acquire(ctx, %d) still blocked", w.id, w.n)
	}
	r.check(granted)
}

// cancelThenRelease cancels a waiter and, without letting it run first,
// releases everything a holder holds. Whichever of the two the waiter sees
// first, its ctx ended before the weight was released, so it must fail and
// the outcome must be the same as if it had left the queue first.
func (r *fuzzRun) cancelThenRelease(i, j int) {
	w, h := r.m.queue[i], r.m.holders[j]
	r.trace = append(r.trace, fmt.Sprintf("cancel #%d, then at once Release(%d) of #%d", w.id, h.n, h.id))
	w.cancel()
	r.s.Release(h.n)
	r.m.queue = slices.Delete(r.m.queue, i, i+1)
	r.m.held -= h.n
	r.m.holders = slices.Delete(r.m.holders, j, j+1)
	granted := r.m.grant()
	synctest.Wait()
	select {
	case err := <-w.ch:
		if err != context.Canceled {
			r.fatalf("waiter #%d Acquire(ctx, %d) = %v, want %v: its ctx ended before the release", w.id, w.n, err, context.Canceled)
		}
	default:
		r.fatalf("canceled waiter #%d Acquire(ctx, %d) still blocked", w.id, w.n)
	}
	r.check(granted)
}

func (r *fuzzRun) acquireDone(n int64) {
	ctx, cancel := context.WithCancel(r.root)
	cancel()
	err := r.s.Acquire(ctx, n)
	r.trace = append(r.trace, fmt.Sprintf("Acquire(canceled ctx, %d) = %v", n, err))
	if err != context.Canceled {
		r.fatalf("Acquire(canceled ctx, %d) = %v, want %v", n, err, context.Canceled)
	}
	r.noGrants()
}

func (r *fuzzRun) cancelHolder(i int) {
	h := r.m.holders[i]
	r.trace = append(r.trace, fmt.Sprintf("cancel holder #%d", h.id))
	if h.cancel != nil {
		h.cancel()
	}
	r.noGrants()
}

func runFuzzOps(t *testing.T, data []byte) {
	root, cancelAll := context.WithCancel(context.Background())
	defer cancelAll() // unblocks every waiter if the test fails

	size := int64(0)
	if len(data) > 0 {
		size = int64(data[0] % fuzzMaxSize)
		data = data[1:]
	}
	r := &fuzzRun{t: t, s: semaphore.NewWeighted(size), m: fuzzModel{size: size}, root: root}
	r.trace = append(r.trace, fmt.Sprintf("NewWeighted(%d)", size))
	r.check(nil)

	for i := 0; i+1 < len(data) && i/2 < fuzzMaxOps; i += 2 {
		op, arg := data[i]%numOps, data[i+1]
		switch op {
		case opAcquire, opAcquireMore:
			r.acquire(int64(arg % fuzzMaxWeight))
		case opTryAcquire:
			r.tryAcquire(int64(arg % fuzzMaxWeight))
		case opRelease:
			if len(r.m.holders) == 0 {
				continue
			}
			j := int(arg&0x7f) % len(r.m.holders)
			n := r.m.holders[j].n
			if arg&0x80 != 0 { // part of it
				n = int64(arg>>3&0x0f) % (n + 1)
			}
			r.release(j, n)
		case opResize:
			r.resize(int64(arg % fuzzMaxSize))
		case opCancelWaiter:
			if len(r.m.queue) == 0 {
				continue
			}
			r.cancelWaiter(int(arg) % len(r.m.queue))
		case opAcquireDone:
			r.acquireDone(int64(arg % fuzzMaxWeight))
		case opCancelHolder:
			if len(r.m.holders) == 0 {
				continue
			}
			r.cancelHolder(int(arg) % len(r.m.holders))
		case opCancelRelease:
			if len(r.m.queue) == 0 || len(r.m.holders) == 0 {
				continue
			}
			r.cancelThenRelease(int(arg&0x0f)%len(r.m.queue), int(arg>>4)%len(r.m.holders))
		}
	}

	// Cancel every waiter, from the head (which may grant some of the
	// others), then give everything back.
	for len(r.m.queue) > 0 {
		r.cancelWaiter(0)
	}
	for len(r.m.holders) > 0 {
		r.release(0, r.m.holders[0].n)
	}
	require.Zero(t, r.s.InUse(), "InUse() at the end")
	require.Zero(t, r.s.Waiting(), "Waiting() at the end")
	require.True(t, r.s.TryAcquire(r.s.Size()), "TryAcquire(Size()) at the end")
}

func FuzzWeighted(f *testing.F) {
	seeds := [][]byte{
		// Strict FIFO: 2 blocks the 1 behind it; a release grants both.
		{4, opAcquire, 3, opAcquire, 2, opAcquire, 1, opTryAcquire, 0, opRelease, 0},
		// Oversized requests, then a grow that lets them in by arrival.
		{2, opAcquire, 5, opAcquire, 1, opAcquire, 2, opAcquire, 1, opResize, 6, opRelease, 0, opRelease, 0, opResize, 1, opResize, 9},
		// Shrink below what is held; partial releases; zero weights.
		{8, opTryAcquire, 8, opResize, 3, opAcquire, 1, opAcquire, 0, opRelease, 0x80 | 3<<3, opRelease, 0x80 | 2<<3, opResize, 9, opRelease, 0},
		// Cancel the head, the middle, a holder; already-canceled ctx.
		{3, opTryAcquire, 2, opAcquire, 2, opAcquire, 1, opAcquire, 1, opAcquire, 3, opCancelWaiter, 0, opAcquireDone, 1, opCancelHolder, 1, opCancelWaiter, 1, opRelease, 0},
		// Shrink makes the head oversized: the one behind it goes.
		{9, opTryAcquire, 5, opAcquire, 8, opAcquire, 2, opResize, 7, opResize, 9, opRelease, 0},
		// Zero size and zero weights.
		{0, opAcquire, 0, opAcquire, 1, opAcquire, 0, opTryAcquire, 0, opResize, 1, opRelease, 0, opRelease, 0},
		// A waiter canceled just before the release that would grant it.
		{2, opTryAcquire, 1, opAcquire, 2, opAcquire, 1, opCancelRelease, 0x00, opRelease, 0},
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		synctest.Test(t, func(t *testing.T) { runFuzzOps(t, data) })
	})
}
