package benchmarks

import (
	"context"
	"sync"
	"time"

	"github.com/panjf2000/ants/v2"
)

// antsPool is a raw ants.Pool, the executor weir itself uses. Its Submit
// blocks (sync.Cond) while the pool is full and takes no context. It has
// no join handle and no wait-for-all: a sync.WaitGroup waits for Go's
// jobs, and Submit and SubmitResult send on a channel made per job.
type antsPool struct {
	p    *ants.Pool
	wg   sync.WaitGroup
	work func()
	goFn func()
}

// NewAnts makes an ants pool of the given size. It panics if ants fails.
func NewAnts(limit int, work func()) Pool {
	p, err := ants.NewPool(limit)
	if err != nil {
		panic(err)
	}
	a := &antsPool{p: p, work: work}
	a.goFn = func() { a.work(); a.wg.Done() }
	return a
}

func (a *antsPool) Go(context.Context) error {
	a.wg.Add(1)
	if err := a.p.Submit(a.goFn); err != nil {
		a.wg.Done()
		return err
	}
	return nil
}

func (a *antsPool) Submit(context.Context) (Handle, error) {
	done := make(chanHandle, 1)
	if err := a.p.Submit(func() { a.work(); done <- nil }); err != nil {
		return nil, err
	}
	return done, nil
}

// antsResult is the hand-made typed handle: a channel per job.
type antsResult chan int

func (r antsResult) Wait() (int, error) { return <-r, nil }

// SubmitResult is what a typed result costs when built by hand on ants:
// the floor for weir's and pond's result handles.
func (a *antsPool) SubmitResult(context.Context) (ResultHandle, error) {
	r := make(antsResult, 1)
	if err := a.p.Submit(func() { a.work(); r <- 1 }); err != nil {
		return nil, err
	}
	return r, nil
}

func (a *antsPool) Wait() { a.wg.Wait() }

func (a *antsPool) Close() {
	a.wg.Wait()
	_ = a.p.ReleaseTimeout(10 * time.Second)
}
