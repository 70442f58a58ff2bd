package pool

import (
	"context"
	"sync"
	"time"

	"github.com/weir-go/weir/internal/task"
	"github.com/weir-go/weir/job"
)

// Group is a set of jobs on a pool that are waited for together, like
// golang.org/x/sync/errgroup but weighted and sharing the pool's limit: the
// first job to fail cancels the group's ctx, and Wait returns that first
// error. Make one with Pool.Group.
//
// A Group loses nothing. A Submit or Go that fails (a bad weight, a
// closed pool, a full queue, the group's parent ctx ended) returns its
// error and also makes Wait return an error: the first error of the
// group, whichever it is. Every job that Submit or Go accepted runs
// exactly once, as errgroup runs every function it accepted, even after
// the group failed (its ctx is then cancelled, so it should return
// quickly); only a shutdown of the pool or Handle.Cancel drops a queued
// job, and that job's error then reaches Wait.
type Group struct {
	p      *Pool
	ctx    context.Context
	parent groupCtx // ctx as its jobs' parent
	cancel context.CancelCauseFunc
	jobs   joiner

	errOnce sync.Once
	err     error
}

// groupCtx is a group's ctx as the submitter's ctx of its jobs: the same
// ctx, which also names the group, so that the pool tells the group when
// one of its jobs ends with no wrapper per job.
type groupCtx struct {
	context.Context
	g    *Group
	base context.Context // the ctx the group was made from
}

// Err reports the group ctx's error, or its base's: when the base ends,
// package context cancels the group ctx a moment later, and a job of the
// group that a sibling's weight admits in between must not start as if
// nothing had ended.
func (c *groupCtx) Err() error {
	if err := c.Context.Err(); err != nil {
		return err
	}
	return c.base.Err()
}

// groupOf returns the group that t was submitted through, or nil.
func groupOf(t *task.Task) *Group {
	if gc, ok := t.Parent().(*groupCtx); ok {
		return gc.g
	}
	return nil
}

// Group returns a new group on the pool and its ctx, derived from ctx
// (which must not be nil, as for context.WithCancel). The ctx is
// cancelled when a job of the group fails (returns an error, panics or is
// cancelled), when a submission to the group fails, or when Wait returns,
// whichever comes first.
func (p *Pool) Group(ctx context.Context) (*Group, context.Context) {
	gctx, cancel := context.WithCancelCause(ctx)
	g := &Group{p: p, ctx: gctx, cancel: cancel}
	g.parent = groupCtx{Context: gctx, g: g, base: ctx}
	return g, gctx
}

// Submit submits j to the pool with the group's ctx, as Pool.Submit does.
// It fails at once with the ctx's error if the group has failed or its
// parent ctx has ended. Its error, or the job's, reaches Wait.
func (g *Group) Submit(j job.Job, opts ...job.Option) (*job.Handle, error) {
	if isNil(j) {
		g.fail(ErrNilJob)
		return nil, g.p.rejected(opts, ErrNilJob, time.Time{})
	}
	if g.p.sem.Closed() {
		g.fail(ErrClosed)
		return nil, g.p.rejected(opts, ErrClosed, time.Time{})
	}
	g.jobs.add(1)
	t := new(task.Task)
	t.Keep()
	if err := g.p.submit(&g.parent, t, j, opts, false); err != nil {
		g.jobs.sub(1)
		g.fail(err)
		return nil, err
	}
	return (*job.Handle)(t), nil
}

// Go is Submit for a plain function.
func (g *Group) Go(f func(ctx context.Context) error, opts ...job.Option) (*job.Handle, error) {
	if f == nil {
		g.fail(ErrNilJob)
		return nil, g.p.rejected(opts, ErrNilJob, time.Time{})
	}
	return g.Submit(job.Func(f), opts...)
}

// fail records the first error of the group and cancels its ctx.
func (g *Group) fail(err error) {
	g.errOnce.Do(func() {
		g.err = err
		g.cancel(err)
	})
}

// Wait blocks until every job submitted through the group has finished,
// cancels the group's ctx, and returns the group's first error: a job's
// error (a *job.PanicError for a panic) or a submission's, or nil.
func (g *Group) Wait() error {
	g.jobs.wait(nil)
	g.cancel(context.Canceled)
	return g.err
}
