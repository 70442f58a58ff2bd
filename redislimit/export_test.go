package redislimit

import "time"

// Test hooks, compiled only into this package's tests.

// WithClock replaces the client clock used by WithClientTime.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(o *options) { o.now = now })
}

// Heartbeat runs the refresher's round trip now.
func (s *Semaphore) Heartbeat() { s.heartbeat() }

// ReleaseID sends a release naming id, as a forger or a replay would.
func (s *Semaphore) ReleaseID(id string) error { return s.release(id) }

// ID returns the lease's holder ID.
func (l *Lease) ID() string { return l.id }

// Keys returns the semaphore's Redis keys: holders, expiry, state, queue,
// wants, beats, wake.
func (s *Semaphore) Keys() []string { return s.keys }

// Stall stops (or resumes) the refresher's round trips, as if the process
// could not reach Redis while its jobs kept running.
func (s *Semaphore) Stall(on bool) { s.stalled.Store(on) }
