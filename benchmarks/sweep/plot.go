package sweep

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Series is one line of a Panel.
type Series struct {
	Name string
	X, Y []float64
}

// Mark is a reference line: horizontal in a Panel, vertical across a
// Chart.
type Mark struct {
	Name  string
	Value float64
}

// Panel is one plot of a Chart, sharing the chart's X axis.
type Panel struct {
	YLabel string
	Series []Series
	// LogY puts Y on a log scale (ignored if a value is not positive).
	LogY bool
	// Lines are horizontal reference lines, such as an SLO.
	Lines []Mark
	// LegendBottom and LegendRight move the legend from the top left.
	LegendBottom, LegendRight bool
}

// Chart is panels stacked over a shared X axis, drawn as a PNG. It draws
// a sweep (Report.Chart) and is meant to draw any other series over a
// limit or over time, such as an adaptive limit's trace.
type Chart struct {
	Title  string
	XLabel string
	// LogX puts X on a log scale; XTicks, if set, are the labelled X
	// values (the limits of a sweep).
	LogX   bool
	XTicks []float64
	// Marks are vertical reference lines across every panel, such as
	// the best limit.
	Marks  []Mark
	Panels []Panel
	// Width and Height default to 8 inches and 3 inches per panel.
	Width, Height vg.Length
}

var markColor = color.RGBA{R: 200, G: 30, B: 30, A: 255}

// WritePNG draws the chart as a PNG image at 100 dots per inch.
func (c Chart) WritePNG(w io.Writer) error {
	if len(c.Panels) == 0 {
		return fmt.Errorf("sweep: chart %q has no panels", c.Title)
	}
	width, height := c.Width, c.Height
	if width == 0 {
		width = 8 * vg.Inch
	}
	if height == 0 {
		height = vg.Length(len(c.Panels)) * 3 * vg.Inch
	}
	plots := make([][]*plot.Plot, len(c.Panels))
	for i, pn := range c.Panels {
		p, err := c.panel(i, pn)
		if err != nil {
			return err
		}
		plots[i] = []*plot.Plot{p}
	}
	img := vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(100))
	dc := draw.New(img)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	tiles := draw.Tiles{Rows: len(plots), Cols: 1, PadTop: vg.Points(4), PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(12), PadY: vg.Points(8)}
	canvases := plot.Align(plots, tiles, dc)
	for i := range plots {
		plots[i][0].Draw(canvases[i][0])
	}
	_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(w)
	return err
}

