package main

// The adaptive tests run the clients against the server's logic
// in-process inside testing/synctest, where time is fake: three phases of
// 30 simulated seconds take a fraction of a second and the assertions
// about where the limit settles do not depend on the machine's load. One
// test runs the real HTTP server on loopback, with tiny sizes, and checks
// only counts and bounds.

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/weir-go/weir/internal/sim"
	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind. ants
// starts its default pool's goroutines when it is imported, so those are
// ignored.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreCurrent())
}

var (
	sampleRe = regexp.MustCompile(`(?m)^ *([0-9.]+)s +(\d+) +(\d+) +(\d+) +([0-9.]+) +(\d+)$`)
	phaseRe  = regexp.MustCompile(`(?m)^ +(\d+) +(\d+) +(\d+) \(([0-9.]+)x\) +([0-9.]+) +([0-9.]+)$`)
	peakRe   = regexp.MustCompile(`(?m)^server peak: (\d+) requests held at once \(largest capacity (\d+)(?: \+ queue (\d+) = (\d+)|, queue unbounded)\)$`)
	callsRe  = regexp.MustCompile(`(?m)^calls: (\d+) ok, (\d+) dropped \(503\), (\d+) timed out, (\d+) other errors; (\d+) limit changes$`)
)

// simConfig is the schedule of the brief: capacity 50, then 25, then 100,
// 30 simulated seconds each, 100ms per request, sampled every 100ms.
func simConfig(algo string) config {
	return config{
		algo: algo, capacity: []int64{50, 25, 100}, phase: 30 * time.Second,
		service: 100 * time.Millisecond, queue: 4, clients: 300, start: 10, max: 1000,
		timeout: time.Second, interval: 100 * time.Millisecond, inProcess: true,
	}
}

// checkPrinted checks that what run printed states what it reported.
func checkPrinted(t *testing.T, out string, cfg config, r *report) {
	t.Helper()
	lines := sampleRe.FindAllStringSubmatch(out, -1)
	require.Len(t, lines, len(r.Samples), out)
	for i, m := range lines {
		s := r.Samples[i]
		assert.Equal(t, []string{strconv.FormatInt(s.Limit, 10), strconv.FormatInt(s.Capacity, 10), strconv.FormatInt(s.Peak, 10)}, m[2:5])
	}
	phases := phaseRe.FindAllStringSubmatch(out, -1)
	require.Len(t, phases, len(r.Phases), out)
	for i, m := range phases {
		assert.Equal(t, []string{strconv.Itoa(i + 1), strconv.FormatInt(r.Phases[i].Capacity, 10), strconv.FormatInt(r.Phases[i].Median, 10)}, m[1:4])
	}
	m := peakRe.FindStringSubmatch(out)
	require.NotNil(t, m, out)
	assert.Equal(t, strconv.FormatInt(r.Peak, 10), m[1])
	assert.Equal(t, strconv.FormatInt(slices.Max(cfg.capacity), 10), m[2])
	if cfg.queue >= 0 {
		assert.Equal(t, strconv.FormatInt(slices.Max(cfg.capacity)+cfg.queue, 10), m[4])
	} else {
		assert.Empty(t, m[4])
	}
	m = callsRe.FindStringSubmatch(out)
	require.NotNil(t, m, out)
	assert.Equal(t, []string{strconv.FormatInt(r.OK, 10), strconv.FormatInt(r.Dropped, 10),
		strconv.FormatInt(r.TimedOut, 10), strconv.FormatInt(r.Failed, 10), strconv.FormatUint(r.Resizes, 10)}, m[1:])
}

