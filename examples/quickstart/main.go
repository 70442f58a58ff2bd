// Command quickstart is the threads tutorial's Semaphore(3) demonstration
// on a weir pool: ten jobs named job-1..job-10 share a pool of limit 3.
// Each job prints its own name, read from its ctx, works briefly and
// returns; main waits on every handle and prints the peak number of jobs
// that ran at once.
//
//	go run ./examples/quickstart        # the demonstration
//	go run ./examples/quickstart -v     # with the pool's Debug events
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weir-go/weir/job"
	"github.com/weir-go/weir/pool"
	"go.uber.org/zap"
)

func main() {
	verbose := flag.Bool("v", false, "log the pool's acquire and release events (zap, Debug)")
	jobs := flag.Int("jobs", 10, "number of jobs")
	limit := flag.Int64("limit", 3, "jobs allowed to run at once")
	work := flag.Duration("work", 100*time.Millisecond, "how long each job works")
	flag.Parse()

	logger := zap.NewNop()
	if *verbose {
		var err error
		if logger, err = zap.NewDevelopment(); err != nil {
			fmt.Fprintln(os.Stderr, "quickstart:", err)
			os.Exit(1)
		}
		defer func() { _ = logger.Sync() }()
	}
	peak, err := run(context.Background(), os.Stdout, logger, *jobs, *limit, *work)
	if err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
	fmt.Printf("Peak jobs running at once: %d (limit %d)\n", peak, *limit)
	fmt.Println("All jobs finished")
}

// run submits the jobs, waits on every handle, and returns the peak number
// that ran at once.
func run(ctx context.Context, out io.Writer, logger *zap.Logger, jobs int, limit int64, work time.Duration) (int64, error) {
	p, err := pool.New(limit, pool.WithName("quickstart"), pool.WithLogger(logger))
	if err != nil {
		return 0, err
	}
	defer p.Close()

	var (
		mu           sync.Mutex // serialises writes to out
		running, top atomic.Int64
	)
	worker := func(ctx context.Context) error {
		now := running.Add(1)
		defer running.Add(-1)
		for p := top.Load(); now > p && !top.CompareAndSwap(p, now); p = top.Load() {
		}
		mu.Lock()
		fmt.Fprintf(out, "%s is working\n", job.NameFrom(ctx))
		mu.Unlock()
		select {
		case <-time.After(work):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}

	handles := make([]*job.Handle, 0, jobs)
	for i := 1; i <= jobs; i++ {
		h, err := p.Go(ctx, worker, job.WithName(fmt.Sprintf("job-%d", i)))
		if err != nil {
			return 0, err
		}
		handles = append(handles, h)
	}
	for _, h := range handles {
		if err := h.Wait(); err != nil {
			return 0, fmt.Errorf("%s: %w", h.Name(), err)
		}
	}
	return top.Load(), nil
}
