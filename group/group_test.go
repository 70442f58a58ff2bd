package group_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/weir-go/weir/group"
)

// The tests in this file cover what this package adds to errgroup's API,
// and where it is stricter.

func TestGoWeightedSharesLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g group.Group
		g.SetLimit(10)
		release := make(chan struct{})
		var running atomic.Int64
		for range 3 {
			g.GoWeighted(3, func() error { running.Add(3); <-release; return nil })
		}
		var returned atomic.Bool
		go func() {
			g.GoWeighted(2, func() error { return nil }) // 9 + 2 > 10
			returned.Store(true)
		}()
		synctest.Wait()
		if returned.Load() {
			t.Fatal("GoWeighted(2) returned with weight 9 of 10 running")
		}
		if g.TryGo(func() error { return nil }) {
			t.Fatal("TryGo overtook a waiting GoWeighted")
		}
		release <- struct{}{}
		synctest.Wait()
		if !returned.Load() {
			t.Fatal("GoWeighted(2) still blocked with weight 6 of 10 running")
		}
		close(release)
		if err := g.Wait(); err != nil {
			t.Fatal(err)
		}
	})
}

// TestHeavyNotStarved: a heavy function waiting in GoWeighted starts
// before lighter ones given to Go after it, even though they would fit
// sooner.
func TestHeavyNotStarved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g group.Group
		g.SetLimit(4)
		var mu sync.Mutex
		var order []string
		record := func(s string) {
			mu.Lock()
			order = append(order, s)
			mu.Unlock()
		}
		gates := make([]chan struct{}, 4)
		for i := range gates {
			gates[i] = make(chan struct{})
			g.Go(func() error { <-gates[i]; record(fmt.Sprint("first", i)); return nil })
		}
		go g.GoWeighted(4, func() error { record("heavy"); return nil })
		synctest.Wait()
		for i := range 3 {
			go g.Go(func() error { record(fmt.Sprint("light", i)); return nil })
			synctest.Wait() // queue them in this order
		}
		for _, gate := range gates {
			close(gate)
			synctest.Wait()
		}
		if err := g.Wait(); err != nil {
			t.Fatal(err)
		}
		// heavy's release admits the three lights at once, so they run
		// together and record in any order.
		want := []string{"first0", "first1", "first2", "first3", "heavy"}
		if len(order) != 8 || !slices.Equal(order[:5], want) {
			t.Fatalf("order = %v, want %v then the lights", order, want)
		}
		lights := slices.Sorted(slices.Values(order[5:]))
		if !slices.Equal(lights, []string{"light0", "light1", "light2"}) {
			t.Errorf("order = %v: the lights after heavy are %v", order, lights)
		}
	})
}

func TestWeightAboveLimit(t *testing.T) {
	tests := []struct {
		name    string
		limit   int
		weight  int
		wantErr error
	}{
		{"above", 4, 5, group.ErrWeight},
		{"limit zero", 0, 1, group.ErrWeight},
		{"zero weight", 4, 0, group.ErrInvalidWeight},
		{"negative weight", -1, -2, group.ErrInvalidWeight},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, ctx := group.WithContext(context.Background())
			g.SetLimit(tt.limit)
			ran := false
			g.GoWeighted(tt.weight, func() error { ran = true; return nil }) // returns at once
			if ctx.Err() == nil {
				t.Error("ctx not canceled by the refused weight")
			}
			err := g.Wait()
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Wait = %v, want %v", err, tt.wantErr)
			}
			if cause := context.Cause(ctx); cause != err {
				t.Errorf("Cause = %v, want %v", cause, err)
			}
			if ran {
				t.Error("a refused function ran")
			}
		})
	}
}

func TestGoUnderLimitZeroReturns(t *testing.T) {
	var g group.Group
	g.SetLimit(0)
	g.Go(func() error { t.Error("ran under limit 0"); return nil })
	if err := g.Wait(); !errors.Is(err, group.ErrWeight) {
		t.Errorf("Wait = %v, want %v", err, group.ErrWeight)
	}
}

func TestWeightIgnoredWithoutLimit(t *testing.T) {
	var g group.Group
	var ran atomic.Int32
	g.GoWeighted(1<<30, func() error { ran.Add(1); return nil })
	if err := g.Wait(); err != nil || ran.Load() != 1 {
		t.Errorf("Wait = %v, %d ran; want nil, 1", err, ran.Load())
	}
}

