package job_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weir-go/weir/job"
)

var (
	errBoom     = errors.New("boom")
	errStopped  = errors.New("stopped")
	errShutdown = errors.New("shutdown")
	errPartial  = errors.New("partial")
)

type (
	ctxKey   struct{}
	otherKey struct{}
)

// isClosed reports whether ch is closed, without blocking.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// requireSameErr fails unless got is exactly want, not merely a match for
// errors.Is.
func requireSameErr(t testing.TB, want, got error) {
	t.Helper()
	if want == nil {
		require.NoError(t, got)
		return
	}
	require.Truef(t, got == want, "error = %v (%T), want exactly %v (%T)", got, got, want, want)
}

// runResolve runs a started task on the calling goroutine and resolves it.
func runResolve(tk *testTask) (job.State, error) {
	st, err := tk.Run()
	tk.Resolve()
	return st, err
}

// runTask starts tk with ID 1 under context.Background, runs it on the
// calling goroutine and resolves it.
func runTask(tk *testTask) (job.State, error) {
	tk.Start(1, context.Background(), nil)
	return runResolve(tk)
}

// waitBubbled returns h's error once its Done channel is closed, failing the
// test if that takes more than an hour of fake time. Only for use inside
// synctest.Test, where the hour passes at once if nothing else can happen.
func waitBubbled(t testing.TB, h *job.Handle) error {
	t.Helper()
	select {
	case <-h.Done():
	case <-time.After(time.Hour):
		require.FailNow(t, "job not resolved", "state %v after an hour", h.State())
	}
	return h.Wait()
}

// greeter is a Job of its own type, with fields, in the style of a Thread
// subclass overriding run().
type greeter struct {
	greeting string
	calls    int
	lines    []string
}

func (g *greeter) Run(ctx context.Context) error {
	g.calls++
	g.lines = append(g.lines, g.greeting+", "+job.NameFrom(ctx))
	return nil
}

var (
	_ job.Job = (*greeter)(nil)
	_ job.Job = job.Func(nil)
)

type codeError struct{ code int }

func (e *codeError) Error() string { return fmt.Sprintf("code %d", e.code) }

func TestFuncRunCallsFunction(t *testing.T) {
	tests := []struct {
		name string
		give error
	}{
		{name: "nil", give: nil},
		{name: "error", give: errBoom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := context.WithValue(context.Background(), ctxKey{}, "v")
			var got context.Context
			calls := 0
			var j job.Job = job.Func(func(ctx context.Context) error {
				calls++
				got = ctx
				return tt.give
			})

			err := j.Run(parent)

			requireSameErr(t, tt.give, err)
			assert.Equal(t, 1, calls)
			assert.Same(t, parent, got)
		})
	}
}

func TestStructTypeIsJob(t *testing.T) {
	g := &greeter{greeting: "hello"}
	tk := newTask(g, job.WithName("world"))
	assert.Same(t, g, tk.Job())

	st, err := runTask(tk)

	require.NoError(t, err)
	assert.Equal(t, job.Succeeded, st)
	assert.Equal(t, job.Succeeded, tk.Handle().State())
	assert.Equal(t, 1, g.calls)
	assert.Equal(t, []string{"hello, world"}, g.lines)
}

func TestNewTask(t *testing.T) {
	tests := []struct {
		name       string
		opts       []job.Option
		id         uint64
		wantName   string
		wantWeight int64
	}{
		{name: "defaults", id: 7, wantName: "job-7", wantWeight: 1},
		{name: "zero ID", id: 0, wantName: "job-0", wantWeight: 1},
		{name: "WithName", opts: []job.Option{job.WithName("fetch")}, id: 3, wantName: "fetch", wantWeight: 1},
		{name: "WithWeight", opts: []job.Option{job.WithWeight(5)}, id: 4, wantName: "job-4", wantWeight: 5},
		{
			name:       "both",
			opts:       []job.Option{job.WithWeight(3), job.WithName("x")},
			id:         math.MaxUint64,
			wantName:   "x",
			wantWeight: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ran := false
			tk := newTask(job.Func(func(context.Context) error {
				ran = true
				return nil
			}), tt.opts...)
			h := tk.Handle()
			require.NotNil(t, h)
			assert.Same(t, h, tk.Handle())
			assert.Equal(t, tt.wantWeight, tk.Weight())
			assert.Equal(t, tt.wantWeight, h.Weight())
			assert.Equal(t, job.Queued, h.State())
			assert.NoError(t, h.Err())
			assert.False(t, isClosed(h.Done()), "Done closed before the job ran")

			tk.Start(tt.id, context.Background(), nil)

			assert.Equal(t, tt.id, h.ID())
			assert.Equal(t, tt.wantName, h.Name())
			assert.Equal(t, job.Queued, h.State())
			assert.False(t, ran, "NewTask or Start ran the job")

			st, err := runResolve(tk)

			require.NoError(t, err)
			assert.Equal(t, job.Succeeded, st)
			assert.True(t, ran)
			assert.Equal(t, tt.id, h.ID())
			assert.Equal(t, tt.wantName, h.Name())
			assert.Equal(t, tt.wantWeight, h.Weight())
		})
	}
}

func TestStateString(t *testing.T) {
	tests := []struct {
		give job.State
		want string
	}{
		{give: job.Queued, want: "queued"},
		{give: job.Running, want: "running"},
		{give: job.Succeeded, want: "succeeded"},
		{give: job.Failed, want: "failed"},
		{give: job.Canceled, want: "canceled"},
		{give: job.Panicked, want: "panicked"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.give.String())
			assert.Equal(t, tt.want, fmt.Sprint(tt.give))
		})
	}
}

func TestStateFinal(t *testing.T) {
	tests := []struct {
		give job.State
		want bool
	}{
		{give: job.Queued, want: false},
		{give: job.Running, want: false},
		{give: job.Succeeded, want: true},
		{give: job.Failed, want: true},
		{give: job.Canceled, want: true},
		{give: job.Panicked, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.give.String(), func(t *testing.T) {
			assert.Equal(t, tt.want, tt.give.Final())
		})
	}
}

func TestOptions(t *testing.T) {
	tests := []struct {
		name       string
		give       []job.Option
		wantName   string
		wantWeight int64
	}{
		{name: "none", wantName: "", wantWeight: 1},
		{name: "name", give: []job.Option{job.WithName("a")}, wantName: "a", wantWeight: 1},
		{name: "weight", give: []job.Option{job.WithWeight(4)}, wantName: "", wantWeight: 4},
		{name: "both", give: []job.Option{job.WithName("b"), job.WithWeight(2)}, wantName: "b", wantWeight: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, weight := applyOptions(tt.give...)
			assert.Equal(t, tt.wantName, name)
			assert.Equal(t, tt.wantWeight, weight)
		})
	}
}

