package pool_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"

	"github.com/weir-go/weir/job"
	"github.com/weir-go/weir/limit"
	"github.com/weir-go/weir/pool"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func ExampleNew() {
	p, err := pool.New(3, pool.WithName("db"), pool.WithMaxWaiting(100))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	fmt.Println(p.Name(), p.Limit())

	_, err = pool.New(0)
	fmt.Println(errors.Is(err, pool.ErrInvalidLimit))
	_, err = pool.New(1, pool.WithMaxWaiting(-1))
	fmt.Println(errors.Is(err, pool.ErrInvalidOption))
	// Output:
	// db 3
	// true
	// true
}

func ExamplePool_Submit() {
	p, _ := pool.New(2)
	defer p.Close()

	h, err := p.Submit(context.Background(), job.Func(func(ctx context.Context) error {
		fmt.Println(job.NameFrom(ctx), "is working")
		return errors.New("disk full")
	}), job.WithName("backup"))
	if err != nil {
		fmt.Println("not submitted:", err)
		return
	}
	fmt.Println("wait:", h.Wait())
	fmt.Println("state:", h.State())

	// A weight above the limit can never run: Submit fails at once.
	_, err = p.Submit(context.Background(), job.Func(func(context.Context) error { return nil }), job.WithWeight(3))
	fmt.Println(errors.Is(err, pool.ErrWeightExceedsLimit))
	// Output:
	// backup is working
	// wait: disk full
	// state: failed
	// true
}

func ExamplePool_Wait() {
	p, _ := pool.New(3)
	defer p.Close()

	var sum atomic.Int64
	for i := 1; i <= 10; i++ {
		if _, err := p.Go(context.Background(), func(context.Context) error {
			sum.Add(int64(i))
			return nil
		}); err != nil {
			fmt.Println(err)
		}
	}
	p.Wait() // every job submitted so far has finished
	st := p.Stats()
	fmt.Println("sum:", sum.Load())
	fmt.Println("submitted:", st.Submitted, "succeeded:", st.Succeeded, "running:", st.Running)
	// Output:
	// sum: 55
	// submitted: 10 succeeded: 10 running: 0
}