// TestSettlesAtEachCapacity checks, for each controller, that the limit
// follows the server's capacity through 50 → 25 → 100: over the last
// quarter of each phase its median is within 20% of the capacity (as
// limit/adaptive_test.go measures it), the server never holds more than
// its capacity plus its queue, throughput is near the capacity, and the
// chart is a PNG.
func TestSettlesAtEachCapacity(t *testing.T) {
	for _, algo := range []string{"aimd", "gradient"} {
		t.Run(algo, func(t *testing.T) {
			cfg := simConfig(algo)
			cfg.chart = filepath.Join(t.TempDir(), "adaptive.png")
			var out bytes.Buffer
			var r *report
			synctest.Test(t, func(t *testing.T) {
				var err error
				r, err = run(t.Context(), &out, cfg)
				require.NoError(t, err)
			})
			n := int(cfg.phase / cfg.interval)
			require.Len(t, r.Samples, n*len(cfg.capacity))
			require.Len(t, r.Phases, len(cfg.capacity))
			prev := cfg.capacity[0]
			for i, capacity := range cfg.capacity {
				phase := r.Samples[i*n : (i+1)*n]
				var limits []int64
				var tp float64
				for k, s := range phase {
					assert.Equal(t, i, s.Phase)
					assert.Equal(t, capacity, s.Capacity)
					assert.Equal(t, time.Duration(i*n+k+1)*cfg.interval, s.T, "samples on the interval, exactly: time is fake")
					// Calls served before a shrink finish after it.
					assert.LessOrEqual(t, s.Peak, max(capacity, prev)+cfg.queue, "the server held more than it can")
					if k >= n*3/4 {
						limits = append(limits, s.Limit)
						tp += s.Throughput
					}
				}
				prev = capacity
				med := median(limits)
				t.Logf("%s capacity %d: last quarter median limit %d (%.2fx), min %d, max %d, throughput %.0f/s of %.0f/s",
					algo, capacity, med, float64(med)/float64(capacity), slices.Min(limits), slices.Max(limits),
					tp/float64(len(limits)), float64(capacity)/cfg.service.Seconds())
				assert.InDelta(t, float64(capacity), float64(med), 0.2*float64(capacity), "median limit not within 20%% of the capacity")
				assert.Equal(t, med, r.Phases[i].Median)
				most := float64(capacity) / cfg.service.Seconds()
				assert.InDelta(t, 0.8*most, tp/float64(len(limits)), 0.25*most, "throughput far from the capacity")
			}
			assert.LessOrEqual(t, r.Peak, slices.Max(cfg.capacity)+cfg.queue)
			assert.Positive(t, r.OK)
			assert.Zero(t, r.TimedOut)
			assert.Zero(t, r.Failed)
			if algo == "aimd" {
				assert.Positive(t, r.Dropped, "AIMD finds the capacity by its drops")
			}
			// Every call is counted, those in flight at the end too: the
			// clients' drops are the server's rejections, one for one.
			assert.Equal(t, r.Server.Dropped, r.Dropped, "server rejections and client drops")
			assert.Equal(t, r.Server.Served, r.OK, "server served and client ok")
			assert.Zero(t, r.Server.Failed, "calls cut short at the end")
			assert.Positive(t, r.Resizes)
			checkPrinted(t, out.String(), cfg, r)

			assert.Equal(t, cfg.chart, r.Chart)
			f, err := os.Open(cfg.chart)
			require.NoError(t, err)
			defer f.Close()
			img, err := png.DecodeConfig(f)
			require.NoError(t, err, "the chart is not a PNG")
			assert.Equal(t, 800, img.Width)
			assert.Equal(t, 600, img.Height)
			assert.Contains(t, out.String(), "wrote "+cfg.chart+"\n")
		})
	}
}

// TestTimeoutsAreDrops makes every call time out: they are counted as
// timeouts, and the controller, which sees them as drops, cuts the limit.
func TestTimeoutsAreDrops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := simConfig("aimd")
		cfg.capacity, cfg.queue, cfg.service, cfg.timeout = []int64{2}, -1, time.Hour, 200*time.Millisecond
		cfg.phase, cfg.clients, cfg.start = 5*time.Second, 50, 40
		var out bytes.Buffer
		r, err := run(t.Context(), &out, cfg)
		require.NoError(t, err)
		assert.Zero(t, r.OK)
		assert.Zero(t, r.Dropped)
		assert.Zero(t, r.Failed)
		assert.Positive(t, r.TimedOut)
		assert.Less(t, r.Samples[len(r.Samples)-1].Limit, cfg.start)
		checkPrinted(t, out.String(), cfg, r)
	})
}

// TestInterrupted ends the run's ctx half way: it returns the samples so
// far with ctx.Err(), and still sums up and draws them.
func TestInterrupted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := simConfig("gradient")
		cfg.chart = filepath.Join(t.TempDir(), "partial.png")
		ctx, cancel := context.WithTimeout(t.Context(), 45*time.Second+50*time.Millisecond)
		defer cancel()
		var out bytes.Buffer
		r, err := run(ctx, &out, cfg)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Len(t, r.Samples, 450)
		assert.Len(t, r.Phases, 2)
		assert.Contains(t, out.String(), "interrupted: what was measured so far\n")
		_, err = os.Stat(cfg.chart)
		assert.NoError(t, err)
		checkPrinted(t, out.String(), cfg, r)
	})
}

