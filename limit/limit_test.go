package limit_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/weir-go/weir/limit"
)

func TestIsDrop(t *testing.T) {
	tests := []struct {
		give error
		want bool
	}{
		{give: nil, want: false},
		{give: errors.New("boom"), want: false},
		{give: context.Canceled, want: false},
		{give: context.DeadlineExceeded, want: true},
		{give: fmt.Errorf("call: %w", context.DeadlineExceeded), want: true},
		{give: fmt.Errorf("%w: 503", limit.ErrDropped), want: true},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, limit.IsDrop(tt.give), "IsDrop(%v)", tt.give)
	}
}

func TestNewAIMDRejectsBadConfig(t *testing.T) {
	for _, give := range []limit.AIMDConfig{
		{Min: 0, Max: 10},
		{Min: 5, Max: 4},
		{Min: 1, Max: 10, Backoff: 1},
		{Min: 1, Max: 10, Backoff: -0.5},
		{Min: 1, Max: 10, Timeout: -time.Second},
	} {
		_, err := limit.NewAIMD(give)
		require.ErrorIs(t, err, limit.ErrInvalidConfig, "%+v", give)
		assert.Contains(t, err.Error(), "limit:")
	}
}

// feed observes n copies of a sample, carrying the limit along.
func feed(c limit.Controller, limit0 int64, n int, s limit.Sample) (int64, string) {
	l, reason := limit0, ""
	for range n {
		var r string
		if l, r = c.Observe(l, s); r != "" {
			reason = r
		}
	}
	return l, reason
}

func TestAIMDArithmetic(t *testing.T) {
	newA := func(t *testing.T) *limit.AIMD {
		a, err := limit.NewAIMD(limit.AIMDConfig{Min: 2, Max: 40, Timeout: time.Second})
		require.NoError(t, err)
		return a
	}
	ok := func(inFlight int64) limit.Sample {
		return limit.Sample{Latency: time.Millisecond, InFlight: inFlight}
	}
	drop := limit.Sample{Dropped: true, InFlight: 10}

	t.Run("bounds", func(t *testing.T) {
		lo, hi := newA(t).Bounds()
		assert.Equal(t, []int64{2, 40}, []int64{lo, hi})
	})
	t.Run("slow start grows by one per sample in use", func(t *testing.T) {
		a := newA(t)
		got, reason := a.Observe(10, ok(5))
		assert.Equal(t, int64(11), got)
		assert.Equal(t, "slow start", reason)
		got, reason = a.Observe(11, ok(3)) // idle: no growth
		assert.Equal(t, int64(11), got)
		assert.Empty(t, reason)
	})
	t.Run("the first drop cuts at once and ends slow start", func(t *testing.T) {
		a := newA(t)
		got, reason := a.Observe(20, drop)
		assert.Equal(t, int64(18), got)
		assert.Equal(t, "drop", reason)
		// Now growth waits for a full round of 18 samples.
		got, _ = feed(a, 18, 17, ok(18))
		assert.Equal(t, int64(18), got)
		got, reason = a.Observe(18, ok(18))
		assert.Equal(t, int64(19), got)
		assert.Equal(t, "round without drops", reason)
	})
	t.Run("one cut per round however many drops", func(t *testing.T) {
		a := newA(t)
		l, _ := a.Observe(20, drop) // 18, steady
		l, _ = feed(a, l, 18, drop)
		assert.Equal(t, int64(16), l) // 18*0.9 = 16.2
	})
	t.Run("an idle round does not grow", func(t *testing.T) {
		a := newA(t)
		l, _ := a.Observe(20, drop)
		l, _ = feed(a, l, 18, ok(8))
		assert.Equal(t, int64(18), l)
	})
	t.Run("slower than Timeout is a drop", func(t *testing.T) {
		a := newA(t)
		got, reason := a.Observe(10, limit.Sample{Latency: 2 * time.Second, InFlight: 10})
		assert.Equal(t, int64(9), got)
		assert.Equal(t, "drop", reason)
	})
	t.Run("a cut always takes at least one", func(t *testing.T) {
		a := newA(t)
		got, _ := a.Observe(5, drop)
		assert.Equal(t, int64(4), got)
	})
	t.Run("bounds hold", func(t *testing.T) {
		a := newA(t)
		got, reason := a.Observe(2, drop)
		assert.Equal(t, int64(2), got)
		assert.Empty(t, reason)
		got, _ = a.Observe(40, ok(40))
		assert.Equal(t, int64(40), got)
	})
}

