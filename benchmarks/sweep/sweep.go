// Package sweep finds the best concurrency limit for a workload: it runs
// the workload on a weir pool at each limit of a list, as a closed loop
// (a new request is submitted as soon as the pool admits one), and
// reports per limit the throughput, latency percentiles, errors and the
// concurrency actually reached. The best limit is the one with the
// highest throughput whose p99 latency stays within an SLO.
//
// Sim is a workload on the repository's simulated service with a
// capacity knee (internal/sim), which runs on fake time inside
// testing/synctest; Clock lets a sweep measure it on a faster clock.
// Report.Chart draws a sweep with the repository's chart package
// (internal/chart).
package sweep

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weir-go/weir/job"
	"github.com/weir-go/weir/pool"
)

// Workload is the load a sweep applies: Do makes one request.
type Workload interface {
	Do(ctx context.Context) error
}

// WorkloadFunc adapts a function to a Workload.
type WorkloadFunc func(ctx context.Context) error

// Do calls f(ctx).
func (f WorkloadFunc) Do(ctx context.Context) error { return f(ctx) }

// Config says how to sweep.
type Config struct {
	// Limits are the concurrency limits to try, in order.
	Limits []int64
	// Duration is how long each limit runs when Count is 0.
	Duration time.Duration
	// Count, when positive, is how many requests each limit runs,
	// instead of running for Duration.
	Count int
	// SLO is the p99 latency the best limit must stay within; 0 means
	// no bound.
	SLO time.Duration
	// Tolerance makes throughputs within this fraction of the highest
	// count as equal; among equals the smallest limit wins, since it
	// gets the same work done with less concurrency. 0 means exact.
	Tolerance float64
	// Clock is the time the sweep measures with; nil means Real.
	Clock Clock
	// OnStart, if set, is called before each limit runs, and OnResult
	// after, with the limit's index in Limits.
	OnStart  func(i int, limit int64)
	OnResult func(i int, r Result)
}

// Result is what one limit measured.
type Result struct {
	Limit int64
	// Requests is how many requests started within the run, and Errors
	// how many of them failed.
	Requests int
	Errors   int
	// Elapsed is the length of the run: Duration, the time Count
	// requests took, or the time until the sweep was interrupted.
	Elapsed time.Duration
	// Throughput is the successful requests completed within the run,
	// per second.
	Throughput float64
	// P50, P95, P99 and Max are latency percentiles over every request
	// that started within the run (errors included).
	P50, P95, P99, Max time.Duration
	// Peak is the most requests seen in flight at once: the limit
	// actually reached.
	Peak int64
	// Partial marks a run cut short by the sweep's ctx ending.
	Partial bool
	// Best marks the best limit of the report.
	Best bool
}

// MeetsSLO reports whether r's p99 is within slo (always, if slo is 0).
func (r Result) MeetsSLO(slo time.Duration) bool { return slo <= 0 || r.P99 <= slo }

// Report is a whole sweep.
type Report struct {
	Workload string
	Limits   []int64
	Duration time.Duration
	Count    int
	SLO      time.Duration
	Started  time.Time
	Results  []Result
	// Best is the index in Results of the best limit, or -1 if no
	// complete run with a throughput above zero met the SLO.
	Best int
	// Interrupted is set when the sweep's ctx ended before every limit
	// ran.
	Interrupted bool
}

// BestResult returns the best limit's result, if there is one.
func (r *Report) BestResult() (Result, bool) {
	if r.Best < 0 || r.Best >= len(r.Results) {
		return Result{}, false
	}
	return r.Results[r.Best], true
}

// Run sweeps w over cfg.Limits. If ctx ends, Run stops, marks the run it
// was in as Partial and returns the report so far with ctx.Err(). It
// returns an error without a report for a bad Config.
func Run(ctx context.Context, w Workload, cfg Config) (*Report, error) {
	if len(cfg.Limits) == 0 {
		return nil, errors.New("sweep: no limits")
	}
	for _, l := range cfg.Limits {
		if l < 1 {
			return nil, fmt.Errorf("sweep: limit %d is below 1", l)
		}
	}
	if cfg.Count <= 0 && cfg.Duration <= 0 {
		return nil, errors.New("sweep: need a positive Duration or Count")
	}
	if cfg.Tolerance < 0 || cfg.Tolerance >= 1 {
		return nil, fmt.Errorf("sweep: tolerance %v is outside [0, 1)", cfg.Tolerance)
	}
	if cfg.Clock == nil {
		cfg.Clock = Real
	}
	rep := &Report{
		Workload: describe(w),
		Limits:   slices.Clone(cfg.Limits),
		Duration: cfg.Duration,
		Count:    max(cfg.Count, 0),
		SLO:      cfg.SLO,
		Started:  cfg.Clock.Now(),
		Best:     -1,
	}
	if rep.Count > 0 {
		rep.Duration = 0
	}
	for i, limit := range cfg.Limits {
		if ctx.Err() != nil {
			rep.Interrupted = true
			break
		}
		if cfg.OnStart != nil {
			cfg.OnStart(i, limit)
		}
		r, err := runLimit(ctx, w, limit, cfg)
		if err != nil {
			return rep, err
		}
		rep.Results = append(rep.Results, r)
		if cfg.OnResult != nil {
			cfg.OnResult(i, r)
		}
		if r.Partial {
			rep.Interrupted = true
			break
		}
	}
	rep.Best = Best(rep.Results, cfg.SLO, cfg.Tolerance)
	if rep.Best >= 0 {
		rep.Results[rep.Best].Best = true
	}
	if rep.Interrupted {
		return rep, ctx.Err()
	}
	return rep, nil
}

