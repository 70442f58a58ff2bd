package limit

import (
	"fmt"
	"time"
)

// AIMD is additive-increase, multiplicative-decrease, as TCP Reno runs it:
// in slow start the limit grows by one per sample until the first drop;
// from then on it is decided once per round (as many samples as the
// limit): after a round with a drop it is multiplied by Backoff, after a
// round without one, while at least half the limit was in use, it grows by
// one. A sample slower than Timeout counts as a drop. As in TCP, the limit
// is cut at most once per round trip (the average latency of samples not
// dropped): drops that come faster than that, such as a burst of instant
// rejections, are one congestion event, not many. Make one with NewAIMD.
type AIMD struct {
	min, max int64
	backoff  float64
	timeout  time.Duration

	steady  bool // slow start is over
	r       round
	rtt     float64   // average latency of samples not dropped, seconds
	lastCut time.Time // when the limit was last cut
}

// AIMDConfig configures an AIMD controller. Zero fields take their
// defaults.
type AIMDConfig struct {
	Min, Max int64         // bounds of the limit; 1 <= Min <= Max
	Backoff  float64       // factor applied after a drop, in (0, 1); default 0.9
	Timeout  time.Duration // latency above which a sample counts as dropped; 0: none
}

// NewAIMD returns an AIMD controller, or an error if the configuration is
// invalid.
func NewAIMD(c AIMDConfig) (*AIMD, error) {
	if err := checkBounds(c.Min, c.Max); err != nil {
		return nil, err
	}
	if c.Backoff == 0 {
		c.Backoff = 0.9
	}
	if c.Backoff <= 0 || c.Backoff >= 1 {
		return nil, fmt.Errorf("%w: AIMD backoff %v is not in (0, 1)", ErrInvalidConfig, c.Backoff)
	}
	if c.Timeout < 0 {
		return nil, fmt.Errorf("%w: AIMD timeout %v is negative", ErrInvalidConfig, c.Timeout)
	}
	return &AIMD{min: c.Min, max: c.Max, backoff: c.Backoff, timeout: c.Timeout}, nil
}

// Bounds returns the controller's Min and Max.
func (a *AIMD) Bounds() (min, max int64) { return a.min, a.max }

// Observe applies one sample.
func (a *AIMD) Observe(limit int64, s Sample) (int64, string) {
	if a.timeout > 0 && s.Latency > a.timeout {
		s.Dropped = true
	}
	if !s.Dropped {
		if a.rtt == 0 {
			a.rtt = s.Latency.Seconds()
		} else {
			a.rtt += (s.Latency.Seconds() - a.rtt) / 10
		}
	}
	next, reason := limit, ""
	switch {
	case !a.steady && s.Dropped:
		a.steady = true
		next, reason = a.cut(limit), "drop"
	case !a.steady:
		if s.InFlight*2 >= limit {
			next, reason = limit+1, "slow start"
		}
	default:
		a.r.add(s)
		if !a.r.done(limit) {
			return limit, ""
		}
		switch {
		case a.r.dropped && time.Since(a.lastCut).Seconds() < a.rtt:
			// Still the congestion the last cut answered.
		case a.r.dropped:
			next, reason = a.cut(limit), "drop"
		case a.r.inUse(limit):
			next, reason = limit+1, "round without drops"
		}
		a.r = round{}
	}
	next = clamp(next, a.min, a.max)
	if next == limit {
		return limit, ""
	}
	return next, reason
}

// cut applies the backoff, always taking at least one off.
func (a *AIMD) cut(limit int64) int64 {
	a.lastCut = time.Now()
	next := int64(float64(limit) * a.backoff)
	if next == limit {
		next--
	}
	return next
}
