package sched_test

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/muster-sh/muster/sched"
)

// Jobs are queued with a priority and run in the background; Close runs
// what is queued and waits.
func Example() {
	s, err := sched.New(sched.Config{MaxWorkers: 1})
	if err != nil {
		panic(err)
	}
	var mu sync.Mutex
	var order []string
	record := func(name string) sched.Job {
		return func(ctx context.Context) {
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
		}
	}

	// Hold the only worker so that the next jobs queue up.
	release, started := make(chan struct{}), make(chan struct{})
	s.Submit(context.Background(), sched.Normal, func(ctx context.Context) {
		close(started)
		<-release
	})
	<-started

	s.Submit(context.Background(), sched.Low, record("check groups"))
	s.Submit(context.Background(), sched.Normal, record("fast check"))
	s.Submit(context.Background(), sched.High, record("add user"))
	s.Submit(context.Background(), sched.Low, record("network discovery"))
	close(release)

	if err := s.Close(context.Background()); err != nil {
		panic(err)
	}
	fmt.Println(order)
	// Output: [add user fast check check groups network discovery]
}

// TrySubmit never blocks: it reports a full queue instead.
func ExampleScheduler_TrySubmit() {
	s, _ := sched.New(sched.Config{MaxWorkers: 1, QueueSize: 1})
	release, started := make(chan struct{}), make(chan struct{})
	s.Submit(context.Background(), sched.Normal, func(ctx context.Context) {
		close(started)
		<-release
	})
	<-started
	fmt.Println(s.TrySubmit(sched.Normal, func(ctx context.Context) {}))
	fmt.Println(errors.Is(s.TrySubmit(sched.High, func(ctx context.Context) {}), sched.ErrQueueFull))
	close(release)
	s.Close(context.Background())
	// Output:
	// <nil>
	// true
}

// Shutdown cancels running jobs and drops the queue.
func ExampleScheduler_Shutdown() {
	s, _ := sched.New(sched.Config{MaxWorkers: 1})
	started := make(chan struct{})
	s.Submit(context.Background(), sched.Normal, func(ctx context.Context) {
		close(started)
		<-ctx.Done() // a long job watches its context
	})
	<-started
	for range 3 {
		s.Submit(context.Background(), sched.Low, func(ctx context.Context) {})
	}
	dropped, err := s.Shutdown(context.Background())
	fmt.Println(dropped, err, s.Stats().Dropped)
	// Output: 3 <nil> 3
}

// Stats shows what is waiting at each priority, what runs, and how long
// jobs waited.
func ExampleScheduler_Stats() {
	s, _ := sched.New(sched.Config{MaxWorkers: 1})
	release, started := make(chan struct{}), make(chan struct{})
	s.Submit(context.Background(), sched.Normal, func(ctx context.Context) {
		close(started)
		<-release
	})
	<-started
	for _, p := range []int{sched.Low, sched.Low, sched.High, 5} {
		s.Submit(context.Background(), p, func(ctx context.Context) {})
	}
	st := s.Stats()
	fmt.Println(st.Queued, st.QueuedTotal, st.Running, st.Workers)
	close(release)
	s.Close(context.Background())
	st = s.Stats()
	fmt.Println(st.Completed, st.Workers, st.Wait.Count > 0)
	// Output:
	// [{5 1} {1 1} {0 0} {-1 2}] 4 1 1
	// 5 0 true
}