// TestWeightedStress gives functions of random weights from several
// goroutines: the weight running never exceeds the limit and every
// function runs exactly once.
func TestWeightedStress(t *testing.T) {
	const limit, callers, perCaller = 7, 4, 500
	var g group.Group
	g.SetLimit(limit)
	var inUse, peak atomic.Int64
	var ran [callers * perCaller]atomic.Int32
	var wg sync.WaitGroup
	for c := range callers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(c), 1))
			for i := c * perCaller; i < (c+1)*perCaller; i++ {
				w := 1 + r.IntN(limit)
				g.GoWeighted(w, func() error {
					n := inUse.Add(int64(w))
					for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
					}
					runtime.Gosched()
					inUse.Add(-int64(w))
					ran[i].Add(1)
					return nil
				})
			}
		})
	}
	wg.Wait()
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	if p := peak.Load(); p > limit {
		t.Errorf("weight %d ran at once, limit %d", p, limit)
	}
	for i := range ran {
		if n := ran[i].Load(); n != 1 {
			t.Fatalf("function %d ran %d times", i, n)
		}
	}
}

func TestJoinErrors(t *testing.T) {
	g, ctx := group.WithContext(context.Background())
	g.JoinErrors()
	g.SetLimit(1) // one at a time, so the order is known
	g.Go(func() error { return errA })
	g.Go(func() error { return nil })
	g.Go(func() error { return errB })
	g.GoWeighted(2, func() error { return nil })
	err := g.Wait()
	for _, want := range []error{errA, errB, group.ErrWeight} {
		if !errors.Is(err, want) {
			t.Errorf("Wait = %v, does not match %v", err, want)
		}
	}
	// The refusal is recorded when GoWeighted is called, errB when its
	// function returns: their order is not known.
	if n := len(strings.Split(err.Error(), "\n")); n != 3 {
		t.Errorf("Wait = %q, want 3 errors on 3 lines", err)
	}
	if cause := context.Cause(ctx); cause != errA {
		t.Errorf("Cause = %v, want the first error %v", cause, errA)
	}
}

func TestJoinErrorsNone(t *testing.T) {
	var g group.Group
	g.JoinErrors()
	g.Go(func() error { return nil })
	if err := g.Wait(); err != nil {
		t.Errorf("Wait = %v, want nil", err)
	}
}

func TestSetLimitPanicMessage(t *testing.T) {
	var g group.Group
	release := make(chan struct{})
	g.Go(func() error { <-release; return nil }) // no limit yet: errgroup would not panic here
	defer func() {
		r := recover()
		err, ok := r.(error)
		if !ok || !strings.HasPrefix(err.Error(), "group: SetLimit(2) while 1 functions of the group are still running") {
			t.Errorf("panic = %v", r)
		}
		close(release)
		g.Wait()
	}()
	g.SetLimit(2)
}

// TestRemoveLimitStartsWaiting: SetLimit(-1) while Go calls are blocked
// starts their functions.
func TestRemoveLimitStartsWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g group.Group
		g.SetLimit(1)
		release := make(chan struct{})
		g.Go(func() error { <-release; return nil })
		var started atomic.Int32
		for range 3 {
			go g.Go(func() error { started.Add(1); <-release; return nil })
		}
		synctest.Wait()
		if n := started.Load(); n != 0 {
			t.Fatalf("%d started over the limit", n)
		}
		g.SetLimit(-1)
		synctest.Wait()
		if n := started.Load(); n != 3 {
			t.Fatalf("%d of 3 waiting functions started after the limit was removed", n)
		}
		close(release)
		g.Wait()
	})
}

// TestWaitIncludesBlockedGo: Wait returns only after the functions of Go
// calls that were blocked when it was called have run.
func TestWaitIncludesBlockedGo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g group.Group
		g.SetLimit(1)
		release := make(chan struct{})
		g.Go(func() error { <-release; return nil })
		var ran atomic.Bool
		go g.Go(func() error { ran.Store(true); return nil })
		synctest.Wait()
		done := make(chan struct{})
		go func() { g.Wait(); close(done) }()
		go func() { g.Wait() }() // a second Wait at the same time
		synctest.Wait()
		close(release)
		<-done
		if !ran.Load() {
			t.Error("Wait returned before a blocked Go's function ran")
		}
	})
}

