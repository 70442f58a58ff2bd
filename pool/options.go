package pool

import (
	"fmt"

	"github.com/weir-go/weir/limit"
	"go.uber.org/zap"
)

// An Option configures a Pool in New.
type Option interface {
	apply(*options) error
}

type options struct {
	logger     *zap.Logger
	name       string
	maxWaiting int64 // -1: unbounded
	adapt      limit.Controller
}

type optionFunc func(*options) error

func (f optionFunc) apply(o *options) error { return f(o) }

// WithLogger sends the pool's events to l, under a child logger named
// "weir" with the field pool=<name>. The default is zap.NewNop(): logging
// is off and costs nothing. A nil l makes New fail with ErrInvalidOption.
// See the package documentation for the events and their fields.
func WithLogger(l *zap.Logger) Option {
	return optionFunc(func(o *options) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrInvalidOption)
		}
		o.logger = l
		return nil
	})
}

// WithName names the pool in its log events and in errors from New. The
// default name is "pool".
func WithName(name string) Option {
	return optionFunc(func(o *options) error {
		o.name = name
		return nil
	})
}

// WithMaxWaiting bounds how many submitters may wait for admission at
// once. Beyond it, Submit and Do fail at once with ErrQueueFull instead of
// waiting; 0 means no one may wait. The default is no bound. A negative n
// makes New fail with ErrInvalidOption.
func WithMaxWaiting(n int) Option {
	return optionFunc(func(o *options) error {
		if n < 0 {
			return fmt.Errorf("%w: WithMaxWaiting(%d) is negative", ErrInvalidOption, n)
		}
		o.maxWaiting = int64(n)
		return nil
	})
}

// WithAdaptiveLimit lets c set the pool's limit: after every job the pool
// reports its latency, the number of jobs running when it started, and
// whether it was dropped (limit.IsDrop of its error), and resizes itself
// to the limit c answers, logging each change at Info with its reason.
// The limit given to New is the starting point and must lie within
// c.Bounds(); Resize still works and c carries on from the new limit. A
// nil c makes New fail with ErrInvalidOption.
//
// Cost: two clock readings and a mutex per job, and a Resize when the
// limit changes.
func WithAdaptiveLimit(c limit.Controller) Option {
	return optionFunc(func(o *options) error {
		if c == nil {
			return fmt.Errorf("%w: nil limit.Controller", ErrInvalidOption)
		}
		o.adapt = c
		return nil
	})
}
