package otelweir_test

import (
	"context"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/weir-go/weir/otelweir"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// TestPrometheusNames checks that the OpenTelemetry Prometheus exporter,
// with its default translation, gives the instruments exactly the names
// of package promweir, with the same label values.
func TestPrometheusNames(t *testing.T) {
	reg := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutTargetInfo())
	if err != nil {
		t.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	defer mp.Shutdown(context.Background())
	m, err := otelweir.New(mp)
	if err != nil {
		t.Fatal(err)
	}
	drive(t, newPool(t, m, "db", 2))

	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	values := map[string]float64{}
	for _, mf := range families {
		names = append(names, mf.GetName())
		for _, s := range mf.GetMetric() {
			key := mf.GetName() // and the labels in the exporter's order, by name
			for _, lp := range s.GetLabel() {
				if lp.GetName() == "pool" || lp.GetName() == "result" || lp.GetName() == "outcome" {
					key += " " + lp.GetName() + "=" + lp.GetValue()
				}
			}
			switch {
			case s.Counter != nil:
				values[key] = s.Counter.GetValue()
			case s.Gauge != nil:
				values[key] = s.Gauge.GetValue()
			case s.Histogram != nil:
				values[key] = float64(s.Histogram.GetSampleCount())
			}
		}
	}
	want := []string{
		"weir_pool_admissions_total",
		"weir_pool_hold_duration_seconds",
		"weir_pool_job_completions_total",
		"weir_pool_job_running",
		"weir_pool_limit_changes_total",
		"weir_pool_pending_requests",
		"weir_pool_pending_weight",
		"weir_pool_queue_length",
		"weir_pool_queue_weight",
		"weir_pool_wait_duration_seconds",
		"weir_pool_weight_in_use",
		"weir_pool_weight_limit",
	}
	slices.Sort(names)
	if !slices.Equal(names, want) {
		t.Errorf("exported families:\n%q\nwant:\n%q", names, want)
	}
	for key, v := range map[string]float64{
		"weir_pool_weight_limit pool=db":                          3,
		"weir_pool_admissions_total pool=db result=admitted":      8,
		"weir_pool_admissions_total pool=db result=rejected":      1,
		"weir_pool_job_completions_total outcome=success pool=db": 6,
		"weir_pool_job_completions_total outcome=panic pool=db":   1,
		"weir_pool_limit_changes_total pool=db":                   1,
		"weir_pool_wait_duration_seconds pool=db result=admitted": 8,
		"weir_pool_hold_duration_seconds outcome=error pool=db":   1,
	} {
		if values[key] != v {
			t.Errorf("%s = %v, want %v", key, values[key], v)
		}
	}
}