// TestOptionsDoNotAllocate checks that an Option is a value: making one
// and applying it, as an executor does, allocates nothing.
func TestOptionsDoNotAllocate(t *testing.T) {
	name := "fetch"
	allocs := testing.AllocsPerRun(100, func() {
		opts := [...]job.Option{job.WithName(name), job.WithWeight(3)}
		n, w := applyOptions(opts[:]...)
		if n != name || w != 3 {
			panic("options not applied")
		}
	})
	assert.Zero(t, allocs)
}

// TestDefaultName checks the name of a job submitted without WithName:
// "job-" and its ID.
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
			tk := newTask(job.Func(func(context.Context) error { return nil }))
			tk.Start(tt.give, context.Background(), nil)
			assert.Equal(t, tt.want, tk.Handle().Name())
			info, ok := infoOf(t, tk)
			require.True(t, ok)
			assert.Equal(t, tt.want, info.Name)
		})
	}
}

// infoOf runs tk, which must be started, and returns what FromContext
// said inside it.
func infoOf(t testing.TB, tk *testTask) (info job.Info, ok bool) {
	t.Helper()
	tk.t.SetJob(job.Func(func(ctx context.Context) error {
		info, ok = job.FromContext(ctx)
		return nil
	}))
	_, err := runResolve(tk)
	require.NoError(t, err)
	return info, ok
}

// TestLifecycle follows a task from NewTask to Resolve and checks that the
// handle publishes nothing until Resolve.
func TestLifecycle(t *testing.T) {
	tests := []struct {
		name      string
		give      error
		wantState job.State
	}{
		{name: "succeeded", give: nil, wantState: job.Succeeded},
		{name: "failed", give: errBoom, wantState: job.Failed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				started := make(chan struct{})
				release := make(chan struct{})
				var (
					h       *job.Handle
					inState job.State
					inErr   error
					inDone  bool
				)
				tk := newTask(job.Func(func(ctx context.Context) error {
					inState, inErr, inDone = h.State(), h.Err(), isClosed(h.Done())
					close(started)
					<-release
					return tt.give
				}))
				h = tk.Handle()
				tk.Start(1, context.Background(), nil)
				assert.Equal(t, job.Queued, h.State())
				assert.NoError(t, h.Err())
				early := h.Done()
				assert.False(t, isClosed(early))

				var (
					runState         job.State
					runErr           error
					outState         job.State
					outErr           error
					ran              = make(chan struct{})
					resolve          = make(chan struct{})
					resolvedInternal = make(chan struct{})
				)
				go func() {
					runState, runErr = tk.Run()
					outState, outErr = tk.Outcome()
					close(ran)
					<-resolve
					tk.Resolve()
					close(resolvedInternal)
				}()
				<-started
				assert.Equal(t, job.Running, inState, "State inside the job")
				assert.NoError(t, inErr, "Err inside the job")
				assert.False(t, inDone, "Done closed inside the job")
				assert.Equal(t, job.Running, h.State())
				assert.NoError(t, h.Err())
				assert.False(t, isClosed(early))

				close(release)
				<-ran

				// Run has returned but the outcome is not published yet.
				assert.Equal(t, tt.wantState, runState)
				requireSameErr(t, tt.give, runErr)
				assert.Equal(t, tt.wantState, outState)
				requireSameErr(t, tt.give, outErr)
				assert.False(t, h.State().Final(), "State %v is final before Resolve", h.State())
				assert.NoError(t, h.Err())
				assert.False(t, isClosed(early))
				assert.False(t, isClosed(h.Done()))

				waited := make(chan error, 1)
				go func() { waited <- h.Wait() }()
				synctest.Wait()
				select {
				case err := <-waited:
					require.FailNow(t, "Wait returned before Resolve", "err %v", err)
				default:
				}

				close(resolve)
				<-resolvedInternal
				requireSameErr(t, tt.give, <-waited)
				assert.True(t, isClosed(early))
				assert.True(t, isClosed(h.Done()))
				assert.Equal(t, tt.wantState, h.State())
				requireSameErr(t, tt.give, h.Err())
				requireSameErr(t, tt.give, h.Wait())
			})
		})
	}
}

func TestRunOutcome(t *testing.T) {
	wrapped := fmt.Errorf("wrapped: %w", errBoom)
	tests := []struct {
		name      string
		give      error
		wantState job.State
	}{
		{name: "nil succeeds", give: nil, wantState: job.Succeeded},
		{name: "error fails", give: errBoom, wantState: job.Failed},
		{name: "wrapped error kept as is", give: wrapped, wantState: job.Failed},
		{name: "context.Canceled while ctx live fails", give: context.Canceled, wantState: job.Failed},
		{name: "DeadlineExceeded while ctx live fails", give: context.DeadlineExceeded, wantState: job.Failed},
		{name: "ErrCanceled while ctx live fails", give: job.ErrCanceled, wantState: job.Failed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			tk := newTask(job.Func(func(context.Context) error {
				calls++
				return tt.give
			}))
			h := tk.Handle()
			tk.Start(1, context.Background(), nil)

			st, err := tk.Run()
			outState, outErr := tk.Outcome()
			tk.Resolve()

			assert.Equal(t, 1, calls)
			assert.Equal(t, tt.wantState, st)
			requireSameErr(t, tt.give, err)
			assert.Equal(t, tt.wantState, outState)
			requireSameErr(t, tt.give, outErr)
			assert.Equal(t, tt.wantState, h.State())
			requireSameErr(t, tt.give, h.Err())
			requireSameErr(t, tt.give, h.Wait())
			assert.True(t, isClosed(h.Done()))
		})
	}
}

// ender is a way for a job's ctx to end while the job runs.
type ender struct {
	name string
	// setup returns the task's parent context and executor, a function
	// that ends the job's ctx, the error the job's ctx must then report,
	// and its cause.
	setup func(t *testing.T, h *job.Handle) (parent context.Context, x *executor, end func(), want, wantCause error)
}

