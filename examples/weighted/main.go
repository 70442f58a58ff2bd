// Command weighted treats a pool's limit as a memory budget. Small jobs
// need 1 unit and big ones 4, out of a budget of 8. Jobs arrive one at a
// time, each from its own goroutine (like requests): first a run of small
// jobs, then a big one, then more small ones.
//
// It shows two things. The budget is never exceeded: every job adds its
// weight to a counter of its own while it works, and the peak of that
// counter stays at or below the budget. And the big job is not starved:
// the pool admits in FIFO order, so once the big job waits, the small jobs
// that arrive after it wait behind it, even when a unit or two is free
// that they could use. It prints the order in which the pool admitted the
// jobs (by job ID, which the pool gives at admission; the order in which
// their goroutines happen to start can differ) and the big job's place in
// it.
//
// For contrast, the same arrivals then go through greedy admission: each
// job retries TrySubmit until its weight happens to be free, so whoever
// fits first gets in. Small jobs keep taking each unit as it frees up, and
// the big job, which needs 4 free at once, waits until the small ones run
// out.
//
//	go run ./examples/weighted
//	go run ./examples/weighted -before 4 -bigs 2 -after 6 -work 20ms
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weir-go/weir/job"
	"github.com/weir-go/weir/pool"
)

// config is the workload: before small jobs, then bigs big ones, then
// after small ones, arriving gap apart, each working for work.
type config struct {
	limit     int64
	bigWeight int64
	before    int
	bigs      int
	after     int
	work      time.Duration
	gap       time.Duration
	greedy    bool // also run the greedy contrast
}

func main() {
	var cfg config
	flag.Int64Var(&cfg.limit, "limit", 8, "the budget: total weight allowed to run at once")
	flag.Int64Var(&cfg.bigWeight, "big-weight", 4, "weight of a big job (small jobs weigh 1)")
	flag.IntVar(&cfg.before, "before", 16, "small jobs arriving before the big ones")
	flag.IntVar(&cfg.bigs, "bigs", 1, "big jobs")
	flag.IntVar(&cfg.after, "after", 16, "small jobs arriving after the big ones")
	flag.DurationVar(&cfg.work, "work", 50*time.Millisecond, "how long each job works")
	flag.DurationVar(&cfg.gap, "gap", time.Millisecond, "time between arrivals")
	flag.BoolVar(&cfg.greedy, "greedy", true, "also show greedy admission for contrast")
	flag.Parse()

	if _, err := run(context.Background(), os.Stdout, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "weighted:", err)
		os.Exit(1)
	}
}

// arrival is one job of the workload, in arrival order.
type arrival struct {
	name   string // s1, s2, ... for small jobs, B1, B2, ... for big ones
	weight int64
}

// started is a job as admitted: its admission ID and when it started.
type started struct {
	arrival
	pos int           // arrival position, from 0
	id  uint64        // the pool's job ID, given in admission order
	at  time.Duration // start time, measured from the first arrival
}

// phase is what one admission policy did with the workload.
type phase struct {
	order []started // in admission order (by ID)
	peak  int64     // the most weight the jobs counted in use at once
}

// bigReport is what happened to one big job.
type bigReport struct {
	name         string
	arrived      int // 1-based arrival position
	admittedRank int // 1 + number of jobs admitted strictly earlier
	at           time.Duration
	overtakenBy  int // jobs that arrived after it and were admitted strictly before it
}

// workload returns the arrivals cfg describes.
func workload(cfg config) []arrival {
	var as []arrival
	small, big := 0, 0
	add := func(n int, isBig bool) {
		for range n {
			if isBig {
				big++
				as = append(as, arrival{"B" + strconv.Itoa(big), cfg.bigWeight})
			} else {
				small++
				as = append(as, arrival{"s" + strconv.Itoa(small), 1})
			}
		}
	}
	add(cfg.before, false)
	add(cfg.bigs, true)
	add(cfg.after, false)
	return as
}

