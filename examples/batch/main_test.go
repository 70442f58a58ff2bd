package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/weir-go/weir/job"
	"github.com/weir-go/weir/pool"
)

// fileName is the name generate gives input i.
func fileName(i int) string { return fmt.Sprintf("file-%05d.txt", i) }

func names(from, to int) []string {
	var ns []string
	for i := from; i < to; i++ {
		ns = append(ns, fileName(i))
	}
	return ns
}

// writeSmall writes n files of size bytes each (weight 1 with unit >= size).
func writeSmall(t *testing.T, n, size int) string {
	dir := t.TempDir()
	line := []byte("one two three\n")
	for i := range n {
		data := bytes.Repeat(line, size/len(line)+1)[:size]
		require.NoError(t, os.WriteFile(filepath.Join(dir, fileName(i)), data, 0o644))
	}
	return dir
}

var (
	summaryRe = regexp.MustCompile(`(?m)^done: (\d+), failed: (\d+), canceled: (\d+), not started: (\d+) \(total (\d+)\)$`)
	peakRe    = regexp.MustCompile(`(?m)^peak weight in flight: (\d+) \(budget (\d+)\)$`)
	sumsRe    = regexp.MustCompile(`(?m)^done files: (\d+) lines, (\d+) words, (.+)$`)
	rangeRe   = regexp.MustCompile(`^(\S+) \.\. (\S+) \((\d+) files\)$`)
)

// section returns the indented lines under the header "title (n):".
func section(out, title string) []string {
	_, rest, ok := strings.Cut(out, "\n"+title+" (")
	if !ok {
		return nil
	}
	var lines []string
	for _, l := range strings.Split(rest, "\n")[1:] {
		if !strings.HasPrefix(l, "  ") {
			break
		}
		lines = append(lines, strings.TrimPrefix(l, "  "))
	}
	return lines
}

// checkReport checks what every report must satisfy, and that the printed
// text states it: each input of dir is in exactly one category; the
// counts of done inputs are right (recounted here from the files); and
// the weight in flight never exceeded the budget.
func checkReport(t *testing.T, out string, r *report, dir string, cfg config) {
	t.Helper()
	// Every input exactly once.
	inputs, err := list(dir, cfg)
	require.NoError(t, err)
	var all []string
	for _, in := range inputs {
		all = append(all, in.name)
	}
	var failedNames []string
	for _, f := range r.Failed {
		failedNames = append(failedNames, f.Name)
	}
	seen := map[string]string{}
	for cat, ns := range map[string][]string{"done": r.Done, "failed": failedNames, "canceled": r.Canceled, "not started": r.NotStarted} {
		for _, n := range ns {
			if prev, dup := seen[n]; dup {
				t.Errorf("%s is both %s and %s", n, prev, cat)
			}
			seen[n] = cat
		}
	}
	assert.Len(t, seen, len(all))
	for _, n := range all {
		assert.Contains(t, seen, n, "input lost")
	}
	assert.Equal(t, len(all), r.Total)
	assert.Equal(t, all, r.Inputs)

	// The summary line.
	m := summaryRe.FindStringSubmatch(out)
	require.NotNil(t, m, out)
	assert.Equal(t, []string{strconv.Itoa(len(r.Done)), strconv.Itoa(len(r.Failed)), strconv.Itoa(len(r.Canceled)),
		strconv.Itoa(len(r.NotStarted)), strconv.Itoa(len(all))}, m[1:])

	// The budget.
	m = peakRe.FindStringSubmatch(out)
	require.NotNil(t, m, out)
	assert.Equal(t, strconv.FormatInt(r.PeakWeight, 10), m[1])
	assert.Equal(t, strconv.FormatInt(cfg.budget, 10), m[2])
	assert.LessOrEqual(t, r.PeakWeight, cfg.budget, "weight budget exceeded")
	for _, in := range inputs {
		assert.Equal(t, min(max((in.size+cfg.unit-1)/cfg.unit, 1), cfg.budget), in.weight, in.name)
	}

	// Counts of the done inputs, recounted independently.
	var sum counts
	for _, n := range r.Done {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(n)))
		require.NoError(t, err)
		c := counts{Lines: int64(bytes.Count(data, []byte("\n"))), Words: int64(len(strings.Fields(string(data)))), Bytes: int64(len(data))}
		assert.Equal(t, c, r.Counts[n], n)
		sum.add(c)
	}
	assert.Len(t, r.Counts, len(r.Done))
	assert.Equal(t, sum, r.Sum)
	m = sumsRe.FindStringSubmatch(out)
	require.NotNil(t, m, out)
	assert.Equal(t, []string{strconv.FormatInt(sum.Lines, 10), strconv.FormatInt(sum.Words, 10), bytesString(sum.Bytes)}, m[1:])

	// The printed lists.
	var wantFailed []string
	for _, f := range r.Failed {
		wantFailed = append(wantFailed, f.Name+": "+f.Err.Error())
	}
	assert.Equal(t, wantFailed, section(out, "failed"))
	assert.Equal(t, r.Canceled, section(out, "canceled"))
	var notStarted []string
	index := map[string]int{}
	for i, n := range all {
		index[n] = i
	}
	for _, l := range section(out, "not started") {
		if m := rangeRe.FindStringSubmatch(l); m != nil {
			stretch := all[index[m[1]] : index[m[2]]+1]
			assert.Equal(t, m[3], strconv.Itoa(len(stretch)))
			notStarted = append(notStarted, stretch...)
		} else {
			notStarted = append(notStarted, l)
		}
	}
	assert.Equal(t, r.NotStarted, notStarted)

	assert.Equal(t, r.Interrupted, strings.Contains(out, "\ninterrupted: "))
}