func TestNewGradientRejectsBadConfig(t *testing.T) {
	for _, give := range []limit.GradientConfig{
		{Min: 0, Max: 10},
		{Min: 1, Max: 10, Tolerance: 0.5},
		{Min: 1, Max: 10, Smoothing: 1.5},
		{Min: 1, Max: 10, QueueSize: -1},
		{Min: 1, Max: 10, LongWindow: -1},
	} {
		_, err := limit.NewGradient(give)
		require.ErrorIs(t, err, limit.ErrInvalidConfig, "%+v", give)
	}
}

func TestGradientArithmetic(t *testing.T) {
	newG := func(t *testing.T) *limit.Gradient {
		g, err := limit.NewGradient(limit.GradientConfig{Min: 1, Max: 1000, Smoothing: 1, QueueSize: 4, ProbeEvery: -1})
		require.NoError(t, err)
		return g
	}
	at := func(lat time.Duration, inFlight int64) limit.Sample {
		return limit.Sample{Latency: lat, InFlight: inFlight}
	}
	t.Run("decides once per round", func(t *testing.T) {
		g := newG(t)
		got, reason := feed(g, 10, 9, at(10*time.Millisecond, 10))
		assert.Equal(t, int64(10), got)
		assert.Empty(t, reason)
		got, reason = g.Observe(10, at(10*time.Millisecond, 10))
		assert.Equal(t, int64(14), got) // at baseline: grows by the queue allowance
		assert.Equal(t, "latency at baseline", reason)
	})
	t.Run("within tolerance still grows", func(t *testing.T) {
		g := newG(t)
		l, _ := feed(g, 10, 10, at(10*time.Millisecond, 10))
		got, _ := feed(g, l, int(l), at(14*time.Millisecond, l))
		assert.Equal(t, int64(18), got) // 1.5*10/14 > 1: gradient 1
	})
	t.Run("latency three times the baseline halves", func(t *testing.T) {
		g := newG(t)
		l, _ := feed(g, 10, 10, at(10*time.Millisecond, 10)) // baseline 10ms, limit 14
		got, reason := feed(g, l, int(l), at(30*time.Millisecond, l))
		// gradient = 1.5*10/30 = 0.5: 14*0.5 + 4 = 11
		assert.Equal(t, int64(11), got)
		assert.Equal(t, "latency above baseline", reason)
	})
	t.Run("the gradient never goes below one half", func(t *testing.T) {
		g := newG(t)
		l, _ := feed(g, 10, 10, at(time.Millisecond, 10))
		got, _ := feed(g, l, int(l), at(time.Second, l))
		assert.Equal(t, int64(11), got)
	})
	t.Run("a round with a drop counts as gradient one half", func(t *testing.T) {
		g := newG(t)
		got, reason := feed(g, 100, 100, limit.Sample{Dropped: true})
		assert.Equal(t, int64(54), got)
		assert.Equal(t, "drop", reason)
	})
	t.Run("an idle round is left alone", func(t *testing.T) {
		g := newG(t)
		l, _ := feed(g, 10, 10, at(10*time.Millisecond, 10))
		got, reason := feed(g, l, int(l), at(time.Second, 2))
		assert.Equal(t, l, got)
		assert.Empty(t, reason)
	})
	t.Run("bounds hold", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			g, err := limit.NewGradient(limit.GradientConfig{Min: 50, Max: 102, Smoothing: 1, ProbeEvery: -1})
			require.NoError(t, err)
			got, _ := feed(g, 100, 100, at(time.Millisecond, 100))
			assert.Equal(t, int64(102), got)
			got, _ = feed(g, 102, 102, limit.Sample{Dropped: true})
			assert.Equal(t, int64(55), got)  // 102*0.5+4
			time.Sleep(2 * time.Millisecond) // a round trip later
			got, _ = feed(g, 55, 55, limit.Sample{Dropped: true})
			assert.Equal(t, int64(50), got)
		})
	})
	t.Run("one cut per round trip", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			g, err := limit.NewGradient(limit.GradientConfig{Min: 1, Max: 1000, Smoothing: 1, ProbeEvery: -1})
			require.NoError(t, err)
			l, _ := feed(g, 100, 100, at(10*time.Millisecond, 100)) // rounds take 10ms: 104
			l, reason := feed(g, l, int(l), limit.Sample{Dropped: true})
			assert.Equal(t, int64(56), l) // 104*0.5+4
			assert.Equal(t, "drop", reason)
			// More drops within the same round trip are the same overload.
			l, reason = feed(g, l, int(l), limit.Sample{Dropped: true})
			assert.Equal(t, int64(56), l)
			assert.Empty(t, reason)
			time.Sleep(20 * time.Millisecond)
			l, _ = feed(g, l, int(l), limit.Sample{Dropped: true})
			assert.Equal(t, int64(32), l) // 56*0.5+4
		})
	})
	t.Run("smoothing moves part of the way", func(t *testing.T) {
		g, err := limit.NewGradient(limit.GradientConfig{Min: 1, Max: 1000, Smoothing: 0.5, ProbeEvery: -1})
		require.NoError(t, err)
		got, _ := feed(g, 100, 100, limit.Sample{Dropped: true})
		assert.Equal(t, int64(77), got) // 100*0.5 + (100*0.5+4)*0.5
	})
	t.Run("a limit changed from outside is taken up", func(t *testing.T) {
		g := newG(t)
		feed(g, 10, 10, at(10*time.Millisecond, 10))
		got, _ := feed(g, 20, 20, at(10*time.Millisecond, 20))
		assert.Equal(t, int64(24), got)
	})
	t.Run("the baseline rises slowly when latency stays higher", func(t *testing.T) {
		g, err := limit.NewGradient(limit.GradientConfig{Min: 1, Max: 1000, Smoothing: 1, LongWindow: 5, Tolerance: 1, ProbeEvery: -1})
		require.NoError(t, err)
		l, _ := feed(g, 10, 10, at(10*time.Millisecond, 10))
		// Latency doubles for good: first the limit is cut, then, as the
		// baseline catches up, it grows again.
		first, _ := feed(g, l, int(l), at(20*time.Millisecond, l))
		assert.Less(t, first, l)
		cur := first
		for range 30 {
			cur, _ = feed(g, cur, int(cur), at(20*time.Millisecond, cur))
		}
		assert.Greater(t, cur, first)
	})
}

