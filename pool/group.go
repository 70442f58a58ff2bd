package pool

import (
	"context"
	"sync"

	"github.com/weir-go/weir/job"
)

// Group is a set of jobs on a pool that are waited for together, like
// golang.org/x/sync/errgroup but weighted and sharing the pool's limit: the
// first job to fail cancels the group's ctx, and Wait returns that first
// error. Make one with Pool.Group.
type Group struct {
	p      *Pool
	ctx    context.Context // what submits use: the group's ctx, see linkedCtx
	cancel context.CancelCauseFunc
	jobs   joiner

	errOnce sync.Once
	err     error
}

// groupJob marks a job submitted through a group, so that the pool tells
// the group when it ends.
type groupJob struct {
	g *Group
	j job.Job
}

func (gj *groupJob) Run(ctx context.Context) error { return gj.j.Run(ctx) }

// Group returns a new group on the pool and its ctx, derived from ctx
// (which must not be nil, as for context.WithCancel). The
// ctx is cancelled when a job of the group fails (returns an error, panics
// or is cancelled) or when Wait returns, whichever comes first.
func (p *Pool) Group(ctx context.Context) (*Group, context.Context) {
	gctx, cancel := context.WithCancelCause(ctx)
	return &Group{p: p, ctx: &linkedCtx{Context: gctx, parent: ctx}, cancel: cancel}, gctx
}

// linkedCtx is the group's ctx whose Err also asks the parent at once. A
// cancelCtx made from a ctx that is not one of package context's own (a
// job's ctx, say) hears of its parent's end a goroutine later; the pool
// checks Err around admission, and this way a group made inside a job is
// never admitted after that job's ctx has ended.
type linkedCtx struct {
	context.Context
	parent context.Context
}

func (c *linkedCtx) Err() error {
	if err := c.parent.Err(); err != nil {
		return err
	}
	return c.Context.Err()
}

// Submit submits j to the pool with the group's ctx, as Pool.Submit does:
// it waits for admission and fails with the group ctx's error once the
// group has failed. The job's error also reaches Wait.
func (g *Group) Submit(j job.Job, opts ...job.Option) (*job.Handle, error) {
	if isNil(j) {
		return nil, ErrNilJob
	}
	g.jobs.add(1)
	t := job.NewTask(&groupJob{g: g, j: j}, opts...)
	if err := g.p.submit(g.ctx, t, true); err != nil {
		g.jobs.sub(1)
		return nil, err
	}
	return t.Handle(), nil
}

// Go is Submit for a plain function.
func (g *Group) Go(f func(ctx context.Context) error, opts ...job.Option) (*job.Handle, error) {
	if f == nil {
		return nil, ErrNilJob
	}
	return g.Submit(job.Func(f), opts...)
}

// fail records the first error of the group's jobs and cancels its ctx.
// The pool calls it when a job of the group fails, before the job's weight
// is given back.
func (g *Group) fail(err error) {
	g.errOnce.Do(func() {
		g.err = err
		g.cancel(err)
	})
}

// Wait blocks until every job submitted through the group has finished,
// cancels the group's ctx, and returns the first error a job returned (a
// *job.PanicError for a panic), or nil.
func (g *Group) Wait() error {
	g.jobs.wait(nil)
	g.cancel(context.Canceled)
	return g.err
}
