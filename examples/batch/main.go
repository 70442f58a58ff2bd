// Command batch is a batch script on a weir pool: it counts the lines,
// words and bytes of every file in a directory, many files at once, with
// each file weighing in proportion to its size so that the work in flight
// stays within a budget (-budget units of -unit bytes each).
//
// Without -dir it first generates -files input files of varied size in a
// temporary directory (removed at the end). It shows a progress bar when
// stdout is a terminal, and plain progress lines otherwise. Failures are
// collected with the name of their input; -fail-every N and -fail PATTERN
// inject some. On Ctrl-C (or SIGTERM) it stops admitting files, gives the
// running ones -grace to finish, cancels those still running, and reports
// exactly which inputs were done, failed, canceled (started, or admitted,
// but stopped) and not started: every input is in exactly one of those.
//
//	go run ./examples/batch                             # 2000 generated files
//	go run ./examples/batch -files 300 -fail-every 50   # some failures
//	go run ./examples/batch -cost 200ms                 # slow: try Ctrl-C
//	go run ./examples/batch -dir ~/src -fail '*.md'
//
// The exit status is 0 when every input was done, 1 when some failed, and
// 130 when interrupted.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode"

	"github.com/schollz/progressbar/v3"
	"github.com/weir-go/weir/job"
	"github.com/weir-go/weir/pool"
	"golang.org/x/term"
)

// config is the run's settings.
type config struct {
	dir       string        // inputs; "" means generate them in a temporary directory
	files     int           // files to generate
	seed      uint64        // seed for generating
	budget    int64         // the pool's limit, in weight units
	unit      int64         // bytes per weight unit
	cost      time.Duration // simulated extra work per weight unit
	grace     time.Duration // after an interrupt, how long running files may still take
	failEvery int           // inject a failure into every Nth input (0: none)
	failMatch string        // inject a failure into inputs whose name or base name matches (filepath.Match)
	tty       bool          // show a progress bar instead of progress lines

	// afterFile, if set, is called after each file's job has run, from
	// the job's goroutine (tests use it to interrupt the run).
	afterFile func(name string)
}

func main() {
	var cfg config
	flag.StringVar(&cfg.dir, "dir", "", "directory of input files (default: generate them)")
	flag.IntVar(&cfg.files, "files", 2000, "files to generate when -dir is not given")
	flag.Uint64Var(&cfg.seed, "seed", 1, "seed for the generated files")
	flag.Int64Var(&cfg.budget, "budget", 64, "weight budget: units of work in flight at once")
	flag.Int64Var(&cfg.unit, "unit", 4096, "bytes per weight unit: a file weighs ceil(size/unit), at least 1, at most the budget")
	flag.DurationVar(&cfg.cost, "cost", 20*time.Millisecond, "simulated work per weight unit")
	flag.DurationVar(&cfg.grace, "grace", 0, "after Ctrl-C, how long running files may still take before they are canceled")
	flag.IntVar(&cfg.failEvery, "fail-every", 0, "inject a failure into every Nth input (0: none)")
	flag.StringVar(&cfg.failMatch, "fail", "", "inject a failure into inputs whose name, or base name, matches this pattern (filepath.Match)")
	flag.Parse()
	cfg.tty = term.IsTerminal(int(os.Stdout.Fd()))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	r, err := run(ctx, os.Stdout, cfg)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "batch:", err)
		os.Exit(1)
	}
	switch {
	case r.Interrupted:
		os.Exit(130)
	case len(r.Failed) > 0:
		os.Exit(1)
	}
}

// input is one file to process.
type input struct {
	name   string // relative to the directory, with forward slashes
	path   string
	size   int64
	weight int64
}

// status is where an input ended up.
type status int

const (
	notStarted status = iota // never admitted
	done                     // processed
	failed                   // its job returned an error of its own
	canceled                 // admitted, but stopped by the interrupt
)

// counts is what processing found in one file, or in several.
type counts struct {
	Lines, Words, Bytes int64
}

func (c *counts) add(o counts) {
	c.Lines += o.Lines
	c.Words += o.Words
	c.Bytes += o.Bytes
}

// failure is an input that failed, and why.
type failure struct {
	Name string
	Err  error
}

