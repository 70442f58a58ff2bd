package pool

import (
	"fmt"
	"log/slog"

	"github.com/weir-go/weir/limit"
	"go.uber.org/zap"
)

// An Option configures a Pool in New.
type Option interface {
	apply(*options) error
}

type options struct {
	logger     *zap.Logger
	loggerSet  bool
	slog       *slog.Logger
	name       string
	maxQueued  int // -1: unbounded
	maxWaiting int // -1: unbounded
	adapt      limit.Controller
	onPanic    func(PanicInfo)
	observers  []Observer
	shared     SharedLimit
}

type optionFunc func(*options) error

func (f optionFunc) apply(o *options) error { return f(o) }

// DefaultMaxQueued is how many jobs may wait in a pool's queue unless
// WithMaxQueued says otherwise. A queued job costs its handle, well under
// 256 bytes, and no goroutine, so a full default queue holds a few hundred
// megabytes at most: a batch script may submit a million jobs at once
// without holding a million goroutines, and one that submits without end
// is slowed down (Submit waits for room) instead of running out of memory.
const DefaultMaxQueued = 1 << 20

// WithLogger sends the pool's events to l, under a child logger named
// "weir" with the field pool=<name>. The default is zap.NewNop(): logging
// is off and costs nothing. A nil l makes New fail with ErrInvalidOption.
// See the package documentation for the events and their fields.
func WithLogger(l *zap.Logger) Option {
	return optionFunc(func(o *options) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrInvalidOption)
		}
		o.logger, o.loggerSet = l, true
		return nil
	})
}

// WithSlog sends the pool's events to l as well, a log/slog logger, with
// the same messages, levels and keys as WithLogger's zap events (see the
// package documentation), and the attributes logger=weir and
// pool=<name>. zap stays the first-class logger; slog is for programs
// built on the standard library's. Each event is checked with
// l.Enabled before any attribute is built, so a level that is off costs
// no allocation. A nil l makes New fail with ErrInvalidOption.
func WithSlog(l *slog.Logger) Option {
	return optionFunc(func(o *options) error {
		if l == nil {
			return fmt.Errorf("%w: nil slog.Logger", ErrInvalidOption)
		}
		o.slog = l
		return nil
	})
}

// slogFor is the pool's slog logger: l with the pool's attributes, or nil.
func slogFor(l *slog.Logger, name string) *slog.Logger {
	if l == nil {
		return nil
	}
	return l.With(slog.String("logger", "weir"), slog.String(KeyPool, name))
}

// WithName names the pool in its log events and in errors from New. The
// default name is "pool".
func WithName(name string) Option {
	return optionFunc(func(o *options) error {
		o.name = name
		return nil
	})
}

// WithMaxQueued bounds how many submitted jobs may wait in the queue for
// their weight; the default is DefaultMaxQueued. When the queue is full,
// Submit waits for room (backpressure), or fails at once with
// ErrQueueFull if WithMaxWaiting callers already wait. 0 means no queue:
// Submit waits until its job starts, as ants and errgroup do. A negative
// n makes New fail with ErrInvalidOption.
func WithMaxQueued(n int) Option {
	return optionFunc(func(o *options) error {
		if n < 0 {
			return fmt.Errorf("%w: WithMaxQueued(%d) is negative", ErrInvalidOption, n)
		}
		o.maxQueued = n
		return nil
	})
}

// WithMaxWaiting bounds how many callers may wait at once: Submit callers
// waiting for room in a full queue, and Do callers waiting for weight.
// Beyond it, Submit and Do fail at once with ErrQueueFull instead of
// waiting; 0 means no one may wait. The default is no bound. The count is
// exact: a caller stops counting the moment it is admitted. A negative n
// makes New fail with ErrInvalidOption.
func WithMaxWaiting(n int) Option {
	return optionFunc(func(o *options) error {
		if n < 0 {
			return fmt.Errorf("%w: WithMaxWaiting(%d) is negative", ErrInvalidOption, n)
		}
		o.maxWaiting = n
		return nil
	})
}

// WithAdaptiveLimit lets c set the pool's limit: after every job the pool
// reports its latency, the number of jobs running, and whether it was
// dropped (limit.IsDrop of its error), and resizes itself to the limit c
// answers, logging each change at Info with its reason. The limit given
// to New is the starting point and must lie within c.Bounds(); Resize
// still works and c carries on from the new limit. A nil c makes New fail
// with ErrInvalidOption.
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

// WithPanicHandler calls f for every job that panics, Do calls included,
// on the goroutine where the panic was recovered. A panic is also logged
// at Error if WithLogger was given. With neither, it is printed with its
// stack to standard error, as net/http does for a handler's panic: a
// panic is never silent. The job's handle still reports the panic as a
// *job.PanicError, and Do still re-panics. A nil f makes New fail with
// ErrInvalidOption.
func WithPanicHandler(f func(PanicInfo)) Option {
	return optionFunc(func(o *options) error {
		if f == nil {
			return fmt.Errorf("%w: nil panic handler", ErrInvalidOption)
		}
		o.onPanic = f
		return nil
	})
}

// WithObserver sends the pool's events to obs (see Observer). It may be
// given more than once; every observer sees every event, in the order
// given.
func WithObserver(obs Observer) Option {
	return optionFunc(func(o *options) error {
		o.observers = append(o.observers, obs)
		return nil
	})
}
