package pool_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/weir-go/weir/job"
	"github.com/weir-go/weir/pool"
)

// syncBuffer is a bytes.Buffer safe for the handler's writes from many
// goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) lines(t *testing.T) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s.b.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m))
		out = append(out, m)
	}
	return out
}

// WithSlog writes the same events, levels and keys as the zap logger.
func TestSlogWritesTheSameEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf syncBuffer
		l := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
		p := mustNew(t, 2, pool.WithName("s"), pool.WithSlog(l))
		h, err := p.Go(context.Background(), func(context.Context) error { time.Sleep(time.Second); return nil },
			job.WithName("one"), job.WithWeight(2))
		require.NoError(t, err)
		require.NoError(t, h.Wait())
		h, err = p.Go(context.Background(), func(context.Context) error { panic("boom") }, job.WithName("two"))
		require.NoError(t, err)
		require.ErrorIs(t, h.Wait(), job.ErrPanic)
		require.NoError(t, p.Resize(3))
		require.NoError(t, p.Close())

		var msgs []string
		byMsg := map[string][]map[string]any{}
		for _, m := range buf.lines(t) {
			msg := m["msg"].(string)
			msgs = append(msgs, m["level"].(string)+" "+msg)
			byMsg[msg] = append(byMsg[msg], m)
			assert.Equal(t, "s", m[pool.KeyPool])
			assert.Equal(t, "weir", m["logger"])
		}
		assert.Equal(t, []string{
			"DEBUG " + pool.MsgAcquired, "DEBUG " + pool.MsgReleased,
			"DEBUG " + pool.MsgAcquired, "ERROR " + pool.MsgPanicked, "DEBUG " + pool.MsgReleased,
			"INFO " + pool.MsgResized, "INFO " + pool.MsgShutdown,
		}, msgs)
		acq := byMsg[pool.MsgAcquired][0]
		assert.Equal(t, "one", acq[pool.KeyJob])
		assert.Equal(t, float64(2), acq[pool.KeyWeight])
		for _, k := range []string{pool.KeyID, pool.KeyWaited, pool.KeyInUse, pool.KeyLimit, pool.KeyWaiters} {
			assert.Contains(t, acq, k)
		}
		rel := byMsg[pool.MsgReleased][0]
		assert.Equal(t, "succeeded", rel[pool.KeyOutcome])
		assert.Equal(t, float64(time.Second), rel[pool.KeyHeld])
		assert.Equal(t, "panicked", byMsg[pool.MsgReleased][1][pool.KeyOutcome])
		assert.Contains(t, byMsg[pool.MsgPanicked][0][pool.KeyStack], "slog_test.go")
		assert.Equal(t, "Resize", byMsg[pool.MsgResized][0][pool.KeyReason])
		assert.Equal(t, float64(2), byMsg[pool.MsgShutdown][0][pool.KeySubmitted])
	})
}

// At Info, a job writes nothing; a nil logger is an invalid option.
func TestSlogAtInfoIsQuietPerJob(t *testing.T) {
	var buf syncBuffer
	l := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	p := mustNew(t, 2, pool.WithSlog(l))
	for range 10 {
		require.NoError(t, p.Do(context.Background(), job.Func(func(context.Context) error { return nil })))
	}
	assert.Empty(t, buf.lines(t))
	_, err := pool.New(1, pool.WithSlog(nil))
	require.True(t, errors.Is(err, pool.ErrInvalidOption))
}
