// Package limit holds controllers that find and track a concurrency limit
// from what jobs experience, the way TCP congestion control finds a
// connection's window: grow while latency stays low and nothing is
// dropped, shrink when a queue builds or requests fail.
//
// A pool fed with a [Controller] (pool.WithAdaptiveLimit) reports every
// finished job as a [Sample] and resizes itself to the limit the
// controller answers, within the controller's bounds. Two algorithms are
// provided, written from the published descriptions of Netflix's
// concurrency-limits library:
//
//   - [AIMD]: additive increase, multiplicative decrease. Grows by one
//     after each successful sample while the limit is in use, and cuts by
//     a factor when a sample is dropped (timed out, rejected, overloaded).
//     Simple and robust; it needs drops to find the ceiling.
//   - [Gradient]: compares each sample's latency with a slowly moving
//     long-term baseline; when latency rises above the baseline by more
//     than the tolerance, a queue is building and the limit shrinks in
//     proportion; otherwise it grows by a small queue allowance. It finds
//     the knee from latency alone, before anything fails.
//
// Controllers are small types behind one interface, so a program can
// supply its own. The pool calls Observe from one goroutine at a time.
package limit

import (
	"context"
	"errors"
	"time"
)

// ErrDropped marks an error as a drop: the dependency shed the request or
// was overloaded (an HTTP 429 or 503, say). Wrap it, as in
// fmt.Errorf("%w: %s", limit.ErrDropped, resp.Status), so that IsDrop
// sees it.
var ErrDropped = errors.New("limit: dropped")

// Sample is one finished job, as a controller sees it.
type Sample struct {
	// Latency is how long the job ran.
	Latency time.Duration
	// InFlight is how many jobs were running when this one started,
	// itself included.
	InFlight int64
	// Dropped reports that the job timed out or was rejected: see IsDrop.
	Dropped bool
}

// IsDrop reports whether a job's error means the dependency is over its
// capacity: a timeout (context.DeadlineExceeded) or an error wrapping
// ErrDropped. Other errors say nothing about capacity.
func IsDrop(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrDropped)
}

// Controller turns samples into a limit.
type Controller interface {
	// Observe records a sample taken while the limit was limit, and
	// returns the limit to use from now on, within the controller's
	// bounds, with a short reason when it differs from limit.
	Observe(limit int64, s Sample) (next int64, reason string)
	// Bounds returns the least and the most limit the controller answers.
	Bounds() (min, max int64)
}

// clamp keeps v in [lo, hi].
func clamp(v, lo, hi int64) int64 {
	return max(lo, min(v, hi))
}

// checkBounds validates a controller's bounds.
func checkBounds(lo, hi int64) error {
	if lo < 1 || hi < lo {
		return errors.New("limit: bounds must satisfy 1 <= Min <= Max")
	}
	return nil
}
