// Command apilimit caps the number of concurrent calls to an HTTP API.
//
// It starts a real HTTP server on 127.0.0.1 (a random port) that stands
// for a downstream API: each request takes -service to answer, and the
// server counts the requests it is handling and remembers the peak.
//
// In -mode=client (the default) the program makes -calls calls to it
// through a pool of limit -limit, each call with its own -timeout, and
// prints the peak the server saw (at most the limit), the calls per second,
// the p50/p95/p99 latency of the calls and the errors.
//
// In -mode=handler a second server, the front, stands for your service:
// its handler calls the downstream through p.Do(r.Context(), ...), so the
// limit holds across every request the front is serving. -clients clients
// send -calls requests to the front, many more at once than the limit, and
// the downstream's peak still stays at or below the limit. Latency is then
// as seen by the front's clients, queueing in the front included.
//
//	go run ./examples/apilimit
//	go run ./examples/apilimit -mode=handler -clients 64
//	go run ./examples/apilimit -service 50ms -timeout 20ms -calls 40   # every call times out
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weir-go/weir/job"
	"github.com/weir-go/weir/pool"
)

// config is the run's settings.
type config struct {
	mode    string        // "client" or "handler"
	calls   int           // calls (client mode) or front requests (handler mode)
	limit   int64         // most concurrent calls to the downstream
	clients int           // handler mode: concurrent clients of the front
	timeout time.Duration // each downstream call's own timeout
	service time.Duration // the downstream's time to answer
}

func main() {
	var cfg config
	flag.StringVar(&cfg.mode, "mode", "client", `"client": calls through a pool; "handler": a front server whose handler calls through p.Do`)
	flag.IntVar(&cfg.calls, "calls", 300, "calls to make")
	flag.Int64Var(&cfg.limit, "limit", 8, "most calls in flight to the downstream at once")
	flag.IntVar(&cfg.clients, "clients", 32, "handler mode: clients sending requests to the front at once")
	flag.DurationVar(&cfg.timeout, "timeout", time.Second, "each call's own timeout")
	flag.DurationVar(&cfg.service, "service", 20*time.Millisecond, "the downstream's service time")
	flag.Parse()

	r, err := run(context.Background(), os.Stdout, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "apilimit:", err)
		os.Exit(1)
	}
	if r.Errors > 0 {
		os.Exit(1)
	}
}

// report is what a run measured.
type report struct {
	Calls     int
	OK        int
	Errors    int
	Timeouts  int           // of Errors, those whose timeout expired
	Peak      int64         // most requests the downstream handled at once
	FrontPeak int64         // handler mode: most requests the front handled at once
	Elapsed   time.Duration // from the first call to the last answer
	Latencies []time.Duration
	P50       time.Duration
	P95       time.Duration
	P99       time.Duration
}

// gauge counts requests in flight and keeps the peak.
type gauge struct{ now, peak atomic.Int64 }

func (g *gauge) enter() {
	n := g.now.Add(1)
	for p := g.peak.Load(); n > p && !g.peak.CompareAndSwap(p, n); p = g.peak.Load() {
	}
}

func (g *gauge) leave() { g.now.Add(-1) }

// downstream is the API: it answers each request after its service time
// and counts the requests in flight. The count drops before the answer is
// sent (the response is flushed when the handler returns), so a client
// that has its answer is no longer counted.
type downstream struct {
	gauge
	service time.Duration
}

func (d *downstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.enter()
	defer d.leave()
	t := time.NewTimer(d.service)
	defer t.Stop()
	select {
	case <-t.C:
		_, _ = io.WriteString(w, "ok\n")
	case <-r.Context().Done(): // the client gave up
	}
}

// serve starts h on a random port of 127.0.0.1 and returns its URL and a
// function that stops it.
func serve(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	return "http://" + ln.Addr().String(), func() {
		_ = srv.Close()
		<-done
	}, nil
}

// call GETs url with its own timeout and reads the whole answer.
func call(ctx context.Context, client *http.Client, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return &statusError{url: url, code: resp.StatusCode, status: resp.Status}
	}
	return nil
}