// enders lists every way a running job's ctx can end. Their setup functions
// must be called inside a synctest bubble.
func enders() []ender {
	bg := context.Background()
	return []ender{
		{
			name: "Cancel",
			setup: func(t *testing.T, h *job.Handle) (context.Context, *executor, func(), error, error) {
				return bg, nil, h.Cancel, context.Canceled, context.Canceled
			},
		},
		{
			name: "Cancel with executor",
			setup: func(t *testing.T, h *job.Handle) (context.Context, *executor, func(), error, error) {
				x := newExecutor()
				t.Cleanup(x.release)
				return bg, x, h.Cancel, context.Canceled, context.Canceled
			},
		},
		{
			name: "parent canceled",
			setup: func(t *testing.T, h *job.Handle) (context.Context, *executor, func(), error, error) {
				parent, cancel := context.WithCancel(bg)
				t.Cleanup(cancel)
				return parent, nil, cancel, context.Canceled, context.Canceled
			},
		},
		{
			name: "parent canceled with cause",
			setup: func(t *testing.T, h *job.Handle) (context.Context, *executor, func(), error, error) {
				parent, cancel := context.WithCancelCause(bg)
				t.Cleanup(func() { cancel(nil) })
				return parent, nil, func() { cancel(errShutdown) }, context.Canceled, errShutdown
			},
		},
		{
			name: "parent deadline",
			setup: func(t *testing.T, h *job.Handle) (context.Context, *executor, func(), error, error) {
				parent, cancel := context.WithTimeout(bg, time.Minute)
				t.Cleanup(cancel)
				return parent, nil, func() { time.Sleep(2 * time.Minute) }, context.DeadlineExceeded, context.DeadlineExceeded
			},
		},
		{
			name: "forced stop",
			setup: func(t *testing.T, h *job.Handle) (context.Context, *executor, func(), error, error) {
				x := newExecutor()
				t.Cleanup(x.release)
				return bg, x, x.stop, context.Canceled, errForced
			},
		},
		{
			name: "forced stop with cancelable parent",
			setup: func(t *testing.T, h *job.Handle) (context.Context, *executor, func(), error, error) {
				parent, cancel := context.WithCancel(bg)
				t.Cleanup(cancel)
				x := newExecutor()
				t.Cleanup(x.release)
				return parent, x, x.stop, context.Canceled, errForced
			},
		},
	}
}

// TestContextEndsWhileRunning checks that each way of ending a running
// job's ctx is seen both by a job that took ctx.Done() beforehand and by a
// job that only polls ctx.Err(), that Err is stable, and that an error
// returned after the end makes the job Canceled with that error.
func TestContextEndsWhileRunning(t *testing.T) {
	for _, e := range enders() {
		for _, mode := range []string{"Done", "Err"} {
			t.Run(e.name+"/"+mode, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					started := make(chan struct{})
					var (
						jobCtx     context.Context
						errs       []error
						cause      error
						doneClosed bool
					)
					tk := newTask(job.Func(func(ctx context.Context) error {
						jobCtx = ctx
						if mode == "Done" {
							done := ctx.Done()
							close(started)
							<-done
						} else {
							close(started)
							for ctx.Err() == nil {
								time.Sleep(time.Second)
							}
						}
						for range 3 {
							errs = append(errs, ctx.Err())
						}
						cause = context.Cause(ctx)
						doneClosed = isClosed(ctx.Done())
						return errStopped
					}))
					h := tk.Handle()
					parent, x, end, want, wantCause := e.setup(t, h)
					tk.Start(1, parent, x)
					var (
						runState job.State
						runErr   error
					)
					go func() {
						runState, runErr = tk.Run()
						tk.Resolve()
					}()
					<-started
					end()

					err := waitBubbled(t, h)

					requireSameErr(t, errStopped, err)
					assert.Equal(t, job.Canceled, h.State())
					assert.Equal(t, job.Canceled, runState)
					requireSameErr(t, errStopped, runErr)
					require.Len(t, errs, 3)
					for _, got := range errs {
						requireSameErr(t, want, got)
					}
					assert.True(t, doneClosed, "ctx.Done() open after ctx.Err() = %v", want)
					// Still the same error once Run has returned.
					requireSameErr(t, want, jobCtx.Err())
					requireSameErr(t, wantCause, cause)
					requireSameErr(t, wantCause, context.Cause(jobCtx))
					assert.True(t, isClosed(jobCtx.Done()))
				})
			})
		}
	}
}

// TestContextErrImpliesDoneClosed checks the context.Context rule "If Done
// is not yet closed, Err returns nil" for a job that took ctx.Done() before
// its ctx ended and then reads ctx.Err(): if Err reports the end, the
// channel it holds must be closed, and in any case it must close.
func TestContextErrImpliesDoneClosed(t *testing.T) {
	for _, e := range enders() {
		t.Run(e.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var (
					errNow      error
					closedNow   bool
					closedLater bool
					errLater    error
					causeLater  error
				)
				var h *job.Handle
				var end func()
				tk := newTask(job.Func(func(ctx context.Context) error {
					done := ctx.Done()
					end()
					errNow = ctx.Err()
					closedNow = isClosed(done)
					select {
					case <-done:
						closedLater = true
					case <-time.After(time.Hour):
					}
					errLater = ctx.Err()
					causeLater = context.Cause(ctx)
					return nil
				}))
				h = tk.Handle()
				parent, x, endFn, want, wantCause := e.setup(t, h)
				end = endFn
				tk.Start(1, parent, x)

				_, err := runResolve(tk)

				require.NoError(t, err)
				if errNow != nil {
					assert.True(t, closedNow, "ctx.Err() = %v but ctx.Done() is not closed", errNow)
				}
				assert.True(t, closedLater, "ctx.Done() never closed; ctx.Err() = %v", errLater)
				requireSameErr(t, want, errLater)
				requireSameErr(t, wantCause, causeLater)
			})
		})
	}
}

