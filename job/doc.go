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
// A handle is one allocation. Its Done channel is made only when someone
// asks for it (Done, or Wait before the job has finished), and the job's
// ctx is the handle itself seen as a context.Context, so it costs nothing
// until the job calls ctx.Done(); only then does it register with the
// submitter's ctx, as context.WithCancel would.
package job
