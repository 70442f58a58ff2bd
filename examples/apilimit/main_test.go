package main

// These tests use real loopback HTTP servers (127.0.0.1 only), so they
// run outside testing/synctest and assert counts and peaks, never
// timings; the one bound on time they check is a lower one (no call can
// succeed faster than the server's service time).

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

var (
	peakRe    = regexp.MustCompile(`(?m)^downstream peak in flight: (\d+) \(limit (\d+)\)$`)
	frontRe   = regexp.MustCompile(`(?m)^front peak in flight: (\d+)$`)
	countsRe  = regexp.MustCompile(`(?m)^succeeded: (\d+), errors: (\d+) \(timeouts: (\d+)\)$`)
	rateRe    = regexp.MustCompile(`(?m)^throughput: ([0-9.]+) calls/s \((\d+) calls in (\S+)\)$`)
	latencyRe = regexp.MustCompile(`(?m)^latency of the (\d+) that succeeded(?:, ([^:]+))?: p50 (\S+), p95 (\S+), p99 (\S+)$`)
	headerRe  = regexp.MustCompile(`^downstream http://127\.0\.0\.1:\d+ answers in `)
)

// TestMain fails the package if a test leaves a goroutine behind: a server,
// a connection or a pool worker. ants starts its default pool's goroutines
// when it is imported, so those are ignored.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreCurrent())
}

// checkPrinted checks that every line run printed states what the report
// holds.
func checkPrinted(t *testing.T, out string, cfg config, r *report) {
	t.Helper()
	assert.Regexp(t, headerRe, out)

	m := peakRe.FindStringSubmatch(out)
	require.NotNil(t, m, out)
	assert.Equal(t, strconv.FormatInt(r.Peak, 10), m[1])
	assert.Equal(t, strconv.FormatInt(cfg.limit, 10), m[2])
	if r.Peak <= cfg.limit {
		assert.NotContains(t, out, "above the limit")
	}

	m = countsRe.FindStringSubmatch(out)
	require.NotNil(t, m, out)
	assert.Equal(t, []string{strconv.Itoa(r.OK), strconv.Itoa(r.Errors), strconv.Itoa(r.Timeouts)}, m[1:])
	assert.Equal(t, cfg.calls, r.OK+r.Errors, "every call is counted once")

	m = rateRe.FindStringSubmatch(out)
	require.NotNil(t, m, out)
	assert.Equal(t, strconv.Itoa(cfg.calls), m[2])
	rate, err := strconv.ParseFloat(m[1], 64)
	require.NoError(t, err)
	assert.InDelta(t, float64(cfg.calls)/r.Elapsed.Seconds(), rate, 0.051)
	assert.Positive(t, rate)

	if cfg.mode == "handler" {
		m = frontRe.FindStringSubmatch(out)
		require.NotNil(t, m, out)
		assert.Equal(t, strconv.FormatInt(r.FrontPeak, 10), m[1])
	} else {
		assert.NotRegexp(t, frontRe, out)
	}

	if r.OK == 0 {
		assert.Contains(t, out, "latency: no call succeeded\n")
		assert.NotRegexp(t, latencyRe, out)
		return
	}
	m = latencyRe.FindStringSubmatch(out)
	require.NotNil(t, m, out)
	assert.Equal(t, strconv.Itoa(r.OK), m[1])
	if cfg.mode == "handler" {
		// The front's clients see the wait for the pool as latency,
		// beyond the downstream call's timeout: the line says so.
		assert.Equal(t, "as the front's clients see it (queueing for the pool in front of the handler included; -timeout bounds only the downstream call)", m[2])
	} else {
		assert.Empty(t, m[2])
	}
	var ps [3]time.Duration
	for i, s := range m[3:] {
		ps[i], err = time.ParseDuration(s)
		require.NoError(t, err)
	}
	assert.Equal(t, [3]time.Duration{round(r.P50), round(r.P95), round(r.P99)}, ps)
	assert.LessOrEqual(t, ps[0], ps[1])
	assert.LessOrEqual(t, ps[1], ps[2])
	assert.GreaterOrEqual(t, ps[0], cfg.service, "no call can succeed faster than the service time")
	require.Len(t, r.Latencies, r.OK)
	for _, d := range r.Latencies {
		assert.GreaterOrEqual(t, d, cfg.service)
	}
}

