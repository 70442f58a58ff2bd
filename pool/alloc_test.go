//go:build !race

package pool_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/weir-go/weir/job"
	"github.com/weir-go/weir/pool"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// The allocation claims of the docs, each checked. (The race detector
// changes allocation counts, so this file builds without it; .ci/run runs
// it on its own.)
func TestAllocations(t *testing.T) {
	ctx := context.Background()
	noop := job.Func(func(context.Context) error { return nil })
	p, err := pool.New(4)
	require.NoError(t, err)
	defer p.Close()

	assert.Equal(t, 1.0, testing.AllocsPerRun(200, func() {
		h, _ := p.Submit(ctx, noop)
		_ = h.Wait()
	}), "Submit+Wait: the handle only")
	assert.Equal(t, 1.0, testing.AllocsPerRun(200, func() {
		r, _ := pool.SubmitResult(ctx, p, func(context.Context) (int, error) { return 1, nil })
		_, _ = r.Wait()
	}), "SubmitResult+Wait: the result handle only")
	assert.Zero(t, testing.AllocsPerRun(200, func() { _ = p.Do(ctx, noop) }), "Do")
	assert.Zero(t, testing.AllocsPerRun(200, func() { _ = p.Do(ctx, noop, job.WithWeight(2), job.WithName("x")) }), "Do with options")
	assert.Zero(t, testing.AllocsPerRun(200, func() { _ = p.Stats() }), "Stats")
	g, _ := p.Group(ctx)
	assert.Equal(t, 1.0, testing.AllocsPerRun(200, func() { _, _ = g.Submit(noop) }), "Group.Submit: the handle only")
	require.NoError(t, g.Wait())

	// Spawn reuses its task once the job has ended; a job that signals
	// stands in for Wait, which makes a channel when it has to wait.
	done := make(chan struct{}, 2)
	signal := job.Func(func(context.Context) error { done <- struct{}{}; return nil })
	assert.Zero(t, testing.AllocsPerRun(200, func() {
		_ = p.Spawn(ctx, signal)
		<-done
	}), "Spawn")
	assert.Zero(t, testing.AllocsPerRun(200, func() {
		_ = p.Spawn(ctx, signal, job.WithWeight(4))
		_ = p.Spawn(ctx, signal, job.WithWeight(4)) // queued behind the first
		<-done
		<-done
	}), "Spawn, queued")

	// Logging that is off costs nothing: zap and slog at Info, Debug
	// events filtered out.
	quiet, err := pool.New(4,
		pool.WithLogger(zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(io.Discard), zap.InfoLevel))),
		pool.WithSlog(slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))))
	require.NoError(t, err)
	defer quiet.Close()
	assert.Zero(t, testing.AllocsPerRun(200, func() { _ = quiet.Do(ctx, noop) }), "Do with logging off")
	assert.Equal(t, 1.0, testing.AllocsPerRun(200, func() {
		h, _ := quiet.Submit(ctx, noop)
		_ = h.Wait()
	}), "Submit+Wait with logging off")

	// A queued job is its handle and nothing else: no goroutine, no
	// channel, no waiter.
	release := make(chan struct{})
	_, err = p.Submit(ctx, job.Func(func(context.Context) error { <-release; return nil }), job.WithWeight(4))
	require.NoError(t, err)
	assert.Equal(t, 1.0, testing.AllocsPerRun(200, func() { _, _ = p.Submit(ctx, noop) }), "a queued Submit")
	assert.Equal(t, int64(201), p.Stats().Queued)
	close(release)
	p.Wait()
}
