package redislimit_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(helperMain())
	}
	goleak.VerifyTestMain(m, goleak.IgnoreCurrent(),
		// After a failed dial (the fault tests kill servers), go-redis's
		// connection pool retries in a goroutine that sleeps a second
		// between attempts and notices the closed client only when it
		// wakes: it ends on its own, after the suite has finished.
		goleak.IgnoreAnyFunction("github.com/redis/go-redis/v9/internal/pool.(*ConnPool).tryDial"))
}
