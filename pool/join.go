package pool

import (
	"context"
	"sync"
	"sync/atomic"
)

// closedBit in joiner.n marks a pool that has begun to shut down.
const closedBit = int64(1) << 62

// joiner counts work in flight and lets callers wait until none is left.
// Unlike sync.WaitGroup, work may be added while someone waits. It costs
// one atomic add per enter and exit; the mutex is taken only when the
// count reaches zero while someone waits.
type joiner struct {
	n       atomic.Int64 // count, plus closedBit
	waiters atomic.Int32
	mu      sync.Mutex
	idle    chan struct{} // closed when the count reaches zero; under mu
}

// enter adds one unless the joiner is closed.
func (j *joiner) enter() bool {
	if j.n.Add(1)&closedBit != 0 {
		j.exit()
		return false
	}
	return true
}

// add adds one, closed or not.
func (j *joiner) add() { j.n.Add(1) }

// exit removes one and wakes the waiters if none is left.
func (j *joiner) exit() {
	if j.n.Add(-1)&^closedBit == 0 && j.waiters.Load() > 0 {
		j.mu.Lock()
		if j.idle != nil && j.n.Load()&^closedBit == 0 {
			close(j.idle)
			j.idle = nil
		}
		j.mu.Unlock()
	}
}

// close makes enter fail from now on.
func (j *joiner) close() {
	for {
		v := j.n.Load()
		if v&closedBit != 0 || j.n.CompareAndSwap(v, v|closedBit) {
			return
		}
	}
}

// wait blocks until the count is zero or stop is closed (a nil stop never
// is); it returns context.Canceled in that second case.
func (j *joiner) wait(stop <-chan struct{}) error {
	j.mu.Lock()
	j.waiters.Add(1)
	defer j.waiters.Add(-1)
	if j.n.Load()&^closedBit == 0 {
		j.mu.Unlock()
		return nil
	}
	if j.idle == nil {
		j.idle = make(chan struct{})
	}
	idle := j.idle
	j.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-stop:
		return context.Canceled
	}
}