// Best returns the index of the best result: among complete results with
// a throughput above zero whose p99 is within slo, the one with the
// highest throughput, where throughputs within tolerance (a fraction) of
// the highest are equal and the smallest limit wins among equals. It
// returns -1 if no result qualifies.
func Best(results []Result, slo time.Duration, tolerance float64) int {
	ok := func(r Result) bool { return !r.Partial && r.Throughput > 0 && r.MeetsSLO(slo) }
	top := 0.0
	for _, r := range results {
		if ok(r) {
			top = max(top, r.Throughput)
		}
	}
	best := -1
	for i, r := range results {
		if ok(r) && r.Throughput >= top*(1-tolerance) && (best < 0 || r.Limit < results[best].Limit) {
			best = i
		}
	}
	return best
}

func describe(w Workload) string {
	if s, ok := w.(fmt.Stringer); ok {
		return s.String()
	}
	return fmt.Sprintf("%T", w)
}

// recorder collects what the requests of one run measured.
type recorder struct {
	mu        sync.Mutex
	latencies []time.Duration
	errors    int
	completed int // successes that finished within the run

	inFlight, peak atomic.Int64
}

func (rc *recorder) enter() {
	n := rc.inFlight.Add(1)
	for {
		p := rc.peak.Load()
		if n <= p || rc.peak.CompareAndSwap(p, n) {
			return
		}
	}
}

func (rc *recorder) leave(lat time.Duration, err error, inRun bool) {
	rc.inFlight.Add(-1)
	rc.mu.Lock()
	rc.latencies = append(rc.latencies, lat)
	if err != nil {
		rc.errors++
	} else if inRun {
		rc.completed++
	}
	rc.mu.Unlock()
}

// runLimit runs w in a closed loop on a fresh weir pool of the given limit.
func runLimit(ctx context.Context, w Workload, limit int64, cfg Config) (Result, error) {
	p, err := pool.New(limit, pool.WithName(fmt.Sprintf("sweep-%d", limit)))
	if err != nil {
		return Result{}, err
	}
	clock := cfg.Clock
	rc := &recorder{}
	start := clock.Now()
	end := start.Add(cfg.Duration) // used only when Count is 0
	timed := cfg.Count <= 0
	j := job.Func(func(jctx context.Context) error {
		t0 := clock.Now()
		if timed && !t0.Before(end) {
			return nil // admitted after the run: not part of it
		}
		rc.enter()
		err := w.Do(jctx)
		t1 := clock.Now()
		rc.leave(t1.Sub(t0), err, !timed || !t1.After(end))
		return nil
	})
	submitted := 0
	for ctx.Err() == nil {
		if timed && !clock.Now().Before(end) || !timed && submitted == cfg.Count {
			break
		}
		if _, err := p.Submit(ctx, j); err != nil {
			break // ctx ended
		}
		submitted++
	}
	stopped := clock.Now()
	p.Wait()
	finished := clock.Now()
	_ = p.Close()

	r := Result{Limit: limit, Peak: rc.peak.Load(), Partial: ctx.Err() != nil}
	switch {
	case r.Partial:
		r.Elapsed = stopped.Sub(start)
		if timed {
			r.Elapsed = min(r.Elapsed, cfg.Duration)
		}
	case timed:
		r.Elapsed = cfg.Duration
	default:
		r.Elapsed = finished.Sub(start)
	}
	r.Requests = len(rc.latencies)
	r.Errors = rc.errors
	if r.Elapsed > 0 {
		r.Throughput = float64(rc.completed) / r.Elapsed.Seconds()
	}
	slices.Sort(rc.latencies)
	r.P50 = percentile(rc.latencies, 0.50)
	r.P95 = percentile(rc.latencies, 0.95)
	r.P99 = percentile(rc.latencies, 0.99)
	if n := len(rc.latencies); n > 0 {
		r.Max = rc.latencies[n-1]
	}
	return r, nil
}

// percentile returns the nearest-rank q-quantile of sorted.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
