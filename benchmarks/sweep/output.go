package sweep

import (
	"cmp"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteTable writes the report as an aligned text table, with a line
// naming the best limit and, when the single runs disagree with the
// medians, a warning that the choice is within the noise.
func (r *Report) WriteTable(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "workload: %s\n", r.Workload)
	switch {
	case r.Count > 0:
		fmt.Fprintf(&b, "run:      %d requests per limit\n", r.Count)
	default:
		fmt.Fprintf(&b, "run:      %v per limit\n", r.Duration)
	}
	if r.Repeat > 1 {
		fmt.Fprintf(&b, "repeat:   %d runs per limit; the table shows their medians (max and peak: the highest)\n", r.Repeat)
	}
	if r.SLO > 0 {
		fmt.Fprintf(&b, "SLO:      p99 <= %v\n", r.SLO)
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "limit\trequests\terrors\tthroughput/s\tp50\tp95\tp99\tmax\tpeak\t\t")
	for _, res := range r.Results {
		fmt.Fprintf(tw, "%d\t%d\t%d\t%.1f\t%s\t%s\t%s\t%s\t%d\t%s\t\n",
			res.Limit, res.Requests, res.Errors, res.Throughput,
			fmtDur(res.P50), fmtDur(res.P95), fmtDur(res.P99), fmtDur(res.Max), res.Peak, note(res, r.SLO, r.Repeat))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	b.WriteString("\n")
	if best, ok := r.BestResult(); ok {
		fmt.Fprintf(&b, "best limit: %d (%.1f req/s, p99 %s)\n", best.Limit, best.Throughput, fmtDur(best.P99))
	} else {
		b.WriteString("best limit: none (no complete run met the SLO with any throughput)\n")
	}
	if r.WithinNoise() {
		fmt.Fprintf(&b, "warning: the choice is within the noise: the single runs chose %s; "+
			"raise -repeat or -duration, or widen -tolerance\n", limitList(r.RunBest))
	}
	if r.Interrupted {
		b.WriteString("interrupted: the limits not listed did not run\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// limitList writes limits as "8, 16 and none".
func limitList(limits []int64) string {
	parts := make([]string, len(limits))
	for i, l := range limits {
		parts[i] = "none"
		if l > 0 {
			parts[i] = strconv.FormatInt(l, 10)
		}
	}
	if len(parts) < 2 {
		return strings.Join(parts, "")
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// String returns r on one line, as the sweep command prints each limit
// when it is done.
func (r Result) String() string {
	s := fmt.Sprintf("limit %d: %.1f req/s, p50 %s, p99 %s, %d requests, %d errors, peak %d",
		r.Limit, r.Throughput, fmtDur(r.P50), fmtDur(r.P99), r.Requests, r.Errors, r.Peak)
	if len(r.Runs) > 1 {
		s += fmt.Sprintf(" (median of %d runs, p99 %s to %s)", len(r.Runs), fmtDur(minP99(r.Runs)), fmtDur(maxP99(r.Runs)))
	}
	if r.Partial {
		s += " (partial)"
	}
	return s
}

func minP99(runs []Result) time.Duration {
	return slices.MinFunc(runs, func(a, b Result) int { return cmp.Compare(a.P99, b.P99) }).P99
}

func maxP99(runs []Result) time.Duration {
	return slices.MaxFunc(runs, func(a, b Result) int { return cmp.Compare(a.P99, b.P99) }).P99
}

func note(r Result, slo time.Duration, repeat int) string {
	var notes []string
	if repeat > 1 && len(r.Runs) < repeat {
		notes = append(notes, fmt.Sprintf("%d of %d runs", len(r.Runs), repeat))
	}
	if r.Best {
		notes = append(notes, "<- best")
	}
	if !r.MeetsSLO(slo) {
		notes = append(notes, "p99 > SLO")
	}
	if r.Partial {
		notes = append(notes, "partial")
	}
	return strings.Join(notes, ", ")
}

// fmtDur rounds d to three significant digits.
func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	case d >= time.Microsecond:
		return d.Round(10 * time.Nanosecond).String()
	}
	return d.String()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

var csvHeader = []string{"limit", "requests", "errors", "elapsed_s", "throughput_per_s",
	"p50_ms", "p95_ms", "p99_ms", "max_ms", "peak", "meets_slo", "partial", "best", "runs"}

// WriteCSV writes one row per limit, with a header row.
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	for _, res := range r.Results {
		row := []string{
			strconv.FormatInt(res.Limit, 10), strconv.Itoa(res.Requests), strconv.Itoa(res.Errors),
			f(res.Elapsed.Seconds()), f(res.Throughput),
			f(ms(res.P50)), f(ms(res.P95)), f(ms(res.P99)), f(ms(res.Max)),
			strconv.FormatInt(res.Peak, 10), strconv.FormatBool(res.MeetsSLO(r.SLO)),
			strconv.FormatBool(res.Partial), strconv.FormatBool(res.Best),
			strconv.Itoa(max(len(res.Runs), 1)),
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

type jsonReport struct {
	Workload    string       `json:"workload"`
	Limits      []int64      `json:"limits"`
	DurationS   float64      `json:"duration_s,omitempty"`
	Count       int          `json:"count,omitempty"`
	SLOMS       float64      `json:"slo_ms,omitempty"`
	Started     time.Time    `json:"started"`
	Repeat      int          `json:"repeat"`
	BestLimit   *int64       `json:"best_limit"`
	RunBest     []int64      `json:"run_best_limits,omitempty"`
	WithinNoise bool         `json:"within_noise"`
	Interrupted bool         `json:"interrupted"`
	Results     []jsonResult `json:"results"`
}

type jsonResult struct {
	Limit      int64        `json:"limit"`
	Requests   int          `json:"requests"`
	Errors     int          `json:"errors"`
	ElapsedS   float64      `json:"elapsed_s"`
	Throughput float64      `json:"throughput_per_s"`
	P50MS      float64      `json:"p50_ms"`
	P95MS      float64      `json:"p95_ms"`
	P99MS      float64      `json:"p99_ms"`
	MaxMS      float64      `json:"max_ms"`
	Peak       int64        `json:"peak"`
	MeetsSLO   bool         `json:"meets_slo"`
	Partial    bool         `json:"partial,omitempty"`
	Best       bool         `json:"best,omitempty"`
	Runs       []jsonResult `json:"runs,omitempty"`
}

// WriteJSON writes the report as indented JSON, durations in
// milliseconds (seconds for run lengths). A limit that ran more than once
// lists its runs under "runs".
func (r *Report) WriteJSON(w io.Writer) error {
	jr := jsonReport{
		Workload:    r.Workload,
		Limits:      r.Limits,
		DurationS:   r.Duration.Seconds(),
		Count:       r.Count,
		SLOMS:       ms(r.SLO),
		Started:     r.Started.UTC(),
		Repeat:      max(r.Repeat, 1),
		RunBest:     r.RunBest,
		WithinNoise: r.WithinNoise(),
		Interrupted: r.Interrupted,
		Results:     make([]jsonResult, 0, len(r.Results)),
	}
	if best, ok := r.BestResult(); ok {
		jr.BestLimit = &best.Limit
	}
	conv := func(res Result) jsonResult {
		return jsonResult{
			Limit: res.Limit, Requests: res.Requests, Errors: res.Errors,
			ElapsedS: res.Elapsed.Seconds(), Throughput: res.Throughput,
			P50MS: ms(res.P50), P95MS: ms(res.P95), P99MS: ms(res.P99), MaxMS: ms(res.Max),
			Peak: res.Peak, MeetsSLO: res.MeetsSLO(r.SLO), Partial: res.Partial, Best: res.Best,
		}
	}
	for _, res := range r.Results {
		jres := conv(res)
		for _, run := range res.Runs {
			jres.Runs = append(jres.Runs, conv(run))
		}
		jr.Results = append(jr.Results, jres)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(jr)
}
