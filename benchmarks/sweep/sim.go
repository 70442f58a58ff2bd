package sweep

import (
	"context"
	"fmt"
	"time"

	"github.com/weir-go/weir/internal/sim"
)

// SimConfig describes a simulated service: the repository's
// internal/sim, with a capacity knee.
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
	// Do fails with an error wrapping limit.ErrDropped, as a service
	// shedding load would. 0 means no bound.
	MaxQueue int
	// Reject is how long turning a request away takes; 0 means a
	// hundredth of Service. (A closed loop against a service that
	// rejects in no time would resubmit at once, forever, when time is
	// fake.)
	Reject time.Duration
	// Speed runs the service this many times faster than real time:
	// its service and reject times are divided by Speed, and a sweep
	// measuring it must use Sim.Clock, on which time passes Speed times
	// faster, so that it reports the times above. 0 means 1.
	Speed float64
}

// Sim is a sweep workload on a simulated service with a capacity knee
// (internal/sim): Servers requests are served at once, each taking
// Service; the others wait, first in first out. Up to Servers concurrent
// requests, latency is Service and throughput grows with concurrency;
// beyond it throughput stays at Servers/Service while latency grows with
// the queue. The service keeps time with the time package, so inside a
// testing/synctest bubble it runs on fake time. Its methods are safe for
// concurrent use.
type Sim struct {
	cfg SimConfig
	svc *sim.Service
}

// NewSim makes a simulated service. Servers must be at least 1, Service
// positive, Jitter in [0, 1), MaxQueue and Reject not negative, and Speed
// not negative.
func NewSim(cfg SimConfig) (*Sim, error) {
	switch {
	case cfg.Servers < 1:
		return nil, fmt.Errorf("sweep: sim needs at least 1 server, got %d", cfg.Servers)
	case cfg.Service <= 0:
		return nil, fmt.Errorf("sweep: sim service time must be positive, got %v", cfg.Service)
	case !(cfg.Jitter >= 0 && cfg.Jitter < 1):
		return nil, fmt.Errorf("sweep: sim jitter must be in [0, 1), got %v", cfg.Jitter)
	case cfg.MaxQueue < 0:
		return nil, fmt.Errorf("sweep: sim queue bound must not be negative, got %d", cfg.MaxQueue)
	case cfg.Reject < 0:
		return nil, fmt.Errorf("sweep: sim reject time must not be negative, got %v", cfg.Reject)
	case !(cfg.Speed >= 0):
		return nil, fmt.Errorf("sweep: sim speed must not be negative, got %v", cfg.Speed)
	}
	if cfg.Speed == 0 {
		cfg.Speed = 1
	}
	queue := int64(cfg.MaxQueue)
	if queue == 0 {
		queue = -1 // no bound
	}
	scale := func(d time.Duration) time.Duration { return time.Duration(float64(d) / cfg.Speed) }
	svc := sim.New(int64(cfg.Servers), queue, scale(cfg.Service))
	svc.SetJitter(cfg.Jitter, cfg.Seed)
	if cfg.Reject > 0 {
		svc.SetRejectTime(max(scale(cfg.Reject), 1))
	}
	return &Sim{cfg: cfg, svc: svc}, nil
}

// Config returns the configuration the Sim was made with.
func (s *Sim) Config() SimConfig { return s.cfg }

// Service returns the simulated service, for its counters (Stats) and to
// change it while a sweep runs. Its times are divided by Speed.
func (s *Sim) Service() *sim.Service { return s.svc }

// Clock returns the clock to measure the service with: Real, or at a
// Speed other than 1 a Scaled clock.
func (s *Sim) Clock() Clock {
	if s.cfg.Speed == 1 {
		return Real
	}
	return Scaled(s.cfg.Speed)
}

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
// wait, it returns an error wrapping limit.ErrDropped after the Reject
// time; if ctx ends first, ctx.Err().
func (s *Sim) Do(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.svc.Call(ctx)
}
