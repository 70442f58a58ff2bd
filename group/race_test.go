//go:build race

package group_test

// raceEnabled: under the race detector sync.Pool drops a quarter of what
// is put in it, so a batch may allocate a pooled buffer again.
const raceEnabled = true
