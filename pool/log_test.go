package pool_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/weir-go/weir/job"
	"github.com/weir-go/weir/pool"
)

// observed makes a pool that logs to an observer at the given level.
func observed(t testing.TB, limit int64, level zapcore.Level, opts ...pool.Option) (*pool.Pool, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(level)
	return mustNew(t, limit, append([]pool.Option{pool.WithLogger(zap.New(core))}, opts...)...), logs
}

// requireFields checks that every key is among the entry's fields.
func requireFields(t testing.TB, e observer.LoggedEntry, keys ...string) map[string]any {
	t.Helper()
	m := e.ContextMap()
	for _, k := range keys {
		require.Containsf(t, m, k, "entry %q lacks field %q: %v", e.Message, k, m)
	}
	return m
}

// A concurrent workload of N admitted jobs, through every entry point and
// with every outcome, logs exactly N "job acquired" and N "job released"
// Debug events, one of each per job ID, and nothing for rejected submits.
func TestLogAcquiredAndReleasedOncePerJob(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		const name = "workers"
		p, logs := observed(t, 3, zap.DebugLevel, pool.WithName(name))
		g, _ := p.Group(ctx)
		cctx, cancel := context.WithCancel(ctx)

		sleep := func(d time.Duration, err error) job.Func {
			return func(context.Context) error { time.Sleep(d); return err }
		}
		type want struct {
			outcome string
			weight  int64
		}
		// wants has the named jobs; unnamed counts the unnamed ones by outcome.
		wants := map[string]want{}
		unnamed := map[string]int{}
		var wg sync.WaitGroup
		launch := func(jobName, outcome string, weight int64, f func([]job.Option) error) {
			var opts []job.Option
			if jobName != "" {
				opts = append(opts, job.WithName(jobName))
				wants[jobName] = want{outcome, weight}
			} else {
				unnamed[outcome]++
			}
			if weight != 1 {
				opts = append(opts, job.WithWeight(weight))
			}
			wg.Go(func() { assert.NoError(t, f(opts), jobName) })
		}
		submit := func(j job.Job) func([]job.Option) error {
			return func(opts []job.Option) error { _, err := p.Submit(ctx, j, opts...); return err }
		}
		for i := range 4 {
			launch("s"+strconv.Itoa(i), "succeeded", 1, submit(sleep(time.Second, nil)))
		}
		launch("s4", "failed", 1, submit(sleep(time.Second, errJob)))
		launch("s5", "panicked", 1, submit(job.Func(func(context.Context) error { time.Sleep(time.Second); panic("logged boom") })))
		launch("", "succeeded", 1, submit(sleep(time.Second, nil)))
		launch("heavy", "succeeded", 2, submit(sleep(time.Second, nil)))
		c0Started := make(chan struct{})
		wg.Go(func() { <-c0Started; cancel() }) // c0 ends canceled once it runs
		launch("c0", "canceled", 1, func(opts []job.Option) error {
			_, err := p.Submit(cctx, job.Func(func(ctx context.Context) error {
				close(c0Started)
				<-ctx.Done()
				return ctx.Err()
			}), opts...)
			return err
		})
		launch("d0", "succeeded", 1, func(opts []job.Option) error { return p.Do(ctx, sleep(time.Second, nil), opts...) })
		launch("d1", "failed", 1, func(opts []job.Option) error {
			if err := p.Do(ctx, sleep(time.Second, errJob), opts...); err != errJob {
				return err
			}
			return nil
		})
		launch("", "succeeded", 1, func(opts []job.Option) error { return p.Do(ctx, sleep(time.Second, nil), opts...) })
		launch("go0", "succeeded", 1, func(opts []job.Option) error {
			_, err := p.Go(ctx, sleep(time.Second, nil), opts...)
			return err
		})
		launch("r0", "succeeded", 1, func(opts []job.Option) error {
			_, err := pool.SubmitResult(ctx, p, func(context.Context) (int, error) { time.Sleep(time.Second); return 1, nil }, opts...)
			return err
		})
		launch("", "failed", 1, func(opts []job.Option) error {
			_, err := pool.SubmitResult(ctx, p, func(context.Context) (int, error) { time.Sleep(time.Second); return 0, errJob }, opts...)
			return err
		})
		launch("g0", "succeeded", 1, func(opts []job.Option) error {
			_, err := g.Go(sleep(time.Second, nil), opts...)
			return err
		})
		launch("g1", "succeeded", 2, func(opts []job.Option) error {
			_, err := g.Submit(sleep(time.Second, nil), opts...)
			return err
		})
		const n = 17

		// Rejected submits while the pool is busy: none is logged.
		synctest.Wait()
		rejected := func(jobName string) []job.Option { return []job.Option{job.WithName(jobName)} }
		_, err := p.TrySubmit(ctx, sleep(0, nil), rejected("rejected-full")...)
		requirePoolErr(t, err, pool.ErrFull)
		_, err = p.Submit(ctx, sleep(0, nil), append(rejected("rejected-weight"), job.WithWeight(0))...)
		requirePoolErr(t, err, pool.ErrInvalidWeight)
		requirePoolErr(t, p.Do(ctx, sleep(0, nil), append(rejected("rejected-big"), job.WithWeight(4))...), pool.ErrWeightExceedsLimit)
		done, cancelDone := context.WithCancel(ctx)
		cancelDone()
		_, err = p.Submit(done, sleep(0, nil), rejected("rejected-ctx")...)
		require.ErrorIs(t, err, context.Canceled)
		wctx, cancelWaiter := context.WithCancel(ctx)
		w := goSubmit(wctx, p, sleep(0, nil), rejected("rejected-waiter")...)
		requireBlocked(t, w)
		cancelWaiter()
		require.ErrorIs(t, w.result(t).err, context.Canceled)

		wg.Wait()
		require.NoError(t, g.Wait())
		p.Wait()
		require.NoError(t, p.Close())
		_, err = p.Submit(ctx, sleep(0, nil), rejected("rejected-closed")...)
		requirePoolErr(t, err, pool.ErrClosed)
		st := p.Stats()
		require.Equal(t, uint64(n), st.Submitted)

		acquired := logs.FilterMessage(pool.MsgAcquired).All()
		released := logs.FilterMessage(pool.MsgReleased).All()
		require.Len(t, acquired, n)
		require.Len(t, released, n)

		type ident struct {
			name   string
			weight int64
		}
		byID := map[uint64]ident{}
		for _, e := range acquired {
			assert.Equal(t, zapcore.DebugLevel, e.Level)
			assert.Equal(t, "weir", e.LoggerName)
			m := requireFields(t, e, pool.KeyPool, pool.KeyJob, pool.KeyID, pool.KeyWeight,
				pool.KeyWaited, pool.KeyInUse, pool.KeyLimit, pool.KeyWaiters)
			assert.Equal(t, name, m[pool.KeyPool])
			assert.Equal(t, int64(3), m[pool.KeyLimit])
			id := m[pool.KeyID].(uint64)
			require.NotContainsf(t, byID, id, "job ID %d acquired twice", id)
			byID[id] = ident{m[pool.KeyJob].(string), m[pool.KeyWeight].(int64)}
		}
		seen := map[uint64]bool{}
		gotUnnamed := map[string]int{}
		for _, e := range released {
			assert.Equal(t, zapcore.DebugLevel, e.Level)
			assert.Equal(t, "weir", e.LoggerName)
			m := requireFields(t, e, pool.KeyPool, pool.KeyJob, pool.KeyID, pool.KeyWeight,
				pool.KeyOutcome, pool.KeyHeld, pool.KeyInUse, pool.KeyLimit)
			assert.Equal(t, name, m[pool.KeyPool])
			id := m[pool.KeyID].(uint64)
			require.Containsf(t, byID, id, "job ID %d released but never acquired", id)
			require.Falsef(t, seen[id], "job ID %d released twice", id)
			seen[id] = true
			jobName, weight, outcome := m[pool.KeyJob].(string), m[pool.KeyWeight].(int64), m[pool.KeyOutcome].(string)
			if outcome != "succeeded" {
				requireFields(t, e, "error")
			}
			assert.Equal(t, byID[id], ident{jobName, weight}, "acquired and released disagree on the job")
			if w, ok := wants[jobName]; ok {
				assert.Equalf(t, w, want{outcome, weight}, "job %s", jobName)
				delete(wants, jobName)
			} else {
				assert.Equal(t, "job-"+strconv.FormatUint(id, 10), jobName, "an unnamed job is logged by its default name")
				gotUnnamed[outcome]++
			}
		}
		assert.Empty(t, wants, "named jobs never released")
		assert.Equal(t, unnamed, gotUnnamed)
		for _, e := range logs.All() {
			jobName, _ := e.ContextMap()[pool.KeyJob].(string)
			assert.NotContains(t, jobName, "rejected-", "a rejected submit was logged: %s %v", e.Message, e.ContextMap())
		}

		panics := logs.FilterMessage(pool.MsgPanicked).All()
		require.Len(t, panics, 1)
		assert.Equal(t, zapcore.ErrorLevel, panics[0].Level)
		m := requireFields(t, panics[0], pool.KeyPool, pool.KeyJob, pool.KeyID, pool.KeyStack, "error")
		assert.Equal(t, "s5", m[pool.KeyJob])
		assert.Contains(t, m[pool.KeyStack], "log_test.go")
		assert.Contains(t, m["error"], "logged boom")
	})
}

