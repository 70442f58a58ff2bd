package task_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weir-go/weir/internal/task"
)

// The tests of the job's handle and ctx are in package job, which shows a
// task to users; these are of what only an executor sees.

var (
	errBoom     = errors.New("boom")
	errShutdown = errors.New("shutdown")
	errForced   = fmt.Errorf("forced: %w", task.ErrCanceled)
)

type panicError struct{ v any }

func (e *panicError) Error() string { return fmt.Sprint("panic: ", e.v) }

func init() {
	if task.NewPanicError == nil { // package job sets it; this test does not import job
		task.NewPanicError = func(v any, _ []byte) error { return &panicError{v} }
	}
}

type jobFunc func(ctx context.Context) error

func (f jobFunc) Run(ctx context.Context) error { return f(ctx) }

func nop(context.Context) error { return nil }

// sameErr fails unless got is exactly want, not merely a match for
// errors.Is.
func sameErr(t testing.TB, want, got error) {
	t.Helper()
	require.Truef(t, got == want, "error = %v (%T), want exactly %v (%T)", got, got, want, want)
}

func TestOptionApply(t *testing.T) {
	tests := []struct {
		name       string
		give       []task.Option
		wantName   string
		wantWeight int64
	}{
		{name: "none", wantName: "", wantWeight: 1},
		{name: "zero Option changes nothing", give: []task.Option{{}}, wantName: "", wantWeight: 1},
		{name: "name", give: []task.Option{task.NameOption("a")}, wantName: "a", wantWeight: 1},
		{name: "weight", give: []task.Option{task.WeightOption(4)}, wantName: "", wantWeight: 4},
		{name: "last wins", give: []task.Option{
			task.NameOption("a"), task.WeightOption(2), task.NameOption("b"), task.WeightOption(3),
		}, wantName: "b", wantWeight: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, weight := "", int64(1)
			for _, o := range tt.give {
				name, weight = o.Apply(name, weight)
			}
			assert.Equal(t, tt.wantName, name)
			assert.Equal(t, tt.wantWeight, weight)
		})
	}
}

func TestDefaultName(t *testing.T) {
	tests := []struct {
		give uint64
		want string
	}{
		{give: 7, want: "job-7"},
		{give: 0, want: "job-0"},
		{give: 1234567, want: "job-1234567"},
		{give: math.MaxUint64, want: "job-18446744073709551615"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			assert.Equal(t, tt.want, task.DefaultName(tt.give))
			tk := new(task.Task)
			tk.Init(jobFunc(nop), "", 1, context.Background(), nil, tt.give)
			assert.Equal(t, tt.want, tk.DisplayName())
		})
	}
}

func TestInit(t *testing.T) {
	parent := context.WithValue(context.Background(), struct{}{}, 1)
	exec := &task.Exec{Base: context.Background(), ForcedErr: errForced}
	j := jobFunc(nop)
	tk := new(task.Task)
	tk.Init(j, "fetch", 3, parent, exec, 42)

	assert.Equal(t, uint64(42), tk.ID())
	assert.Equal(t, "fetch", tk.DisplayName())
	assert.Equal(t, int64(3), tk.Weight())
	assert.Equal(t, int64(3), tk.Node().Weight())
	assert.Same(t, tk, task.FromNode(tk.Node()))
	assert.Same(t, parent, tk.Parent())
	assert.NotNil(t, tk.Job())
	assert.Equal(t, task.Queued, tk.State())
	assert.False(t, tk.Final())
	assert.False(t, tk.Canceled())
	assert.False(t, tk.Kept())
	assert.NoError(t, tk.Err())

	tk.SetID(43)
	assert.Equal(t, uint64(43), tk.ID())
}

// TestPrepareKeepsSetJob checks that Prepare with a nil job keeps the one
// set by SetJob, as package job's NewResult and pool's SubmitResult rely
// on.
func TestPrepareKeepsSetJob(t *testing.T) {
	ran := false
	tk := new(task.Task)
	tk.SetJob(jobFunc(func(context.Context) error { ran = true; return nil }))
	tk.Prepare(nil, "r", 2)
	tk.Bind(context.Background(), nil, 1)

	st, err := tk.Run()
	tk.Resolve()

	require.NoError(t, err)
	assert.Equal(t, task.Succeeded, st)
	assert.True(t, ran)
	assert.Equal(t, "r", tk.DisplayName())
	assert.Equal(t, int64(2), tk.Weight())
}

