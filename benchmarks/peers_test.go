package benchmarks

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
)

// held is a job that counts how many copies run at once and waits at a
// gate.
type held struct {
	open          chan struct{}
	running, peak atomic.Int64
	ran           atomic.Int64
}

func (h *held) work() {
	n := h.running.Add(1)
	for {
		p := h.peak.Load()
		if n <= p || h.peak.CompareAndSwap(p, n) {
			break
		}
	}
	<-h.open
	h.running.Add(-1)
	h.ran.Add(1)
}

// TestPeersHonourLimit checks that every bounded peer runs at most limit
// jobs at once and that every job runs, whether its Go blocks or queues.
// It runs in a synctest bubble, except for pond: pond's Stop hands work to
// its package-level default pool, whose goroutines cannot belong to a
// bubble and touch the stopped pool's channels, so pond runs on the real
// clock and the test polls instead of synctest.Wait.
func TestPeersHonourLimit(t *testing.T) {
	for _, peer := range Peers {
		t.Run(peer.Name, func(t *testing.T) {
			if peer.Name == "pond" {
				testLimit(t, peer, func(started func() bool) {
					for !started() {
						runtime.Gosched()
					}
					for range 1000 {
						runtime.Gosched() // room for a job beyond the limit to start
					}
				})
				return
			}
			synctest.Test(t, func(t *testing.T) {
				testLimit(t, peer, func(func() bool) { synctest.Wait() })
			})
		})
	}
}

func testLimit(t *testing.T, peer Peer, settle func(started func() bool)) {
	const limit, jobs = 3, 20
	h := &held{open: make(chan struct{})}
	p := peer.New(limit, h.work)
	var submitters sync.WaitGroup
	for range jobs {
		submitters.Go(func() {
			if err := p.Go(t.Context()); err != nil {
				t.Error(err)
			}
		})
	}
	want := int64(limit)
	if peer.Unbounded {
		want = jobs
	}
	settle(func() bool { return h.running.Load() >= want })
	if got := h.running.Load(); got != want {
		t.Errorf("%d jobs running at the gate, want %d", got, want)
	}
	close(h.open)
	submitters.Wait()
	p.Wait()
	if got := h.ran.Load(); got != jobs {
		t.Errorf("%d jobs ran, want %d", got, jobs)
	}
	if got := h.peak.Load(); got > want {
		t.Errorf("peak %d jobs at once, want at most %d", got, want)
	}
	p.Close()
}

// TestPeersHandles checks Submit, Wait after a batch of Go, and the typed
// results of the peers that have them.
func TestPeersHandles(t *testing.T) {
	for _, peer := range Peers {
		t.Run(peer.Name, func(t *testing.T) {
			var ran atomic.Int64
			p := peer.New(2, func() { ran.Add(1) })
			defer p.Close()
			for range 10 {
				h, err := p.Submit(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				if err := h.Wait(); err != nil {
					t.Fatal(err)
				}
			}
			if got := ran.Load(); got != 10 {
				t.Fatalf("after 10 Submit+Wait, %d jobs ran", got)
			}
			for range 100 {
				if err := p.Go(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
			p.Wait()
			if got := ran.Load(); got != 110 {
				t.Fatalf("after Go x100 and Wait, %d jobs ran, want 110", got)
			}
			r, ok := p.(Resulter)
			if !ok {
				return
			}
			h, err := r.SubmitResult(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if v, err := h.Wait(); v != 1 || err != nil {
				t.Fatalf("SubmitResult: Wait() = %d, %v; want 1, nil", v, err)
			}
		})
	}
}

// TestSems checks that each semaphore blocks at its size.
func TestSems(t *testing.T) {
	for _, sp := range SemPeers {
		t.Run(sp.Name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := sp.New(2)
				w := int64(1)
				if sp.Weighted {
					w = 2
				}
				if err := s.Acquire(t.Context(), w); err != nil {
					t.Fatal(err)
				}
				if !sp.Weighted {
					if err := s.Acquire(t.Context(), 1); err != nil {
						t.Fatal(err)
					}
				}
				var got atomic.Bool
				go func() {
					_ = s.Acquire(t.Context(), 1)
					got.Store(true)
				}()
				synctest.Wait()
				if got.Load() {
					t.Fatal("Acquire did not block on a full semaphore")
				}
				s.Release(w)
				synctest.Wait()
				if !got.Load() {
					t.Fatal("Release did not wake the waiter")
				}
			})
		})
	}
}
