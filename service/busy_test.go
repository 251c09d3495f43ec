package service

import (
	"context"
	"errors"
	"testing"

	"github.com/muster-sh/muster/sched"
)

// A call arriving while every worker is busy and the scheduler's queue is
// full never blocks the goroutine that delivers it (a link reader, which
// must keep reading replies): it waits in the Pool's backlog and runs
// later; past the backlog's bound the caller is answered CodeBusy at once.
func TestFullSchedulerAnswersBusy(t *testing.T) {
	s, err := sched.New(sched.Config{MaxWorkers: 1, QueueSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	c := &calc{}
	p := newTestPool(t, Config{Scheduler: s})
	if err := p.Add(newCalc(c, AllowAny)); err != nil {
		t.Fatal(err)
	}
	started, release := make(chan struct{}), make(chan struct{})
	if err := s.Submit(context.Background(), sched.High, func(context.Context) { close(started); <-release }); err != nil {
		t.Fatal(err)
	}
	<-started
	const waiting = maxBacklog + 1 // one in the queue, the rest in the backlog
	answers := make([]<-chan result, 0, waiting)
	for i := range waiting {
		answers = append(answers, dispatchAsync(t, p, 7, "test.Calc", "add", AddReq{A: i, B: 1}))
	}
	busy := wait(t, dispatchAsync(t, p, 7, "test.Calc", "add", AddReq{A: 1, B: 1}))
	if !errors.Is(busy.err(), ErrBusy) {
		t.Fatalf("call past the backlog: %v, want ErrBusy", busy.err())
	}
	if busy.e.Service != "test.Calc" || busy.e.Method != "add" {
		t.Fatalf("busy error names %q.%q", busy.e.Service, busy.e.Method)
	}
	close(release)
	for i, ch := range answers {
		r := wait(t, ch)
		var resp AddResp
		if r.e != nil {
			t.Fatalf("call %d: %v", i, r.e)
		}
		if err := looseDec.Unmarshal(r.body, &resp); err != nil || resp.Sum != i+1 {
			t.Fatalf("call %d: sum %d (%v), want %d", i, resp.Sum, err, i+1)
		}
	}
	if n := c.runs.Load(); n != waiting {
		t.Fatalf("%d runs, want %d", n, waiting)
	}
}
