package limit_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/weir-go/weir/limit"
)

// A pool calls Observe after every job; here the samples are made by hand.
// In slow start the limit grows by one per sample; a drop ends slow start
// and cuts the limit by Backoff (0.9, rounded down); from then on it grows
// by one per round (as many samples as the limit) in which at least half
// the limit was used, so twelve samples at limit 6 make one round of 6 and
// part of a round of 7.
func ExampleNewAIMD() {
	ctrl, err := limit.NewAIMD(limit.AIMDConfig{Min: 1, Max: 100})
	if err != nil {
		panic(err)
	}
	n := int64(4)
	observe := func(s limit.Sample) {
		next, reason := ctrl.Observe(n, s)
		if next != n {
			fmt.Printf("%d -> %d (%s)\n", n, next, reason)
		}
		n = next
	}
	for range 3 {
		observe(limit.Sample{Latency: 10 * time.Millisecond, InFlight: n})
	}
	observe(limit.Sample{Latency: 10 * time.Millisecond, InFlight: n, Dropped: true})
	for range 2 * n {
		observe(limit.Sample{Latency: 10 * time.Millisecond, InFlight: n})
	}
	fmt.Println("limit:", n)
	// Output:
	// 4 -> 5 (slow start)
	// 5 -> 6 (slow start)
	// 6 -> 7 (slow start)
	// 7 -> 6 (drop)
	// 6 -> 7 (round without drops)
	// limit: 7
}

// Gradient reads latency: it keeps the limit while a round's latency
// stays within Tolerance of the baseline (adding QueueSize), and shrinks
// it in proportion when a queue builds and latency rises: here Tolerance
// 1.5 over three times the baseline halves the limit, plus the allowance.
// Smoothing 1 applies each round's estimate at once, and ProbeEvery -1
// leaves out the baseline probes, so that the rounds are easy to follow.
func ExampleNewGradient() {
	ctrl, err := limit.NewGradient(limit.GradientConfig{Min: 1, Max: 100, Smoothing: 1, QueueSize: 1, ProbeEvery: -1})
	if err != nil {
		panic(err)
	}
	n := int64(10)
	round := func(latency time.Duration) {
		start := n
		for range start {
			n, _ = ctrl.Observe(n, limit.Sample{Latency: latency, InFlight: n})
		}
		fmt.Printf("latency %v: limit %d -> %d\n", latency, start, n)
	}
	round(20 * time.Millisecond)
	round(20 * time.Millisecond)
	round(60 * time.Millisecond) // a queue: three times the baseline
	round(20 * time.Millisecond)
	// Output:
	// latency 20ms: limit 10 -> 11
	// latency 20ms: limit 11 -> 12
	// latency 60ms: limit 12 -> 7
	// latency 20ms: limit 7 -> 8
}

// IsDrop tells the errors that mean "over capacity" from the others.
func ExampleIsDrop() {
	errs := []error{
		fmt.Errorf("%w: %s", limit.ErrDropped, http.StatusText(http.StatusServiceUnavailable)),
		context.DeadlineExceeded,
		errors.New("bad request"),
	}
	for _, err := range errs {
		fmt.Printf("%v: %v\n", err, limit.IsDrop(err))
	}
	// Output:
	// limit: dropped: Service Unavailable: true
	// context deadline exceeded: true
	// bad request: false
}
