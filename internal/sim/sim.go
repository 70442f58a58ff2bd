// Package sim is a simulated dependency with a capacity knee, for tests
// and tools that study concurrency limits: Servers calls are served at
// once, each taking ServiceTime; up to Queue more wait their turn in FIFO
// order; beyond that a call is rejected, after a hundredth of the service
// time (a real server takes a moment to say no, and a rejection that took
// no time at all would let callers spin without the clock moving), with an
// error wrapping limit.ErrDropped. Below the knee (Servers concurrent
// calls) latency is ServiceTime and throughput grows with concurrency;
// above it throughput stays at Servers/ServiceTime and latency grows with
// the queue.
//
// SetJitter spreads the service time (by default every call takes
// exactly ServiceTime), and SetRejectTime sets how long a rejection takes.
//
// It keeps time with the time package, so inside a testing/synctest
// bubble it runs on the bubble's fake clock: exact and fast.
package sim

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weir-go/weir/limit"
)

// Service is a simulated dependency. Its methods are safe for concurrent
// use.
type Service struct {
	mu      sync.Mutex
	servers int64           // capacity
	busy    int64           // servers in use; above servers after a shrink until calls finish
	waiters []chan struct{} // queued calls, oldest first; closed to hand over a server

	queue   atomic.Int64 // calls allowed to wait
	service atomic.Int64 // time.Duration
	reject  atomic.Int64 // time.Duration; 0: a hundredth of the service time
	jitter  jitter

	inFlight, peak          atomic.Int64
	admitted, admittedPeak  atomic.Int64 // calls served or queued; changed under mu
	served, dropped, failed atomic.Int64
}

// New returns a service with the given number of servers, queue length and
// service time. A negative queue means no bound.
func New(servers, queue int64, service time.Duration) *Service {
	s := &Service{servers: servers}
	s.queue.Store(queue)
	s.service.Store(int64(service))
	return s
}

// Call makes one call. It returns ctx.Err() if ctx ends first, and an
// error wrapping limit.ErrDropped if the queue is full.
func (s *Service) Call(ctx context.Context) error {
	raise(&s.peak, s.inFlight.Add(1))
	defer s.inFlight.Add(-1)
	s.mu.Lock()
	var ready chan struct{}
	switch {
	case s.busy < s.servers && len(s.waiters) == 0:
		s.busy++
	case s.queue.Load() >= 0 && int64(len(s.waiters)) >= s.queue.Load():
		s.mu.Unlock()
		s.dropped.Add(1)
		if err := sleep(ctx, s.rejectTime()); err != nil {
			return err
		}
		return fmt.Errorf("%w: sim: queue full", limit.ErrDropped)
	default:
		ready = make(chan struct{})
		s.waiters = append(s.waiters, ready)
	}
	raise(&s.admittedPeak, s.admitted.Add(1))
	s.mu.Unlock()
	if ready != nil {
		if err := s.wait(ctx, ready); err != nil {
			s.failed.Add(1)
			return err
		}
	}
	defer s.release()
	if err := sleep(ctx, s.serviceTime()); err != nil {
		s.failed.Add(1)
		return err
	}
	s.served.Add(1)
	return nil
}

// wait waits in the queue until a server is handed over or ctx ends.
func (s *Service) wait(ctx context.Context, ready chan struct{}) error {
	select {
	case <-ready:
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.admitted.Add(-1)
	if i := slices.Index(s.waiters, ready); i >= 0 {
		s.waiters = slices.Delete(s.waiters, i, i+1)
	} else {
		s.handOver() // a server was handed over as ctx ended: pass it on
	}
	return ctx.Err()
}

// release gives a server back.
func (s *Service) release() {
	s.mu.Lock()
	s.admitted.Add(-1)
	s.handOver()
	s.mu.Unlock()
}

// handOver gives the server of a finished call to the oldest waiter, or
// frees it; after a shrink, it frees it until the busy servers fit. s.mu
// is held.
func (s *Service) handOver() {
	if s.busy > s.servers || len(s.waiters) == 0 {
		s.busy--
		return
	}
	close(s.waiters[0])
	s.waiters[0] = nil
	s.waiters = s.waiters[1:]
}

// raise makes peak at least n.
func raise(peak *atomic.Int64, n int64) {
	for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
	}
}

// rejectTime is how long turning a call away takes.
func (s *Service) rejectTime() time.Duration {
	if d := s.reject.Load(); d > 0 {
		return time.Duration(d)
	}
	return time.Duration(s.service.Load()) / 100
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// SetServers changes the capacity while calls run. Growing serves
// queued calls at once, oldest first; shrinking stops no call being
// served, but serves no more until fewer than n are.
func (s *Service) SetServers(n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.servers = n
	for s.busy < s.servers && len(s.waiters) > 0 {
		s.busy++
		close(s.waiters[0])
		s.waiters[0] = nil
		s.waiters = s.waiters[1:]
	}
}

// SetQueue changes how many calls may wait; negative means no bound.
func (s *Service) SetQueue(n int64) { s.queue.Store(n) }

// SetServiceTime changes how long each call takes from now on.
func (s *Service) SetServiceTime(d time.Duration) { s.service.Store(int64(d)) }

// SetRejectTime changes how long turning a call away takes; d <= 0
// restores the default, a hundredth of the service time. Keep it above
// zero: a closed loop against a service that rejects in no time spins
// without the clock moving.
func (s *Service) SetRejectTime(d time.Duration) { s.reject.Store(int64(max(d, 0))) }

// Servers returns the current capacity: the knee.
func (s *Service) Servers() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.servers
}

// Stats are a service's counters.
type Stats struct {
	// InFlight is the calls in Call now, those being rejected included,
	// and Peak the most there were at once.
	InFlight, Peak int64
	// Admitted is the calls being served or waiting in the queue now,
	// and PeakAdmitted the most there were at once: at most the largest
	// Servers plus Queue the service has had.
	Admitted, PeakAdmitted int64
	// Served counts the calls that completed, Dropped those rejected
	// because the queue was full, Failed those whose ctx ended first
	// (a call whose ctx ends while it is being rejected is Dropped).
	Served, Dropped, Failed int64
}

// Stats returns the service's counters.
func (s *Service) Stats() Stats {
	return Stats{
		InFlight: s.inFlight.Load(), Peak: s.peak.Load(),
		Admitted: s.admitted.Load(), PeakAdmitted: s.admittedPeak.Load(),
		Served: s.served.Load(), Dropped: s.dropped.Load(), Failed: s.failed.Load(),
	}
}

// ResetPeak forgets the peaks, so that a new phase can measure its own.
func (s *Service) ResetPeak() {
	s.peak.Store(s.inFlight.Load())
	s.admittedPeak.Store(s.admitted.Load())
}
