package sweep

import (
	"strconv"

	"github.com/weir-go/weir/internal/chart"
)

// Chart returns the sweep's chart: throughput against limit, and the
// latency percentiles against limit with the SLO, the best limit marked
// on both. Draw it with its WritePNG or WriteFile.
func (r *Report) Chart() chart.Chart {
	n := len(r.Results)
	x := make([]float64, n)
	tp := make([]float64, n)
	p50, p95, p99 := make([]float64, n), make([]float64, n), make([]float64, n)
	for i, res := range r.Results {
		x[i] = float64(res.Limit)
		tp[i] = res.Throughput
		p50[i], p95[i], p99[i] = ms(res.P50), ms(res.P95), ms(res.P99)
	}
	lat := chart.Panel{
		YLabel: "latency (ms)",
		LogY:   true,
		Series: []chart.Series{
			{Name: "p50", X: x, Y: p50, Points: true},
			{Name: "p95", X: x, Y: p95, Points: true},
			{Name: "p99", X: x, Y: p99, Points: true},
		},
	}
	if r.SLO > 0 {
		lat.Lines = []chart.Mark{{Name: "SLO " + r.SLO.String(), Value: ms(r.SLO)}}
	}
	c := chart.Chart{
		Title:  "sweep: " + r.Workload,
		XLabel: "concurrency limit",
		LogX:   n > 1, // one value has no range, and gonum widens limit 1 alone to 0: not a log axis
		XTicks: x,
		Panels: []chart.Panel{
			{
				YLabel:       "throughput (req/s)",
				Series:       []chart.Series{{Name: "throughput", X: x, Y: tp, Points: true}},
				LegendBottom: true, LegendRight: true,
			},
			lat,
		},
	}
	if best, ok := r.BestResult(); ok {
		c.Marks = []chart.Mark{{Name: "best limit " + strconv.FormatInt(best.Limit, 10), Value: float64(best.Limit)}}
	}
	return c
}
