// Command adaptive lets a pool find its own limit against an HTTP server
// whose capacity changes while it runs.
//
// It starts a real HTTP server on 127.0.0.1 (a random port) that serves at
// most C requests at once, each taking -service, queues up to -queue more,
// and answers the rest with 503 Service Unavailable (after a hundredth of
// -service: a real server takes a moment to say no). C follows -capacity,
// one value per -phase (50, then 25, then 100 by default). The server's
// logic is the repository's simulated dependency, internal/sim, behind a
// net/http handler.
// -clients goroutines call it in a closed loop through one pool whose
// limit is set by an adaptive controller, pool.WithAdaptiveLimit (-algo
// aimd or gradient). A 503 is a drop (its error wraps limit.ErrDropped),
// and so is a call that takes longer than -timeout; drops and latency are
// all the controller learns from. AIMD grows until the 503s begin, so it
// settles just under capacity + queue; Gradient reads the latency the
// queue adds, and settles near capacity + 2 (its QueueSize).
//
// Every -interval it prints the time, the pool's limit, the server's
// capacity, the most requests the server held at once (served or queued)
// and the calls per second that succeeded; at the end, per phase, where
// the limit settled against the capacity, and the server's peak. With
// -chart it draws the limit, the capacity and the throughput against time
// into a PNG, one point per interval.
//
//	go run ./examples/adaptive -chart adaptive.png
//	go run ./examples/adaptive -algo gradient -interval 250ms -chart gradient.png
//	go run ./examples/adaptive -capacity 20,80 -phase 10s -service 50ms
//
// The exit status is 0, 1 on a failure, 2 for bad flags and 130 when
// interrupted (Ctrl-C prints what was measured so far).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/weir-go/weir/internal/chart"
	"github.com/weir-go/weir/internal/sim"
	"github.com/weir-go/weir/job"
	"github.com/weir-go/weir/limit"
	"github.com/weir-go/weir/pool"
)

// config is the run's settings.
type config struct {
	algo     string        // "aimd" or "gradient"
	capacity []int64       // the server's capacity in each phase
	phase    time.Duration // length of each phase
	service  time.Duration // the server's time per request
	queue    int64         // requests the server queues beyond its capacity
	clients  int           // goroutines calling in a closed loop
	start    int64         // the pool's starting limit
	max      int64         // the most limit the controller may answer
	timeout  time.Duration // each call's own timeout; a call that takes longer is a drop
	interval time.Duration // how often to sample and print
	chart    string        // PNG to draw, "" for none

	// inProcess calls the server's logic directly instead of over HTTP:
	// the tests do, inside testing/synctest, where time is fake and a
	// run of minutes takes a second.
	inProcess bool
}

func main() {
	cfg := config{}
	var capacity string
	flag.StringVar(&cfg.algo, "algo", "aimd", `adaptive limit controller: "aimd" or "gradient"`)
	flag.StringVar(&capacity, "capacity", "50,25,100", "the server's capacity (requests served at once) in each phase, comma-separated")
	flag.DurationVar(&cfg.phase, "phase", 20*time.Second, "length of each phase")
	flag.DurationVar(&cfg.service, "service", 100*time.Millisecond, "the server's time per request")
	flag.Int64Var(&cfg.queue, "queue", 4, "requests the server queues beyond its capacity; the rest get 503 (negative: no bound, so no 503s)")
	flag.IntVar(&cfg.clients, "clients", 400, "goroutines calling the server through the pool, in a closed loop")
	flag.Int64Var(&cfg.start, "start", 10, "the pool's starting limit")
	flag.Int64Var(&cfg.max, "max", 1000, "the most limit the controller may set")
	flag.DurationVar(&cfg.timeout, "timeout", time.Second, "each call's own timeout; a call that times out is a drop")
	flag.DurationVar(&cfg.interval, "interval", time.Second, "how often to sample the limit, print it and add a point to the chart")
	flag.StringVar(&cfg.chart, "chart", "", "write a chart of the limit, the capacity and the throughput to this PNG file")
	flag.Parse()
	caps, err := parseCapacity(capacity)
	if err != nil || flag.NArg() > 0 {
		if err == nil {
			err = fmt.Errorf("unexpected arguments %q", flag.Args())
		}
		fmt.Fprintln(os.Stderr, "adaptive:", err)
		os.Exit(2)
	}
	cfg.capacity = caps

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	_, err = run(ctx, os.Stdout, cfg)
	stop()
	switch {
	case err != nil && ctx.Err() != nil:
		os.Exit(130)
	case errors.Is(err, errConfig):
		fmt.Fprintln(os.Stderr, "adaptive:", err)
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "adaptive:", err)
		os.Exit(1)
	}
}

