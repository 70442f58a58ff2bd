// Package promweir exports the metrics of weir pools to Prometheus.
//
// A [Collector] is a prometheus.Collector for one pool or many, each
// labelled pool=<name> with the name given by pool.WithName. It counts
// events from the pool's event hook (pool.Observer) and reads gauges from
// [pool.Pool.Stats] when Prometheus scrapes it:
//
//	c, err := promweir.New()
//	if err != nil { ... }
//	p, err := pool.New(8, pool.WithName("db"), pool.WithObserver(c.Observer()))
//	if err != nil { ... }
//	if err := c.Add(p); err != nil { ... }
//	prometheus.MustRegister(c)
//
// The metric families, all with the label pool:
//
//	weir_pool_weight_limit            gauge      Stats.Limit
//	weir_pool_weight_in_use           gauge      Stats.InUse
//	weir_pool_job_running             gauge      Stats.Running
//	weir_pool_pending_requests        gauge      Stats.Waiting
//	weir_pool_pending_weight          gauge      Stats.WaitingWeight
//	weir_pool_queue_length            gauge      Stats.Queued
//	weir_pool_queue_weight            gauge      Stats.QueuedWeight
//	weir_pool_admissions_total        counter    result=admitted|rejected|canceled|closed|invalid
//	weir_pool_job_completions_total   counter    outcome=success|error|panic|canceled
//	weir_pool_limit_changes_total     counter
//	weir_pool_wait_duration_seconds   histogram  result, as in admissions
//	weir_pool_hold_duration_seconds   histogram  outcome, as in completions
//
// The gauges exist for the pools given to [Collector.Add]; the counters and
// histograms for every pool that has [Collector.Observer] among its
// options, from its first event or its Add on, with every label value
// present (at zero) from then on.
package promweir

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/weir-go/weir/job"
	"github.com/weir-go/weir/pool"
)

var (
	// ErrInvalidOption: an Option passed to New is invalid, such as
	// buckets that are empty or not increasing.
	ErrInvalidOption = errors.New("promweir: invalid option")
	// ErrNilPool: Add was given a nil pool.
	ErrNilPool = errors.New("promweir: nil pool")
	// ErrDuplicatePool: Add was given a pool whose name is taken by
	// another pool already added.
	ErrDuplicatePool = errors.New("promweir: duplicate pool name")
)

// defaultBuckets are the upper bounds of the histograms' buckets, in
// seconds, unless WithBuckets says otherwise.
var defaultBuckets = []float64{
	.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05,
	.1, .25, .5, 1, 2.5, 5, 10, 30, 60,
}

// An Option configures a Collector in New.
type Option interface {
	apply(*options) error
}

type options struct {
	buckets []float64
}

type optionFunc func(*options) error

func (f optionFunc) apply(o *options) error { return f(o) }

// WithBuckets sets the upper bounds, in seconds, of the buckets of the wait
// and hold histograms. The default, from 100µs to a minute, is
//
//	.0001 .00025 .0005 .001 .0025 .005 .01 .025 .05 .1 .25 .5 1 2.5 5 10 30 60
//
// Bounds that are
// none, NaN or not strictly increasing make New fail with
// ErrInvalidOption. The bounds are copied.
func WithBuckets(bounds ...float64) Option {
	return optionFunc(func(o *options) error {
		if len(bounds) == 0 {
			return fmt.Errorf("%w: WithBuckets with no bounds", ErrInvalidOption)
		}
		for i, b := range bounds {
			if b != b || i > 0 && !(b > bounds[i-1]) {
				return fmt.Errorf("%w: WithBuckets%v is not strictly increasing", ErrInvalidOption, bounds)
			}
		}
		o.buckets = slices.Clone(bounds)
		return nil
	})
}

// Collector is a prometheus.Collector of the metrics of weir pools. Its
// methods are safe for concurrent use. Register it once, with any number
// of pools.
type Collector struct {
	admissions  *prometheus.CounterVec
	completions *prometheus.CounterVec
	changes     *prometheus.CounterVec
	wait        *prometheus.HistogramVec
	hold        *prometheus.HistogramVec
	gauges      [numGauges]*prometheus.Desc

	mu    sync.Mutex
	pools map[string]*poolMetrics // by pool name
}

