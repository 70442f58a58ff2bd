package limit

import (
	"fmt"
	"math"
	"time"
)

// Gradient is a latency-gradient controller in the style of Netflix's
// Gradient2. Once per round (as many samples as the limit, about one round
// trip of the work in flight) it compares the round's average latency
// with a long-term baseline:
//
//	gradient = clamp(Tolerance * baseline / average, 0.5, 1)
//
// which is 1 while latency stays within Tolerance of the baseline and
// falls as a queue builds; a round with a drop counts as gradient 0.5, at
// most once per round trip. The
// new limit is limit*gradient plus a queue allowance of QueueSize,
// smoothed by Smoothing. The limit settles where latency is about
// Tolerance times the baseline, less the queue allowance: with the default
// Tolerance of 1.5 that is a queue at the dependency of about half its
// capacity, which absorbs noisy latency; a Tolerance near 1 settles near the
// knee itself, but only where latency is steady (noise above the baseline
// then reads as queueing and the limit falls below the knee).
//
// The baseline is the latency without load. Gradient2 keeps it as a long
// average, which drifts upward while an overload lasts, so the limit
// creeps up with it; and a controller that starts overloaded never sees
// the latency without load at all. Here the baseline is the lowest round
// average seen, allowed to rise by 1/LongWindow of itself per round (so
// it follows a dependency that has become slower for good), and it is
// measured afresh by a probe, as TCP BBR probes its minimum round trip:
// after the second round and then every ProbeEvery rounds, the limit
// drops to a quarter until the jobs started before have drained, stays
// there for one round to measure, and then returns to the limit the fresh baseline implies (the
// limit times baseline/latency, by Little's law, plus the queue
// allowance), so that a controller started far above the knee comes down
// in a few probes. Make one with NewGradient.
type Gradient struct {
	min, max  int64
	tolerance float64
	smoothing float64
	queue     float64
	long      int

	probeEvery int

	estimate float64 // the limit as a real number, so smoothing works
	base     float64 // baseline latency, seconds; 0 until the first round
	r        round
	rounds   int       // rounds since the last probe
	probe    int       // 0: none; 1: draining; 2: measuring
	saved    int64     // the limit to return to after a probe
	last     float64   // average latency of the last round before a probe
	lastDrop time.Time // when a drop last cut the limit
}

// GradientConfig configures a Gradient controller. Zero fields take their
// defaults.
type GradientConfig struct {
	Min, Max   int64   // bounds of the limit; 1 <= Min <= Max
	Tolerance  float64 // latency up to Tolerance*baseline is not queueing; >= 1, default 1.5
	Smoothing  float64 // weight of each round's estimate, in (0, 1]; default 0.2
	QueueSize  float64 // queue allowed at the dependency, in jobs; default 4
	LongWindow int     // rounds over which the baseline may rise by e; default 1000
	ProbeEvery int     // rounds between probes of the baseline; default 16, negative: never probe
}

// NewGradient returns a Gradient controller, or an error if the
// configuration is invalid.
func NewGradient(c GradientConfig) (*Gradient, error) {
	if err := checkBounds(c.Min, c.Max); err != nil {
		return nil, err
	}
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Tolerance, 1.5)
	def(&c.Smoothing, 0.2)
	def(&c.QueueSize, 4)
	if c.LongWindow == 0 {
		c.LongWindow = 1000
	}
	if c.ProbeEvery == 0 {
		c.ProbeEvery = 16
	}
	switch {
	case c.Tolerance < 1:
		return nil, fmt.Errorf("%w: Gradient tolerance %v is below 1", ErrInvalidConfig, c.Tolerance)
	case c.Smoothing <= 0 || c.Smoothing > 1:
		return nil, fmt.Errorf("%w: Gradient smoothing %v is not in (0, 1]", ErrInvalidConfig, c.Smoothing)
	case c.QueueSize < 0:
		return nil, fmt.Errorf("%w: Gradient queue size %v is negative", ErrInvalidConfig, c.QueueSize)
	case c.LongWindow < 1:
		return nil, fmt.Errorf("%w: Gradient long window %d is below 1", ErrInvalidConfig, c.LongWindow)
	}
	return &Gradient{
		min: c.Min, max: c.Max,
		tolerance: c.Tolerance, smoothing: c.Smoothing, queue: c.QueueSize,
		long: c.LongWindow, probeEvery: c.ProbeEvery,
		rounds: c.ProbeEvery - 2, // first probe after two rounds
	}, nil
}

// Bounds returns the controller's Min and Max.
func (g *Gradient) Bounds() (min, max int64) { return g.min, g.max }

// Observe applies one sample.
func (g *Gradient) Observe(limit int64, s Sample) (int64, string) {
	g.r.add(s)
	need := limit
	if g.probe == 1 {
		need = g.saved // drain every job started under the old limit
	}
	if !g.r.done(need) {
		return limit, ""
	}
	r := g.r
	g.r = round{}
	switch g.probe {
	case 1: // drained; measure the next round
		g.probe = 2
		return limit, ""
	case 2: // measured: the latency at a quarter of the limit
		g.probe = 0
		if r.ok > 0 {
			avg := max(r.sum/float64(r.ok), time.Nanosecond.Seconds())
			g.base = min(g.base, avg)
			if g.base == 0 {
				g.base = avg
			}
		}
		// Return from the probe straight to the limit the new baseline
		// implies: by Little's law the throughput was saved/last, and
		// at the baseline latency that throughput needs
		// saved*base/last jobs in flight, plus the queue allowance.
		next := float64(g.saved)
		if g.last > 0 && g.base > 0 {
			next = next*min(1, g.tolerance*g.base/g.last) + g.queue
		}
		g.estimate = max(float64(g.min), min(next, float64(g.max)))
		n := clamp(int64(math.Round(g.estimate)), g.min, g.max)
		return n, "probe over"
	}
	if r.ok > 0 {
		g.last = r.sum / float64(r.ok)
	}
	if g.rounds++; g.probeEvery > 0 && g.rounds >= g.probeEvery && limit >= 4*g.min {
		g.rounds, g.probe, g.saved = 0, 1, limit
		return max(g.min, limit/4), "probe"
	}
	if int64(math.Round(g.estimate)) != limit {
		g.estimate = float64(limit) // new, or resized from outside
	}
	gradient, reason := 0.5, "drop"
	if r.dropped {
		// One cut per round trip, as in AIMD: drops that follow a cut
		// within the latency of the last round are the same overload.
		if time.Since(g.lastDrop).Seconds() < g.last {
			return limit, ""
		}
		g.lastDrop = time.Now()
	}
	if r.ok > 0 {
		avg := max(r.sum/float64(r.ok), time.Nanosecond.Seconds())
		if g.base == 0 {
			g.base = avg
		} else {
			g.base = min(avg, g.base*(1+1/float64(g.long)))
		}
		if !r.dropped {
			if !r.inUse(limit) {
				return limit, ""
			}
			gradient = max(0.5, min(1, g.tolerance*g.base/avg))
			reason = "latency above baseline"
			if gradient == 1 {
				reason = "latency at baseline"
			}
		}
	}
	next := g.estimate*gradient + g.queue
	next = g.estimate*(1-g.smoothing) + next*g.smoothing
	g.estimate = max(float64(g.min), min(next, float64(g.max)))
	n := clamp(int64(math.Round(g.estimate)), g.min, g.max)
	if n == limit {
		return limit, ""
	}
	return n, reason
}