// parseCapacity reads "50,25,100".
func parseCapacity(s string) ([]int64, error) {
	var caps []int64
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%w: bad capacity %q: want integers of at least 1", errConfig, f)
		}
		caps = append(caps, n)
	}
	return caps, nil
}

var errConfig = errors.New("bad configuration")

func (cfg config) check() error {
	switch {
	case cfg.algo != "aimd" && cfg.algo != "gradient":
		return fmt.Errorf("%w: unknown -algo %q (want aimd or gradient)", errConfig, cfg.algo)
	case len(cfg.capacity) == 0 || slices.Min(cfg.capacity) < 1:
		return fmt.Errorf("%w: need a capacity of at least 1 for each phase", errConfig)
	case cfg.interval <= 0 || cfg.phase < cfg.interval:
		return fmt.Errorf("%w: need 0 < interval <= phase", errConfig)
	case cfg.service <= 0 || cfg.timeout <= 0:
		return fmt.Errorf("%w: service time and timeout must be positive", errConfig)
	case cfg.clients < 1:
		return fmt.Errorf("%w: need at least one client", errConfig)
	case cfg.start < 1 || cfg.max < cfg.start:
		return fmt.Errorf("%w: need 1 <= start <= max", errConfig)
	}
	return nil
}

// controller returns the controller -algo names.
func (cfg config) controller() (limit.Controller, error) {
	if cfg.algo == "gradient" {
		// The server's latency is flat up to its capacity, so any rise
		// is a queue (Tolerance 1); QueueSize 2 keeps the queue the
		// limit causes well inside the server's.
		return limit.NewGradient(limit.GradientConfig{Min: 1, Max: cfg.max, Tolerance: 1, QueueSize: 2, Smoothing: 0.5})
	}
	return limit.NewAIMD(limit.AIMDConfig{Min: 1, Max: cfg.max})
}

// dependency is what the clients call: the server over HTTP in main, or
// its logic in-process in the tests.
type dependency interface {
	Call(ctx context.Context) error
}

// handler serves svc over HTTP: 200 when a request was served, 503 when
// the queue was full.
func handler(svc *sim.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := svc.Call(r.Context())
		switch {
		case err == nil:
			_, _ = io.WriteString(w, "ok\n")
		case errors.Is(err, limit.ErrDropped):
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
		default: // the client has gone
		}
	})
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

// httpDependency GETs a URL per call.
type httpDependency struct {
	client *http.Client
	url    string
}

// Call makes one request and reads the whole answer. A 503 is a drop: its
// error wraps limit.ErrDropped, so that the pool's controller sees it.
func (d *httpDependency) Call(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.url, nil)
	if err != nil {
		return err
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return nil
	case http.StatusServiceUnavailable, http.StatusTooManyRequests:
		return fmt.Errorf("%w: %s", limit.ErrDropped, resp.Status)
	}
	return fmt.Errorf("GET %s: %s", d.url, resp.Status)
}

// sample is what one interval measured.
type sample struct {
	T          time.Duration // since the start, at the end of the interval
	Phase      int
	Limit      int64   // the pool's limit at T
	Capacity   int64   // the server's capacity
	Peak       int64   // most requests the server held at once (served or queued) in the interval
	Throughput float64 // calls per second that succeeded in the interval
	Drops      int64   // 503s and timeouts in the interval
}

// phaseResult is where the limit settled in one phase.
type phaseResult struct {
	Capacity   int64
	Median     int64   // median limit over the last quarter of the phase
	Throughput float64 // calls per second that succeeded over the phase
}

// report is what a run measured.
type report struct {
	Samples []sample
	Phases  []phaseResult
	// Peak is the most requests the server held at once (served or
	// queued): at most the largest capacity plus the queue.
	Peak int64
	// OK, Dropped (503), TimedOut and Failed (any other error) count
	// every call the clients made. A call in flight when the run ends is
	// finished and counted, so that Dropped equals the server's own
	// count of rejections (Server.Dropped) and OK its Served.
	OK, Dropped, TimedOut, Failed int64
	Resizes                       uint64    // limit changes
	Server                        sim.Stats // the server's own counters
	Chart                         string    // the PNG written, if any
}

// counters are the calls' outcomes, updated by the clients.
type counters struct{ ok, dropped, timedOut, failed atomic.Int64 }

func (c *counters) count(err error) {
	switch {
	case err == nil:
		c.ok.Add(1)
	case errors.Is(err, limit.ErrDropped):
		c.dropped.Add(1)
	case errors.Is(err, context.DeadlineExceeded):
		c.timedOut.Add(1)
	default:
		c.failed.Add(1)
	}
}

