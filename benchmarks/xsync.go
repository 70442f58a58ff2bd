package benchmarks

import (
	"context"
	"sync"

	"golang.org/x/sync/semaphore"
)

// xsyncPool is golang.org/x/sync/semaphore with a goroutine per job, the
// pattern that package documents: Acquire (FIFO, with ctx), then go, and
// Release when the job ends. A WaitGroup waits for all; Submit sends on a
// channel made per job.
type xsyncPool struct {
	s    *semaphore.Weighted
	wg   sync.WaitGroup
	work func()
}

// NewXSync makes an x/sync semaphore of size limit.
func NewXSync(limit int, work func()) Pool {
	return &xsyncPool{s: semaphore.NewWeighted(int64(limit)), work: work}
}

func (x *xsyncPool) Go(ctx context.Context) error {
	if err := x.s.Acquire(ctx, 1); err != nil {
		return err
	}
	x.wg.Add(1)
	go x.run()
	return nil
}

func (x *xsyncPool) run() {
	x.work()
	x.s.Release(1)
	x.wg.Done()
}

func (x *xsyncPool) Submit(ctx context.Context) (Handle, error) {
	if err := x.s.Acquire(ctx, 1); err != nil {
		return nil, err
	}
	done := make(chanHandle, 1)
	go x.runHandle(done)
	return done, nil
}

func (x *xsyncPool) runHandle(done chanHandle) {
	x.work()
	x.s.Release(1)
	done <- nil
}

func (x *xsyncPool) Wait() { x.wg.Wait() }

func (x *xsyncPool) Close() { x.wg.Wait() }

// NewXSyncSem returns golang.org/x/sync's semaphore.
func NewXSyncSem(size int64) Sem { return semaphore.NewWeighted(size) }
