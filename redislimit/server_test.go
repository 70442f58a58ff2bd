package redislimit_test

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// A testServer is one Redis the tests run against: miniredis in-process
// (always), or a redis-server started by the test on a free 127.0.0.1 port
// when redis-server is on PATH.
type testServer struct {
	t    testing.TB
	kind string // "miniredis" or "redis-server"

	mr *miniredis.Miniredis
	mu sync.Mutex
	at time.Time // miniredis's script clock

	cmd  *exec.Cmd
	dir  string
	port int
	args []string

	user, pass string // the semaphores' ACL user; empty for the default user
	admin      [2]string
}

// haveRedis reports whether a real redis-server can be started.
func haveRedis() bool {
	_, err := exec.LookPath("redis-server")
	return err == nil
}

// forEachServer runs f once against miniredis and, when redis-server is on
// PATH, once against a real server, each in a subtest named after it.
func forEachServer(t *testing.T, f func(t *testing.T, srv *testServer)) {
	t.Run("miniredis", func(t *testing.T) {
		f(t, startMiniredis(t))
	})
	t.Run("redis-server", func(t *testing.T) {
		if !haveRedis() {
			t.Skip("redis-server not on PATH: ran on miniredis only")
		}
		f(t, startRedis(t))
	})
	t.Run("redis-server-acl", func(t *testing.T) {
		if !haveRedis() {
			t.Skip("redis-server not on PATH: ran on miniredis only")
		}
		f(t, startRedisACL(t))
	})
}

// aclRules is all the semaphores' user may do: run scripts on keys under
// the default prefix, and block on the wake stream. The commands after
// +xread are the ones the scripts call; Redis checks them against the
// caller's ACL too.
const aclRules = "resetkeys ~weir:sem:* resetchannels -@all " +
	"+evalsha +eval +script|load +xread " +
	"+time +hget +hset +hdel +hincrby +zadd +zrem +zrange +zrangebyscore +zscore +zcard +xadd"

// startRedisACL starts a redis-server whose default user is disabled; the
// semaphores connect as a user limited to aclRules.
func startRedisACL(t testing.TB) *testServer {
	s := startRedis(t)
	ctx := context.Background()
	rdb := s.adminClient(t)
	for _, cmd := range [][]any{
		{"ACL", "SETUSER", "admin", "on", ">admin-pw", "~*", "&*", "+@all"},
		append([]any{"ACL", "SETUSER", "weir", "on", ">weir-pw"}, anys(strings.Fields(aclRules))...),
		{"ACL", "SETUSER", "default", "off"},
	} {
		if err := rdb.Do(ctx, cmd...).Err(); err != nil {
			t.Fatalf("%v: %v", cmd, err)
		}
	}
	s.admin = [2]string{"admin", "admin-pw"}
	s.user, s.pass = "weir", "weir-pw"
	t.Logf("server: redis-server %s, semaphores connect as ACL user weir: %s; default user off", s.addr(), aclRules)
	return s
}

func anys(ss []string) []any {
	a := make([]any, len(ss))
	for i, s := range ss {
		a[i] = s
	}
	return a
}

func startMiniredis(t testing.TB) *testServer {
	mr := miniredis.NewMiniRedis()
	if err := mr.StartAddr("127.0.0.1:0"); err != nil {
		t.Fatalf("start miniredis: %v", err)
	}
	s := &testServer{t: t, kind: "miniredis", mr: mr, at: time.Unix(1_800_000_000, 0)}
	mr.SetTime(s.at)
	t.Cleanup(mr.Close)
	t.Logf("server: miniredis %s (script time driven by the test)", mr.Addr())
	return s
}

// startRedis starts a redis-server with no persistence on a free port.
func startRedis(t testing.TB, extra ...string) *testServer {
	t.Helper()
	return startRedisOn(t, freePort(t), extra...)
}

// startRedisOn is startRedis on the given port.
func startRedisOn(t testing.TB, port int, extra ...string) *testServer {
	t.Helper()
	s := &testServer{t: t, kind: "redis-server", dir: t.TempDir(), port: port}
	s.args = append([]string{
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", s.dir, "--logfile", "redis.log", "--enable-debug-command", "yes", "--protected-mode", "no", "--loglevel", "warning",
	}, extra...)
	s.start()
	t.Cleanup(s.kill)
	t.Logf("server: redis-server %s", s.addr())
	return s
}

// freeClusterPort returns a free port for a cluster node: its cluster bus
// listens 10,000 above it, so the port must be at most 55535 and the bus
// port free too.
func freeClusterPort(t testing.TB) int {
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		if p <= 55535 {
			if bus, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+10000)); err == nil {
				bus.Close()
				l.Close()
				return p
			}
		}
		l.Close()
	}
	t.Fatal("no free port pair for a cluster node")
	return 0
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (s *testServer) start() {
	s.t.Helper()
	cmd := exec.Command("redis-server", s.args...)
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start redis-server: %v", err)
	}
	s.cmd = cmd
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.addr(), 100*time.Millisecond)
		if err == nil {
			c.Close()
			rdb := redis.NewClient(&redis.Options{Addr: s.addr(), Username: s.admin[0], Password: s.admin[1], MaxRetries: -1})
			err = rdb.Ping(context.Background()).Err()
			rdb.Close()
			if err == nil {
				return
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("redis-server on %s did not start: %v", s.addr(), err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (s *testServer) addr() string {
	if s.mr != nil {
		return s.mr.Addr()
	}
	return fmt.Sprintf("127.0.0.1:%d", s.port)
}

func (s *testServer) real() bool { return s.mr == nil }

// kill stops the server at once (SIGKILL), losing its data.
func (s *testServer) kill() {
	if s.mr != nil {
		s.mr.Close()
		return
	}
	if s.cmd != nil {
		_ = s.cmd.Process.Signal(syscall.SIGKILL)
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}

// restart kills the server and starts an empty one on the same address.
func (s *testServer) restart() {
	s.t.Helper()
	if s.mr != nil {
		s.mr.Close()
		s.mr.FlushAll()
		if err := s.mr.Restart(); err != nil {
			s.t.Fatalf("restart miniredis: %v", err)
		}
		return
	}
	s.kill()
	s.start()
}

// advance moves the server's clock forward by d: miniredis's script clock
// is set, a real server's clock is waited for.
func (s *testServer) advance(d time.Duration) {
	if s.mr != nil {
		s.mu.Lock()
		s.at = s.at.Add(d)
		s.mr.SetTime(s.at)
		s.mu.Unlock()
		return
	}
	time.Sleep(d)
}

// client returns a go-redis client for the semaphores, closed at cleanup.
func (s *testServer) client(t testing.TB) *redis.Client {
	return s.dial(t, s.user, s.pass)
}

// adminClient returns a client that may run any command.
func (s *testServer) adminClient(t testing.TB) *redis.Client {
	return s.dial(t, s.admin[0], s.admin[1])
}

func (s *testServer) dial(t testing.TB, user, pass string) *redis.Client {
	rdb := redis.NewClient(&redis.Options{
		Addr: s.addr(), Username: user, Password: pass,
		MaxRetries: -1, DialTimeout: time.Second, ReadTimeout: 2 * time.Second, WriteTimeout: time.Second,
		// The settings the package doc recommends: deadlines bound round
		// trips, and a dead server is reported at once.
		ContextTimeoutEnabled: true, DialerRetries: 1,
	})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

func (s *testServer) path(name string) string { return filepath.Join(s.dir, name) }