func TestPeakEqualsLimit(t *testing.T) {
	for _, tt := range []config{
		{mode: "client", calls: 40, limit: 4},
		{mode: "client", calls: 30, limit: 1},
		{mode: "handler", calls: 40, limit: 4, clients: 16},
		{mode: "handler", calls: 20, limit: 1, clients: 5},
	} {
		t.Run(fmt.Sprintf("%s/calls=%d/limit=%d", tt.mode, tt.calls, tt.limit), func(t *testing.T) {
			tt.service, tt.timeout = 30*time.Millisecond, time.Minute
			var out bytes.Buffer
			r, err := run(context.Background(), &out, tt)
			require.NoError(t, err)
			assert.Equal(t, tt.limit, r.Peak, "calls > limit: the downstream should see exactly limit at once")
			assert.Equal(t, tt.calls, r.OK)
			assert.Zero(t, r.Errors)
			assert.Zero(t, r.Timeouts)
			if tt.mode == "handler" {
				// The front takes every client at once; only the calls
				// it makes downstream are limited.
				assert.Greater(t, r.FrontPeak, tt.limit)
				assert.LessOrEqual(t, r.FrontPeak, int64(tt.clients))
			}
			checkPrinted(t, out.String(), tt, r)
		})
	}
}

func TestPeakBelowLimitWithFewCalls(t *testing.T) {
	for _, tt := range []config{
		{mode: "client", calls: 3, limit: 8},
		{mode: "handler", calls: 6, limit: 8, clients: 3},
	} {
		t.Run(tt.mode, func(t *testing.T) {
			tt.service, tt.timeout = 10*time.Millisecond, time.Minute
			var out bytes.Buffer
			r, err := run(context.Background(), &out, tt)
			require.NoError(t, err)
			assert.LessOrEqual(t, r.Peak, int64(tt.calls))
			if tt.mode == "handler" { // at most one request per client at a time
				assert.LessOrEqual(t, r.Peak, int64(tt.clients))
				assert.LessOrEqual(t, r.FrontPeak, int64(tt.clients))
			}
			assert.Positive(t, r.Peak)
			assert.Equal(t, tt.calls, r.OK)
			assert.Zero(t, r.Errors)
			checkPrinted(t, out.String(), tt, r)
		})
	}
}

// TestTimeoutsAreCounted makes the server far slower than each call's
// timeout: every call must end in a timeout, and be counted as one.
func TestTimeoutsAreCounted(t *testing.T) {
	for _, tt := range []config{
		{mode: "client", calls: 6, limit: 2},
		{mode: "handler", calls: 6, limit: 2, clients: 4},
	} {
		t.Run(tt.mode, func(t *testing.T) {
			// The server gives up on a request when its client does, so
			// the long service time costs nothing.
			tt.service, tt.timeout = time.Hour, 20*time.Millisecond
			var out bytes.Buffer
			r, err := run(context.Background(), &out, tt)
			require.NoError(t, err)
			assert.Zero(t, r.OK)
			assert.Equal(t, tt.calls, r.Errors)
			assert.Equal(t, tt.calls, r.Timeouts)
			assert.Positive(t, r.Peak)
			checkPrinted(t, out.String(), tt, r)
		})
	}
}

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	assert.Equal(t, 50*time.Millisecond, percentile(ds, 50))
	assert.Equal(t, 95*time.Millisecond, percentile(ds, 95))
	assert.Equal(t, 99*time.Millisecond, percentile(ds, 99))
	assert.Equal(t, 100*time.Millisecond, percentile(ds, 100))
	assert.Equal(t, 7*time.Millisecond, percentile([]time.Duration{7 * time.Millisecond}, 99))
	assert.Equal(t, 2*time.Millisecond, percentile([]time.Duration{1 * time.Millisecond, 2 * time.Millisecond}, 50+1))
	assert.Equal(t, 1*time.Millisecond, percentile([]time.Duration{1 * time.Millisecond, 2 * time.Millisecond}, 50))
	assert.Zero(t, percentile(nil, 50))
}

func TestBadConfig(t *testing.T) {
	for _, cfg := range []config{
		{mode: "client", calls: 0, limit: 1, timeout: time.Second},
		{mode: "client", calls: 1, limit: 0, timeout: time.Second},
		{mode: "client", calls: 1, limit: 1, timeout: 0},
		{mode: "handler", calls: 1, limit: 1, timeout: time.Second, clients: 0},
		{mode: "other", calls: 1, limit: 1, timeout: time.Second},
	} {
		_, err := run(context.Background(), &bytes.Buffer{}, cfg)
		assert.Error(t, err, "%+v", cfg)
	}
}

func TestCanceledContextStopsClientMode(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := run(ctx, &bytes.Buffer{}, config{mode: "client", calls: 5, limit: 1, timeout: time.Second})
	require.ErrorIs(t, err, context.Canceled)
}
