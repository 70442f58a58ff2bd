package sim

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// jitter draws the service time of each call.
type jitter struct {
	mu     sync.Mutex
	spread float64 // 0: none
	rng    *rand.Rand
}

// SetJitter spreads each call's service time uniformly over
// ServiceTime*(1±spread), drawn from a generator seeded with seed, so
// that a run whose calls start in the same order (as in a
// testing/synctest bubble) is repeatable. 0 turns jitter off, the
// default. It panics if spread is not in [0, 1).
func (s *Service) SetJitter(spread float64, seed uint64) {
	if !(spread >= 0 && spread < 1) {
		panic(fmt.Sprintf("sim: jitter %v is not in [0, 1)", spread))
	}
	s.jitter.mu.Lock()
	defer s.jitter.mu.Unlock()
	s.jitter.spread = spread
	s.jitter.rng = rand.New(rand.NewPCG(seed, 0x5eed))
}

// serviceTime is how long the next call takes on its server.
func (s *Service) serviceTime() time.Duration {
	d := time.Duration(s.service.Load())
	s.jitter.mu.Lock()
	defer s.jitter.mu.Unlock()
	if s.jitter.spread == 0 {
		return d
	}
	return time.Duration(float64(d) * (1 + s.jitter.spread*(2*s.jitter.rng.Float64()-1)))
}
