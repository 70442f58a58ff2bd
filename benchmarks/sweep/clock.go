package sweep

import (
	"context"
	"time"
)

// Clock is the time a Sim and a sweep run on. The real clock (Real) also
// serves tests inside testing/synctest, where time is fake and advances
// only when every goroutine is blocked; Scaled runs faster than real time
// for quick runs outside a bubble.
type Clock interface {
	Now() time.Time
	// Sleep waits for d, or until ctx ends, when it returns ctx.Err().
	Sleep(ctx context.Context, d time.Duration) error
}

// Real is the wall clock.
var Real Clock = realClock{}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Scaled returns a clock on which time passes factor times faster than
// on the wall clock: a Sleep of d takes d/factor, and Now advances factor
// seconds per second. Scheduling noise is magnified by the same factor, so
// keep it modest (10 to 100). It panics if factor is not positive.
func Scaled(factor float64) Clock {
	if !(factor > 0) {
		panic("sweep: Scaled factor must be positive")
	}
	now := time.Now()
	return &scaledClock{factor: factor, origin: now, wall: now}
}

type scaledClock struct {
	factor float64
	origin time.Time // what Now reports at wall
	wall   time.Time // monotonic wall-clock start
}

func (c *scaledClock) Now() time.Time {
	return c.origin.Add(time.Duration(float64(time.Since(c.wall)) * c.factor))
}

func (c *scaledClock) Sleep(ctx context.Context, d time.Duration) error {
	return Real.Sleep(ctx, time.Duration(float64(d)/c.factor))
}
