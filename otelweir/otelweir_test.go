package otelweir_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/weir-go/weir/job"
	"github.com/weir-go/weir/otelweir"
	"github.com/weir-go/weir/pool"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// newMetrics returns Metrics on an SDK MeterProvider read by a manual
// reader.
func newMetrics(t *testing.T, opts ...otelweir.Option) (*otelweir.Metrics, *sdkmetric.ManualReader) {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { mp.Shutdown(context.Background()) })
	m, err := otelweir.New(mp, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return m, reader
}

// newPool returns a pool named name that m observes and reports, with
// panics silenced.
func newPool(t *testing.T, m *otelweir.Metrics, name string, limit int64) *pool.Pool {
	t.Helper()
	p, err := pool.New(limit,
		pool.WithName(name),
		pool.WithObserver(m.Observer()),
		pool.WithPanicHandler(func(pool.PanicInfo) {}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	if err := m.Add(p); err != nil {
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

// collect reads reader's metrics of the scope otelweir.ScopeName by name.
func collect(t *testing.T, reader *sdkmetric.ManualReader) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	byName := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != otelweir.ScopeName {
			t.Errorf("scope %q, want %q", sm.Scope.Name, otelweir.ScopeName)
		}
		for _, m := range sm.Metrics {
			byName[m.Name] = m
		}
	}
	return byName
}

// has reports whether set holds every attribute of kv, given as key, value
// pairs.
func has(set attribute.Set, kv []string) bool {
	for i := 0; i < len(kv); i += 2 {
		if v, ok := set.Value(attribute.Key(kv[i])); !ok || v.AsString() != kv[i+1] {
			return false
		}
	}
	return true
}

// int64Value returns the value of the gauge or counter name's data point
// with the attributes kv; ok is false if there is none.
func int64Value(t *testing.T, metrics map[string]metricdata.Metrics, name string, kv ...string) (v int64, ok bool) {
	t.Helper()
	m, found := metrics[name]
	if !found {
		return 0, false
	}
	var points []metricdata.DataPoint[int64]
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		if !d.IsMonotonic || d.Temporality != metricdata.CumulativeTemporality {
			t.Errorf("%s: monotonic %v, temporality %v", name, d.IsMonotonic, d.Temporality)
		}
		points = d.DataPoints
	case metricdata.Gauge[int64]:
		points = d.DataPoints
	default:
		t.Fatalf("%s is a %T", name, m.Data)
	}
	for _, dp := range points {
		if has(dp.Attributes, kv) {
			return dp.Value, true
		}
	}
	return 0, false
}

// histogram returns the data point of histogram name with the attributes
// kv; ok is false if there is none.
func histogram(t *testing.T, metrics map[string]metricdata.Metrics, name string, kv ...string) (metricdata.HistogramDataPoint[float64], bool) {
	t.Helper()
	m, found := metrics[name]
	if !found {
		t.Fatalf("no instrument %s", name)
	}
	if m.Unit != "s" {
		t.Errorf("%s: unit %q, want s", name, m.Unit)
	}
	d, isHist := m.Data.(metricdata.Histogram[float64])
	if !isHist {
		t.Fatalf("%s is a %T", name, m.Data)
	}
	for _, dp := range d.DataPoints {
		if has(dp.Attributes, kv) {
			return dp, true
		}
	}
	return metricdata.HistogramDataPoint[float64]{}, false
}

func TestManualReader(t *testing.T) {
	m, reader := newMetrics(t)
	db := newPool(t, m, "db", 2)
	idle := newPool(t, m, "idle", 4)
	drive(t, db)
	// A Do call that is turned away: its weight is above the limit.
	if err := idle.Do(context.Background(), job.Func(func(context.Context) error { return nil }), job.WithWeight(5)); !errors.Is(err, pool.ErrWeightExceedsLimit) {
		t.Fatalf("Do with weight 5 of 4: %v", err)
	}

	metrics := collect(t, reader)
	tests := []struct {
		name string
		kv   []string
		want int64 // -1: no data point
	}{
		{"weir.pool.weight.limit", []string{"pool", "db"}, 3},
		{"weir.pool.weight.in_use", []string{"pool", "db"}, 0},
		{"weir.pool.job.running", []string{"pool", "db"}, 0},
		{"weir.pool.pending.requests", []string{"pool", "db"}, 0},
		{"weir.pool.pending.weight", []string{"pool", "db"}, 0},
		{"weir.pool.queue.length", []string{"pool", "db"}, 0},
		{"weir.pool.queue.weight", []string{"pool", "db"}, 0},
		{"weir.pool.admissions", []string{"pool", "db", "result", "admitted"}, 8},
		{"weir.pool.admissions", []string{"pool", "db", "result", "rejected"}, 1},
		{"weir.pool.admissions", []string{"pool", "db", "result", "canceled"}, -1},
		{"weir.pool.job.completions", []string{"pool", "db", "outcome", "success"}, 6},
		{"weir.pool.job.completions", []string{"pool", "db", "outcome", "error"}, 1},
		{"weir.pool.job.completions", []string{"pool", "db", "outcome", "panic"}, 1},
		{"weir.pool.job.completions", []string{"pool", "db", "outcome", "canceled"}, -1},
		{"weir.pool.limit.changes", []string{"pool", "db"}, 1},

		{"weir.pool.weight.limit", []string{"pool", "idle"}, 4},
		{"weir.pool.admissions", []string{"pool", "idle", "result", "invalid"}, 1},
		{"weir.pool.admissions", []string{"pool", "idle", "result", "admitted"}, -1},
		{"weir.pool.limit.changes", []string{"pool", "idle"}, -1},
	}
	for _, tt := range tests {
		got, ok := int64Value(t, metrics, tt.name, tt.kv...)
		if !ok {
			got = -1
		}
		if got != tt.want {
			t.Errorf("%s%v = %d, want %d (-1: none)", tt.name, tt.kv, got, tt.want)
		}
	}

	histograms := []struct {
		name string
		kv   []string
		want uint64
	}{
		{"weir.pool.wait.duration", []string{"pool", "db", "result", "admitted"}, 8},
		{"weir.pool.wait.duration", []string{"pool", "db", "result", "rejected"}, 1},
		{"weir.pool.wait.duration", []string{"pool", "idle", "result", "invalid"}, 1},
		{"weir.pool.hold.duration", []string{"pool", "db", "outcome", "success"}, 6},
		{"weir.pool.hold.duration", []string{"pool", "db", "outcome", "error"}, 1},
		{"weir.pool.hold.duration", []string{"pool", "db", "outcome", "panic"}, 1},
	}
	wantBounds := []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}
	for _, tt := range histograms {
		dp, ok := histogram(t, metrics, tt.name, tt.kv...)
		if !ok {
			t.Errorf("%s%v: no data point", tt.name, tt.kv)
			continue
		}
		if dp.Count != tt.want {
			t.Errorf("%s%v count = %d, want %d", tt.name, tt.kv, dp.Count, tt.want)
		}
		if !slices.Equal(dp.Bounds, wantBounds) {
			t.Errorf("%s%v bounds = %v, want %v", tt.name, tt.kv, dp.Bounds, wantBounds)
		}
		if dp.Sum < 0 || math.IsNaN(dp.Sum) {
			t.Errorf("%s%v sum = %v", tt.name, tt.kv, dp.Sum)
		}
	}
	if len(metrics) != 12 {
		t.Errorf("%d instruments, want 12", len(metrics))
	}
}