// run plays the workload through FIFO admission and, if cfg.greedy, then
// through greedy admission, printing what happened; it returns the phases
// in that order.
func run(ctx context.Context, out io.Writer, cfg config) ([]phase, error) {
	if cfg.limit < 1 || cfg.bigWeight < 1 || cfg.bigWeight > cfg.limit {
		return nil, fmt.Errorf("need 1 <= big-weight (%d) <= limit (%d)", cfg.bigWeight, cfg.limit)
	}
	if cfg.before < 0 || cfg.bigs < 0 || cfg.after < 0 || cfg.work < 0 {
		return nil, errors.New("counts and work must not be negative")
	}
	if cfg.gap <= 0 {
		// Arrival order is defined by time; greedy submitters also retry
		// this often.
		return nil, errors.New("gap must be positive")
	}
	as := workload(cfg)
	fmt.Fprintf(out, "Budget %d: %d small jobs (weight 1), then %d big (weight %d), then %d small, arriving %v apart; each works %v.\n",
		cfg.limit, cfg.before, cfg.bigs, cfg.bigWeight, cfg.after, cfg.gap, cfg.work)

	policies := []struct {
		title  string
		greedy bool
	}{
		{"FIFO admission (pool.Submit): a job that arrives waits behind those already waiting", false},
		{fmt.Sprintf("Greedy admission (TrySubmit retried every %v), for contrast: whoever fits first gets in", cfg.gap), true},
	}
	if !cfg.greedy {
		policies = policies[:1]
	}
	var phases []phase
	for _, pol := range policies {
		ph, err := play(ctx, cfg, as, pol.greedy)
		if err != nil {
			return phases, err
		}
		phases = append(phases, ph)
		fmt.Fprintf(out, "\n%s\n", pol.title)
		fmt.Fprintf(out, "  admission order: %s\n", admissionOrder(ph.order))
		for _, b := range bigs(ph.order) {
			fmt.Fprintf(out, "  %s arrived %s and was admitted %s, at %v: %d %s that arrived after it %s admitted before it\n",
				b.name, ordinal(b.arrived), ordinal(b.admittedRank), b.at.Round(100*time.Microsecond),
				b.overtakenBy, plural(b.overtakenBy, "job"), wasWere(b.overtakenBy))
		}
		verdict := "within the budget"
		if ph.peak > cfg.limit {
			verdict = "BUDGET EXCEEDED"
		}
		fmt.Fprintf(out, "  peak weight in use, counted by the jobs: %d of %d (%s)\n", ph.peak, cfg.limit, verdict)
	}
	return phases, nil
}

// play runs the arrivals on a fresh pool, each submitted from its own
// goroutine at its arrival time, and returns when all have finished. Each
// job waits in the pool's FIFO queue (Submit), or if greedy retries
// TrySubmit every cfg.gap until its weight happens to be free.
func play(ctx context.Context, cfg config, as []arrival, greedy bool) (phase, error) {
	p, err := pool.New(cfg.limit, pool.WithName("weighted"))
	if err != nil {
		return phase{}, err
	}
	defer p.Close()

	var (
		inUse, peak atomic.Int64 // the jobs' own count, independent of the pool
		wg          sync.WaitGroup
		origin      = time.Now()
		starts      = make([]time.Duration, len(as)) // slot i written by job i only
		ids         = make([]uint64, len(as))        // likewise
		errs        = make([]error, len(as))
	)
	// One dispatcher starts the submitters in order, gap apart: timers of
	// their own would fire in a jittery order in real time. It also waits
	// until each has got into Submit's wait or been admitted (FIFO), or has
	// made its first try (greedy), before it sleeps towards the next.
	for i, a := range as {
		if err := sleep(ctx, time.Duration(i)*cfg.gap-time.Since(origin)); err != nil {
			wg.Wait()
			return phase{}, err
		}
		before := queuedOrAdmitted(p)
		tried, returned := make(chan struct{}), make(chan struct{})
		wg.Go(func() {
			defer close(returned)
			work := job.Func(func(ctx context.Context) error {
				starts[i] = time.Since(origin)
				info, _ := job.FromContext(ctx)
				ids[i] = info.ID // given at admission: the admission order
				now := inUse.Add(a.weight)
				defer inUse.Add(-a.weight)
				for p := peak.Load(); now > p && !peak.CompareAndSwap(p, now); p = peak.Load() {
				}
				return sleep(ctx, cfg.work)
			})
			opts := []job.Option{job.WithName(a.name), job.WithWeight(a.weight)}
			var h *job.Handle
			if !greedy {
				h, errs[i] = p.Submit(ctx, work, opts...)
			} else {
				for first := true; ; first = false {
					h, errs[i] = p.TrySubmit(ctx, work, opts...)
					if first {
						close(tried)
					}
					if !errors.Is(errs[i], pool.ErrFull) {
						break
					}
					if errs[i] = sleep(ctx, cfg.gap); errs[i] != nil {
						break
					}
				}
			}
			if errs[i] == nil {
				errs[i] = h.Wait()
			}
		})
		if greedy {
			select {
			case <-tried:
			case <-returned:
			}
			continue
		}
	arrive:
		for queuedOrAdmitted(p) <= before {
			select {
			case <-returned: // admitted and done already, or failed
				break arrive
			default:
				runtime.Gosched()
			}
		}
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return phase{}, err
	}
	ph := phase{peak: peak.Load()}
	for i, a := range as {
		ph.order = append(ph.order, started{a, i, ids[i], starts[i]})
	}
	slices.SortFunc(ph.order, func(x, y started) int { return cmp.Compare(x.id, y.id) })
	return ph, nil
}

