package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/weir-go/weir/pool"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestPeakEqualsLimit(t *testing.T) {
	tests := []struct {
		jobs  int
		limit int64
		want  int64
	}{
		{jobs: 10, limit: 3, want: 3},
		{jobs: 10, limit: 1, want: 1},
		{jobs: 2, limit: 3, want: 2},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("jobs=%d/limit=%d", tt.jobs, tt.limit), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var out bytes.Buffer
				start := time.Now()
				peak, err := run(context.Background(), &out, zap.NewNop(), tt.jobs, tt.limit, time.Second)
				require.NoError(t, err)
				assert.Equal(t, tt.want, peak)
				rounds := (int64(tt.jobs) + tt.limit - 1) / tt.limit
				assert.Equal(t, time.Duration(rounds)*time.Second, time.Since(start))
				for i := 1; i <= tt.jobs; i++ {
					assert.Contains(t, out.String(), fmt.Sprintf("job-%d is working\n", i))
				}
				assert.Equal(t, tt.jobs, strings.Count(out.String(), "is working"))
			})
		})
	}
}

func TestVerboseLogsEveryAcquireAndRelease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		core, logs := observer.New(zap.DebugLevel)
		_, err := run(context.Background(), &bytes.Buffer{}, zap.New(core), 10, 3, time.Second)
		require.NoError(t, err)
		assert.Equal(t, 10, logs.FilterMessage(pool.MsgAcquired).Len())
		assert.Equal(t, 10, logs.FilterMessage(pool.MsgReleased).Len())
	})
}
