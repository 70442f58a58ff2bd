// Command sweep finds the best concurrency limit for a workload: it runs
// the workload on a weir pool at each limit of a list and reports
// throughput, latency percentiles, errors and the concurrency reached per
// limit, marking the best limit (the highest throughput whose p99 stays
// within -slo). Each limit runs -repeat times (3 by default) and the
// choice is made on the medians; a warning says when the single runs
// would have chosen differently, that is, when the choice is within the
// noise.
//
//	go run ./cmd/sweep -sim -sim-servers=16 -sim-service=20ms -slo=50ms
//	go run ./cmd/sweep -url=http://127.0.0.1:8080/ -limits=1,2,4,8,16,32 -duration=5s -slo=100ms
//
// It prints a line per limit as soon as the limit is done, then a table,
// and writes <out>/<name>.png (throughput and latency against limit), .csv,
// .json and .txt; -out defaults to sweep-out, which git ignores, so that a
// sweep never overwrites the tracked example in results/. When stderr and
// stdout are the same terminal, a progress bar on stderr replaces the
// per-limit lines. Ctrl-C stops the sweep and prints what was measured so
// far.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/weir-go/weir/benchmarks/sweep"
	"golang.org/x/term"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	progress := term.IsTerminal(int(os.Stderr.Fd()))
	stream := !progress || !term.IsTerminal(int(os.Stdout.Fd()))
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, progress, stream)
	stop()
	os.Exit(code)
}

// run is the command; it returns the exit code: 0, 1 for a failure, 2 for
// bad flags, 130 when interrupted. progress draws a bar on stderr; stream
// prints a line per limit on stdout as each is done.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, progress, stream bool) int {
	fs := flag.NewFlagSet("sweep", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		limits    = fs.String("limits", "1,2,4,8,16,32,64,128,256", "comma-separated concurrency limits to try, in order")
		duration  = fs.Duration("duration", 2*time.Second, "how long to run each limit (ignored with -count)")
		count     = fs.Int("count", 0, "requests per limit, instead of -duration")
		slo       = fs.Duration("slo", 0, "p99 latency the best limit must stay within (0: none)")
		tolerance = fs.Float64("tolerance", 0.02, "throughputs within this fraction of the highest are equal; the smallest limit wins")
		repeat    = fs.Int("repeat", 3, "runs per limit; the best limit is chosen on their medians")
		url       = fs.String("url", "", "workload: GET this URL (a status >= 400 is an error)")
		timeout   = fs.Duration("timeout", 10*time.Second, "HTTP request timeout")
		sim       = fs.Bool("sim", false, "workload: the built-in simulated service")
		servers   = fs.Int("sim-servers", 16, "simulated service: requests served at once (the knee)")
		service   = fs.Duration("sim-service", 20*time.Millisecond, "simulated service: time per request")
		jitter    = fs.Float64("sim-jitter", 0.1, "simulated service: service time spread, a fraction in [0, 1)")
		queue     = fs.Int("sim-queue", 0, "simulated service: waiting requests beyond which it rejects (0: no bound)")
		reject    = fs.Duration("sim-reject", time.Millisecond, "simulated service: time to reject a request (0: a hundredth of -sim-service)")
		speed     = fs.Float64("sim-speed", 1, "run the simulated service and the sweep on a clock this many times faster than real time")
		out       = fs.String("out", "sweep-out", "directory for the chart, CSV, JSON and table (results/ holds the tracked example)")
		name      = fs.String("name", "", "base name of the output files (default sweep-sim or sweep-http)")
	)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "sweep: "+format+"\n", a...)
		return 2
	}
	if fs.NArg() > 0 {
		return fail("unexpected arguments %q", fs.Args())
	}
	ls, err := parseLimits(*limits)
	if err != nil {
		return fail("%v", err)
	}
	if (*url == "") == !*sim {
		return fail("give exactly one workload: -url=URL or -sim")
	}
	if *speed <= 0 {
		return fail("-sim-speed must be positive")
	}
	if *repeat < 1 {
		return fail("-repeat must be at least 1")
	}

	cfg := sweep.Config{Limits: ls, Duration: *duration, Count: *count, SLO: *slo, Tolerance: *tolerance, Repeat: *repeat}
	var w sweep.Workload
	if *sim {
		s, err := sweep.NewSim(sweep.SimConfig{
			Servers: *servers, Service: *service, Jitter: *jitter, Seed: 1,
			MaxQueue: *queue, Reject: *reject, Speed: *speed,
		})
		if err != nil {
			return fail("%v", err)
		}
		w, cfg.Clock = s, s.Clock()
		if *name == "" {
			*name = "sweep-sim"
		}
	} else {
		h := sweep.NewHTTP(*url, int(ls[len(ls)-1]), *timeout)
		defer h.Close()
		w = h
		if *name == "" {
			*name = "sweep-http"
		}
	}

	bar := newBar(len(ls), stderr, progress)
	cfg.OnStart = func(i int, limit int64) {
		bar.Describe(fmt.Sprintf("limit=%-5d", limit))
	}
	cfg.OnResult = func(_ int, r sweep.Result) {
		_ = bar.Add(1)
		if stream {
			fmt.Fprintln(stdout, r)
		}
	}

	rep, err := sweep.Run(ctx, w, cfg)
	_ = bar.Finish()
	if progress {
		fmt.Fprintln(stderr) // end the bar's line
	}
	interrupted := err != nil && ctx.Err() != nil
	if err != nil && !interrupted {
		fmt.Fprintf(stderr, "sweep: %v\n", err)
		return 1
	}
	if interrupted {
		fmt.Fprintln(stdout, "interrupted: what was measured so far")
	}
	if err := rep.WriteTable(stdout); err != nil {
		fmt.Fprintf(stderr, "sweep: %v\n", err)
		return 1
	}
	if len(rep.Results) > 0 {
		files, err := write(rep, *out, *name)
		if err != nil {
			fmt.Fprintf(stderr, "sweep: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "wrote %s\n", strings.Join(files, ", "))
	}
	if interrupted {
		return 130
	}
	return 0
}

func parseLimits(s string) ([]int64, error) {
	var ls []int64
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bad limit %q in -limits: want integers of at least 1", f)
		}
		ls = append(ls, n)
	}
	if len(ls) == 0 {
		return nil, errors.New("-limits is empty")
	}
	return ls, nil
}

// newBar returns a progress bar over the limits, drawn on w only when
// visible (w is a terminal).
func newBar(steps int, w io.Writer, visible bool) *progressbar.ProgressBar {
	return progressbar.NewOptions(steps,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetVisibility(visible),
		progressbar.OptionSetDescription("sweep"),
		progressbar.OptionShowCount(),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
	)
}

// write saves the chart, CSV and JSON of rep as dir/name.{png,csv,json}
// and returns their paths.
func write(rep *sweep.Report, dir, name string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var files []string
	for _, f := range []struct {
		ext   string
		write func(io.Writer) error
	}{
		{".png", rep.Chart().WritePNG},
		{".csv", rep.WriteCSV},
		{".json", rep.WriteJSON},
		{".txt", rep.WriteTable},
	} {
		path := filepath.Join(dir, name+f.ext)
		if err := writeFile(path, f.write); err != nil {
			return files, err
		}
		files = append(files, path)
	}
	return files, nil
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Close()
}
