package benchmarks

import (
	"context"
	"testing"

	"github.com/alitto/pond/v2"
	concpool "github.com/sourcegraph/conc/pool"
	"github.com/weir-go/weir/group"
	"github.com/weir-go/weir/pool"
	"golang.org/x/sync/errgroup"
)

// groupBatch is how many functions BenchmarkGroup gives a group before
// waiting for them.
const groupBatch = 1000

// groupLimits are the limits of BenchmarkGroup: one where Go blocks most
// of the time (8), and one where it never does (1000, the batch).
var groupLimits = []int{8, groupBatch}

// BenchmarkGroup (scenario 8) makes a group, gives it 1,000 no-op
// functions and waits for them; ns/op is the whole batch. It compares
// the groups that errgroup users would pick: weir's group (errgroup's
// API), weir's pool.Group (on a pool of the same limit, made once),
// errgroup with SetLimit, a conc pool with WithMaxGoroutines (its
// Wait ends the pool, so a pool per batch) and a pond group on a pond
// pool of the same limit, made once (pond's groups borrow a pool). The
// function is made once, so allocs/op are what each group adds.
func BenchmarkGroup(b *testing.B) {
	f := func() error { return nil }
	for _, limit := range groupLimits {
		b.Run(limitName(limit), func(b *testing.B) {
			b.Run("weir", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					var g group.Group
					g.SetLimit(limit)
					for range groupBatch {
						g.Go(f)
					}
					if err := g.Wait(); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("weir-pool", func(b *testing.B) {
				// pool.Group: a group on a weir pool of the same limit,
				// made once, sharing its weighted limit.
				p, err := pool.New(int64(limit))
				if err != nil {
					b.Fatal(err)
				}
				defer p.Close()
				jf := func(context.Context) error { return nil }
				b.ReportAllocs()
				for b.Loop() {
					g, _ := p.Group(ctx)
					for range groupBatch {
						if _, err := g.Go(jf); err != nil {
							b.Fatal(err)
						}
					}
					if err := g.Wait(); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("errgroup", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					var g errgroup.Group
					g.SetLimit(limit)
					for range groupBatch {
						g.Go(f)
					}
					if err := g.Wait(); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("conc", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					p := concpool.New().WithErrors().WithMaxGoroutines(limit)
					for range groupBatch {
						p.Go(f)
					}
					if err := p.Wait(); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("pond", func(b *testing.B) {
				p := pond.NewPool(limit)
				defer p.StopAndWait()
				b.ReportAllocs()
				for b.Loop() {
					g := p.NewGroup()
					for range groupBatch {
						g.SubmitErr(f)
					}
					if err := g.Wait(); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
