package sched

import (
	"math/bits"
	"time"
)

// PriorityCount is the number of jobs waiting at one priority.
type PriorityCount struct {
	Priority int // the priority
	Queued   int // jobs waiting at it
}

// WaitStats summarises how long jobs waited in the queue before a worker
// took them, since the Scheduler was created. One job in 16 is timed (every
// job when Config.Aging is set); percentiles come from a logarithmic
// histogram of those samples and are accurate to about 6 %.
type WaitStats struct {
	Count         uint64        // jobs timed
	P50, P90, P99 time.Duration // queue-wait percentiles
	Max           time.Duration // longest wait seen
}

// Stats is a snapshot of a Scheduler's state, returned by [Scheduler.Stats].
type Stats struct {
	// Queued lists the waiting jobs per priority, highest priority first.
	// The named priorities are always listed; other values only while
	// jobs are waiting at them.
	Queued      []PriorityCount
	QueuedTotal int       // all waiting jobs
	Blocked     int       // submitters blocked in Submit because the queue is full
	Running     int       // jobs being run now
	Workers     int       // worker goroutines, busy or idle
	IdleWorkers int       // workers parked waiting for a job
	Completed   uint64    // jobs that ran to the end, without panicking
	Panicked    uint64    // jobs that panicked or called runtime.Goexit
	Dropped     uint64    // jobs dropped by Shutdown
	Wait        WaitStats // how long jobs waited in the queue
}

// The wait histogram: values below 16 ns have their own bucket; above, each
// power of two is split into 8 sub-buckets.
const histBuckets = 16 + 60*8

func histIndex(v int64) int {
	if v < 16 {
		if v < 0 {
			return 0
		}
		return int(v)
	}
	e := bits.Len64(uint64(v)) // >= 5
	m := int(uint64(v)>>(e-4)) & 7
	return 16 + (e-5)*8 + m
}

// histValue returns the middle of bucket i.
func histValue(i int) int64 {
	if i < 16 {
		return int64(i)
	}
	e := (i-16)/8 + 5
	m := int64((i-16)%8 + 8)
	lo := m << (e - 4)
	width := int64(1) << (e - 4)
	return lo + width/2
}

type histogram struct {
	count [histBuckets]uint64
	n     uint64
	max   int64
	top   int // highest bucket in use
}

func (h *histogram) add(v int64) {
	i := histIndex(v)
	h.count[i]++
	h.n++
	if i > h.top {
		h.top = i
	}
	if v > h.max {
		h.max = v
	}
}

func (h *histogram) stats() WaitStats {
	ws := WaitStats{Count: h.n, Max: time.Duration(h.max)}
	if h.n == 0 {
		return ws
	}
	targets := [3]uint64{(h.n*50 + 99) / 100, (h.n*90 + 99) / 100, (h.n*99 + 99) / 100}
	out := [3]*time.Duration{&ws.P50, &ws.P90, &ws.P99}
	var cum uint64
	k := 0
	for i := 0; i <= h.top && k < 3; i++ {
		cum += h.count[i]
		for k < 3 && cum >= targets[k] {
			v := histValue(i)
			if v > h.max {
				v = h.max
			}
			*out[k] = time.Duration(v)
			k++
		}
	}
	return ws
}