// statusError is an answer other than 200 OK.
type statusError struct {
	url, status string
	code        int
}

func (e *statusError) Error() string { return e.url + ": " + e.status }

// timedOut reports whether err is a call's timeout: its own, or the
// front's 504 for the downstream call it made.
func timedOut(err error) bool {
	var se *statusError
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &se) && se.code == http.StatusGatewayTimeout
}

// newClient returns an HTTP client that keeps up to conns idle
// connections to one host, so that calls reuse them.
func newClient(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
	}}
}

// run starts the downstream (and in handler mode the front), makes the
// calls, prints what it measured and returns it.
func run(ctx context.Context, out io.Writer, cfg config) (*report, error) {
	if cfg.calls < 1 || cfg.limit < 1 || cfg.timeout <= 0 || cfg.service < 0 {
		return nil, errors.New("calls and limit must be at least 1, timeout positive, service not negative")
	}
	if cfg.mode == "handler" && cfg.clients < 1 {
		return nil, errors.New("clients must be at least 1")
	}
	down := &downstream{service: cfg.service}
	downURL, stopDown, err := serve(down)
	if err != nil {
		return nil, err
	}
	defer stopDown()

	p, err := pool.New(cfg.limit, pool.WithName("apilimit"))
	if err != nil {
		return nil, err
	}
	defer p.Close()

	var r *report
	switch cfg.mode {
	case "client":
		fmt.Fprintf(out, "downstream %s answers in %v; pool limit %d\n", downURL, cfg.service, cfg.limit)
		fmt.Fprintf(out, "%d calls through the pool, each with timeout %v\n", cfg.calls, cfg.timeout)
		r, err = clientMode(ctx, p, cfg, downURL)
	case "handler":
		fmt.Fprintf(out, "downstream %s answers in %v; the front's handler calls it through p.Do, pool limit %d\n", downURL, cfg.service, cfg.limit)
		r, err = handlerMode(ctx, out, p, cfg, downURL)
	default:
		return nil, fmt.Errorf("unknown mode %q (want client or handler)", cfg.mode)
	}
	if err != nil {
		return nil, err
	}
	r.Peak = down.peak.Load()
	r.finish()
	r.print(out, cfg)
	return r, nil
}

// clientMode makes cfg.calls calls through the pool, one job each.
func clientMode(ctx context.Context, p *pool.Pool, cfg config, url string) (*report, error) {
	client := newClient(int(cfg.limit))
	defer client.CloseIdleConnections()

	r := &report{Calls: cfg.calls}
	lat := make([]time.Duration, cfg.calls) // slot i written by job i only
	handles := make([]*job.Handle, 0, cfg.calls)
	start := time.Now()
	for i := range cfg.calls {
		h, err := p.Go(ctx, func(ctx context.Context) error {
			t := time.Now()
			err := call(ctx, client, url, cfg.timeout)
			lat[i] = time.Since(t)
			return err
		}, job.WithName(fmt.Sprintf("call-%d", i+1)))
		if err != nil {
			return nil, err // ctx ended: stop
		}
		handles = append(handles, h)
	}
	for i, h := range handles {
		r.count(h.Wait(), lat[i])
	}
	r.Elapsed = time.Since(start)
	return r, nil
}

