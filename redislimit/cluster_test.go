package redislimit_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weir-go/weir/redislimit"
)

// startCluster starts a Redis Cluster of three primaries on 127.0.0.1, the
// 16,384 slots split between them, and waits until every node says the
// cluster is ok.
func startCluster(t *testing.T) []*testServer {
	t.Helper()
	ctx := context.Background()
	var nodes []*testServer
	for range 3 {
		nodes = append(nodes, startRedisOn(t, freeClusterPort(t), "--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000"))
	}
	ranges := [][2]int{{0, 5460}, {5461, 10922}, {10923, 16383}}
	for i, n := range nodes {
		rdb := n.adminClient(t)
		// ADDSLOTS, not ADDSLOTSRANGE, which needs Redis 7.
		args := []any{"CLUSTER", "ADDSLOTS"}
		for slot := ranges[i][0]; slot <= ranges[i][1]; slot++ {
			args = append(args, slot)
		}
		require.NoError(t, rdb.Do(ctx, args...).Err())
		if i > 0 {
			require.NoError(t, rdb.Do(ctx, "CLUSTER", "MEET", "127.0.0.1", nodes[0].port).Err())
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, n := range nodes {
		rdb := n.adminClient(t)
		for {
			info, err := rdb.ClusterInfo(ctx).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") && strings.Contains(info, "cluster_known_nodes:3") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("cluster on %s not ok after 20 s: %v %s", n.addr(), err, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	t.Logf("server: Redis Cluster of 3 primaries: %s, %s, %s", nodes[0].addr(), nodes[1].addr(), nodes[2].addr())
	return nodes
}

func clusterClient(t *testing.T, nodes []*testServer) *redis.ClusterClient {
	var addrs []string
	for _, n := range nodes {
		addrs = append(addrs, n.addr())
	}
	cc := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:      addrs,
		MaxRetries: -1, DialTimeout: time.Second, ReadTimeout: 2 * time.Second, WriteTimeout: time.Second,
		ContextTimeoutEnabled: true, DialerRetries: 1,
	})
	t.Cleanup(func() { cc.Close() })
	return cc
}

// TestCluster runs semaphores on a real three-node Redis Cluster through
// go-redis's ClusterClient, from two clients (two processes' worth):
// every script's keys share one slot (a script whose keys did not would
// fail with CROSSSLOT), the semaphores spread over the nodes, the limit
// holds with queueing and wake-ups on each node's stream, and nothing is
// held afterwards.
func TestCluster(t *testing.T) {
	if !haveRedis() {
		t.Skip("redis-server not on PATH: no cluster to run against")
	}
	nodes := startCluster(t)
	ctx := context.Background()
	clients := []*redis.ClusterClient{clusterClient(t, nodes), clusterClient(t, nodes)}

	const names, limit = 6, 3
	masters := map[string]bool{}
	var wg sync.WaitGroup
	for i := range names {
		name := fmt.Sprintf("cluster-%d", i)
		m, err := clients[0].MasterForKey(ctx, "weir:sem:{"+name+"}:state")
		require.NoError(t, err)
		masters[m.Options().Addr] = true

		sems := []*redislimit.Semaphore{openOn(t, clients[0], name, limit), openOn(t, clients[1], name, limit)}
		var inUse, peak, grants atomic.Int64
		wg.Go(func() {
			var inner sync.WaitGroup
			for g := range 8 {
				s := sems[g%2]
				inner.Go(func() {
					r := rand.New(rand.NewPCG(uint64(i), uint64(g)))
					for range 15 {
						w := 1 + r.Int64N(2)
						actx, cancel := context.WithTimeout(ctx, 20*time.Second)
						l, err := s.Acquire(actx, w)
						cancel()
						if !assert.NoError(t, err, "semaphore %s", name) {
							return
						}
						n := inUse.Add(w)
						for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
						}
						grants.Add(1)
						time.Sleep(time.Duration(r.IntN(3)) * time.Millisecond)
						inUse.Add(-w)
						l.Release()
					}
				})
			}
			inner.Wait()
			assert.Equal(t, int64(8*15), grants.Load(), "semaphore %s", name)
			assert.LessOrEqual(t, peak.Load(), int64(limit), "semaphore %s: the limit holds", name)
			assert.Equal(t, int64(limit), peak.Load(), "semaphore %s: the limit is reached", name)
		})

		// TryAcquire and the errors work the same on a cluster.
		l, err := sems[0].TryAcquire(ctx, limit)
		if err == nil {
			_, err := sems[1].TryAcquire(ctx, 1)
			assert.ErrorIs(t, err, redislimit.ErrNoCapacity)
			l.Release()
		}
		_, err = sems[1].Acquire(ctx, limit+1)
		assert.ErrorIs(t, err, redislimit.ErrWeightExceedsLimit)
	}
	wg.Wait()
	assert.GreaterOrEqual(t, len(masters), 2, "the semaphores live on more than one node")

	for i := range names {
		s := openOn(t, clients[1], fmt.Sprintf("cluster-%d", i), limit)
		assert.Zero(t, checkInvariant(t, s, clients[1], limit), "nothing is held afterwards")
	}
}
