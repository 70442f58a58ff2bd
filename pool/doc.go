// Package pool runs jobs on goroutines with bounded, weighted concurrency.
//
// A [Pool] has a limit. Every job has a weight (1 unless set with
// job.WithWeight), and the jobs running at any moment weigh at most the
// limit in total. [Pool.Submit] starts a job at once if its weight is
// free, and otherwise puts it in the pool's queue, first in first out,
// and returns: either way it hands back a *job.Handle to wait on. A
// queued job costs its handle and no goroutine. [Pool.Spawn] is Submit
// without a handle (fire and forget) and allocates nothing. [Pool.Do]
// runs a job in the caller's goroutine under the same limit, the usual way
// to cap concurrent calls to a dependency. A [Group] waits for a set of jobs
// together and cancels the rest when one fails. [Pool.Resize] changes the
// limit while jobs run, [Pool.Stats] reports the pool's state, and
// [Pool.Shutdown] and [Pool.Close] stop it.
//
//	p, err := pool.New(3)
//	if err != nil { ... }
//	defer p.Close() // runs what is queued, then stops
//	h, err := p.Go(ctx, func(ctx context.Context) error {
//		fmt.Println(job.NameFrom(ctx), "is working")
//		return nil
//	})
//	if err != nil { ... } // bad input, ctx ended, or the pool is shut down
//	err = h.Wait()
//
// # A job's way through the pool
//
// Submit checks its arguments (a nil job, a weight below 1 or above the
// limit fail at once, with sentinels from this package). If the weight is
// free and nobody waits before it, the job is admitted at once: one
// compare-and-swap. Otherwise it becomes an entry in the FIFO list of the
// pool's semaphore, the same list in which Do callers wait, so that
// weights and order stay exact: a heavy job at the head is never
// overtaken. When the queue holds WithMaxQueued jobs, Submit waits for
// room (or fails with ErrQueueFull, see WithMaxWaiting). A queued job
// whose ctx ends, or whose handle is cancelled, leaves the queue at once.
//
// An admitted job runs on an ants worker with a ctx that carries the
// submitter's values, deadline and cancellation, names the job
// (job.FromContext), and is cancelled by Handle.Cancel and by a forced
// shutdown. A panic becomes a *job.PanicError, runtime.Goexit becomes
// job.ErrGoexit; either way the pool keeps working. When the job returns,
// its weight is given back before its handle resolves, so a caller
// returning from Wait finds the capacity free; and if the weight lets the
// job at the head of the queue start, the same worker runs it next, with
// no hand-off to another goroutine, and goes on until the queue is empty
// or its head does not fit. A submitter that waited for room in the queue
// is woken once, to return from Submit.
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
// second pool. For the same reason Close, Wait and Shutdown without a
// deadline never return when called from one of the pool's own jobs.
//
// # Panics
//
// A panic is never silent: it is the job's error (a *job.PanicError from
// Wait), it goes to the handler given with WithPanicHandler and to the
// logger, and with neither it is printed with its stack to standard
// error. Do re-panics in the caller's goroutine once the weight is back.
//
// # Logging and observing
//
// WithLogger sends events to a zap.Logger (the default is a no-op). They
// go to a child logger named "weir" with the field pool=<name>:
//
//	job acquired   Debug  job, job_id, weight, waited, in_use, limit, waiters
//	job released   Debug  job, job_id, weight, held, outcome, error, in_use, limit
//	job panicked   Error  job, job_id, error, stack
//	pool resized   Info   old, limit, reason
//	pool shut down Info   forced, submitted
//
// The messages and keys are the Msg and Key constants. WithSlog sends the
// same events to a log/slog logger. Each event is checked with
// Logger.Check (slog: Logger.Enabled) before any field is built, and time stamps are
// taken only when Debug is on, so logging that is off costs no allocation
// (BenchmarkLogging). WithObserver sees every admission decision, every
// job's end and every limit change, for metrics and tracing: the modules
// github.com/weir-go/weir/promweir and github.com/weir-go/weir/otelweir
// export them. With no observer the pool builds no event.
//
// # Cost
//
// A Submit is one allocation, the handle, whether the job starts at once
// or is queued; Spawn reuses the task of a job that has ended, and Do
// allocates nothing. The measured costs against ants,
// pond, conc, errgroup and x/sync, and the reasons where weir is slower,
// are in the benchmarks module's RESULTS.md.
package pool
