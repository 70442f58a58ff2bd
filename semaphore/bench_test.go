package semaphore_test

import (
	"context"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"

	"github.com/weir-go/weir/semaphore"
	xsem "golang.org/x/sync/semaphore"
)

// sem is the calls the benchmarks make, so that weir, x/sync and a channel
// semaphore run the same code in the same run.
type sem interface {
	Acquire(ctx context.Context, n int64) error
	Release(n int64)
}

// chanSem is the common channel semaphore; it supports weight 1 only.
type chanSem chan struct{}

func (c chanSem) Acquire(ctx context.Context, n int64) error {
	select {
	case c <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c chanSem) Release(int64) { <-c }

type impl struct {
	name     string
	new      func(n int64) sem
	weighted bool
}

var impls = []impl{
	{"weir", func(n int64) sem { return semaphore.NewWeighted(n) }, true},
	{"xsync", func(n int64) sem { return xsem.NewWeighted(n) }, true},
	{"chan", func(n int64) sem { return make(chanSem, n) }, false},
}

func BenchmarkAcquireRelease(b *testing.B) {
	ctx := context.Background()
	for _, im := range impls {
		b.Run("uncontended/"+im.name, func(b *testing.B) {
			s := im.new(1)
			b.ReportAllocs()
			for b.Loop() {
				_ = s.Acquire(ctx, 1)
				s.Release(1)
			}
		})
	}
	for _, im := range impls {
		b.Run("parallel/"+im.name, func(b *testing.B) {
			s := im.new(1 << 20)
			b.ReportAllocs()
			b.SetParallelism(1) // GOMAXPROCS goroutines: 2 on a 2-core machine
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					_ = s.Acquire(ctx, 1)
					s.Release(1)
				}
			})
		})
	}
	for _, size := range []int64{1, 4} {
		for _, im := range impls {
			b.Run("blocking/size="+strconv.FormatInt(size, 10)+"/"+im.name, func(b *testing.B) {
				benchGoroutines(b, im.new(size), 16, func(*rand.Rand) int64 { return 1 })
			})
		}
	}
	for _, im := range impls {
		if !im.weighted {
			continue
		}
		b.Run("weighted/size=10/"+im.name, func(b *testing.B) {
			benchGoroutines(b, im.new(10), 16, func(r *rand.Rand) int64 { return 1 + r.Int64N(3) })
		})
	}
}

// benchGoroutines shares b.N Acquire+Release pairs among g goroutines.
func benchGoroutines(b *testing.B, s sem, g int, weight func(*rand.Rand) int64) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range g {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(i), 1))
				<-start
				for range 1000 {
					n := weight(r)
					_ = s.Acquire(ctx, n)
					s.Release(n)
				}
			})
		}
		b.StartTimer()
		close(start)
		wg.Wait()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*g*1000), "ns/acquire")
}
