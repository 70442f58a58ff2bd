package promweir_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/weir-go/weir/job"
	"github.com/weir-go/weir/pool"
	"github.com/weir-go/weir/promweir"
)

// newPool returns a pool named name that c observes and reports, with
// panics silenced.
func newPool(t *testing.T, c *promweir.Collector, name string, limit int64) *pool.Pool {
	t.Helper()
	p, err := pool.New(limit,
		pool.WithName(name),
		pool.WithObserver(c.Observer()),
		pool.WithPanicHandler(func(pool.PanicInfo) {}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	if err := c.Add(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// drive runs on p: five jobs that succeed, one that fails, one that
// panics, a Resize from 2 to 3, and a TrySubmit turned away while a job of
// weight 3 holds the whole limit. Then it waits for them all.
func drive(t *testing.T, p *pool.Pool) {
	t.Helper()
	ctx := context.Background()
	var handles []*job.Handle
	submit := func(f func(context.Context) error) {
		h, err := p.Go(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		handles = append(handles, h)
	}
	for range 5 {
		submit(func(context.Context) error { return nil })
	}
	submit(func(context.Context) error { return errors.New("boom") })
	submit(func(context.Context) error { panic("oops") })
	for _, h := range handles {
		h.Wait()
	}
	if err := p.Resize(3); err != nil {
		t.Fatal(err)
	}

	started, release := make(chan struct{}), make(chan struct{})
	h, err := p.Go(ctx, func(context.Context) error {
		close(started)
		<-release
		return nil
	}, job.WithWeight(3))
	if err != nil {
		t.Fatal(err)
	}
	<-started
	if _, err := p.TrySubmit(ctx, job.Func(func(context.Context) error { return nil })); !errors.Is(err, pool.ErrFull) {
		t.Fatalf("TrySubmit on a full pool: %v, want ErrFull", err)
	}
	close(release)
	if err := h.Wait(); err != nil {
		t.Fatal(err)
	}
	p.Wait()
}

// scrape serves reg's /metrics on 127.0.0.1, gets it over HTTP and parses
// the text format.
func scrape(t *testing.T, reg *prometheus.Registry) map[string]*dto.MetricFamily {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError}))
	srv := httptest.NewServer(mux) // listens on 127.0.0.1
	defer srv.Close()

	req, err := http.NewRequest(http.MethodGet, srv.URL+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return families
}

// sample finds the metric of family name whose labels include labels
// (given as name, value pairs).
func sample(t *testing.T, families map[string]*dto.MetricFamily, name string, labels ...string) *dto.Metric {
	t.Helper()
	mf := families[name]
	if mf == nil {
		t.Fatalf("no family %s", name)
	}
next:
	for _, m := range mf.GetMetric() {
		have := map[string]string{}
		for _, lp := range m.GetLabel() {
			have[lp.GetName()] = lp.GetValue()
		}
		for i := 0; i < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				continue next
			}
		}
		return m
	}
	t.Fatalf("no %s%v", name, labels)
	return nil
}

// value returns the value of a gauge or counter sample.
func value(t *testing.T, families map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	m := sample(t, families, name, labels...)
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	}
	t.Fatalf("%s%v is neither a gauge nor a counter", name, labels)
	return 0
}

