package main

import (
	"bytes"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	if env := os.Getenv(workerEnv); env != "" {
		os.Exit(worker(env, os.Stdout)) // a worker process, re-executed by run
	}
	os.Exit(m.Run())
}

// TestGlobalPeakWithinLimit runs the example and checks its output: the
// global peak is reached and never above the shared limit, and every
// worker ran its jobs.
func TestGlobalPeakWithinLimit(t *testing.T) {
	var out bytes.Buffer
	c := config{Workers: 4, Jobs: 30, Limit: 5, Local: 3, Work: 4 * time.Millisecond}
	if err := run(c, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	t.Log("\n" + out.String())
	m := regexp.MustCompile(`global peak: (\d+) jobs at once \(shared limit 5`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no global peak in the output")
	}
	peak, _ := strconv.Atoi(m[1])
	if peak < 1 || peak > 5 {
		t.Errorf("global peak %d, want 1..5", peak)
	}
	if n := strings.Count(out.String(), " 30 jobs ("); n != 4 {
		t.Errorf("%d workers ran 30 jobs, want 4", n)
	}
	if !strings.Contains(out.String(), "server: ") {
		t.Error("the output does not name the server")
	}
}