// TestHandler calls the server's HTTP handler directly, on fake time: at
// capacity 1 with no queue, of two requests at once one is served and
// the other gets 503 at once.
func TestHandler(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := handler(sim.New(1, 0, time.Second))
		codes := make([]int, 2)
		took := make([]time.Duration, 2)
		var wg sync.WaitGroup
		for i := range codes {
			wg.Go(func() {
				start := time.Now()
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
				codes[i], took[i] = w.Code, time.Since(start)
			})
			synctest.Wait()
		}
		wg.Wait()
		assert.Equal(t, []int{http.StatusOK, http.StatusServiceUnavailable}, codes)
		assert.Equal(t, []time.Duration{time.Second, 10 * time.Millisecond}, took)
	})
}

// TestHTTP runs the real server on loopback, with tiny sizes: it asserts
// only that the run completes, that the server never held more than its
// capacity plus its queue, and that the 503s are counted as drops.
func TestHTTP(t *testing.T) {
	cfg := config{
		algo: "aimd", capacity: []int64{4, 2, 6}, phase: 300 * time.Millisecond,
		service: 20 * time.Millisecond, queue: 2, clients: 24, start: 12, max: 100,
		timeout: 10 * time.Second, interval: 100 * time.Millisecond,
	}
	var out bytes.Buffer
	r, err := run(t.Context(), &out, cfg)
	require.NoError(t, err)
	assert.Regexp(t, `^server http://127\.0\.0\.1:\d+: capacity 4, 2, 6,`, out.String())
	assert.Len(t, r.Samples, 9)
	assert.Positive(t, r.Peak)
	assert.LessOrEqual(t, r.Peak, int64(6+2), "the server held more than its largest capacity plus its queue")
	assert.Positive(t, r.OK)
	assert.LessOrEqual(t, r.OK, r.Server.Served)
	// The limit starts at 12, above what the server holds (4 + 2): it
	// answers 503, and every 503 the clients got is counted as a drop.
	assert.Positive(t, r.Server.Dropped)
	assert.Positive(t, r.Dropped)
	assert.Equal(t, r.Server.Dropped, r.Dropped, "server rejections and client drops")
	assert.Equal(t, r.Server.Served, r.OK, "server served and client ok")
	assert.Zero(t, r.Failed)
	checkPrinted(t, out.String(), cfg, r)
}

func TestBadConfig(t *testing.T) {
	good := simConfig("aimd")
	for name, change := range map[string]func(*config){
		"algo":        func(c *config) { c.algo = "vegas" },
		"no phases":   func(c *config) { c.capacity = nil },
		"capacity 0":  func(c *config) { c.capacity = []int64{5, 0} },
		"interval 0":  func(c *config) { c.interval = 0 },
		"short phase": func(c *config) { c.phase = c.interval / 2 },
		"service 0":   func(c *config) { c.service = 0 },
		"timeout 0":   func(c *config) { c.timeout = 0 },
		"no clients":  func(c *config) { c.clients = 0 },
		"start 0":     func(c *config) { c.start = 0 },
		"max < start": func(c *config) { c.max = c.start - 1 },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := good
			change(&cfg)
			_, err := run(t.Context(), &bytes.Buffer{}, cfg)
			assert.ErrorIs(t, err, errConfig)
		})
	}
}

func TestParseCapacity(t *testing.T) {
	got, err := parseCapacity("50, 25,100")
	require.NoError(t, err)
	assert.Equal(t, []int64{50, 25, 100}, got)
	for _, bad := range []string{"", "50,,25", "x", "0", "-3"} {
		_, err := parseCapacity(bad)
		assert.True(t, errors.Is(err, errConfig), "%q: %v", bad, err)
	}
}

func TestMedian(t *testing.T) {
	assert.Zero(t, median(nil))
	assert.Equal(t, int64(7), median([]int64{7}))
	assert.Equal(t, int64(3), median([]int64{5, 1, 3}))
	assert.Equal(t, int64(3), median([]int64{4, 1, 3, 2}), "the upper of an even count")
	vs := []int64{3, 1, 2}
	median(vs)
	assert.Equal(t, []int64{3, 1, 2}, vs, "median does not sort its argument")
}
