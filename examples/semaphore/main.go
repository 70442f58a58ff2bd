// Command semaphore is the classic threads demonstration on weir's weighted
// semaphore: ten workers share a semaphore of size 3, so at most three work
// at once. It prints each worker as it starts working, then the peak number
// of workers that held a permit at the same time.
//
//	go run ./examples/semaphore
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

	"github.com/weir-go/weir/semaphore"
)

func main() {
	workers := flag.Int("workers", 10, "number of workers")
	size := flag.Int64("size", 3, "semaphore size: workers allowed to work at once")
	hold := flag.Duration("hold", 100*time.Millisecond, "how long each worker holds its permit")
	flag.Parse()

	peak, err := run(context.Background(), os.Stdout, *workers, *size, *hold)
	if err != nil {
		fmt.Fprintln(os.Stderr, "semaphore:", err)
		os.Exit(1)
	}
	fmt.Printf("Peak workers holding a permit at once: %d (size %d)\n", peak, *size)
	fmt.Println("All workers finished")
}

// run starts the workers, waits for all of them (the tutorial's join), and
// returns the largest number that held a permit at once.
func run(ctx context.Context, out io.Writer, workers int, size int64, hold time.Duration) (int64, error) {
	sem := semaphore.NewWeighted(size)
	var (
		mu          sync.Mutex // serialises writes to out
		active, top atomic.Int64
		wg          sync.WaitGroup
		errs        = make(chan error, workers)
	)
	for i := 1; i <= workers; i++ {
		wg.Go(func() {
			if err := sem.Acquire(ctx, 1); err != nil {
				errs <- err
				return
			}
			defer sem.Release(1)

			now := active.Add(1)
			for p := top.Load(); now > p && !top.CompareAndSwap(p, now); p = top.Load() {
			}
			mu.Lock()
			fmt.Fprintf(out, "worker-%d is working\n", i)
			mu.Unlock()
			time.Sleep(hold)
			active.Add(-1)
		})
	}
	wg.Wait()
	close(errs)
	return top.Load(), <-errs
}