// report is what run found: every input is in exactly one of Done,
// Failed, Canceled and NotStarted.
type report struct {
	Total       int
	Inputs      []string // every input, in order
	Done        []string
	Failed      []failure
	Canceled    []string
	NotStarted  []string
	Counts      map[string]counts // per done input
	Sum         counts            // over the done inputs
	PeakWeight  int64             // most weight in flight at once, counted by the jobs
	Elapsed     time.Duration     // from the first Submit until every input was sorted
	Interrupted bool
}

// errInjected is the error of an injected failure.
var errInjected = errors.New("injected failure")

// run processes the inputs and prints progress and the report to out.
func run(ctx context.Context, out io.Writer, cfg config) (*report, error) {
	if cfg.budget < 1 || cfg.unit < 1 || cfg.files < 0 || cfg.failEvery < 0 || cfg.cost < 0 || cfg.grace < 0 {
		return nil, errors.New("budget and unit must be at least 1; files, fail-every, cost and grace not negative")
	}
	if _, err := filepath.Match(cfg.failMatch, ""); err != nil {
		return nil, fmt.Errorf("-fail %q: %w", cfg.failMatch, err)
	}
	dir, origin := cfg.dir, ""
	if dir == "" {
		tmp, err := os.MkdirTemp("", "weir-batch-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		if err := generate(tmp, cfg.files, cfg.seed); err != nil {
			return nil, err
		}
		dir, origin = tmp, " (generated, removed at exit)"
	}
	inputs, err := list(dir, cfg)
	if err != nil {
		return nil, err
	}
	var total int64
	for _, in := range inputs {
		total += in.size
	}
	fmt.Fprintf(out, "inputs: %d files, %s, in %s%s\n", len(inputs), bytesString(total), dir, origin)
	fmt.Fprintf(out, "weight: 1 per %s or part of it (at most %d), budget %d\n", bytesString(cfg.unit), cfg.budget, cfg.budget)

	r, err := process(ctx, out, cfg, inputs)
	if err != nil {
		return nil, err
	}
	r.print(out, cfg)
	return r, nil
}

// process runs one job per input and sorts every input into the report.
func process(ctx context.Context, out io.Writer, cfg config, inputs []input) (*report, error) {
	p, err := pool.New(cfg.budget, pool.WithName("batch"))
	if err != nil {
		return nil, err
	}
	defer p.Close()

	// On an interrupt, shut the pool down: a Submit waiting for
	// admission fails with pool.ErrClosed, so no more inputs are
	// admitted; running jobs get cfg.grace to finish, and then their ctx
	// is canceled. Jobs are submitted with a ctx that the interrupt does
	// not cancel, so that the grace period means something.
	shutdown := make(chan struct{})
	stopWatch := context.AfterFunc(ctx, func() {
		defer close(shutdown)
		gctx, cancel := context.WithTimeout(context.Background(), cfg.grace)
		defer cancel()
		_ = p.Shutdown(gctx) // ctx.Err() if it had to cancel: reported per input below
	})
	jobCtx := context.WithoutCancel(ctx)
	start := time.Now()

	var (
		inFlight, peak atomic.Int64 // weight in flight, counted by the jobs themselves
		prog           = newProgress(out, len(inputs), cfg.tty)
		results        = make([]counts, len(inputs)) // slot i written by job i only
		handles        = make([]*job.Handle, len(inputs))
		submitErrs     = make([]error, len(inputs))
	)
	for i, in := range inputs {
		if ctx.Err() != nil {
			break
		}
		fj := &fileJob{in: in, fail: cfg.injects(i, in.name), cost: cfg.cost, out: &results[i]}
		j := job.Func(func(ctx context.Context) error {
			now := inFlight.Add(in.weight)
			for p := peak.Load(); now > p && !peak.CompareAndSwap(p, now); p = peak.Load() {
			}
			defer func() {
				inFlight.Add(-in.weight)
				prog.tick()
				if cfg.afterFile != nil {
					cfg.afterFile(in.name)
				}
			}()
			return fj.Run(ctx)
		})
		h, err := p.Submit(jobCtx, j, job.WithName(in.name), job.WithWeight(in.weight))
		switch {
		case errors.Is(err, pool.ErrClosed):
			// Interrupted while waiting for admission: this input
			// and the rest were not started.
		case err != nil:
			submitErrs[i] = err // cannot happen with valid weights; reported, not lost
			continue
		default:
			handles[i] = h
			continue
		}
		break
	}

	r := &report{Total: len(inputs), Counts: map[string]counts{}}
	for i, in := range inputs {
		r.Inputs = append(r.Inputs, in.name)
		switch st, err := outcome(handles[i], submitErrs[i]); st {
		case done:
			r.Done = append(r.Done, in.name)
			r.Counts[in.name] = results[i]
			r.Sum.add(results[i])
		case failed:
			r.Failed = append(r.Failed, failure{in.name, err})
		case canceled:
			r.Canceled = append(r.Canceled, in.name)
		case notStarted:
			r.NotStarted = append(r.NotStarted, in.name)
		}
	}
	if !stopWatch() {
		<-shutdown // the interrupt's shutdown ran: wait for it to end
		r.Interrupted = true
	}
	r.Elapsed = time.Since(start)
	prog.finish(len(r.Done)+len(r.Failed)+len(r.Canceled) == r.Total)
	if err := p.Close(); err != nil {
		return nil, err
	}
	r.PeakWeight = peak.Load()
	if n := len(r.Done) + len(r.Failed) + len(r.Canceled) + len(r.NotStarted); n != r.Total {
		return nil, fmt.Errorf("accounting: %d inputs sorted, %d total", n, r.Total) // never: every input lands in one list
	}
	return r, nil
}

