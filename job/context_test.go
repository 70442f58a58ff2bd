package job_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weir-go/weir/job"
)

var errParentCause = errors.New("submitter gave up")

// TestDerivedContextsCostNoGoroutine checks that a ctx derived from a
// job's ctx registers with it as with one of package context's own: no
// goroutine per derived ctx, however many there are.
func TestDerivedContextsCostNoGoroutine(t *testing.T) {
	const n = 100
	parents := []struct {
		name   string
		parent func(t *testing.T) context.Context
	}{
		{name: "Background", parent: func(*testing.T) context.Context { return context.Background() }},
		{name: "cancelable", parent: func(t *testing.T) context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			t.Cleanup(cancel)
			return ctx
		}},
	}
	for _, p := range parents {
		t.Run(p.name, func(t *testing.T) {
			var before, after int
			tk := newTask(job.Func(func(ctx context.Context) error {
				cancels := make([]context.CancelFunc, 0, n)
				before = runtime.NumGoroutine()
				for range n {
					_, cancel := context.WithCancel(ctx)
					cancels = append(cancels, cancel)
				}
				after = runtime.NumGoroutine()
				for _, cancel := range cancels {
					cancel()
				}
				return nil
			}))
			x := newExecutor()
			defer x.release()
			tk.Start(1, p.parent(t), x)

			_, err := runResolve(tk)

			require.NoError(t, err)
			assert.LessOrEqual(t, after, before, "%d ctxs derived from a job's ctx started %d goroutines", n, after-before)
		})
	}
}

// TestDerivedContextEndsWithJobContext checks that a ctx derived from a
// job's ctx, directly or through others, is done at the moment the job's
// ctx is: when Cancel or the submitter's cancel returns, or when the job's
// Err has reported a forced stop, with no goroutine to wait for.
func TestDerivedContextEndsWithJobContext(t *testing.T) {
	tests := []struct {
		name string
		// end ends the job's ctx, from the job itself.
		end       func(h *job.Handle, cancelParent context.CancelCauseFunc, x *executor, ctx context.Context)
		wantErr   error
		wantCause error
	}{
		{
			name:      "Cancel",
			end:       func(h *job.Handle, _ context.CancelCauseFunc, _ *executor, _ context.Context) { h.Cancel() },
			wantErr:   context.Canceled,
			wantCause: context.Canceled,
		},
		{
			name: "submitter's ctx canceled",
			end: func(_ *job.Handle, cancelParent context.CancelCauseFunc, _ *executor, _ context.Context) {
				cancelParent(errParentCause)
			},
			wantErr:   context.Canceled,
			wantCause: errParentCause,
		},
		{
			name: "forced stop seen by Err",
			end: func(_ *job.Handle, _ context.CancelCauseFunc, x *executor, ctx context.Context) {
				x.stop()
				_ = ctx.Err()
			},
			wantErr:   context.Canceled,
			wantCause: errForced,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent, cancelParent := context.WithCancelCause(context.Background())
			defer cancelParent(nil)
			x := newExecutor()
			defer x.release()
			var h *job.Handle
			var derived []context.Context
			var cancels []context.CancelFunc
			tk := newTask(job.Func(func(ctx context.Context) error {
				d, cancel := context.WithCancel(ctx)
				cancels = append(cancels, cancel)
				derived = append(derived, d)
				dd, cancel := context.WithTimeout(context.WithValue(d, ctxKey{}, "v"), time.Hour)
				cancels = append(cancels, cancel)
				derived = append(derived, dd)
				derived = append(derived, context.WithoutCancel(ctx)) // never ends
				wd := context.WithValue(ctx, ctxKey{}, "w")
				d3, cancelCause := context.WithCancelCause(wd)
				cancels = append(cancels, func() { cancelCause(nil) })
				derived = append(derived, d3)
				for _, d := range derived {
					require.NoError(t, d.Err())
				}

				tt.end(h, cancelParent, x, ctx)

				assert.True(t, isClosed(ctx.Done()))
				requireSameErr(t, tt.wantErr, ctx.Err())
				requireSameErr(t, tt.wantCause, context.Cause(ctx))
				for i, d := range derived {
					if i == 2 {
						assert.False(t, isClosed(d.Done()), "WithoutCancel ended")
						continue
					}
					assert.True(t, isClosed(d.Done()), "derived ctx %d not done at once", i)
					requireSameErr(t, tt.wantErr, d.Err())
					requireSameErr(t, tt.wantCause, context.Cause(d))
				}
				return nil
			}))
			h = tk.Handle()
			tk.Start(1, parent, x)

			_, err := runResolve(tk)

			require.NoError(t, err)
			for _, cancel := range cancels {
				cancel()
			}
		})
	}
}

// source is one of the four things that end a job's ctx.
type source string

