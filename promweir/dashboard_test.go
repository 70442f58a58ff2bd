package promweir_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/weir-go/weir/job"
	"github.com/weir-go/weir/promweir"
)

// dashboardFamilies are the metric families that dashboard.json must chart,
// each in at least one expr.
var dashboardFamilies = []string{
	"weir_pool_weight_limit",
	"weir_pool_weight_in_use",
	"weir_pool_job_running",
	"weir_pool_pending_requests",
	"weir_pool_pending_weight",
	"weir_pool_queue_length",
	"weir_pool_queue_weight",
	"weir_pool_admissions_total",
	"weir_pool_job_completions_total",
	"weir_pool_limit_changes_total",
	"weir_pool_wait_duration_seconds",
	"weir_pool_hold_duration_seconds",
}

// dashboardExprs returns every PromQL expr in dashboard.json: the value of
// each "expr" key, at any depth.
func dashboardExprs(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("dashboard.json: %v", err)
	}
	var exprs []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				if s, ok := e.(string); ok && k == "expr" {
					exprs = append(exprs, s)
				}
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(doc)
	if len(exprs) == 0 {
		t.Fatal("dashboard.json has no expr")
	}
	return exprs
}

// exportedNames returns the series names that a Collector exports, with
// a pool added that has run jobs: each family's name, and for a histogram
// its _bucket, _sum and _count.
func exportedNames(t *testing.T) map[string]bool {
	t.Helper()
	c, err := promweir.New()
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	p := newPool(t, c, "dash", 2)
	ctx := context.Background()
	if err := p.Do(ctx, job.Func(func(context.Context) error { return nil })); err != nil {
		t.Fatal(err)
	}
	h, err := p.Go(ctx, func(context.Context) error { return errors.New("boom") })
	if err != nil {
		t.Fatal(err)
	}
	h.Wait()
	if err := p.Resize(3); err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := make(map[string]bool)
	for _, mf := range families {
		names[mf.GetName()] = true
		if mf.GetType() == dto.MetricType_HISTOGRAM {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				names[mf.GetName()+suffix] = true
			}
		}
	}
	for _, f := range dashboardFamilies {
		if !names[f] {
			t.Fatalf("the collector does not export %s; it exports %v", f, names)
		}
	}
	return names
}

var metricName = regexp.MustCompile(`\bweir_pool_[a-zA-Z0-9_]*`)

func TestDashboardChartsEveryFamily(t *testing.T) {
	exprs := dashboardExprs(t)
	for _, f := range dashboardFamilies {
		found := slices.ContainsFunc(exprs, func(e string) bool {
			for _, n := range metricName.FindAllString(e, -1) {
				if n == f || n == f+"_bucket" || n == f+"_sum" || n == f+"_count" {
					return true
				}
			}
			return false
		})
		if !found {
			t.Errorf("no expr in dashboard.json uses %s", f)
		}
	}
}

func TestDashboardUsesExportedNames(t *testing.T) {
	names := exportedNames(t)
	for _, e := range dashboardExprs(t) {
		for _, n := range metricName.FindAllString(e, -1) {
			if !names[n] {
				t.Errorf("dashboard.json uses %s, which the collector does not export, in %q", n, e)
			}
		}
	}
}
