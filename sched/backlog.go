package sched

import (
	"context"
	"errors"
	"sync"
)

// ErrBacklogFull is returned by [Backlog.Submit] when the Scheduler's queue
// and the Backlog are both full.
var ErrBacklogFull = errors.New("sched: backlog is full")

// Backlog is a front for a Scheduler for callers that must never block,
// such as the goroutine reading a network stream: a reader that waits for
// room in the queue stops reading replies too, which can deadlock a job
// that is itself waiting for a reply. Submit queues a task at once when
// the Scheduler has room; otherwise the task waits in the Backlog, in
// arrival order, and one feeder goroutine moves waiting tasks into the
// Scheduler as room appears. The Backlog is bounded: past its limit Submit
// fails with ErrBacklogFull, so that the caller can refuse the work (a
// "busy" reply) instead of growing without bound.
//
// Priorities apply in the Scheduler, not in the Backlog: once a task has
// waited in the Backlog, it enters the Scheduler's queue after every task
// that arrived before it.
type Backlog struct {
	s   *Scheduler
	ctx context.Context
	max int

	mu      sync.Mutex
	q       []backlogItem
	head    int
	feeding bool
	idle    chan struct{} // closed when no feeder runs; replaced when one starts
}

type backlogItem struct {
	prio int
	t    Task
}

// NewBacklog returns a Backlog that feeds s and holds at most max waiting
// tasks (max <= 0 selects the Scheduler's QueueSize, or 4096 for an
// unbounded queue). When ctx ends, the tasks still waiting are dropped
// (a [Dropper] is told, with [ErrDropped]) and Submit fails with ctx's
// error; [Backlog.Wait] then waits for the feeder to exit.
func NewBacklog(ctx context.Context, s *Scheduler, max int) *Backlog {
	if max <= 0 {
		max = s.cfg.QueueSize
		if max <= 0 {
			max = DefaultQueueSize
		}
	}
	idle := make(chan struct{})
	close(idle)
	return &Backlog{s: s, ctx: ctx, max: max, idle: idle}
}

// Submit queues t at priority prio without blocking: in the Scheduler if
// it has room and nothing waits in the Backlog, else in the Backlog. It
// returns ErrBacklogFull when the Backlog holds its maximum, ctx's error
// once the Backlog's ctx has ended, and ErrClosed once the Scheduler is
// closing. A task accepted into the Backlog runs later, or is dropped.
func (b *Backlog) Submit(prio int, t Task) error {
	if t == nil {
		return ErrNilJob
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.ctx.Err(); err != nil {
		return err
	}
	if len(b.q) == b.head {
		err := b.s.TrySubmitTask(prio, t)
		if !errors.Is(err, ErrQueueFull) {
			return err
		}
	}
	if len(b.q)-b.head >= b.max {
		return ErrBacklogFull
	}
	b.q = append(b.q, backlogItem{prio, t})
	if !b.feeding {
		b.feeding = true
		b.idle = make(chan struct{})
		go b.feed(b.idle)
	}
	return nil
}

// Len returns the number of tasks waiting in the Backlog.
func (b *Backlog) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.q) - b.head
}

// Wait waits until no feeder goroutine runs: the Backlog is empty, or its
// ctx has ended and the waiting tasks have been dropped.
func (b *Backlog) Wait() {
	b.mu.Lock()
	idle := b.idle
	b.mu.Unlock()
	<-idle
}

func (b *Backlog) feed(idle chan struct{}) {
	defer close(idle)
	for {
		b.mu.Lock()
		if len(b.q) == b.head {
			b.q, b.head = b.q[:0], 0
			b.feeding = false
			b.mu.Unlock()
			return
		}
		it := b.q[b.head]
		b.mu.Unlock()
		// SubmitTask queues even with ctx done when there is room: check
		// first, so that what waits is dropped once ctx has ended (a task
		// handed over at the moment ctx ends may still run).
		err := b.ctx.Err()
		if err == nil {
			err = b.s.SubmitTask(b.ctx, it.prio, it.t)
		}
		b.mu.Lock()
		b.q[b.head] = backlogItem{}
		b.head++
		if b.head > 1024 && b.head*2 > len(b.q) {
			b.q = append(b.q[:0], b.q[b.head:]...)
			b.head = 0
		}
		var drop []backlogItem
		if err != nil {
			// The Scheduler is closed or ctx ended: nothing waiting will
			// be admitted. Later Submits fail on ctx or the Scheduler.
			drop = append([]backlogItem{it}, b.q[b.head:]...)
			clear(b.q)
			b.q, b.head = nil, 0
			b.feeding = false
		}
		b.mu.Unlock()
		if err != nil {
			for _, d := range drop {
				if dr, ok := d.t.(Dropper); ok {
					dr.Drop(ErrDropped)
				}
			}
			return
		}
	}
}
