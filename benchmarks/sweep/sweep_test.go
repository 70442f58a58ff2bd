package sweep_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image/png"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/weir-go/weir/benchmarks/sweep"
	"github.com/weir-go/weir/limit"
)

var powersOfTwo = []int64{1, 2, 4, 8, 16, 32, 64, 128}

func newSim(t *testing.T, cfg sweep.SimConfig) *sweep.Sim {
	t.Helper()
	s, err := sweep.NewSim(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSweepFindsKnee checks that the best limit found for a simulated
// service with c servers is within one step of c in the list of limits:
// the largest limit at or below c, or the next one above.
func TestSweepFindsKnee(t *testing.T) {
	tests := []struct {
		name    string
		servers int
		jitter  float64
		slo     time.Duration
	}{
		{name: "c=16 in the list", servers: 16, slo: 15 * time.Millisecond},
		{name: "c=12 between 8 and 16", servers: 12, slo: 25 * time.Millisecond},
		{name: "c=5 loose SLO", servers: 5, slo: 100 * time.Millisecond},
		{name: "c=40 jitter", servers: 40, jitter: 0.3, slo: 30 * time.Millisecond},
		{name: "c=3 no SLO", servers: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sim := newSim(t, sweep.SimConfig{Servers: tt.servers, Service: 10 * time.Millisecond, Jitter: tt.jitter, Seed: 1})
				rep, err := sweep.Run(t.Context(), sim, sweep.Config{
					Limits: powersOfTwo, Duration: 400 * time.Millisecond, SLO: tt.slo, Tolerance: 0.02,
				})
				if err != nil {
					t.Fatal(err)
				}
				best, ok := rep.BestResult()
				if !ok {
					t.Fatalf("no best limit:\n%s", table(t, rep))
				}
				k, _ := slices.BinarySearch(powersOfTwo, int64(tt.servers)) // first limit >= c
				lo, hi := powersOfTwo[max(k-1, 0)], powersOfTwo[min(k+1, len(powersOfTwo)-1)]
				if powersOfTwo[k] == int64(tt.servers) {
					lo = int64(tt.servers)
				}
				if best.Limit < lo || best.Limit > hi {
					t.Errorf("best limit %d, want within one step of %d servers (%d..%d):\n%s",
						best.Limit, tt.servers, lo, hi, table(t, rep))
				}
			})
		})
	}
}

// TestSweepMeasuresExactly checks the numbers on fake time: below the
// knee every request takes the service time and throughput is
// limit/service; above it throughput stays at capacity and p99 grows.
func TestSweepMeasuresExactly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const service = 10 * time.Millisecond
		sim := newSim(t, sweep.SimConfig{Servers: 4, Service: service})
		rep, err := sweep.Run(t.Context(), sim, sweep.Config{Limits: []int64{1, 2, 4, 8}, Duration: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		want := []struct {
			throughput float64
			p99        time.Duration
		}{{100, service}, {200, service}, {400, service}, {400, 2 * service}}
		for i, r := range rep.Results {
			if r.Throughput != want[i].throughput || r.P99 != want[i].p99 || r.Peak != r.Limit || r.Errors != 0 {
				t.Errorf("limit %d: throughput %v p99 %v peak %d errors %d; want %v, %v, %d, 0",
					r.Limit, r.Throughput, r.P99, r.Peak, r.Errors, want[i].throughput, want[i].p99, r.Limit)
			}
		}
		if best, _ := rep.BestResult(); best.Limit != 4 {
			t.Errorf("best limit %d, want 4 (the smallest reaching capacity)", best.Limit)
		}
		if got := sim.Capacity(); got != 400 {
			t.Errorf("Capacity() = %v, want 400", got)
		}
	})
}

func TestSweepCount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim := newSim(t, sweep.SimConfig{Servers: 2, Service: 10 * time.Millisecond})
		rep, err := sweep.Run(t.Context(), sim, sweep.Config{Limits: []int64{1, 2, 4}, Count: 40})
		if err != nil {
			t.Fatal(err)
		}
		for i, wantElapsed := range []time.Duration{400 * time.Millisecond, 200 * time.Millisecond, 200 * time.Millisecond} {
			r := rep.Results[i]
			if r.Requests != 40 || r.Elapsed != wantElapsed {
				t.Errorf("limit %d: %d requests in %v, want 40 in %v", r.Limit, r.Requests, r.Elapsed, wantElapsed)
			}
		}
	})
}

