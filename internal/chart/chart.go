// Package chart draws line charts as PNG images, for the tools and
// examples of this repository: one or more panels stacked over a shared X
// axis, each with any number of series, horizontal reference lines, and
// vertical marks across every panel. It draws a sweep's throughput and
// latency against the limit (benchmarks/sweep) and an adaptive limit
// against a server's capacity over time (examples/adaptive).
//
// It is a module of its own, so that gonum/plot and its fonts never enter
// weir's go.mod. Go's internal rule is about import paths, not modules: the
// examples and benchmarks modules, whose paths are under
// github.com/weir-go/weir, may import it; nothing outside the repository can.
//
//	c := chart.Chart{
//		Title:  "limit over time",
//		XLabel: "time (s)",
//		Panels: []chart.Panel{{
//			YLabel: "concurrency",
//			Series: []chart.Series{{Name: "limit", X: t, Y: limit}, {Name: "capacity", X: t, Y: capacity, Dashed: true}},
//		}},
//	}
//	err := c.WriteFile("limit.png")
package chart

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// DPI is the resolution charts are drawn at: an 8-inch chart is 800
// pixels wide.
const DPI = 100

// Series is one line of a Panel.
type Series struct {
	Name string // in the legend; "" leaves it out
	X, Y []float64
	// Points marks each value as well as drawing the line: for a few
	// values (the limits of a sweep), not for a long trace.
	Points bool
	// Dashed draws the line dashed, to tell a reference (a capacity)
	// from a measurement.
	Dashed bool
}

// Mark is a reference line: horizontal in a Panel, vertical across a
// Chart.
type Mark struct {
	Name  string // in the legend; "" leaves it out
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

// Chart is panels stacked over a shared X axis, drawn as a PNG.
type Chart struct {
	Title  string
	XLabel string
	// LogX puts X on a log scale (ignored if a value is not positive);
	// XTicks, if set, are the labelled X values.
	LogX   bool
	XTicks []float64
	// Marks are vertical reference lines across every panel, such as
	// the best limit of a sweep or the start of a phase.
	Marks  []Mark
	Panels []Panel
	// Width and Height default to 8 inches and 3 inches per panel.
	Width, Height vg.Length
}

var (
	lineColor = color.RGBA{R: 200, G: 30, B: 30, A: 255}
	markColor = color.RGBA{G: 140, B: 60, A: 255}
)

// WriteFile draws the chart into a PNG file at path, replacing it.
func (c Chart) WriteFile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := c.WritePNG(f); err != nil {
		f.Close()
		return fmt.Errorf("chart: writing %s: %w", path, err)
	}
	return f.Close()
}