// The gauges, read from Stats.
const (
	gaugeLimit = iota
	gaugeInUse
	gaugeRunning
	gaugePending
	gaugePendingWeight
	gaugeQueued
	gaugeQueuedWeight
	numGauges
)

// Outcomes of a job, as the label outcome names them.
const (
	outcomeSuccess = iota
	outcomeError
	outcomePanic
	outcomeCanceled
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"success", "error", "panic", "canceled"}

const numResults = int(pool.AdmissionInvalid) + 1

// poolMetrics holds one pool's children of the vectors, resolved once so
// that an event costs no label lookup and no allocation.
type poolMetrics struct {
	name        string
	pool        *pool.Pool // nil until Add
	removed     atomic.Bool
	admissions  [numResults]prometheus.Counter
	wait        [numResults]prometheus.Observer
	completions [numOutcomes]prometheus.Counter
	hold        [numOutcomes]prometheus.Observer
	changes     prometheus.Counter
}

// New returns a Collector with no pools.
func New(opts ...Option) (*Collector, error) {
	o := options{buckets: defaultBuckets}
	for _, opt := range opts {
		if err := opt.apply(&o); err != nil {
			return nil, err
		}
	}
	c := &Collector{
		admissions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "weir_pool_admissions_total",
			Help: "Admission decisions of the pool's jobs and Do calls, by result.",
		}, []string{"pool", "result"}),
		completions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "weir_pool_job_completions_total",
			Help: "Jobs and Do calls that ended, by outcome.",
		}, []string{"pool", "outcome"}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "weir_pool_limit_changes_total",
			Help: "Changes of the pool's weight limit, by Resize or an adaptive limit.",
		}, []string{"pool"}),
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "weir_pool_wait_duration_seconds",
			Help:    "Time from submission to the admission decision, by result.",
			Buckets: o.buckets,
		}, []string{"pool", "result"}),
		hold: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "weir_pool_hold_duration_seconds",
			Help:    "Time a job held its weight (0 if it never ran), by outcome.",
			Buckets: o.buckets,
		}, []string{"pool", "outcome"}),
		pools: make(map[string]*poolMetrics),
	}
	gauge := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, []string{"pool"}, nil)
	}
	c.gauges = [numGauges]*prometheus.Desc{
		gaugeLimit:         gauge("weir_pool_weight_limit", "The most weight that may run at once."),
		gaugeInUse:         gauge("weir_pool_weight_in_use", "Weight held by running jobs and Do calls."),
		gaugeRunning:       gauge("weir_pool_job_running", "Jobs running (Do calls show only in weight in use)."),
		gaugePending:       gauge("weir_pool_pending_requests", "Callers waiting in Submit for room in the queue, and in Do for weight."),
		gaugePendingWeight: gauge("weir_pool_pending_weight", "The weight that waiting callers wait for."),
		gaugeQueued:        gauge("weir_pool_queue_length", "Jobs in the queue, waiting for their weight."),
		gaugeQueuedWeight:  gauge("weir_pool_queue_weight", "The weight of the queued jobs."),
	}
	return c, nil
}

// metrics returns the children for the pool named name, creating them.
func (c *Collector) metrics(name string) *poolMetrics {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.metricsLocked(name)
}

func (c *Collector) metricsLocked(name string) *poolMetrics {
	if m := c.pools[name]; m != nil {
		return m
	}
	m := &poolMetrics{name: name, changes: c.changes.WithLabelValues(name)}
	for r := range numResults {
		result := pool.AdmissionResult(r).String()
		m.admissions[r] = c.admissions.WithLabelValues(name, result)
		m.wait[r] = c.wait.WithLabelValues(name, result)
	}
	for o, outcome := range outcomeNames {
		m.completions[o] = c.completions.WithLabelValues(name, outcome)
		m.hold[o] = c.hold.WithLabelValues(name, outcome)
	}
	c.pools[name] = m
	return m
}

