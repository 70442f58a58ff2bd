package chart_test

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/weir-go/weir/internal/chart"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

func decode(t *testing.T, b []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	require.NoError(t, err)
	return img
}

// count returns how many pixels of img have color c.
func count(img image.Image, c color.Color) int {
	r0, g0, b0, _ := c.RGBA()
	n := 0
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			if r>>8 == r0>>8 && g>>8 == g0>>8 && b>>8 == b0>>8 {
				n++
			}
		}
	}
	return n
}

func trace() ([]float64, []float64, []float64) {
	var x, limit, capacity []float64
	for i := range 300 {
		t := float64(i) / 10
		x = append(x, t)
		c := 50.0
		if t >= 10 {
			c = 25
		}
		if t >= 20 {
			c = 100
		}
		capacity = append(capacity, c)
		limit = append(limit, c*(0.9+0.1*math.Sin(t)))
	}
	return x, limit, capacity
}

func TestWritePNGSizeAndLines(t *testing.T) {
	x, limit, capacity := trace()
	tests := []struct {
		name string
		c    chart.Chart
		w, h int
	}{
		{"one panel", chart.Chart{Title: "one", XLabel: "time (s)", Panels: []chart.Panel{{
			YLabel: "concurrency",
			Series: []chart.Series{{Name: "limit", X: x, Y: limit}, {Name: "capacity", X: x, Y: capacity, Dashed: true}},
		}}}, 800, 300},
		{"two panels", chart.Chart{Title: "two", XLabel: "time (s)", Marks: []chart.Mark{{Name: "phase", Value: 10}}, Panels: []chart.Panel{
			{YLabel: "limit", Series: []chart.Series{{Name: "limit", X: x, Y: limit}}},
			{YLabel: "capacity", Series: []chart.Series{{Name: "capacity", X: x, Y: capacity, Points: true}}, Lines: []chart.Mark{{Name: "SLO", Value: 60}}},
		}}, 800, 600},
		{"sized", chart.Chart{Width: 4 * vg.Inch, Height: 2 * vg.Inch, Panels: []chart.Panel{{
			Series: []chart.Series{{X: x, Y: limit}},
		}}}, 400, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			require.NoError(t, tt.c.WritePNG(&b))
			img := decode(t, b.Bytes())
			assert.Equal(t, tt.w, img.Bounds().Dx())
			assert.Equal(t, tt.h, img.Bounds().Dy())
			// The first series is drawn in plotutil's first colour,
			// across much of the width.
			assert.Greater(t, count(img, plotutil.Color(0)), tt.w/2, "the first series is not drawn")
		})
	}
}

func TestLogScales(t *testing.T) {
	x := []float64{1, 2, 4, 8, 16, 32, 64, 128}
	y := []float64{10, 20, 40, 80, 160, 160, 160, 160}
	c := chart.Chart{LogX: true, XTicks: x, Panels: []chart.Panel{{LogY: true, Series: []chart.Series{{Name: "tp", X: x, Y: y, Points: true}}}}}
	var b bytes.Buffer
	require.NoError(t, c.WritePNG(&b))
	decode(t, b.Bytes())

	// A value that is not positive turns a log scale off instead of failing.
	y[0], x[0] = 0, 0
	b.Reset()
	require.NoError(t, c.WritePNG(&b))
	decode(t, b.Bytes())
}

func TestEmptySeriesDrawsAFrame(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, chart.Chart{Panels: []chart.Panel{{Series: []chart.Series{{Name: "none"}}}}}.WritePNG(&b))
	decode(t, b.Bytes())
}

func TestWritePNGErrors(t *testing.T) {
	var b bytes.Buffer
	assert.Error(t, chart.Chart{Title: "empty"}.WritePNG(&b))
	bad := chart.Chart{Panels: []chart.Panel{{Series: []chart.Series{{Name: "bad", X: []float64{1, 2}, Y: []float64{1}}}}}}
	assert.ErrorContains(t, bad.WritePNG(&b), `"bad" has 2 X and 1 Y`)
	nan := chart.Chart{Panels: []chart.Panel{{Series: []chart.Series{{Name: "nan", X: []float64{1}, Y: []float64{math.NaN()}}}}}}
	assert.Error(t, nan.WritePNG(&b))
}

func TestWriteFile(t *testing.T) {
	x, limit, _ := trace()
	path := filepath.Join(t.TempDir(), "out.png")
	c := chart.Chart{Panels: []chart.Panel{{Series: []chart.Series{{X: x, Y: limit}}}}}
	require.NoError(t, c.WriteFile(path))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	decode(t, b)

	assert.Error(t, c.WriteFile(filepath.Join(t.TempDir(), "missing", "out.png")))
	assert.Error(t, chart.Chart{}.WriteFile(path))
}

func TestLogTicks(t *testing.T) {
	var labels []string
	for _, tk := range (chart.LogTicks{}).Ticks(1, 100) {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	assert.Equal(t, []string{"1", "2", "5", "10", "20", "50", "100"}, labels)

	// A range without two of 1, 2 and 5 falls back to gonum's ticks.
	assert.NotEmpty(t, (chart.LogTicks{}).Ticks(3, 4))
}
