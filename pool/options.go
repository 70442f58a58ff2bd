package pool

import (
	"fmt"

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
