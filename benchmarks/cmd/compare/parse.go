package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"golang.org/x/perf/benchfmt"
)

// results are the parsed benchmark output: every sample of every unit,
// per scenario, limit and peer.
type results struct {
	cells  map[key]*cell
	config map[string]string // file configuration: goos, goarch, cpu, pkg
	order  []key             // first-seen order
}

// key names one sub-benchmark: Benchmark<Scenario>/limit=<Limit>/<Peer>.
type key struct {
	Scenario, Limit, Peer string
}

func (k key) row() rowKey { return rowKey{k.Scenario, k.Limit} }

// rowKey names one table: a scenario at one limit.
type rowKey struct {
	Scenario, Limit string
}

func (r rowKey) String() string { return r.Scenario + "/limit=" + r.Limit }

// cell holds the samples of one sub-benchmark, per tidied unit
// (sec/op, B/op, allocs/op, and the custom metrics).
type cell struct {
	values map[string][]float64
	units  []string // first-seen order
}

// parse reads go test -bench output. Lines that are not benchmark results
// are ignored, and so are benchmarks not named in the scenario form.
func parse(r io.Reader, name string) (*results, error) {
	res := &results{cells: map[key]*cell{}, config: map[string]string{}}
	rd := benchfmt.NewReader(r, name)
	for rd.Scan() {
		rec, ok := rd.Result().(*benchfmt.Result)
		if !ok {
			continue // a syntax error or unit metadata
		}
		for _, c := range rec.Config {
			if c.File {
				res.config[c.Key] = string(c.Value)
			}
		}
		k, ok := parseName(rec.Name)
		if !ok {
			continue
		}
		c := res.cells[k]
		if c == nil {
			c = &cell{values: map[string][]float64{}}
			res.cells[k] = c
			res.order = append(res.order, k)
		}
		for _, v := range rec.Values {
			if _, seen := c.values[v.Unit]; !seen {
				c.units = append(c.units, v.Unit)
			}
			c.values[v.Unit] = append(c.values[v.Unit], v.Value)
		}
	}
	if err := rd.Err(); err != nil {
		return nil, err
	}
	if len(res.cells) == 0 {
		return nil, fmt.Errorf("%s: no benchmark results of the form Benchmark<Scenario>/limit=N/<peer>", name)
	}
	return res, nil
}

// parseName splits SubmitWait/limit=2/weir-2 (benchfmt drops the
// Benchmark prefix).
func parseName(n benchfmt.Name) (key, bool) {
	base, parts := n.Parts()
	if len(parts) > 0 && strings.HasPrefix(string(parts[len(parts)-1]), "-") {
		parts = parts[:len(parts)-1] // GOMAXPROCS
	}
	scenario := strings.TrimPrefix(string(base), "Benchmark") // the Reader drops it already
	if scenario == "" || len(parts) != 2 {
		return key{}, false
	}
	limit, ok := strings.CutPrefix(string(parts[0]), "/limit=")
	if !ok {
		return key{}, false
	}
	return key{Scenario: scenario, Limit: limit, Peer: strings.TrimPrefix(string(parts[1]), "/")}, true
}

// rows returns the scenario/limit tables in the order they first ran.
func (r *results) rows() []rowKey {
	var rows []rowKey
	for _, k := range r.order {
		if !slices.Contains(rows, k.row()) {
			rows = append(rows, k.row())
		}
	}
	return rows
}

// peers returns the peers of a row in the order they ran (weir first).
func (r *results) peers(row rowKey) []string {
	var ps []string
	for _, k := range r.order {
		if k.row() == row {
			ps = append(ps, k.Peer)
		}
	}
	return ps
}

// units returns every unit measured in a row, sec/op, B/op and allocs/op
// first.
func (r *results) units(row rowKey) []string {
	var us []string
	for _, p := range r.peers(row) {
		for _, u := range r.cells[key{row.Scenario, row.Limit, p}].units {
			if !slices.Contains(us, u) {
				us = append(us, u)
			}
		}
	}
	rank := func(u string) int {
		switch u {
		case "sec/op":
			return 0
		case "B/op":
			return 1
		case "allocs/op":
			return 2
		}
		return 3
	}
	slices.SortStableFunc(us, func(a, b string) int { return rank(a) - rank(b) })
	return us
}

// sample returns the values of one unit for one sub-benchmark.
func (r *results) sample(k key, unit string) []float64 {
	if c := r.cells[k]; c != nil {
		return c.values[unit]
	}
	return nil
}