// TestContextEndsWhenRunReturns checks that a ctx retained by a job is done
// with context.Canceled once Run has returned (before and after Resolve),
// whatever happens to its sources afterwards and whether or not the job
// looked at it while running.
func TestContextEndsWhenRunReturns(t *testing.T) {
	touches := []struct {
		name  string
		touch func(ctx context.Context)
	}{
		{name: "untouched", touch: func(context.Context) {}},
		{name: "Done taken", touch: func(ctx context.Context) { _ = ctx.Done() }},
		{name: "Err polled", touch: func(ctx context.Context) { _ = ctx.Err() }},
	}
	bg := context.Background()
	afters := []struct {
		name  string
		setup func(t *testing.T, h *job.Handle) (parent context.Context, x *executor, after func())
	}{
		{
			name: "nothing happens",
			setup: func(t *testing.T, h *job.Handle) (context.Context, *executor, func()) {
				return bg, nil, func() {}
			},
		},
		{
			name: "cancelable parent and executor left alone",
			setup: func(t *testing.T, h *job.Handle) (context.Context, *executor, func()) {
				parent, cancel := context.WithCancel(bg)
				t.Cleanup(cancel)
				x := newExecutor()
				t.Cleanup(x.release)
				return parent, x, func() {}
			},
		},
		{
			name: "parent canceled afterwards",
			setup: func(t *testing.T, h *job.Handle) (context.Context, *executor, func()) {
				parent, cancel := context.WithCancel(bg)
				t.Cleanup(cancel)
				return parent, nil, cancel
			},
		},
		{
			name: "parent canceled with cause afterwards",
			setup: func(t *testing.T, h *job.Handle) (context.Context, *executor, func()) {
				parent, cancel := context.WithCancelCause(bg)
				t.Cleanup(func() { cancel(nil) })
				return parent, nil, func() { cancel(errShutdown) }
			},
		},
		{
			name: "parent deadline passes afterwards",
			setup: func(t *testing.T, h *job.Handle) (context.Context, *executor, func()) {
				parent, cancel := context.WithTimeout(bg, time.Minute)
				t.Cleanup(cancel)
				return parent, nil, func() { time.Sleep(2 * time.Minute) }
			},
		},
		{
			name: "forced stop afterwards",
			setup: func(t *testing.T, h *job.Handle) (context.Context, *executor, func()) {
				x := newExecutor()
				t.Cleanup(x.release)
				return bg, x, x.stop
			},
		},
		{
			name: "executor released afterwards",
			setup: func(t *testing.T, h *job.Handle) (context.Context, *executor, func()) {
				x := newExecutor()
				return bg, x, x.release
			},
		},
		{
			name: "Cancel afterwards",
			setup: func(t *testing.T, h *job.Handle) (context.Context, *executor, func()) {
				return bg, nil, h.Cancel
			},
		},
	}
	returns := []struct {
		name string
		give error
	}{
		{name: "nil", give: nil},
		{name: "error", give: errBoom},
	}
	for _, touch := range touches {
		for _, after := range afters {
			for _, ret := range returns {
				for _, when := range []string{"before Resolve", "after Resolve"} {
					t.Run(touch.name+"/"+after.name+"/"+ret.name+"/"+when, func(t *testing.T) {
						synctest.Test(t, func(t *testing.T) {
							var retained context.Context
							var taken <-chan struct{}
							tk := newTask(job.Func(func(ctx context.Context) error {
								retained = ctx
								touch.touch(ctx)
								if touch.name == "Done taken" {
									taken = ctx.Done()
								}
								return ret.give
							}))
							h := tk.Handle()
							parent, x, afterFn := after.setup(t, h)
							tk.Start(1, parent, x)

							_, err := tk.Run()
							requireSameErr(t, ret.give, err)
							if when == "after Resolve" {
								tk.Resolve()
							}
							afterFn()
							synctest.Wait()

							require.NotNil(t, retained)
							requireSameErr(t, context.Canceled, retained.Err())
							requireSameErr(t, context.Canceled, context.Cause(retained))
							assert.True(t, isClosed(retained.Done()), "retained ctx.Done() open")
							if taken != nil {
								assert.True(t, isClosed(taken), "ctx.Done() taken while running is open")
							}
							requireSameErr(t, context.Canceled, retained.Err())
							if when == "before Resolve" {
								tk.Resolve()
								requireSameErr(t, context.Canceled, retained.Err())
								requireSameErr(t, context.Canceled, context.Cause(retained))
								assert.True(t, isClosed(retained.Done()))
							}
							requireSameErr(t, ret.give, h.Wait())
						})
					})
				}
			}
		}
	}
}

func TestCancelWhileRunning(t *testing.T) {
	tests := []struct {
		name      string
		ret       func(ctx context.Context) error
		wantState job.State
		wantErr   error
	}{
		{name: "returns ctx.Err()", ret: context.Context.Err, wantState: job.Canceled, wantErr: context.Canceled},
		{name: "returns own error", ret: func(context.Context) error { return errStopped }, wantState: job.Canceled, wantErr: errStopped},
		{name: "returns nil", ret: func(context.Context) error { return nil }, wantState: job.Succeeded, wantErr: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				started := make(chan struct{})
				var ctxErr error
				tk := newTask(job.Func(func(ctx context.Context) error {
					done := ctx.Done()
					close(started)
					<-done
					ctxErr = ctx.Err()
					return tt.ret(ctx)
				}))
				h := tk.Handle()
				tk.Start(1, context.Background(), nil)
				go runResolve(tk)
				<-started
				synctest.Wait()
				assert.Equal(t, job.Running, h.State())

				h.Cancel()
				err := waitBubbled(t, h)

				requireSameErr(t, context.Canceled, ctxErr)
				assert.Equal(t, tt.wantState, h.State())
				requireSameErr(t, tt.wantErr, err)
			})
		})
	}
}

func TestCancelTwiceWhileRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		started := make(chan struct{})
		var ctxErr error
		tk := newTask(job.Func(func(ctx context.Context) error {
			done := ctx.Done()
			close(started)
			<-done
			ctxErr = ctx.Err()
			return ctx.Err()
		}))
		h := tk.Handle()
		tk.Start(1, context.Background(), nil)
		go runResolve(tk)
		<-started

		h.Cancel()
		h.Cancel()
		err := waitBubbled(t, h)
		h.Cancel()

		requireSameErr(t, context.Canceled, ctxErr)
		requireSameErr(t, context.Canceled, err)
		assert.Equal(t, job.Canceled, h.State())
		requireSameErr(t, context.Canceled, h.Wait())
	})
}