func TestInjectedFailuresAreListedExactly(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, generate(dir, 60, 7))
	cfg := config{dir: dir, budget: 8, unit: 4096, failEvery: 7}
	var out bytes.Buffer
	r, err := run(context.Background(), &out, cfg)
	require.NoError(t, err)
	checkReport(t, out.String(), r, dir, cfg)

	var want, got []string
	for i := 6; i < 60; i += 7 { // inputs 7, 14, ... (1-based)
		want = append(want, fileName(i))
	}
	for _, f := range r.Failed {
		got = append(got, f.Name)
		assert.ErrorIs(t, f.Err, errInjected)
	}
	assert.Equal(t, want, got)
	assert.Len(t, r.Done, 60-len(want))
	assert.Empty(t, r.Canceled)
	assert.Empty(t, r.NotStarted)
	assert.False(t, r.Interrupted)
	for _, n := range want {
		assert.Contains(t, out.String(), "\n  "+n+": injected failure\n")
	}
	assert.Contains(t, out.String(), "\nfailed (8):\n")

	// Plain progress: not a terminal, so a line at every tenth.
	var progress []string
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, "progress: ") {
			progress = append(progress, l)
		}
	}
	var wantProgress []string
	for k := 1; k <= 10; k++ {
		wantProgress = append(wantProgress, fmt.Sprintf("progress: %d%% (%d/60 files)", k*10, k*6))
	}
	assert.Equal(t, wantProgress, progress)
}

func TestFailPatternMatchesNameOrBase(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"a.txt", "bad-1.txt", "sub/bad-2.txt", "sub/ok.txt", "sub/deeper/bad.log"} {
		p := filepath.Join(dir, filepath.FromSlash(n))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte("x y\nz\n"), 0o644))
	}
	for pattern, want := range map[string][]string{
		"bad-*":   {"bad-1.txt", "sub/bad-2.txt"},
		"sub/*":   {"sub/bad-2.txt", "sub/ok.txt"},
		"*.log":   {"sub/deeper/bad.log"},
		"nothing": nil,
	} {
		t.Run(pattern, func(t *testing.T) {
			cfg := config{dir: dir, budget: 2, unit: 1024, failMatch: pattern}
			var out bytes.Buffer
			r, err := run(context.Background(), &out, cfg)
			require.NoError(t, err)
			checkReport(t, out.String(), r, dir, cfg)
			var got []string
			for _, f := range r.Failed {
				got = append(got, f.Name)
			}
			assert.Equal(t, want, got)
			assert.Len(t, r.Done, 5-len(want))
		})
	}
}

