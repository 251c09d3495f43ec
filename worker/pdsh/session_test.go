package pdsh_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/muster-sh/muster/worker"
)

// testSession is a worker.Session that records what a driver reports.
type testSession struct {
	node    string
	rank    int
	merged  bool
	ctout   time.Duration
	input   *broadcast
	started atomic.Int32
	written atomic.Int64

	mu       sync.Mutex
	out, err bytes.Buffer
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func newSession(node string, rank int) *testSession {
	return &testSession{node: node, rank: rank, ctout: 10 * time.Second}
}

func (s *testSession) Node() string { return s.node }
func (s *testSession) Rank() int    { return s.rank }
func (s *testSession) Started()     { s.started.Add(1) }
func (s *testSession) Stdout() io.Writer {
	return lockedWriter{&s.mu, &s.out}
}
func (s *testSession) Stderr() io.Writer {
	if s.merged {
		return s.Stdout()
	}
	return lockedWriter{&s.mu, &s.err}
}
func (s *testSession) MergedStderr() bool { return s.merged }
func (s *testSession) Stdin() worker.Input {
	if s.input == nil {
		return nil
	}
	return &reader{b: s.input}
}
func (s *testSession) Written(n int)                     { s.written.Add(int64(n)) }
func (s *testSession) ConnectTimeout() time.Duration     { return s.ctout }
func (s *testSession) Debugf(format string, args ...any) {}

func (s *testSession) Out() string { s.mu.Lock(); defer s.mu.Unlock(); return s.out.String() }
func (s *testSession) Err() string { s.mu.Lock(); defer s.mu.Unlock(); return s.err.String() }

// broadcast is a minimal worker.Input source: chunks appended, then closed.
type broadcast struct {
	mu     sync.Mutex
	chunks [][]byte
	closed bool
	more   chan struct{}
}

func newBroadcast() *broadcast { return &broadcast{more: make(chan struct{})} }

func (b *broadcast) Write(p []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.chunks = append(b.chunks, append([]byte(nil), p...))
	close(b.more)
	b.more = make(chan struct{})
}

func (b *broadcast) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	close(b.more)
}

type reader struct {
	b   *broadcast
	pos int
}

func (r *reader) Next(ctx context.Context) ([]byte, error) {
	for {
		r.b.mu.Lock()
		if r.pos < len(r.b.chunks) {
			c := r.b.chunks[r.pos]
			r.pos++
			r.b.mu.Unlock()
			return c, nil
		}
		if r.b.closed {
			r.b.mu.Unlock()
			return nil, io.EOF
		}
		more := r.b.more
		r.b.mu.Unlock()
		select {
		case <-more:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// result is one node's outcome.
type result struct {
	s   *testSession
	st  worker.Status
	err error
}

// runAll runs d for each session concurrently, as the engine does.
func runAll(ctx context.Context, d worker.Driver, sessions []*testSession) []result {
	res := make([]result, len(sessions))
	var wg sync.WaitGroup
	for i, s := range sessions {
		wg.Go(func() {
			st, err := d.Run(ctx, s)
			res[i] = result{s, st, err}
		})
	}
	wg.Wait()
	return res
}

func sessionsFor(names []string) []*testSession {
	out := make([]*testSession, len(names))
	for i, n := range names {
		out[i] = newSession(n, i)
	}
	return out
}

// needTool skips the test when a program is missing, or fails it in CI.
func needTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not found; CI must provide it", name)
		}
		t.Skip(fmt.Sprintf("%s not found", name))
	}
}