// TestCancelAfterEnd checks that Cancel between Run and Resolve, or after
// Resolve, changes nothing.
func TestCancelAfterEnd(t *testing.T) {
	tests := []struct {
		name      string
		fn        func(ctx context.Context) error
		wantState job.State
	}{
		{name: "succeeded", fn: func(context.Context) error { return nil }, wantState: job.Succeeded},
		{name: "failed", fn: func(context.Context) error { return errBoom }, wantState: job.Failed},
		{name: "panicked", fn: func(context.Context) error { panic("kaput") }, wantState: job.Panicked},
	}
	for _, tt := range tests {
		for _, when := range []string{"before Resolve", "after Resolve"} {
			t.Run(tt.name+"/"+when, func(t *testing.T) {
				var retained context.Context
				tk := newTask(job.Func(func(ctx context.Context) error {
					retained = ctx
					return tt.fn(ctx)
				}))
				h := tk.Handle()
				tk.Start(1, context.Background(), nil)

				st, runErr := tk.Run()
				if when == "before Resolve" {
					h.Cancel()
					h.Cancel()
					outState, outErr := tk.Outcome()
					assert.Equal(t, tt.wantState, outState)
					requireSameErr(t, runErr, outErr)
				}
				tk.Resolve()
				if when == "after Resolve" {
					h.Cancel()
					h.Cancel()
				}

				assert.Equal(t, tt.wantState, st)
				assert.Equal(t, tt.wantState, h.State())
				requireSameErr(t, runErr, h.Err())
				requireSameErr(t, runErr, h.Wait())
				assert.True(t, isClosed(h.Done()))
				requireSameErr(t, context.Canceled, retained.Err())
				assert.True(t, isClosed(retained.Done()))
			})
		}
	}
}

func TestCancelBeforeRun(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(tk *testTask)
	}{
		{name: "after Start", prepare: func(tk *testTask) {
			tk.Start(1, context.Background(), nil)
			tk.Handle().Cancel()
		}},
		{name: "before Start", prepare: func(tk *testTask) {
			tk.Handle().Cancel()
			tk.Start(1, context.Background(), nil)
		}},
		{name: "twice", prepare: func(tk *testTask) {
			tk.Start(1, context.Background(), nil)
			tk.Handle().Cancel()
			tk.Handle().Cancel()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ran := false
			tk := newTask(job.Func(func(context.Context) error {
				ran = true
				return nil
			}))
			h := tk.Handle()
			tt.prepare(tk)

			st, err := tk.Run()

			assert.False(t, ran, "a job cancelled before Run ran")
			assert.Equal(t, job.Canceled, st)
			requireSameErr(t, job.ErrCanceled, err)
			require.ErrorIs(t, err, context.Canceled)
			outState, outErr := tk.Outcome()
			assert.Equal(t, job.Canceled, outState)
			requireSameErr(t, job.ErrCanceled, outErr)
			assert.Equal(t, job.Queued, h.State(), "State before Resolve")
			assert.NoError(t, h.Err())
			assert.False(t, isClosed(h.Done()))

			tk.Resolve()

			assert.Equal(t, job.Canceled, h.State())
			requireSameErr(t, job.ErrCanceled, h.Err())
			requireSameErr(t, job.ErrCanceled, h.Wait())
			assert.True(t, isClosed(h.Done()))
			h.Cancel()
			assert.Equal(t, job.Canceled, h.State())
			requireSameErr(t, job.ErrCanceled, h.Wait())
		})
	}
}

func TestErrCanceledMatchesContextCanceled(t *testing.T) {
	require.ErrorIs(t, job.ErrCanceled, context.Canceled)
	assert.NotErrorIs(t, job.ErrCanceled, context.DeadlineExceeded)
}

func TestParentDoneBeforeRun(t *testing.T) {
	bg := context.Background()
	tests := []struct {
		name   string
		parent func(t *testing.T) context.Context
		want   error
	}{
		{
			name: "canceled",
			parent: func(t *testing.T) context.Context {
				ctx, cancel := context.WithCancel(bg)
				cancel()
				return ctx
			},
			want: context.Canceled,
		},
		{
			name: "canceled with cause",
			parent: func(t *testing.T) context.Context {
				ctx, cancel := context.WithCancelCause(bg)
				cancel(errShutdown)
				return ctx
			},
			want: context.Canceled,
		},
		{
			name: "deadline exceeded",
			parent: func(t *testing.T) context.Context {
				ctx, cancel := context.WithTimeout(bg, time.Second)
				t.Cleanup(cancel)
				time.Sleep(2 * time.Second)
				return ctx
			},
			want: context.DeadlineExceeded,
		},
		{
			name: "deadline in the past",
			parent: func(t *testing.T) context.Context {
				ctx, cancel := context.WithDeadline(bg, time.Now().Add(-time.Second))
				t.Cleanup(cancel)
				return ctx
			},
			want: context.DeadlineExceeded,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ran := false
				tk := newTask(job.Func(func(context.Context) error {
					ran = true
					return nil
				}))
				h := tk.Handle()
				tk.Start(1, tt.parent(t), nil)

				st, err := runResolve(tk)

				assert.False(t, ran, "job ran under a done parent ctx")
				assert.Equal(t, job.Canceled, st)
				requireSameErr(t, tt.want, err)
				assert.Equal(t, job.Canceled, h.State())
				requireSameErr(t, tt.want, h.Wait())
				requireSameErr(t, tt.want, h.Err())
			})
		})
	}
}

// TestForcedBeforeRun checks that a job whose executor has forced its
// jobs to stop never runs and ends Canceled with the executor's error,
// whether or not the executor has ended its base ctx yet.
func TestForcedBeforeRun(t *testing.T) {
	tests := []struct {
		name  string
		force func(x *executor)
	}{
		{name: "stopped", force: (*executor).stop},
		{name: "Forced set, base not yet ended", force: func(x *executor) { x.exec.Forced.Store(true) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ran := false
				tk := newTask(job.Func(func(context.Context) error {
					ran = true
					return nil
				}))
				h := tk.Handle()
				x := newExecutor()
				defer x.release()
				tt.force(x)
				tk.Start(1, context.Background(), x)

				st, err := runResolve(tk)

				assert.False(t, ran, "job ran after its executor forced a stop")
				assert.Equal(t, job.Canceled, st)
				requireSameErr(t, errForced, err)
				require.ErrorIs(t, err, job.ErrCanceled)
				assert.Equal(t, job.Canceled, h.State())
				requireSameErr(t, errForced, h.Wait())
			})
		})
	}
}

