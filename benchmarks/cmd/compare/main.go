// Command compare runs the benchmarks module's scenarios across every peer
// and writes RESULTS.md: per scenario a table of the peers (time, bytes
// and allocations per op, the scenario's own metrics, weir's ratio to
// each), weir's ratio to the best peer, where weir is slower and why, the
// machine, and a chart of weir's time over each peer's.
//
// Run it from the benchmarks directory:
//
//	go run ./cmd/compare                                  # count 6, every scenario
//	go run ./cmd/compare -scenarios=SubmitWait,Burst -count=10
//	go run ./cmd/compare -in=results/bench.txt            # summarise an earlier run again
//
// It runs `go test -run=^$ -bench=<scenarios> -benchmem -count=N
// -timeout=0 .`, saves the output as results/bench.txt, summarises it as
// benchstat does (golang.org/x/perf/benchmath) and draws
// results/ratios.png. Ctrl-C stops the run and summarises what finished.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/weir-go/weir/benchmarks"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// peerModules are the peers' modules, whose versions RESULTS.md names.
var peerModules = []string{
	"github.com/panjf2000/ants/v2", "github.com/alitto/pond/v2", "github.com/sourcegraph/conc",
	"golang.org/x/sync", "github.com/gammazero/workerpool", "go.uber.org/zap",
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		count     = fs.Int("count", 6, "runs of each benchmark (benchstat wants at least 6 for a 95% interval)")
		scenarios = fs.String("scenarios", "", "comma-separated scenarios to run (default all): "+strings.Join(scenarioOrder, ","))
		benchtime = fs.String("benchtime", "", "go test -benchtime (default go test's 1s)")
		short     = fs.Bool("short", false, "pass -short: the I/O-bound and burst scenarios shrink")
		in        = fs.String("in", "", "summarise this go test output instead of running the benchmarks")
		out       = fs.String("out", "RESULTS.md", "the report to write")
		dir       = fs.String("dir", "results", "directory for the raw output and the chart, next to the report")
		alpha     = fs.Float64("alpha", 0.05, "significance level of the comparisons")
	)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "compare: "+format+"\n", a...)
		return code
	}
	if fs.NArg() > 0 {
		return fail(2, "unexpected arguments %q", fs.Args())
	}
	if *count < 1 {
		return fail(2, "-count must be at least 1")
	}
	pattern, err := benchPattern(*scenarios)
	if err != nil {
		return fail(2, "%v", err)
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return fail(1, "%v", err)
	}

	mt := meta{
		Date:       time.Now(),
		Cores:      runtime.NumCPU(),
		Procs:      runtime.GOMAXPROCS(0),
		OSArch:     runtime.GOOS + "/" + runtime.GOARCH,
		LoadBefore: loadAverage(),
		Go:         goVersion(ctx),
		Versions:   moduleVersions(ctx),
		Command:    "go run ./cmd/compare " + strings.Join(args, " "),
	}
	mt.Command = strings.TrimSpace(mt.Command)
	raw := filepath.Join(*dir, "bench.txt")
	info := filepath.Join(*dir, "run.json")
	if *in != "" {
		if err := copyFile(*in, raw); err != nil {
			return fail(1, "%v", err)
		}
		// The run that made the file, if compare made it.
		if ri, err := readRunInfo(filepath.Join(filepath.Dir(*in), "run.json")); err == nil {
			ri.apply(&mt)
			if err := copyFile(filepath.Join(filepath.Dir(*in), "run.json"), info); err != nil {
				return fail(1, "%v", err)
			}
		} else {
			mt.LoadBefore = "unknown"
		}
	} else {
		if _, err := os.Stat("go.mod"); err != nil {
			return fail(2, "run me from the benchmarks directory (go run ./cmd/compare): %v", err)
		}
		testArgs := []string{"test", "-run=^$", "-bench=" + pattern, "-benchmem", "-count=" + strconv.Itoa(*count), "-timeout=0"}
		if *short {
			testArgs = append(testArgs, "-short")
		}
		if *benchtime != "" {
			testArgs = append(testArgs, "-benchtime="+*benchtime)
		}
		testArgs = append(testArgs, ".")
		fmt.Fprintf(stderr, "compare: go %s > %s\n", strings.Join(testArgs, " "), raw)
		start := time.Now()
		err := runTests(ctx, testArgs, raw, stderr)
		mt.Elapsed = time.Since(start)
		switch {
		case ctx.Err() != nil:
			mt.Notes = append(mt.Notes, "the run was interrupted: only the benchmarks that finished are summarised.")
		case err != nil:
			mt.Notes = append(mt.Notes, fmt.Sprintf("`go test` failed (%v); the results it printed are summarised, see %s.", err, raw))
			fmt.Fprintf(stderr, "compare: go test: %v\n", err)
		}
		mt.LoadAfter = loadAverage()
		if err := writeRunInfo(info, mt); err != nil {
			return fail(1, "%v", err)
		}
	}
	if mt.LoadAfter == "" {
		mt.LoadAfter = "unknown"
	}

	f, err := os.Open(raw)
	if err != nil {
		return fail(1, "%v", err)
	}
	res, err := parse(f, raw)
	f.Close()
	if err != nil {
		return fail(1, "%v", err)
	}
	mt.CPU = res.config["cpu"]
	if mt.CPU == "" {
		mt.CPU = cpuModel()
	}
	unbounded := map[string]bool{}
	for _, p := range benchmarks.Peers {
		unbounded[p.Name] = p.Unbounded
	}
	m := newModel(res, *alpha, unbounded)

	base := filepath.Dir(*out)
	rel := func(path string) string {
		if r, err := filepath.Rel(base, path); err == nil {
			return filepath.ToSlash(r)
		}
		return filepath.ToSlash(path)
	}
	mt.Raw = rel(raw)
	chart := filepath.Join(*dir, "ratios.png")
	var img bytes.Buffer
	n, err := m.writeChart(&img)
	if err != nil {
		return fail(1, "chart: %v", err)
	}
	if n > 0 {
		if err := os.WriteFile(chart, img.Bytes(), 0o644); err != nil {
			return fail(1, "%v", err)
		}
		mt.Chart = rel(chart)
	}
	var md bytes.Buffer
	if err := m.write(&md, mt); err != nil {
		return fail(1, "%v", err)
	}
	if err := os.WriteFile(*out, md.Bytes(), 0o644); err != nil {
		return fail(1, "%v", err)
	}
	fmt.Fprintf(stdout, "wrote %s", *out)
	if mt.Chart != "" {
		fmt.Fprintf(stdout, " and %s", chart)
	}
	fmt.Fprintln(stdout)
	if ctx.Err() != nil {
		return 130
	}
	if len(mt.Notes) > 0 {
		return 1
	}
	return 0
}

