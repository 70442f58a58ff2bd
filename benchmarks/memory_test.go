package benchmarks

import (
	"runtime"
	"time"
)

// liveMemory returns the bytes in live heap objects and goroutine stacks
// right after a full collection.
func liveMemory() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc + ms.StackInuse
}

// inUse returns the heap spans and stacks in use now, garbage included.
func inUse() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse + ms.StackInuse
}

// memSampler records the highest inUse seen while it runs.
type memSampler struct {
	start, max uint64
	quit, done chan struct{}
}

// sampleMemory collects garbage, then samples inUse every period until
// stop.
func sampleMemory(period time.Duration) *memSampler {
	runtime.GC()
	v := inUse()
	m := &memSampler{start: v, max: v, quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(m.done)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-m.quit:
				return
			case <-t.C:
				m.max = max(m.max, inUse())
			}
		}
	}()
	return m
}

// stop ends the sampling and returns how far the highest value seen rose
// above the one at the start.
func (m *memSampler) stop() uint64 {
	close(m.quit)
	<-m.done
	m.max = max(m.max, inUse())
	return m.max - min(m.start, m.max)
}
