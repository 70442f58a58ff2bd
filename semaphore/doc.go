// Package semaphore provides a FIFO weighted semaphore.
//
// [Weighted] has the same calls and the same contract as
// golang.org/x/sync/semaphore: a program can switch the import path and
// nothing else. It adds what that package lacks: [Weighted.Resize] changes
// the size while the semaphore is in use (golang/go#29721), and
// [Weighted.Size], [Weighted.InUse] and [Weighted.Waiting] report its state
// (golang/go#53940).
//
// # Fairness
//
// Grants are strictly first in, first out: a waiter at the head of the queue
// blocks smaller waiters behind it, so a large request is never starved by a
// stream of small ones. A request larger than the current size does not
// block anyone; it waits until its context ends, or until a Resize makes it
// fit.
//
// # Cost
//
// When no one waits, Acquire and Release are one compare-and-swap each on a
// single word and take no lock, and nothing allocates. A caller that must
// wait takes a mutex, joins an intrusive queue (its node is recycled) and
// parks on a fresh channel: one allocation per blocked Acquire, where x/sync
// makes two. (The channel is not recycled because a channel made inside a
// testing/synctest bubble must never be used outside it.)
//
// Measured on a 2-core machine (Go 1.26) against x/sync v0.25.0 in the
// same run (bench_test.go; ratios of ns/op, lower is better):
// uncontended Acquire(1)+Release(1) 0.51x; two goroutines in parallel on a
// large semaphore 0.71x; 16 goroutines on a size-4 semaphore 0.13x (and
// 0.36x a channel semaphore); 16 goroutines on a size-1 semaphore 0.92x
// (1.8x a channel semaphore, whose blocked sends need no allocation);
// random weights 1..3 on size 10 with 16 goroutines 0.30x.
package semaphore
