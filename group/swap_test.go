package group_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/weir-go/weir/group"
	"golang.org/x/sync/errgroup"
)

// The tests in this file run the same bodies against errgroup and this
// package: each clause of errgroup's documentation, checked on both, is
// what makes changing only the import safe.

// api is errgroup.Group's method set. Both types must have it.
type api interface {
	Go(f func() error)
	TryGo(f func() error) bool
	SetLimit(n int)
	Wait() error
}

var (
	_ api = (*errgroup.Group)(nil)
	_ api = (*group.Group)(nil)

	// WithContext has errgroup's exact type, so that it can be passed
	// around as a function value too.
	_ func(context.Context) (*errgroup.Group, context.Context) = errgroup.WithContext
	_ func(context.Context) (*group.Group, context.Context)    = group.WithContext
)

// impl is one implementation of errgroup's API.
type impl struct {
	name        string
	zero        func() api
	withContext func(context.Context) (api, context.Context)
}

var impls = []impl{
	{
		name: "errgroup",
		zero: func() api { return new(errgroup.Group) },
		withContext: func(ctx context.Context) (api, context.Context) {
			return errgroup.WithContext(ctx)
		},
	},
	{
		name: "group",
		zero: func() api { return new(group.Group) },
		withContext: func(ctx context.Context) (api, context.Context) {
			return group.WithContext(ctx)
		},
	},
}

// both runs body as a subtest for each implementation.
func both(t *testing.T, body func(t *testing.T, im impl)) {
	t.Helper()
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) { body(t, im) })
	}
}

var (
	errA = errors.New("group_test: a")
	errB = errors.New("group_test: b")
)

// "Wait ... returns the first non-nil error (if any)"; a zero Group
// works; and errors stay after Wait when the group is used again.
func TestSwapZeroGroup(t *testing.T) {
	tests := []struct {
		give []error
	}{
		{give: []error{}},
		{give: []error{nil}},
		{give: []error{errA}},
		{give: []error{errA, nil}},
		{give: []error{errA, nil, errB}},
		{give: []error{nil, errB, errA}},
	}
	both(t, func(t *testing.T, im impl) {
		for _, tt := range tests {
			g := im.zero()
			var want error
			for i, err := range tt.give {
				g.Go(func() error { return err })
				if want == nil {
					want = err
				}
				// One Go per Wait, so "first" is well defined.
				if got := g.Wait(); got != want {
					t.Errorf("%v: Wait after Go #%d = %v, want %v", tt.give, i, got, want)
				}
			}
		}
	})
}

// "The derived Context is canceled the first time a function passed to
// Go returns a non-nil error or the first time Wait returns, whichever
// occurs first", with the error as its cause.
func TestSwapWithContext(t *testing.T) {
	tests := []struct {
		give      []error
		want      error
		wantCause error
	}{
		{want: nil, wantCause: context.Canceled},
		{give: []error{nil}, want: nil, wantCause: context.Canceled},
		{give: []error{errA}, want: errA, wantCause: errA},
		{give: []error{errA, nil}, want: errA, wantCause: errA},
	}
	both(t, func(t *testing.T, im impl) {
		for _, tt := range tests {
			g, ctx := im.withContext(context.Background())
			for _, err := range tt.give {
				g.Go(func() error { return err })
			}
			if err := g.Wait(); err != tt.want {
				t.Errorf("%v: Wait = %v, want %v", tt.give, err, tt.want)
			}
			select {
			case <-ctx.Done():
			default:
				t.Errorf("%v: ctx not canceled after Wait", tt.give)
			}
			if got := context.Cause(ctx); got != tt.wantCause {
				t.Errorf("%v: Cause = %v, want %v", tt.give, got, tt.wantCause)
			}
		}
	})
}

