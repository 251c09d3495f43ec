package mesh

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// Bytes written to a pipe in bursts and pauses come out of a spinReader
// whole and in order, and closing the write end is io.EOF.
func TestSpinReaderReadsAll(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	sr, ok := newSpinReader(pr).(*spinReader)
	if !ok {
		t.Fatal("a pipe from os.Pipe is not polled")
	}
	var want bytes.Buffer
	for i := range 2000 {
		want.WriteString(strings.Repeat(string(rune('a'+i%26)), 1+i%300))
	}
	go func() {
		b := want.Bytes()
		for i := 0; len(b) > 0; i++ {
			n := min(len(b), 1+i%700)
			if _, err := pw.Write(b[:n]); err != nil {
				break
			}
			b = b[n:]
			if i%97 == 0 {
				time.Sleep(300 * time.Microsecond) // a gap past the window
			}
		}
		pw.Close()
	}()
	got, err := io.ReadAll(sr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("read %d bytes, want %d, equal=false", len(got), want.Len())
	}
}

// Polls that keep finding nothing back off exponentially, to one read in
// 2^maxSpinBackoff; a reader whose frames come far apart never polls.
func TestSpinReaderBackoff(t *testing.T) {
	s := &spinReader{}
	for range 10 {
		if s.shouldPoll() {
			t.Fatal("polled with no close frames")
		}
	}
	for fails := uint(0); fails <= maxSpinBackoff+2; fails++ {
		s := &spinReader{close: true, fails: fails}
		polls := 0
		for range 1024 {
			if s.shouldPoll() {
				polls++
			}
		}
		want := 1024 >> min(fails, maxSpinBackoff)
		if fails == 0 {
			want = 1024
		}
		if polls != want {
			t.Errorf("after %d failed polls: %d polls in 1024 reads, want %d", fails, polls, want)
		}
	}
}

// Only a non-blocking *os.File is polled: anything else is read as it is.
func TestSpinReaderOnlyPollable(t *testing.T) {
	var b bytes.Buffer
	if r := newSpinReader(&b); r != io.Reader(&b) {
		t.Fatal("a bytes.Buffer was wrapped")
	}
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, ok := newSpinReader(f).(*spinReader); ok {
		t.Fatal("a blocking descriptor was wrapped")
	}
}

// A reader that finds the process-wide cap of pollers reached reads
// without polling and leaves the count as it was.
func TestSpinReaderCapLeavesCount(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	sr := newSpinReader(pr).(*spinReader)
	full := maxSpinners()
	spinners.Store(full)
	defer spinners.Store(0)
	buf := make([]byte, 16)
	for range 10 {
		sr.close, sr.last = true, time.Now()
		if _, err := pw.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		if _, err := sr.Read(buf); err != nil {
			t.Fatal(err)
		}
	}
	if got := spinners.Load(); got != full {
		t.Fatalf("spinners = %d after 10 reads at the cap, want %d", got, full)
	}
}

// A closed pipe gives the same error whether or not the read polled.
func TestSpinReaderClosedError(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pw.Close()
	sr := newSpinReader(pr).(*spinReader)
	pr.Close()
	sr.close, sr.last = true, time.Now()
	_, polled := sr.Read(make([]byte, 8))
	sr.close = false
	_, plain := sr.Read(make([]byte, 8))
	if !errors.Is(polled, os.ErrClosed) || !errors.Is(plain, os.ErrClosed) {
		t.Fatalf("polled read: %v; plain read: %v; want os.ErrClosed from both", polled, plain)
	}
}
