package job

import (
	"context"
	"time"
)

// Info is who a running job is, as seen from its ctx.
type Info struct {
	ID     uint64
	Name   string
	Weight int64
}

// ctxKey is the context key under which a job's ctx answers with its handle.
type ctxKey struct{}

// FromContext returns the identity of the job whose ctx is ctx, or of the
// innermost job ctx was derived from. ok is false outside a job.
func FromContext(ctx context.Context) (info Info, ok bool) {
	h, ok := ctx.Value(ctxKey{}).(*Handle)
	if !ok {
		return Info{}, false
	}
	return Info{ID: h.id, Name: h.Name(), Weight: h.weight}, true
}

// NameFrom returns the name of the job whose ctx is ctx, or "" outside a
// job.
func NameFrom(ctx context.Context) string {
	if h, ok := ctx.Value(ctxKey{}).(*Handle); ok {
		return h.Name()
	}
	return ""
}

// jobCtx is the ctx a job runs with: the handle seen as a context.Context.
// It carries the submitter's values and deadline, and it is done when the
// submitter's ctx is done, when the job is cancelled, when the executor's
// base ctx ends (a forced shutdown), or when Run has returned.
type jobCtx Handle

func (c *jobCtx) Deadline() (time.Time, bool) { return c.parent.Deadline() }

func (c *jobCtx) Value(key any) any {
	if key == (ctxKey{}) {
		return (*Handle)(c)
	}
	return c.parent.Value(key)
}

func (c *jobCtx) Done() <-chan struct{} {
	h := (*Handle)(c)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ctx != nil {
		return h.ctx.done
	}
	cs := &ctxState{done: make(chan struct{})}
	h.ctx = cs
	// Publish flagCtx before looking at the sources, so that a Cancel or
	// an end racing with us either is seen here or sees the flag.
	h.flags.Or(flagCtx)
	if h.cerr == nil {
		h.cerr = h.ctxCause()
	}
	if h.cerr != nil {
		close(cs.done)
		return cs.done
	}
	if h.parent.Done() != nil {
		cs.stops[0] = context.AfterFunc(h.parent, func() { h.cancelCtx(h.parent.Err()) })
	}
	if h.base != nil && h.base.Done() != nil {
		cs.stops[1] = context.AfterFunc(h.base, func() { h.cancelCtx(context.Canceled) })
	}
	return cs.done
}

func (c *jobCtx) Err() error {
	h := (*Handle)(c)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cerr == nil {
		if err := h.ctxCause(); err != nil {
			h.endCtxLocked(err)
		}
	}
	return h.cerr
}

func (c *jobCtx) String() string {
	return "job.Context(" + (*Handle)(c).Name() + ")"
}

// ctxCause computes the error of the job's ctx from its sources, or nil if
// none has ended. Once the task is resolved the answer is fixed: the cause
// that had ended it by then, else context.Canceled. Callers that need a
// stable answer hold h.mu and keep the first non-nil result.
func (h *Handle) ctxCause() error {
	f := h.flags.Load()
	if f&flagEnded != 0 {
		return h.endErr
	}
	if f&flagCancel != 0 {
		return context.Canceled
	}
	if err := h.parent.Err(); err != nil {
		return err
	}
	if h.base != nil && h.base.Err() != nil {
		return context.Canceled
	}
	return nil
}

// cancelCtx ends the job's ctx with err unless it has ended already.
func (h *Handle) cancelCtx(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cerr == nil {
		h.endCtxLocked(err)
	}
}

// endCtxLocked records err as the error of the job's ctx and closes its
// Done channel if it has one: whoever sets h.cerr closes the channel, so
// Err never reports an end that Done does not show. h.mu is held and
// h.cerr is nil.
func (h *Handle) endCtxLocked(err error) {
	h.cerr = err
	if h.ctx != nil {
		close(h.ctx.done)
	}
}
