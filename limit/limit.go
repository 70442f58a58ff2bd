package limit

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrDropped marks an error as a drop: the dependency shed the request or
// was overloaded (an HTTP 429 or 503, say). Wrap it, as in
// fmt.Errorf("%w: %s", limit.ErrDropped, resp.Status), so that IsDrop
// sees it.
var ErrDropped = errors.New("limit: dropped")

// ErrInvalidConfig is matched (errors.Is) by every error of NewAIMD and
// NewGradient: a field of the config is out of its range.
var ErrInvalidConfig = errors.New("limit: invalid config")

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
		return fmt.Errorf("%w: bounds must satisfy 1 <= Min <= Max", ErrInvalidConfig)
	}
	return nil
}
