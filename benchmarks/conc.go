package benchmarks

import (
	"context"

	"github.com/sourcegraph/conc/pool"
)

// concPool is a sourcegraph/conc pool with WithMaxGoroutines. Its Go
// blocks while the pool is full and takes no context; its Wait ends the
// pool, so Wait here starts a new one (conc's idiom: a pool per batch).
// It has no handle: Submit sends on a channel made per job.
type concPool struct {
	p     *pool.Pool
	limit int
	work  func()
}

// NewConc makes a conc pool of at most limit goroutines.
func NewConc(limit int, work func()) Pool {
	return &concPool{p: pool.New().WithMaxGoroutines(limit), limit: limit, work: work}
}

func (c *concPool) Go(context.Context) error {
	c.p.Go(c.work)
	return nil
}

func (c *concPool) Submit(context.Context) (Handle, error) {
	done := make(chanHandle, 1)
	c.p.Go(func() { c.work(); done <- nil })
	return done, nil
}

func (c *concPool) Wait() {
	c.p.Wait()
	c.p = pool.New().WithMaxGoroutines(c.limit)
}

func (c *concPool) Close() { c.p.Wait() }
