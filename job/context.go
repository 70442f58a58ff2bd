package job

import (
	"context"

	"github.com/weir-go/weir/internal/task"
)

// Info is who a running job is, as seen from its ctx.
type Info struct {
	ID     uint64
	Name   string
	Weight int64
}

// FromContext returns the identity of the job whose ctx is ctx, or of the
// innermost job ctx was derived from. ok is false outside a job.
func FromContext(ctx context.Context) (info Info, ok bool) {
	t, ok := ctx.Value(task.CtxKey{}).(*task.Task)
	if !ok {
		return Info{}, false
	}
	return Info{ID: t.ID(), Name: t.DisplayName(), Weight: t.Weight()}, true
}

// NameFrom returns the name of the job whose ctx is ctx, or "" outside a
// job.
func NameFrom(ctx context.Context) string {
	if t, ok := ctx.Value(task.CtxKey{}).(*task.Task); ok {
		return t.DisplayName()
	}
	return ""
}
