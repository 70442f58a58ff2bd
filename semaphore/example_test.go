package semaphore_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/weir-go/weir/semaphore"
)

// A semaphore of size 3 lets at most 3 of 10 workers run at once.
func ExampleWeighted() {
	ctx := context.Background()
	sem := semaphore.NewWeighted(3)

	var running, peak, total atomic.Int64
	started := make(chan struct{}, 10)
	proceed := make(chan struct{})
	var wg sync.WaitGroup
	for i := 1; i <= 10; i++ {
		wg.Go(func() {
			if err := sem.Acquire(ctx, 1); err != nil {
				return
			}
			defer sem.Release(1)

			n := running.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			started <- struct{}{}
			<-proceed
			total.Add(int64(i * i))
			running.Add(-1)
		})
	}

	// Three workers are running; the other seven wait for a slot.
	for range 3 {
		<-started
	}
	fmt.Println("in use:", sem.InUse())
	fmt.Println("a fourth slot:", sem.TryAcquire(1))

	close(proceed)
	wg.Wait()
	fmt.Println("peak concurrency:", peak.Load())
	fmt.Println("sum of squares:", total.Load())
	fmt.Println("in use at the end:", sem.InUse())
	// Output:
	// in use: 3
	// a fourth slot: false
	// peak concurrency: 3
	// sum of squares: 385
	// in use at the end: 0
}

func ExampleWeighted_TryAcquire() {
	sem := semaphore.NewWeighted(4)

	fmt.Println(sem.TryAcquire(3)) // 3 of 4 taken
	fmt.Println(sem.TryAcquire(2)) // only 1 left
	fmt.Println(sem.TryAcquire(1)) // the last one
	fmt.Println(sem.TryAcquire(0)) // zero always fits when nobody waits
	sem.Release(4)
	fmt.Println(sem.TryAcquire(4), sem.InUse())
	// Output:
	// true
	// false
	// true
	// true
	// true 4
}

func ExampleWeighted_Resize() {
	ctx := context.Background()
	sem := semaphore.NewWeighted(4)
	_ = sem.Acquire(ctx, 4)

	// Shrinking takes nothing back: InUse exceeds Size until released.
	sem.Resize(2)
	fmt.Println("size", sem.Size(), "in use", sem.InUse(), "try 1:", sem.TryAcquire(1))
	sem.Release(3)
	fmt.Println("size", sem.Size(), "in use", sem.InUse(), "try 1:", sem.TryAcquire(1))
	sem.Release(2)

	// A request larger than the size waits until a Resize makes it fit.
	granted := make(chan error)
	go func() { granted <- sem.Acquire(ctx, 5) }()
	for sem.Waiting() == 0 { // wait until the request is queued
		runtime.Gosched()
	}
	fmt.Println("waiting:", sem.Waiting())
	sem.Resize(5)
	fmt.Println("acquire 5:", <-granted, "size", sem.Size(), "in use", sem.InUse())
	sem.Release(5)
	// Output:
	// size 2 in use 4 try 1: false
	// size 2 in use 1 try 1: true
	// waiting: 1
	// acquire 5: <nil> size 5 in use 5
}
