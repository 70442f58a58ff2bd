package pool

import (
	"context"
	"log/slog"
	"time"

	"github.com/weir-go/weir/job"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Log messages and field keys, in one place. Every event carries the
// field KeyPool from the pool's child logger.
const (
	MsgAcquired = "job acquired" // Debug: a job was admitted and holds its weight
	MsgReleased = "job released" // Debug: a job gave its weight back
	MsgPanicked = "job panicked" // Error, with stack: a job panicked
	MsgResized  = "pool resized" // Info: the limit changed (old, limit, reason)
	MsgShutdown = "pool shut down"

	KeyPool      = "pool"      // the pool's name
	KeyJob       = "job"       // the job's name
	KeyID        = "job_id"    // the job's ID
	KeyWeight    = "weight"    // the job's weight
	KeyWaited    = "waited"    // time from Submit to admission
	KeyHeld      = "held"      // time from admission to release
	KeyInUse     = "in_use"    // weight in use after the event
	KeyLimit     = "limit"     // the pool's limit
	KeyWaiters   = "waiters"   // submitters waiting for admission
	KeyOutcome   = "outcome"   // the job's final state: succeeded, failed, canceled, panicked
	KeyOld       = "old"       // the limit before a resize
	KeyReason    = "reason"    // why the limit changed: "Resize", or an adaptive controller's reason
	KeyForced    = "forced"    // whether shutdown had to cancel running jobs
	KeySubmitted = "submitted" // jobs admitted over the pool's life
	KeyStack     = "stack"     // the stack of a panic
)

// debugOn reports whether Debug events would be written; the time stamps
// they need are taken only then.
func (p *Pool) debugOn() bool {
	return p.logSet && p.log.Core().Enabled(zapcore.DebugLevel) ||
		p.slog != nil && p.slog.Enabled(context.Background(), slog.LevelDebug)
}

// slogOn returns the slog logger if it would write at level, else nil: the
// attributes are built only then.
func (p *Pool) slogOn(level slog.Level) *slog.Logger {
	if p.slog != nil && p.slog.Enabled(context.Background(), level) {
		return p.slog
	}
	return nil
}

func (p *Pool) logAcquired(name string, id uint64, weight int64, waited time.Duration) {
	if ce := p.log.Check(zapcore.DebugLevel, MsgAcquired); ce != nil {
		ce.Write(
			zap.String(KeyJob, name),
			zap.Uint64(KeyID, id),
			zap.Int64(KeyWeight, weight),
			zap.Duration(KeyWaited, waited),
			zap.Int64(KeyInUse, p.sem.InUse()),
			zap.Int64(KeyLimit, p.sem.Size()),
			zap.Int(KeyWaiters, p.sem.Waiting()),
		)
	}
	if l := p.slogOn(slog.LevelDebug); l != nil {
		l.LogAttrs(context.Background(), slog.LevelDebug, MsgAcquired,
			slog.String(KeyJob, name),
			slog.Uint64(KeyID, id),
			slog.Int64(KeyWeight, weight),
			slog.Duration(KeyWaited, waited),
			slog.Int64(KeyInUse, p.sem.InUse()),
			slog.Int64(KeyLimit, p.sem.Size()),
			slog.Int(KeyWaiters, p.sem.Waiting()),
		)
	}
}

func (p *Pool) logPanicked(name string, id uint64, err error) {
	if ce := p.log.Check(zapcore.ErrorLevel, MsgPanicked); ce != nil {
		var stack []byte
		if pe, ok := err.(*job.PanicError); ok {
			stack = pe.Stack
		}
		ce.Write(
			zap.String(KeyJob, name),
			zap.Uint64(KeyID, id),
			zap.Error(err),
			zap.ByteString(KeyStack, stack),
		)
	}
	if l := p.slogOn(slog.LevelError); l != nil {
		var stack []byte
		if pe, ok := err.(*job.PanicError); ok {
			stack = pe.Stack
		}
		l.LogAttrs(context.Background(), slog.LevelError, MsgPanicked,
			slog.String(KeyJob, name),
			slog.Uint64(KeyID, id),
			slog.Any("error", err),
			slog.String(KeyStack, string(stack)),
		)
	}
}

func (p *Pool) logReleased(name string, id uint64, weight int64, held time.Duration, state job.State, err error) {
	if ce := p.log.Check(zapcore.DebugLevel, MsgReleased); ce != nil {
		ce.Write(
			zap.String(KeyJob, name),
			zap.Uint64(KeyID, id),
			zap.Int64(KeyWeight, weight),
			zap.Duration(KeyHeld, held),
			zap.Stringer(KeyOutcome, state),
			zap.Error(err),
			zap.Int64(KeyInUse, p.sem.InUse()),
			zap.Int64(KeyLimit, p.sem.Size()),
		)
	}
	if l := p.slogOn(slog.LevelDebug); l != nil {
		attrs := []slog.Attr{
			slog.String(KeyJob, name),
			slog.Uint64(KeyID, id),
			slog.Int64(KeyWeight, weight),
			slog.Duration(KeyHeld, held),
			slog.String(KeyOutcome, state.String()),
			slog.Int64(KeyInUse, p.sem.InUse()),
			slog.Int64(KeyLimit, p.sem.Size()),
		}
		if err != nil {
			attrs = append(attrs, slog.Any("error", err))
		}
		l.LogAttrs(context.Background(), slog.LevelDebug, MsgReleased, attrs...)
	}
}

// logInfo writes an Info event (a resize, the shutdown) to the slog
// logger, if one is set and at Info.
func (p *Pool) logInfo(msg string, attrs ...slog.Attr) {
	if l := p.slogOn(slog.LevelInfo); l != nil {
		l.LogAttrs(context.Background(), slog.LevelInfo, msg, attrs...)
	}
}
