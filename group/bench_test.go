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
