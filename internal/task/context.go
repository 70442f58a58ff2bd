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

// Err says the probe has ended, so that Cause goes on to ask for the key.
func (p keyProbe) Err() error { return context.Canceled }

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
// Err and context.Cause report that first reason. The end of the
// submitter's ctx and a forced stop are noticed when someone looks: Err,
// the registrations Done makes, or Cancel and the end of Run, which look
// before they record their own reason; if both ended before anyone
// looked, the submitter's is reported. Err and Done take no lock until
// the ctx has ended or Done is first asked for.
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
		if s := t.side.Load(); s != nil {
			s.mu.Lock()
			in := s.innerCtx
			s.mu.Unlock()
			if in != nil {
				return in.Value(key)
			}
		}
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

// endCtx ends the job's ctx for reason unless it has ended already, and
// cancels its inner ctx, if it has one, with the cause. The submitter's
// ctx and a forced stop are noticed only when someone looks; if one of
// them has ended unnoticed, it came first, and it is the reason recorded.
func (t *Task) endCtx(reason uint32) {
	if t.flags.Load()&reasonMask != 0 {
		return
	}
	if reason != reasonParent {
		if t.parent != nil && t.parent.Err() != nil {
			reason = reasonParent
		} else if reason != reasonForced && t.exec != nil && t.exec.Forced.Load() {
			reason = reasonForced
		}
	}
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
		s.mu.Lock()
		cancel, stop := s.cancel, s.stopBase
		s.stopBase = nil
		s.mu.Unlock()
		if cancel != nil {
			cancel(t.cause(reason))
		}
		if stop != nil {
			stop()
		}
	}
}

// cause is the cause of an end for reason, other than the parent's.
func (t *Task) cause(reason uint32) error {
	if reason == reasonForced {
		return t.exec.ForcedErr
	}
	return context.Canceled
}

// inner returns the context.WithCancelCause of the submitter's ctx that
// backs the job's ctx once someone needs its Done channel: made lazily,
// cancelled by endCtx. Because it is one of package context's own, the end
// of the submitter's ctx reaches it, and every ctx derived from the job's
// ctx registers with it, synchronously, with no goroutine.
func (t *Task) inner() context.Context {
	s := t.Side()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.innerCtx != nil {
		return s.innerCtx
	}
	if r := (t.flags.Load() & reasonMask) >> reasonShift; r != 0 {
		// Ended already. Unless it ended with the submitter's ctx, the
		// inner ctx must not come from that ctx: if it has ended since,
		// its cause would be reported instead of the first one.
		if r == reasonParent {
			s.innerCtx, s.cancel = context.WithCancelCause(t.parent)
		} else {
			s.innerCtx, s.cancel = context.WithCancelCause(context.Background())
			s.cancel(t.cause(r))
		}
		return s.innerCtx
	}
	s.innerCtx, s.cancel = context.WithCancelCause(t.parent)
	if t.exec != nil && t.exec.Base != nil {
		s.stopBase = context.AfterFunc(t.exec.Base, func() { t.endCtx(reasonForced) })
	}
	return s.innerCtx
}

func (c *ctx) Done() <-chan struct{} {
	return (*Task)(c).inner().Done()
}

// AfterFunc arranges to call f, in a goroutine of its own, when the job's
// ctx ends, as context.AfterFunc does, and returns a function that stops
// the call. A ctx derived from a job's ctx does not need it: it registers
// with the job's inner ctx directly.
func (c *ctx) AfterFunc(f func()) (stop func() bool) {
	return context.AfterFunc((*Task)(c).inner(), f)
}