// groups splits order, in admission order, into the jobs admitted
// together: consecutive jobs that started at the same instant, as jobs
// let in by one release do on a fake clock. Their IDs follow the order in
// which their goroutines resumed, so within a group jobs are listed in
// arrival order.
func groups(order []started) [][]started {
	var gs [][]started
	for i := 0; i < len(order); {
		j := i + 1
		for j < len(order) && order[j].at == order[i].at {
			j++
		}
		g := slices.Clone(order[i:j])
		slices.SortFunc(g, func(x, y started) int { return cmp.Compare(x.pos, y.pos) })
		gs = append(gs, g)
		i = j
	}
	return gs
}

// bigs reports on every job heavier than 1, in arrival order.
func bigs(order []started) []bigReport {
	var rs []bigReport
	gs := groups(order)
	for k, g := range gs {
		for _, b := range g {
			if b.weight == 1 {
				continue
			}
			r := bigReport{name: b.name, arrived: b.pos + 1, admittedRank: 1, at: b.at}
			for _, earlier := range gs[:k] {
				for _, o := range earlier {
					r.admittedRank++
					if o.pos > b.pos {
						r.overtakenBy++
					}
				}
			}
			rs = append(rs, r)
		}
	}
	slices.SortFunc(rs, func(x, y bigReport) int { return x.arrived - y.arrived })
	return rs
}

// admissionOrder lists the jobs in admission order; jobs admitted
// together are bracketed.
func admissionOrder(order []started) string {
	var parts []string
	for _, g := range groups(order) {
		names := make([]string, 0, len(g))
		for _, s := range g {
			names = append(names, s.name)
		}
		if len(g) == 1 {
			parts = append(parts, names[0])
		} else {
			parts = append(parts, "["+strings.Join(names, " ")+"]")
		}
	}
	return strings.Join(parts, " ")
}

// queuedOrAdmitted is how many submitters the pool has admitted or has
// waiting. It grows by one when a new submitter joins the queue or is
// admitted at once.
func queuedOrAdmitted(p *pool.Pool) uint64 {
	s := p.Stats()
	return s.Submitted + uint64(s.Waiting)
}

// sleep waits for d, or returns ctx's error if ctx ends first.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ordinal returns 1st, 2nd, 3rd, 4th, ..., 11th, 12th, 13th, 21st, ...
func ordinal(n int) string {
	suffix := "th"
	switch n % 10 {
	case 1:
		suffix = "st"
	case 2:
		suffix = "nd"
	case 3:
		suffix = "rd"
	}
	if n%100 >= 11 && n%100 <= 13 {
		suffix = "th"
	}
	return strconv.Itoa(n) + suffix
}

func wasWere(n int) string {
	if n == 1 {
		return "was"
	}
	return "were"
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
