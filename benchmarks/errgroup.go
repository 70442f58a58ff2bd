package benchmarks

import (
	"context"

	"golang.org/x/sync/errgroup"
)

// errgroupPool is an errgroup.Group with SetLimit. Its Go blocks while
// limit goroutines run and takes no context; Wait waits for all and the
// group stays usable. It has no per-job handle: Submit sends on a channel
// made per job.
type errgroupPool struct {
	g    *errgroup.Group
	work func()
	goFn func() error
}

// NewErrgroup makes an errgroup limited to limit goroutines.
func NewErrgroup(limit int, work func()) Pool {
	e := &errgroupPool{g: new(errgroup.Group), work: work}
	e.g.SetLimit(limit)
	e.goFn = func() error { e.work(); return nil }
	return e
}

func (e *errgroupPool) Go(context.Context) error {
	e.g.Go(e.goFn)
	return nil
}

func (e *errgroupPool) Submit(context.Context) (Handle, error) {
	done := make(chanHandle, 1)
	e.g.Go(func() error { e.work(); done <- nil; return nil })
	return done, nil
}

func (e *errgroupPool) Wait() { _ = e.g.Wait() }

func (e *errgroupPool) Close() { _ = e.g.Wait() }
