package redislimit_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"golang.org/x/sync/semaphore"

	"github.com/weir-go/weir/redislimit"
)

// BenchmarkAcquireRelease measures Acquire+Release pairs on loopback: one
// pair at a time (two round trips), and 8 pairs in flight at once, with
// room for all (limit=1000) or queueing for half of them (limit=4). It runs
// against a redis-server the benchmark starts, or miniredis without one.
func BenchmarkAcquireRelease(b *testing.B) {
	var srv *testServer
	if haveRedis() {
		srv = startRedis(b)
	} else {
		srv = startMiniredis(b)
	}
	ctx := context.Background()
	b.Run(fmt.Sprintf("server=%s/inflight=1", srv.kind), func(b *testing.B) {
		s := open(b, srv, 1000)
		b.ReportAllocs()
		for b.Loop() {
			l, err := s.Acquire(ctx, 1)
			if err != nil {
				b.Fatal(err)
			}
			l.Release()
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pairs/s")
	})
	for _, limit := range []int64{1000, 4} {
		b.Run(fmt.Sprintf("server=%s/inflight=8/limit=%d", srv.kind, limit), func(b *testing.B) {
			inflight(b, open(b, srv, limit))
		})
	}
}

func inflight(b *testing.B, s *redislimit.Semaphore) {
	ctx := context.Background()
	{
		b.ReportAllocs()
		for b.Loop() {
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					l, err := s.Acquire(ctx, 1)
					if err != nil {
						b.Error(err)
						return
					}
					l.Release()
				})
			}
			wg.Wait()
		}
		b.ReportMetric(float64(8*b.N)/b.Elapsed().Seconds(), "pairs/s")
	}
}

// BenchmarkLocalSemaphore is the in-process figure to compare with.
func BenchmarkLocalSemaphore(b *testing.B) {
	s := semaphore.NewWeighted(1000)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Acquire(ctx, 1); err != nil {
			b.Fatal(err)
		}
		s.Release(1)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pairs/s")
}