func TestSide(t *testing.T) {
	tests := []int64{0, 1, -1, 1700000000000000000, math.MinInt64, math.MaxInt64}
	for _, give := range tests {
		t.Run(fmt.Sprint(give), func(t *testing.T) {
			tk := new(task.Task)
			assert.Nil(t, tk.SideIfAny())
			s := tk.Side()
			require.NotNil(t, s)
			assert.Same(t, s, tk.Side())
			assert.Same(t, s, tk.SideIfAny())
			s.Stamp = give
			assert.Equal(t, give, tk.Side().Stamp)
			s.Lock()
			s.Stamp ^= 0x5a
			s.Unlock()
			assert.Equal(t, give^0x5a, tk.SideIfAny().Stamp)
		})
	}
}

// TestSideOnce checks that goroutines racing to make a task's side data
// all get the same one.
func TestSideOnce(t *testing.T) {
	for range 100 {
		tk := new(task.Task)
		const n = 4
		var got [n]any
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { got[i] = tk.Side() })
		}
		wg.Wait()
		for i := range n {
			require.Same(t, got[0], got[i])
		}
	}
}

// TestStartErr checks why a task must not run, in the order StartErr
// asks: Cancel, then the submitter's ctx (unless Keep), then a forced stop.
func TestStartErr(t *testing.T) {
	ended, cancel := context.WithCancelCause(context.Background())
	cancel(errShutdown)
	tests := []struct {
		name   string
		cancel bool
		parent context.Context
		keep   bool
		forced bool
		want   error
	}{
		{name: "runs", parent: context.Background()},
		{name: "canceled", cancel: true, parent: ended, forced: true, want: task.ErrCanceled},
		{name: "parent ended", parent: ended, forced: true, want: context.Canceled},
		{name: "parent ended, kept", parent: ended, keep: true},
		{name: "parent ended, kept, forced", parent: ended, keep: true, forced: true, want: errForced},
		{name: "forced", parent: context.Background(), forced: true, want: errForced},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ran := false
			tk := new(task.Task)
			if tt.keep {
				tk.Keep()
			}
			exec := &task.Exec{Base: context.Background(), ForcedErr: errForced}
			exec.Forced.Store(tt.forced)
			tk.Init(jobFunc(func(context.Context) error { ran = true; return nil }), "", 1, tt.parent, exec, 1)
			assert.Equal(t, tt.keep, tk.Kept())
			if tt.cancel {
				tk.Cancel()
			}

			if tt.want == nil {
				require.NoError(t, tk.StartErr())
			} else {
				require.Truef(t, tk.StartErr() == tt.want, "StartErr() = %v, want %v", tk.StartErr(), tt.want)
			}
			st, err := tk.Run()
			tk.Resolve()

			assert.Equal(t, tt.want == nil, ran)
			if tt.want == nil {
				assert.Equal(t, task.Succeeded, st)
				require.NoError(t, err)
			} else {
				assert.Equal(t, task.Canceled, st)
				assert.Truef(t, err == tt.want, "Run error = %v, want %v", err, tt.want)
			}
			assert.Equal(t, st, tk.State())
		})
	}
}

// TestCancelUnqueues checks that Cancel hands a queued task to the
// executor's Unqueue, once, and a running or finished one not at all.
func TestCancelUnqueues(t *testing.T) {
	for _, when := range []string{"queued", "running", "finished"} {
		t.Run(when, func(t *testing.T) {
			var unqueued []*task.Task
			exec := &task.Exec{Base: context.Background(), ForcedErr: errForced}
			exec.Unqueue = func(tk *task.Task) {
				unqueued = append(unqueued, tk)
				tk.Drop(task.ErrCanceled)
				tk.Resolve()
			}
			tk := new(task.Task)
			tk.Init(jobFunc(func(ctx context.Context) error {
				tk.Cancel()
				return ctx.Err()
			}), "", 1, context.Background(), exec, 1)
			switch when {
			case "queued":
				tk.Cancel()
				tk.Cancel()
				require.Len(t, unqueued, 1)
				assert.Same(t, tk, unqueued[0])
				assert.Equal(t, task.Canceled, tk.State())
				sameErr(t, task.ErrCanceled, tk.Wait())
			case "running":
				st, err := tk.Run()
				tk.Resolve()
				assert.Equal(t, task.Canceled, st)
				sameErr(t, context.Canceled, err)
			case "finished":
				tk.Drop(errShutdown)
				tk.Resolve()
				tk.Cancel()
				sameErr(t, errShutdown, tk.Wait())
			}
			if when != "queued" {
				assert.Empty(t, unqueued)
			}
		})
	}
}

