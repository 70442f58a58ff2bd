package pool

import (
	"sync"
	"sync/atomic"
)

// A joiner's word packs two counts and a flag, so that the hot path
// updates all it needs with one atomic add:
//
//	bits  0-30: callers inside Submit or Do, plus jobs not yet resolved
//	bits 31-61: of those, the ones admitted (holding their weight)
//	bit     62: closed: the pool has begun to shut down
const (
	countMask = int64(1)<<31 - 1
	runUnit   = int64(1) << 31
	closedBit = int64(1) << 62
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

// enter adds delta unless the joiner is closed.
func (j *joiner) enter(delta int64) bool {
	if j.n.Add(delta)&closedBit != 0 {
		j.sub(delta)
		return false
	}
	return true
}

// add adds delta, closed or not.
func (j *joiner) add(delta int64) { j.n.Add(delta) }

// sub subtracts delta and wakes the waiters if no work is left.
func (j *joiner) sub(delta int64) {
	if j.n.Add(-delta)&countMask == 0 && j.waiters.Load() > 0 {
		j.mu.Lock()
		if j.idle != nil && j.n.Load()&countMask == 0 {
			close(j.idle)
			j.idle = nil
		}
		j.mu.Unlock()
	}
}

// closed reports whether close was called.
func (j *joiner) closed() bool { return j.n.Load()&closedBit != 0 }

// running returns how many admitted jobs are counted.
func (j *joiner) running() int64 { return j.n.Load() >> 31 & countMask }

// close makes enter fail from now on.
func (j *joiner) close() {
	for {
		v := j.n.Load()
		if v&closedBit != 0 || j.n.CompareAndSwap(v, v|closedBit) {
			return
		}
	}
}

// wait blocks until no work is left or stop is closed (a nil stop never
// is); it reports whether no work was left.
func (j *joiner) wait(stop <-chan struct{}) bool {
	j.mu.Lock()
	j.waiters.Add(1)
	defer j.waiters.Add(-1)
	if j.n.Load()&countMask == 0 {
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
