package group_test

import (
	"strconv"
	"testing"

	"github.com/weir-go/weir/group"
	"golang.org/x/sync/errgroup"
)

// goer is what the benchmarks need of a group: both group.Group and
// errgroup.Group have it.
type goer interface {
	Go(func() error)
	SetLimit(int)
	Wait() error
}

// BenchmarkGoWait starts 1,000 no-op functions and waits for them, per
// op, at a limit that blocks Go (8) and one that does not (1000; -1 is no
// limit), on this package's Group and on errgroup's in the same run.
func BenchmarkGoWait(b *testing.B) {
	const n = 1000
	impls := []struct {
		name string
		make func() goer
	}{
		{"group", func() goer { return new(group.Group) }},
		{"errgroup", func() goer { return new(errgroup.Group) }},
	}
	for _, limit := range []int{8, 1000, -1} {
		for _, impl := range impls {
			b.Run("limit="+strconv.Itoa(limit)+"/impl="+impl.name, func(b *testing.B) {
				f := func() error { return nil }
				b.ReportAllocs()
				for b.Loop() {
					g := impl.make()
					g.SetLimit(limit)
					for range n {
						g.Go(f)
					}
					if err := g.Wait(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkResults collects 1,000 ints in submission order, per op: this
// package's Results, and errgroup with the usual slice written at each
// function's index.
func BenchmarkResults(b *testing.B) {
	const n = 1000
	for _, limit := range []int{8, -1} {
		b.Run("limit="+strconv.Itoa(limit)+"/impl=group", func(b *testing.B) {
			f := func() (int, error) { return 1, nil }
			b.ReportAllocs()
			for b.Loop() {
				var r group.Results[int]
				r.SetLimit(limit)
				for range n {
					r.Go(f)
				}
				if vals, err := r.Wait(); err != nil || len(vals) != n {
					b.Fatal(len(vals), err)
				}
			}
		})
		b.Run("limit="+strconv.Itoa(limit)+"/impl=errgroup", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var g errgroup.Group
				g.SetLimit(limit)
				vals := make([]int, n)
				for i := range n {
					g.Go(func() error { vals[i] = 1; return nil })
				}
				if err := g.Wait(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
