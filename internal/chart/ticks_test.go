package chart

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestPlainTicks(t *testing.T) {
	var labels []string
	for _, tk := range (plainTicks{}).Ticks(0, 575) {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
			assert.NotContains(t, tk.Label, ".", "an integer tick labelled with decimals")
		}
	}
	assert.NotEmpty(t, labels)
	assert.Contains(t, strings.Join(labels, " "), "0 ")

	var small []string
	for _, tk := range (plainTicks{}).Ticks(0, 0.003) {
		if tk.Label != "" {
			small = append(small, tk.Label)
		}
	}
	assert.Contains(t, small, "0.002")
}
