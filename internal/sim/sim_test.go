package sim_test

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/weir-go/weir/internal/sim"
	"github.com/weir-go/weir/limit"
)

// callAll makes n concurrent calls and returns each one's latency and
// error, in the order they were started (one per synctest step).
func callAll(s *sim.Service, n int) ([]time.Duration, []error) {
	lat, errs := make([]time.Duration, n), make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			t := time.Now()
			errs[i] = s.Call(context.Background())
			lat[i] = time.Since(t)
		})
		synctest.Wait() // start them in order
	}
	wg.Wait()
	return lat, errs
}

func TestKneeAndQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := sim.New(2, 1, time.Second)
		lat, errs := callAll(s, 4)
		assert.Equal(t, []time.Duration{time.Second, time.Second, 2 * time.Second, 10 * time.Millisecond}, lat,
			"two served, one queued for a service time, one rejected after a hundredth of it")
		assert.NoError(t, errors.Join(errs[:3]...))
		assert.ErrorIs(t, errs[3], limit.ErrDropped)
		assert.True(t, limit.IsDrop(errs[3]))
		assert.Equal(t, sim.Stats{Peak: 4, PeakAdmitted: 3, Served: 3, Dropped: 1}, s.Stats())

		s.ResetPeak()
		assert.Equal(t, sim.Stats{Served: 3, Dropped: 1}, s.Stats())
	})
}

func TestUnboundedQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := sim.New(1, -1, time.Second)
		lat, errs := callAll(s, 3)
		assert.Equal(t, []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}, lat, "FIFO")
		assert.NoError(t, errors.Join(errs...))
	})
}

func TestSetters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := sim.New(1, 0, time.Second)
		s.SetServers(3)
		s.SetServiceTime(100 * time.Millisecond)
		s.SetRejectTime(7 * time.Millisecond)
		assert.Equal(t, int64(3), s.Servers())
		lat, errs := callAll(s, 4)
		assert.Equal(t, []time.Duration{100 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond, 7 * time.Millisecond}, lat)
		assert.ErrorIs(t, errs[3], limit.ErrDropped)

		s.SetRejectTime(0) // back to a hundredth of the service time
		s.SetQueue(1)
		lat, _ = callAll(s, 5)
		assert.Equal(t, time.Millisecond, lat[4])
		assert.Equal(t, 200*time.Millisecond, lat[3])
	})
}

func TestCanceled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := sim.New(1, 1, time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() { assert.ErrorIs(t, s.Call(ctx), context.DeadlineExceeded) })
		}
		wg.Wait()
		st := s.Stats()
		assert.Equal(t, int64(2), st.Failed)
		assert.Zero(t, st.Admitted)
		assert.Zero(t, st.InFlight)
	})
}

func TestJitter(t *testing.T) {
	run := func(spread float64, seed uint64) []time.Duration {
		var lat []time.Duration
		synctest.Test(t, func(t *testing.T) {
			s := sim.New(1, -1, 100*time.Millisecond)
			s.SetJitter(spread, seed)
			for range 200 {
				start := time.Now()
				require.NoError(t, s.Call(context.Background()))
				lat = append(lat, time.Since(start))
			}
		})
		return lat
	}
	lat := run(0.3, 1)
	lo, hi, sum := time.Duration(math.MaxInt64), time.Duration(0), time.Duration(0)
	for _, d := range lat {
		lo, hi, sum = min(lo, d), max(hi, d), sum+d
	}
	assert.GreaterOrEqual(t, lo, 70*time.Millisecond)
	assert.Less(t, lo, 75*time.Millisecond, "a spread of 0.3 reaches near 70ms")
	assert.LessOrEqual(t, hi, 130*time.Millisecond)
	assert.Greater(t, hi, 125*time.Millisecond, "a spread of 0.3 reaches near 130ms")
	assert.InDelta(t, 100*time.Millisecond, sum/time.Duration(len(lat)), float64(5*time.Millisecond))
	assert.Equal(t, lat, run(0.3, 1), "the same seed gives the same service times")
	assert.NotEqual(t, lat, run(0.3, 2))
	for _, d := range run(0, 1) {
		assert.Equal(t, 100*time.Millisecond, d)
	}

	s := sim.New(1, 0, time.Second)
	for _, bad := range []float64{-0.1, 1, math.NaN()} {
		assert.Panics(t, func() { s.SetJitter(bad, 1) }, "%v", bad)
	}
}

func TestSetServersWhileQueued(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Growing serves the queued calls at once.
		s := sim.New(2, -1, time.Second)
		var wg sync.WaitGroup
		var grown []time.Duration
		var mu sync.Mutex
		for range 4 {
			wg.Go(func() {
				start := time.Now()
				assert.NoError(t, s.Call(context.Background()))
				mu.Lock()
				grown = append(grown, time.Since(start))
				mu.Unlock()
			})
		}
		synctest.Wait()
		assert.Equal(t, int64(4), s.Stats().Admitted)
		s.SetServers(4)
		wg.Wait()
		assert.Equal(t, []time.Duration{time.Second, time.Second, time.Second, time.Second}, grown)

		// Shrinking lets the calls being served finish, and serves the
		// queue one at a time after them.
		s.SetServers(2)
		s.ResetPeak()
		var shrunk []time.Duration
		for i := range 4 {
			wg.Go(func() {
				start := time.Now()
				assert.NoError(t, s.Call(context.Background()))
				mu.Lock()
				shrunk = append(shrunk, time.Since(start))
				mu.Unlock()
			})
			synctest.Wait()
			if i == 1 {
				s.SetServers(1)
			}
		}
		wg.Wait()
		assert.Equal(t, []time.Duration{time.Second, time.Second, 2 * time.Second, 3 * time.Second}, shrunk)
		assert.Equal(t, int64(4), s.Stats().PeakAdmitted)
		assert.Equal(t, int64(1), s.Servers())
	})
}
