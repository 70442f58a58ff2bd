// Package job defines weir's unit of work and its join handle.
//
// A [Job] is anything with a Run(ctx) error method: a [Func], or a struct
// type with its own fields and a Run method (the threads tutorial's
// "subclass Thread and override run()"). An executor such as package
// github.com/weir-go/weir/pool runs a job and hands back a [Handle]: a
// join handle that can be selected on ([Handle.Done]), blocked on
// ([Handle.Wait]), inspected ([Handle.State], [Handle.Err], [Handle.Name])
// and cancelled ([Handle.Cancel]). A [Result] is the handle of a function
// that returns a value.
//
// The running code can ask who it is: [FromContext] and [NameFrom] read
// the job's ID, name and weight from the ctx it was given (the tutorial's
// current_thread().name).
//
// A panic in a job becomes a [*PanicError] (matching [ErrPanic]) returned
// by Wait, and runtime.Goexit becomes [ErrGoexit]: neither crashes the
// program nor leaves a Wait hanging.
//
// # Cost
//
// A handle is one allocation. Wait parks without a channel; a Done
// channel is made only when someone calls Done. The job's ctx is the
// handle itself seen as a context.Context: Err and Value cost no lock and
// no allocation. Only when the job first asks for ctx.Done() (or derives
// a ctx from it) does it make a context.WithCancelCause of the
// submitter's ctx, so that the end of the submitter's ctx, and its own
// end, reach every ctx derived from it at once, with no goroutine; and
// context.Cause reports the first reason it ended.
package job
