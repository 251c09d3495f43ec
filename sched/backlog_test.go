package sched

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
)

type dropJob struct {
	run     Job
	dropped *atomic.Int32
}

func (d *dropJob) Run(ctx context.Context) { d.run(ctx) }
func (d *dropJob) Drop(err error) {
	if errors.Is(err, ErrDropped) {
		d.dropped.Add(1)
	}
}

// A full Scheduler never blocks Submit: tasks wait in the Backlog, run in
// arrival order once room appears, and past the bound Submit says busy.
func TestBacklogNeverBlocksAndKeepsOrder(t *testing.T) {
	s := newSched(t, Config{MaxWorkers: 1, QueueSize: 2})
	release := gate(t, s)
	b := NewBacklog(context.Background(), s, 5)
	var rec recorder
	var want []string
	for i := range 7 { // 2 fill the queue, 5 the backlog
		name := fmt.Sprint(i)
		want = append(want, name)
		if err := b.Submit(Normal, rec.job(name)); err != nil {
			t.Fatalf("Submit %d: %v", i, err)
		}
	}
	if err := b.Submit(High, rec.job("over")); !errors.Is(err, ErrBacklogFull) {
		t.Fatalf("Submit past the bound: %v, want ErrBacklogFull", err)
	}
	if n := b.Len(); n != 5 {
		t.Fatalf("Len = %d, want 5", n)
	}
	release()
	waitFor(t, "all tasks to run", func() bool { return len(rec.list()) == 7 })
	b.Wait()
	if got := rec.list(); !slices.Equal(got, want) {
		t.Fatalf("ran %v, want %v", got, want)
	}
	if n := b.Len(); n != 0 {
		t.Fatalf("Len after draining = %d, want 0", n)
	}
	// Empty again: Submit goes straight to the Scheduler.
	if err := b.Submit(Normal, rec.job("after")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the late task", func() bool { return len(rec.list()) == 8 })
}

// When the Backlog's ctx ends, waiting tasks are dropped (a Dropper is
// told) and later Submits fail with ctx's error; the feeder exits.
func TestBacklogCancelDrops(t *testing.T) {
	s := newSched(t, Config{MaxWorkers: 1, QueueSize: 1})
	release := gate(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	b := NewBacklog(ctx, s, 10)
	var dropped, ran atomic.Int32
	for i := range 4 {
		if err := b.Submit(Normal, &dropJob{run: func(context.Context) { ran.Add(1) }, dropped: &dropped}); err != nil {
			t.Fatalf("Submit %d: %v", i, err)
		}
	}
	cancel()
	b.Wait()
	if n := dropped.Load(); n != 3 { // one sits in the Scheduler's queue
		t.Fatalf("dropped %d, want 3", n)
	}
	if err := b.Submit(Normal, Job(func(context.Context) {})); !errors.Is(err, context.Canceled) {
		t.Fatalf("Submit after cancel: %v, want context.Canceled", err)
	}
	release()
	waitFor(t, "the queued task", func() bool { return ran.Load() == 1 })
}

// Closing the Scheduler drops what waits in the Backlog.
func TestBacklogSchedulerClosed(t *testing.T) {
	s, err := New(Config{MaxWorkers: 1, QueueSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	release := gate(t, s)
	b := NewBacklog(context.Background(), s, 10)
	var dropped atomic.Int32
	for range 3 {
		if err := b.Submit(Normal, &dropJob{run: func(context.Context) {}, dropped: &dropped}); err != nil {
			t.Fatal(err)
		}
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close(context.Background()) }()
	b.Wait()
	if n := dropped.Load(); n != 2 {
		t.Fatalf("dropped %d, want 2", n)
	}
	release()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if err := b.Submit(Normal, Job(func(context.Context) {})); !errors.Is(err, ErrClosed) {
		t.Fatalf("Submit after Close: %v, want ErrClosed", err)
	}
}
