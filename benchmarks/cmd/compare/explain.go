package main

// info is what RESULTS.md says about a scenario.
type info struct {
	title string // section title
	short string // name in the headline table
	what  string // what it measures
	why   string // why weir loses where it does; written from the design and profiles
}

var scenarioOrder = []string{
	"SubmitWait", "FireForget", "Result",
	"SemUncontended", "SemParallel", "SemBlocking", "SemWeighted",
	"IOBound", "Burst", "Logging", "Group",
}

func scenarioInfo(name string) info {
	if i, ok := scenarios[name]; ok {
		return i
	}
	return info{title: name, short: name}
}

var scenarios = map[string]info{
	"SubmitWait": {
		title: "Submit and wait with a handle",
		short: "submit+wait",
		what: "Submit one no-op job and wait for it through its handle; time/op is per job. " +
			"weir and pond return a handle; workerpool's SubmitWait is its own submit-and-wait; " +
			"the others get a channel made per job, the usual idiom (raw ants with a channel is the floor weir is built on).",
		why: "A weir Submit+Wait is raw ants (a hand-off that wakes a parked ants worker) plus what weir adds: the semaphore's compare-and-swap on admission and on " +
			"release, an ID and outcome counters (atomic adds), the handle (one allocation, 144 B: the job, its ctx, its error, a WaitGroup, state and the queue li" +
			"nks) and a park and wake-up on the handle's WaitGroup, which is the wake-up every peer pays on its channel. In the CPU profile (SubmitWait/limit=1000/" +
			"weir) the ants worker is ~32% of the time, allocating and initialising the handle ~10% and GC write barriers ~18%: the handle is pointer-rich and writ" +
			"ten while the collector runs. Where weir is slower than the peers that make only a channel per job, the difference is what its cancellation, names, ID" +
			"s, states, panic capture and Stats cost; weir is on par with raw ants plus a channel, the floor it is built on.",
	},
	"FireForget": {
		title: "Fire and forget, then wait for all",
		short: "fire-and-forget",
		what: "Submit no-op jobs without keeping a handle, and wait for all of them after every 1,000; time/op is per job, " +
			"the waits included, so that peers that queue jobs instead of running them are not flattered. " +
			"weir uses Spawn, its submission without a handle: it queues the job and returns, and the job's task is reused once it has ended.",
		why: "A job that finds no free weight becomes an entry in the pool's FIFO list, and the worker that finishes a job runs the next entry itself, so at limit 2" +
			" no goroutine is woken per job, and Spawn allocates nothing (the task of an ended job is reused through a sync.Pool). What weir still pays per job th" +
			"at pond does not: the semaphore's mutex twice (once to queue the entry, once to release the weight and grant the next entry), contended between the su" +
			"bmitter and the workers, and the reuse itself (sync.Pool, ~10% of the profile FireForget/limit=2/weir), where pond's submitter appends a closure to a " +
			"buffer its workers drain. At limit 1000 the weight is always free, so every job is handed to an ants worker (a wake-up per job): peers that start a f" +
			"resh goroutine per job (x/sync, a channel semaphore, plain goroutines) pay less for that than waking a parked one.",
	},
	"Result": {
		title: "Typed result per job",
		short: "typed result",
		what: "Submit a job that returns an int and wait for the value; time/op is per job. Only weir (`pool.SubmitResult`) and " +
			"pond (`ResultPool[int]`) return typed values; raw ants with a typed channel per job is the floor. " +
			"conc's ResultPool hands back every value at once from Wait, a different contract, so it and the peers without results are left out.",
		why: "The typed result is the SubmitWait path with a `job.Result[T]` instead of a plain handle (one allocation, 160 B), so it costs what SubmitWait costs: t" +
			"he ants hand-off, the semaphore, the counters and the WaitGroup park and wake-up, against a single channel per job for raw ants.",
	},
	"SemUncontended": {
		title: "Semaphore: uncontended",
		short: "semaphore uncontended",
		what:  "Acquire(1) and Release(1) from one goroutine on a semaphore of size 1: weir's semaphore, golang.org/x/sync's, and a buffered channel.",
		why:   "weir's fast path is one compare-and-swap on Acquire and one on Release. A loss here can only come from noise or from a peer whose fast path is as short (an uncontended buffered-channel send and receive take a lock each but no atomic retry loop).",
	},
	"SemParallel": {
		title: "Semaphore: two goroutines in parallel",
		short: "semaphore parallel",
		what: "GOMAXPROCS goroutines (2) each make 1,000 Acquire(1)+Release(1) pairs on a semaphore too large to block; " +
			"time/op is the batch, time/acquire one pair.",
		why: "Both goroutines hit the same word: weir's two compare-and-swaps per pair retry under contention, as x/sync's mutex and the channel's lock contend.",
	},
	"SemBlocking": {
		title: "Semaphore: 16 goroutines blocking",
		short: "semaphore blocking",
		what: "16 goroutines each make 1,000 Acquire(1)+Release(1) pairs on a semaphore of size 1 or 4, so most Acquires wait; " +
			"time/op is the batch, time/acquire one pair.",
		why: "With 16 goroutines on size 1, nearly every Acquire blocks. weir then takes the semaphore's mutex to join its FIFO queue and parks on a fresh channel (one allocation per blocked Acquire; the waiter node is pooled), " +
			"and Release takes the mutex and closes that channel. A blocked send on a buffered channel parks on the channel's own wait queue with a sudog from a per-P cache: no allocation and no second lock, " +
			"and the receive hands the slot straight to the oldest sender. On size 4 the waiters are rarer and weir's lock-free fast path wins.",
	},
	"SemWeighted": {
		title: "Semaphore: weighted mix",
		short: "semaphore weighted",
		what: "16 goroutines acquire random weights 1..3 on a semaphore of size 10, 1,000 times each. " +
			"The channel semaphore has no weights and is left out.",
		why: "Weighted waiters always take weir's slow path (mutex, queue, a channel per blocked Acquire), like x/sync's; where weir loses, the grant loop on Release is the cost.",
	},
	"IOBound": {
		title: "I/O-bound jobs",
		short: "I/O-bound",
		what: "100,000 jobs that each sleep 10 ms, at limit 1,000, submitted from one goroutine as fast as the peer takes them: " +
			"the ideal makespan is 1.0 s. makespan/ideal is the whole batch over 1.0 s; peak memory is the highest heap-in-use " +
			"plus stack-in-use (runtime.MemStats, sampled every 10 ms) above what was in use before the pool was made.",
		why: "Each job sleeps 10 ms, so the per-job overhead (under a microsecond) is a ten-thousandth of it: makespans differ by a few per cent at most, and those " +
			"differences come from how soon a freed slot is refilled while 1,000 timer wake-ups compete for two cores; weir's queue is refilled by the finishing wo" +
			"rker, without waking the submitter. Peak memory counts the heap in use, garbage not yet collected included: weir allocates a handle per job, where ant" +
			"s and conc reuse their worker goroutines and allocate almost nothing per job here, so weir's heap grows further between collections; and with Submit r" +
			"eturning at once, all 99,000 waiting jobs sit in the queue as handles (about 144 B each) rather than as a submitter parked per job.",
	},
	"Burst": {
		title: "Burst: a million jobs at once",
		short: "burst",
		what: "1,000,000 jobs submitted as fast as possible at limit 10,000, each held at a gate so that 10,000 run and the rest queue; " +
			"then the gate opens. Peers whose submit blocks for admission (ants, conc, x/sync, errgroup, the channel semaphore) " +
			"get a goroutine per queued job, as their users would need. time/op is the whole burst; submit is the time until " +
			"every job runs or waits, drain the time from opening the gate until all have finished; B/queued is the live memory " +
			"(heap after a collection, plus stacks) that the queued jobs add to the running ones, per queued job.",
		why: "A job that must wait is an entry in the pool's queue: its handle (144 B) and no goroutine, so weir no longer parks a goroutine per queued job as the b" +
			"locking peers (ants, conc, x/sync, errgroup, the channel semaphore) do. pond and workerpool keep a smaller entry (a closure in a buffer) and allocate " +
			"less per job; where weir's B/queued is above theirs, the difference is weir's task (144 B), which carries the job, its ctx, ID, name, state and links: Spawn" +
			" reuses tasks once their jobs have ended, but a million queued jobs are a million live tasks.",
	},
	"Group": {
		title: "Group: 1,000 Go then Wait",
		short: "group",
		what: "Make a group, give it 1,000 no-op functions with Go and wait for them; time/op is the whole batch. " +
			"weir is its errgroup-compatible `group.Group`; errgroup uses SetLimit; conc a pool with WithMaxGoroutines (a pool per batch, as its Wait ends it); " +
			"pond a group (`NewGroup`) on a pool of the limit made once; weir-pool is `pool.Group` on a weir pool of the limit made once. " +
			"At limit 8 Go blocks most of the time; at limit 1000 it never does.",
		why: "weir's `group.Group` does not give a blocked Go a goroutine: a goroutine of the group that finishes runs the next blocked caller's function itself and" +
			" wakes the caller, one wake-up per function, and Go allocates nothing of its own. `pool.Group` (weir-pool) queues the functions as entries of a pool o" +
			"f the same limit, which its workers drain without hand-offs, and allocates one handle (144 B) per Go, as errgroup allocates one closure; at limit 1000 e" +
			"very Go is a hand-off to a parked ants worker where errgroup starts a fresh goroutine, which is cheaper. pond never blocks the submitter either, at the " +
			"cost of its allocations per function.",
	},
	"Logging": {
		title: "Logging",
		short: "logging",
		what: "weir's Submit+Wait with logging off (the default no-op zap logger), with a zap logger at Info (the per-job " +
			"Debug events are filtered out), and at Debug (two JSON lines per job), the core writing to io.Discard.",
	},
}