// TestInterruptIsExact interrupts a run at a known moment (fake time): 20
// files of weight 1, budget 4, each taking 1s. Files 0-3 run in [0s,1s),
// 4-7 in [1s,2s), 8-11 from 2s; the interrupt comes at 2.5s.
func TestInterruptIsExact(t *testing.T) {
	for _, tt := range []struct {
		grace                   time.Duration
		done, canceled, started int
		elapsed                 time.Duration
	}{
		// No grace: 8-11 are canceled at once.
		{grace: 0, done: 8, canceled: 4, started: 12, elapsed: 2500 * time.Millisecond},
		// Grace too short: 8-11 are canceled at 2.8s.
		{grace: 300 * time.Millisecond, done: 8, canceled: 4, started: 12, elapsed: 2800 * time.Millisecond},
		// Enough grace: 8-11 finish at 3s.
		{grace: time.Second, done: 12, canceled: 0, started: 12, elapsed: 3 * time.Second},
	} {
		t.Run(fmt.Sprintf("grace=%v", tt.grace), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				dir := writeSmall(t, 20, 50) // 3 lines and 11 words each
				cfg := config{dir: dir, budget: 4, unit: 4096, cost: time.Second, grace: tt.grace}
				ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
				defer cancel()
				var out bytes.Buffer
				start := time.Now()
				r, err := run(ctx, &out, cfg)
				require.NoError(t, err)
				assert.Equal(t, tt.elapsed, time.Since(start))
				checkReport(t, out.String(), r, dir, cfg)

				assert.True(t, r.Interrupted)
				assert.Equal(t, names(0, tt.done), r.Done)
				assert.Empty(t, r.Failed)
				assert.Equal(t, names(tt.done, tt.done+tt.canceled), nilIfEmpty(r.Canceled))
				assert.Equal(t, names(tt.started, 20), r.NotStarted)
				assert.Equal(t, int64(4), r.PeakWeight)

				grace := "interrupted: stopped admitting and canceled the running files\n"
				if tt.grace > 0 {
					grace = fmt.Sprintf("interrupted: stopped admitting; running files had %v to finish before being canceled\n", tt.grace)
				}
				var canceled string
				if tt.canceled > 0 {
					canceled = "canceled (4):\n  file-00008.txt\n  file-00009.txt\n  file-00010.txt\n  file-00011.txt\n"
				}
				assert.Equal(t, fmt.Sprintf(`inputs: 20 files, 1000 B, in %s
weight: 1 per 4.0 KiB or part of it (at most 4), budget 4
progress: 10%% (2/20 files)
progress: 20%% (4/20 files)
progress: 30%% (6/20 files)
progress: 40%% (8/20 files)
%s%sdone: %d, failed: 0, canceled: %d, not started: 8 (total 20)
peak weight in flight: 4 (budget 4)
done files: %d lines, %d words, %d B
elapsed: %v, done at %.1f files/s, %d B/s
%snot started (8):
  file-00012.txt .. file-00019.txt (8 files)
`, dir, progressAt(tt.done+tt.canceled, 20, 4), grace, tt.done, tt.canceled, tt.done*3, tt.done*11, tt.done*50,
					tt.elapsed, float64(tt.done)/tt.elapsed.Seconds(), int(float64(tt.done*50)/tt.elapsed.Seconds()), canceled), out.String())
				assert.Equal(t, tt.elapsed, r.Elapsed)
			})
		})
	}
}