// handlerMode serves a front whose handler calls the downstream through
// p.Do, and has cfg.clients clients send cfg.calls requests to it.
func handlerMode(ctx context.Context, out io.Writer, p *pool.Pool, cfg config, downURL string) (*report, error) {
	downClient := newClient(int(cfg.limit))
	defer downClient.CloseIdleConnections()

	var frontGauge gauge
	front := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		frontGauge.enter()
		defer frontGauge.leave()
		// Do waits, in FIFO order with every other request, for a slot
		// under the limit, or until this request's ctx ends.
		err := p.Do(req.Context(), job.Func(func(ctx context.Context) error {
			return call(ctx, downClient, downURL, cfg.timeout)
		}))
		switch {
		case err == nil:
			_, _ = io.WriteString(w, "ok\n")
		case errors.Is(err, context.DeadlineExceeded):
			http.Error(w, err.Error(), http.StatusGatewayTimeout)
		default:
			http.Error(w, err.Error(), http.StatusBadGateway)
		}
	})
	frontURL, stopFront, err := serve(front)
	if err != nil {
		return nil, err
	}
	defer stopFront()
	fmt.Fprintf(out, "front %s: %d clients send it %d requests, each downstream call with timeout %v\n",
		frontURL, cfg.clients, cfg.calls, cfg.timeout)

	client := newClient(cfg.clients)
	defer client.CloseIdleConnections()
	var (
		next    atomic.Int64
		mu      sync.Mutex
		r       = &report{Calls: cfg.calls}
		wg      sync.WaitGroup
		timeout = 10*cfg.timeout + time.Duration(cfg.calls/int(cfg.limit)+1)*(cfg.service+cfg.timeout) // generous: the front answers every request
	)
	start := time.Now()
	for range cfg.clients {
		wg.Go(func() {
			for next.Add(1) <= int64(cfg.calls) {
				t := time.Now()
				err := call(ctx, client, frontURL, timeout)
				d := time.Since(t)
				mu.Lock()
				r.count(err, d)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	r.Elapsed = time.Since(start)
	r.FrontPeak = frontGauge.peak.Load()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return r, nil
}

// count adds one call's outcome.
func (r *report) count(err error, d time.Duration) {
	switch {
	case err == nil:
		r.OK++
		r.Latencies = append(r.Latencies, d)
	case timedOut(err):
		r.Errors++
		r.Timeouts++
	default:
		r.Errors++
	}
}

// finish computes the percentiles.
func (r *report) finish() {
	slices.Sort(r.Latencies)
	r.P50 = percentile(r.Latencies, 50)
	r.P95 = percentile(r.Latencies, 95)
	r.P99 = percentile(r.Latencies, 99)
}

// percentile returns the p-th percentile of sorted by the nearest-rank
// method, or 0 for no values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[max(rank, 1)-1]
}

func (r *report) print(out io.Writer, cfg config) {
	if cfg.mode == "handler" {
		fmt.Fprintf(out, "front peak in flight: %d\n", r.FrontPeak)
	}
	fmt.Fprintf(out, "downstream peak in flight: %d (limit %d)\n", r.Peak, cfg.limit)
	if r.Peak > cfg.limit {
		// Only abandoned calls can do this: a call that timed out gives
		// its slot back while the server may still be working on it.
		fmt.Fprintln(out, "  (above the limit: calls that timed out were abandoned while the server still worked on them)")
	}
	fmt.Fprintf(out, "succeeded: %d, errors: %d (timeouts: %d)\n", r.OK, r.Errors, r.Timeouts)
	fmt.Fprintf(out, "throughput: %.1f calls/s (%d calls in %v)\n",
		float64(r.Calls)/r.Elapsed.Seconds(), r.Calls, r.Elapsed.Round(time.Millisecond))
	if r.OK == 0 {
		fmt.Fprintln(out, "latency: no call succeeded")
		return
	}
	// In handler mode a request waits for the pool inside the front's
	// handler before its downstream call starts, and -timeout bounds only
	// that call, so a p99 above the timeout is queueing, not a bug: say so.
	label := ""
	if cfg.mode == "handler" {
		label = ", " + handlerLatencyLabel
	}
	fmt.Fprintf(out, "latency of the %d that succeeded%s: p50 %v, p95 %v, p99 %v\n", r.OK, label, round(r.P50), round(r.P95), round(r.P99))
}

// handlerLatencyLabel says what the latency of handler mode measures.
const handlerLatencyLabel = "as the front's clients see it (queueing for the pool in front of the handler included; -timeout bounds only the downstream call)"

// round keeps a duration readable: 3 significant digits or so.
func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= 10*time.Millisecond:
		return d.Round(100 * time.Microsecond)
	default:
		return d.Round(10 * time.Microsecond)
	}
}