// run starts the server, drives it through the phases, prints what it
// measured and draws the chart. If ctx ends first, it reports what was
// measured so far and returns ctx.Err() with the report.
func run(ctx context.Context, out io.Writer, cfg config) (*report, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	ctrl, err := cfg.controller()
	if err != nil {
		return nil, err
	}
	svc := sim.New(cfg.capacity[0], cfg.queue, cfg.service)
	var dep dependency = svc
	if !cfg.inProcess {
		url, stop, err := serve(handler(svc))
		if err != nil {
			return nil, err
		}
		defer stop()
		client := &http.Client{Transport: &http.Transport{
			MaxIdleConns:        cfg.clients,
			MaxIdleConnsPerHost: cfg.clients,
		}}
		defer client.CloseIdleConnections()
		dep = &httpDependency{client: client, url: url}
		fmt.Fprintf(out, "server %s: ", url)
	} else {
		fmt.Fprint(out, "server (in process): ")
	}
	queue := fmt.Sprintf("queue %d, 503 beyond", cfg.queue)
	if cfg.queue < 0 {
		queue = "queue unbounded"
	}
	fmt.Fprintf(out, "capacity %s, one per %v, %v per request, %s\n",
		join(cfg.capacity), cfg.phase, cfg.service, queue)
	fmt.Fprintf(out, "%d clients call it through a pool with an adaptive limit (%s), starting at %d\n",
		cfg.clients, cfg.algo, cfg.start)

	p, err := pool.New(cfg.start, pool.WithName("adaptive"), pool.WithAdaptiveLimit(ctrl))
	if err != nil {
		return nil, err
	}
	r, err := drive(ctx, out, cfg, p, svc, dep)
	if cerr := p.Close(); err == nil {
		err = cerr
	}
	r.Resizes, r.Server = p.Stats().Resizes, svc.Stats()
	r.finish(cfg)
	r.print(out, cfg)
	if cfg.chart != "" {
		if cerr := r.chart(cfg).WriteFile(cfg.chart); cerr != nil {
			return r, cerr
		}
		r.Chart = cfg.chart
		fmt.Fprintf(out, "wrote %s\n", cfg.chart)
	}
	return r, err
}

// drive runs the clients through the phases and samples every interval.
func drive(ctx context.Context, out io.Writer, cfg config, p *pool.Pool, svc *sim.Service, dep dependency) (*report, error) {
	r := &report{}
	var c counters
	// A call that started is finished and counted even when the run ends
	// meanwhile: its ctx keeps the job's values but not its
	// cancellation, and only its own timeout bounds it. Counting only the
	// calls that ended before the run did left the server's rejections
	// above the clients' drops by those in flight at the end.
	call := job.Func(func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.timeout)
		defer cancel()
		err := dep.Call(ctx)
		c.count(err)
		return err
	})
	cctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for range cfg.clients {
		wg.Go(func() {
			for cctx.Err() == nil {
				_ = p.Do(cctx, call) // counted by the call; an error here without a call is the end
			}
		})
	}
	fmt.Fprintf(out, "%8s %6s %9s %12s %10s %8s\n", "time", "limit", "capacity", "server peak", "ok/s", "drops")
	start := time.Now()
	var lastOK, lastDrops int64
	last := start
	n := int(cfg.phase / cfg.interval)
	var err error
sampling:
	for i, capacity := range cfg.capacity {
		svc.SetServers(capacity)
		for k := range n {
			if err = sleepUntil(ctx, start.Add(time.Duration(i*n+k+1)*cfg.interval)); err != nil {
				break sampling
			}
			now := time.Now()
			ok, drops := c.ok.Load(), c.dropped.Load()+c.timedOut.Load()
			s := sample{
				T: now.Sub(start), Phase: i, Limit: p.Limit(), Capacity: capacity,
				Peak:       svc.Stats().PeakAdmitted,
				Throughput: float64(ok-lastOK) / now.Sub(last).Seconds(),
				Drops:      drops - lastDrops,
			}
			svc.ResetPeak()
			lastOK, lastDrops, last = ok, drops, now
			r.Samples = append(r.Samples, s)
			r.Peak = max(r.Peak, s.Peak)
			fmt.Fprintf(out, "%7.1fs %6d %9d %12d %10.1f %8d\n",
				s.T.Seconds(), s.Limit, s.Capacity, s.Peak, s.Throughput, s.Drops)
		}
	}
	stop()
	wg.Wait()
	r.OK, r.Dropped, r.TimedOut, r.Failed = c.ok.Load(), c.dropped.Load(), c.timedOut.Load(), c.failed.Load()
	if err != nil {
		fmt.Fprintln(out, "interrupted: what was measured so far")
	}
	return r, err
}

