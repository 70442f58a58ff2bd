package benchmarks

import (
	"context"
	"sync"

	"github.com/gammazero/workerpool"
)

// wpPool is a gammazero/workerpool. Its Submit never blocks: a dispatcher
// goroutine keeps waiting jobs in a deque. It has no handle and no wait
// for all short of StopWait: a WaitGroup waits for Go's jobs, and Submit
// is its SubmitWait, which makes a channel per job and waits on it (so
// the returned handle has already finished).
type wpPool struct {
	p    *workerpool.WorkerPool
	wg   sync.WaitGroup
	work func()
	goFn func()
}

// NewWorkerpool makes a workerpool of at most limit workers.
func NewWorkerpool(limit int, work func()) Pool {
	w := &wpPool{p: workerpool.New(limit), work: work}
	w.goFn = func() { w.work(); w.wg.Done() }
	return w
}

func (w *wpPool) Go(context.Context) error {
	w.wg.Add(1)
	w.p.Submit(w.goFn)
	return nil
}

func (w *wpPool) Submit(context.Context) (Handle, error) {
	w.p.SubmitWait(w.work)
	return doneHandle{}, nil
}

func (w *wpPool) Wait() { w.wg.Wait() }

func (w *wpPool) Close() {
	w.wg.Wait()
	w.p.StopWait()
}