func TestWithBuckets(t *testing.T) {
	m, reader := newMetrics(t, otelweir.WithBuckets(0.001, 0.01, 1))
	p := newPool(t, m, "db", 1)
	if err := p.Do(context.Background(), job.Func(func(context.Context) error { return nil })); err != nil {
		t.Fatal(err)
	}
	dp, ok := histogram(t, collect(t, reader), "weir.pool.hold.duration", "pool", "db", "outcome", "success")
	if !ok || dp.Count != 1 || !slices.Equal(dp.Bounds, []float64{0.001, 0.01, 1}) {
		t.Errorf("hold histogram: %v, count %d, bounds %v; want 1, [0.001 0.01 1]", ok, dp.Count, dp.Bounds)
	}
}

func TestNewErrors(t *testing.T) {
	if m, err := otelweir.New(nil); !errors.Is(err, otelweir.ErrNilMeterProvider) || m != nil {
		t.Errorf("New(nil) = %v, %v; want nil, ErrNilMeterProvider", m, err)
	}
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
	mp := sdkmetric.NewMeterProvider()
	defer mp.Shutdown(context.Background())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := otelweir.New(mp, otelweir.WithBuckets(tt.give...))
			if !errors.Is(err, otelweir.ErrInvalidOption) || m != nil {
				t.Errorf("New(WithBuckets(%v)) = %v, %v; want nil, ErrInvalidOption", tt.give, m, err)
			}
		})
	}
}

