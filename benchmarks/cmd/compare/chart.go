package main

import (
	"image/color"
	"io"
	"math"
	"slices"

	"github.com/weir-go/weir/internal/chart"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// writeChart draws weir's time over each peer's, one row per scenario and
// limit (Logging has no peers and is left out), as a PNG. It returns the
// number of rows drawn.
func (m *model) writeChart(w io.Writer) (int, error) {
	var rows []row
	var peers []string
	for _, r := range m.rows {
		if r.Scenario == "Logging" || len(r.vs["sec/op"]) == 0 {
			continue
		}
		rows = append(rows, r)
		for _, p := range r.peers {
			if _, ok := r.vs["sec/op"][p]; ok && !slices.Contains(peers, p) {
				peers = append(peers, p)
			}
		}
	}
	if len(rows) == 0 {
		return 0, nil
	}
	p := plot.New()
	p.Title.Text = "weir time / peer time (left of 1: weir faster)"
	p.Title.TextStyle.Font.Size = vg.Points(14)
	p.X.Label.Text = "weir time / peer time (log scale)"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = chart.LogTicks{}
	p.Add(plotter.NewGrid())

	lo, hi := 1.0, 1.0
	ticks := make([]plot.Tick, len(rows))
	for i, r := range rows {
		y := float64(len(rows) - 1 - i)
		ticks[i] = plot.Tick{Value: y, Label: r.title()}
		for _, c := range r.vs["sec/op"] {
			lo, hi = math.Min(lo, c.ratio), math.Max(hi, c.ratio)
		}
	}
	p.Y.Tick.Marker = plot.ConstantTicks(ticks)
	p.Y.Min, p.Y.Max = -0.7, float64(len(rows))-0.3
	p.X.Min, p.X.Max = lo/1.4, hi*1.4

	one, err := plotter.NewLine(plotter.XYs{{X: 1, Y: p.Y.Min}, {X: 1, Y: p.Y.Max}})
	if err != nil {
		return 0, err
	}
	one.Color = color.Black
	one.Width = vg.Points(1.2)
	p.Add(one)

	legend := plot.NewLegend()
	legend.Top, legend.Left = true, true
	for k, peer := range peers {
		var xys plotter.XYs
		for i, r := range rows {
			if c, ok := r.vs["sec/op"][peer]; ok {
				// Spread the peers of a row a little so their marks do not hide each other.
				y := float64(len(rows)-1-i) + 0.28 - 0.56*float64(k)/float64(max(len(peers)-1, 1))
				xys = append(xys, plotter.XY{X: c.ratio, Y: y})
			}
		}
		sc, err := plotter.NewScatter(xys)
		if err != nil {
			return 0, err
		}
		sc.Color = palette[k%len(palette)]
		sc.Shape = plotutil.Shape(k)
		sc.Radius = vg.Points(4)
		p.Add(sc)
		name := peer
		if m.unbounded[peer] {
			name += " (unbounded)"
		}
		legend.Add(name, sc)
	}

	width := 10 * vg.Inch
	height := vg.Length(len(rows))*0.45*vg.Inch + 1.6*vg.Inch
	img := vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(100))
	dc := draw.New(img)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	legendWidth := 2.3 * vg.Inch
	p.Draw(draw.Crop(dc, vg.Points(4), -legendWidth, vg.Points(4), -vg.Points(4)))
	legend.YOffs = -vg.Points(30)
	legend.Draw(draw.Crop(dc, width-legendWidth+vg.Points(10), 0, 0, 0))
	_, err = vgimg.PngCanvas{Canvas: img}.WriteTo(w)
	return len(rows), err
}

// palette is Tableau's ten colours: one per peer, all distinct.
var palette = []color.Color{
	color.RGBA{31, 119, 180, 255}, color.RGBA{255, 127, 14, 255}, color.RGBA{44, 160, 44, 255},
	color.RGBA{214, 39, 40, 255}, color.RGBA{148, 103, 189, 255}, color.RGBA{140, 86, 75, 255},
	color.RGBA{227, 119, 194, 255}, color.RGBA{127, 127, 127, 255}, color.RGBA{188, 189, 34, 255},
	color.RGBA{23, 190, 207, 255},
}
