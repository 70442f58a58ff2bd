package main

import (
	"fmt"
	"math"
	"slices"

	"golang.org/x/perf/benchmath"
)

// summary is a sample's median with its 95% confidence interval, as
// benchstat computes it (no assumption about the distribution).
type summary struct {
	center, lo, hi float64
	n              int
}

func summarize(vals []float64) (summary, bool) {
	if len(vals) == 0 {
		return summary{}, false
	}
	s := benchmath.NewSample(slices.Clone(vals), &benchmath.DefaultThresholds)
	sum := benchmath.AssumeNothing.Summary(s, 0.95)
	return summary{center: sum.Center, lo: sum.Lo, hi: sum.Hi, n: len(vals)}, true
}

// pct is the half-width of the confidence interval as a percentage of the
// center, as benchstat prints it; "" if it cannot be given.
func (s summary) pct() string {
	if s.n < 2 || math.IsInf(s.lo, 0) || math.IsInf(s.hi, 0) || s.center <= 0 || s.lo <= 0 {
		return ""
	}
	return fmt.Sprintf("%.0f%%", 100*math.Max(s.hi/s.center-1, 1-s.lo/s.center))
}

// comparison is weir's median over a peer's, with the p-value of the
// Mann-Whitney U test that the two samples differ.
type comparison struct {
	ratio       float64
	p           float64
	significant bool
}

func compare(weir, peer []float64, alpha float64) (comparison, bool) {
	w, ok1 := summarize(weir)
	p, ok2 := summarize(peer)
	if !ok1 || !ok2 || p.center == 0 {
		return comparison{}, false
	}
	c := comparison{ratio: w.center / p.center, p: 1}
	if len(weir) > 1 && len(peer) > 1 {
		res := benchmath.AssumeNothing.Compare(
			benchmath.NewSample(slices.Clone(weir), &benchmath.DefaultThresholds),
			benchmath.NewSample(slices.Clone(peer), &benchmath.DefaultThresholds))
		c.p = res.P
		c.significant = res.P < alpha
	}
	return c, true
}

// String is "1.23x" when significant, "~1.02x" when not.
func (c comparison) String() string {
	s := fmtRatio(c.ratio)
	if !c.significant {
		s = "~" + s
	}
	return s
}

func fmtRatio(r float64) string {
	switch {
	case r >= 10:
		return fmt.Sprintf("%.0f×", r)
	case r >= 0.1:
		return fmt.Sprintf("%.2f×", r)
	}
	return fmt.Sprintf("%.3f×", r)
}

// format renders a value of a tidied unit for a table cell.
func format(v float64, unit string) string {
	switch unit {
	case "sec/op", "sec/acquire":
		return fmtSeconds(v)
	case "B/op", "B/queued":
		return fmtBytes(v)
	case "peak-B":
		return fmt.Sprintf("%.1f MB", v/1e6)
	case "allocs/op":
		return fmtCount(v)
	case "x-ideal":
		return fmt.Sprintf("%.3f", v)
	case "submit-ms", "drain-ms":
		return fmt.Sprintf("%.0f ms", v)
	}
	return fmt.Sprintf("%.4g", v)
}

// unitName is a unit's column header.
func unitName(unit string) string {
	switch unit {
	case "sec/op":
		return "time/op"
	case "sec/acquire":
		return "time/acquire"
	case "x-ideal":
		return "makespan/ideal"
	case "peak-B":
		return "peak memory"
	case "submit-ms":
		return "submit"
	case "drain-ms":
		return "drain"
	}
	return unit
}

func fmtSeconds(s float64) string {
	switch {
	case s >= 1:
		return fmt.Sprintf("%.3f s", s)
	case s >= 1e-3:
		return fmt.Sprintf("%.2f ms", s*1e3)
	case s >= 1e-6:
		return fmt.Sprintf("%.2f µs", s*1e6)
	}
	return fmt.Sprintf("%.1f ns", s*1e9)
}

func fmtBytes(b float64) string {
	switch {
	case b >= 1e9:
		return fmt.Sprintf("%.2f GB", b/1e9)
	case b >= 1e6:
		return fmt.Sprintf("%.2f MB", b/1e6)
	case b >= 1e4:
		return fmt.Sprintf("%.1f kB", b/1e3)
	}
	return fmt.Sprintf("%.0f B", b)
}

func fmtCount(n float64) string {
	switch {
	case n >= 1e6:
		return fmt.Sprintf("%.2fM", n/1e6)
	case n >= 1e4:
		return fmt.Sprintf("%.1fk", n/1e3)
	}
	return fmt.Sprintf("%.0f", n)
}