func TestGradientProbe(t *testing.T) {
	g, err := limit.NewGradient(limit.GradientConfig{Min: 1, Max: 1000, Smoothing: 1, Tolerance: 1, QueueSize: 2, ProbeEvery: 3})
	require.NoError(t, err)
	at := func(lat time.Duration, inFlight int64) limit.Sample {
		return limit.Sample{Latency: lat, InFlight: inFlight}
	}
	// Started overloaded: 400 in flight see 400ms, so the first
	// baseline is 400ms and the gradient says nothing is wrong.
	l, _ := feed(g, 400, 400, at(400*time.Millisecond, 400))
	assert.Equal(t, int64(402), l)
	// The second round starts the probe: a quarter of the limit.
	l, reason := feed(g, l, int(l), at(400*time.Millisecond, l))
	assert.Equal(t, int64(100), l)
	assert.Equal(t, "probe", reason)
	// Draining takes as many samples as the old limit, at the old latency.
	l, reason = feed(g, l, 402, at(400*time.Millisecond, 100))
	assert.Equal(t, int64(100), l)
	assert.Empty(t, reason)
	// Measuring: a quarter of the limit sees 200ms. The probe returns to
	// the limit Little's law implies: 402 * 200/400 + 2 = 203.
	l, reason = feed(g, l, 100, at(200*time.Millisecond, 100))
	assert.Equal(t, int64(203), l)
	assert.Equal(t, "probe over", reason)
}

func TestGradientProbeNeedsRoom(t *testing.T) {
	g, err := limit.NewGradient(limit.GradientConfig{Min: 10, Max: 1000, Smoothing: 1, ProbeEvery: 1})
	require.NoError(t, err)
	// A limit below four times Min cannot drop to a quarter: no probe.
	_, reason := feed(g, 20, 20, limit.Sample{Latency: time.Millisecond, InFlight: 20})
	assert.NotEqual(t, "probe", reason)
}
