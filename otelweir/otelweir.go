// Package otelweir records the metrics of weir pools with OpenTelemetry.
//
// It uses the OpenTelemetry metric API only; the application brings the
// SDK and its exporters. [Metrics] creates its instruments from a
// MeterProvider, counts events from the pool's event hook (pool.Observer),
// and reads gauges from [pool.Pool.Stats] in a callback at each
// collection, for one pool or many, each with the attribute
// pool=<name> given by pool.WithName:
//
//	m, err := otelweir.New(provider)
//	if err != nil { ... }
//	p, err := pool.New(8, pool.WithName("db"), pool.WithObserver(m.Observer()))
//	if err != nil { ... }
//	if err := m.Add(p); err != nil { ... }
//
// The instruments, and the names that the OpenTelemetry Prometheus
// exporter gives them (it adds _seconds for the unit s and _total to
// counters, and drops units in braces):
//
//	weir.pool.weight.limit     gauge      {weight}     weir_pool_weight_limit
//	weir.pool.weight.in_use    gauge      {weight}     weir_pool_weight_in_use
//	weir.pool.job.running      gauge      {job}        weir_pool_job_running
//	weir.pool.pending.requests gauge      {request}    weir_pool_pending_requests
//	weir.pool.pending.weight   gauge      {weight}     weir_pool_pending_weight
//	weir.pool.queue.length     gauge      {job}        weir_pool_queue_length
//	weir.pool.queue.weight     gauge      {weight}     weir_pool_queue_weight
//	weir.pool.admissions       counter    {admission}  weir_pool_admissions_total
//	weir.pool.job.completions  counter    {job}        weir_pool_job_completions_total
//	weir.pool.limit.changes    counter    {change}     weir_pool_limit_changes_total
//	weir.pool.wait.duration    histogram  s            weir_pool_wait_duration_seconds
//	weir.pool.hold.duration    histogram  s            weir_pool_hold_duration_seconds
//
// Admissions and wait durations have the attribute result (admitted,
// rejected, canceled, closed or invalid); completions and hold durations
// have outcome (success, error, panic or canceled). The gauges are those
// of promweir, read from Stats: Limit, InUse, Running, Waiting,
// WaitingWeight, Queued and QueuedWeight.
//
// The histograms have explicit bucket boundaries in seconds, from 100µs to
// a minute (see WithBuckets): the SDK's default boundaries suit
// milliseconds.
package otelweir

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/weir-go/weir/job"
	"github.com/weir-go/weir/pool"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// ScopeName is the instrumentation scope of the instruments: the name of
// the Meter that New gets from its MeterProvider.
const ScopeName = "github.com/weir-go/weir/otelweir"

var (
	// ErrInvalidOption: an Option passed to New is invalid, such as
	// buckets that are empty or not increasing.
	ErrInvalidOption = errors.New("otelweir: invalid option")
	// ErrNilMeterProvider: New was given a nil MeterProvider.
	ErrNilMeterProvider = errors.New("otelweir: nil MeterProvider")
	// ErrNilPool: Add was given a nil pool.
	ErrNilPool = errors.New("otelweir: nil pool")
	// ErrDuplicatePool: Add was given a pool whose name is taken by
	// another pool already added.
	ErrDuplicatePool = errors.New("otelweir: duplicate pool name")
)

// defaultBuckets are the boundaries of the histograms' buckets, in
// seconds, unless WithBuckets says otherwise.
var defaultBuckets = []float64{
	.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05,
	.1, .25, .5, 1, 2.5, 5, 10, 30, 60,
}

// An Option configures Metrics in New.
type Option interface {
	apply(*options) error
}

type options struct {
	buckets []float64
}

type optionFunc func(*options) error

func (f optionFunc) apply(o *options) error { return f(o) }

// WithBuckets sets the explicit bucket boundaries, in seconds, of the wait
// and hold histograms. The default, from 100µs to a minute, is
//
//	.0001 .00025 .0005 .001 .0025 .005 .01 .025 .05 .1 .25 .5 1 2.5 5 10 30 60
//
// Boundaries that are none, NaN or not strictly increasing make New fail
// with ErrInvalidOption. The boundaries are copied. A View of the SDK can
// still override them.
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

