// Package group is a drop-in replacement for golang.org/x/sync/errgroup:
// synchronization, error propagation and Context cancellation for groups
// of goroutines working on subtasks of a common task, with weights, every
// error, typed results, and less work per function.
//
// [Group] has errgroup's API and meaning: the zero Group is ready and
// never cancels; [WithContext] returns a Group whose Context is canceled,
// with the error as its cause, by the first function that fails or by
// the first Wait; [Group.Go] blocks while the limit set by
// [Group.SetLimit] is reached; [Group.TryGo] does not; [Group.Wait]
// returns the first error; every function Go accepted runs exactly once;
// and a Group can be used again after Wait.
//
// A Group's limit is its own. To share one weighted limit with other work
// (other groups, Submit, Do), use a group on a pool:
// github.com/weir-go/weir/pool's Pool.Group admits each function through
// the pool's FIFO weighted semaphore, with errgroup's first-error
// cancellation, and reports every failed submission to Wait.
//
// # From errgroup
//
// Change the import, nothing else:
//
//	import errgroup "github.com/weir-go/weir/group" // was "golang.org/x/sync/errgroup"
//
// What you gain:
//   - Speed. A Go that would block does not get a goroutine of its own:
//     the group's goroutine that finishes a function runs the oldest
//     blocked caller's function itself and wakes the caller, one wake-up
//     per function. Goroutines are started from one function value made
//     per Group, so Go allocates nothing beyond the function you pass.
//     The benchmarks module compares it with errgroup, conc and pond.
//   - [Group.GoWeighted]: a function that counts as w against the limit,
//     for work of uneven cost. Blocked calls start in the order they were
//     made, so a heavy function is not overtaken by lighter ones.
//   - [Group.JoinErrors]: Wait returns every error, joined with
//     [errors.Join], instead of the first.
//   - [Results]: a group whose functions return a value; Wait returns
//     the values in the order of the Go calls.
//
// Where it differs from errgroup v0.25.0 (each only where errgroup hangs,
// corrupts its state or leaves the detail unspecified):
//   - Under SetLimit(0), or for a weight above the limit, Go returns at
//     once and Wait returns an error matching [ErrWeight]; errgroup's Go
//     blocks forever.
//   - SetLimit(n), n >= 0, panics whenever functions are running; errgroup
//     panics only if a limit was already set (from no limit, its later
//     bookkeeping goes wrong). SetLimit(-1) starts the functions of
//     blocked Go calls; errgroup's stay blocked forever.
//   - Wait waits for the functions of Go calls blocked when it was called.
//   - A goroutine of the group may run several functions one after the
//     other. A function that changes its goroutine and does not undo it
//     (runtime.LockOSThread without UnlockOSThread, pprof labels set with
//     SetGoroutineLabels) leaves the change to the next function; with
//     errgroup the goroutine would end.
//
// # Panics
//
// A panic in a function is not recovered: it crashes the program with the
// function's own stack, as in errgroup. Recovering it and returning it
// from Wait as an error, or panicking again in Wait as conc does, would
// turn the stack into a value that crash reporting does not read, delay
// the crash until Wait, and, if the panic left the program unable to
// reach Wait (a channel never closed, a lock never released), hide it in
// a deadlock. It would also make this package behave differently from
// the errgroup it replaces. A function that should turn its panics into
// errors can recover them itself:
//
//	g.Go(func() (err error) {
//		defer func() {
//			if r := recover(); r != nil {
//				err = fmt.Errorf("panic: %v", r)
//			}
//		}()
//		return work()
//	})
//
// A function that calls runtime.Goexit (t.FailNow does) ends without an
// error and frees its place in the limit, as in errgroup.
package group
