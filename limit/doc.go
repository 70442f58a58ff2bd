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
//     per round of samples (slow start: per sample) while the limit is in
//     use, and cuts by
//     a factor when a round has a drop (a timeout, a rejection, an
//     overload), at most once per round trip. Simple and robust; it needs
//     drops to find the ceiling.
//   - [Gradient]: compares each round's latency with a probed baseline,
//     the latency without load; when latency rises above the baseline by
//     more than its tolerance, a queue is building and the limit shrinks in
//     proportion; otherwise it grows by a small queue allowance. It reads
//     latency, so it backs off before anything fails; how close to the
//     knee it settles is set by its tolerance.
//
// Controllers are small types behind one interface, so a program can
// supply its own. The pool calls Observe from one goroutine at a time.
package limit