// benchPattern turns a list of scenarios into a -bench pattern.
func benchPattern(list string) (string, error) {
	if strings.TrimSpace(list) == "" {
		return ".", nil
	}
	var names []string
	for s := range strings.SplitSeq(list, ",") {
		s = strings.TrimPrefix(strings.TrimSpace(s), "Benchmark")
		if s == "" {
			continue
		}
		found := ""
		for _, known := range scenarioOrder {
			if strings.EqualFold(s, known) {
				found = known
			}
		}
		if found == "" {
			return "", fmt.Errorf("unknown scenario %q; the scenarios are %s", s, strings.Join(scenarioOrder, ","))
		}
		names = append(names, regexp.QuoteMeta(found))
	}
	return "^Benchmark(" + strings.Join(names, "|") + ")$", nil
}

// runTests runs go with args, writing its output to path and echoing the
// result lines to progress.
func runTests(ctx context.Context, args []string, path string, progress io.Writer) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		pw.Close()
		done <- err
	}()
	sc := bufio.NewScanner(pr)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(f, line)
		fmt.Fprintln(progress, line)
	}
	err = <-done
	if err == nil {
		err = sc.Err()
	}
	return err
}

func goVersion(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "go", "version").Output()
	if err != nil {
		return runtime.Version()
	}
	return strings.TrimSpace(string(out))
}

// moduleVersions returns "path version" of each peer module, as this
// module resolves them.
func moduleVersions(ctx context.Context) []string {
	out, err := exec.CommandContext(ctx, "go", append([]string{"list", "-m", "-f", "{{.Path}} {{.Version}}"}, peerModules...)...).Output()
	if err != nil {
		return nil
	}
	var vs []string
	for line := range strings.Lines(string(out)) {
		if line = strings.TrimSpace(line); line != "" {
			vs = append(vs, line)
		}
	}
	return vs
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				return strings.TrimSpace(v)
			}
		}
	}
	return "unknown"
}

// copyFile copies src to dst, unless they are the same file.
func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if fi1, err := os.Stat(src); err == nil {
		if fi2, err := os.Stat(dst); err == nil && os.SameFile(fi1, fi2) {
			return nil
		}
	}
	return os.WriteFile(dst, b, 0o644)
}

// runInfo is what compare records about a run in run.json, next to
// bench.txt, so that summarising the file again (-in) describes the run
// and not the summary.
type runInfo struct {
	Command    string    `json:"command"`
	Date       time.Time `json:"date"`
	ElapsedS   float64   `json:"elapsed_s"`
	LoadBefore string    `json:"load_before"`
	LoadAfter  string    `json:"load_after"`
	Go         string    `json:"go"`
	Versions   []string  `json:"versions"`
	Notes      []string  `json:"notes,omitempty"`
}

func writeRunInfo(path string, mt meta) error {
	b, err := json.MarshalIndent(runInfo{
		Command: mt.Command, Date: mt.Date.UTC(), ElapsedS: mt.Elapsed.Seconds(),
		LoadBefore: mt.LoadBefore, LoadAfter: mt.LoadAfter, Go: mt.Go, Versions: mt.Versions, Notes: mt.Notes,
	}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func readRunInfo(path string) (runInfo, error) {
	var ri runInfo
	b, err := os.ReadFile(path)
	if err != nil {
		return ri, err
	}
	return ri, json.Unmarshal(b, &ri)
}

func (ri runInfo) apply(mt *meta) {
	mt.Command = ri.Command
	mt.Date = ri.Date
	mt.Elapsed = time.Duration(ri.ElapsedS * float64(time.Second))
	mt.LoadBefore, mt.LoadAfter = ri.LoadBefore, ri.LoadAfter
	mt.Go, mt.Versions = ri.Go, ri.Versions
	mt.Notes = append(mt.Notes, ri.Notes...)
}