// WritePNG draws the chart as a PNG image at DPI dots per inch. It fails
// for a chart without panels or a series whose X and Y differ in length.
func (c Chart) WritePNG(w io.Writer) error {
	if len(c.Panels) == 0 {
		return fmt.Errorf("chart: %q has no panels", c.Title)
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
	img := vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(DPI))
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
	p.X.Tick.Marker, p.Y.Tick.Marker = plainTicks{}, plainTicks{}
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

	for _, s := range pn.Series {
		if len(s.X) != len(s.Y) {
			return nil, fmt.Errorf("chart: series %q has %d X and %d Y", s.Name, len(s.X), len(s.Y))
		}
	}
	xmin, xmax := math.Inf(1), math.Inf(-1)
	ymin, ymax := math.Inf(1), math.Inf(-1)
	xpositive, ypositive := true, true
	for _, s := range pn.Series {
		for k := range s.X {
			xmin, xmax = min(xmin, s.X[k]), max(xmax, s.X[k])
			ymin, ymax = min(ymin, s.Y[k]), max(ymax, s.Y[k])
			xpositive = xpositive && s.X[k] > 0
			ypositive = ypositive && s.Y[k] > 0
		}
	}
	for _, m := range pn.Lines {
		ymin, ymax = min(ymin, m.Value), max(ymax, m.Value)
		ypositive = ypositive && m.Value > 0
	}
	if math.IsInf(xmin, 0) { // nothing to draw: an empty frame
		xmin, xmax = 1, 2
	}
	if math.IsInf(ymin, 0) {
		ymin, ymax = 0, 1
	}
	if c.LogX && xpositive {
		p.X.Scale = plot.LogScale{}
		if len(c.XTicks) == 0 {
			p.X.Tick.Marker = LogTicks{}
		}
	}
	if len(c.XTicks) > 0 {
		ticks := make([]plot.Tick, len(c.XTicks))
		for k, v := range c.XTicks {
			ticks[k] = plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'g', -1, 64)}
		}
		p.X.Tick.Marker = plot.ConstantTicks(ticks)
	}
	if pn.LogY && ypositive {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = LogTicks{}
		p.Y.Min, p.Y.Max = ymin/1.5, ymax*2
	} else {
		// Leave room above the data for a legend at the top: a line of
		// it takes about a tenth of a panel.
		p.Y.Min = min(0, ymin)
		room := 0.15
		if !pn.LegendBottom {
			room += 0.1 * float64(c.legendEntries(i, pn))
		}
		p.Y.Max = ymax + (ymax-p.Y.Min)*room
	}
	if p.Y.Max <= p.Y.Min {
		p.Y.Max = p.Y.Min + 1
	}

	for k, s := range pn.Series {
		xys := make(plotter.XYs, len(s.X))
		for j := range s.X {
			xys[j] = plotter.XY{X: s.X[j], Y: s.Y[j]}
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			return nil, fmt.Errorf("chart: series %q: %w", s.Name, err)
		}
		line.Color = plotutil.Color(k)
		line.Width = vg.Points(2)
		if s.Dashed {
			line.Dashes = []vg.Length{vg.Points(8), vg.Points(4)}
		}
		p.Add(line)
		thumbs := []plot.Thumbnailer{line}
		if s.Points {
			points, err := plotter.NewScatter(xys)
			if err != nil {
				return nil, fmt.Errorf("chart: series %q: %w", s.Name, err)
			}
			points.Color = plotutil.Color(k)
			points.Shape = plotutil.Shape(k)
			points.Radius = vg.Points(3)
			p.Add(points)
			thumbs = append(thumbs, points)
		}
		if s.Name != "" {
			p.Legend.Add(s.Name, thumbs...)
		}
	}
	for _, m := range pn.Lines {
		l, err := plotter.NewLine(plotter.XYs{{X: xmin, Y: m.Value}, {X: xmax, Y: m.Value}})
		if err != nil {
			return nil, fmt.Errorf("chart: line %q: %w", m.Name, err)
		}
		l.Color = lineColor
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
			return nil, fmt.Errorf("chart: mark %q: %w", m.Name, err)
		}
		l.Color = markColor
		l.Dashes = []vg.Length{vg.Points(2), vg.Points(3)}
		l.Width = vg.Points(1.5)
		p.Add(l)
		if m.Name != "" && i == 0 {
			p.Legend.Add(m.Name, l)
		}
	}
	return p, nil
}

// legendEntries counts the legend lines of panel i.
func (c Chart) legendEntries(i int, pn Panel) int {
	n := 0
	for _, s := range pn.Series {
		if s.Name != "" {
			n++
		}
	}
	for _, m := range pn.Lines {
		if m.Name != "" {
			n++
		}
	}
	if i == 0 {
		for _, m := range c.Marks {
			if m.Name != "" {
				n++
			}
		}
	}
	return n
}

// plainTicks are gonum's default ticks, labelled without trailing zeros
// ("250", not "250.00").
type plainTicks struct{}

func (plainTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i, t := range ticks {
		if t.Label != "" {
			ticks[i].Label = strconv.FormatFloat(t.Value, 'g', 6, 64)
		}
	}
	return ticks
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