// Metrics records the metrics of weir pools with OpenTelemetry
// instruments. Its methods are safe for concurrent use.
type Metrics struct {
	admissions  metric.Int64Counter
	completions metric.Int64Counter
	changes     metric.Int64Counter
	wait        metric.Float64Histogram
	hold        metric.Float64Histogram
	gauges      [numGauges]metric.Int64ObservableGauge

	mu    sync.Mutex
	pools map[string]*poolAttrs // by pool name
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

// Outcomes of a job, as the attribute outcome names them.
const (
	outcomeSuccess = iota
	outcomeError
	outcomePanic
	outcomeCanceled
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"success", "error", "panic", "canceled"}

const numResults = int(pool.AdmissionInvalid) + 1

// poolAttrs holds one pool's attribute sets, as options built once, so
// that an event builds no attributes and allocates nothing.
type poolAttrs struct {
	name       string
	pool       *pool.Pool // nil until Add
	removed    atomic.Bool
	results    [numResults]attrOptions
	outcomes   [numOutcomes]attrOptions
	changes    []metric.AddOption
	observeOpt []metric.ObserveOption
}

// attrOptions is one attribute set as the options of Add and Record.
type attrOptions struct {
	add    []metric.AddOption
	record []metric.RecordOption
}

func newAttrOptions(attrs ...attribute.KeyValue) attrOptions {
	opt := metric.WithAttributeSet(attribute.NewSet(attrs...))
	return attrOptions{add: []metric.AddOption{opt}, record: []metric.RecordOption{opt}}
}

// New creates the instruments from mp's Meter named ScopeName, and
// registers the callback that reads the gauges of the pools given to
// Add. It fails with ErrNilMeterProvider for a nil mp, with
// ErrInvalidOption for a bad option, and with the Meter's error if it
// fails to create an instrument.
func New(mp metric.MeterProvider, opts ...Option) (*Metrics, error) {
	if mp == nil {
		return nil, ErrNilMeterProvider
	}
	o := options{buckets: defaultBuckets}
	for _, opt := range opts {
		if err := opt.apply(&o); err != nil {
			return nil, err
		}
	}
	meter := mp.Meter(ScopeName)
	m := &Metrics{pools: make(map[string]*poolAttrs)}
	var errs []error
	counter := func(name, unit, desc string) metric.Int64Counter {
		c, err := meter.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	histogram := func(name, desc string) metric.Float64Histogram {
		h, err := meter.Float64Histogram(name, metric.WithUnit("s"), metric.WithDescription(desc),
			metric.WithExplicitBucketBoundaries(o.buckets...))
		errs = append(errs, err)
		return h
	}
	gauge := func(name, unit, desc string) metric.Int64ObservableGauge {
		g, err := meter.Int64ObservableGauge(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return g
	}
	m.admissions = counter("weir.pool.admissions", "{admission}", "Admission decisions of the pool's jobs and Do calls, by result.")
	m.completions = counter("weir.pool.job.completions", "{job}", "Jobs and Do calls that ended, by outcome.")
	m.changes = counter("weir.pool.limit.changes", "{change}", "Changes of the pool's weight limit, by Resize or an adaptive limit.")
	m.wait = histogram("weir.pool.wait.duration", "Time from submission to the admission decision, by result.")
	m.hold = histogram("weir.pool.hold.duration", "Time a job held its weight (0 if it never ran), by outcome.")
	m.gauges = [numGauges]metric.Int64ObservableGauge{
		gaugeLimit:         gauge("weir.pool.weight.limit", "{weight}", "The most weight that may run at once."),
		gaugeInUse:         gauge("weir.pool.weight.in_use", "{weight}", "Weight held by running jobs and Do calls."),
		gaugeRunning:       gauge("weir.pool.job.running", "{job}", "Jobs running (Do calls show only in weight in use)."),
		gaugePending:       gauge("weir.pool.pending.requests", "{request}", "Callers waiting in Submit for room in the queue, and in Do for weight."),
		gaugePendingWeight: gauge("weir.pool.pending.weight", "{weight}", "The weight that waiting callers wait for."),
		gaugeQueued:        gauge("weir.pool.queue.length", "{job}", "Jobs in the queue, waiting for their weight."),
		gaugeQueuedWeight:  gauge("weir.pool.queue.weight", "{weight}", "The weight of the queued jobs."),
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("otelweir: %w", err)
	}
	observables := make([]metric.Observable, numGauges)
	for i, g := range m.gauges {
		observables[i] = g
	}
	if _, err := meter.RegisterCallback(m.observe, observables...); err != nil {
		return nil, fmt.Errorf("otelweir: %w", err)
	}
	return m, nil
}

// attrs returns the attribute sets of the pool named name, building them.
func (m *Metrics) attrs(name string) *poolAttrs {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.attrsLocked(name)
}

func (m *Metrics) attrsLocked(name string) *poolAttrs {
	if a := m.pools[name]; a != nil {
		return a
	}
	p := attribute.String("pool", name)
	a := &poolAttrs{name: name, changes: newAttrOptions(p).add}
	for r := range numResults {
		a.results[r] = newAttrOptions(p, attribute.String("result", pool.AdmissionResult(r).String()))
	}
	for o, outcome := range outcomeNames {
		a.outcomes[o] = newAttrOptions(p, attribute.String("outcome", outcome))
	}
	a.observeOpt = []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(p))}
	m.pools[name] = a
	return a
}

// Observer returns the hook to give to pool.WithObserver, for each pool
// whose events m records. The attribute pool is the pool's name (see
// pool.WithName); pools of the same name add up. The hook builds no
// attributes: each pool's are built on its first event, once.
//
// Each call returns a new Observer; give each one to one pool.
func (m *Metrics) Observer() pool.Observer {
	// The attributes of the last pool seen, so that an event needs no
	// map lookup. A pool's name does not change, so this misses only
	// on the first event or after Remove.
	var last atomic.Pointer[poolAttrs]
	get := func(name string) *poolAttrs {
		if a := last.Load(); a != nil && a.name == name && !a.removed.Load() {
			return a
		}
		a := m.attrs(name)
		last.Store(a)
		return a
	}
	// Events carry no context: the pool calls its observers after the
	// fact, from whichever goroutine the event happened on.
	ctx := context.Background()
	return pool.Observer{
		Admission: func(e pool.Admission) {
			o := &get(e.Pool).results[min(int(e.Result), numResults-1)]
			m.admissions.Add(ctx, 1, o.add...)
			m.wait.Record(ctx, e.Waited.Seconds(), o.record...)
		},
		JobEnd: func(e pool.JobEnd) {
			i, ok := outcome(e.Outcome)
			if !ok {
				return
			}
			o := &get(e.Pool).outcomes[i]
			m.completions.Add(ctx, 1, o.add...)
			m.hold.Record(ctx, e.Held.Seconds(), o.record...)
		},
		LimitChange: func(e pool.LimitChange) {
			m.changes.Add(ctx, 1, get(e.Pool).changes...)
		},
	}
}

// outcome maps a job's final state to its outcome attribute.
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

// Add makes m report p's gauges, read from p.Stats() at each collection,
// with the attribute pool=p.Name(). It fails with ErrNilPool for a nil p,
// and with ErrDuplicatePool if a pool of that name was added before and
// not removed (p itself included).
func (m *Metrics) Add(p *pool.Pool) error {
	if p == nil {
		return ErrNilPool
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.attrsLocked(p.Name())
	if a.pool != nil {
		return fmt.Errorf("%w: %q", ErrDuplicatePool, p.Name())
	}
	a.pool = p
	return nil
}

// Remove stops reporting the gauges of the pool named p.Name(), if p is
// the pool added under that name, and reports whether it did. The
// counters and histograms keep their totals: with cumulative temporality
// the SDK goes on exporting them.
func (m *Metrics) Remove(p *pool.Pool) bool {
	if p == nil {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.pools[p.Name()]
	if a == nil || a.pool != p {
		return false
	}
	a.removed.Store(true)
	delete(m.pools, p.Name())
	return true
}

// observe is the callback of the gauges.
func (m *Metrics) observe(_ context.Context, o metric.Observer) error {
	type added struct {
		p    *pool.Pool
		opts []metric.ObserveOption
	}
	m.mu.Lock()
	pools := make([]added, 0, len(m.pools))
	for _, a := range m.pools {
		if a.pool != nil {
			pools = append(pools, added{a.pool, a.observeOpt})
		}
	}
	m.mu.Unlock()
	for _, a := range pools {
		s := a.p.Stats()
		values := [numGauges]int64{
			gaugeLimit:         s.Limit,
			gaugeInUse:         s.InUse,
			gaugeRunning:       s.Running,
			gaugePending:       s.Waiting,
			gaugePendingWeight: s.WaitingWeight,
			gaugeQueued:        s.Queued,
			gaugeQueuedWeight:  s.QueuedWeight,
		}
		for i, g := range m.gauges {
			o.ObserveInt64(g, values[i], a.opts...)
		}
	}
	return nil
}