const (
	srcParent source = "parent" // the submitter's ctx ends with errParentCause
	srcCancel source = "Cancel" // Handle.Cancel
	srcForced source = "forced" // the executor forces its jobs to stop
	srcReturn source = "return" // Run returns
)

// permutations returns every order of s.
func permutations(s []source) [][]source {
	if len(s) <= 1 {
		return [][]source{append([]source(nil), s...)}
	}
	var out [][]source
	for i := range s {
		rest := make([]source, 0, len(s)-1)
		rest = append(rest, s[:i]...)
		rest = append(rest, s[i+1:]...)
		for _, p := range permutations(rest) {
			out = append(out, append([]source{s[i]}, p...))
		}
	}
	return out
}

// TestContextCauseIsFirstReason checks, for every order in which the four
// sources can end a job's ctx, that Err and context.Cause report the
// first, before and after the others, and that so do ctxs derived from it.
//
// The submitter's ctx and a forced stop are noticed when someone looks:
// the job's Err, or the registrations its Done channel makes. The modes
// are a job that polls Err after each event, one that took Done (and lets
// the forced stop's registration run after each event), and one that
// looks at nothing until the end: there, a forced stop followed by the
// end of the submitter's ctx, with no one looking in between, cannot be
// told from the other order, and the submitter's reason is reported.
func TestContextCauseIsFirstReason(t *testing.T) {
	parents := []struct {
		name    string
		make    func() (context.Context, func())
		wantErr error // the job ctx's Err when the submitter's ctx came first
	}{
		{
			name: "canceled with cause",
			make: func() (context.Context, func()) {
				ctx, cancel := context.WithCancelCause(context.Background())
				return ctx, func() { cancel(errParentCause) }
			},
			wantErr: context.Canceled,
		},
		{
			name: "deadline with cause",
			make: func() (context.Context, func()) {
				ctx, cancel := context.WithDeadlineCause(context.Background(), time.Now().Add(time.Minute), errParentCause)
				_ = cancel // the deadline ends it; cancel after it changes nothing
				return ctx, func() { time.Sleep(2 * time.Minute); cancel() }
			},
			wantErr: context.DeadlineExceeded,
		},
	}
	modes := []string{"untouched", "Err polled", "Done taken"}
	for _, p := range parents {
		for _, mode := range modes {
			for _, order := range permutations([]source{srcParent, srcCancel, srcForced, srcReturn}) {
				name := p.name + "/" + mode + "/" + joinSources(order)
				t.Run(name, func(t *testing.T) {
					synctest.Test(t, func(t *testing.T) {
						parent, endParent := p.make()
						x := newExecutor()
						defer x.release()
						var (
							h       *job.Handle
							jobCtx  context.Context
							derived context.Context
						)
						fire := func(s source) {
							switch s {
							case srcParent:
								endParent()
							case srcCancel:
								h.Cancel()
							case srcForced:
								x.stop()
							}
							switch mode {
							case "Err polled":
								_ = jobCtx.Err()
							case "Done taken":
								synctest.Wait()
							}
						}
						tk := newTask(job.Func(func(ctx context.Context) error {
							jobCtx = ctx
							if mode == "Done taken" {
								_ = ctx.Done()
								var cancel context.CancelFunc
								derived, cancel = context.WithCancel(ctx)
								t.Cleanup(cancel)
							}
							for _, s := range order {
								if s == srcReturn {
									break
								}
								fire(s)
							}
							return nil
						}))
						h = tk.Handle()
						tk.Start(1, parent, x)

						_, err := runResolve(tk)
						require.NoError(t, err)
						var after bool
						for _, s := range order {
							if after {
								fire(s)
							}
							after = after || s == srcReturn
						}
						synctest.Wait()

						first := order[0]
						if mode == "untouched" && first == srcForced && order[1] == srcParent {
							first = srcParent
						}
						wantErr, wantCause := context.Canceled, context.Canceled
						switch first {
						case srcParent:
							wantErr, wantCause = p.wantErr, errParentCause
						case srcForced:
							wantCause = errForced
						}
						check := func(what string, ctx context.Context) {
							t.Helper()
							assert.True(t, isClosed(ctx.Done()), "%s not done", what)
							requireSameErr(t, wantErr, ctx.Err())
							requireSameErr(t, wantCause, context.Cause(ctx))
						}
						check("job ctx", jobCtx)
						if derived != nil {
							check("ctx derived while the job ran", derived)
						}
						late, cancel := context.WithCancel(jobCtx)
						defer cancel()
						check("ctx derived after the end", late)
						check("job ctx again", jobCtx)
					})
				})
			}
		}
	}
}

func joinSources(order []source) string {
	s := make([]string, len(order))
	for i, o := range order {
		s[i] = string(o)
	}
	return strings.Join(s, ",")
}
