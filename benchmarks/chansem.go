package benchmarks

import (
	"context"
	"sync"
)

// chanSemPool is the common hand-written limiter: a buffered channel as a
// semaphore and a goroutine per job. A WaitGroup waits for all; Submit
// sends on a channel made per job.
type chanSemPool struct {
	s    chanSem
	wg   sync.WaitGroup
	work func()
}

// NewChanSem makes a channel semaphore of capacity limit.
func NewChanSem(limit int, work func()) Pool {
	return &chanSemPool{s: make(chanSem, limit), work: work}
}

func (c *chanSemPool) Go(ctx context.Context) error {
	if err := c.s.Acquire(ctx, 1); err != nil {
		return err
	}
	c.wg.Add(1)
	go c.run()
	return nil
}

func (c *chanSemPool) run() {
	c.work()
	<-c.s
	c.wg.Done()
}

func (c *chanSemPool) Submit(ctx context.Context) (Handle, error) {
	if err := c.s.Acquire(ctx, 1); err != nil {
		return nil, err
	}
	done := make(chanHandle, 1)
	go c.runHandle(done)
	return done, nil
}

func (c *chanSemPool) runHandle(done chanHandle) {
	c.work()
	<-c.s
	done <- nil
}

func (c *chanSemPool) Wait() { c.wg.Wait() }

func (c *chanSemPool) Close() { c.wg.Wait() }

// chanSem is a buffered channel used as a semaphore. It supports weight 1
// only: Acquire and Release ignore n.
type chanSem chan struct{}

func (c chanSem) Acquire(ctx context.Context, _ int64) error {
	select {
	case c <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c chanSem) Release(int64) { <-c }

// NewChanSemSem returns a channel semaphore of capacity size (weight 1
// only).
func NewChanSemSem(size int64) Sem { return make(chanSem, size) }