// Waited, held, in_use, limit and waiters carry the right values, measured
// in fake time.
func TestLogAcquiredAndReleasedFieldValues(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		p, logs := observed(t, 1, zap.DebugLevel)
		sleep := func(d time.Duration) job.Func {
			return func(context.Context) error { time.Sleep(d); return nil }
		}
		_, err := p.Submit(ctx, sleep(2*time.Second), job.WithName("a"))
		require.NoError(t, err)
		time.Sleep(500 * time.Millisecond)
		b := goSubmit(ctx, p, sleep(time.Second), job.WithName("b"))
		time.Sleep(500 * time.Millisecond)
		c := goSubmit(ctx, p, sleep(time.Second), job.WithName("c"))
		require.NoError(t, b.result(t).err)
		require.NoError(t, c.result(t).err)
		p.Wait()

		fields := func(msg, jobName string) map[string]any {
			t.Helper()
			for _, e := range logs.FilterMessage(msg).All() {
				if m := e.ContextMap(); m[pool.KeyJob] == jobName {
					assert.Equal(t, "pool", m[pool.KeyPool], "the default pool name")
					return m
				}
			}
			t.Fatalf("no %q entry for job %s", msg, jobName)
			return nil
		}
		a, bAcq, cAcq := fields(pool.MsgAcquired, "a"), fields(pool.MsgAcquired, "b"), fields(pool.MsgAcquired, "c")
		assert.Equal(t, time.Duration(0), a[pool.KeyWaited])
		assert.Equal(t, 1500*time.Millisecond, bAcq[pool.KeyWaited]) // from 0.5s to 2s
		assert.Equal(t, 2*time.Second, cAcq[pool.KeyWaited])         // from 1s to 3s
		assert.Equal(t, int64(1), a[pool.KeyInUse])
		assert.Equal(t, int64(1), bAcq[pool.KeyInUse])
		assert.Equal(t, int64(1), bAcq[pool.KeyLimit])
		assert.Equal(t, int64(1), bAcq[pool.KeyWaiters], "c waits when b is admitted")
		assert.Equal(t, int64(0), cAcq[pool.KeyWaiters])

		aRel, cRel := fields(pool.MsgReleased, "a"), fields(pool.MsgReleased, "c")
		assert.Equal(t, 2*time.Second, aRel[pool.KeyHeld])
		assert.Equal(t, time.Second, cRel[pool.KeyHeld])
		assert.Equal(t, int64(0), cRel[pool.KeyInUse])
		assert.Equal(t, "succeeded", cRel[pool.KeyOutcome])
	})
}