// Observer returns the hook to give to pool.WithObserver, for each pool
// whose events c counts. The pool label is the pool's name (see
// pool.WithName); pools of the same name add up. An event costs an atomic
// load, a string comparison and the counter's or histogram's update, with
// no allocation; the first event of a pool resolves its label values once.
//
// Each call returns a new Observer; give each one to one pool.
func (c *Collector) Observer() pool.Observer {
	// The children of the last pool seen, so that an event needs no
	// map lookup. A pool's name does not change, so this misses only
	// on the first event or after Remove.
	var last atomic.Pointer[poolMetrics]
	get := func(name string) *poolMetrics {
		if m := last.Load(); m != nil && m.name == name && !m.removed.Load() {
			return m
		}
		m := c.metrics(name)
		last.Store(m)
		return m
	}
	return pool.Observer{
		Admission: func(e pool.Admission) {
			m := get(e.Pool)
			r := min(int(e.Result), numResults-1)
			m.admissions[r].Inc()
			m.wait[r].Observe(e.Waited.Seconds())
		},
		JobEnd: func(e pool.JobEnd) {
			o, ok := outcome(e.Outcome)
			if !ok {
				return
			}
			m := get(e.Pool)
			m.completions[o].Inc()
			m.hold[o].Observe(e.Held.Seconds())
		},
		LimitChange: func(e pool.LimitChange) {
			get(e.Pool).changes.Inc()
		},
	}
}

// outcome maps a job's final state to its outcome label.
func outcome(s job.State) (int, bool) {
	switch s {
	case job.Succeeded:
		return outcomeSuccess, true
	case job.Failed:
		return outcomeError, true
	case job.Panicked:
		return outcomePanic, true
	case job.Canceled:
		return outcomeCanceled, true
	}
	return 0, false // not a final state: the pool reports none such
}

// Add makes c report p's gauges, read from p.Stats() at each scrape, under
// the label pool=p.Name(). It fails with ErrNilPool for a nil p, and with
// ErrDuplicatePool if a pool of that name was added before and not
// removed (p itself included).
func (c *Collector) Add(p *pool.Pool) error {
	if p == nil {
		return ErrNilPool
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.metricsLocked(p.Name())
	if m.pool != nil {
		return fmt.Errorf("%w: %q", ErrDuplicatePool, p.Name())
	}
	m.pool = p
	return nil
}

// Remove drops every series of the pool named p.Name(), gauges, counters
// and histograms, if p is the pool added under that name, and reports
// whether it did. Remove it after shutting it down, so that a pool that is
// gone leaves no series behind. Events that p sends afterwards create its
// series anew.
func (c *Collector) Remove(p *pool.Pool) bool {
	if p == nil {
		return false
	}
	name := p.Name()
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.pools[name]
	if m == nil || m.pool != p {
		return false
	}
	m.removed.Store(true)
	delete(c.pools, name)
	labels := prometheus.Labels{"pool": name}
	c.admissions.DeletePartialMatch(labels)
	c.completions.DeletePartialMatch(labels)
	c.changes.DeletePartialMatch(labels)
	c.wait.DeletePartialMatch(labels)
	c.hold.DeletePartialMatch(labels)
	return true
}

// Describe sends the descriptors of every metric family c reports.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.gauges {
		ch <- d
	}
	c.admissions.Describe(ch)
	c.completions.Describe(ch)
	c.changes.Describe(ch)
	c.wait.Describe(ch)
	c.hold.Describe(ch)
}

// Collect sends the current values: the gauges of each added pool, read
// from its Stats, and the counters and histograms.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	pools := make([]*pool.Pool, 0, len(c.pools))
	for _, m := range c.pools {
		if m.pool != nil {
			pools = append(pools, m.pool)
		}
	}
	c.mu.Unlock()
	for _, p := range pools {
		s := p.Stats()
		values := [numGauges]int64{
			gaugeLimit:         s.Limit,
			gaugeInUse:         s.InUse,
			gaugeRunning:       s.Running,
			gaugePending:       s.Waiting,
			gaugePendingWeight: s.WaitingWeight,
			gaugeQueued:        s.Queued,
			gaugeQueuedWeight:  s.QueuedWeight,
		}
		name := p.Name()
		for i, d := range c.gauges {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(values[i]), name)
		}
	}
	c.admissions.Collect(ch)
	c.completions.Collect(ch)
	c.changes.Collect(ch)
	c.wait.Collect(ch)
	c.hold.Collect(ch)
}
