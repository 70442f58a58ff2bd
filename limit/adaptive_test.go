package limit_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/weir-go/weir/internal/sim"
	"github.com/weir-go/weir/job"
	"github.com/weir-go/weir/limit"
	"github.com/weir-go/weir/pool"
)

// phase is one stretch of simulated time at a fixed capacity.
type phase struct {
	servers int64
	length  time.Duration
}

// trace drives a pool with an adaptive limit against the simulated
// service from many closed-loop clients, inside a synctest bubble, and
// returns the pool's limit sampled every 100ms of simulated time in each
// phase.
func trace(t *testing.T, ctrl limit.Controller, start int64, queue int64, phases []phase) [][]int64 {
	t.Helper()
	const clients = 600
	var limits [][]int64
	synctest.Test(t, func(t *testing.T) {
		svc := sim.New(phases[0].servers, queue, 100*time.Millisecond)
		p, err := pool.New(start, pool.WithAdaptiveLimit(ctrl))
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		call := job.Func(svc.Call)
		var wg sync.WaitGroup
		for range clients {
			wg.Go(func() {
				for ctx.Err() == nil {
					_ = p.Do(ctx, call)
				}
			})
		}
		for _, ph := range phases {
			svc.SetServers(ph.servers)
			var got []int64
			for range ph.length / (100 * time.Millisecond) {
				time.Sleep(100 * time.Millisecond)
				got = append(got, p.Limit())
			}
			limits = append(limits, got)
		}
		cancel()
		wg.Wait()
		require.NoError(t, p.Close())
	})
	return limits
}

// settled checks the last quarter of a phase: the limit never goes above
// 120% of the knee, and its median is within 20% of it; without probes
// (AIMD) it also never falls below 80%. Gradient's probes drop the limit
// to a quarter for two rounds on purpose, so its low points are probes.
func settled(t *testing.T, name string, knee int64, got []int64, probes bool) {
	t.Helper()
	tail := slices.Clone(got[len(got)*3/4:])
	slices.Sort(tail)
	lo, med, hi := tail[0], tail[len(tail)/2], tail[len(tail)-1]
	if testing.Verbose() && os.Getenv("WEIR_TRACE") != "" {
		t.Logf("%s trace: %v", name, got)
	}
	t.Logf("%s: knee %d, last quarter min %d (%.2fx), median %d (%.2fx), max %d (%.2fx)", name, knee,
		lo, float64(lo)/float64(knee), med, float64(med)/float64(knee), hi, float64(hi)/float64(knee))
	assert.LessOrEqual(t, float64(hi), 1.2*float64(knee), "%s: limit rose above 120%% of the knee", name)
	assert.InDelta(t, float64(knee), float64(med), 0.2*float64(knee), "%s: median not within 20%% of the knee", name)
	if !probes {
		assert.GreaterOrEqual(t, float64(lo), 0.8*float64(knee), "%s: limit fell below 80%% of the knee", name)
	}
}

func TestAdaptiveSettlesAtTheKnee(t *testing.T) {
	aimd := func(t *testing.T) limit.Controller {
		c, err := limit.NewAIMD(limit.AIMDConfig{Min: 1, Max: 1000})
		require.NoError(t, err)
		return c
	}
	gradient := func(t *testing.T) limit.Controller {
		c, err := limit.NewGradient(limit.GradientConfig{Min: 1, Max: 1000, Tolerance: 1, QueueSize: 2, Smoothing: 0.5})
		require.NoError(t, err)
		return c
	}
	tests := []struct {
		name  string
		ctrl  func(t *testing.T) limit.Controller
		queue int64 // the service's queue: AIMD needs drops, Gradient reads latency
		probe bool
	}{
		{name: "aimd", ctrl: aimd, queue: 2},
		{name: "gradient", ctrl: gradient, queue: -1, probe: true},
	}
	for _, tt := range tests {
		for _, start := range []int64{1, 500} {
			t.Run(fmt.Sprintf("%s/start=%d", tt.name, start), func(t *testing.T) {
				// 30s at 50 servers, then capacity halves, then doubles.
				got := trace(t, tt.ctrl(t), start, tt.queue, []phase{
					{servers: 50, length: 30 * time.Second},
					{servers: 25, length: 30 * time.Second},
					{servers: 100, length: 30 * time.Second},
				})
				settled(t, "50 servers", 50, got[0], tt.probe)
				settled(t, "halved to 25", 25, got[1], tt.probe)
				settled(t, "doubled to 100", 100, got[2], tt.probe)
			})
		}
	}
}
