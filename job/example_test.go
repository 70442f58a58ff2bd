package job_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/weir-go/weir/job"
)

// An executor such as package pool normally drives a task; these examples
// do it by hand: NewTask, Start, Run, Resolve.

func ExampleFromContext() {
	task := job.NewTask(job.Func(func(ctx context.Context) error {
		info, ok := job.FromContext(ctx)
		fmt.Printf("I am %s (ID %d, weight %d): %t\n", info.Name, info.ID, info.Weight, ok)
		return nil
	}), job.WithName("greeter"), job.WithWeight(2))
	task.Start(1, context.Background(), nil)
	task.Run()
	task.Resolve()

	h := task.Handle()
	fmt.Println(h.State(), h.Wait())
	_, ok := job.FromContext(context.Background())
	fmt.Println("outside a job:", ok)
	// Output:
	// I am greeter (ID 1, weight 2): true
	// succeeded <nil>
	// outside a job: false
}

func ExampleNameFrom() {
	task := job.NewTask(job.Func(func(ctx context.Context) error {
		fmt.Println("running as", job.NameFrom(ctx))
		return nil
	}))
	task.Start(7, context.Background(), nil)
	task.Run()
	task.Resolve()
	fmt.Printf("outside a job: %q\n", job.NameFrom(context.Background()))
	// Output:
	// running as job-7
	// outside a job: ""
}

func ExampleResult() {
	r := job.NewResult(func(ctx context.Context) (int, error) {
		return 6 * 7, nil
	}, job.WithName("answer"))
	task := r.Task()
	task.Start(1, context.Background(), nil)
	task.Run()
	task.Resolve()

	v, err := r.Wait()
	fmt.Println(r.Name(), v, err, r.State())
	// Output: answer 42 <nil> succeeded
}

func ExamplePanicError() {
	task := job.NewTask(job.Func(func(context.Context) error {
		panic("out of cheese")
	}))
	task.Start(1, context.Background(), nil)
	task.Run()
	task.Resolve()

	err := task.Handle().Wait()
	var pe *job.PanicError
	fmt.Println(task.Handle().State(), errors.Is(err, job.ErrPanic), errors.As(err, &pe), pe.Value)
	fmt.Println(err)
	// Output:
	// panicked true true out of cheese
	// job: panic: out of cheese
}

func ExampleHandle_Cancel() {
	ran := false
	task := job.NewTask(job.Func(func(context.Context) error {
		ran = true
		return nil
	}))
	task.Start(1, context.Background(), nil)
	task.Handle().Cancel()
	task.Run()
	task.Resolve()

	err := task.Handle().Wait()
	fmt.Println(ran, task.Handle().State(), err, errors.Is(err, context.Canceled))
	// Output: false canceled job: canceled: context canceled true
}