func (c Chart) panel(i int, pn Panel) (*plot.Plot, error) {
	p := plot.New()
	if i == 0 {
		p.Title.Text = c.Title
		p.Title.TextStyle.Font.Size = vg.Points(14)
	}
	if i == len(c.Panels)-1 {
		p.X.Label.Text = c.XLabel
	}
	p.Y.Label.Text = pn.YLabel
	p.Add(plotter.NewGrid())
	p.Legend.Top = !pn.LegendBottom
	p.Legend.Left = !pn.LegendRight
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(6), vg.Points(-6)
	if pn.LegendRight {
		p.Legend.XOffs = -p.Legend.XOffs
	}
	if pn.LegendBottom {
		p.Legend.YOffs = -p.Legend.YOffs
	}

	xmin, xmax := math.Inf(1), math.Inf(-1)
	ymin, ymax := math.Inf(1), math.Inf(-1)
	positive := true
	for _, s := range pn.Series {
		for k := range s.X {
			xmin, xmax = min(xmin, s.X[k]), max(xmax, s.X[k])
			ymin, ymax = min(ymin, s.Y[k]), max(ymax, s.Y[k])
			positive = positive && s.Y[k] > 0
		}
	}
	for _, m := range pn.Lines {
		ymin, ymax = min(ymin, m.Value), max(ymax, m.Value)
		positive = positive && m.Value > 0
	}
	if math.IsInf(xmin, 0) {
		xmin, xmax, ymin, ymax = 1, 2, 0, 1
	}
	if c.LogX && xmin > 0 {
		p.X.Scale = plot.LogScale{}
	}
	if len(c.XTicks) > 0 {
		ticks := make([]plot.Tick, len(c.XTicks))
		for k, v := range c.XTicks {
			ticks[k] = plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'g', -1, 64)}
		}
		p.X.Tick.Marker = plot.ConstantTicks(ticks)
	}
	logY := pn.LogY && positive
	if logY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = LogTicks{}
		p.Y.Min, p.Y.Max = ymin/1.5, ymax*2
	} else {
		p.Y.Min, p.Y.Max = min(0, ymin), ymax*1.15
	}
	if p.Y.Max <= p.Y.Min {
		p.Y.Max = p.Y.Min + 1
	}

	for k, s := range pn.Series {
		if len(s.X) != len(s.Y) {
			return nil, fmt.Errorf("sweep: series %q has %d X and %d Y", s.Name, len(s.X), len(s.Y))
		}
		xys := make(plotter.XYs, len(s.X))
		for j := range s.X {
			xys[j] = plotter.XY{X: s.X[j], Y: s.Y[j]}
		}
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, err
		}
		line.Color = plotutil.Color(k)
		line.Width = vg.Points(2)
		points.Color = plotutil.Color(k)
		points.Shape = plotutil.Shape(k)
		points.Radius = vg.Points(3)
		p.Add(line, points)
		if s.Name != "" {
			p.Legend.Add(s.Name, line, points)
		}
	}
	for _, m := range pn.Lines {
		l, err := plotter.NewLine(plotter.XYs{{X: xmin, Y: m.Value}, {X: xmax, Y: m.Value}})
		if err != nil {
			return nil, err
		}
		l.Color = markColor
		l.Dashes = []vg.Length{vg.Points(6), vg.Points(4)}
		l.Width = vg.Points(1.5)
		p.Add(l)
		if m.Name != "" {
			p.Legend.Add(m.Name, l)
		}
	}
	for _, m := range c.Marks {
		l, err := plotter.NewLine(plotter.XYs{{X: m.Value, Y: p.Y.Min}, {X: m.Value, Y: p.Y.Max}})
		if err != nil {
			return nil, err
		}
		l.Color = color.RGBA{G: 140, B: 60, A: 255}
		l.Dashes = []vg.Length{vg.Points(2), vg.Points(3)}
		l.Width = vg.Points(1.5)
		p.Add(l)
		if m.Name != "" && i == 0 {
			p.Legend.Add(m.Name, l)
		}
	}
	return p, nil
}

// Chart returns the sweep's chart: throughput against limit, and the
// latency percentiles against limit with the SLO, the best limit marked
// on both.
func (r *Report) Chart() Chart {
	n := len(r.Results)
	x := make([]float64, n)
	tp := make([]float64, n)
	p50, p95, p99 := make([]float64, n), make([]float64, n), make([]float64, n)
	for i, res := range r.Results {
		x[i] = float64(res.Limit)
		tp[i] = res.Throughput
		p50[i], p95[i], p99[i] = ms(res.P50), ms(res.P95), ms(res.P99)
	}
	lat := Panel{
		YLabel: "latency (ms)",
		LogY:   true,
		Series: []Series{{Name: "p50", X: x, Y: p50}, {Name: "p95", X: x, Y: p95}, {Name: "p99", X: x, Y: p99}},
	}
	if r.SLO > 0 {
		lat.Lines = []Mark{{Name: "SLO " + r.SLO.String(), Value: ms(r.SLO)}}
	}
	c := Chart{
		Title:  "sweep: " + r.Workload,
		XLabel: "concurrency limit",
		LogX:   true,
		XTicks: x,
		Panels: []Panel{
			{YLabel: "throughput (req/s)", Series: []Series{{Name: "throughput", X: x, Y: tp}}, LegendBottom: true, LegendRight: true},
			lat,
		},
	}
	if best, ok := r.BestResult(); ok {
		c.Marks = []Mark{{Name: "best limit " + strconv.FormatInt(best.Limit, 10), Value: float64(best.Limit)}}
	}
	return c
}

// LogTicks is a plot.Ticker for log scales that labels 1, 2 and 5 times
// each power of ten, falling back to gonum's powers of ten when that gives
// fewer than two labels.
type LogTicks struct{}

// Ticks implements plot.Ticker.
func (LogTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	labelled := 0
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		for m := 1; m < 10; m++ {
			v := float64(m) * math.Pow(10, e)
			if v < lo || v > hi {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || m == 2 || m == 5 {
				t.Label = strconv.FormatFloat(v, 'g', 4, 64)
				labelled++
			}
			ticks = append(ticks, t)
		}
	}
	if labelled < 2 {
		return plot.LogTicks{Prec: -1}.Ticks(lo, hi)
	}
	return ticks
}
