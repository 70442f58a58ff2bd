// Package sim is a simulated dependency with a capacity knee, for tests
// and tools that study concurrency limits: Servers calls are served at
// once, each taking ServiceTime; up to Queue more wait their turn in FIFO
// order; beyond that a call is rejected, after a hundredth of the service
// time (a real server takes a moment to say no, and a rejection that took
// no time at all would let callers spin without the clock moving), with an
// error wrapping limit.ErrDropped. Below the knee (Servers concurrent calls) latency is
// ServiceTime and throughput grows with concurrency; above it throughput
// stays at Servers/ServiceTime and latency grows with the queue.
//
// It keeps time with the time package, so inside a testing/synctest
// bubble it runs on the bubble's fake clock: exact and fast.
package sim

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/weir-go/weir/limit"
	"github.com/weir-go/weir/semaphore"
)

// Service is a simulated dependency. Its methods are safe for concurrent
// use.
type Service struct {
	servers *semaphore.Weighted
	queue   atomic.Int64 // calls allowed to wait
	waiting atomic.Int64
	service atomic.Int64 // time.Duration

	inFlight, peak          atomic.Int64
	served, dropped, failed atomic.Int64
}

// New returns a service with the given number of servers, queue length and
// service time. A negative queue means no bound.
func New(servers, queue int64, service time.Duration) *Service {
	s := &Service{servers: semaphore.NewWeighted(servers)}
	s.queue.Store(queue)
	s.service.Store(int64(service))
	return s
}

// Call makes one call. It returns ctx.Err() if ctx ends first, and an
// error wrapping limit.ErrDropped if the queue is full.
func (s *Service) Call(ctx context.Context) error {
	now := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for p := s.peak.Load(); now > p && !s.peak.CompareAndSwap(p, now); p = s.peak.Load() {
	}
	if !s.servers.TryAcquire(1) {
		q := s.queue.Load()
		if n := s.waiting.Add(1); q >= 0 && n > q {
			s.waiting.Add(-1)
			s.dropped.Add(1)
			if err := sleep(ctx, time.Duration(s.service.Load())/100); err != nil {
				return err
			}
			return fmt.Errorf("%w: sim: queue full", limit.ErrDropped)
		}
		err := s.servers.Acquire(ctx, 1)
		s.waiting.Add(-1)
		if err != nil {
			s.failed.Add(1)
			return err
		}
	}
	defer s.servers.Release(1)
	if err := sleep(ctx, time.Duration(s.service.Load())); err != nil {
		s.failed.Add(1)
		return err
	}
	s.served.Add(1)
	return nil
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

// SetServers changes the capacity while calls run.
func (s *Service) SetServers(n int64) { s.servers.Resize(n) }

// SetQueue changes how many calls may wait; negative means no bound.
func (s *Service) SetQueue(n int64) { s.queue.Store(n) }

// SetServiceTime changes how long each call takes from now on.
func (s *Service) SetServiceTime(d time.Duration) { s.service.Store(int64(d)) }

// Servers returns the current capacity: the knee.
func (s *Service) Servers() int64 { return s.servers.Size() }

// Stats are a service's counters.
type Stats struct {
	InFlight, Peak          int64
	Served, Dropped, Failed int64
}

// Stats returns the service's counters.
func (s *Service) Stats() Stats {
	return Stats{
		InFlight: s.inFlight.Load(), Peak: s.peak.Load(),
		Served: s.served.Load(), Dropped: s.dropped.Load(), Failed: s.failed.Load(),
	}
}

// ResetPeak forgets the peak, so that a new phase can measure its own.
func (s *Service) ResetPeak() { s.peak.Store(s.inFlight.Load()) }
