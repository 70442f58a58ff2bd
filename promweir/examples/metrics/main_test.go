package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreCurrent())
}

// scrape GETs url and parses the text exposition.
func scrape(t *testing.T, client *http.Client, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return families
}

// value returns the value of the series of family name with the label
// key=val, and whether there is one.
func value(families map[string]*dto.MetricFamily, name, key, val string) (float64, bool) {
	mf := families[name]
	if mf == nil {
		return 0, false
	}
	for _, m := range mf.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == key && l.GetValue() == val {
				return m.GetCounter().GetValue(), true
			}
		}
	}
	return 0, false
}

// TestRunServesMetrics scrapes /metrics while run works, until admitted
// and failed jobs show, then stops run and waits for it.
func TestRunServesMetrics(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, "127.0.0.1:0", 30*time.Second, func(addr string) { addrc <- addr })
	}()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-done:
		t.Fatalf("run returned before serving: %v", err)
	}

	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	url := "http://" + addr + "/metrics"
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var admitted, failed float64
	for admitted == 0 || failed == 0 {
		select {
		case err := <-done:
			t.Fatalf("run ended (%v) with admitted=%v, error=%v", err, admitted, failed)
		case <-tick.C:
		}
		families := scrape(t, client, url)
		var ok bool
		if admitted, ok = value(families, "weir_pool_admissions_total", "result", "admitted"); !ok {
			t.Fatal(`no weir_pool_admissions_total{result="admitted"}`)
		}
		if failed, ok = value(families, "weir_pool_job_completions_total", "outcome", "error"); !ok {
			t.Fatal(`no weir_pool_job_completions_total{outcome="error"}`)
		}
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}

// TestRunStopsAfterDuration: run returns by itself once duration passed.
func TestRunStopsAfterDuration(t *testing.T) {
	if err := run(context.Background(), "127.0.0.1:0", 100*time.Millisecond, func(string) {}); err != nil {
		t.Fatal(err)
	}
}