// TestGoexitWithWaiters: a function that calls runtime.Goexit while Go
// calls are blocked still lets them start.
func TestGoexitWithWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g group.Group
		g.SetLimit(2)
		release := make(chan struct{})
		g.Go(func() error { <-release; runtime.Goexit(); return nil })
		g.Go(func() error { <-release; runtime.Goexit(); return nil })
		var ran atomic.Int32
		for range 5 {
			go g.GoWeighted(1, func() error { ran.Add(1); return nil })
		}
		synctest.Wait()
		close(release)
		synctest.Wait()
		if err := g.Wait(); err != nil {
			t.Fatal(err)
		}
		if n := ran.Load(); n != 5 {
			t.Errorf("%d of 5 waiting functions ran", n)
		}
	})
}

func TestResultsOrder(t *testing.T) {
	for _, limit := range []int{-1, 1, 3} {
		var r group.Results[int]
		r.SetLimit(limit)
		for i := range 100 {
			r.Go(func() (int, error) {
				if i%7 == 0 {
					runtime.Gosched()
				}
				return i * i, nil
			})
		}
		got, err := r.Wait()
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 100 {
			t.Fatalf("limit %d: %d values, want 100", limit, len(got))
		}
		for i, v := range got {
			if v != i*i {
				t.Fatalf("limit %d: value %d = %d, want %d", limit, i, v, i*i)
			}
		}
	}
}

func TestResultsErrorsAndReuse(t *testing.T) {
	r, ctx := group.ResultsWithContext[string](context.Background())
	r.JoinErrors()
	r.Go(func() (string, error) { return "a", nil })
	r.Go(func() (string, error) { return "partial", errA })
	r.GoWeighted(0, func() (string, error) { return "never", nil })
	got, err := r.Wait()
	if want := []string{"a", "partial", ""}; !slices.Equal(got, want) {
		t.Errorf("values = %q, want %q", got, want)
	}
	if !errors.Is(err, errA) || !errors.Is(err, group.ErrInvalidWeight) {
		t.Errorf("Wait = %v, want errA and ErrInvalidWeight joined", err)
	}
	if cause := context.Cause(ctx); cause != errA && !errors.Is(cause, group.ErrInvalidWeight) {
		t.Errorf("Cause = %v, want the first of the two errors", cause)
	}
	// Used again: the values are new, the error is kept (as Group's).
	r.Go(func() (string, error) { return "b", nil })
	got, err = r.Wait()
	if !slices.Equal(got, []string{"b"}) || !errors.Is(err, errA) {
		t.Errorf("second Wait = %q, %v", got, err)
	}
}

func TestResultsTryGo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var r group.Results[int]
		r.SetLimit(1)
		release := make(chan struct{})
		if !r.TryGo(func() (int, error) { <-release; return 1, nil }) {
			t.Fatal("TryGo failed on an empty group")
		}
		if r.TryGo(func() (int, error) { return 2, nil }) {
			t.Fatal("TryGo succeeded at the limit")
		}
		close(release)
		synctest.Wait()
		if !r.TryGo(func() (int, error) { return 3, nil }) {
			t.Fatal("TryGo failed after the function returned")
		}
		got, err := r.Wait()
		if err != nil || !slices.Equal(got, []int{1, 3}) {
			t.Errorf("Wait = %v, %v; want [1 3], nil", got, err)
		}
	})
}

// TestAllocsPerGo: Go allocates nothing of its own, blocked or not. A
// batch may allocate the channel of a Wait that blocks, the waiter of
// the first Go that blocks, and a buffer for the queue of admitted
// functions when none is pooled.
func TestAllocsPerGo(t *testing.T) {
	const n = 100
	f := func() error { return nil }
	for _, limit := range []int{1, n} {
		var g group.Group
		g.SetLimit(limit)
		allocs := testing.AllocsPerRun(20, func() {
			for range n {
				g.Go(f)
			}
			g.Wait()
		})
		want := 3.0
		if raceEnabled {
			want = 6 // still far below one per Go
		}
		if allocs > want {
			t.Errorf("limit %d: %v allocations per %d Go and a Wait, want at most %v", limit, allocs, n, want)
		}
	}
}
