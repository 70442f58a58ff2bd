package benchmarks

import (
	"context"

	"github.com/weir-go/weir/job"
	"github.com/weir-go/weir/pool"
	"github.com/weir-go/weir/semaphore"
)

// weirPool is weir's pool with its default queue: Submit never waits while
// the queue has room, and a queued job is an entry, not a goroutine. Go is
// Spawn, weir's submission without a handle.
type weirPool struct {
	p   *pool.Pool
	j   job.Job
	res func(context.Context) (int, error)
}

// NewWeir makes a weir pool of the given limit; opts are passed to
// pool.New. It panics if pool.New fails.
func NewWeir(limit int, work func(), opts ...pool.Option) Pool {
	p, err := pool.New(int64(limit), opts...)
	if err != nil {
		panic(err)
	}
	return &weirPool{
		p:   p,
		j:   job.Func(func(context.Context) error { work(); return nil }),
		res: func(context.Context) (int, error) { work(); return 1, nil },
	}
}

func (w *weirPool) Go(ctx context.Context) error {
	return w.p.Spawn(ctx, w.j)
}

func (w *weirPool) Submit(ctx context.Context) (Handle, error) {
	h, err := w.p.Submit(ctx, w.j)
	if err != nil {
		return nil, err
	}
	return h, nil
}

func (w *weirPool) SubmitResult(ctx context.Context) (ResultHandle, error) {
	r, err := pool.SubmitResult(ctx, w.p, w.res)
	if err != nil {
		return nil, err
	}
	return r, nil
}

func (w *weirPool) Wait() { w.p.Wait() }

func (w *weirPool) Close() { _ = w.p.Close() }

// NewWeirSem returns weir's semaphore.
func NewWeirSem(size int64) Sem { return semaphore.NewWeighted(size) }
