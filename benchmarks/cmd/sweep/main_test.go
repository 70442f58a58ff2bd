package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSim(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{
		"-sim", "-sim-servers=4", "-sim-service=100ms", "-sim-jitter=0", "-sim-speed=50",
		"-limits=1,2,4,8", "-duration=1s", "-slo=150ms", "-out", dir,
	}, &stdout, &stderr, false, false)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
	for _, want := range []string{"sim(c=4, s=100ms)", "best limit:", "sweep-sim.png"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
	for _, ext := range []string{".png", ".csv", ".json", ".txt"} {
		if fi, err := os.Stat(filepath.Join(dir, "sweep-sim"+ext)); err != nil || fi.Size() == 0 {
			t.Errorf("sweep-sim%s: %v", ext, err)
		}
	}
}

func TestURL(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"-url", srv.URL, "-limits=1,2", "-count=20", "-out", dir, "-name=http"}, &stdout, &stderr, false, false)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "GET "+srv.URL) {
		t.Errorf("output does not name the URL:\n%s", stdout.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "http.json")); err != nil {
		t.Error(err)
	}
}

// TestInterrupted checks that a sweep whose ctx ends (as on Ctrl-C) prints
// what it measured and exits 130.
func TestInterrupted(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"-sim", "-sim-service=10ms", "-limits=1,2,4,8", "-duration=200ms", "-repeat=1", "-out", t.TempDir()}, &stdout, &stderr, false, false)
	if code != 130 {
		t.Fatalf("exit %d, want 130; stderr:\n%s", code, stderr.String())
	}
	for _, want := range []string{"interrupted: what was measured so far", "partial"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
}

func TestBadFlags(t *testing.T) {
	tests := []struct {
		name string
		give []string
	}{
		{"no workload", []string{"-limits=1"}},
		{"both workloads", []string{"-sim", "-url=http://127.0.0.1:1/"}},
		{"bad limit", []string{"-sim", "-limits=1,x"}},
		{"zero limit", []string{"-sim", "-limits=0"}},
		{"bad speed", []string{"-sim", "-sim-speed=0"}},
		{"bad repeat", []string{"-sim", "-repeat=0"}},
		{"bad sim", []string{"-sim", "-sim-servers=0"}},
		{"unknown flag", []string{"-nope"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(t.Context(), tt.give, &stdout, &stderr, false, false); code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
		})
	}
}

// TestStreamsALinePerLimit checks that, when asked to stream (stdout is
// not a terminal), the command prints each limit's line before the table.
func TestStreamsALinePerLimit(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{
		"-sim", "-sim-servers=4", "-sim-service=100ms", "-sim-jitter=0", "-sim-speed=50",
		"-limits=1,2", "-count=10", "-repeat=2", "-out", t.TempDir(),
	}, &stdout, &stderr, false, true)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
	out := stdout.String()
	table := strings.Index(out, "workload:")
	for _, want := range []string{"limit 1: ", "limit 2: "} {
		if i := strings.Index(out, want); i < 0 || i > table {
			t.Errorf("no %q line before the table:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "(median of 2 runs") {
		t.Errorf("the lines do not say they are medians:\n%s", out)
	}
}

// TestDefaultOutIsUntracked guards the default -out: results/ holds
// tracked files, so a sweep must not write there unless asked.
func TestDefaultOutIsUntracked(t *testing.T) {
	t.Chdir(t.TempDir())
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"-sim", "-sim-service=10ms", "-sim-speed=50", "-limits=1,2", "-count=5", "-repeat=1"}, &stdout, &stderr, false, false)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
	if _, err := os.Stat(filepath.Join("sweep-out", "sweep-sim.json")); err != nil {
		t.Errorf("default output: %v", err)
	}
	if _, err := os.Stat("results"); err == nil {
		t.Error("the sweep wrote into results/")
	}
}
