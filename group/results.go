package group

import (
	"context"
	"sync"
)

// Results is a Group whose functions each return a value of type T; Wait
// returns the values in the order the functions were given to Go.
//
// A zero Results is valid, has no limit and does not cancel on error, as
// a zero Group. A Results must not be copied after first use.
type Results[T any] struct {
	g  Group
	mu sync.Mutex
	// The values of the functions since the last Wait, in the order of
	// Go, n of them, in chunks that never move: a function stores its
	// value in its own element without a lock.
	chunks []*[chunkLen]T
	n      int
}

// chunkLen is the number of values per chunk of a Results.
const chunkLen = 64

// ResultsWithContext returns a new Results and an associated Context
// derived from ctx, canceled as [WithContext]'s is.
func ResultsWithContext[T any](ctx context.Context) (*Results[T], context.Context) {
	r := new(Results[T])
	ctx, r.g.cancel = context.WithCancelCause(ctx)
	return r, ctx
}

// Go calls f in a goroutine of the group, as [Group.Go] does, and keeps
// the value it returns, in the place of this call among the group's Go
// calls, for Wait.
func (r *Results[T]) Go(f func() (T, error)) {
	r.GoWeighted(1, f)
}

// GoWeighted is Go for a function of weight w, as [Group.GoWeighted]. If
// the weight is refused, f does not run, its value is T's zero value and
// Wait returns the error.
func (r *Results[T]) GoWeighted(w int, f func() (T, error)) {
	r.mu.Lock()
	call := r.call(f)
	r.n++
	r.mu.Unlock()
	r.g.GoWeighted(w, call)
}

// TryGo calls f in a goroutine of the group only if it can start at once,
// as [Group.TryGo]. The return value reports whether it started; only
// the functions that started have a value in Wait's result.
func (r *Results[T]) TryGo(f func() (T, error)) bool {
	r.mu.Lock()
	defer r.mu.Unlock() // no other Go may take the place meanwhile
	if !r.g.TryGo(r.call(f)) {
		return false
	}
	r.n++
	return true
}

// call returns a function that runs f and stores its value in place
// r.n, making the chunk for it if needed. r.mu is held.
func (r *Results[T]) call(f func() (T, error)) func() error {
	if r.n/chunkLen == len(r.chunks) {
		r.chunks = append(r.chunks, new([chunkLen]T))
	}
	c, i := r.chunks[r.n/chunkLen], r.n%chunkLen
	return func() error {
		v, err := f()
		c[i] = v
		return err
	}
}

// SetLimit limits the group's functions as [Group.SetLimit] does.
func (r *Results[T]) SetLimit(n int) { r.g.SetLimit(n) }

// JoinErrors makes Wait return every error joined, as
// [Group.JoinErrors] does.
func (r *Results[T]) JoinErrors() { r.g.JoinErrors() }

// Wait waits for every function as [Group.Wait] does and returns their
// values in the order of the Go calls that started them, with the
// group's error. Every value is kept, also where a function returned an
// error alongside it. After Wait the Results may be used again: the next
// Wait returns the values of the functions given to Go after this one,
// and, as [Group.Wait], the group's first error, which is kept.
func (r *Results[T]) Wait() ([]T, error) {
	err := r.g.Wait()
	r.mu.Lock()
	var vals []T
	if r.n > 0 {
		vals = make([]T, r.n)
		for i, c := range r.chunks {
			copy(vals[i*chunkLen:], c[:])
		}
	}
	r.chunks, r.n = nil, 0
	r.mu.Unlock()
	return vals, err
}
