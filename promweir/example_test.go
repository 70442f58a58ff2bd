package promweir_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/weir-go/weir/job"
	"github.com/weir-go/weir/pool"
	"github.com/weir-go/weir/promweir"
)

func Example() {
	c, err := promweir.New()
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := pool.New(4, pool.WithName("db"), pool.WithObserver(c.Observer()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	if err := c.Add(p); err != nil {
		fmt.Println(err)
		return
	}
	reg := prometheus.NewRegistry() // or prometheus.MustRegister(c), and promhttp.Handler()
	reg.MustRegister(c)

	ctx := context.Background()
	for i := range 3 {
		_ = p.Do(ctx, job.Func(func(context.Context) error {
			if i == 2 {
				return errors.New("timeout")
			}
			return nil
		}))
	}

	families, err := reg.Gather()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, mf := range families {
		if slices.Contains([]string{"weir_pool_weight_limit", "weir_pool_job_completions_total"}, mf.GetName()) {
			expfmt.MetricFamilyToText(os.Stdout, mf)
		}
	}
	// Output:
	// # HELP weir_pool_job_completions_total Jobs and Do calls that ended, by outcome.
	// # TYPE weir_pool_job_completions_total counter
	// weir_pool_job_completions_total{outcome="canceled",pool="db"} 0
	// weir_pool_job_completions_total{outcome="error",pool="db"} 1
	// weir_pool_job_completions_total{outcome="panic",pool="db"} 0
	// weir_pool_job_completions_total{outcome="success",pool="db"} 2
	// # HELP weir_pool_weight_limit The most weight that may run at once.
	// # TYPE weir_pool_weight_limit gauge
	// weir_pool_weight_limit{pool="db"} 4
}
