package redislimit

import "errors"

// ErrUnavailable is returned when Redis cannot be reached or refuses a
// script (connection refused, timeout, a failover in progress, a busy
// server, missing permissions). The error wraps the client's error. The
// semaphore fails closed: nothing is admitted unless a fallback option says
// otherwise ([WithFallbackLocal], [WithFallbackUnlimited]).
var ErrUnavailable = errors.New("redislimit: unavailable")

// ErrClosed is returned by calls on a closed [Semaphore], and is the cause
// of the Context of every lease that Close released.
var ErrClosed = errors.New("redislimit: closed")

// ErrInvalidWeight is returned for a weight below 1.
var ErrInvalidWeight = errors.New("redislimit: invalid weight")

// ErrWeightExceedsLimit is returned by Acquire and TryAcquire when the
// weight asked for is above the shared limit at the time it is asked for.
var ErrWeightExceedsLimit = errors.New("redislimit: weight exceeds limit")

// ErrNoCapacity is returned by TryAcquire when the weight does not fit now,
// or when others are queued ahead.
var ErrNoCapacity = errors.New("redislimit: no capacity")

// ErrInvalidLimit is returned for a limit below 1.
var ErrInvalidLimit = errors.New("redislimit: invalid limit")

// ErrInvalidName is returned by New for a name or key prefix that is empty,
// too long, not UTF-8, or contains braces or control characters.
var ErrInvalidName = errors.New("redislimit: invalid name")

// ErrInvalidOption is returned by New for a nil client, a nil Option or an
// option value out of range.
var ErrInvalidOption = errors.New("redislimit: invalid option")

// ErrLeaseLost is the cause (see [context.Cause]) of a lease's Context when
// the lease was lost: Redis no longer has it, or it could not be refreshed
// before 0.9 × TTL had passed since the last refresh was sent.
var ErrLeaseLost = errors.New("redislimit: lease lost")

// ErrReleased is the cause of a lease's Context after Release.
var ErrReleased = errors.New("redislimit: lease released")