func TestAddRemove(t *testing.T) {
	m, reader := newMetrics(t)
	if err := m.Add(nil); !errors.Is(err, otelweir.ErrNilPool) {
		t.Errorf("Add(nil) = %v, want ErrNilPool", err)
	}
	p := newPool(t, m, "db", 1)
	if err := m.Add(p); !errors.Is(err, otelweir.ErrDuplicatePool) {
		t.Errorf("Add of the same pool again = %v, want ErrDuplicatePool", err)
	}
	other, err := pool.New(2, pool.WithName("db"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := m.Add(other); !errors.Is(err, otelweir.ErrDuplicatePool) {
		t.Errorf("Add of another pool named db = %v, want ErrDuplicatePool", err)
	}
	if m.Remove(other) {
		t.Error("Remove of a pool not added reported true")
	}
	if v, ok := int64Value(t, collect(t, reader), "weir.pool.weight.limit", "pool", "db"); !ok || v != 1 {
		t.Errorf("limit of db = %d, %v; want 1", v, ok)
	}
	if !m.Remove(p) {
		t.Fatal("Remove(p) = false")
	}
	if m.Remove(p) {
		t.Error("second Remove(p) = true")
	}
	if _, ok := int64Value(t, collect(t, reader), "weir.pool.weight.limit", "pool", "db"); ok {
		t.Error("a removed pool's gauge is still reported")
	}
	if err := m.Add(other); err != nil {
		t.Errorf("Add of another pool named db after Remove: %v", err)
	}
	if v, ok := int64Value(t, collect(t, reader), "weir.pool.weight.limit", "pool", "db"); !ok || v != 2 {
		t.Errorf("limit of db = %d, %v; want 2", v, ok)
	}
}

func TestObserverAllocations(t *testing.T) {
	m, _ := newMetrics(t)
	obs := m.Observer()
	adm := pool.Admission{Pool: "db", Weight: 1, Waited: time.Millisecond, Result: pool.AdmissionAdmitted}
	end := pool.JobEnd{Pool: "db", Weight: 1, Held: time.Millisecond, Outcome: job.Succeeded}
	change := pool.LimitChange{Pool: "db", Old: 1, New: 2, Reason: "Resize"}
	// The first events build the pool's attributes and the SDK's series.
	obs.Admission(adm)
	obs.JobEnd(end)
	obs.LimitChange(change)
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
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	m, err := otelweir.New(mp)
	if err != nil {
		b.Fatal(err)
	}
	obs := m.Observer()
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

// TestConcurrentEventsAndCollections runs jobs on two pools from several
// goroutines while collecting, Adding and Removing, for the race detector.
func TestConcurrentEventsAndCollections(t *testing.T) {
	m, reader := newMetrics(t)
	pools := []*pool.Pool{newPool(t, m, "a", 2), newPool(t, m, "b", 3)}
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
		collect(t, reader)
		if m.Remove(pools[1]) {
			if err := m.Add(pools[1]); err != nil {
				t.Error(err)
			}
		}
		<-done
	}
	if got, _ := int64Value(t, collect(t, reader), "weir.pool.job.completions", "pool", "a", "outcome", "success"); got != workers/2*calls {
		t.Errorf("completions of pool a = %d, want %d", got, workers/2*calls)
	}
}
