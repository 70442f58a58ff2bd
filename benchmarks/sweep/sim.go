package sweep

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// ErrOverloaded is returned by Sim.Do when the simulated service's queue
// is full.
var ErrOverloaded = errors.New("sweep: simulated service overloaded")

// SimConfig describes a simulated service.
type SimConfig struct {
	// Servers is how many requests the service works on at once (c).
	Servers int
	// Service is the time one request takes on a server (s).
	Service time.Duration
	// Jitter spreads each request's service time uniformly over
	// Service*(1±Jitter); 0 makes every request take Service exactly.
	Jitter float64
	// Seed seeds the jitter.
	Seed uint64
	// MaxQueue bounds how many requests may wait for a server; beyond it
	// Do fails with ErrOverloaded, as a service shedding load would. 0
	// means no bound.
	MaxQueue int
	// Reject is how long turning a request away takes (0: no time at
	// all). A closed loop against a service that rejects in no time
	// resubmits at once, forever, when time is fake (synctest): give it
	// a little.
	Reject time.Duration
	// Clock is the time the service runs on; nil means Real.
	Clock Clock
}

// Sim is a simulated service with a capacity knee: Servers requests are
// served at once, each taking Service; the others wait, first in first
// out. Up to Servers concurrent requests, latency is Service and
// throughput grows with concurrency; beyond it throughput stays at
// Servers/Service while latency grows with the queue. Its methods are
// safe for concurrent use.
type Sim struct {
	cfg   SimConfig
	clock Clock

	mu    sync.Mutex
	busy  int             // servers in use
	queue []chan struct{} // waiting requests, oldest first; closed to hand over a server
	rng   *rand.Rand
}

// NewSim makes a simulated service. Servers must be at least 1, Service
// positive, Jitter in [0, 1) and MaxQueue not negative.
func NewSim(cfg SimConfig) (*Sim, error) {
	switch {
	case cfg.Servers < 1:
		return nil, fmt.Errorf("sweep: sim needs at least 1 server, got %d", cfg.Servers)
	case cfg.Service <= 0:
		return nil, fmt.Errorf("sweep: sim service time must be positive, got %v", cfg.Service)
	case cfg.Jitter < 0 || cfg.Jitter >= 1:
		return nil, fmt.Errorf("sweep: sim jitter must be in [0, 1), got %v", cfg.Jitter)
	case cfg.MaxQueue < 0:
		return nil, fmt.Errorf("sweep: sim queue bound must not be negative, got %d", cfg.MaxQueue)
	case cfg.Reject < 0:
		return nil, fmt.Errorf("sweep: sim reject time must not be negative, got %v", cfg.Reject)
	}
	s := &Sim{
		cfg:   cfg,
		clock: cfg.Clock,
		rng:   rand.New(rand.NewPCG(cfg.Seed, 0x5eed)),
	}
	if s.clock == nil {
		s.clock = Real
	}
	return s, nil
}

// Config returns the configuration the Sim was made with.
func (s *Sim) Config() SimConfig { return s.cfg }

// Capacity returns the most requests per second the service completes:
// Servers/Service.
func (s *Sim) Capacity() float64 {
	return float64(s.cfg.Servers) / s.cfg.Service.Seconds()
}

// String describes the service, as "sim(c=16, s=20ms)".
func (s *Sim) String() string {
	str := fmt.Sprintf("sim(c=%d, s=%v", s.cfg.Servers, s.cfg.Service)
	if s.cfg.Jitter > 0 {
		str += fmt.Sprintf(", jitter=%g", s.cfg.Jitter)
	}
	if s.cfg.MaxQueue > 0 {
		str += fmt.Sprintf(", queue=%d", s.cfg.MaxQueue)
	}
	return str + ")"
}

// Do serves one request: it waits for a server, first in first out, holds
// it for the service time and returns nil. When MaxQueue requests already
// wait, it returns ErrOverloaded after the Reject time; if ctx ends first,
// ctx.Err().
func (s *Sim) Do(ctx context.Context) error {
	if err := s.acquire(ctx); err != nil {
		return err
	}
	defer s.release()
	return s.clock.Sleep(ctx, s.serviceTime())
}

// acquire takes a server, waiting in line for one if all are busy.
func (s *Sim) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.busy < s.cfg.Servers {
		s.busy++
		s.mu.Unlock()
		return nil
	}
	if s.cfg.MaxQueue > 0 && len(s.queue) >= s.cfg.MaxQueue {
		s.mu.Unlock()
		if err := s.clock.Sleep(ctx, s.cfg.Reject); err != nil {
			return err
		}
		return ErrOverloaded
	}
	ready := make(chan struct{})
	s.queue = append(s.queue, ready)
	s.mu.Unlock()
	select {
	case <-ready:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		defer s.mu.Unlock()
		if i := slices.Index(s.queue, ready); i >= 0 {
			s.queue = slices.Delete(s.queue, i, i+1)
			return ctx.Err()
		}
		// A server was handed over as ctx ended: pass it on.
		s.handOver()
		return ctx.Err()
	}
}

// release gives a server back, straight to the oldest waiter if any.
func (s *Sim) release() {
	s.mu.Lock()
	s.handOver()
	s.mu.Unlock()
}

// handOver gives the server of a finished request to the oldest waiter,
// or frees it. s.mu is held.
func (s *Sim) handOver() {
	if len(s.queue) == 0 {
		s.busy--
		return
	}
	close(s.queue[0])
	s.queue[0] = nil
	s.queue = s.queue[1:]
}

func (s *Sim) serviceTime() time.Duration {
	if s.cfg.Jitter == 0 {
		return s.cfg.Service
	}
	s.mu.Lock()
	f := 1 + s.cfg.Jitter*(2*s.rng.Float64()-1)
	s.mu.Unlock()
	return time.Duration(float64(s.cfg.Service) * f)
}