func TestRunOutcomes(t *testing.T) {
	tests := []struct {
		name      string
		fn        func(ctx context.Context) error
		wantState uint32
		wantErr   error
	}{
		{name: "nil", fn: nop, wantState: task.Succeeded},
		{name: "error", fn: func(context.Context) error { return errBoom }, wantState: task.Failed, wantErr: errBoom},
		{name: "panic", fn: func(context.Context) error { panic("kaput") }, wantState: task.Panicked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tk := new(task.Task)
			tk.Init(jobFunc(tt.fn), "", 1, context.Background(), nil, 1)
			st, err := tk.Run()
			gotState, gotErr := tk.Outcome()
			assert.Equal(t, tt.wantState, st)
			assert.Equal(t, tt.wantState, gotState)
			assert.Equal(t, task.Running, tk.State(), "state before Resolve")
			assert.False(t, tk.Final())
			sameErr(t, err, gotErr)
			if tt.wantState == task.Panicked {
				var pe *panicError
				require.ErrorAs(t, err, &pe)
				assert.Equal(t, "kaput", pe.v)
			} else {
				sameErr(t, tt.wantErr, err)
			}
			tk.Resolve()
			assert.True(t, tk.Final())
			assert.Equal(t, tt.wantState, tk.State())
			sameErr(t, err, tk.Err())
		})
	}
}

func TestRunGoexit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tk := new(task.Task)
		tk.Init(jobFunc(func(context.Context) error {
			runtime.Goexit()
			return nil
		}), "", 1, context.Background(), nil, 1)
		var (
			st  uint32
			err error
		)
		go func() {
			defer tk.Resolve()
			defer func() { st, err = tk.Outcome() }()
			tk.Run()
		}()
		<-tk.Done()
		assert.Equal(t, task.Failed, st)
		sameErr(t, task.ErrGoexit, err)
		sameErr(t, task.ErrGoexit, tk.Wait())
	})
}

// TestDoneRacesResolve checks, under -race, that a Done channel asked for
// while Resolve publishes is closed, whichever wins.
func TestDoneRacesResolve(t *testing.T) {
	for range 200 {
		tk := new(task.Task)
		tk.Init(jobFunc(nop), "", 1, context.Background(), nil, 1)
		tk.Run()
		var wg sync.WaitGroup
		chans := make([]<-chan struct{}, 3)
		for i := range chans {
			wg.Go(func() { chans[i] = tk.Done() })
		}
		tk.Resolve()
		wg.Wait()
		for _, ch := range chans {
			<-ch
		}
		<-tk.Done()
	}
}

func TestCtx(t *testing.T) {
	tk := new(task.Task)
	var seen any
	var str string
	tk.Init(jobFunc(func(ctx context.Context) error {
		seen = ctx.Value(task.CtxKey{})
		str = fmt.Sprint(ctx)
		return nil
	}), "fetch", 1, context.Background(), nil, 1)
	_, err := tk.Run()
	tk.Resolve()
	require.NoError(t, err)
	assert.Same(t, tk, seen)
	assert.Equal(t, "job.Context(fetch)", str)
	sameErr(t, context.Canceled, tk.Ctx().Err())
}

// TestCtxAfterFunc checks the job ctx's AfterFunc, which package context
// uses for a ctx derived from it: it runs f once the ctx ends, and stop
// prevents that.
func TestCtxAfterFunc(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tk := new(task.Task)
		tk.Init(jobFunc(nop), "", 1, context.Background(), nil, 1)
		af, ok := tk.Ctx().(interface{ AfterFunc(func()) func() bool })
		require.True(t, ok, "a job's ctx has no AfterFunc method")
		called, stopped := 0, 0
		af.AfterFunc(func() { called++ })
		stop := af.AfterFunc(func() { stopped++ })
		assert.True(t, stop())

		tk.Cancel()
		synctest.Wait()

		assert.Equal(t, 1, called)
		assert.Zero(t, stopped)
		tk.Drop(task.ErrCanceled)
		tk.Resolve()
	})
}

// TestForcedStopClosesDone checks that a job waiting on its ctx's Done
// channel sees a forced stop, through the ctx's registration with the
// executor's base ctx, with the executor's error as the cause.
func TestForcedStopClosesDone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base, cancel := context.WithCancelCause(context.Background())
		exec := &task.Exec{Base: base, ForcedErr: errForced}
		tk := new(task.Task)
		tk.Init(jobFunc(func(ctx context.Context) error {
			<-ctx.Done()
			return ctx.Err()
		}), "", 1, context.Background(), exec, 1)
		go func() {
			tk.Run()
			tk.Resolve()
		}()
		synctest.Wait()
		exec.Forced.Store(true)
		cancel(errForced)

		sameErr(t, context.Canceled, tk.Wait())
		assert.Equal(t, task.Canceled, tk.State())
		sameErr(t, errForced, context.Cause(tk.Ctx()))
	})
}
