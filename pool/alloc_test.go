//go:build !race

package pool_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/weir-go/weir/job"
	"github.com/weir-go/weir/pool"
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
