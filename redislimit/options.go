package redislimit

import (
	"fmt"
	"time"
)

// An Option configures a [Semaphore]. Options are validated by [New].
type Option interface {
	apply(*options)
}

type options struct {
	ttl       time.Duration
	poll      time.Duration
	timeout   time.Duration
	prefix    string
	clientNow bool
	now       func() time.Time // client clock for WithClientTime; tests replace it
	replicas  int
	replWait  time.Duration
	fallback  fallbackMode
	localN    int64
	breakMin  time.Duration // 0: no circuit breaker
	breakMax  time.Duration
	err       error
}

type fallbackMode int

const (
	failClosed fallbackMode = iota
	fallbackLocal
	fallbackUnlimited
)

func defaultOptions() options {
	return options{
		ttl:     10 * time.Second,
		poll:    500 * time.Millisecond,
		timeout: 2 * time.Second,
		prefix:  "weir:sem:",
		now:     time.Now,
	}
}

func (o *options) validate() error {
	if o.err != nil {
		return o.err
	}
	if o.ttl < 30*time.Millisecond {
		return fmt.Errorf("%w: TTL %v is below 30ms", ErrInvalidOption, o.ttl)
	}
	if o.poll <= 0 || o.poll > o.ttl/3 {
		return fmt.Errorf("%w: poll interval %v must be above 0 and at most TTL/3 (%v)", ErrInvalidOption, o.poll, o.ttl/3)
	}
	if o.timeout <= 0 {
		return fmt.Errorf("%w: timeout %v must be above 0", ErrInvalidOption, o.timeout)
	}
	if err := validName(o.prefix, 64); err != nil {
		return fmt.Errorf("prefix: %w", err)
	}
	if o.replicas < 0 || (o.replicas > 0 && o.replWait <= 0) {
		return fmt.Errorf("%w: replicas %d with timeout %v", ErrInvalidOption, o.replicas, o.replWait)
	}
	if o.breakMin < 0 || o.breakMin > 0 && o.breakMax < o.breakMin {
		return fmt.Errorf("%w: circuit breaker pause %v..%v: want 0 < min <= max", ErrInvalidOption, o.breakMin, o.breakMax)
	}
	if o.fallback == fallbackLocal && o.localN < 1 {
		return fmt.Errorf("%w: local fallback limit %d is below 1", ErrInvalidOption, o.localN)
	}
	return nil
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithTTL sets how long Redis keeps a lease, and a waiter's place in the
// queue, without hearing from its process. The default is 10s. The process
// refreshes everything it holds every TTL/3 in one round trip, and counts a
// lease as lost 0.9 × TTL after the last refresh it sent, unanswered. A
// holder that crashes keeps its weight for at most the TTL.
func WithTTL(d time.Duration) Option {
	return optionFunc(func(o *options) { o.ttl = d })
}

// WithPollInterval sets the backstop for wake-ups: while a process has
// waiters, it asks Redis about them at least this often, in one round trip,
// in case a wake-up on the stream was missed. It must be at most TTL/3,
// since the same round trip is the waiters' heartbeat. The default is 500ms.
func WithPollInterval(d time.Duration) Option {
	return optionFunc(func(o *options) { o.poll = d })
}

// WithTimeout bounds each round trip to Redis (default 2s), including the
// ones Release and Close make, which have no ctx of their own. go-redis
// applies a ctx deadline to reads and writes only when the client's
// Options.ContextTimeoutEnabled is true; otherwise its ReadTimeout bounds
// them.
func WithTimeout(d time.Duration) Option {
	return optionFunc(func(o *options) { o.timeout = d })
}

// WithPrefix sets the prefix of every key (default "weir:sem:"). A
// semaphore named n uses the keys prefix + "{n}:" + a suffix, so an ACL
// rule on the prefix (~prefix*) covers them all. The prefix is validated
// like a name.
func WithPrefix(p string) Option {
	return optionFunc(func(o *options) { o.prefix = p })
}

// WithClientTime makes the scripts use the client's clock instead of
// Redis's TIME, for managed services that refuse TIME in scripts. Leases
// then expire by the clocks of the processes that touch them, so clock
// skew between processes shortens or lengthens other processes' leases;
// keep clocks synchronised well within the TTL.
func WithClientTime() Option {
	return optionFunc(func(o *options) { o.clientNow = true })
}

// WithReplicas makes every write wait (Redis WAIT) until n replicas have
// acknowledged it, for at most timeout. A failover loses writes that no
// replica had; with this option a grant that Acquire reports is on n
// replicas, and an Acquire whose grant is not fails with [ErrUnavailable]
// and gives the weight back. It costs the replication delay on every call.
func WithReplicas(n int, timeout time.Duration) Option {
	return optionFunc(func(o *options) { o.replicas, o.replWait = n, timeout })
}

// WithFallbackLocal makes Acquire and TryAcquire admit through a local,
// per-process limit of n when Redis is unavailable, instead of failing. A
// lease admitted this way has Token 0 and is never lost. With p processes
// the global total can reach p × n while Redis is down.
func WithFallbackLocal(n int64) Option {
	return optionFunc(func(o *options) { o.fallback, o.localN = fallbackLocal, n })
}

// WithFallbackUnlimited makes Acquire and TryAcquire admit without any
// limit when Redis is unavailable, instead of failing. A lease admitted
// this way has Token 0 and is never lost.
func WithFallbackUnlimited() Option {
	return optionFunc(func(o *options) { o.fallback = fallbackUnlimited })
}

// WithCircuitBreaker stops Acquire and TryAcquire from trying Redis for a
// while after a round trip failed with [ErrUnavailable]: for min at first,
// doubling with every failed probe up to max. Meanwhile they go straight
// to the fallback (WithFallbackLocal, WithFallbackUnlimited) or, failing
// closed, return an error wrapping ErrUnavailable at once, instead of
// each waiting out timeouts and retries while Redis is down. When the
// pause is over, one Acquire at a time probes Redis; any round trip that
// succeeds (a probe, a release, the refresh of the leases held) closes the
// breaker. Without this option every Acquire tries Redis.
func WithCircuitBreaker(min, max time.Duration) Option {
	return optionFunc(func(o *options) {
		o.breakMin, o.breakMax = min, max
		if min == 0 {
			o.breakMin = -1 // rejected by validate: 0 would mean "off"
		}
	})
}