// progressAt returns the progress lines beyond the first four tenths that
// a run prints once n of total inputs have been through their job.
func progressAt(n, total, shown int) string {
	var b strings.Builder
	for k := shown + 1; k <= n*10/total; k++ {
		fmt.Fprintf(&b, "progress: %d%% (%d/%d files)\n", k*10, k*total/10, total)
	}
	return b.String()
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// TestCancelAfterKFiles cancels the run's ctx from inside the K-th job to
// finish, with varied sizes and injected failures: the categories must
// still account for every input exactly once, with the budget kept.
func TestCancelAfterKFiles(t *testing.T) {
	for _, k := range []int{1, 25, 80} {
		t.Run(fmt.Sprintf("K=%d", k), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				dir := t.TempDir()
				require.NoError(t, generate(dir, 200, uint64(k)))
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				var finished atomic.Int64
				cfg := config{dir: dir, budget: 16, unit: 4096, cost: 10 * time.Millisecond, failEvery: 9,
					afterFile: func(string) {
						if finished.Add(1) == int64(k) {
							cancel()
						}
					}}
				var out bytes.Buffer
				r, err := run(ctx, &out, cfg)
				require.NoError(t, err)
				checkReport(t, out.String(), r, dir, cfg)

				assert.True(t, r.Interrupted)
				assert.GreaterOrEqual(t, len(r.Done)+len(r.Failed), k, "the K that finished before the cancel")
				assert.NotEmpty(t, r.NotStarted)
				injected := map[string]bool{}
				for i := 8; i < 200; i += 9 {
					injected[fileName(i)] = true
				}
				for _, f := range r.Failed {
					assert.True(t, injected[f.Name], "%s failed but was not injected: %v", f.Name, f.Err)
				}
				for _, n := range r.Done {
					assert.False(t, injected[n], "%s was injected but is done", n)
				}
				// Not started is a suffix of the inputs: admission is in order.
				assert.Equal(t, r.Inputs[len(r.Inputs)-len(r.NotStarted):], r.NotStarted)
			})
		})
	}
}

func TestBudgetIsNeverExceeded(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, generate(dir, 150, 3))
	for _, budget := range []int64{1, 3, 16, 64} {
		t.Run(fmt.Sprintf("budget=%d", budget), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := config{dir: dir, budget: budget, unit: 4096, cost: time.Millisecond}
				var out bytes.Buffer
				r, err := run(context.Background(), &out, cfg)
				require.NoError(t, err)
				checkReport(t, out.String(), r, dir, cfg)
				assert.Len(t, r.Done, 150)

				inputs, err := list(dir, cfg)
				require.NoError(t, err)
				heaviest := slices.MaxFunc(inputs, func(a, b input) int { return int(a.weight - b.weight) }).weight
				assert.GreaterOrEqual(t, r.PeakWeight, heaviest)
				assert.LessOrEqual(t, r.PeakWeight, budget)
			})
		})
	}
}

func TestProgressBarOnATerminal(t *testing.T) {
	dir := writeSmall(t, 30, 10)
	cfg := config{dir: dir, budget: 4, unit: 4096, tty: true}
	var out bytes.Buffer
	r, err := run(context.Background(), &out, cfg)
	require.NoError(t, err)
	checkReport(t, out.String(), r, dir, cfg)
	assert.Contains(t, out.String(), "processing 100%")
	assert.Contains(t, out.String(), "(30/30)")
	assert.NotContains(t, out.String(), "progress: ")
}

