package redislimit_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/weir-go/weir/redislimit"
)

// The tests re-execute their own binary as helper processes: TestMain sees
// helperEnv and runs helperMain instead of the tests.
const helperEnv = "REDISLIMIT_TEST_HELPER"

type helperConfig struct {
	Mode       string // "hold", "wait" or "load"
	Addr, Name string
	Limit      int64
	Weight     int64
	TTL, Poll  time.Duration
	Goroutines int    // load
	Iterations int    // load: per goroutine
	Counter    string // load: key counting the weight in use, across processes
}

type loadResult struct {
	Peak     int64
	Acquired int64
	Errors   int64
	Elapsed  time.Duration
}

func helperMain() int {
	var c helperConfig
	if err := json.Unmarshal([]byte(os.Getenv(helperEnv)), &c); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 2
	}
	rdb := redis.NewClient(&redis.Options{Addr: c.Addr, PoolSize: 16})
	s, err := redislimit.New(rdb, c.Name, c.Limit, redislimit.WithTTL(c.TTL), redislimit.WithPollInterval(c.Poll))
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 2
	}
	ctx := context.Background()
	switch c.Mode {
	case "hold", "wait":
		if c.Mode == "wait" {
			fmt.Println("waiting")
		}
		l, err := s.Acquire(ctx, c.Weight)
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		fmt.Println("held", l.Token())
		select {} // until killed
	case "load":
		fmt.Println(toJSON(runLoad(ctx, s, rdb, c)))
		s.Close()
		return 0
	}
	return 2
}

// runLoad runs c.Goroutines contenders, each doing c.Iterations acquire,
// hold briefly, release cycles with weights 1-3. Around each hold it adds
// the weight to a shared counter, so the counter's highest value is the
// global peak of the weight in use.
func runLoad(ctx context.Context, s *redislimit.Semaphore, rdb redis.UniversalClient, c helperConfig) loadResult {
	var res loadResult
	var mu sync.Mutex
	var acquired, errs atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for g := range c.Goroutines {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), uint64(os.Getpid())))
			for range c.Iterations {
				w := 1 + r.Int64N(3)
				l, err := s.Acquire(ctx, w)
				if err != nil {
					errs.Add(1)
					continue
				}
				acquired.Add(1)
				n, err := rdb.IncrBy(ctx, c.Counter, w).Result()
				if err == nil {
					mu.Lock()
					res.Peak = max(res.Peak, n)
					mu.Unlock()
				}
				time.Sleep(time.Duration(r.IntN(2000)) * time.Microsecond)
				rdb.DecrBy(ctx, c.Counter, w)
				l.Release()
			}
		})
	}
	wg.Wait()
	res.Acquired, res.Errors, res.Elapsed = acquired.Load(), errs.Load(), time.Since(start)
	return res
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// helper is a child process of the test.
type helper struct {
	t     testing.TB
	cmd   *exec.Cmd
	lines chan string
}

func startHelper(t testing.TB, c helperConfig) *helper {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+toJSON(c))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &helper{t: t, cmd: cmd, lines: make(chan string, 16)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			h.lines <- sc.Text()
		}
		close(h.lines)
	}()
	t.Cleanup(h.kill)
	return h
}

// expect waits for the helper's next line and requires it to start with prefix.
func (h *helper) expect(prefix string) string {
	h.t.Helper()
	select {
	case line, ok := <-h.lines:
		if !ok || !strings.HasPrefix(line, prefix) {
			h.t.Fatalf("helper said %q (open %v), want %q...", line, ok, prefix)
		}
		return line
	case <-time.After(30 * time.Second):
		h.t.Fatalf("helper did not say %q in 30s", prefix)
	}
	return ""
}

// kill sends SIGKILL and reaps the process.
func (h *helper) kill() {
	if h.cmd.ProcessState != nil {
		return
	}
	_ = h.cmd.Process.Signal(syscall.SIGKILL)
	_ = h.cmd.Wait()
	for range h.lines {
	}
}
