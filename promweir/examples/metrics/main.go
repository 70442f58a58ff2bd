// Command metrics runs a weir pool doing work and serves its promweir
// metrics at /metrics, for a look at them or at dashboard.json.
//
//	go run ./examples/metrics -duration 30s
//	curl -s http://127.0.0.1:9464/metrics | grep weir_pool_
//
// A pool of limit 8 runs jobs that sleep 5 to 50 ms, one in ten of them
// failing, submitted by more callers than the limit, some through Submit
// and some through Do. Midway (or every 15s without -duration) the limit
// changes between 8 and 4.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/weir-go/weir/job"
	"github.com/weir-go/weir/pool"
	"github.com/weir-go/weir/promweir"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9464", "address to serve /metrics on")
	duration := flag.Duration("duration", 0, "stop after this long (0: run until interrupted)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, *addr, *duration, func(bound string) {
		fmt.Printf("serving metrics at http://%s/metrics\n", bound)
	})
	if err != nil {
		log.Fatal(err)
	}
}

const (
	limit   = 8
	callers = 12 // more than the limit, so that jobs queue and Do calls wait
)

var errJob = errors.New("job failed")

// run serves /metrics on addr, calls ready with the address it is bound to,
// and keeps a pool busy until ctx ends or, if duration > 0, duration has
// passed. Then it stops the callers, closes the pool and the server.
func run(ctx context.Context, addr string, duration time.Duration, ready func(addr string)) error {
	if duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, duration)
		defer cancel()
	}

	c, err := promweir.New()
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	p, err := pool.New(limit, pool.WithName("example"), pool.WithObserver(c.Observer()))
	if err != nil {
		return err
	}
	defer p.Close()
	if err := c.Add(p); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	ready(ln.Addr().String())

	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() { call(ctx, p, i%3 == 0) })
	}
	every := 15 * time.Second
	if duration > 0 {
		every = duration / 2
	}
	wg.Go(func() { resize(ctx, p, every) })
	wg.Wait()

	if err := p.Close(); err != nil {
		return err
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// call runs jobs on p one after another until ctx ends: through Do if do,
// otherwise through Submit, waiting for each.
func call(ctx context.Context, p *pool.Pool, do bool) {
	for ctx.Err() == nil {
		var weight int64 = 1
		if rand.N(4) == 0 {
			weight = 2
		}
		if do {
			_ = p.Do(ctx, job.Func(work), job.WithWeight(weight))
			continue
		}
		h, err := p.Submit(ctx, job.Func(work), job.WithWeight(weight))
		if err != nil {
			continue // ctx ended, or the pool is closed
		}
		_ = h.Wait()
	}
}

// work sleeps 5 to 50 ms and fails one time in ten.
func work(ctx context.Context) error {
	t := time.NewTimer(5*time.Millisecond + rand.N(46*time.Millisecond))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
	}
	if rand.N(10) == 0 {
		return errJob
	}
	return nil
}

// resize switches p's limit between limit and limit/2 every interval until
// ctx ends.
func resize(ctx context.Context, p *pool.Pool, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			next := int64(limit)
			if p.Limit() == limit {
				next = limit / 2
			}
			if err := p.Resize(next); err != nil {
				log.Print(err)
			}
		}
	}
}
