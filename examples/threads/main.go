// Command threads walks through the classic threads tutorial ("Threading
// in Python": subclass Thread, start, join, current_thread().name, a Lock
// around shared state, Semaphore(3)) step by step on a weir pool. Every
// line it prints is deterministic: where jobs run concurrently, their
// lines are collected and printed in a fixed order.
//
//	go run ./examples/threads
//	go run ./examples/threads -jobs 4 -increments 100 -workers 5 -limit 2
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weir-go/weir/job"
	"github.com/weir-go/weir/pool"
)

// config holds the sizes of the demonstration.
type config struct {
	jobs       int           // section 4: jobs incrementing the shared counter
	increments int           // section 4: increments per job
	workers    int           // section 5: jobs in the Semaphore(limit) demonstration
	limit      int64         // section 5: jobs allowed to work at once
	work       time.Duration // section 5: how long each worker works
}

func main() {
	var cfg config
	flag.IntVar(&cfg.jobs, "jobs", 10, "jobs that increment the shared counter")
	flag.IntVar(&cfg.increments, "increments", 1000, "increments per counter job")
	flag.IntVar(&cfg.workers, "workers", 10, "workers in the Semaphore demonstration")
	flag.Int64Var(&cfg.limit, "limit", 3, "workers allowed to work at once")
	flag.DurationVar(&cfg.work, "work", 50*time.Millisecond, "how long each worker works")
	flag.Parse()

	if err := run(context.Background(), os.Stdout, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "threads:", err)
		os.Exit(1)
	}
}

// Greeter is the tutorial's MyThread: a type of its own whose Run method
// is the code the job executes. Its fields are its own state.
type Greeter struct {
	Greeting string
	out      io.Writer
}

// Run prints the greeting and the job's name, read from its ctx (the
// tutorial's self.name).
func (g *Greeter) Run(ctx context.Context) error {
	_, err := fmt.Fprintf(g.out, "  %s from %s\n", g.Greeting, job.NameFrom(ctx))
	return err
}

// Summer adds up its numbers and keeps the total in a field, which the
// starter reads after joining the job.
type Summer struct {
	Upto int
	Sum  int // written by Run; read it only after Wait
}

// Run adds 1..Upto.
func (s *Summer) Run(ctx context.Context) error {
	for i := 1; i <= s.Upto; i++ {
		s.Sum += i
	}
	return nil
}

// Counter is state shared by many jobs: its mutex makes each increment a
// single step that no other job can interleave with.
type Counter struct {
	mu sync.Mutex
	n  int
}

// Incrementer is a job that adds 1 to a shared Counter Times times.
type Incrementer struct {
	C     *Counter
	Times int
}

// Run increments the counter, taking its lock for each increment.
func (inc *Incrementer) Run(ctx context.Context) error {
	for range inc.Times {
		inc.C.mu.Lock()
		inc.C.n++
		inc.C.mu.Unlock()
	}
	return nil
}

