package main

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func defaults() config {
	return config{limit: 8, bigWeight: 4, before: 16, bigs: 1, after: 16, work: 50 * time.Millisecond, gap: time.Millisecond, greedy: true}
}

// Worked by hand: s1..s8 start at 0..7ms and fill the budget; s9..s16 and
// B1 queue. s1..s8 end at 50..57ms and let s9..s16 in. s9..s12 end at
// 100..103ms: at 103ms four units are free and B1, at the head of the
// queue, takes them. The free unit at 100, 101 and 102ms is not given to
// s17, which arrived after B1. s13..s16 end at 104..107ms and let in
// s17..s20; B1 ends at 153ms and lets in s21..s24 together; s17..s20 end at
// 154..157ms and let in s25..s28; s21..s24 end at 203ms and let in s29..s32.
const fifoDefault = `Budget 8: 16 small jobs (weight 1), then 1 big (weight 4), then 16 small, arriving 1ms apart; each works 50ms.

FIFO admission (pool.Submit): a job that arrives waits behind those already waiting
  admission order: s1 s2 s3 s4 s5 s6 s7 s8 s9 s10 s11 s12 s13 s14 s15 s16 B1 s17 s18 s19 s20 [s21 s22 s23 s24] s25 s26 s27 s28 [s29 s30 s31 s32]
  B1 arrived 17th and was admitted 17th, at 103ms: 0 jobs that arrived after it were admitted before it
  peak weight in use, counted by the jobs: 8 of 8 (within the budget)
`

func TestFIFOOutputIsExact(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := defaults()
		cfg.greedy = false
		var out bytes.Buffer
		start := time.Now()
		phases, err := run(context.Background(), &out, cfg)
		require.NoError(t, err)
		assert.Equal(t, fifoDefault, out.String())
		require.Len(t, phases, 1)
		assert.Equal(t, 253*time.Millisecond, time.Since(start)) // s29..s32 end at 203+50ms
	})
}

// A smaller case, also worked by hand: s1..s4 fill half the budget at
// 0..3ms; B1 arrives at 4ms and fits (4 free); B2 arrives at 5ms and
// waits for 4 units; s5 arrives at 6ms and must wait behind B2 although
// nothing is free anyway; s1..s4 end at 20..23ms, and B2 starts at 23ms;
// B1 ends at 24ms and s5, s6 start together.
func TestFIFOTwoBigs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := config{limit: 8, bigWeight: 4, before: 4, bigs: 2, after: 2, work: 20 * time.Millisecond, gap: time.Millisecond}
		var out bytes.Buffer
		_, err := run(context.Background(), &out, cfg)
		require.NoError(t, err)
		assert.Equal(t, `Budget 8: 4 small jobs (weight 1), then 2 big (weight 4), then 2 small, arriving 1ms apart; each works 20ms.

FIFO admission (pool.Submit): a job that arrives waits behind those already waiting
  admission order: s1 s2 s3 s4 B1 B2 [s5 s6]
  B1 arrived 5th and was admitted 5th, at 4ms: 0 jobs that arrived after it were admitted before it
  B2 arrived 6th and was admitted 6th, at 23ms: 0 jobs that arrived after it were admitted before it
  peak weight in use, counted by the jobs: 8 of 8 (within the budget)
`, out.String())
	})
}

var bigLine = regexp.MustCompile(`(?m)^  (B\d+) arrived (\d+)\w\w and was admitted (\d+)\w\w, at (\S+): (\d+) jobs? that arrived after it (?:was|were) admitted before it$`)
var peakLine = regexp.MustCompile(`(?m)^  peak weight in use, counted by the jobs: (\d+) of (\d+) \((.*)\)$`)

