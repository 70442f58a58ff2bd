// Package pool runs jobs on goroutines with bounded, weighted concurrency.
//
// A [Pool] has a limit. Every job has a weight (1 unless set with
// job.WithWeight), and the jobs running at any moment weigh at most the
// limit in total. [Pool.Submit] waits, first in first out, until the job's
// weight is free, hands the job to a goroutine, and returns a *job.Handle
// to wait on. [Pool.Do] runs a job in the caller's goroutine under the same
// limit, the usual way to cap concurrent calls to a dependency. A
// [Group] waits for a set of jobs together and cancels the rest when one
// fails. [Pool.Resize] changes the limit while jobs run, [Pool.Stats]
// reports the pool's state, and [Pool.Shutdown] stops it gracefully.
//
//	p, err := pool.New(3)
//	if err != nil { ... }
//	defer p.Close()
//	h, err := p.Go(ctx, func(ctx context.Context) error {
//		fmt.Println(job.NameFrom(ctx), "is working")
//		return nil
//	})
//	if err != nil { ... } // ctx ended, or the pool is shut down
//	err = h.Wait()
//
// # A job's way through the pool
//
// Submit checks its arguments (a nil job, a weight below 1 or above the
// limit fail at once, with sentinels from this package), waits for the
// weight in FIFO order (ctx ending returns ctx.Err() unchanged, with
// nothing held), gives the job an ID, and hands it to an ants worker. The
// job runs with a ctx that carries the submitter's values, deadline and
// cancellation, names the job (job.FromContext), and is cancelled by
// Handle.Cancel and by a forced shutdown. A panic becomes a
// *job.PanicError, runtime.Goexit becomes job.ErrGoexit; either way the
// pool keeps working. When the job returns, its weight is given back
// before its handle resolves, so a caller returning from Wait finds the
// capacity free.
//
// Executed by github.com/panjf2000/ants/v2, sized so that handing a job to
// it never waits: admission is the pool's semaphore, never ants.
//
// # Deadlock
//
// A job that submits to its own pool and waits for the inner job can
// deadlock when the pool is full: it holds weight that the inner job
// needs. Give such inner submissions a ctx with a deadline, so that the
// wait ends in context.DeadlineExceeded instead of a hang, or use a
// second pool.
//
// # Logging
//
// WithLogger sends events to a zap.Logger (the default is a no-op). They
// go to a child logger named "weir" with the field pool=<name>:
//
//	job acquired   Debug  job, job_id, weight, waited, in_use, limit, waiters
//	job released   Debug  job, job_id, weight, held, outcome, error, in_use, limit
//	job panicked   Error  job, job_id, error, stack
//	pool resized   Info   old, limit
//	pool shut down Info   forced, submitted
//
// The messages and keys are the Msg and Key constants. Each event is
// checked with Logger.Check before any field is built, and time stamps are
// taken only when Debug is on, so logging that is off costs no allocation
// (BenchmarkLogging).
//
// # Cost
//
// Measured on a 2-core machine (Go 1.26) with every peer in the same run
// (benchmarks/RESULTS.md; ratios are weir's time over the peer's):
//
//   - Submit and Wait on the handle, no-op job: 1 allocation (the handle,
//     192 B). At limit 1000 it is 1.41x raw ants with a channel per job (3
//     allocations) and 0.30x pond's Submit().Wait() (7); at limit 2 it is
//     on par with ants and conc and 0.27x pond.
//   - Submitting without waiting, then Pool.Wait: 1.2-2.2x the cheapest
//     peers at limit 1000, and 12x pond at limit 2. Submit waits for
//     admission, so at a small limit every Submit parks the submitter and
//     every finished job wakes it: two goroutine wake-ups per job where
//     pond queues the job and its workers drain the queue.
//   - A million jobs queued at once: each queued Submit is a parked
//     goroutine (about 4.5 KB) where pond keeps an 18-byte entry. Weir's
//     Submit is backpressure by design; size WithMaxWaiting to bound it.
//   - 100,000 jobs of 10 ms at limit 1,000: 1.11x the ideal makespan,
//     1.00-1.03x the peers.
//   - Do: 0 allocations, about 3x a bare weir semaphore Acquire+Release
//     (1.6x x/sync's): the pool's bookkeeping (shutdown tracking, an ID,
//     outcome counters) is four atomic operations on top of the
//     semaphore's two.
//   - Logging: off, or at Info with Debug filtered, adds no allocation and
//     no measurable time (BenchmarkLogging); at Debug every job writes two
//     events.
package pool