func TestGeneratesAndRemovesItsInputs(t *testing.T) {
	var out bytes.Buffer
	r, err := run(context.Background(), &out, config{files: 40, seed: 1, budget: 8, unit: 4096})
	require.NoError(t, err)
	assert.Len(t, r.Done, 40)
	m := regexp.MustCompile(`^inputs: 40 files, .+, in (\S+) \(generated, removed at exit\)\n`).FindStringSubmatch(out.String())
	require.NotNil(t, m, out.String())
	_, err = os.Stat(m[1])
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestGenerateIsVariedAndDeterministic(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	require.NoError(t, generate(a, 200, 5))
	require.NoError(t, generate(b, 200, 5))
	cfg := config{budget: 1 << 20, unit: 1}
	ia, err := list(a, cfg)
	require.NoError(t, err)
	ib, err := list(b, cfg)
	require.NoError(t, err)
	require.Len(t, ia, 200)
	small, big := 0, 0
	for i := range ia {
		assert.Equal(t, ia[i].size, ib[i].size)
		if ia[i].size < 2<<10 {
			small++
		}
		if ia[i].size >= 32<<10 {
			big++
		}
	}
	assert.Greater(t, small, 100)
	assert.Positive(t, big)
}

func TestRuns(t *testing.T) {
	all := []string{"a", "b", "c", "d", "e", "f"}
	assert.Equal(t, []string{"a .. c (3 files)", "e"}, runs([]string{"a", "b", "c", "e"}, all))
	assert.Equal(t, []string{"b", "d .. f (3 files)"}, runs([]string{"b", "d", "e", "f"}, all))
	assert.Nil(t, runs(nil, all))
}

// TestOutcome pins how a handle's end sorts an input. The last case is a
// job admitted but not yet running when a forced shutdown comes: the pool
// ends its executor ctx with cause pool.ErrClosed, and Wait returns that
// (not context.Canceled), built here the way the pool builds it.
func TestOutcome(t *testing.T) {
	resolved := func(f func(context.Context) error, parent, base context.Context) *job.Handle {
		task := job.NewTask(job.Func(f))
		task.Start(1, parent, base)
		task.Run()
		task.Resolve()
		return task.Handle()
	}
	bg := context.Background()
	canceledCtx, cancel := context.WithCancel(bg)
	cancel()
	closedBase, closeBase := context.WithCancelCause(bg)
	closeBase(pool.ErrClosed)
	ran := false

	for _, tt := range []struct {
		name      string
		h         *job.Handle
		submitErr error
		want      status
	}{
		{"never admitted", nil, nil, notStarted},
		{"submit failed", nil, pool.ErrWeightExceedsLimit, failed},
		{"succeeded", resolved(func(context.Context) error { return nil }, bg, nil), nil, done},
		{"injected", resolved(func(context.Context) error { return errInjected }, bg, nil), nil, failed},
		{"other error", resolved(func(context.Context) error { return os.ErrPermission }, bg, nil), nil, failed},
		{"canceled while running", resolved(func(ctx context.Context) error { return context.Canceled }, bg, nil), nil, canceled},
		{"parent ended before it ran", resolved(func(context.Context) error { ran = true; return nil }, canceledCtx, nil), nil, canceled},
		{"forced shutdown before it ran", resolved(func(context.Context) error { ran = true; return nil }, bg, closedBase), nil, canceled},
	} {
		st, _ := outcome(tt.h, tt.submitErr)
		assert.Equal(t, tt.want, st, tt.name)
	}
	assert.False(t, ran)
}

func TestBytesString(t *testing.T) {
	assert.Equal(t, "0 B", bytesString(0))
	assert.Equal(t, "1023 B", bytesString(1023))
	assert.Equal(t, "1.0 KiB", bytesString(1024))
	assert.Equal(t, "4.0 KiB", bytesString(4096))
	assert.Equal(t, "1.5 MiB", bytesString(3<<19))
}

func TestBadConfig(t *testing.T) {
	for _, cfg := range []config{
		{budget: 0, unit: 1},
		{budget: 1, unit: 0},
		{budget: 1, unit: 1, failEvery: -1},
		{budget: 1, unit: 1, failMatch: "["},
		{budget: 1, unit: 1, dir: filepath.Join(t.TempDir(), "missing")},
	} {
		_, err := run(context.Background(), &bytes.Buffer{}, cfg)
		assert.Error(t, err, "%+v", cfg)
	}
}

// TestListSkipsHiddenDirectories guards against walking into .git: a
// hidden directory below -dir is skipped, wherever it is, while hidden
// files and a -dir that is itself hidden are still read.
func TestListSkipsHiddenDirectories(t *testing.T) {
	root := filepath.Join(t.TempDir(), ".work")
	for _, f := range []string{"a.txt", ".env", ".git/config", ".git/objects/ab/cd", "src/b.txt", "src/.cache/c.txt"} {
		path := filepath.Join(root, filepath.FromSlash(f))
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte("x\n"), 0o644))
	}
	inputs, err := list(root, config{budget: 4, unit: 4096})
	require.NoError(t, err)
	var got []string
	for _, in := range inputs {
		got = append(got, in.name)
	}
	assert.Equal(t, []string{".env", "a.txt", "src/b.txt"}, got)
}
