// Package workertest holds test helpers shared by the tests of muster's
// worker packages (worker/openssh, worker/pdsh, worker/rsh): a
// worker.Session that records what a driver reports, a broadcast standard
// input, a way to run a driver on many sessions at once as the engine
// does, a check for external programs a test needs, and a server that
// accepts connections and never answers.
//
// Only tests import it.
package workertest

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/muster-sh/muster/worker"
)

// Session is a worker.Session that records what a driver reports: the
// node's output, how often Started was called and how many input bytes
// were reported written. Set its exported fields before a run.
type Session struct {
	node string
	rank int

	// Merged makes standard error go to the standard output buffer.
	Merged bool
	// Timeout is the connect timeout the session reports (NewSession: 10s).
	Timeout time.Duration
	// Input, when set, is the node's standard input; nil: none.
	Input *worker.Broadcast
	// StartedCalls counts the calls of Started.
	StartedCalls atomic.Int32
	// WrittenBytes sums the byte counts passed to Written.
	WrittenBytes atomic.Int64

	mu       sync.Mutex
	out, err bytes.Buffer
}

var _ worker.Session = (*Session)(nil)

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// NewSession returns a session for node of the given rank, with a connect
// timeout of 10 seconds, separate output streams and no standard input.
func NewSession(node string, rank int) *Session {
	return &Session{node: node, rank: rank, Timeout: 10 * time.Second}
}

// Node returns the node name given to NewSession.
func (s *Session) Node() string { return s.node }

// Rank returns the rank given to NewSession.
func (s *Session) Rank() int { return s.rank }

// Started counts the call in StartedCalls.
func (s *Session) Started() { s.StartedCalls.Add(1) }

// Stdout returns a writer to the standard output buffer (see Out).
func (s *Session) Stdout() io.Writer { return lockedWriter{&s.mu, &s.out} }

// Stderr returns a writer to the standard error buffer (see Err), or to the
// standard output buffer when Merged is set.
func (s *Session) Stderr() io.Writer {
	if s.Merged {
		return s.Stdout()
	}
	return lockedWriter{&s.mu, &s.err}
}

// MergedStderr reports Merged.
func (s *Session) MergedStderr() bool { return s.Merged }

// Stdin returns a new reader of Input, or nil when Input is nil.
func (s *Session) Stdin() worker.Input {
	if s.Input == nil {
		return nil
	}
	return s.Input.Reader()
}

// Written adds n to WrittenBytes.
func (s *Session) Written(n int) { s.WrittenBytes.Add(int64(n)) }

// ConnectTimeout returns Timeout.
func (s *Session) ConnectTimeout() time.Duration { return s.Timeout }

// Debugf discards the message.
func (s *Session) Debugf(format string, args ...any) {}

// Out returns what was written to standard output so far.
func (s *Session) Out() string { s.mu.Lock(); defer s.mu.Unlock(); return s.out.String() }

// Err returns what was written to standard error so far.
func (s *Session) Err() string { s.mu.Lock(); defer s.mu.Unlock(); return s.err.String() }

// NewBroadcast returns an empty, open standard input shared by sessions:
// the engine's own worker.Broadcast.
func NewBroadcast() *worker.Broadcast { return worker.NewBroadcast() }

// Result is one node's outcome of a run.
type Result struct {
	S      *Session      // the node's session
	Status worker.Status // the status the driver returned
	Err    error         // the error the driver returned
}

// RunAll runs d for each session concurrently, as the engine does, and
// returns the outcomes in the order of sessions.
func RunAll(ctx context.Context, d worker.Driver, sessions []*Session) []Result {
	res := make([]Result, len(sessions))
	var wg sync.WaitGroup
	for i, s := range sessions {
		wg.Go(func() {
			st, err := d.Run(ctx, s)
			res[i] = Result{s, st, err}
		})
	}
	wg.Wait()
	return res
}

// SessionsFor returns a new session for each name, ranked in order.
func SessionsFor(names []string) []*Session {
	out := make([]*Session, len(names))
	for i, n := range names {
		out[i] = NewSession(n, i)
	}
	return out
}

// NeedTool skips the test when the program name is not in PATH, or fails
// it when CI is set in the environment: CI must provide every tool.
func NeedTool(t testing.TB, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not found; CI must provide it", name)
		}
		t.Skipf("%s not found", name)
	}
}

// SilentServer listens on a free loopback port, accepts connections and
// never sends a byte, so that a client waiting for a banner runs into its
// connect timeout. It returns the port; everything is closed when the test
// ends.
func SilentServer(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return l.Addr().(*net.TCPAddr).Port
}
