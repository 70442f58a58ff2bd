package wsem_test

import (
	"slices"
	"testing"

	"github.com/weir-go/weir/internal/wsem"
)

// FuzzStrictQueue drives what package pool uses — strict mode, task nodes
// queued or blocked behind bounds, Remove, Release, Resize and Close — from
// one goroutine, against a reference model of a FIFO weighted queue. After
// every step the tasks granted, failed, moved into the queue and the gauges
// must equal the model's.
func FuzzStrictQueue(f *testing.F) {
	f.Add([]byte{4, 2, 1, 1, 2, 1, 3, 1, 1, 2, 1, 1, 1, 1, 3, 0, 2, 0, 4, 1, 5})
	f.Add([]byte{3, 1, 0, 1, 3, 1, 2, 1, 1, 1, 1, 4, 6, 3, 0, 3, 0, 3, 0})
	f.Add([]byte{2, 0, 0, 1, 2, 1, 2, 1, 1, 1, 1, 1, 1, 4, 1, 3, 0, 2, 1, 5, 0})
	f.Add([]byte{5, 3, 1, 1, 1, 1, 5, 1, 5, 1, 1, 4, 2, 2, 0, 4, 9, 3, 0, 3, 1})
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) < 3 {
			return
		}
		size, maxQueued, maxBlocked := int64(ops[0]%8), int(ops[1]%4), int(ops[2]%3)
		ops = ops[3:]
		s := wsem.NewStrict(size, maxQueued, maxBlocked)
		m := &model{size: size, maxQueued: maxQueued, maxBlocked: maxBlocked}
		nodes := map[*wsem.Node]int{}
		var woken []int
		s.Wake = func(n *wsem.Node, err error) { woken = append(woken, nodes[n]) }
		s.OnAccept = func(*wsem.Node) {}
		ids := func(n *wsem.Node) []int {
			var out []int
			for ; n != nil; n = n.Next() {
				out = append(out, nodes[n])
			}
			return out
		}
		for len(ops) >= 2 {
			op, arg := ops[0]%6, int64(ops[1]%8)
			ops = ops[2:]
			woken = woken[:0]
			var got, failed []int
			var want model
			switch op {
			case 0: // TryAcquire
				ok := s.TryAcquire(arg)
				if wantOK := m.try(arg); ok != wantOK {
					t.Fatalf("TryAcquire(%d) = %v, model %v (%+v)", arg, ok, wantOK, m)
				}
			case 1: // Enqueue a task node
				n := new(wsem.Node)
				nodes[n] = len(nodes) + 1
				place, err := s.Enqueue(n, arg, true)
				wplace, werr := m.enqueue(nodes[n], arg)
				if place != wplace || err != werr {
					t.Fatalf("Enqueue(%d) = %v, %v; model %v, %v", arg, place, err, wplace, werr)
				}
			case 2: // Remove a waiting node
				id := m.pick(int(arg))
				if id == 0 {
					continue
				}
				var n *wsem.Node
				for k, v := range nodes {
					if v == id {
						n = k
					}
				}
				removed, granted := s.Remove(n, false)
				if !removed {
					t.Fatalf("Remove(%d): not removed, but the model has it queued", id)
				}
				got = ids(granted)
				want.granted = m.remove(id)
			case 3: // Release a holder
				if len(m.holders) == 0 {
					continue
				}
				i := int(arg) % len(m.holders)
				got = ids(s.ReleaseTasks(m.holders[i]))
				want.granted = m.release(i)
			case 4: // Resize
				granted, fl := s.ResizeTasks(arg)
				got, failed = ids(granted), ids(fl)
				want.granted, want.failed = m.resize(arg)
			case 5: // Close
				failed = ids(s.Close())
				want.failed = m.close()
			}
			if !slices.Equal(got, want.granted) {
				t.Fatalf("op %d(%d): granted %v, model %v", op, arg, got, want.granted)
			}
			if !slices.Equal(failed, want.failed) {
				t.Fatalf("op %d(%d): failed %v, model %v", op, arg, failed, want.failed)
			}
			if !slices.Equal(woken, m.woken) {
				t.Fatalf("op %d(%d): woke %v, model %v", op, arg, woken, m.woken)
			}
			m.woken = nil
			g := s.Gauges()
			mg := m.gauges()
			if g.Size != mg.Size || g.InUse != mg.InUse || g.Queued != mg.Queued || g.Blocked != mg.Blocked ||
				g.QueuedWeight != mg.QueuedWeight || g.BlockedWeight != mg.BlockedWeight || g.BlockedTasks != mg.Blocked {
				t.Fatalf("op %d(%d): gauges %+v, model %+v", op, arg, g, mg)
			}
			if g.InUse > max(g.Size, m.peakHeldBound) {
				t.Fatalf("held %d above the size %d", g.InUse, g.Size)
			}
		}
	})
}

