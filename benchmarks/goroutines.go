package benchmarks

import (
	"context"
	"sync"
)

// goroutinesPool is no pool at all: a goroutine per job and a WaitGroup.
// It ignores the limit, and is the reference for what a job costs with
// nothing in front of it.
type goroutinesPool struct {
	wg   sync.WaitGroup
	work func()
}

// NewGoroutines ignores limit.
func NewGoroutines(_ int, work func()) Pool {
	return &goroutinesPool{work: work}
}

func (g *goroutinesPool) Go(context.Context) error {
	g.wg.Add(1)
	go g.run()
	return nil
}

func (g *goroutinesPool) run() {
	g.work()
	g.wg.Done()
}

func (g *goroutinesPool) Submit(context.Context) (Handle, error) {
	done := make(chanHandle, 1)
	go g.runHandle(done)
	return done, nil
}

func (g *goroutinesPool) runHandle(done chanHandle) {
	g.work()
	done <- nil
}

func (g *goroutinesPool) Wait() { g.wg.Wait() }

func (g *goroutinesPool) Close() { g.wg.Wait() }
