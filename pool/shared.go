package pool

import (
	"context"
	"fmt"

	"github.com/weir-go/weir/internal/task"
)

// SharedLimit is a limit that a pool's jobs share with other processes,
// such as package github.com/weir-go/weir/redislimit's Semaphore (through
// the three-line adapter its documentation shows). With WithSharedLimit, a
// job is admitted by the pool's own limit first, and then, on the
// goroutine that runs it, asks the shared limit for its weight: the local
// limit keeps the leases a process holds few, and queues the rest in
// memory, where waiting costs nothing.
type SharedLimit interface {
	// Acquire waits for weight and returns a lease, or fails: with
	// ctx.Err() when ctx ends first, or with the limit's own error
	// (such as redislimit.ErrUnavailable).
	Acquire(ctx context.Context, weight int64) (SharedLease, error)
}

// SharedLease is weight held in a SharedLimit.
type SharedLease interface {
	// Context ends when the lease is lost; the job's ctx is then
	// cancelled.
	Context() context.Context
	// Release gives the weight back; it may be called more than once.
	Release()
}

// WithSharedLimit makes every job, Do calls included, also hold its
// weight in l while it runs. A job whose Acquire fails does not run: it
// ends Failed with the error (Do returns it). A job whose lease is lost
// while it runs has its ctx cancelled. A nil l makes New fail with
// ErrInvalidOption.
func WithSharedLimit(l SharedLimit) Option {
	return optionFunc(func(o *options) error {
		if l == nil {
			return fmt.Errorf("%w: nil SharedLimit", ErrInvalidOption)
		}
		o.shared = l
		return nil
	})
}

// runTask runs t, under a lease of the shared limit if the pool has one.
func (p *Pool) runTask(t *task.Task) {
	if p.shared == nil || t.StartErr() != nil {
		t.Run()
		return
	}
	if t.IsBare() {
		// The job runs with the submitter's ctx, as Do's does: give it
		// the leased ctx instead.
		ctx, done, err := p.lease(t.Parent(), t.Weight())
		if err != nil {
			t.Abort(err)
			return
		}
		defer done()
		t.SetParent(ctx)
		t.Run()
		return
	}
	lease, err := p.shared.Acquire(t.Ctx(), t.Weight())
	if err != nil {
		t.Abort(err)
		return
	}
	defer lease.Release()
	stop := context.AfterFunc(lease.Context(), t.Cancel)
	defer stop()
	t.Run()
}

// lease takes a lease of the shared limit for weight w. It returns a ctx
// derived from ctx that also ends, with the lease's cause, when the lease
// is lost, and the func that ends that ctx and releases the lease.
func (p *Pool) lease(ctx context.Context, w int64) (context.Context, func(), error) {
	l, err := p.shared.Acquire(ctx, w)
	if err != nil {
		return nil, nil, err
	}
	jctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(l.Context(), func() { cancel(context.Cause(l.Context())) })
	return jctx, func() {
		stop()
		cancel(nil)
		l.Release()
	}, nil
}
