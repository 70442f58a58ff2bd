package job_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/weir-go/weir/job"
	"github.com/weir-go/weir/pool"
)

// An executor such as package pool runs jobs and hands back their handles;
// these examples use a pool.

func ExampleFunc() {
	p, _ := pool.New(2)
	defer p.Close()

	h, err := p.Submit(context.Background(), job.Func(func(ctx context.Context) error {
		fmt.Println("working")
		return nil
	}))
	if err != nil {
		fmt.Println("not submitted:", err)
		return
	}
	fmt.Println(h.Wait(), h.State())
	// Output:
	// working
	// <nil> succeeded
}

func ExampleHandle_Wait() {
	p, _ := pool.New(2)
	defer p.Close()

	errDiskFull := errors.New("disk full")
	h, _ := p.Submit(context.Background(), job.Func(func(context.Context) error {
		return errDiskFull
	}), job.WithName("backup"))

	err := h.Wait()
	fmt.Println(h.Name(), h.State(), err, errors.Is(err, errDiskFull))
	// Output: backup failed disk full true
}

func ExampleFromContext() {
	p, _ := pool.New(2)
	defer p.Close()

	h, _ := p.Submit(context.Background(), job.Func(func(ctx context.Context) error {
		info, ok := job.FromContext(ctx)
		fmt.Printf("I am %s (weight %d): %t\n", info.Name, info.Weight, ok)
		return nil
	}), job.WithName("greeter"), job.WithWeight(2))
	fmt.Println(h.Wait(), h.State())

	_, ok := job.FromContext(context.Background())
	fmt.Println("outside a job:", ok)
	// Output:
	// I am greeter (weight 2): true
	// <nil> succeeded
	// outside a job: false
}

func ExampleNameFrom() {
	p, _ := pool.New(1)
	defer p.Close()

	h, _ := p.Submit(context.Background(), job.Func(func(ctx context.Context) error {
		fmt.Println("running as", job.NameFrom(ctx))
		return nil
	}), job.WithName("indexer"))
	_ = h.Wait()
	fmt.Printf("outside a job: %q\n", job.NameFrom(context.Background()))
	// Output:
	// running as indexer
	// outside a job: ""
}

func ExampleResult() {
	p, _ := pool.New(2)
	defer p.Close()

	r, err := pool.SubmitResult(context.Background(), p, func(ctx context.Context) (int, error) {
		return 6 * 7, nil
	}, job.WithName("answer"))
	if err != nil {
		fmt.Println("not submitted:", err)
		return
	}

	v, err := r.Wait()
	fmt.Println(r.Name(), v, err, r.State())
	// Output: answer 42 <nil> succeeded
}

func ExamplePanicError() {
	// Without a panic handler or a logger, the pool prints a job's panic
	// to standard error.
	p, _ := pool.New(1, pool.WithPanicHandler(func(pi pool.PanicInfo) {
		fmt.Println("handler:", pi.Job.Name, pi.Err.Value)
	}))
	defer p.Close()

	h, _ := p.Submit(context.Background(), job.Func(func(context.Context) error {
		panic("out of cheese")
	}))

	err := h.Wait()
	var pe *job.PanicError
	fmt.Println(h.State(), errors.Is(err, job.ErrPanic), errors.As(err, &pe), pe.Value)
	fmt.Println(err)
	// Output:
	// handler: job-1 out of cheese
	// panicked true true out of cheese
	// job: panic: out of cheese
}

func ExampleHandle_Cancel() {
	p, _ := pool.New(1)
	defer p.Close()

	// The first job holds the pool's only slot until it is cancelled.
	started := make(chan struct{})
	first, _ := p.Submit(context.Background(), job.Func(func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	}))
	<-started

	// The second waits in the queue; cancelled there, it never runs.
	ran := false
	second, _ := p.Submit(context.Background(), job.Func(func(context.Context) error {
		ran = true
		return nil
	}))
	second.Cancel()
	err := second.Wait()
	fmt.Println(ran, second.State(), err, errors.Is(err, context.Canceled))

	// A running job's ctx is cancelled; the job ends when it returns.
	first.Cancel()
	fmt.Println(first.Wait(), first.State())
	// Output:
	// false canceled job: canceled: context canceled true
	// context canceled canceled
}
