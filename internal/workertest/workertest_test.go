package workertest_test

import (
	"context"
	"errors"
	"io"
	"testing"

	"go.uber.org/goleak"

	"github.com/muster-sh/muster/internal/workertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestBroadcast checks that every reader gets every chunk in order, then
// io.EOF, and that a reader waiting for more stops with its context.
func TestBroadcast(t *testing.T) {
	b := workertest.NewBroadcast()
	s1, s2 := workertest.NewSession("a", 0), workertest.NewSession("b", 1)
	if s1.Stdin() != nil {
		t.Fatal("a session without Input must have no standard input")
	}
	s1.Input, s2.Input = b, b
	r1, r2 := s1.Stdin(), s2.Stdin()
	b.Write([]byte("one"))
	p := []byte("two")
	b.Write(p)
	p[0] = 'X' // Write keeps a copy
	ctx, cancel := context.WithCancel(context.Background())
	for _, r := range []interface {
		Next(context.Context) ([]byte, error)
	}{r1, r2} {
		for _, want := range []string{"one", "two"} {
			if got, err := r.Next(ctx); err != nil || string(got) != want {
				t.Fatalf("Next = %q, %v; want %q", got, err, want)
			}
		}
	}
	cancel()
	if _, err := r1.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Next on a cancelled context with nothing pending: %v", err)
	}
	b.Close()
	if _, err := r2.Next(context.Background()); err != io.EOF {
		t.Errorf("Next after Close: %v, want io.EOF", err)
	}
}

// TestSession checks the recorded streams, Merged and the counters.
func TestSession(t *testing.T) {
	ss := workertest.SessionsFor([]string{"n1", "n2"})
	if ss[1].Node() != "n2" || ss[1].Rank() != 1 || ss[1].ConnectTimeout() <= 0 {
		t.Fatalf("session %q rank %d timeout %v", ss[1].Node(), ss[1].Rank(), ss[1].ConnectTimeout())
	}
	s := ss[0]
	s.Stdout().Write([]byte("o"))
	s.Stderr().Write([]byte("e"))
	s.Merged = true
	s.Stderr().Write([]byte("m"))
	s.Started()
	s.Written(3)
	s.Written(4)
	if s.Out() != "om" || s.Err() != "e" || !s.MergedStderr() || s.StartedCalls.Load() != 1 || s.WrittenBytes.Load() != 7 {
		t.Errorf("out %q err %q merged %v started %d written %d", s.Out(), s.Err(), s.MergedStderr(), s.StartedCalls.Load(), s.WrittenBytes.Load())
	}
}
