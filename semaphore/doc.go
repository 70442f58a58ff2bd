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
// How it compares with x/sync's semaphore and a channel semaphore, scenario
// by scenario, is measured in benchmarks/RESULTS.md (bench_test.go here,
// and the benchmarks module for the peers); the figures live only there.
package semaphore
