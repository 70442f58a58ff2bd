package task

import (
	"context"
	"time"
)

// CtxKey is the context key under which a job's ctx answers with its task.
type CtxKey struct{}

// cancelCtxKey is the key with which package context looks up the
// cancelCtx behind a ctx (context.Cause does). A job's ctx must answer it
// itself: passed through to the submitter's ctx, it would report the
// submitter's cause even when the job's ctx ended first for another
// reason. The key is unexported, so it is caught once, here.
var cancelCtxKey = func() (key any) {
	context.Cause(keyProbe{context.Background(), &key})
	return key
}()

type keyProbe struct {
	context.Context
	key *any
}

func (p keyProbe) Value(k any) any {
	if *p.key == nil {
		*p.key = k
	}
	return nil
}

// canceledCause answers cancelCtxKey for a ctx that ended by Cancel or by
// the end of Run: its cause is context.Canceled.
var canceledCause = func() context.Context {
	c, cancel := context.WithCancel(context.Background())
	cancel()
	return c
}()

// ctx is the ctx a job runs with: the task seen as a context.Context. It
// carries the submitter's values and deadline, and it ends when the
// submitter's ctx ends, when the job is cancelled, when the executor
// forces its jobs to stop, or when Run has returned, whichever is first;
// Err and context.Cause report that first reason. Err and Done take no
// lock until the ctx has ended or Done is first asked for.
type ctx Task

// Ctx returns the job's ctx.
func (t *Task) Ctx() context.Context { return (*ctx)(t) }

func (c *ctx) Deadline() (time.Time, bool) { return c.parent.Deadline() }

func (c *ctx) Value(key any) any {
	t := (*Task)(c)
	switch key {
	case CtxKey{}:
		return t
	case cancelCtxKey:
		switch t.ctxReason() {
		case 0:
			return nil
		case reasonParent:
			return t.parent.Value(key)
		case reasonForced:
			return t.exec.Base.Value(key)
		default:
			return canceledCause.Value(key)
		}
	}
	return t.parent.Value(key)
}

func (c *ctx) Err() error {
	t := (*Task)(c)
	switch t.ctxReason() {
	case 0:
		return nil
	case reasonParent:
		return t.parent.Err()
	}
	return context.Canceled
}

func (c *ctx) String() string {
	return "job.Context(" + (*Task)(c).DisplayName() + ")"
}

// ctxReason returns why the job's ctx ended, or 0. It records an end of
// the submitter's ctx or a forced stop that no one has reported yet.
func (t *Task) ctxReason() uint32 {
	if r := t.flags.Load() & reasonMask; r != 0 {
		return r >> reasonShift
	}
	if t.parent.Err() != nil {
		t.endCtx(reasonParent)
	} else if t.exec != nil && t.exec.Forced.Load() {
		t.endCtx(reasonForced)
	} else {
		return 0
	}
	return (t.flags.Load() & reasonMask) >> reasonShift
}

// endCtx ends the job's ctx for reason unless it has ended already, then
// closes its Done channel and runs what AfterFunc registered.
func (t *Task) endCtx(reason uint32) {
	for {
		f := t.flags.Load()
		if f&reasonMask != 0 {
			return
		}
		if t.flags.CompareAndSwap(f, f|reason<<reasonShift) {
			break
		}
	}
	if s := t.side.Load(); s != nil {
		s.endCtx()
	}
}

// endCtx closes the ctx's channel, drops the registrations with other
// contexts and runs the AfterFunc callbacks, once.
func (s *side) endCtx() {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.ended = true
	if s.ctxDone != nil && !s.ctxClosed {
		s.ctxClosed = true
		close(s.ctxDone)
	}
	stops, funcs := s.stops, s.funcs
	s.stops, s.funcs = [2]func() bool{}, nil
	s.mu.Unlock()
	for _, stop := range stops {
		if stop != nil {
			stop()
		}
	}
	// Package context registers a derived ctx's cancel here: calling it
	// now makes the child done in the same instant as its parent.
	for _, a := range funcs {
		a.f()
	}
}

func (c *ctx) Done() <-chan struct{} {
	t := (*Task)(c)
	s := t.Side()
	s.mu.Lock()
	if s.ctxDone == nil {
		s.ctxDone = make(chan struct{})
		if s.ended {
			s.ctxClosed = true
			close(s.ctxDone)
		}
	}
	d := s.ctxDone
	s.mu.Unlock()
	t.watch(s)
	return d
}

// watch registers with the submitter's and executor's contexts, so that
// their end ends the job's ctx, unless it has ended already. It is done
// once, when the job first asks for Done or AfterFunc.
func (t *Task) watch(s *side) {
	s.mu.Lock()
	if s.watching || s.ended {
		s.mu.Unlock()
		return
	}
	s.watching = true
	// AfterFunc never calls its function on this goroutine, so
	// registering under s.mu is safe.
	if t.parent.Done() != nil {
		s.stops[0] = context.AfterFunc(t.parent, func() { t.endCtx(reasonParent) })
	}
	if t.exec != nil && t.exec.Base != nil {
		s.stops[1] = context.AfterFunc(t.exec.Base, func() { t.endCtx(reasonForced) })
	}
	s.mu.Unlock()
	// An end recorded before the side data existed found nothing to
	// close; and a source that ended before we registered is recorded
	// now, so that Done never lags Err.
	if t.ctxReason() != 0 {
		s.endCtx()
	}
}

// AfterFunc arranges to call f when the job's ctx ends, on the goroutine
// that ends it, and returns a function that cancels the call. Package
// context uses it for a ctx derived from a job's ctx, so that the child
// is cancelled in the same instant, with no goroutine: f must be quick.
// If the ctx has ended already, f runs at once in a goroutine of its own.
func (c *ctx) AfterFunc(f func()) (stop func() bool) {
	t := (*Task)(c)
	s := t.Side()
	t.watch(s)
	a := &afterFunc{f: f}
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	s.funcs = append(s.funcs, a)
	s.mu.Unlock()
	return func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		for i, x := range s.funcs {
			if x == a {
				s.funcs = append(s.funcs[:i], s.funcs[i+1:]...)
				return true
			}
		}
		return false
	}
}