// adaptation says what had to be built around each peer, and what in
// weir's API made the comparison awkward.
const adaptation = `Every peer implements the same small interface (` + "`Pool`" + ` in peer.go): Go (fire and forget), Submit (a handle), Wait (for the Go jobs), Close, and SubmitResult where the peer has typed results.

- **weir** needs nothing around it for handles, results and waiting for all (` + "`Pool.Wait`" + `). Fire-and-forget is ` + "`Spawn`" + `, its submission without a handle; ` + "`pool.New`" + ` returns an error, so the adapter panics on it; limits are ` + "`int64`" + ` where every peer takes ` + "`int`" + `; a job is a ` + "`job.Job`" + ` (` + "`Run(ctx) error`" + `), so a ` + "`func()`" + ` is wrapped once in a ` + "`job.Func`" + `; and ` + "`SubmitResult`" + ` is a generic function, not a method, so it cannot be part of an interface. Its Submit and Spawn queue a job that must wait (an entry, no goroutine) and return.
- **ants** (raw): no handle and no wait-for-all; a channel per job and a WaitGroup. Its Submit blocks without a context.
- **pond**: its handle is native; typed results need a second pool typed by the result (` + "`ResultPool[int]`" + `); no wait-for-all short of stopping the pool, so a WaitGroup; its Stop hands work to a package-level default pool, which keeps it out of testing/synctest.
- **conc**: no handle (a channel per job); its Wait ends the pool, so the adapter makes a new pool after each wait; no context.
- **x/sync semaphore, channel semaphore**: a goroutine per job, a WaitGroup, a channel per job for handles.
- **errgroup**: ` + "`SetLimit`" + `; a channel per job for handles; Wait leaves it reusable.
- **workerpool**: ` + "`SubmitWait`" + ` is its submit-and-wait; a WaitGroup for fire-and-forget, since ` + "`StopWait`" + ` ends the pool.
- **goroutines**: ` + "`go`" + ` and a WaitGroup; it ignores the limit and is a reference, never "the best peer".`
