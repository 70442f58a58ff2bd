package benchmarks

import (
	"context"
	"io"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weir-go/weir/pool"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Every scenario is a Benchmark<Scenario> function whose sub-benchmarks
// are named limit=N/<peer>, so that cmd/compare and benchstat line the
// peers up. Unless said otherwise a job does nothing: the scenarios
// measure what each peer adds to a job, not the job.
//
// Peers that lack what a scenario measures are skipped there, never
// emulated at a cost that is not theirs:
//   - Result: only weir and pond hand back a typed value per job; raw ants
//     with a typed channel per job runs as the floor. conc's ResultPool
//     returns every value at once from Wait, a different contract, and the
//     others would be the same channel as ants.
//   - Sem*: semaphores only (weir, x/sync, a channel); the channel
//     semaphore supports weight 1 only, so it skips SemWeighted.
//   - Logging: weir only.

var ctx = context.Background()

func noop() {}

func limitName(n int) string { return "limit=" + strconv.Itoa(n) }

// overheadLimits are the limits of the tiny-job scenarios: contended (2 on
// a 2-core machine) and roomy.
var overheadLimits = []int{2, 1000}

// eachPeer runs f as a sub-benchmark for every peer that keep accepts.
func eachPeer(b *testing.B, keep func(Peer) bool, f func(b *testing.B, peer Peer)) {
	for _, peer := range Peers {
		if keep != nil && !keep(peer) {
			continue
		}
		b.Run(peer.Name, func(b *testing.B) { f(b, peer) })
	}
}

// BenchmarkSubmitWait (scenario 1) submits a no-op job and waits for it
// through its handle; ns/op is per job.
func BenchmarkSubmitWait(b *testing.B) {
	for _, limit := range overheadLimits {
		b.Run(limitName(limit), func(b *testing.B) {
			eachPeer(b, nil, func(b *testing.B, peer Peer) {
				p := peer.New(limit, noop)
				defer p.Close()
				b.ReportAllocs()
				for b.Loop() {
					h, err := p.Submit(ctx)
					if err != nil {
						b.Fatal(err)
					}
					if err := h.Wait(); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// fireBatch is how many fire-and-forget jobs go between two waits for all.
const fireBatch = 1000

// BenchmarkFireForget (scenario 2) submits no-op jobs without handles and
// waits for all of them after every fireBatch; ns/op is per job, waits
// included, so that peers that queue jobs instead of running them are not
// flattered.
func BenchmarkFireForget(b *testing.B) {
	for _, limit := range overheadLimits {
		b.Run(limitName(limit), func(b *testing.B) {
			eachPeer(b, nil, func(b *testing.B, peer Peer) {
				p := peer.New(limit, noop)
				defer p.Close()
				b.ReportAllocs()
				n := 0
				for b.Loop() {
					if err := p.Go(ctx); err != nil {
						b.Fatal(err)
					}
					if n++; n%fireBatch == 0 {
						p.Wait()
					}
				}
				p.Wait()
			})
		})
	}
}

// BenchmarkResult (scenario 3) submits a job that returns an int and waits
// for the value; ns/op is per job. Peers without typed results skip it.
func BenchmarkResult(b *testing.B) {
	for _, limit := range overheadLimits {
		b.Run(limitName(limit), func(b *testing.B) {
			eachPeer(b, nil, func(b *testing.B, peer Peer) {
				p := peer.New(limit, noop)
				defer p.Close()
				r, ok := p.(Resulter)
				if !ok {
					b.Skip(peer.Name, "has no typed result per job")
				}
				b.ReportAllocs()
				for b.Loop() {
					h, err := r.SubmitResult(ctx)
					if err != nil {
						b.Fatal(err)
					}
					if v, err := h.Wait(); err != nil || v != 1 {
						b.Fatal(v, err)
					}
				}
			})
		})
	}
}

// eachSem runs f for every semaphore that keep accepts.
func eachSem(b *testing.B, keep func(SemPeer) bool, f func(b *testing.B, s SemPeer)) {
	for _, s := range SemPeers {
		if keep != nil && !keep(s) {
			continue
		}
		b.Run(s.Name, func(b *testing.B) { f(b, s) })
	}
}

// BenchmarkSemUncontended (scenario 4a): Acquire(1)+Release(1) from one
// goroutine.
func BenchmarkSemUncontended(b *testing.B) {
	b.Run(limitName(1), func(b *testing.B) {
		eachSem(b, nil, func(b *testing.B, sp SemPeer) {
			s := sp.New(1)
			b.ReportAllocs()
			for b.Loop() {
				if err := s.Acquire(ctx, 1); err != nil {
					b.Fatal(err)
				}
				s.Release(1)
			}
		})
	})
}

// semSize is a semaphore too large to block.
const semSize = 1 << 20

// BenchmarkSemParallel (scenario 4b): GOMAXPROCS goroutines (2 here) do
// Acquire(1)+Release(1) on a semaphore too large to block; ns/op is per
// batch of 1000 per goroutine, ns/acquire per pair.
func BenchmarkSemParallel(b *testing.B) {
	b.Run(limitName(semSize), func(b *testing.B) {
		eachSem(b, nil, func(b *testing.B, sp SemPeer) {
			semGoroutines(b, sp.New(semSize), runtime.GOMAXPROCS(0), one)
		})
	})
}

// BenchmarkSemBlocking (scenario 4c): 16 goroutines on a semaphore of size
// 1 and 4, so most Acquires block.
func BenchmarkSemBlocking(b *testing.B) {
	for _, size := range []int{1, 4} {
		b.Run(limitName(size), func(b *testing.B) {
			eachSem(b, nil, func(b *testing.B, sp SemPeer) {
				semGoroutines(b, sp.New(int64(size)), 16, one)
			})
		})
	}
}

// BenchmarkSemWeighted (scenario 4d): 16 goroutines acquire random weights
// 1..3 on a semaphore of size 10. The channel semaphore has no weights.
func BenchmarkSemWeighted(b *testing.B) {
	b.Run(limitName(10), func(b *testing.B) {
		eachSem(b, func(sp SemPeer) bool { return sp.Weighted }, func(b *testing.B, sp SemPeer) {
			semGoroutines(b, sp.New(10), 16, func(r *rand.Rand) int64 { return 1 + r.Int64N(3) })
		})
	})
}

func one(*rand.Rand) int64 { return 1 }

// semPairs is how many Acquire+Release pairs each goroutine makes per
// iteration of semGoroutines.
const semPairs = 1000

// semGoroutines times g goroutines each making semPairs Acquire+Release
// pairs of the given weights, and reports ns per pair as ns/acquire.
func semGoroutines(b *testing.B, s Sem, g int, weight func(*rand.Rand) int64) {
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range g {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(i), 1))
				<-start
				for range semPairs {
					n := weight(r)
					if err := s.Acquire(ctx, n); err != nil {
						panic(err)
					}
					s.Release(n)
				}
			})
		}
		b.StartTimer()
		close(start)
		wg.Wait()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*g*semPairs), "ns/acquire")
}

// BenchmarkIOBound (scenario 5) runs 100,000 jobs that each sleep 10 ms at
// limit 1,000 (2,000 at limit 100 under -short), submitted from one
// goroutine as fast as the peer takes them; ns/op is the whole batch.
// x-ideal is the makespan over the ideal (jobs/limit x 10 ms, 1.0 s);
// peak-MB is the highest heap-in-use plus stack-in-use seen (sampled every
// 10 ms) above what was in use before the pool was made.
func BenchmarkIOBound(b *testing.B) {
	jobs, limit := 100_000, 1000
	if testing.Short() {
		jobs, limit = 2000, 100
	}
	const sleep = 10 * time.Millisecond
	ideal := time.Duration((jobs+limit-1)/limit) * sleep
	b.Run(limitName(limit), func(b *testing.B) {
		eachPeer(b, nil, func(b *testing.B, peer Peer) {
			b.ReportAllocs()
			var makespan time.Duration
			var peak uint64
			for b.Loop() {
				b.StopTimer()
				m := sampleMemory(10 * time.Millisecond)
				p := peer.New(limit, func() { time.Sleep(sleep) })
				b.StartTimer()
				start := time.Now()
				for range jobs {
					if err := p.Go(ctx); err != nil {
						b.Fatal(err)
					}
				}
				p.Wait()
				makespan += time.Since(start)
				b.StopTimer()
				peak = max(peak, m.stop())
				p.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(makespan)/float64(b.N)/float64(ideal), "x-ideal")
			b.ReportMetric(float64(peak)/1e6, "peak-MB")
		})
	})
}

// BenchmarkBurst (scenario 6) submits 1,000,000 jobs at limit 10,000
// (20,000 at limit 1,000 under -short) as fast as the peer takes them,
// with every job held at a gate, so that limit jobs run and the rest
// queue; then it opens the gate and waits for all. Peers whose Go blocks
// for admission get a goroutine per queued job, as their users would
// have to. ns/op is the whole burst; submit-ms the time until every job
// is running or queued, drain-ms the time from opening the gate until all
// have finished; B/queued is the live memory (heap after a GC, plus
// stacks) that the queued jobs add to the running ones, per queued job.
// Goroutine descriptors are reused from a warm-up, so B/queued does not
// count the ~400 B the runtime keeps per goroutine ever made.
func BenchmarkBurst(b *testing.B) {
	jobs, limit := 1_000_000, 10_000
	if testing.Short() {
		jobs, limit = 20_000, 1000
	}
	// Goroutine descriptors are never freed, only reused: without this,
	// the first peer to park a goroutine per queued job would pay for
	// them (about 400 B each) and the peers after it would not.
	warmGoroutines(jobs)
	b.Run(limitName(limit), func(b *testing.B) {
		eachPeer(b, nil, func(b *testing.B, peer Peer) {
			b.ReportAllocs()
			var submit, drain time.Duration
			var perQueued float64
			for b.Loop() {
				b.StopTimer()
				g := &gate{open: make(chan struct{})}
				p := peer.New(limit, g.work)
				b.StartTimer()

				start := time.Now()
				for range limit {
					if err := p.Go(ctx); err != nil {
						b.Fatal(err)
					}
				}
				g.waitStarted(int64(limit))
				b.StopTimer()
				running := liveMemory()
				b.StartTimer()

				queued := jobs - limit
				var submitters sync.WaitGroup
				if peer.Blocking {
					var entered atomic.Int64
					for range queued {
						submitters.Go(func() {
							entered.Add(1)
							if err := p.Go(ctx); err != nil {
								panic(err)
							}
						})
					}
					for entered.Load() < int64(queued) {
						time.Sleep(time.Millisecond)
					}
					time.Sleep(20 * time.Millisecond) // let the last ones park
				} else {
					for range queued {
						if err := p.Go(ctx); err != nil {
							b.Fatal(err)
						}
					}
				}
				submit += time.Since(start)
				b.StopTimer()
				full := liveMemory()
				b.StartTimer()

				opened := time.Now()
				close(g.open)
				submitters.Wait()
				p.Wait()
				drain += time.Since(opened)
				if n := g.started.Load(); n != int64(jobs) {
					b.Fatalf("%d jobs ran, want %d", n, jobs)
				}

				b.StopTimer()
				p.Close()
				perQueued = max(perQueued, (float64(full)-float64(running))/float64(queued))
				b.StartTimer()
			}
			b.ReportMetric(perQueued, "B/queued")
			b.ReportMetric(float64(submit.Milliseconds())/float64(b.N), "submit-ms")
			b.ReportMetric(float64(drain.Milliseconds())/float64(b.N), "drain-ms")
		})
	})
}

// warmGoroutines makes n goroutines exist at once and end, so that the
// runtime has n descriptors to reuse.
func warmGoroutines(n int) {
	var wg sync.WaitGroup
	release := make(chan struct{})
	for range n {
		wg.Go(func() { <-release })
	}
	close(release)
	wg.Wait()
}

// gate holds every job until open is closed.
type gate struct {
	open    chan struct{}
	started atomic.Int64
}

func (g *gate) work() {
	g.started.Add(1)
	<-g.open
}

// waitStarted waits until n jobs have started.
func (g *gate) waitStarted(n int64) {
	for g.started.Load() < n {
		time.Sleep(100 * time.Microsecond)
	}
}

// BenchmarkLogging (scenario 7) is SubmitWait on weir with logging off
// (the default no-op logger), with a zap logger at Info (so the per-job
// Debug events are filtered out), and, for scale, at Debug (every job
// writes two JSON lines); the zap core writes to io.Discard.
func BenchmarkLogging(b *testing.B) {
	const limit = 1000
	logger := func(level zapcore.Level) pool.Option {
		enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
		return pool.WithLogger(zap.New(zapcore.NewCore(enc, zapcore.AddSync(io.Discard), level)))
	}
	b.Run(limitName(limit), func(b *testing.B) {
		for _, tt := range []struct {
			name string
			opts []pool.Option
		}{
			{"weir-zap-off", nil},
			{"weir-zap-info", []pool.Option{logger(zap.InfoLevel)}},
			{"weir-zap-debug", []pool.Option{logger(zap.DebugLevel)}},
		} {
			b.Run(tt.name, func(b *testing.B) {
				p := NewWeir(limit, noop, tt.opts...)
				defer p.Close()
				b.ReportAllocs()
				for b.Loop() {
					h, err := p.Submit(ctx)
					if err != nil {
						b.Fatal(err)
					}
					if err := h.Wait(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	})
}