// outcome sorts one input by its handle (nil if never admitted) and the
// error of its Submit.
func outcome(h *job.Handle, submitErr error) (status, error) {
	if submitErr != nil {
		return failed, submitErr
	}
	if h == nil {
		return notStarted, nil
	}
	err := h.Wait()
	switch {
	case err == nil:
		return done, nil
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, pool.ErrClosed): // admitted, but the shutdown came before it ran
		return canceled, err
	default:
		return failed, err
	}
}

// injects reports whether input i, named name, gets an injected failure.
func (cfg config) injects(i int, name string) bool {
	if cfg.failEvery > 0 && (i+1)%cfg.failEvery == 0 {
		return true
	}
	if cfg.failMatch != "" {
		// The pattern was checked in run.
		ok, _ := filepath.Match(cfg.failMatch, name)
		okBase, _ := filepath.Match(cfg.failMatch, path.Base(name))
		return ok || okBase
	}
	return false
}

// fileJob counts the lines, words and bytes of one file.
type fileJob struct {
	in   input
	fail bool
	cost time.Duration
	out  *counts
}

// Run reads the file in chunks, stopping when ctx ends, then spends the
// simulated cost of its weight.
func (j *fileJob) Run(ctx context.Context) error {
	if j.fail {
		return errInjected
	}
	f, err := os.Open(j.in.path)
	if err != nil {
		return err
	}
	defer f.Close()
	var (
		c      counts
		inWord bool
		buf    = make([]byte, 32<<10)
		rd     = bufio.NewReaderSize(f, len(buf))
	)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := rd.Read(buf)
		c.Bytes += int64(n)
		for _, b := range buf[:n] {
			if b == '\n' {
				c.Lines++
			}
			space := b < 0x80 && unicode.IsSpace(rune(b))
			if !space && !inWord {
				c.Words++
			}
			inWord = !space
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	if j.cost > 0 {
		t := time.NewTimer(time.Duration(j.in.weight) * j.cost)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	*j.out = c
	return nil
}

// list returns the regular files under dir, sorted by name, with their
// weights. It skips hidden directories (.git and the like) below dir.
func list(dir string, cfg config) ([]input, error) {
	var inputs []input
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != dir && strings.HasPrefix(d.Name(), ".") {
			return fs.SkipDir // hidden: .git, .cache and the like
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		size := info.Size()
		w := min(max((size+cfg.unit-1)/cfg.unit, 1), cfg.budget)
		inputs = append(inputs, input{name: filepath.ToSlash(rel), path: path, size: size, weight: w})
		return nil
	})
	return inputs, err // WalkDir visits in lexical order
}

var vocabulary = strings.Fields(`the a pool job weight limit budget wait run
go batch file line word semaphore queue fifo admit cancel shutdown handle
context error done failed started progress report input output byte`)

// generate writes n files of varied size to dir: most small, some of a
// few KiB, a few large.
func generate(dir string, n int, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	var b bytes.Buffer
	for i := range n {
		var size int
		switch x := rng.IntN(100); {
		case x < 80:
			size = rng.IntN(2 << 10)
		case x < 95:
			size = 2<<10 + rng.IntN(30<<10)
		default:
			size = 32<<10 + rng.IntN(224<<10)
		}
		b.Reset()
		for b.Len() < size {
			for w := range 1 + rng.IntN(12) {
				if w > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(vocabulary[rng.IntN(len(vocabulary))])
			}
			b.WriteByte('\n')
		}
		b.Truncate(size)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("file-%05d.txt", i)), b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// progress shows how many inputs have been through a job: a progress bar
// on a terminal, otherwise a line at every tenth of the total.
type progress struct {
	mu    sync.Mutex
	out   io.Writer
	bar   *progressbar.ProgressBar // nil: plain lines
	total int
	n     int
	shown int // tenths already printed
}

func newProgress(out io.Writer, total int, tty bool) *progress {
	pr := &progress{out: out, total: total}
	if tty && total > 0 {
		pr.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(out),
			progressbar.OptionSetDescription("processing"),
			progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetPredictTime(false),
		)
	}
	return pr
}

// tick counts one input through its job.
func (pr *progress) tick() {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	pr.n++
	if pr.bar != nil {
		_ = pr.bar.Add(1)
		return
	}
	if tenth := pr.n * 10 / pr.total; tenth > pr.shown {
		pr.shown = tenth
		fmt.Fprintf(pr.out, "progress: %d%% (%d/%d files)\n", tenth*10, pr.n, pr.total)
	}
}

// finish ends the bar: filled if every input went through a job, else
// left where it stopped.
func (pr *progress) finish(complete bool) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if pr.bar == nil {
		return
	}
	if complete {
		_ = pr.bar.Finish()
	} else {
		_ = pr.bar.Exit()
	}
	fmt.Fprintln(pr.out)
}