// TestSweepInterrupted checks that ending the ctx stops the sweep, keeps
// what was measured and marks the limit it was in as partial.
func TestSweepInterrupted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim := newSim(t, sweep.SimConfig{Servers: 4, Service: 10 * time.Millisecond})
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(2500*time.Millisecond, cancel)
		var started []int64
		rep, err := sweep.Run(ctx, sim, sweep.Config{
			Limits: powersOfTwo, Duration: time.Second,
			OnStart: func(_ int, l int64) { started = append(started, l) },
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run returned %v, want context.Canceled", err)
		}
		if !rep.Interrupted || len(rep.Results) != 3 || !rep.Results[2].Partial || rep.Results[1].Partial {
			t.Fatalf("want 2 complete results and a partial third, got:\n%s", table(t, rep))
		}
		if r := rep.Results[2]; r.Elapsed != 500*time.Millisecond || r.Requests == 0 {
			t.Errorf("partial run: %v with %d requests, want 500ms and some requests", r.Elapsed, r.Requests)
		}
		if !slices.Equal(started, []int64{1, 2, 4}) {
			t.Errorf("OnStart saw %v", started)
		}
		if best, _ := rep.BestResult(); best.Limit != 2 {
			t.Errorf("best %d, want 2: a partial run is never best", best.Limit)
		}
	})
}

func TestSimOverloaded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim := newSim(t, sweep.SimConfig{Servers: 2, Service: 10 * time.Millisecond, MaxQueue: 2, Reject: time.Millisecond})
		rep, err := sweep.Run(t.Context(), sim, sweep.Config{Limits: []int64{4, 8}, Duration: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if r := rep.Results[0]; r.Errors != 0 || r.Throughput != 200 {
			t.Errorf("limit 4 (2 served, 2 queued): %d errors, %v/s; want 0, 200", r.Errors, r.Throughput)
		}
		if r := rep.Results[1]; r.Errors == 0 || r.Throughput != 200 {
			t.Errorf("limit 8: %d errors, %v/s; want some errors and 200/s", r.Errors, r.Throughput)
		}
		if st := sim.Service().Stats(); st.PeakAdmitted != 4 || st.Dropped != int64(rep.Results[1].Errors) {
			t.Errorf("service stats %+v, %d errors: want a peak of 4 admitted (2 served, 2 queued) and every error a drop",
				st, rep.Results[1].Errors)
		}
		// A rejection takes the Reject time and is a drop, as an
		// adaptive limit sees it.
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() { _ = sim.Do(t.Context()) })
		}
		synctest.Wait()
		start := time.Now()
		err = sim.Do(t.Context())
		if !limit.IsDrop(err) || time.Since(start) != time.Millisecond {
			t.Errorf("Do on a full queue: %v after %v, want a drop after 1ms", err, time.Since(start))
		}
		wg.Wait()
		if err := sim.Do(canceled()); !errors.Is(err, context.Canceled) {
			t.Errorf("Do with a done ctx: %v", err)
		}
	})
}

func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

func TestNewSimRejects(t *testing.T) {
	tests := []struct {
		name string
		give sweep.SimConfig
	}{
		{"no servers", sweep.SimConfig{Service: time.Millisecond}},
		{"no service time", sweep.SimConfig{Servers: 1}},
		{"jitter 1", sweep.SimConfig{Servers: 1, Service: time.Millisecond, Jitter: 1}},
		{"negative queue", sweep.SimConfig{Servers: 1, Service: time.Millisecond, MaxQueue: -1}},
		{"negative reject", sweep.SimConfig{Servers: 1, Service: time.Millisecond, Reject: -1}},
		{"negative speed", sweep.SimConfig{Servers: 1, Service: time.Millisecond, Speed: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := sweep.NewSim(tt.give); err == nil {
				t.Error("NewSim succeeded")
			}
		})
	}
}

func TestRunRejects(t *testing.T) {
	w := sweep.WorkloadFunc(func(context.Context) error { return nil })
	tests := []struct {
		name string
		give sweep.Config
	}{
		{"no limits", sweep.Config{Count: 1}},
		{"zero limit", sweep.Config{Limits: []int64{0}, Count: 1}},
		{"no length", sweep.Config{Limits: []int64{1}}},
		{"tolerance 1", sweep.Config{Limits: []int64{1}, Count: 1, Tolerance: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := sweep.Run(t.Context(), w, tt.give); err == nil {
				t.Error("Run succeeded")
			}
		})
	}
}