type entry struct {
	id      int
	n       int64
	blocked bool
}

// model is a FIFO weighted queue: the reference for strict mode.
type model struct {
	size                  int64
	held                  int64
	holders               []int64
	queue                 []entry
	closed                bool
	maxQueued, maxBlocked int
	peakHeldBound         int64 // held may exceed the size only after a shrink, up to what it was
	woken                 []int // blocked nodes moved into the queue or failed, in order
	granted, failed       []int // results of one step (for want)
}

func (m *model) count(blocked bool) (n int, w int64) {
	for _, e := range m.queue {
		if e.blocked == blocked {
			n++
			w += e.n
		}
	}
	return n, w
}

func (m *model) gauges() wsem.Gauges {
	q, qw := m.count(false)
	b, bw := m.count(true)
	return wsem.Gauges{Size: m.size, InUse: m.held, Queued: q, Blocked: b, QueuedWeight: qw, BlockedWeight: bw}
}

func (m *model) try(n int64) bool {
	if m.closed || len(m.queue) > 0 || m.held+n > m.size {
		return false
	}
	m.hold(n)
	return true
}

func (m *model) hold(n int64) {
	m.held += n
	m.holders = append(m.holders, n)
}

func (m *model) enqueue(id int, n int64) (wsem.Placement, error) {
	if m.closed {
		return 0, wsem.ErrClosed
	}
	if m.try(n) {
		return wsem.Admitted, nil
	}
	if n > m.size {
		return 0, wsem.ErrTooLarge
	}
	if q, _ := m.count(false); q < m.maxQueued {
		m.queue = append(m.queue, entry{id: id, n: n})
		return wsem.Queued, nil
	}
	if b, _ := m.count(true); b < m.maxBlocked {
		m.queue = append(m.queue, entry{id: id, n: n, blocked: true})
		return wsem.Blocked, nil
	}
	return 0, wsem.ErrFull
}

// pick returns the id of the k-th waiting node, or 0.
func (m *model) pick(k int) int {
	if len(m.queue) == 0 {
		return 0
	}
	return m.queue[k%len(m.queue)].id
}

// unlink takes entry i out; a queued one leaves room for the oldest
// blocked one, which moves into the queue (and is woken).
func (m *model) unlink(i int) entry {
	e := m.queue[i]
	m.queue = slices.Delete(m.queue, i, i+1)
	if !e.blocked && !m.closed {
		if q, _ := m.count(false); q < m.maxQueued {
			for j := range m.queue {
				if m.queue[j].blocked {
					m.queue[j].blocked = false
					m.woken = append(m.woken, m.queue[j].id)
					break
				}
			}
		}
	}
	return e
}

// grant grants from the head while the head fits.
func (m *model) grant() []int {
	var out []int
	for len(m.queue) > 0 && !m.closed && m.held <= m.size && m.queue[0].n <= m.size-m.held {
		e := m.unlink(0)
		m.hold(e.n)
		out = append(out, e.id)
	}
	return out
}

func (m *model) remove(id int) []int {
	i := slices.IndexFunc(m.queue, func(e entry) bool { return e.id == id })
	m.unlink(i)
	return m.grant()
}

func (m *model) release(i int) []int {
	m.held -= m.holders[i]
	m.holders = slices.Delete(m.holders, i, i+1)
	return m.grant()
}

func (m *model) resize(n int64) (granted, failed []int) {
	if n == m.size {
		return nil, nil
	}
	m.peakHeldBound = max(m.peakHeldBound, m.held)
	m.size = n
	for i := 0; i < len(m.queue); {
		if m.queue[i].n > n {
			e := m.unlink(i)
			if e.blocked {
				m.woken = append(m.woken, e.id)
			}
			failed = append(failed, e.id)
			continue
		}
		i++
	}
	return m.grant(), failed
}

func (m *model) close() []int {
	if m.closed {
		return nil
	}
	m.closed = true
	var failed []int
	for len(m.queue) > 0 {
		e := m.unlink(0)
		if e.blocked {
			m.woken = append(m.woken, e.id)
		}
		failed = append(failed, e.id)
	}
	return failed
}
