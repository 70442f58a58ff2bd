package pool

import (
	"context"
	"errors"
	"time"

	"github.com/weir-go/weir/job"
)

// Observer receives a pool's events, for metrics, tracing or logs of your
// own; packages promweir and otelweir are built on it. Each field may be
// nil. The pool calls them synchronously, on the goroutine where the event
// happens (a submitter, a worker, a Do caller), so they must be quick and
// must not call the pool's waiting methods. An event's strings are the
// pool's and the job's names.
//
// With no Observer (the default) the pool takes no time stamps and builds
// no events: observing costs nothing when it is off.
type Observer struct {
	// Admission: a job asked for its weight and got an answer: admitted
	// (after Waited in the queue or at the door), or turned away.
	Admission func(Admission)
	// JobEnd: an admitted job, or a queued one dropped before it ran,
	// ended. A queued job that is dropped (its ctx ended, it was
	// cancelled, the pool shut down) also reports its Admission, turned
	// away after the time it waited.
	JobEnd func(JobEnd)
	// LimitChange: the limit changed, by Resize or an adaptive limit.
	LimitChange func(LimitChange)
}

// AdmissionResult is how an admission ended.
type AdmissionResult uint8

const (
	AdmissionAdmitted AdmissionResult = iota // admitted: the job holds its weight
	AdmissionRejected                        // turned away: TrySubmit's ErrFull, or ErrQueueFull
	AdmissionCanceled                        // its ctx ended first
	AdmissionClosed                          // the pool is shutting down
	AdmissionInvalid                         // bad input: nil job or ctx, weight below 1 or above the limit
)

var admissionNames = [...]string{"admitted", "rejected", "canceled", "closed", "invalid"}

// String returns the result's name in lower case, such as "admitted".
func (r AdmissionResult) String() string {
	if int(r) < len(admissionNames) {
		return admissionNames[r]
	}
	return "invalid"
}

// admissionResult classifies a submission's error.
func admissionResult(err error) AdmissionResult {
	switch {
	case err == nil:
		return AdmissionAdmitted
	case errors.Is(err, ErrClosed):
		return AdmissionClosed
	case errors.Is(err, ErrFull), errors.Is(err, ErrQueueFull):
		return AdmissionRejected
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return AdmissionCanceled
	}
	return AdmissionInvalid
}

// Admission is the event of an admission decision.
type Admission struct {
	Pool   string
	Job    string // the job's name, "" if it has none yet
	ID     uint64 // 0 when it was turned away before it was accepted
	Weight int64
	Waited time.Duration // from Submit or Do to the decision
	Result AdmissionResult
	Err    error // why it was turned away; nil when admitted
}

// JobEnd is the event of a job's end.
type JobEnd struct {
	Pool    string
	Job     string
	ID      uint64
	Weight  int64
	Held    time.Duration // how long it held its weight; 0 if it never ran
	Outcome job.State     // Succeeded, Failed, Panicked or Canceled
	Err     error
}

// LimitChange is the event of a change of limit.
type LimitChange struct {
	Pool     string
	Old, New int64
	Reason   string // "Resize", or the adaptive controller's reason
}

func (p *Pool) observeAdmission(name string, id uint64, w int64, waited time.Duration, r AdmissionResult, err error) {
	for i := range p.obs {
		if f := p.obs[i].Admission; f != nil {
			f(Admission{Pool: p.name, Job: name, ID: id, Weight: w, Waited: waited, Result: r, Err: err})
		}
	}
}

func (p *Pool) observeEnd(name string, id uint64, w int64, held time.Duration, s job.State, err error) {
	for i := range p.obs {
		if f := p.obs[i].JobEnd; f != nil {
			f(JobEnd{Pool: p.name, Job: name, ID: id, Weight: w, Held: held, Outcome: s, Err: err})
		}
	}
}

func (p *Pool) observeResize(old, limit int64, reason string) {
	for i := range p.obs {
		if f := p.obs[i].LimitChange; f != nil {
			f(LimitChange{Pool: p.name, Old: old, New: limit, Reason: reason})
		}
	}
}

// rejected reports a submission turned away with err, after waiting
// since start (the zero time if it did not wait or nothing watches), and
// returns err.
//
//go:noinline
func (p *Pool) rejected(opts []job.Option, err error, start time.Time) error {
	if len(p.obs) == 0 {
		return err
	}
	var waited time.Duration
	if !start.IsZero() {
		waited = time.Since(start)
	}
	name, w := jobOptions(opts)
	p.observeAdmission(name, 0, w, waited, admissionResult(err), err)
	return err
}
