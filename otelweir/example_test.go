package otelweir_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/weir-go/weir/job"
	"github.com/weir-go/weir/otelweir"
	"github.com/weir-go/weir/pool"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

func Example() {
	// The application sets up the SDK; a manual reader stands in here for
	// an exporter.
	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer provider.Shutdown(context.Background())

	m, err := otelweir.New(provider)
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := pool.New(4, pool.WithName("db"), pool.WithObserver(m.Observer()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	if err := m.Add(p); err != nil {
		fmt.Println(err)
		return
	}

	ctx := context.Background()
	for i := range 3 {
		_ = p.Do(ctx, job.Func(func(context.Context) error {
			if i == 2 {
				return errors.New("timeout")
			}
			return nil
		}))
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		fmt.Println(err)
		return
	}
	for _, sm := range rm.ScopeMetrics {
		for _, md := range sm.Metrics {
			switch d := md.Data.(type) {
			case metricdata.Gauge[int64]:
				if md.Name == "weir.pool.weight.limit" {
					fmt.Println(md.Name, d.DataPoints[0].Value)
				}
			case metricdata.Sum[int64]:
				if md.Name == "weir.pool.job.completions" {
					for _, dp := range d.DataPoints {
						outcome, _ := dp.Attributes.Value("outcome")
						fmt.Println(md.Name, outcome.String(), dp.Value)
					}
				}
			}
		}
	}
	// Unordered output:
	// weir.pool.weight.limit 4
	// weir.pool.job.completions success 2
	// weir.pool.job.completions error 1
}