// A panicking Do logs "job panicked" with its error and stack too, as the
// package documentation lists for every job.
func TestLogDoPanic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, logs := observed(t, 1, zap.DebugLevel)
		func() {
			defer func() { _ = recover() }()
			_ = p.Do(context.Background(), job.Func(func(context.Context) error { panic("do boom") }), job.WithName("dp"))
		}()
		panics := logs.FilterMessage(pool.MsgPanicked).All()
		require.Len(t, panics, 1)
		assert.Equal(t, zapcore.ErrorLevel, panics[0].Level)
		m := panics[0].ContextMap()
		assert.Equal(t, "dp", m[pool.KeyJob])
		assert.Contains(t, m, pool.KeyID)
		assert.Contains(t, m[pool.KeyStack], "log_test.go", "the stack of the panic")
		assert.Contains(t, m["error"], "do boom", "the panic as error")
		rel := logs.FilterMessage(pool.MsgReleased).All()
		require.Len(t, rel, 1)
		assert.Equal(t, "panicked", rel[0].ContextMap()[pool.KeyOutcome])
		assert.Contains(t, rel[0].ContextMap()["error"], "do boom", "the released event's error")
	})
}

// With the logger above Debug, acquired and released are not written, but
// panics, resizes and shutdown are.
func TestLogInfoLevelSkipsDebugEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, logs := observed(t, 2, zap.InfoLevel)
		for range 3 {
			h, err := p.Submit(context.Background(), job.Func(func(context.Context) error { return nil }))
			require.NoError(t, err)
			require.NoError(t, waitHandle(t, h))
		}
		h, err := p.Submit(context.Background(), job.Func(func(context.Context) error { panic("x") }))
		require.NoError(t, err)
		require.Error(t, waitHandle(t, h))
		require.NoError(t, p.Resize(4))
		require.NoError(t, p.Close())

		assert.Zero(t, logs.FilterMessage(pool.MsgAcquired).Len())
		assert.Zero(t, logs.FilterMessage(pool.MsgReleased).Len())
		assert.Equal(t, 1, logs.FilterMessage(pool.MsgPanicked).Len())
		assert.Equal(t, 1, logs.FilterMessage(pool.MsgResized).Len())
		assert.Equal(t, 1, logs.FilterMessage(pool.MsgShutdown).Len())
		for _, e := range logs.All() {
			assert.GreaterOrEqual(t, e.Level, zapcore.InfoLevel)
		}
	})
}

