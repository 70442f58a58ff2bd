package pool

import (
	"sync"
	"sync/atomic"
)

// joiner counts work in flight and lets callers wait until none is left.
// Unlike sync.WaitGroup, work may be added while someone waits. The mutex
// is taken only when the count reaches zero while someone waits.
type joiner struct {
	n       atomic.Int64
	waiters atomic.Int32
	mu      sync.Mutex
	idle    chan struct{} // closed when the count reaches zero; under mu
}

// add adds delta.
func (j *joiner) add(delta int64) { j.n.Add(delta) }

// sub subtracts delta and wakes the waiters if no work is left.
func (j *joiner) sub(delta int64) {
	if j.n.Add(-delta) == 0 && j.waiters.Load() > 0 {
		j.mu.Lock()
		if j.idle != nil && j.n.Load() == 0 {
			close(j.idle)
			j.idle = nil
		}
		j.mu.Unlock()
	}
}

// count returns the work in flight.
func (j *joiner) count() int64 { return j.n.Load() }

// wait blocks until no work is left or stop is closed (a nil stop never
// is); it reports whether no work was left.
func (j *joiner) wait(stop <-chan struct{}) bool {
	j.mu.Lock()
	j.waiters.Add(1)
	defer j.waiters.Add(-1)
	if j.n.Load() == 0 {
		j.mu.Unlock()
		return true
	}
	if j.idle == nil {
		j.idle = make(chan struct{})
	}
	idle := j.idle
	j.mu.Unlock()
	select {
	case <-idle:
		return true
	case <-stop:
		return false
	}
}