func TestContextCarriesParentValuesAndDeadline(t *testing.T) {
	tests := []struct {
		name         string
		deadline     time.Duration // 0: none
		wantValue    any
		withValue    bool
		wantDeadline bool
	}{
		{name: "background"},
		{name: "value", withValue: true, wantValue: "v"},
		{name: "deadline", deadline: time.Hour, wantDeadline: true},
		{name: "value and deadline", withValue: true, wantValue: "v", deadline: time.Hour, wantDeadline: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				parent := context.Background()
				if tt.withValue {
					parent = context.WithValue(parent, ctxKey{}, "v")
				}
				var want time.Time
				if tt.deadline != 0 {
					want = time.Now().Add(tt.deadline)
					var cancel context.CancelFunc
					parent, cancel = context.WithDeadline(parent, want)
					defer cancel()
				}
				var (
					gotValue, missing any
					gotDeadline       time.Time
					hasDeadline       bool
					errDuring         error
				)
				tk := newTask(job.Func(func(ctx context.Context) error {
					gotValue = ctx.Value(ctxKey{})
					missing = ctx.Value(otherKey{})
					gotDeadline, hasDeadline = ctx.Deadline()
					errDuring = ctx.Err()
					return nil
				}))
				tk.Start(1, parent, nil)

				_, err := runResolve(tk)

				require.NoError(t, err)
				assert.Equal(t, tt.wantValue, gotValue)
				assert.Nil(t, missing)
				assert.Equal(t, tt.wantDeadline, hasDeadline)
				assert.True(t, want.Equal(gotDeadline), "Deadline() = %v, want %v", gotDeadline, want)
				assert.NoError(t, errDuring)
			})
		})
	}
}

// TestDerivedContext checks contexts derived from a job's ctx with
// context.WithCancel.
func TestDerivedContext(t *testing.T) {
	for _, e := range enders() {
		t.Run("ends with job ctx/"+e.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				started := make(chan struct{})
				var derivedErr, derivedCause error
				tk := newTask(job.Func(func(ctx context.Context) error {
					d, cancel := context.WithCancel(ctx)
					defer cancel()
					close(started)
					select {
					case <-d.Done():
						derivedErr = d.Err()
						derivedCause = context.Cause(d)
					case <-time.After(time.Hour):
					}
					return d.Err()
				}))
				h := tk.Handle()
				parent, x, end, want, wantCause := e.setup(t, h)
				tk.Start(1, parent, x)
				go runResolve(tk)
				<-started

				end()
				_ = waitBubbled(t, h)

				require.Error(t, derivedErr, "derived ctx not done an hour after the job's ctx ended")
				requireSameErr(t, want, derivedErr)
				requireSameErr(t, wantCause, derivedCause)
				assert.Equal(t, job.Canceled, h.State())
			})
		})
	}

	t.Run("own cancel leaves job ctx alone", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var derivedErr, jobErr error
			tk := newTask(job.Func(func(ctx context.Context) error {
				d, cancel := context.WithCancel(ctx)
				cancel()
				<-d.Done()
				derivedErr = d.Err()
				jobErr = ctx.Err()
				return nil
			}))
			_, err := runTask(tk)
			require.NoError(t, err)
			requireSameErr(t, context.Canceled, derivedErr)
			assert.NoError(t, jobErr)
		})
	})

	t.Run("retained derived ctx ends when Run returns", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var derived context.Context
			tk := newTask(job.Func(func(ctx context.Context) error {
				d, cancel := context.WithCancel(ctx)
				t.Cleanup(cancel)
				derived = d
				return nil
			}))
			_, err := runTask(tk)
			require.NoError(t, err)
			synctest.Wait()
			assert.True(t, isClosed(derived.Done()), "derived ctx still open after Run returned")
			requireSameErr(t, context.Canceled, derived.Err())
		})
	})
}

func TestFromContext(t *testing.T) {
	tests := []struct {
		name string
		opts []job.Option
		id   uint64
		want job.Info
	}{
		{
			name: "named",
			opts: []job.Option{job.WithName("fetch"), job.WithWeight(3)},
			id:   42,
			want: job.Info{ID: 42, Name: "fetch", Weight: 3},
		},
		{name: "unnamed", id: 7, want: job.Info{ID: 7, Name: "job-7", Weight: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			type seen struct {
				info job.Info
				ok   bool
				name string
			}
			var got []seen
			look := func(ctx context.Context) {
				info, ok := job.FromContext(ctx)
				got = append(got, seen{info, ok, job.NameFrom(ctx)})
			}
			parent := context.WithValue(context.Background(), otherKey{}, 0)
			tk := newTask(job.Func(func(ctx context.Context) error {
				look(ctx)
				look(context.WithValue(ctx, otherKey{}, 1))
				d, cancel := context.WithCancel(ctx)
				defer cancel()
				look(d)
				look(context.WithoutCancel(ctx))
				return nil
			}), tt.opts...)
			tk.Start(tt.id, parent, nil)

			_, err := runResolve(tk)

			require.NoError(t, err)
			want := seen{tt.want, true, tt.want.Name}
			assert.Equal(t, []seen{want, want, want, want}, got)
			info, ok := job.FromContext(parent)
			assert.False(t, ok, "FromContext of the submitter's ctx")
			assert.Equal(t, job.Info{}, info)
		})
	}
}

func TestFromContextInnermostJob(t *testing.T) {
	var outerInfo, innerInfo, afterInner job.Info
	outer := newTask(job.Func(func(ctx context.Context) error {
		outerInfo, _ = job.FromContext(ctx)
		inner := newTask(job.Func(func(ictx context.Context) error {
			innerInfo, _ = job.FromContext(ictx)
			return nil
		}), job.WithName("inner"), job.WithWeight(2))
		inner.Start(2, ctx, nil)
		_, err := runResolve(inner)
		afterInner, _ = job.FromContext(ctx)
		return err
	}), job.WithName("outer"))

	_, err := runTask(outer)

	require.NoError(t, err)
	assert.Equal(t, job.Info{ID: 1, Name: "outer", Weight: 1}, outerInfo)
	assert.Equal(t, job.Info{ID: 2, Name: "inner", Weight: 2}, innerInfo)
	assert.Equal(t, outerInfo, afterInner)
}

func TestFromContextOutsideJob(t *testing.T) {
	bg := context.Background()
	cancelable, cancel := context.WithCancel(bg)
	defer cancel()
	tests := []struct {
		name string
		give context.Context
	}{
		{name: "Background", give: bg},
		{name: "TODO", give: context.TODO()},
		{name: "WithValue", give: context.WithValue(bg, ctxKey{}, "v")},
		{name: "WithCancel", give: cancelable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, ok := job.FromContext(tt.give)
			assert.False(t, ok)
			assert.Equal(t, job.Info{}, info)
			assert.Equal(t, "", job.NameFrom(tt.give))
		})
	}
}

