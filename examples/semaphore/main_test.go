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
)

func TestPeakEqualsSize(t *testing.T) {
	tests := []struct {
		workers int
		size    int64
		want    int64
	}{
		{workers: 10, size: 3, want: 3},
		{workers: 10, size: 1, want: 1},
		{workers: 2, size: 3, want: 2},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("workers=%d/size=%d", tt.workers, tt.size), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var out bytes.Buffer
				start := time.Now()
				peak, err := run(context.Background(), &out, tt.workers, tt.size, time.Second)
				require.NoError(t, err)
				assert.Equal(t, tt.want, peak)
				// Each worker holds its permit one second: ceil(workers/size) rounds.
				rounds := (int64(tt.workers) + tt.size - 1) / tt.size
				assert.Equal(t, time.Duration(rounds)*time.Second, time.Since(start))
				for i := 1; i <= tt.workers; i++ {
					assert.Contains(t, out.String(), fmt.Sprintf("worker-%d is working\n", i))
				}
				assert.Equal(t, tt.workers, strings.Count(out.String(), "is working"))
			})
		})
	}
}

func TestRunReportsCancellation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		defer cancel()
		var out bytes.Buffer
		// Size 1, 3 workers of 1s each: the third cannot start before the deadline.
		_, err := run(ctx, &out, 3, 1, time.Second)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, 2, strings.Count(out.String(), "is working"))
	})
}
