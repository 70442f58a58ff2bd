package pool_test

import (
	"context"
	"runtime"
	"strconv"
	"sync"
	"testing"

	"github.com/panjf2000/ants/v2"
	"github.com/weir-go/weir/job"
	"github.com/weir-go/weir/pool"
	"github.com/weir-go/weir/semaphore"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

var noop = job.Func(func(context.Context) error { return nil })

func newPool(b *testing.B, limit int64, opts ...pool.Option) *pool.Pool {
	p, err := pool.New(limit, opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = p.Close() })
	return p
}

// BenchmarkSubmitWait measures a no-op Submit followed by Wait on its
// handle, against ants with a channel per job as the floor.
func BenchmarkSubmitWait(b *testing.B) {
	ctx := context.Background()
	for _, limit := range []int64{2, 1000} {
		b.Run("limit="+strconv.FormatInt(limit, 10)+"/weir", func(b *testing.B) {
			p := newPool(b, limit)
			b.ReportAllocs()
			for b.Loop() {
				h, err := p.Submit(ctx, noop)
				if err != nil {
					b.Fatal(err)
				}
				if err := h.Wait(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("limit="+strconv.FormatInt(limit, 10)+"/ants+chan", func(b *testing.B) {
			ap, err := ants.NewPool(int(limit))
			if err != nil {
				b.Fatal(err)
			}
			defer ap.Release()
			b.ReportAllocs()
			for b.Loop() {
				done := make(chan error, 1)
				if err := ap.Submit(func() { done <- noop(ctx) }); err != nil {
					b.Fatal(err)
				}
				if err := <-done; err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFireAndForget submits 1000 no-op jobs without keeping their
// handles, then waits for the pool; ns/op is per job.
func BenchmarkFireAndForget(b *testing.B) {
	ctx := context.Background()
	for _, limit := range []int64{2, 1000} {
		b.Run("limit="+strconv.FormatInt(limit, 10)+"/weir", func(b *testing.B) {
			p := newPool(b, limit)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Submit(ctx, noop); err != nil {
					b.Fatal(err)
				}
			}
			p.Wait()
		})
		b.Run("limit="+strconv.FormatInt(limit, 10)+"/ants+waitgroup", func(b *testing.B) {
			ap, err := ants.NewPool(int(limit))
			if err != nil {
				b.Fatal(err)
			}
			defer ap.Release()
			var wg sync.WaitGroup
			b.ReportAllocs()
			for b.Loop() {
				wg.Add(1)
				if err := ap.Submit(func() { _ = noop(ctx); wg.Done() }); err != nil {
					b.Fatal(err)
				}
			}
			wg.Wait()
		})
	}
}

// BenchmarkResult measures the typed-result handle.
func BenchmarkResult(b *testing.B) {
	ctx := context.Background()
	p := newPool(b, 1000)
	f := func(context.Context) (int, error) { return 1, nil }
	b.ReportAllocs()
	for b.Loop() {
		r, err := pool.SubmitResult(ctx, p, f)
		if err != nil {
			b.Fatal(err)
		}
		if v, err := r.Wait(); err != nil || v != 1 {
			b.Fatal(v, err)
		}
	}
}

// BenchmarkDo compares Do with a bare semaphore Acquire+Release around the
// same call.
func BenchmarkDo(b *testing.B) {
	ctx := context.Background()
	b.Run("weir-do", func(b *testing.B) {
		p := newPool(b, 10)
		b.ReportAllocs()
		for b.Loop() {
			if err := p.Do(ctx, noop); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("semaphore", func(b *testing.B) {
		s := semaphore.NewWeighted(10)
		b.ReportAllocs()
		for b.Loop() {
			if err := s.Acquire(ctx, 1); err != nil {
				b.Fatal(err)
			}
			_ = noop(ctx)
			s.Release(1)
		}
	})
}

// BenchmarkDoContended is Do from 16 goroutines on a limit of 4, so that
// most calls wait, against a channel semaphore around the same call.
func BenchmarkDoContended(b *testing.B) {
	ctx := context.Background()
	const limit, callers = 4, 16
	run := func(b *testing.B, call func()) {
		b.ReportAllocs()
		b.SetParallelism(callers / runtime.GOMAXPROCS(0))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				call()
			}
		})
	}
	b.Run("weir-do", func(b *testing.B) {
		p := newPool(b, limit)
		run(b, func() {
			if err := p.Do(ctx, noop); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("chansem", func(b *testing.B) {
		sem := make(chan struct{}, limit)
		run(b, func() {
			sem <- struct{}{}
			_ = noop(ctx)
			<-sem
		})
	})
}

// BenchmarkLogging shows that logging costs no allocation when it is off
// and what Info with Debug filtered costs.
func BenchmarkLogging(b *testing.B) {
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		opts []pool.Option
	}{
		{"off", nil},
		{"info", []pool.Option{pool.WithLogger(zap.New(zapcore.NewCore(
			zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(discard{}), zap.InfoLevel)))}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			p := newPool(b, 10, tt.opts...)
			b.ReportAllocs()
			for b.Loop() {
				if err := p.Do(ctx, noop); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
