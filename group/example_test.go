package group_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/weir-go/weir/group"
)

// fetch stands in for a call that may fail.
func fetch(_ context.Context, url string) (string, error) {
	if strings.Contains(url, "bad") {
		return "", fmt.Errorf("fetch %s: not found", url)
	}
	return "page of " + url, nil
}

// A zero Group runs each function in a goroutine; Wait waits for all of
// them.
func ExampleGroup_Go() {
	var g group.Group
	urls := []string{"a.example", "b.example", "c.example"}
	pages := make([]string, len(urls))
	for i, url := range urls {
		g.Go(func() error {
			page, err := fetch(context.Background(), url)
			pages[i] = page
			return err
		})
	}
	if err := g.Wait(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(strings.Join(pages, "\n"))
	// Output:
	// page of a.example
	// page of b.example
	// page of c.example
}

// The first error cancels the Context; the other functions see it and
// stop early.
func ExampleWithContext() {
	g, ctx := group.WithContext(context.Background())
	g.Go(func() error {
		_, err := fetch(ctx, "bad.example")
		return err
	})
	g.Go(func() error {
		<-ctx.Done() // a long call that honours ctx
		return ctx.Err()
	})
	fmt.Println(g.Wait())
	fmt.Println(context.Cause(ctx))
	// Output:
	// fetch bad.example: not found
	// fetch bad.example: not found
}

// Wait returns the first error of the group's functions.
func ExampleGroup_Wait() {
	var g group.Group
	g.SetLimit(1) // one at a time, so "first" is the first given
	for _, url := range []string{"a.example", "bad1.example", "bad2.example"} {
		g.Go(func() error {
			_, err := fetch(context.Background(), url)
			return err
		})
	}
	fmt.Println(g.Wait())
	// Output:
	// fetch bad1.example: not found
}

// SetLimit bounds how many functions run at once; Go blocks until one
// can start.
func ExampleGroup_SetLimit() {
	var g group.Group
	g.SetLimit(2)
	var running, peak atomic.Int32
	for range 10 {
		g.Go(func() error {
			n := running.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			running.Add(-1)
			return nil
		})
	}
	g.Wait()
	fmt.Println("never more than 2 at once:", peak.Load() <= 2)
	// Output:
	// never more than 2 at once: true
}

// TryGo starts a function only if it can start at once.
func ExampleGroup_TryGo() {
	var g group.Group
	g.SetLimit(1)
	release := make(chan struct{})
	fmt.Println(g.TryGo(func() error { <-release; return nil }))
	fmt.Println(g.TryGo(func() error { return nil })) // the limit is reached
	close(release)
	g.Wait()
	// Output:
	// true
	// false
}

// GoWeighted lets a costly function count for more: here a limit of 4
// is a budget of 4 CPUs.
func ExampleGroup_GoWeighted() {
	var g group.Group
	g.SetLimit(4)
	var inUse, peak atomic.Int32
	work := func(cpus int32) func() error {
		return func() error {
			n := inUse.Add(cpus)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			inUse.Add(-cpus)
			return nil
		}
	}
	g.GoWeighted(4, work(4)) // the whole budget
	g.GoWeighted(1, work(1))
	g.GoWeighted(2, work(2))
	fmt.Println(g.Wait(), peak.Load() <= 4)

	g.GoWeighted(8, work(8)) // can never fit: refused, never run
	err := g.Wait()
	fmt.Println(errors.Is(err, group.ErrWeight), err)
	// Output:
	// <nil> true
	// true group: weight exceeds limit: weight 8, limit 4
}

// JoinErrors makes Wait return every error, not only the first.
func ExampleGroup_JoinErrors() {
	var g group.Group
	g.JoinErrors()
	g.SetLimit(1) // one at a time, so the order is known
	for _, url := range []string{"bad1.example", "a.example", "bad2.example"} {
		g.Go(func() error {
			_, err := fetch(context.Background(), url)
			return err
		})
	}
	fmt.Println(g.Wait())
	// Output:
	// fetch bad1.example: not found
	// fetch bad2.example: not found
}

// Results collects the functions' values in the order of the Go calls,
// whatever order they finish in.
func ExampleResults() {
	var r group.Results[string]
	for _, url := range []string{"a.example", "b.example", "c.example"} {
		r.Go(func() (string, error) { return fetch(context.Background(), url) })
	}
	pages, err := r.Wait()
	fmt.Println(pages, err)
	// Output:
	// [page of a.example page of b.example page of c.example] <nil>
}

// ResultsWithContext cancels its Context on the first error, as
// WithContext does.
func ExampleResultsWithContext() {
	r, ctx := group.ResultsWithContext[string](context.Background())
	r.Go(func() (string, error) { return fetch(ctx, "bad.example") })
	_, err := r.Wait()
	fmt.Println(err)
	fmt.Println(ctx.Err())
	// Output:
	// fetch bad.example: not found
	// context canceled
}

// Go keeps each value in the place of its call.
func ExampleResults_Go() {
	var r group.Results[int]
	for i := range 5 {
		r.Go(func() (int, error) { return i * i, nil })
	}
	squares, _ := r.Wait()
	fmt.Println(squares)
	// Output:
	// [0 1 4 9 16]
}

// GoWeighted gives a function a weight against the limit.
func ExampleResults_GoWeighted() {
	var r group.Results[string]
	r.SetLimit(3)
	r.GoWeighted(3, func() (string, error) { return "big", nil })
	r.GoWeighted(1, func() (string, error) { return "small", nil })
	vals, err := r.Wait()
	fmt.Println(vals, err)
	// Output:
	// [big small] <nil>
}

// Only the functions TryGo started have a value.
func ExampleResults_TryGo() {
	var r group.Results[string]
	r.SetLimit(1)
	release := make(chan struct{})
	r.TryGo(func() (string, error) { <-release; return "started", nil })
	ok := r.TryGo(func() (string, error) { return "refused", nil })
	close(release)
	vals, _ := r.Wait()
	fmt.Println(ok, vals)
	// Output:
	// false [started]
}

// SetLimit bounds the functions running at once.
func ExampleResults_SetLimit() {
	var r group.Results[int]
	r.SetLimit(2)
	for i := range 4 {
		r.Go(func() (int, error) { return i, nil })
	}
	vals, _ := r.Wait()
	fmt.Println(vals)
	// Output:
	// [0 1 2 3]
}

// With JoinErrors, Wait returns every error; every value is kept.
func ExampleResults_JoinErrors() {
	var r group.Results[string]
	r.JoinErrors()
	r.SetLimit(1)
	for _, url := range []string{"bad1.example", "a.example", "bad2.example"} {
		r.Go(func() (string, error) { return fetch(context.Background(), url) })
	}
	vals, err := r.Wait()
	fmt.Printf("%q\n%v\n", vals, err)
	// Output:
	// ["" "page of a.example" ""]
	// fetch bad1.example: not found
	// fetch bad2.example: not found
}

// Wait returns the values since the previous Wait; the Results can be
// used again.
func ExampleResults_Wait() {
	var r group.Results[int]
	r.Go(func() (int, error) { return 1, nil })
	first, _ := r.Wait()
	r.Go(func() (int, error) { return 2, nil })
	second, _ := r.Wait()
	fmt.Println(first, second)
	// Output:
	// [1] [2]
}