func ExampleSubmitResult() {
	// The panic handler takes the report that would otherwise go to
	// standard error (see WithPanicHandler).
	p, _ := pool.New(2, pool.WithPanicHandler(func(pool.PanicInfo) {}))
	defer p.Close()

	r, err := pool.SubmitResult(context.Background(), p, func(context.Context) (int, error) {
		return 6 * 7, nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	v, err := r.Wait()
	fmt.Println(v, err)

	// A panic becomes an error; the value is the zero value.
	r, _ = pool.SubmitResult(context.Background(), p, func(context.Context) (int, error) {
		panic("out of range")
	})
	v, err = r.Wait()
	fmt.Println(v, err, errors.Is(err, job.ErrPanic))
	// Output:
	// 42 <nil>
	// 0 job: panic: out of range true
}

func ExamplePool_Group() {
	p, _ := pool.New(4)
	defer p.Close()

	g, ctx := p.Group(context.Background())
	for _, name := range []string{"a", "b"} {
		// A Go that fails also reaches Wait: checking here is for
		// stopping early, not for catching every error.
		if _, err := g.Go(func(ctx context.Context) error {
			<-ctx.Done() // cancelled when the group fails
			return ctx.Err()
		}, job.WithName(name)); err != nil {
			break
		}
	}
	// A submission that fails is not lost: it fails the group, which
	// cancels the jobs' ctx, and Wait reports the group's first error.
	_, err := g.Go(func(context.Context) error { return nil }, job.WithWeight(5))
	fmt.Println("Go:", err)
	fmt.Println("group:", g.Wait())
	fmt.Println("ctx:", ctx.Err())
	// Output:
	// Go: pool: weight exceeds limit: weight 5, limit 4
	// group: pool: weight exceeds limit: weight 5, limit 4
	// ctx: context canceled
}

func ExamplePool_Do() {
	p, _ := pool.New(1)
	defer p.Close()

	// Do runs the call in this goroutine, once the pool admits it.
	calls := 0
	for range 3 {
		err := p.Do(context.Background(), job.Func(func(context.Context) error {
			calls++
			return nil
		}))
		if err != nil {
			fmt.Println(err)
		}
	}
	err := p.Do(context.Background(), job.Func(func(context.Context) error {
		return errors.New("service unavailable")
	}))
	fmt.Println("calls:", calls, "last:", err)
	// Output:
	// calls: 3 last: service unavailable
}

func ExamplePool_Spawn() {
	p, _ := pool.New(2)
	defer p.Close()

	// Spawn: fire and forget, no handle. Pool.Wait joins every job.
	var sent atomic.Int64
	for range 10 {
		err := p.Spawn(context.Background(), job.Func(func(context.Context) error {
			sent.Add(1)
			return nil
		}))
		if err != nil {
			fmt.Println(err) // bad input, ctx ended, a full queue, or the pool is shut down
		}
	}
	p.Wait()
	st := p.Stats()
	fmt.Println("sent:", sent.Load(), "succeeded:", st.Succeeded)
	// Output:
	// sent: 10 succeeded: 10
}

func ExamplePool_TrySubmit() {
	p, _ := pool.New(1)
	defer p.Close()

	release := make(chan struct{})
	busy, _ := p.Submit(context.Background(), job.Func(func(context.Context) error {
		<-release
		return nil
	}))

	_, err := p.TrySubmit(context.Background(), job.Func(func(context.Context) error { return nil }))
	fmt.Println(errors.Is(err, pool.ErrFull))

	close(release)
	_ = busy.Wait() // its weight is free once Wait returns
	h, err := p.TrySubmit(context.Background(), job.Func(func(context.Context) error { return nil }))
	fmt.Println(err, h.Wait())
	// Output:
	// true
	// <nil> <nil>
}

func ExamplePool_Resize() {
	p, _ := pool.New(1)
	defer p.Close()

	release := make(chan struct{})
	hold := job.Func(func(context.Context) error { <-release; return nil })
	_, _ = p.Submit(context.Background(), hold)
	_, err := p.TrySubmit(context.Background(), hold)
	fmt.Println("limit 1, full:", errors.Is(err, pool.ErrFull))

	_ = p.Resize(2)
	_, err = p.TrySubmit(context.Background(), hold)
	fmt.Println("limit 2:", err)

	// Shrinking takes nothing back from running jobs.
	_ = p.Resize(1)
	st := p.Stats()
	fmt.Println("limit", st.Limit, "in use", st.InUse)

	fmt.Println(errors.Is(p.Resize(0), pool.ErrInvalidLimit))
	close(release)
	// Output:
	// limit 1, full: true
	// limit 2: <nil>
	// limit 1 in use 2
	// true
}

func ExamplePool_Shutdown() {
	p, _ := pool.New(2)

	started := make(chan struct{})
	h, _ := p.Submit(context.Background(), job.Func(func(ctx context.Context) error {
		close(started)
		<-ctx.Done() // a long job that stops when asked
		return ctx.Err()
	}))
	<-started

	// The deadline has passed: Shutdown cancels the running job, waits for
	// it to return, and reports why it had to.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	fmt.Println("shutdown:", p.Shutdown(ctx))
	fmt.Println("job:", h.Wait(), h.State())

	_, err := p.Submit(context.Background(), job.Func(func(context.Context) error { return nil }))
	fmt.Println("submit:", errors.Is(err, pool.ErrClosed))
	fmt.Println("again:", p.Close())
	// Output:
	// shutdown: context canceled
	// job: context canceled canceled
	// submit: true
	// again: <nil>
}

func ExampleWithLogger() {
	// Any zap logger; here one that records entries, to print them.
	core, logs := observer.New(zap.DebugLevel)
	p, _ := pool.New(1, pool.WithName("db"), pool.WithLogger(zap.New(core)))
	h, _ := p.Go(context.Background(), func(context.Context) error { return nil }, job.WithName("q1"))
	_ = h.Wait()
	_ = p.Close()
	for _, e := range logs.All() {
		m := e.ContextMap()
		fmt.Println(e.LoggerName, e.Level, e.Message, m["pool"], m["job"], m["outcome"])
	}
	// Output:
	// weir debug job acquired db q1 <nil>
	// weir debug job released db q1 succeeded
	// weir info pool shut down db <nil> <nil>
}

func ExampleWithMaxQueued() {
	// A queue of 1 and no waiting: a burst beyond it is turned away at
	// once instead of piling up.
	p, _ := pool.New(1, pool.WithMaxQueued(1), pool.WithMaxWaiting(0))
	defer p.Close()
	release := make(chan struct{})
	hold := job.Func(func(context.Context) error { <-release; return nil })
	for i := range 3 {
		_, err := p.Submit(context.Background(), hold)
		fmt.Println(i, err)
	}
	close(release)
	// Output:
	// 0 <nil>
	// 1 <nil>
	// 2 pool: queue full
}

func ExampleWithMaxWaiting() {
	// No queue, at most one caller waiting: a third concurrent Do is
	// turned away with ErrQueueFull.
	p, _ := pool.New(1, pool.WithMaxQueued(0), pool.WithMaxWaiting(1))
	defer p.Close()
	release := make(chan struct{})
	_, _ = p.Submit(context.Background(), job.Func(func(context.Context) error { <-release; return nil }))
	waiting := make(chan error, 1)
	go func() { waiting <- p.Do(context.Background(), job.Func(func(context.Context) error { return nil })) }()
	for p.Stats().Waiting < 1 {
		runtime.Gosched()
	}
	err := p.Do(context.Background(), job.Func(func(context.Context) error { return nil }))
	fmt.Println(errors.Is(err, pool.ErrQueueFull))
	close(release)
	fmt.Println(<-waiting)
	// Output:
	// true
	// <nil>
}

func ExampleWithAdaptiveLimit() {
	// AIMD within [1, 8]: after a drop the limit is multiplied by 0.9
	// (the default Backoff); it grows by one only after a round in which
	// at least half of it was in use, so a lone call does not raise it.
	ctrl, _ := limit.NewAIMD(limit.AIMDConfig{Min: 1, Max: 8})
	p, _ := pool.New(4, pool.WithAdaptiveLimit(ctrl))
	defer p.Close()
	drop := fmt.Errorf("%w: 503 from upstream", limit.ErrDropped)
	_ = p.Do(context.Background(), job.Func(func(context.Context) error { return nil }))
	fmt.Println(p.Limit())
	_ = p.Do(context.Background(), job.Func(func(context.Context) error { return drop }))
	fmt.Println(p.Limit())
	// Output:
	// 4
	// 3
}

func ExamplePool_Stats() {
	p, _ := pool.New(2)
	defer p.Close()
	release := make(chan struct{})
	hold := job.Func(func(context.Context) error { <-release; return nil })
	for range 3 {
		_, _ = p.Submit(context.Background(), hold)
	}
	st := p.Stats()
	fmt.Println(st.Limit, st.InUse, st.Queued, st.Submitted)
	close(release)
	p.Wait()
	fmt.Println(p.Stats())
	// Output:
	// 2 2 1 3
	// limit=2 in_use=0 running=0 queued=0 (weight 0) waiting=0 (weight 0) submitted=3 succeeded=3 failed=0 panicked=0 canceled=0 resizes=0
}

func ExampleWithPanicHandler() {
	p, _ := pool.New(1, pool.WithPanicHandler(func(pi pool.PanicInfo) {
		fmt.Printf("pool %s: job %s panicked: %v\n", pi.Pool, pi.Job.Name, pi.Err.Value)
	}))
	defer p.Close()
	h, _ := p.Go(context.Background(), func(context.Context) error { panic("boom") }, job.WithName("parser"))
	err := h.Wait()
	fmt.Println(errors.Is(err, job.ErrPanic))
	// Output:
	// pool pool: job parser panicked: boom
	// true
}

func ExampleWithObserver() {
	var admitted, ended atomic.Int32
	p, _ := pool.New(2, pool.WithObserver(pool.Observer{
		Admission: func(a pool.Admission) {
			if a.Result == pool.AdmissionAdmitted {
				admitted.Add(1)
			}
		},
		JobEnd: func(e pool.JobEnd) { ended.Add(1) },
	}))
	for range 5 {
		_, _ = p.Go(context.Background(), func(context.Context) error { return nil })
	}
	_ = p.Close()
	fmt.Println(admitted.Load(), ended.Load())
	// Output:
	// 5 5
}