func TestScrapeOverHTTP(t *testing.T) {
	c, err := promweir.New()
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	db := newPool(t, c, "db", 2)
	idle := newPool(t, c, "idle", 4)
	drive(t, db)
	// A Do call that is turned away: its weight is above the limit.
	if err := idle.Do(context.Background(), job.Func(func(context.Context) error { return nil }), job.WithWeight(5)); !errors.Is(err, pool.ErrWeightExceedsLimit) {
		t.Fatalf("Do with weight 5 of 4: %v", err)
	}

	families := scrape(t, reg)

	tests := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"weir_pool_weight_limit", []string{"pool", "db"}, 3},
		{"weir_pool_weight_in_use", []string{"pool", "db"}, 0},
		{"weir_pool_job_running", []string{"pool", "db"}, 0},
		{"weir_pool_pending_requests", []string{"pool", "db"}, 0},
		{"weir_pool_pending_weight", []string{"pool", "db"}, 0},
		{"weir_pool_queue_length", []string{"pool", "db"}, 0},
		{"weir_pool_queue_weight", []string{"pool", "db"}, 0},
		{"weir_pool_admissions_total", []string{"pool", "db", "result", "admitted"}, 8},
		{"weir_pool_admissions_total", []string{"pool", "db", "result", "rejected"}, 1},
		{"weir_pool_admissions_total", []string{"pool", "db", "result", "canceled"}, 0},
		{"weir_pool_admissions_total", []string{"pool", "db", "result", "closed"}, 0},
		{"weir_pool_admissions_total", []string{"pool", "db", "result", "invalid"}, 0},
		{"weir_pool_job_completions_total", []string{"pool", "db", "outcome", "success"}, 6},
		{"weir_pool_job_completions_total", []string{"pool", "db", "outcome", "error"}, 1},
		{"weir_pool_job_completions_total", []string{"pool", "db", "outcome", "panic"}, 1},
		{"weir_pool_job_completions_total", []string{"pool", "db", "outcome", "canceled"}, 0},
		{"weir_pool_limit_changes_total", []string{"pool", "db"}, 1},

		{"weir_pool_weight_limit", []string{"pool", "idle"}, 4},
		{"weir_pool_admissions_total", []string{"pool", "idle", "result", "admitted"}, 0},
		{"weir_pool_admissions_total", []string{"pool", "idle", "result", "invalid"}, 1},
		{"weir_pool_limit_changes_total", []string{"pool", "idle"}, 0},
	}
	for _, tt := range tests {
		if got := value(t, families, tt.name, tt.labels...); got != tt.want {
			t.Errorf("%s%v = %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}

	histograms := []struct {
		name   string
		labels []string
		want   uint64
	}{
		{"weir_pool_wait_duration_seconds", []string{"pool", "db", "result", "admitted"}, 8},
		{"weir_pool_wait_duration_seconds", []string{"pool", "db", "result", "rejected"}, 1},
		{"weir_pool_wait_duration_seconds", []string{"pool", "db", "result", "canceled"}, 0},
		{"weir_pool_hold_duration_seconds", []string{"pool", "db", "outcome", "success"}, 6},
		{"weir_pool_hold_duration_seconds", []string{"pool", "db", "outcome", "error"}, 1},
		{"weir_pool_hold_duration_seconds", []string{"pool", "db", "outcome", "panic"}, 1},
		{"weir_pool_hold_duration_seconds", []string{"pool", "db", "outcome", "canceled"}, 0},
	}
	for _, tt := range histograms {
		h := sample(t, families, tt.name, tt.labels...).GetHistogram()
		if h.GetSampleCount() != tt.want {
			t.Errorf("%s%v count = %d, want %d", tt.name, tt.labels, h.GetSampleCount(), tt.want)
		}
		if n := len(h.GetBucket()); n != 19 { // 18 bounds and +Inf
			t.Errorf("%s%v has %d buckets, want 19", tt.name, tt.labels, n)
		}
		if tt.want > 0 && (h.GetSampleSum() < 0 || math.IsNaN(h.GetSampleSum())) {
			t.Errorf("%s%v sum = %v", tt.name, tt.labels, h.GetSampleSum())
		}
	}

	if got := len(families); got != 12 {
		t.Errorf("scraped %d families, want 12", got)
	}
}

func TestGatherAndLint(t *testing.T) {
	c, err := promweir.New()
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	drive(t, newPool(t, c, "db", 2))
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func TestWithBuckets(t *testing.T) {
	c, err := promweir.New(promweir.WithBuckets(0.001, 0.01, 1))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	p := newPool(t, c, "db", 1)
	if err := p.Do(context.Background(), job.Func(func(context.Context) error { return nil })); err != nil {
		t.Fatal(err)
	}
	h := sample(t, gather(t, reg), "weir_pool_hold_duration_seconds", "outcome", "success").GetHistogram()
	var bounds []float64
	for _, b := range h.GetBucket() {
		bounds = append(bounds, b.GetUpperBound())
	}
	if fmt.Sprint(bounds) != "[0.001 0.01 1]" || h.GetSampleCount() != 1 {
		t.Errorf("hold histogram: bounds %v, count %d; want [0.001 0.01 1], 1", bounds, h.GetSampleCount())
	}
}

func TestNewInvalidOption(t *testing.T) {
	tests := []struct {
		name string
		give []float64
	}{
		{"none", nil},
		{"equal", []float64{1, 1}},
		{"decreasing", []float64{1, 0.5}},
		{"NaN first", []float64{math.NaN(), 1}},
		{"NaN only", []float64{math.NaN()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := promweir.New(promweir.WithBuckets(tt.give...))
			if !errors.Is(err, promweir.ErrInvalidOption) || c != nil {
				t.Errorf("New(WithBuckets(%v)) = %v, %v; want nil, ErrInvalidOption", tt.give, c, err)
			}
		})
	}
}

func TestAdd(t *testing.T) {
	c, err := promweir.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Add(nil); !errors.Is(err, promweir.ErrNilPool) {
		t.Errorf("Add(nil) = %v, want ErrNilPool", err)
	}
	p := newPool(t, c, "db", 1)
	if err := c.Add(p); !errors.Is(err, promweir.ErrDuplicatePool) {
		t.Errorf("Add of the same pool again = %v, want ErrDuplicatePool", err)
	}
	other, err := pool.New(1, pool.WithName("db"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := c.Add(other); !errors.Is(err, promweir.ErrDuplicatePool) {
		t.Errorf("Add of another pool named db = %v, want ErrDuplicatePool", err)
	}
	if c.Remove(other) {
		t.Error("Remove of a pool not added reported true")
	}
}

func TestRemove(t *testing.T) {
	c, err := promweir.New()
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	p := newPool(t, c, "db", 1)
	keep := newPool(t, c, "keep", 1)
	for _, q := range []*pool.Pool{p, keep} {
		if err := q.Do(context.Background(), job.Func(func(context.Context) error { return nil })); err != nil {
			t.Fatal(err)
		}
	}
	if !c.Remove(p) {
		t.Fatal("Remove(p) = false")
	}
	if c.Remove(p) {
		t.Error("second Remove(p) = true")
	}
	if n := seriesOf(t, reg, "db"); n != 0 {
		t.Errorf("%d series of a removed pool", n)
	}
	if n := seriesOf(t, reg, "keep"); n == 0 {
		t.Error("Remove took the other pool's series too")
	}

	// The name is free again, and p's later events count anew.
	if err := c.Add(p); err != nil {
		t.Fatal(err)
	}
	if err := p.Do(context.Background(), job.Func(func(context.Context) error { return nil })); err != nil {
		t.Fatal(err)
	}
	if got := value(t, gather(t, reg), "weir_pool_job_completions_total", "pool", "db", "outcome", "success"); got != 1 {
		t.Errorf("completions after Remove and Add = %v, want 1", got)
	}
}

// seriesOf counts the series of reg labelled pool=name.
func seriesOf(t *testing.T, reg *prometheus.Registry, name string) int {
	t.Helper()
	n := 0
	for _, mf := range gather(t, reg) {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "pool" && lp.GetValue() == name {
					n++
				}
			}
		}
	}
	return n
}

// gather gathers reg's families by name.
func gather(t *testing.T, reg *prometheus.Registry) map[string]*dto.MetricFamily {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*dto.MetricFamily{}
	for _, mf := range families {
		byName[mf.GetName()] = mf
	}
	return byName
}

func TestObserverAllocations(t *testing.T) {
	c, err := promweir.New()
	if err != nil {
		t.Fatal(err)
	}
	obs := c.Observer()
	adm := pool.Admission{Pool: "db", Weight: 1, Waited: time.Millisecond, Result: pool.AdmissionAdmitted}
	end := pool.JobEnd{Pool: "db", Weight: 1, Held: time.Millisecond, Outcome: job.Succeeded}
	change := pool.LimitChange{Pool: "db", Old: 1, New: 2, Reason: "Resize"}
	obs.Admission(adm) // resolves the pool's series
	tests := []struct {
		name string
		give func()
	}{
		{"Admission", func() { obs.Admission(adm) }},
		{"JobEnd", func() { obs.JobEnd(end) }},
		{"LimitChange", func() { obs.LimitChange(change) }},
	}
	for _, tt := range tests {
		if n := testing.AllocsPerRun(100, tt.give); n != 0 {
			t.Errorf("%s: %v allocations per event, want 0", tt.name, n)
		}
	}
}

func BenchmarkObserver(b *testing.B) {
	c, err := promweir.New()
	if err != nil {
		b.Fatal(err)
	}
	obs := c.Observer()
	adm := pool.Admission{Pool: "db", Weight: 1, Waited: time.Millisecond, Result: pool.AdmissionAdmitted}
	end := pool.JobEnd{Pool: "db", Weight: 1, Held: time.Millisecond, Outcome: job.Succeeded}
	b.Run("event=admission", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			obs.Admission(adm)
		}
	})
	b.Run("event=end", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			obs.JobEnd(end)
		}
	})
}

// TestConcurrentEventsAndScrapes runs jobs on two pools from several
// goroutines while scraping, Adding and Removing, for the race detector.
func TestConcurrentEventsAndScrapes(t *testing.T) {
	c, err := promweir.New()
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	pools := []*pool.Pool{newPool(t, c, "a", 2), newPool(t, c, "b", 3)}
	const workers, calls = 4, 50
	done := make(chan struct{})
	for w := range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			p := pools[w%len(pools)]
			for range calls {
				_ = p.Do(context.Background(), job.Func(func(context.Context) error { return nil }))
			}
		}()
	}
	for range workers {
		if _, err := reg.Gather(); err != nil {
			t.Error(err)
		}
		if c.Remove(pools[1]) {
			if err := c.Add(pools[1]); err != nil {
				t.Error(err)
			}
		}
		<-done
	}
	if got := value(t, gather(t, reg), "weir_pool_job_completions_total", "pool", "a", "outcome", "success"); got != workers/2*calls {
		t.Errorf("completions of pool a = %v, want %d", got, workers/2*calls)
	}
}
