// Command distributed runs four worker processes that share one limit
// through Redis: each has its own weir pool (a local cap and queue in
// front), and every job also holds a lease of the shared
// [redislimit.Semaphore] while it works. It prints the global peak of jobs
// working at once, which never exceeds the shared limit, and how the jobs
// split between the processes.
//
// It starts its own redis-server on a free loopback port when one is
// installed, and otherwise serves Redis in-process with miniredis.
//
//	go run ./examples/distributed
//	go run ./examples/distributed -workers 4 -jobs 50 -limit 5 -local 3
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/weir-go/weir/pool"
	"github.com/weir-go/weir/redislimit"
)

// workerEnv carries a worker's settings; its presence makes the process a
// worker.
const workerEnv = "WEIR_DISTRIBUTED_WORKER"

type config struct {
	Workers int           `json:"workers"`
	Jobs    int           `json:"jobs"`  // per worker
	Limit   int64         `json:"limit"` // shared, across all workers
	Local   int64         `json:"local"` // each worker's pool limit
	Work    time.Duration `json:"work"`
	Addr    string        `json:"addr"`
	ID      int           `json:"id"`
}

type report struct {
	ID   int   `json:"id"`
	Jobs int   `json:"jobs"`
	Peak int64 `json:"peak"` // highest global count this worker saw
	Lost int   `json:"lost"`
}

const (
	semName    = "distributed"
	inUseKey   = "example:{distributed}:in-use" // jobs working now, all workers
	workerWait = 2 * time.Minute
)

func main() {
	if env := os.Getenv(workerEnv); env != "" {
		os.Exit(worker(env, os.Stdout))
	}
	var c config
	flag.IntVar(&c.Workers, "workers", 4, "worker processes")
	flag.IntVar(&c.Jobs, "jobs", 50, "jobs per worker")
	flag.Int64Var(&c.Limit, "limit", 5, "jobs working at once, across all workers")
	flag.Int64Var(&c.Local, "local", 3, "each worker's pool limit")
	flag.DurationVar(&c.Work, "work", 5*time.Millisecond, "how long each job works")
	flag.Parse()
	if err := run(c, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "distributed:", err)
		os.Exit(1)
	}
}

// run starts the server and the workers, and prints the result. It fails
// if the global peak exceeds the limit.
func run(c config, out io.Writer) error {
	addr, kind, stop, err := startServer()
	if err != nil {
		return err
	}
	defer stop()
	c.Addr = addr
	fmt.Fprintf(out, "server: %s\n", kind)

	rdb := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	defer rdb.Close()
	ctx := context.Background()
	sem, err := redislimit.New(rdb, semName, c.Limit)
	if err != nil {
		return err
	}
	defer sem.Close()
	if err := sem.SetLimit(ctx, c.Limit); err != nil {
		return err
	}
	if err := rdb.Del(ctx, inUseKey).Err(); err != nil {
		return err
	}

	reports := make([]report, c.Workers)
	errs := make([]error, c.Workers)
	var wg sync.WaitGroup
	for i := range c.Workers {
		wg.Go(func() {
			wc := c
			wc.ID = i + 1
			reports[i], errs[i] = startWorker(wc)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}

	var peak int64
	total := 0
	for _, r := range reports {
		peak = max(peak, r.Peak)
		total += r.Jobs
	}
	fmt.Fprintf(out, "global peak: %d jobs at once (shared limit %d; each worker's pool limit %d)\n", peak, c.Limit, c.Local)
	for _, r := range reports {
		fmt.Fprintf(out, "worker %d: %d jobs (%.0f%%), %d leases lost\n", r.ID, r.Jobs, 100*float64(r.Jobs)/float64(total), r.Lost)
	}
	if peak > c.Limit {
		return fmt.Errorf("global peak %d above the limit %d", peak, c.Limit)
	}
	return nil
}

// startWorker re-executes this program as a worker and reads its report.
func startWorker(c config) (report, error) {
	b, _ := json.Marshal(c)
	ctx, cancel := context.WithTimeout(context.Background(), workerWait)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), workerEnv+"="+string(b))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return report{}, fmt.Errorf("worker %d: %w", c.ID, err)
	}
	var r report
	if err := json.Unmarshal(out, &r); err != nil {
		return report{}, fmt.Errorf("worker %d said %q: %w", c.ID, out, err)
	}
	return r, nil
}

// worker runs c.Jobs jobs through a pool of c.Local; each job holds a
// shared lease while it works, and counts itself in the global in-use key.
func worker(env string, out io.Writer) int {
	var c config
	if err := json.Unmarshal([]byte(env), &c); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		return 2
	}
	rdb := redis.NewClient(&redis.Options{Addr: c.Addr, ContextTimeoutEnabled: true})
	defer rdb.Close()
	sem, err := redislimit.New(rdb, semName, c.Limit)
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		return 2
	}
	defer sem.Close()
	p, err := pool.New(c.Local)
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		return 2
	}
	ctx := context.Background()
	r := report{ID: c.ID}
	var mu sync.Mutex
	var jobErr error
	for range c.Jobs {
		_, err := p.Go(ctx, func(ctx context.Context) error {
			lease, err := sem.Acquire(ctx, 1)
			if err != nil {
				return err
			}
			defer lease.Release()
			n, err := rdb.Incr(ctx, inUseKey).Result()
			if err != nil {
				return err
			}
			select {
			case <-time.After(c.Work/2 + rand.N(c.Work)):
			case <-lease.Context().Done(): // lost: stop working
			}
			rdb.Decr(context.WithoutCancel(ctx), inUseKey)
			mu.Lock()
			defer mu.Unlock()
			r.Jobs++
			r.Peak = max(r.Peak, n)
			if context.Cause(lease.Context()) == redislimit.ErrLeaseLost {
				r.Lost++
			}
			return nil
		})
		if err != nil {
			jobErr = err
			break
		}
	}
	if err := p.Close(); err != nil && jobErr == nil { // runs every queued job, then stops
		jobErr = err
	}
	if jobErr != nil {
		fmt.Fprintln(os.Stderr, "worker:", jobErr)
		return 1
	}
	b, _ := json.Marshal(r)
	fmt.Fprintln(out, string(b))
	return 0
}

// startServer starts a redis-server on a free loopback port if one is
// installed, or miniredis in this process.
func startServer() (addr, kind string, stop func(), err error) {
	if _, err := exec.LookPath("redis-server"); err == nil {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", "", nil, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		dir, err := os.MkdirTemp("", "weir-distributed-")
		if err != nil {
			return "", "", nil, err
		}
		cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", dir, "--logfile", "redis.log")
		if err := cmd.Start(); err != nil {
			os.RemoveAll(dir)
			return "", "", nil, err
		}
		stop := func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			_ = cmd.Wait()
			os.RemoveAll(dir)
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		if err := waitReady(addr); err != nil {
			stop()
			return "", "", nil, err
		}
		return addr, "redis-server " + addr, stop, nil
	}
	mr, err := miniredis.Run()
	if err != nil {
		return "", "", nil, err
	}
	return mr.Addr(), "miniredis (in-process; redis-server not installed) " + mr.Addr(), mr.Close, nil
}

func waitReady(addr string) error {
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer rdb.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := rdb.Ping(context.Background()).Err()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis-server on %s: %w", addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
