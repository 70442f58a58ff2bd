// Package limit holds controllers that find and track a concurrency limit
// from what jobs experience, the way TCP congestion control finds a
// connection's window: grow while latency stays low and nothing is
// dropped, shrink when a queue builds or requests fail.
//
// A pool fed with a [Controller] (pool.WithAdaptiveLimit) reports every
// finished job as a [Sample] and resizes itself to the limit the
// controller answers, within the controller's bounds. Two algorithms are
// provided, written from the published descriptions of Netflix's
// concurrency-limits library:
//
//   - [AIMD]: additive increase, multiplicative decrease. Grows by one
//     after each successful sample while the limit is in use, and cuts by
//     a factor when a sample is dropped (timed out, rejected, overloaded).
//     Simple and robust; it needs drops to find the ceiling.
//   - [Gradient]: compares each sample's latency with a slowly moving
//     long-term baseline; when latency rises above the baseline by more
//     than the tolerance, a queue is building and the limit shrinks in
//     proportion; otherwise it grows by a small queue allowance. It finds
//     the knee from latency alone, before anything fails.
//
// Controllers are small types behind one interface, so a program can
// supply its own. The pool calls Observe from one goroutine at a time.
package limit
