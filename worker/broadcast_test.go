package worker

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"
)

func TestBroadcastLateReaderAndClose(t *testing.T) {
	b := NewBroadcast()
	early := b.Reader()
	if n, err := b.Write([]byte("one")); n != 3 || err != nil {
		t.Fatalf("Write: %d %v", n, err)
	}
	got := make(chan string, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var s string
		for {
			c, err := early.Next(ctx)
			if err != nil {
				if !errors.Is(err, io.EOF) {
					s += "<" + err.Error() + ">"
				}
				got <- s
				return
			}
			s += string(c) + "|"
		}
	}()
	_, _ = b.Write([]byte("two"))
	_ = b.Close()
	_ = b.Close() // idempotent
	if s := <-got; s != "one|two|" {
		t.Errorf("early reader read %q, want one|two| then EOF", s)
	}
	late := b.Reader() // a node started after the input ended reads it all
	for _, want := range []string{"one", "two"} {
		c, err := late.Next(context.Background())
		if err != nil || string(c) != want {
			t.Fatalf("late reader: %q %v, want %q", c, err, want)
		}
	}
	if _, err := late.Next(context.Background()); !errors.Is(err, io.EOF) {
		t.Fatalf("late reader after the last chunk: %v, want io.EOF", err)
	}
	if _, err := b.Write([]byte("x")); !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("Write after Close: %v, want io.ErrClosedPipe", err)
	}
}

func TestBroadcastNextHonoursContext(t *testing.T) {
	b := NewBroadcast()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Reader().Next(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next on an open, empty stream with a cancelled context: %v", err)
	}
}
