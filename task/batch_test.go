package task

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/muster-sh/muster/worker"
)

// fakeBatch is a BatchDriver: one call for every node, like pdsh.
type fakeBatch struct {
	calls, running, peak atomic.Int32
	hang                 map[string]bool // nodes that never finish
}

func (f *fakeBatch) Run(ctx context.Context, s worker.Session) (worker.Status, error) {
	panic("Run called on a batch driver")
}

func (f *fakeBatch) RunAll(ctx context.Context, ss []worker.Session) ([]worker.Status, []error) {
	f.calls.Add(1)
	r := f.running.Add(1)
	if r > f.peak.Load() {
		f.peak.Store(r)
	}
	defer f.running.Add(-1)
	sts := make([]worker.Status, len(ss))
	errs := make([]error, len(ss))
	wait := false
	for i, s := range ss {
		s.Started()
		fmt.Fprintf(s.Stdout(), "hello %s %d\n", s.Node(), s.Rank())
		if f.hang[s.Node()] {
			wait = true
			continue
		}
		sts[i] = worker.Exited(s.Rank())
	}
	if wait {
		<-ctx.Done()
		for i, s := range ss {
			if f.hang[s.Node()] {
				errs[i] = ctx.Err()
			}
		}
	}
	return sts, errs
}

func TestBatchDriver(t *testing.T) {
	fb := &fakeBatch{}
	tk := New(WithFanout(1))
	r := &recorder{}
	ns := nodes(5)
	tk.Schedule(NewWorker(fb, OnNodes(ns...), WithHandler(r)))
	tk.Schedule(NewWorker(fb, OnNodes(ns...)))
	if err := tk.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if fb.calls.Load() != 2 || fb.peak.Load() != 1 {
		t.Fatalf("RunAll calls %d, peak %d", fb.calls.Load(), fb.peak.Load())
	}
	for i, n := range ns {
		want := []string{"pickup", fmt.Sprintf("read hello %s %d", n, i), fmt.Sprintf("hup %d", i)}
		if got := r.perNode(n); !slices.Equal(got, want) {
			t.Fatalf("%s events %q", n, got)
		}
	}
	if rc, _ := tk.MaxRetcode(); rc != 4 {
		t.Fatalf("max rc %d", rc)
	}
}

func TestBatchDriverPerNodeTimeout(t *testing.T) {
	fb := &fakeBatch{hang: map[string]bool{"n2": true, "n4": true}}
	tk := New()
	r := &recorder{}
	w := NewWorker(fb, OnNodes(nodes(5)...), Timeout(50*time.Millisecond), WithHandler(r))
	tk.Schedule(w)
	if err := tk.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := w.TimedOut(); !slices.Equal(got, []string{"n2", "n4"}) {
		t.Fatalf("timed out %v", got)
	}
	if rc, ok := w.NodeRetcode("n3"); !ok || rc != 2 {
		t.Fatalf("n3 rc %d %v", rc, ok)
	}
	if r.log[len(r.log)-1] != "close true" {
		t.Fatalf("last event %q", r.log[len(r.log)-1])
	}
}

type dialError struct{ node string }

func (e *dialError) Error() string { return "cannot connect to " + e.node }

func TestNodeErr(t *testing.T) {
	d := driverFunc(func(ctx context.Context, s worker.Session) (worker.Status, error) {
		if s.Node() == "bad" {
			return worker.Status{}, &dialError{s.Node()}
		}
		s.Started()
		return worker.Exited(255), nil
	})
	tk := New()
	w := NewWorker(d, OnNodes("good", "bad"))
	tk.Schedule(w)
	if err := tk.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	var de *dialError
	if !errors.As(w.NodeErr("bad"), &de) || w.NodeErr("good") != nil {
		t.Fatalf("NodeErr bad=%v good=%v", w.NodeErr("bad"), w.NodeErr("good"))
	}
	for _, n := range []string{"good", "bad"} {
		if rc, _ := w.NodeRetcode(n); rc != 255 {
			t.Fatalf("%s rc %d", n, rc)
		}
	}
}

type reportedError struct{}

func (reportedError) Error() string  { return "ssh: connect to host n1: Connection refused" }
func (reportedError) Reported() bool { return true }

func TestReportedErrorNotRepeated(t *testing.T) {
	d := driverFunc(func(ctx context.Context, s worker.Session) (worker.Status, error) {
		s.Started()
		fmt.Fprintln(s.Stderr(), "ssh: connect to host n1: Connection refused")
		return worker.Status{}, reportedError{}
	})
	tk := New()
	w := NewWorker(d, OnNodes("n1"))
	tk.Schedule(w)
	if err := tk.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := string(w.NodeError("n1")); got != "ssh: connect to host n1: Connection refused\n" {
		t.Fatalf("stderr %q", got)
	}
	if rc, _ := w.NodeRetcode("n1"); rc != 255 || w.NodeErr("n1") == nil {
		t.Fatalf("rc %d err %v", rc, w.NodeErr("n1"))
	}
}
