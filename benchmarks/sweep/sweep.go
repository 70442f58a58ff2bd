// Package sweep finds the best concurrency limit for a workload: it runs
// the workload on a weir pool at each limit of a list, as a closed loop
// (a new request is submitted as soon as the pool admits one), and
// reports per limit the throughput, latency percentiles, errors and the
// concurrency actually reached. The best limit is the one with the
// highest throughput whose p99 latency stays within an SLO. Each limit
// can run several times (Config.Repeat): the best limit is then chosen on
// the medians, and Report.WithinNoise says whether the single runs would
// have chosen differently.
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
	// Repeat is how many times each limit runs, one run after another;
	// 0 means once. A limit's Result then holds the medians of its runs,
	// so that one noisy run cannot move the choice.
	Repeat int
	// Clock is the time the sweep measures with; nil means Real.
	Clock Clock
	// OnStart, if set, is called before each limit runs, and OnResult
	// after all its runs, with the limit's index in Limits.
	OnStart  func(i int, limit int64)
	OnResult func(i int, r Result)
}

// Result is what one limit measured. When the limit ran more than once,
// each field is the median over its complete runs, except Max and Peak,
// the highest, and Runs holds the runs themselves.
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
	// Runs are the limit's runs in order, when Repeat was above 1.
	Runs []Result
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
	Repeat   int
	Started  time.Time
	Results  []Result
	// Best is the index in Results of the best limit, or -1 if no
	// complete run with a throughput above zero met the SLO.
	Best int
	// Interrupted is set when the sweep's ctx ended before every limit
	// ran.
	Interrupted bool
	// RunBest holds, when Repeat is above 1, the best limit that each
	// round of runs alone would have chosen (round k is the k-th run of
	// every limit; 0 means none qualified). Rounds some limit did not
	// complete are left out.
	RunBest []int64
}

// WithinNoise reports whether the choice is within the noise: some round
// of single runs chose a different best limit than the medians did.
func (r *Report) WithinNoise() bool {
	var best int64
	if b, ok := r.BestResult(); ok {
		best = b.Limit
	}
	for _, l := range r.RunBest {
		if l != best {
			return true
		}
	}
	return false
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
	if cfg.Repeat < 0 {
		return nil, fmt.Errorf("sweep: repeat %d is below 0", cfg.Repeat)
	}
	cfg.Repeat = max(cfg.Repeat, 1)
	if cfg.Clock == nil {
		cfg.Clock = Real
	}
	rep := &Report{
		Workload: describe(w),
		Limits:   slices.Clone(cfg.Limits),
		Duration: cfg.Duration,
		Count:    max(cfg.Count, 0),
		SLO:      cfg.SLO,
		Repeat:   cfg.Repeat,
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
		var runs []Result
		for range cfg.Repeat {
			r, err := runLimit(ctx, w, limit, cfg)
			if err != nil {
				return rep, err
			}
			runs = append(runs, r)
			if r.Partial {
				break
			}
		}
		r := summarize(runs)
		rep.Results = append(rep.Results, r)
		if cfg.OnResult != nil {
			cfg.OnResult(i, r)
		}
		if runs[len(runs)-1].Partial {
			rep.Interrupted = true
			break
		}
	}
	rep.Best = Best(rep.Results, cfg.SLO, cfg.Tolerance)
	if rep.Best >= 0 {
		rep.Results[rep.Best].Best = true
	}
	if cfg.Repeat > 1 {
		rep.RunBest = runBest(rep.Results, cfg)
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

// summarize returns one limit's Result from its runs: the run itself if
// there is one, else the medians of the complete runs (a partial run is
// used only when no run completed).
func summarize(runs []Result) Result {
	if len(runs) == 1 {
		return runs[0]
	}
	complete := slices.DeleteFunc(slices.Clone(runs), func(r Result) bool { return r.Partial })
	if len(complete) == 0 {
		r := runs[len(runs)-1]
		r.Runs = runs
		return r
	}
	field := func(f func(Result) float64) float64 {
		vs := make([]float64, len(complete))
		for i, r := range complete {
			vs[i] = f(r)
		}
		return median(vs)
	}
	dur := func(f func(Result) time.Duration) time.Duration {
		return time.Duration(field(func(r Result) float64 { return float64(f(r)) }))
	}
	r := Result{
		Limit:      complete[0].Limit,
		Requests:   int(field(func(r Result) float64 { return float64(r.Requests) })),
		Errors:     int(field(func(r Result) float64 { return float64(r.Errors) })),
		Elapsed:    dur(func(r Result) time.Duration { return r.Elapsed }),
		Throughput: field(func(r Result) float64 { return r.Throughput }),
		P50:        dur(func(r Result) time.Duration { return r.P50 }),
		P95:        dur(func(r Result) time.Duration { return r.P95 }),
		P99:        dur(func(r Result) time.Duration { return r.P99 }),
		Runs:       runs,
	}
	for _, c := range complete {
		r.Max = max(r.Max, c.Max)
		r.Peak = max(r.Peak, c.Peak)
	}
	return r
}

// median returns the middle of vs, or the mean of the two middle values
// when there is an even number; vs is sorted in place.
func median(vs []float64) float64 {
	slices.Sort(vs)
	n := len(vs)
	if n%2 == 1 {
		return vs[n/2]
	}
	return (vs[n/2-1] + vs[n/2]) / 2
}

// runBest returns the best limit of each round of runs: round k holds the
// k-th run of every limit. A round that lacks some limit's run, or holds
// a partial one, is left out.
func runBest(results []Result, cfg Config) []int64 {
	var out []int64
	for k := range cfg.Repeat {
		round := make([]Result, 0, len(results))
		for _, r := range results {
			if k >= len(r.Runs) || r.Runs[k].Partial {
				return out
			}
			round = append(round, r.Runs[k])
		}
		var l int64
		if i := Best(round, cfg.SLO, cfg.Tolerance); i >= 0 {
			l = round[i].Limit
		}
		out = append(out, l)
	}
	return out
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
