package sched

// item is one queued job and the time it was queued (nanoseconds since the
// Scheduler's epoch, monotonic).
type item struct {
	t   Task
	enq int64
}

// ring is a growable FIFO of items; len(buf) is zero or a power of two.
type ring struct {
	buf  []item
	head int
	n    int
}

func (r *ring) push(it item) {
	if r.n == len(r.buf) {
		r.grow()
	}
	r.buf[(r.head+r.n)&(len(r.buf)-1)] = it
	r.n++
}

func (r *ring) grow() {
	size := 2 * len(r.buf)
	if size == 0 {
		size = 16
	}
	buf := make([]item, size)
	for i := 0; i < r.n; i++ {
		buf[i] = r.buf[(r.head+i)&(len(r.buf)-1)]
	}
	r.buf = buf
	r.head = 0
}

// keepSlots is the largest ring kept once it is empty; a bigger one, grown
// by a burst on an unbounded queue, is released.
const keepSlots = 4096

// pop removes the oldest item; the ring must not be empty.
func (r *ring) pop() item {
	it := r.buf[r.head]
	r.buf[r.head] = item{} // let the job be collected
	r.head = (r.head + 1) & (len(r.buf) - 1)
	r.n--
	if r.n == 0 && len(r.buf) > keepSlots {
		r.buf, r.head = nil, 0
	}
	return it
}

// peek returns the oldest item; the ring must not be empty.
func (r *ring) peek() *item { return &r.buf[r.head] }

// level is the FIFO of one priority value.
type level struct {
	prio int
	q    ring
}

// levels keeps one FIFO per priority value in use, highest priority first.
// The named priorities are always present; other values are added on first
// use and kept.
type levels []*level

func (ls *levels) get(prio int) *level {
	for i, l := range *ls {
		if l.prio == prio {
			return l
		}
		if l.prio < prio {
			nl := &level{prio: prio}
			*ls = append(*ls, nil)
			copy((*ls)[i+1:], (*ls)[i:])
			(*ls)[i] = nl
			return nl
		}
	}
	nl := &level{prio: prio}
	*ls = append(*ls, nl)
	return nl
}