func TestPanic(t *testing.T) {
	ce := &codeError{code: 7}
	tests := []struct {
		name       string
		give       any
		wantUnwrap error
	}{
		{name: "string", give: "kaput"},
		{name: "int", give: 42},
		{name: "error", give: errBoom, wantUnwrap: errBoom},
		{name: "custom error", give: ce, wantUnwrap: ce},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var retained context.Context
			tk := newTask(job.Func(func(ctx context.Context) error {
				retained = ctx
				panic(tt.give)
			}))
			h := tk.Handle()
			tk.Start(1, context.Background(), nil)

			st, err := tk.Run()

			assert.Equal(t, job.Panicked, st)
			outState, outErr := tk.Outcome()
			assert.Equal(t, job.Panicked, outState)
			requireSameErr(t, err, outErr)
			assert.False(t, h.State().Final(), "State %v is final before Resolve", h.State())
			assert.NoError(t, h.Err())

			tk.Resolve()

			assert.Equal(t, job.Panicked, h.State())
			requireSameErr(t, err, h.Wait())
			requireSameErr(t, err, h.Err())

			var pe *job.PanicError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, tt.give, pe.Value)
			assert.NotEmpty(t, pe.Stack)
			assert.ErrorIs(t, err, job.ErrPanic)
			assert.NotErrorIs(t, err, job.ErrGoexit)
			assert.NotErrorIs(t, err, context.Canceled)
			assert.True(t, strings.HasPrefix(err.Error(), "job: panic"), "Error() = %q", err.Error())
			assert.Contains(t, err.Error(), fmt.Sprint(tt.give))
			if tt.wantUnwrap != nil {
				requireSameErr(t, tt.wantUnwrap, errors.Unwrap(err))
				assert.ErrorIs(t, err, tt.wantUnwrap)
			} else {
				assert.NoError(t, errors.Unwrap(err))
			}
			if tt.give == ce {
				var got *codeError
				require.ErrorAs(t, err, &got)
				assert.Same(t, ce, got)
			}
			requireSameErr(t, context.Canceled, retained.Err())
			assert.True(t, isClosed(retained.Done()))
		})
	}
}

func TestPanicNil(t *testing.T) {
	tk := newTask(job.Func(func(context.Context) error {
		panic(nil) // becomes a *runtime.PanicNilError
	}))

	st, err := runTask(tk)

	assert.Equal(t, job.Panicked, st)
	var pe *job.PanicError
	require.ErrorAs(t, err, &pe)
	var pn *runtime.PanicNilError
	assert.ErrorAs(t, err, &pn)
	assert.ErrorIs(t, err, job.ErrPanic)
}

func TestPanicErrorMethods(t *testing.T) {
	tests := []struct {
		name       string
		give       *job.PanicError
		wantUnwrap error
	}{
		{name: "string", give: &job.PanicError{Value: "x", Stack: []byte("stack")}},
		{name: "error", give: &job.PanicError{Value: errBoom}, wantUnwrap: errBoom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.True(t, strings.HasPrefix(tt.give.Error(), "job: panic"), "Error() = %q", tt.give.Error())
			assert.True(t, errors.Is(tt.give, job.ErrPanic))
			assert.False(t, errors.Is(tt.give, errShutdown))
			requireSameErr(t, tt.wantUnwrap, tt.give.Unwrap())
			wrapped := fmt.Errorf("outer: %w", tt.give)
			var pe *job.PanicError
			require.ErrorAs(t, wrapped, &pe)
			assert.Same(t, tt.give, pe)
			assert.ErrorIs(t, wrapped, job.ErrPanic)
		})
	}
}

func TestGoexit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var retained context.Context
		after := false
		tk := newTask(job.Func(func(ctx context.Context) error {
			retained = ctx
			runtime.Goexit()
			after = true
			return nil
		}), job.WithName("quitter"))
		h := tk.Handle()
		tk.Start(1, context.Background(), nil)
		var (
			returned bool
			outState job.State
			outErr   error
		)
		go func() {
			defer tk.Resolve()
			defer func() { outState, outErr = tk.Outcome() }()
			tk.Run()
			returned = true
		}()

		err := waitBubbled(t, h)

		requireSameErr(t, job.ErrGoexit, err)
		assert.False(t, returned, "Run returned after runtime.Goexit")
		assert.False(t, after)
		assert.Equal(t, job.Failed, outState)
		requireSameErr(t, job.ErrGoexit, outErr)
		assert.Equal(t, job.Failed, h.State())
		requireSameErr(t, job.ErrGoexit, h.Err())
		requireSameErr(t, job.ErrGoexit, h.Wait())
		requireSameErr(t, context.Canceled, retained.Err())
		assert.True(t, isClosed(retained.Done()))
	})
}

func TestResult(t *testing.T) {
	tests := []struct {
		name      string
		fn        func(context.Context) (int, error)
		wantVal   int
		wantErr   error // exact; nil with wantPanic
		wantPanic bool
		wantState job.State
	}{
		{
			name:      "value",
			fn:        func(context.Context) (int, error) { return 42, nil },
			wantVal:   42,
			wantState: job.Succeeded,
		},
		{
			name:      "value and error",
			fn:        func(context.Context) (int, error) { return 7, errPartial },
			wantVal:   7,
			wantErr:   errPartial,
			wantState: job.Failed,
		},
		{
			name:      "zero and error",
			fn:        func(context.Context) (int, error) { return 0, errBoom },
			wantErr:   errBoom,
			wantState: job.Failed,
		},
		{
			name:      "panic",
			fn:        func(context.Context) (int, error) { panic("kaput") },
			wantPanic: true,
			wantState: job.Panicked,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := job.NewResult(tt.fn)
			tk := resultTask(r, job.WithName("answer"), job.WithWeight(2))
			require.NotNil(t, tk)
			assert.Equal(t, int64(2), tk.Weight())
			assert.Equal(t, int64(2), r.Weight())
			assert.Equal(t, job.Queued, r.State())
			assert.NoError(t, r.Err())
			assert.False(t, isClosed(r.Done()))
			tk.Start(5, context.Background(), nil)
			assert.Equal(t, uint64(5), r.ID())
			assert.Equal(t, "answer", r.Name())

			st, runErr := tk.Run()
			assert.Equal(t, tt.wantState, st)
			assert.False(t, isClosed(r.Done()), "Done closed before Resolve")
			assert.NoError(t, r.Err())
			tk.Resolve()

			v, err := r.Wait()
			assert.Equal(t, tt.wantVal, v)
			if tt.wantPanic {
				var pe *job.PanicError
				require.ErrorAs(t, err, &pe)
				assert.Equal(t, "kaput", pe.Value)
				assert.NotEmpty(t, pe.Stack)
			} else {
				requireSameErr(t, tt.wantErr, err)
			}
			requireSameErr(t, runErr, err)
			assert.True(t, isClosed(r.Done()))
			assert.Equal(t, tt.wantState, r.State())
			requireSameErr(t, err, r.Err())
			requireSameErr(t, err, r.Handle.Wait())
			requireSameErr(t, err, tk.Handle().Wait())
			assert.Equal(t, tt.wantState, tk.Handle().State())
		})
	}
}