func TestLogResize(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, logs := observed(t, 3, zap.DebugLevel, pool.WithName("rs"))
		require.NoError(t, p.Resize(5))
		require.NoError(t, p.Resize(2))
		requirePoolErr(t, p.Resize(0), pool.ErrInvalidLimit)

		entries := logs.FilterMessage(pool.MsgResized).All()
		require.Len(t, entries, 2, "an invalid Resize must not be logged")
		for i, want := range [][2]int64{{3, 5}, {5, 2}} {
			e := entries[i]
			assert.Equal(t, zapcore.InfoLevel, e.Level)
			assert.Equal(t, "weir", e.LoggerName)
			m := requireFields(t, e, pool.KeyPool, pool.KeyOld, pool.KeyLimit)
			assert.Equal(t, "rs", m[pool.KeyPool])
			assert.Equal(t, want[0], m[pool.KeyOld])
			assert.Equal(t, want[1], m[pool.KeyLimit])
			assert.Equal(t, "Resize", m[pool.KeyReason])
		}
		require.NoError(t, p.Close())
		requirePoolErr(t, p.Resize(7), pool.ErrClosed)
		assert.Equal(t, 2, logs.FilterMessage(pool.MsgResized).Len(), "a refused Resize must not be logged")
	})
}

func TestLogShutdown(t *testing.T) {
	t.Run("clean", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p, logs := observed(t, 1, zap.DebugLevel, pool.WithName("sd"))
			_, err := p.Submit(context.Background(), job.Func(func(context.Context) error { time.Sleep(time.Second); return nil }))
			require.NoError(t, err)
			require.NoError(t, p.Close())
			require.NoError(t, p.Close())
			entries := logs.FilterMessage(pool.MsgShutdown).All()
			require.Len(t, entries, 1, "shutdown logged once however many times it is called")
			m := requireFields(t, entries[0], pool.KeyPool, pool.KeyForced, pool.KeySubmitted)
			assert.Equal(t, zapcore.InfoLevel, entries[0].Level)
			assert.Equal(t, "sd", m[pool.KeyPool])
			assert.Equal(t, false, m[pool.KeyForced])
			assert.Equal(t, uint64(1), m[pool.KeySubmitted])
			assert.Equal(t, "weir", entries[0].LoggerName)
		})
	})
	t.Run("forced", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p, logs := observed(t, 1, zap.DebugLevel)
			_, err := p.Submit(context.Background(), job.Func(func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }))
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			require.ErrorIs(t, p.Shutdown(ctx), context.DeadlineExceeded)
			entries := logs.FilterMessage(pool.MsgShutdown).All()
			require.Len(t, entries, 1)
			assert.Equal(t, true, requireFields(t, entries[0], pool.KeyForced)[pool.KeyForced])
			p.Wait() // the cancelled job returns after Shutdown did
			rel := logs.FilterMessage(pool.MsgReleased).All()
			require.Len(t, rel, 1)
			assert.Equal(t, "canceled", rel[0].ContextMap()[pool.KeyOutcome])
		})
	})
}

// Nothing at all is logged before the shutdown of an idle pool, and the
// pool's name is on every entry.
func TestLogEveryEntryNamesThePool(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, logs := observed(t, 2, zap.DebugLevel, pool.WithName("named"))
		assert.Zero(t, logs.Len())
		require.NoError(t, p.Do(context.Background(), job.Func(func(context.Context) error { return nil })))
		require.NoError(t, p.Resize(3))
		require.NoError(t, p.Close())
		require.NotZero(t, logs.Len())
		for _, e := range logs.All() {
			assert.Equal(t, "named", e.ContextMap()[pool.KeyPool], e.Message)
			assert.True(t, strings.HasPrefix(e.LoggerName, "weir"), e.LoggerName)
		}
	})
}