// The first error cancels the Context before Wait is called, and a
// function that starts after it sees the Context canceled.
func TestSwapErrorCancelsBeforeWait(t *testing.T) {
	both(t, func(t *testing.T, im impl) {
		g, ctx := im.withContext(context.Background())
		g.SetLimit(1)
		g.Go(func() error { return errA })
		var sawCanceled bool
		g.Go(func() error { // starts only after the first has returned
			sawCanceled = ctx.Err() != nil && context.Cause(ctx) == errA
			return nil
		})
		<-ctx.Done()
		if err := g.Wait(); err != errA {
			t.Errorf("Wait = %v, want %v", err, errA)
		}
		if !sawCanceled {
			t.Error("a function started after the first error did not see ctx canceled with it")
		}
	})
}

// A zero Group "does not cancel on error" and has no limit: functions
// that need each other all run at once.
func TestSwapZeroGroupNoLimit(t *testing.T) {
	both(t, func(t *testing.T, im impl) {
		const n = 100
		g := im.zero()
		var wg sync.WaitGroup
		wg.Add(n)
		for range n {
			g.Go(func() error {
				wg.Done()
				wg.Wait() // every function must be running at once
				return errA
			})
		}
		if err := g.Wait(); err != errA {
			t.Errorf("Wait = %v, want %v", err, errA)
		}
	})
}

// "TryGo calls the given function in a new goroutine only if the number
// of active goroutines in the group is currently below the configured
// limit"; a limit of zero prevents any new goroutine; the group is
// reusable after Wait; changing the limit between Waits works.
func TestSwapTryGo(t *testing.T) {
	both(t, func(t *testing.T, im impl) {
		g := im.zero()
		const n = 42
		g.SetLimit(n)
		ch := make(chan struct{})
		fn := func() error { ch <- struct{}{}; return nil }
		for i := range n {
			if !g.TryGo(fn) {
				t.Fatalf("TryGo #%d failed below the limit", i)
			}
		}
		if g.TryGo(fn) {
			t.Fatal("TryGo succeeded at the limit")
		}
		go func() {
			for range n {
				<-ch
			}
		}()
		if err := g.Wait(); err != nil {
			t.Fatal(err)
		}
		if !g.TryGo(fn) {
			t.Fatal("TryGo failed after Wait")
		}
		go func() { <-ch }()
		g.Wait()

		g.SetLimit(1)
		if !g.TryGo(fn) {
			t.Fatal("TryGo failed under limit 1")
		}
		if g.TryGo(fn) {
			t.Fatal("TryGo succeeded over limit 1")
		}
		go func() { <-ch }()
		g.Wait()

		g.SetLimit(0)
		for range 1 << 10 {
			if g.TryGo(fn) {
				t.Fatal("TryGo succeeded under limit 0")
			}
		}
		g.Wait()

		g.SetLimit(-1)
		for range 100 {
			if !g.TryGo(func() error { return nil }) {
				t.Fatal("TryGo failed without a limit")
			}
		}
		g.Wait()
	})
}

// "Go ... blocks until the new goroutine can be added without the number
// of goroutines in the group exceeding the configured limit."
func TestSwapGoBlocksAtLimit(t *testing.T) {
	both(t, func(t *testing.T, im impl) {
		synctest.Test(t, func(t *testing.T) {
			g := im.zero()
			g.SetLimit(2)
			release := make(chan struct{})
			for range 2 {
				g.Go(func() error { <-release; return nil })
			}
			var returned atomic.Bool
			go func() {
				g.Go(func() error { return nil })
				returned.Store(true)
			}()
			synctest.Wait()
			if returned.Load() {
				t.Fatal("Go returned while 2 functions run at limit 2")
			}
			release <- struct{}{}
			synctest.Wait()
			if !returned.Load() {
				t.Fatal("Go still blocked after a function returned")
			}
			close(release)
			if err := g.Wait(); err != nil {
				t.Fatal(err)
			}
		})
	})
}

