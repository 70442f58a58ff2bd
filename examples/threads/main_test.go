package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// expected builds the walkthrough's exact output for cfg, independently of
// run: every line the program prints is spelled out here.
func expected(cfg config) string {
	var b strings.Builder
	b.WriteString(`1. A job is a type with its own fields and a Run(ctx) error method
  Hello from greeter
2. Submit starts a job, Wait joins it
  started summer (ID 2)
  joined summer: state succeeded, sum of 1..100 = 5050
3. A job reads its name and ID from its ctx
  alice says: I am alice (ID 3)
  job-4 says: I am job-4 (ID 4)
  bob says: I am bob (ID 5)
  job-6 says: I am job-6 (ID 6)
4. Many jobs update a shared counter under a sync.Mutex
`)
	fmt.Fprintf(&b, "  counter = %d (%d jobs x %d increments = %d)\n",
		cfg.jobs*cfg.increments, cfg.jobs, cfg.increments, cfg.jobs*cfg.increments)
	fmt.Fprintf(&b, "5. Semaphore(%d): a pool of limit %d runs at most %d jobs at once\n", cfg.limit, cfg.limit, cfg.limit)
	for i := range cfg.workers {
		fmt.Fprintf(&b, "  Thread-%d is working\n", i)
	}
	fmt.Fprintf(&b, "  peak workers working at once: %d (limit %d)\n", min(cfg.limit, int64(cfg.workers)), cfg.limit)
	b.WriteString("  With limit 1 they work one at a time, in the order submitted:\n")
	for i := range cfg.workers {
		fmt.Fprintf(&b, "  Thread-%d is working\n", i)
	}
	b.WriteString("  peak workers working at once: 1 (limit 1)\nAll jobs finished\n")
	return b.String()
}

func TestOutputIsExact(t *testing.T) {
	for _, cfg := range []config{
		{jobs: 10, increments: 1000, workers: 10, limit: 3, work: 50 * time.Millisecond}, // the defaults
		{jobs: 4, increments: 100, workers: 5, limit: 2, work: time.Second},
		{jobs: 1, increments: 0, workers: 2, limit: 3, work: time.Second}, // fewer workers than the limit
		{jobs: 3, increments: 7, workers: 4, limit: 1, work: time.Second},
	} {
		t.Run(fmt.Sprintf("jobs=%d/inc=%d/workers=%d/limit=%d", cfg.jobs, cfg.increments, cfg.workers, cfg.limit), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var out bytes.Buffer
				start := time.Now()
				require.NoError(t, run(context.Background(), &out, cfg))
				assert.Equal(t, expected(cfg), out.String())

				// Only the workers take (fake) time: ceil(workers/limit)
				// rounds at the pool's limit, then one per worker at limit 1.
				// This fails if the limit did not let them overlap, or let
				// more overlap than it should.
				rounds := (int64(cfg.workers) + cfg.limit - 1) / cfg.limit
				want := time.Duration(rounds+int64(cfg.workers)) * cfg.work
				assert.Equal(t, want, time.Since(start))
			})
		})
	}
}

// The golden text above is for the default flags; this pins it literally,
// so that a mistake shared by expected and run cannot hide.
func TestDefaultOutputLiteral(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out bytes.Buffer
		require.NoError(t, run(context.Background(), &out, config{jobs: 10, increments: 1000, workers: 3, limit: 3, work: time.Second}))
		assert.Contains(t, out.String(), "  counter = 10000 (10 jobs x 1000 increments = 10000)\n")
		assert.Contains(t, out.String(), "5. Semaphore(3): a pool of limit 3 runs at most 3 jobs at once\n"+
			"  Thread-0 is working\n  Thread-1 is working\n  Thread-2 is working\n"+
			"  peak workers working at once: 3 (limit 3)\n")
		assert.True(t, strings.HasSuffix(out.String(), "  peak workers working at once: 1 (limit 1)\nAll jobs finished\n"))
	})
}

func TestCounterIsExactUnderContention(t *testing.T) {
	// Outside synctest, on real goroutines, with many more increments:
	// the mutex must make every one count (and -race must stay quiet).
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out, config{jobs: 16, increments: 5000, workers: 1, limit: 8}))
	assert.Contains(t, out.String(), "  counter = 80000 (16 jobs x 5000 increments = 80000)\n")
}

func TestBadConfig(t *testing.T) {
	for _, cfg := range []config{
		{jobs: 0, workers: 1, limit: 1},
		{jobs: 1, workers: 0, limit: 1},
		{jobs: 1, workers: 1, limit: 0},
		{jobs: 1, workers: 1, limit: 1, increments: -1},
	} {
		assert.Error(t, run(context.Background(), &bytes.Buffer{}, cfg))
	}
}

func TestCanceledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := run(ctx, &bytes.Buffer{}, config{jobs: 1, workers: 1, limit: 1})
	require.ErrorIs(t, err, context.Canceled)
}
