package semaphore

import (
	"context"

	"github.com/weir-go/weir/internal/wsem"
)

// Weighted provides a way to bound concurrent access to a resource.
// The callers can request access with a given non-negative weight.
//
// The zero value is a semaphore of size 0: Acquire(ctx, 0) succeeds at once
// and any larger Acquire waits until its context ends or a Resize makes it
// fit. A Weighted must not be copied after first use.
type Weighted struct {
	s wsem.Weighted
}

// NewWeighted creates a new weighted semaphore with the given maximum
// combined weight for concurrent access. NewWeighted panics if n is
// negative.
func NewWeighted(n int64) *Weighted {
	s := &Weighted{}
	s.s.Init(n)
	return s
}

// Acquire acquires the semaphore with a weight of n, blocking until
// resources are available or ctx is done. On success, returns nil. On
// failure, returns ctx.Err() and leaves the semaphore unchanged; if the
// caller was at the head of the queue, the waiters behind it that now fit
// are granted at once.
//
// If ctx is already done when Acquire is called, Acquire fails even if the
// weight is available. Requests are granted in the order they arrive:
// while any waiter that fits the size is queued, a new request queues
// behind it, whatever its weight (n == 0 included). A request larger than
// the size waits, without blocking other callers, until ctx is done or a
// Resize makes it fit. Acquire panics if n is negative.
//
// Cost: one compare-and-swap when no one waits; otherwise a mutex, a park
// and one allocation.
func (s *Weighted) Acquire(ctx context.Context, n int64) error {
	return s.s.Acquire(ctx, n)
}

// TryAcquire acquires the semaphore with a weight of n without blocking.
// On success, returns true. On failure, returns false and leaves the
// semaphore unchanged. It fails while any waiter that fits the size is
// queued, even if n is available. TryAcquire panics if n is negative.
func (s *Weighted) TryAcquire(n int64) bool {
	return s.s.TryAcquire(n)
}

// Release releases the semaphore with a weight of n, and grants, in order,
// every queued waiter that now fits, stopping at the first that does not.
// Release panics with "semaphore: released more than held" if n exceeds
// the weight held, and panics if n is negative.
//
// Cost: one compare-and-swap when no one waits; otherwise a mutex and a
// channel close per waiter granted.
func (s *Weighted) Release(n int64) {
	s.s.Release(n)
}

// Resize sets the size of the semaphore to n. Growing grants, in order, the
// queued waiters that now fit, including requests that were larger than the
// old size. Shrinking takes back no weight already held: until the weight
// held is at most the new size minus a request, that request waits. Queued
// requests that are larger than the new size stop blocking the waiters
// behind them, as a request larger than the size does in Acquire; they
// wait for their ctx or for a Resize that makes them fit. Resize panics if
// n is negative.
//
// Cost: a mutex, plus a walk of the queue when the size shrinks or when
// requests larger than the old size are waiting.
func (s *Weighted) Resize(n int64) {
	s.s.Resize(n)
}

// Size returns the current size of the semaphore: the value given to
// NewWeighted or the last Resize.
func (s *Weighted) Size() int64 {
	return s.s.Size()
}

// InUse returns the weight currently held. It can exceed Size after a
// shrinking Resize, until enough weight is released.
//
// InUse is reported rather than the weight available because it stays
// exact when a shrink leaves more held than the size, and because it is
// what a gauge of load wants; the weight available is
// max(Size()-InUse(), 0). It takes the semaphore's mutex.
func (s *Weighted) InUse() int64 {
	return s.s.InUse()
}

// Waiting returns the number of callers blocked in Acquire, including
// requests larger than the current size. It takes the semaphore's mutex.
func (s *Weighted) Waiting() int {
	return s.s.Waiting()
}