func TestBest(t *testing.T) {
	r := func(limit int64, tp float64, p99 time.Duration) sweep.Result {
		return sweep.Result{Limit: limit, Throughput: tp, P99: p99}
	}
	tests := []struct {
		name      string
		give      []sweep.Result
		slo       time.Duration
		tolerance float64
		want      int
	}{
		{"highest", []sweep.Result{r(1, 10, 1), r(2, 20, 1), r(4, 15, 1)}, 0, 0, 1},
		{"SLO excludes", []sweep.Result{r(1, 10, 1), r(2, 20, 9)}, 5, 0, 0},
		{"tie to smaller", []sweep.Result{r(1, 10, 1), r(2, 19.9, 1), r(4, 20, 1)}, 0, 0.01, 1},
		{"none meets", []sweep.Result{r(1, 10, 9)}, 5, 0, -1},
		{"zero throughput", []sweep.Result{r(1, 0, 1)}, 0, 0, -1},
		{"partial", []sweep.Result{r(1, 10, 1), {Limit: 2, Throughput: 50, Partial: true}}, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sweep.Best(tt.give, tt.slo, tt.tolerance); got != tt.want {
				t.Errorf("Best = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestHTTP sweeps a loopback server, counting its 500s as errors.
func TestHTTP(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%10 == 0 {
			http.Error(w, "every tenth fails", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()
	w := sweep.NewHTTP(srv.URL, 4, 5*time.Second)
	defer w.Close()
	rep, err := sweep.Run(t.Context(), w, sweep.Config{Limits: []int64{1, 2, 4}, Count: 50})
	if err != nil {
		t.Fatal(err)
	}
	errs := 0
	for _, r := range rep.Results {
		if r.Requests != 50 || r.Peak > r.Limit || r.Throughput <= 0 {
			t.Errorf("limit %d: %d requests, peak %d, %v/s", r.Limit, r.Requests, r.Peak, r.Throughput)
		}
		errs += r.Errors
	}
	if errs != 15 {
		t.Errorf("%d errors, want 15 (every tenth of 150)", errs)
	}
	if !strings.Contains(rep.Workload, srv.URL) {
		t.Errorf("workload %q does not name the URL", rep.Workload)
	}
}

func TestOutputs(t *testing.T) {
	var rep *sweep.Report
	synctest.Test(t, func(t *testing.T) {
		sim := newSim(t, sweep.SimConfig{Servers: 4, Service: 10 * time.Millisecond})
		var err error
		rep, err = sweep.Run(t.Context(), sim, sweep.Config{Limits: []int64{1, 2, 4, 8, 16}, Duration: 200 * time.Millisecond, SLO: 15 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
	})
	tab := table(t, rep)
	for _, want := range []string{"sim(c=4, s=10ms)", "<- best", "p99 > SLO", "best limit: 4"} {
		if !strings.Contains(tab, want) {
			t.Errorf("table lacks %q:\n%s", want, tab)
		}
	}
	var csv bytes.Buffer
	if err := rep.WriteCSV(&csv); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(csv.String(), "\n"); lines != 6 {
		t.Errorf("CSV has %d lines, want a header and 5 rows:\n%s", lines, csv.String())
	}
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var decoded struct {
		BestLimit int64 `json:"best_limit"`
		Results   []struct {
			P99 float64 `json:"p99_ms"`
		} `json:"results"`
	}
	if err := json.Unmarshal(js.Bytes(), &decoded); err != nil {
		t.Fatal(err)
	}
	if decoded.BestLimit != 4 || len(decoded.Results) != 5 || decoded.Results[0].P99 != 10 {
		t.Errorf("JSON: %s", js.String())
	}
	var img bytes.Buffer
	if err := rep.Chart().WritePNG(&img); err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(&img)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Width != 800 || cfg.Height != 600 {
		t.Errorf("chart is %dx%d, want 800x600", cfg.Width, cfg.Height)
	}
}

// TestSimSpeed runs a sweep on a simulated service 10 times faster than
// real time, outside synctest: the sweep measures it on the Sim's scaled
// clock and reports the service's own times.
func TestSimSpeed(t *testing.T) {
	sim := newSim(t, sweep.SimConfig{Servers: 4, Service: 100 * time.Millisecond, Speed: 10})
	if sim.Clock() == sweep.Real {
		t.Fatal("a Sim at speed 10 measured on the real clock")
	}
	if newSim(t, sweep.SimConfig{Servers: 4, Service: time.Millisecond}).Clock() != sweep.Real {
		t.Error("a Sim at speed 1 not measured on the real clock")
	}
	rep, err := sweep.Run(t.Context(), sim, sweep.Config{Limits: []int64{2, 8}, Count: 40, Clock: sim.Clock()})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond} {
		// Scheduling noise is magnified 10 times: allow for it.
		if r := rep.Results[i]; r.P50 < want || r.P50 > want+want/2 {
			t.Errorf("limit %d: p50 %v, want about %v", r.Limit, r.P50, want)
		}
	}
}

func TestScaledClock(t *testing.T) {
	c := sweep.Scaled(1000)
	t0 := c.Now()
	if err := c.Sleep(t.Context(), time.Second); err != nil { // 1ms of real time
		t.Fatal(err)
	}
	if d := c.Now().Sub(t0); d < time.Second {
		t.Errorf("after Sleep(1s) the scaled clock moved %v", d)
	}
	if err := c.Sleep(canceled(), time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep with a done ctx: %v", err)
	}
}

func table(t *testing.T, rep *sweep.Report) string {
	t.Helper()
	var b strings.Builder
	if err := rep.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestSweepRepeatOutvotesANoisyRun guards the choice against one noisy
// run: limit 2's first run has a p99 above the SLO, its other two do not.
// A single run picks limit 1; three runs pick limit 2 on the medians and
// warn that the choice is within the noise.
func TestSweepRepeatOutvotesANoisyRun(t *testing.T) {
	sweepWith := func(t *testing.T, repeat int) *sweep.Report {
		var rep *sweep.Report
		synctest.Test(t, func(t *testing.T) {
			const count = 10
			var limit int64
			var calls atomic.Int64
			w := sweep.WorkloadFunc(func(ctx context.Context) error {
				d := 10 * time.Millisecond
				if limit == 2 && calls.Add(1) <= count {
					d = 20 * time.Millisecond // limit 2's first run is noisy
				}
				time.Sleep(d)
				return nil
			})
			var err error
			rep, err = sweep.Run(t.Context(), w, sweep.Config{
				Limits: []int64{1, 2}, Count: count, SLO: 15 * time.Millisecond, Repeat: repeat,
				OnStart: func(_ int, l int64) { limit = l },
			})
			if err != nil {
				t.Fatal(err)
			}
		})
		return rep
	}

	if best, _ := sweepWith(t, 1).BestResult(); best.Limit != 1 {
		t.Fatalf("one run: best %d, want 1 (the noisy run's p99 is over the SLO)", best.Limit)
	}

	rep := sweepWith(t, 3)
	best, ok := rep.BestResult()
	if !ok || best.Limit != 2 {
		t.Fatalf("three runs: best %d, want 2 on the medians:\n%s", best.Limit, table(t, rep))
	}
	if best.P99 != 10*time.Millisecond || len(best.Runs) != 3 || best.Runs[0].P99 != 20*time.Millisecond {
		t.Errorf("limit 2: p99 %v over %d runs, want the median 10ms of 3 runs (the first 20ms)", best.P99, len(best.Runs))
	}
	if !slices.Equal(rep.RunBest, []int64{1, 2, 2}) || !rep.WithinNoise() {
		t.Errorf("RunBest %v, WithinNoise %v; want [1 2 2], true", rep.RunBest, rep.WithinNoise())
	}
	tab := table(t, rep)
	for _, want := range []string{"repeat:   3 runs per limit", "warning: the choice is within the noise: the single runs chose 1, 2 and 2"} {
		if !strings.Contains(tab, want) {
			t.Errorf("table lacks %q:\n%s", want, tab)
		}
	}
}

// TestResultMedians checks that a repeated limit reports the medians of
// steady runs, and that steady runs raise no noise warning.
func TestResultMedians(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim := newSim(t, sweep.SimConfig{Servers: 4, Service: 10 * time.Millisecond})
		rep, err := sweep.Run(t.Context(), sim, sweep.Config{Limits: []int64{2, 4}, Count: 40, Repeat: 4})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rep.Results {
			if len(r.Runs) != 4 || r.Requests != 40 || r.P99 != 10*time.Millisecond {
				t.Errorf("limit %d: %d runs, %d requests, p99 %v; want 4 runs of 40 requests at 10ms", r.Limit, len(r.Runs), r.Requests, r.P99)
			}
		}
		if rep.WithinNoise() {
			t.Errorf("steady runs reported as noisy: RunBest %v", rep.RunBest)
		}
	})
}

// TestChartOfOneLimit guards the chart of a sweep of limit 1 alone: the
// plot library widened the log X axis's empty range to include 0 and
// panicked.
func TestChartOfOneLimit(t *testing.T) {
	rep := &sweep.Report{Workload: "one", Limits: []int64{1}, Best: 0, Results: []sweep.Result{
		{Limit: 1, Requests: 5, Throughput: 18, P50: 54 * time.Millisecond, P95: 58 * time.Millisecond, P99: 58 * time.Millisecond, Best: true},
	}}
	var img bytes.Buffer
	if err := rep.Chart().WritePNG(&img); err != nil {
		t.Fatal(err)
	}
}