// SetLimit(n) bounds how many functions run at once; every function runs
// exactly once.
func TestSwapGoLimit(t *testing.T) {
	for _, limit := range []int{1, 3, 10} {
		t.Run(fmt.Sprint("limit=", limit), func(t *testing.T) {
			both(t, func(t *testing.T, im impl) {
				g := im.zero()
				g.SetLimit(limit)
				var active, peak, ran atomic.Int64
				const n = 1000
				for range n {
					g.Go(func() error {
						a := active.Add(1)
						for p := peak.Load(); a > p && !peak.CompareAndSwap(p, a); p = peak.Load() {
						}
						runtime.Gosched()
						active.Add(-1)
						ran.Add(1)
						return nil
					})
				}
				if err := g.Wait(); err != nil {
					t.Fatal(err)
				}
				if p := peak.Load(); p > int64(limit) {
					t.Errorf("%d functions ran at once, limit %d", p, limit)
				}
				if r := ran.Load(); r != n {
					t.Errorf("%d functions ran, want %d", r, n)
				}
			})
		})
	}
}

// Go from many goroutines at once: every function runs exactly once,
// whatever the limit.
func TestSwapConcurrentGo(t *testing.T) {
	both(t, func(t *testing.T, im impl) {
		for _, limit := range []int{-1, 1, 4} {
			g := im.zero()
			g.SetLimit(limit)
			var ran [800]atomic.Int32
			var callers sync.WaitGroup
			for c := range 8 {
				callers.Go(func() {
					for i := c * 100; i < c*100+100; i++ {
						g.Go(func() error { ran[i].Add(1); return nil })
					}
				})
			}
			callers.Wait()
			if err := g.Wait(); err != nil {
				t.Fatal(err)
			}
			for i := range ran {
				if n := ran[i].Load(); n != 1 {
					t.Fatalf("limit %d: function %d ran %d times", limit, i, n)
				}
			}
		}
	})
}

// "The limit must not be modified while any goroutines in the group are
// active": both panic.
func TestSwapSetLimitWhileActivePanics(t *testing.T) {
	both(t, func(t *testing.T, im impl) {
		g := im.zero()
		g.SetLimit(2)
		release := make(chan struct{})
		g.Go(func() error { <-release; return nil })
		func() {
			defer func() {
				if recover() == nil {
					t.Error("SetLimit(3) with a function running did not panic")
				}
			}()
			g.SetLimit(3)
		}()
		close(release)
		g.Wait()
		g.SetLimit(3) // nothing runs: allowed
	})
}

// A function that calls runtime.Goexit (as t.FailNow does) ends without
// an error and frees its place; the others still run.
func TestSwapGoexit(t *testing.T) {
	both(t, func(t *testing.T, im impl) {
		g := im.zero()
		g.SetLimit(1)
		var ran atomic.Int32
		g.Go(func() error { runtime.Goexit(); return errA })
		for range 10 {
			g.Go(func() error { ran.Add(1); return nil })
		}
		if err := g.Wait(); err != nil {
			t.Errorf("Wait = %v, want nil", err)
		}
		if n := ran.Load(); n != 10 {
			t.Errorf("%d functions ran after the Goexit, want 10", n)
		}
	})
}

// A panic in a function crashes the program, with the function's stack,
// as errgroup v0.25.0 does (see the package doc for why). The test runs
// itself in a child process that panics.
func TestSwapPanicCrashes(t *testing.T) {
	if name := os.Getenv("GROUP_TEST_PANIC"); name != "" {
		for _, im := range impls {
			if im.name == name {
				g := im.zero()
				g.SetLimit(1)
				g.Go(panicker)
				g.Wait()
			}
		}
		// Wait may return while the panic unwinds (the function's
		// place is released on the way, in both packages); give the
		// crash the time it needs.
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	both(t, func(t *testing.T, im impl) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSwapPanicCrashes$")
		cmd.Env = append(os.Environ(), "GROUP_TEST_PANIC="+im.name)
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 {
			t.Fatalf("child exited with %v, want exit status 2 (a panic); output:\n%s", err, out)
		}
		for _, want := range []string{"panic: group_test: boom", "group_test.panicker"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})
}

func panicker() error { panic("group_test: boom") }