// TestPropertiesHold checks, for several workloads, what the program
// claims: under FIFO no job is admitted before one that arrived earlier, under
// either policy the jobs' own count of weight in use never exceeds the
// budget, and each printed line about a big job agrees with the start
// admissions, recounted here from the job IDs.
func TestPropertiesHold(t *testing.T) {
	cfgs := []config{
		defaults(),
		{limit: 8, bigWeight: 4, before: 3, bigs: 3, after: 10, work: 7 * time.Millisecond, gap: time.Millisecond, greedy: true},
		{limit: 8, bigWeight: 8, before: 10, bigs: 2, after: 10, work: 30 * time.Millisecond, gap: 2 * time.Millisecond, greedy: true},
		{limit: 5, bigWeight: 3, before: 0, bigs: 4, after: 12, work: 10 * time.Millisecond, gap: 100 * time.Microsecond, greedy: true},
		{limit: 8, bigWeight: 4, before: 20, bigs: 0, after: 0, work: 10 * time.Millisecond, gap: time.Millisecond, greedy: true},
	}
	for _, cfg := range cfgs {
		t.Run(fmt.Sprintf("%d-%dx%d-%d/limit=%d", cfg.before, cfg.bigs, cfg.bigWeight, cfg.after, cfg.limit), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var out bytes.Buffer
				phases, err := run(context.Background(), &out, cfg)
				require.NoError(t, err)
				require.Len(t, phases, 2)
				n := cfg.before + cfg.bigs + cfg.after
				sections := strings.Split(out.String(), "\n\n")
				require.Len(t, sections, 3)

				for k, ph := range phases {
					require.Len(t, ph.order, n)
					assert.LessOrEqual(t, ph.peak, cfg.limit, "budget exceeded")
					if n > 0 && cfg.work > 0 {
						assert.Positive(t, ph.peak)
					}
					// Each job's admission: its ID, unique, and the
					// rank of its group (jobs admitted together).
					at := make([]time.Duration, n)
					group := make([]int, n)
					ids := map[uint64]bool{}
					for g, jobs := range groups(ph.order) {
						for _, s := range jobs {
							at[s.pos], group[s.pos] = s.at, g
							ids[s.id] = true
						}
					}
					assert.Len(t, ids, n, "job IDs are not unique")
					for i := 1; i < len(ph.order); i++ {
						assert.Less(t, ph.order[i-1].id, ph.order[i].id, "order is not by ID")
					}
					if k == 0 { // FIFO: admission follows arrival order
						for i := 1; i < n; i++ {
							assert.LessOrEqual(t, group[i-1], group[i], "job %d was admitted before job %d, which arrived earlier", i+1, i)
						}
					}

					// The printed lines.
					m := peakLine.FindStringSubmatch(sections[k+1])
					require.NotNil(t, m, sections[k+1])
					assert.Equal(t, strconv.FormatInt(ph.peak, 10), m[1])
					assert.Equal(t, strconv.FormatInt(cfg.limit, 10), m[2])
					assert.Equal(t, "within the budget", m[3])
					lines := bigLine.FindAllStringSubmatch(sections[k+1], -1)
					require.Len(t, lines, cfg.bigs)
					for b, l := range lines {
						pos := cfg.before + b
						assert.Equal(t, fmt.Sprintf("B%d", b+1), l[1])
						assert.Equal(t, strconv.Itoa(pos+1), l[2])
						rank, after := 1, 0
						for i := range n {
							if group[i] < group[pos] {
								rank++
								if i > pos {
									after++
								}
							}
						}
						assert.Equal(t, strconv.Itoa(rank), l[3])
						assert.Equal(t, at[pos].String(), l[4])
						assert.Equal(t, strconv.Itoa(after), l[5])
						if k == 0 {
							assert.Equal(t, "0", l[5], "FIFO let a later job overtake %s", l[1])
						}
					}
				}
			})
		})
	}
}

// TestGreedyStarvesTheBigJob checks the contrast the program prints: with
// greedy admission, small jobs that arrived after the big one take each
// unit as it frees up, and the big job starts only after all of them.
func TestGreedyStarvesTheBigJob(t *testing.T) {
	for range 5 {
		synctest.Test(t, func(t *testing.T) {
			var out bytes.Buffer
			phases, err := run(context.Background(), &out, defaults())
			require.NoError(t, err)
			require.Len(t, phases, 2)
			sections := strings.Split(out.String(), "\n\n")
			require.Len(t, sections, 3)
			assert.Contains(t, sections[1], "  B1 arrived 17th and was admitted 17th, at 103ms: 0 jobs that arrived after it were admitted before it\n")
			assert.True(t, strings.HasPrefix(sections[2], "Greedy admission (TrySubmit retried every 1ms), for contrast: whoever fits first gets in\n"))
			m := bigLine.FindStringSubmatch(sections[2])
			require.NotNil(t, m, sections[2])
			assert.Equal(t, "17", m[2])
			assert.Equal(t, "33", m[3], "B1 should start last")
			assert.Equal(t, "16", m[5], "all 16 later small jobs should overtake B1")
			assert.Contains(t, sections[2], "peak weight in use, counted by the jobs: 8 of 8 (within the budget)")
		})
	}
}

func TestBadConfig(t *testing.T) {
	for _, cfg := range []config{
		{limit: 0, bigWeight: 1},
		{limit: 8, bigWeight: 9},
		{limit: 8, bigWeight: 0},
		{limit: 8, bigWeight: 4, before: -1},
		{limit: 8, bigWeight: 4, work: -time.Second, gap: time.Millisecond},
		{limit: 8, bigWeight: 4, gap: 0},
	} {
		_, err := run(context.Background(), &bytes.Buffer{}, cfg)
		assert.Error(t, err, "%+v", cfg)
	}
}

func TestOrdinal(t *testing.T) {
	for n, want := range map[int]string{1: "1st", 2: "2nd", 3: "3rd", 4: "4th", 11: "11th", 12: "12th", 13: "13th", 21: "21st", 22: "22nd", 33: "33rd", 101: "101st", 111: "111th"} {
		assert.Equal(t, want, ordinal(n))
	}
}

// TestAdmissionOrderIsByID guards the printed order against goroutine
// scheduling: B1 was admitted before s2 (a smaller ID) but its goroutine
// started later. The order and B1's line follow admission, not start.
func TestAdmissionOrderIsByID(t *testing.T) {
	order := []started{
		{arrival{"s1", 1}, 0, 1, 0},
		{arrival{"s2", 1}, 2, 3, 4 * time.Millisecond},
		{arrival{"B1", 4}, 1, 2, 5 * time.Millisecond},
		{arrival{"s3", 1}, 3, 4, 9 * time.Millisecond},
		{arrival{"s4", 1}, 4, 5, 9 * time.Millisecond},
	}
	slices.SortFunc(order, func(x, y started) int { return cmp.Compare(x.id, y.id) })
	assert.Equal(t, "s1 B1 s2 [s3 s4]", admissionOrder(order))
	assert.Equal(t, []bigReport{{name: "B1", arrived: 2, admittedRank: 2, at: 5 * time.Millisecond}}, bigs(order))
}
