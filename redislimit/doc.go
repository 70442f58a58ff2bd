// Package redislimit is a weighted, FIFO, lease-based semaphore shared
// through Redis: one limit across every process of a service, such as "at
// most 50 calls to the payments API across 20 pods".
//
// The package is named redislimit, not redis, so that it can be imported
// next to github.com/redis/go-redis/v9 (package redis) without an alias.
// It is its own module, so weir's core gains no dependency on go-redis.
//
// # A load limiter, not a mutex
//
// A [Semaphore] bounds load. It is not a lock for correctness: a process
// that stalls longer than the TTL, a failover, or Redis restarting empty
// can let more weight in than the limit for a bounded time (below). Work
// that must never overlap needs the resource itself to check
// [Lease.Token], a fencing token that grows with every grant.
//
// # Use
//
//	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379", ContextTimeoutEnabled: true})
//	sem, err := redislimit.New(rdb, "payments-api", 50)
//	if err != nil { ... }
//	defer sem.Close()
//
//	lease, err := sem.Acquire(ctx, 1)
//	if err != nil { ... }          // ctx.Err(), or ErrUnavailable: fail closed
//	defer lease.Release()
//	callPaymentsAPI(lease.Context()) // ends if the lease is lost
//
// Keep a local limit in front (a weir pool, or a [semaphore.Weighted]) so
// that each process holds only a few leases in Redis and queues the rest
// locally: a local acquire costs nanoseconds, a shared one a round trip.
//
// # Guarantees
//
//   - Steady state: the weight held by live leases never exceeds the limit,
//     and is exactly the sum of the live holders' weights (Redis keeps a
//     hash of holders and a running total; one Lua script computes the free
//     weight). After [Semaphore.SetLimit] lowers the limit, leases already
//     held keep their weight until released.
//   - FIFO across processes: requests are granted in ticket order; a
//     request that does not fit blocks those behind it (a request larger
//     than a lowered limit is passed over). A release grants the queue in
//     the same script, and wakes the granted waiters through a Redis stream
//     that one connection per Semaphore reads; polling every poll interval
//     ([WithPollInterval]) is the backstop.
//   - Crash recovery within the TTL: a holder that dies keeps its weight
//     until its lease expires, at most the TTL ([WithTTL]) after its last
//     refresh. A waiter that dies leaves the queue within the TTL, and a
//     grant made to it lapses as its place would have.
//   - Leases are lost visibly: a process refreshes everything it holds
//     every TTL/3 in one round trip, and counts a lease lost 0.9 × TTL after
//     the last refresh it sent (monotonic clock), that is, before Redis,
//     whose clock started later, can expire it. Losing closes [Lease.Lost]
//     and ends [Lease.Context] with cause [ErrLeaseLost]. A refresh never
//     revives an expired lease.
//   - Over-admission: Redis losing its data (an empty restart, or a failover
//     to a replica that missed the last writes) lets new requests in on top
//     of leases that still run. Their holders learn at their next refresh,
//     within TTL/3 plus a poll interval, and their Contexts end then.
//     [WithReplicas] closes the failover case for grants replicated before
//     Acquire returned. A process stalled (stopped, swapped, in a long GC
//     pause) beyond 0.9 × TTL may resume work before its timer fires.
//   - Fail closed: if Redis cannot be reached, Acquire fails with
//     [ErrUnavailable]. [WithFallbackLocal] and [WithFallbackUnlimited]
//     admit instead, by a per-process limit or none. [WithCircuitBreaker]
//     makes that answer immediate while Redis stays down, instead of each
//     Acquire waiting out its timeouts and retries.
//   - Time is Redis's: scripts read TIME, so client clocks do not matter.
//     [WithClientTime] is for services that refuse TIME in scripts; then
//     clock skew between processes shifts when leases expire.
//
// # Security
//
// Connect through your own go-redis client, which carries TLS, the ACL user
// and password, Sentinel or Cluster. Release and refresh check the holder's
// lease ID (128 random bits, never sent to another process) inside the
// script, so one client cannot release or extend weight it does not hold; a
// release naming no live holder changes nothing and is counted
// ([Stats].RejectedReleases). The scripts are constants; names and the key
// prefix are validated (no braces, no control characters), and every key
// of a semaphore is passed in KEYS under one hash tag, {name}, so Cluster
// runs each script on one node. A least-privilege user needs only:
//
//	ACL SETUSER weir on >secret resetkeys ~weir:sem:* resetchannels -@all
//	    +evalsha +eval +script|load +xread
//	    +time +hget +hset +hdel +hincrby +zadd +zrem +zrange +zrangebyscore +zscore +zcard +xadd
//
// (the second line: commands the scripts call, which Redis checks against
// the caller's ACL too), with a client such as
//
//	rdb := redis.NewClient(&redis.Options{
//		Addr: "redis.internal:6380", Username: "weir", Password: secret,
//		TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12, ServerName: "redis.internal"},
//		ContextTimeoutEnabled: true, // so WithTimeout and ctx deadlines bound round trips
//	})
//
// # Costs
//
// Acquire and Release are one round trip each when the weight fits. A
// queued Acquire is woken one round trip after the release that frees its
// weight, and confirms in one more. Refresh costs one round trip per
// Semaphore per TTL/3, whatever it holds; while it has waiters, one per poll
// interval. The README in this module has measured figures.
//
// # Plugging into a pool
//
// A [Lease] has the shape a pool's shared-limit seam expects,
// Context() context.Context and Release(). Since Go needs the exact
// result type, adapt [Semaphore.Acquire] with a three-line wrapper:
//
//	type shared struct{ s *redislimit.Semaphore }
//
//	func (a shared) Acquire(ctx context.Context, w int64) (pool.SharedLease, error) {
//		l, err := a.s.Acquire(ctx, w)
//		if err != nil {
//			return nil, err // never a typed nil in the interface
//		}
//		return l, nil
//	}
//
// [semaphore.Weighted]: https://pkg.go.dev/golang.org/x/sync/semaphore#Weighted
package redislimit