// run prints the five sections of the walkthrough to out.
func run(ctx context.Context, out io.Writer, cfg config) error {
	if cfg.jobs < 1 || cfg.increments < 0 || cfg.workers < 1 || cfg.limit < 1 || cfg.work < 0 {
		return errors.New("jobs, workers and limit must be at least 1; increments and work not negative")
	}
	p, err := pool.New(cfg.limit, pool.WithName("threads"))
	if err != nil {
		return err
	}
	defer p.Close()

	// 1. Creating a job: a type with a Run(ctx) error method.
	fmt.Fprintln(out, "1. A job is a type with its own fields and a Run(ctx) error method")
	h, err := p.Submit(ctx, &Greeter{Greeting: "Hello", out: out}, job.WithName("greeter"))
	if err != nil {
		return err
	}
	if err := h.Wait(); err != nil {
		return err
	}

	// 2. Starting (Submit) and joining (Wait).
	fmt.Fprintln(out, "2. Submit starts a job, Wait joins it")
	s := &Summer{Upto: 100}
	h, err = p.Submit(ctx, s, job.WithName("summer"))
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "  started %s (ID %d)\n", h.Name(), h.ID())
	if err := h.Wait(); err != nil {
		return err
	}
	fmt.Fprintf(out, "  joined %s: state %s, sum of 1..%d = %d\n", h.Name(), h.State(), s.Upto, s.Sum)

	// 3. Jobs know their own names (current_thread().name).
	fmt.Fprintln(out, "3. A job reads its name and ID from its ctx")
	names := []string{"alice", "", "bob", ""} // "" means: not named, so "job-<ID>"
	said := make([]string, len(names))        // each job writes only its own slot
	handles := make([]*job.Handle, len(names))
	for i, name := range names {
		var opts []job.Option
		if name != "" {
			opts = append(opts, job.WithName(name))
		}
		handles[i], err = p.Go(ctx, func(ctx context.Context) error {
			info, _ := job.FromContext(ctx)
			said[i] = fmt.Sprintf("I am %s (ID %d)", info.Name, info.ID)
			return nil
		}, opts...)
		if err != nil {
			return err
		}
	}
	for i, h := range handles {
		if err := h.Wait(); err != nil {
			return err
		}
		fmt.Fprintf(out, "  %s says: %s\n", h.Name(), said[i])
	}

	// 4. Thread safety: a shared counter behind a mutex.
	fmt.Fprintln(out, "4. Many jobs update a shared counter under a sync.Mutex")
	c := &Counter{}
	handles = handles[:0]
	for i := 1; i <= cfg.jobs; i++ {
		h, err := p.Submit(ctx, &Incrementer{C: c, Times: cfg.increments}, job.WithName(fmt.Sprintf("inc-%d", i)))
		if err != nil {
			return err
		}
		handles = append(handles, h)
	}
	for _, h := range handles {
		if err := h.Wait(); err != nil {
			return err
		}
	}
	want := cfg.jobs * cfg.increments
	fmt.Fprintf(out, "  counter = %d (%d jobs x %d increments = %d)\n", c.n, cfg.jobs, cfg.increments, want)
	if c.n != want {
		return fmt.Errorf("counter is %d, want %d", c.n, want)
	}

	// 5. Semaphore(limit): the pool's limit is the semaphore.
	fmt.Fprintf(out, "5. Semaphore(%d): a pool of limit %d runs at most %d jobs at once\n", cfg.limit, cfg.limit, cfg.limit)
	peak, lines, err := workers(ctx, p, cfg.workers, cfg.work)
	if err != nil {
		return err
	}
	// The order in which concurrent workers print is not fixed; the
	// lines are printed in worker order.
	slices.SortFunc(lines, func(a, b line) int { return a.i - b.i })
	for _, l := range lines {
		fmt.Fprintf(out, "  %s\n", l.s)
	}
	fmt.Fprintf(out, "  peak workers working at once: %d (limit %d)\n", peak, cfg.limit)

	// With limit 1 there is no concurrency left: the workers run one at
	// a time, in the order they were submitted (admission is FIFO).
	fmt.Fprintln(out, "  With limit 1 they work one at a time, in the order submitted:")
	one, err := pool.New(1, pool.WithName("threads-1"))
	if err != nil {
		return err
	}
	defer one.Close()
	peak, lines, err = workers(ctx, one, cfg.workers, cfg.work)
	if err != nil {
		return err
	}
	for _, l := range lines { // in the order they ran, not sorted
		fmt.Fprintf(out, "  %s\n", l.s)
	}
	fmt.Fprintf(out, "  peak workers working at once: %d (limit 1)\n", peak)
	fmt.Fprintln(out, "All jobs finished")
	return nil
}

// line is what worker i printed.
type line struct {
	i int
	s string
}

// workers is the tutorial's Semaphore demonstration: n workers named
// Thread-0..Thread-(n-1) each say they are working and work for d. It
// returns the most that worked at once and their lines in the order they
// were said.
func workers(ctx context.Context, p *pool.Pool, n int, d time.Duration) (int64, []line, error) {
	var (
		mu           sync.Mutex
		lines        []line
		running, top atomic.Int64
	)
	handles := make([]*job.Handle, 0, n)
	for i := range n {
		h, err := p.Go(ctx, func(ctx context.Context) error {
			now := running.Add(1)
			defer running.Add(-1)
			for t := top.Load(); now > t && !top.CompareAndSwap(t, now); t = top.Load() {
			}
			mu.Lock()
			lines = append(lines, line{i, job.NameFrom(ctx) + " is working"})
			mu.Unlock()
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}, job.WithName(fmt.Sprintf("Thread-%d", i)))
		if err != nil {
			return 0, nil, err
		}
		handles = append(handles, h)
	}
	for _, h := range handles {
		if err := h.Wait(); err != nil {
			return 0, nil, fmt.Errorf("%s: %w", h.Name(), err)
		}
	}
	return top.Load(), lines, nil
}
