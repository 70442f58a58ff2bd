package benchmarks

import (
	"context"
	"sync"

	"github.com/alitto/pond/v2"
)

// pondPool is an alitto/pond/v2 pool. Its Submit never blocks: jobs wait
// in the pool's own queue (unbounded by default). Submit returns pond's
// Task handle and SubmitResult a ResultPool's typed handle; pond has no
// wait-for-all short of stopping the pool, so a WaitGroup waits for Go's
// jobs, which go through pond's Go (no handle made).
type pondPool struct {
	p     pond.Pool
	limit int
	work  func()
	goFn  func()
	wg    sync.WaitGroup

	resOnce sync.Once
	res     pond.ResultPool[int]
	resFn   func() (int, error)
}

// NewPond makes a pond pool with the given maximum concurrency.
func NewPond(limit int, work func()) Pool {
	p := &pondPool{p: pond.NewPool(limit), limit: limit, work: work}
	p.goFn = func() { p.work(); p.wg.Done() }
	p.resFn = func() (int, error) { p.work(); return 1, nil }
	return p
}

func (p *pondPool) Go(context.Context) error {
	p.wg.Add(1)
	if err := p.p.Go(p.goFn); err != nil {
		p.wg.Done()
		return err
	}
	return nil
}

func (p *pondPool) Submit(context.Context) (Handle, error) {
	return p.p.Submit(p.work), nil
}

// SubmitResult uses a pond.ResultPool[int] of the same limit, made on
// first use: pond's typed results come from a pool typed by its result.
func (p *pondPool) SubmitResult(context.Context) (ResultHandle, error) {
	p.resOnce.Do(func() { p.res = pond.NewResultPool[int](p.limit) })
	return p.res.SubmitErr(p.resFn), nil
}

func (p *pondPool) Wait() { p.wg.Wait() }

func (p *pondPool) Close() {
	p.wg.Wait()
	p.p.StopAndWait()
	if p.res != nil {
		p.res.StopAndWait()
	}
}