// sleepUntil waits until t, or until ctx ends, when it returns ctx.Err().
func sleepUntil(ctx context.Context, t time.Time) error {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// finish sums up each phase.
func (r *report) finish(cfg config) {
	r.Phases = nil
	for i, capacity := range cfg.capacity {
		var limits []int64
		var tp float64
		for _, s := range r.Samples {
			if s.Phase == i {
				limits = append(limits, s.Limit)
				tp += s.Throughput
			}
		}
		if len(limits) == 0 {
			break
		}
		ph := phaseResult{Capacity: capacity, Throughput: tp / float64(len(limits))}
		ph.Median = median(limits[len(limits)*3/4:])
		r.Phases = append(r.Phases, ph)
	}
}

// median returns the median of vs (the upper one of an even count), or 0
// for none.
func median(vs []int64) int64 {
	if len(vs) == 0 {
		return 0
	}
	vs = slices.Clone(vs)
	slices.Sort(vs)
	return vs[len(vs)/2]
}

func (r *report) print(out io.Writer, cfg config) {
	fmt.Fprintln(out)
	fmt.Fprintf(out, "%5s %9s %28s %12s %12s\n", "phase", "capacity", "limit (last quarter median)", "ok/s", "server max")
	for i, ph := range r.Phases {
		fmt.Fprintf(out, "%5d %9d %20d (%.2fx) %12.1f %12.1f\n", i+1, ph.Capacity, ph.Median,
			float64(ph.Median)/float64(ph.Capacity), ph.Throughput, float64(ph.Capacity)/cfg.service.Seconds())
	}
	if cfg.queue >= 0 {
		fmt.Fprintf(out, "server peak: %d requests held at once (largest capacity %d + queue %d = %d)\n",
			r.Peak, slices.Max(cfg.capacity), cfg.queue, slices.Max(cfg.capacity)+cfg.queue)
	} else {
		fmt.Fprintf(out, "server peak: %d requests held at once (largest capacity %d, queue unbounded)\n",
			r.Peak, slices.Max(cfg.capacity))
	}
	fmt.Fprintf(out, "server: %d served, %d rejected\n", r.Server.Served, r.Server.Dropped)
	fmt.Fprintf(out, "calls: %d ok, %d dropped (503), %d timed out, %d other errors; %d limit changes\n",
		r.OK, r.Dropped, r.TimedOut, r.Failed, r.Resizes)
}

// chart draws the limit and the capacity against time over the
// throughput against time.
func (r *report) chart(cfg config) chart.Chart {
	t := []float64{0}
	lim := []float64{float64(cfg.start)}
	peak := []float64{0}
	tp := []float64{0}
	// Calls finish in waves a service time apart, so that the rate over
	// a short interval swings: average it over a second or so.
	window := max(1, int(time.Second/cfg.interval))
	for i, s := range r.Samples {
		t = append(t, s.T.Seconds())
		lim = append(lim, float64(s.Limit))
		peak = append(peak, float64(s.Peak))
		var sum float64
		from := max(0, i+1-window)
		for _, w := range r.Samples[from : i+1] {
			sum += w.Throughput
		}
		tp = append(tp, sum/float64(i+1-from))
	}
	// The schedule as steps, up to the last sample, with a tick at the
	// start of each phase.
	var ct, cv, mv, ticks []float64
	end := float64(len(r.Samples)) * cfg.interval.Seconds() // the last sample's time, on schedule
	for i, c := range cfg.capacity {
		from, to := float64(i)*cfg.phase.Seconds(), min(float64(i+1)*cfg.phase.Seconds(), end)
		if from > end || (from == end && i > 0) {
			break
		}
		ct, ticks = append(ct, from, to), append(ticks, from)
		cv = append(cv, float64(c), float64(c))
		mv = append(mv, float64(c)/cfg.service.Seconds(), float64(c)/cfg.service.Seconds())
	}
	return chart.Chart{
		Title:  fmt.Sprintf("adaptive limit (%s) against a server whose capacity changes", cfg.algo),
		XLabel: "time (s)",
		XTicks: append(ticks, end),
		Panels: []chart.Panel{
			{
				YLabel: "requests at once",
				Series: []chart.Series{ // the limit last, on top
					{Name: "server capacity", X: ct, Y: cv, Dashed: true},
					{Name: "server peak (served + queued)", X: t, Y: peak},
					{Name: "pool limit", X: t, Y: lim},
				},
			},
			{
				YLabel: "calls/s",
				Series: []chart.Series{
					{Name: "server max (capacity/service)", X: ct, Y: mv, Dashed: true},
					{Name: fmt.Sprintf("succeeded (mean over %v)", time.Duration(window)*cfg.interval), X: t, Y: tp},
				},
			},
		},
	}
}

func join(vs []int64) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = strconv.FormatInt(v, 10)
	}
	return strings.Join(s, ", ")
}
