package limit

// round gathers the samples of one round: as many samples as the limit,
// about one round trip of the work in flight. Controllers decide once per
// round, as TCP adjusts its window once per round trip: deciding on every
// sample reacts to the same congestion many times over before the first
// decision has had any effect, and the limit overshoots.
type round struct {
	n           int64   // samples in the round
	ok          int64   // samples not dropped
	sum         float64 // their latency, seconds
	dropped     bool
	maxInFlight int64
}

func (r *round) add(s Sample) {
	r.n++
	r.maxInFlight = max(r.maxInFlight, s.InFlight)
	if s.Dropped {
		r.dropped = true
		return
	}
	r.ok++
	r.sum += s.Latency.Seconds()
}

// done reports whether the round has as many samples as limit.
func (r *round) done(limit int64) bool { return r.n >= limit }

// inUse reports whether at least half the limit was in use during the
// round: an idle limit says nothing about capacity.
func (r *round) inUse(limit int64) bool { return r.maxInFlight*2 >= limit }