func (r *report) print(out io.Writer, cfg config) {
	if r.Interrupted {
		if cfg.grace > 0 {
			fmt.Fprintf(out, "interrupted: stopped admitting; running files had %v to finish before being canceled\n", cfg.grace)
		} else {
			fmt.Fprintln(out, "interrupted: stopped admitting and canceled the running files")
		}
	}
	fmt.Fprintf(out, "done: %d, failed: %d, canceled: %d, not started: %d (total %d)\n",
		len(r.Done), len(r.Failed), len(r.Canceled), len(r.NotStarted), r.Total)
	fmt.Fprintf(out, "peak weight in flight: %d (budget %d)\n", r.PeakWeight, cfg.budget)
	fmt.Fprintf(out, "done files: %d lines, %d words, %s\n", r.Sum.Lines, r.Sum.Words, bytesString(r.Sum.Bytes))
	if secs := r.Elapsed.Seconds(); secs > 0 {
		fmt.Fprintf(out, "elapsed: %v, done at %.1f files/s, %s/s\n", r.Elapsed.Round(time.Millisecond),
			float64(len(r.Done))/secs, bytesString(int64(float64(r.Sum.Bytes)/secs)))
	}
	if len(r.Failed) > 0 {
		fmt.Fprintf(out, "failed (%d):\n", len(r.Failed))
		for _, f := range r.Failed {
			fmt.Fprintf(out, "  %s: %v\n", f.Name, f.Err)
		}
	}
	if len(r.Canceled) > 0 {
		fmt.Fprintf(out, "canceled (%d):\n", len(r.Canceled))
		for _, name := range r.Canceled {
			fmt.Fprintf(out, "  %s\n", name)
		}
	}
	if len(r.NotStarted) > 0 {
		// Inputs are admitted in order, so those not started are the
		// last ones: a range or a few.
		fmt.Fprintf(out, "not started (%d):\n", len(r.NotStarted))
		for _, run := range runs(r.NotStarted, r.Inputs) {
			fmt.Fprintf(out, "  %s\n", run)
		}
	}
}

// runs compresses names, a subset of all in the same order, into lines of
// "first .. last (n files)" for stretches that are consecutive in all.
func runs(names, all []string) []string {
	index := make(map[string]int, len(all))
	for i, n := range all {
		index[n] = i
	}
	var lines []string
	for i := 0; i < len(names); {
		j := i + 1
		for j < len(names) && index[names[j]] == index[names[j-1]]+1 {
			j++
		}
		if j-i == 1 {
			lines = append(lines, names[i])
		} else {
			lines = append(lines, fmt.Sprintf("%s .. %s (%d files)", names[i], names[j-1], j-i))
		}
		i = j
	}
	return lines
}

// bytesString prints n bytes in B, KiB or MiB.
func bytesString(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
