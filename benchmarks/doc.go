// Package benchmarks compares weir with the other ways Go programs run jobs
// with bounded concurrency. It is its own module, so that none of the peers
// ever enters weir's go.mod.
//
// Every peer is one file here, and each implements [Pool]: fire-and-forget
// (Go) with a wait for all (Wait), submit-and-wait through a handle
// (Submit), and, where the peer has one, a typed result per job
// ([Resulter]). The semaphores implement [Sem]. scenarios_test.go runs every
// scenario across every peer under the same sub-benchmark names,
// Benchmark<Scenario>/limit=N/<peer>, so that benchstat lines them up.
//
//	go test -run='^$' -bench=. -benchmem -count=6 -timeout=0   # the suite
//	go test -run='^$' -bench=. -benchtime=1x -short ./...      # the CI smoke run
//	go run ./cmd/compare                                        # suite + RESULTS.md + chart
//	go run ./cmd/sweep -sim -slo=100ms                          # best limit for a workload
//
// Package sweep (and cmd/sweep) finds the best concurrency limit for a
// workload by running it on a weir pool at each limit of a list.
package benchmarks