func TestResultDefaults(t *testing.T) {
	r := job.NewResult(func(context.Context) (string, error) { return "hi", nil })
	tk := resultTask(r)
	assert.Equal(t, int64(1), r.Weight())
	assert.Equal(t, int64(1), tk.Weight())
	tk.Start(9, context.Background(), nil)
	assert.Equal(t, "job-9", r.Name())

	_, err := runResolve(tk)

	require.NoError(t, err)
	v, err := r.Wait()
	require.NoError(t, err)
	assert.Equal(t, "hi", v)
}

func TestResultCanceledBeforeRun(t *testing.T) {
	ran := false
	r := job.NewResult(func(context.Context) (int, error) {
		ran = true
		return 1, nil
	})
	tk := resultTask(r)
	tk.Start(1, context.Background(), nil)
	r.Cancel()

	st, err := runResolve(tk)

	assert.False(t, ran)
	assert.Equal(t, job.Canceled, st)
	requireSameErr(t, job.ErrCanceled, err)
	v, err := r.Wait()
	assert.Zero(t, v)
	requireSameErr(t, job.ErrCanceled, err)
	assert.Equal(t, job.Canceled, r.State())
}

func TestResultCanceledWhileRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		started := make(chan struct{})
		r := job.NewResult(func(ctx context.Context) (string, error) {
			close(started)
			<-ctx.Done()
			return "partial", ctx.Err()
		})
		tk := resultTask(r)
		tk.Start(1, context.Background(), nil)
		go runResolve(tk)
		<-started

		r.Cancel()
		_ = waitBubbled(t, &r.Handle)

		v, err := r.Wait()
		assert.Equal(t, "partial", v)
		requireSameErr(t, context.Canceled, err)
		assert.Equal(t, job.Canceled, r.State())
	})
}

func TestResultGoexit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := job.NewResult(func(context.Context) (int, error) {
			runtime.Goexit()
			return 1, nil
		})
		tk := resultTask(r)
		tk.Start(1, context.Background(), nil)
		go func() {
			defer tk.Resolve()
			tk.Run()
		}()

		_ = waitBubbled(t, &r.Handle)

		v, err := r.Wait()
		assert.Zero(t, v)
		requireSameErr(t, job.ErrGoexit, err)
		assert.Equal(t, job.Failed, r.State())
	})
}

func TestDoneSelectable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		tk := newTask(job.Func(func(context.Context) error {
			<-release
			return nil
		}))
		h := tk.Handle()
		tk.Start(1, context.Background(), nil)
		early := h.Done()
		go runResolve(tk)

		select {
		case <-early:
			require.FailNow(t, "Done closed while the job runs")
		case <-time.After(time.Minute):
		}
		assert.Equal(t, job.Running, h.State())

		close(release)
		select {
		case <-early:
		case <-time.After(time.Hour):
			require.FailNow(t, "Done not closed after the job finished")
		}
		assert.True(t, isClosed(h.Done()))
		assert.Equal(t, job.Succeeded, h.State())
	})
}

func TestWaitFromManyGoroutines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		tk := newTask(job.Func(func(context.Context) error {
			<-release
			return errBoom
		}))
		h := tk.Handle()
		tk.Start(1, context.Background(), nil)

		const waiters, calls = 8, 3
		errs := make(chan error, 3*waiters*calls)
		var wg sync.WaitGroup
		wait := func() {
			for range calls {
				errs <- h.Wait()
			}
		}
		for range waiters {
			wg.Go(wait)
		}
		go runResolve(tk)
		synctest.Wait()
		require.Empty(t, errs, "Wait returned while the job runs")

		close(release)
		for range waiters {
			wg.Go(wait) // racing with Run and Resolve
		}
		wg.Wait()
		for range waiters {
			wg.Go(wait) // after Resolve
		}
		wg.Wait()
		close(errs)

		n := 0
		for err := range errs {
			requireSameErr(t, errBoom, err)
			n++
		}
		assert.Equal(t, 3*waiters*calls, n)
		requireSameErr(t, errBoom, h.Err())
	})
}

// TestJobWritesVisibleAfterWait relies on -race: the job writes plain
// variables on another goroutine and the test reads them once Wait or Done
// says the job has finished.
func TestJobWritesVisibleAfterWait(t *testing.T) {
	waits := []struct {
		name string
		wait func(h *job.Handle)
	}{
		{name: "Wait", wait: func(h *job.Handle) { _ = h.Wait() }},
		{name: "Done", wait: func(h *job.Handle) { <-h.Done() }},
	}
	ends := []struct {
		name string
		end  func() error
	}{
		{name: "return", end: func() error { return nil }},
		{name: "error", end: func() error { return errBoom }},
		{name: "panic", end: func() error { panic("kaput") }},
	}
	for _, w := range waits {
		for _, e := range ends {
			t.Run(w.name+"/"+e.name, func(t *testing.T) {
				var (
					n    int
					data map[string]int
				)
				tk := newTask(job.Func(func(context.Context) error {
					n = 42
					data = map[string]int{"a": 1}
					return e.end()
				}))
				h := tk.Handle()
				tk.Start(1, context.Background(), nil)
				go runResolve(tk)

				w.wait(h)

				assert.Equal(t, 42, n)
				assert.Equal(t, map[string]int{"a": 1}, data)
			})
		}
	}

	t.Run("Result", func(t *testing.T) {
		var n int
		r := job.NewResult(func(context.Context) ([]int, error) {
			n = 7
			return []int{1, 2, 3}, nil
		})
		tk := resultTask(r)
		tk.Start(1, context.Background(), nil)
		go runResolve(tk)

		v, err := r.Wait()

		require.NoError(t, err)
		assert.Equal(t, []int{1, 2, 3}, v)
		assert.Equal(t, 7, n)
	})
}
