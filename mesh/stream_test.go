package mesh

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Raw chunks stream from a child to a receiver in the parent, in order and
// intact, and the end of the stream is a ChannelError "sender closed".
func TestStreamFromChild(t *testing.T) {
	r := newRoot(t)
	c := localChild(t, r, "s")
	ctx := testCtx(t)
	rc := r.NewReceiver(8)
	defer rc.Close()
	rc.Watch(c)
	const n, size = 50, 100 << 10
	p := c.CallAsync(ctx, "test.stream", struct {
		To      SenderRef
		N, Size int
	}{rc.Sender(), n, size})
	for i := range n {
		m, err := rc.Recv(ctx)
		if err != nil {
			t.Fatalf("chunk %d: %v", i, err)
		}
		if !m.Raw() || len(m.Body) != size || m.Body[0] != byte(i) || m.Body[size-1] != byte(i+size-1) || m.Auth != c.ID() {
			t.Fatalf("chunk %d: raw %v len %d first %d from %d", i, m.Raw(), len(m.Body), m.Body[0], m.Auth)
		}
		var b []byte
		if err := m.Decode(&b); err != nil || !bytes.Equal(b, m.Body) {
			t.Fatalf("Decode of a raw body: %v", err)
		}
	}
	_, err := rc.Recv(ctx)
	var ce *ChannelError
	if !errors.As(err, &ce) || ce.Reason != ReasonSenderClosed {
		t.Fatalf("end of stream: %v, want %q", err, ReasonSenderClosed)
	}
	var sent int
	if err := p.Wait(ctx, &sent); err != nil || sent != n {
		t.Fatalf("stream call: %d %v", sent, err)
	}
}

// A receiver watching a context fails promptly when that context dies.
func TestReceiverWatch(t *testing.T) {
	r := newRoot(t)
	c := localChild(t, r, "w")
	ctx := testCtx(t)
	rc := r.NewReceiver(1)
	defer rc.Close()
	rc.Watch(c)
	errc := make(chan error, 1)
	go func() {
		_, err := rc.Recv(ctx)
		errc <- err
	}()
	if err := syscall.Kill(callPID(t, c), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var ce *ChannelError
	if err := <-errc; !errors.As(err, &ce) || !strings.HasPrefix(ce.Reason, ReasonDisconnected) {
		t.Fatalf("Recv after the sender's context died: %v", err)
	}
	// watching a context already gone fails at once
	rc2 := r.NewReceiver(1)
	defer rc2.Close()
	rc2.Watch(c)
	if _, err := rc2.Recv(ctx); !errors.As(err, &ce) {
		t.Fatalf("Recv watching a gone context: %v", err)
	}
}

func TestSelect(t *testing.T) {
	r := newRoot(t)
	ctx := testCtx(t)
	a, b := r.NewReceiver(1), r.NewReceiver(1)
	defer a.Close()
	defer b.Close()
	go func() {
		_ = r.Sender(b.Sender()).Send("to b")
	}()
	i, m, err := Select(ctx, a, b)
	var s string
	if err != nil || i != 1 || m.Decode(&s) != nil || s != "to b" {
		t.Fatalf("Select = %d %v %q", i, err, s)
	}
	if err := r.Sender(a.Sender()).Close(); err != nil {
		t.Fatal(err)
	}
	i, _, err = Select(ctx, a, b)
	var ce *ChannelError
	if i != 0 || !errors.As(err, &ce) {
		t.Fatalf("Select of a closed stream = %d %v", i, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := Select(cctx, a, b); !errors.Is(err, context.Canceled) {
		t.Fatalf("Select with a cancelled ctx: %v", err)
	}
}

// A reply above the maximum message size reaches the caller as an error.
func TestReplyTooLarge(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Scheduler = testSched
	cfg.MaxMessageSize = 8192
	r, err := NewRouter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())
	c := localChild(t, r, "big")
	ctx := testCtx(t)
	var b []byte
	if err := c.Call(ctx, "test.big", 1000, &b); err != nil || len(b) != 1000 {
		t.Fatalf("small reply: %d %v", len(b), err)
	}
	err = c.Call(ctx, "test.big", 100000, &b)
	var ce *CallError
	if !errors.As(err, &ce) || !strings.Contains(ce.Msg, ReasonTooLarge) {
		t.Fatalf("large reply: %v, want a CallError saying %q", err, ReasonTooLarge)
	}
}

// With Debug, a remote panic comes back with the remote stack.
func TestCallErrorStack(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Scheduler = testSched
	cfg.Debug = true
	r, err := NewRouter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())
	c := localChild(t, r, "dbg")
	err = c.Call(testCtx(t), "test.panic", "deep", nil)
	var ce *CallError
	if !errors.As(err, &ce) || ce.Msg != "deep" || !strings.Contains(ce.Stack, "safeCall") {
		t.Fatalf("err %v stack %q", err, ce.Stack)
	}
}

// logBuffer is a slog handler's output, safe for concurrent writes.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// The reason a link is closed for a bad frame is logged.
func TestBadFrameLogged(t *testing.T) {
	var logs logBuffer
	cfg := DefaultConfig()
	cfg.Scheduler = testSched
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	r, err := NewRouter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())
	f := newFakeChild(t, r, 5)
	if _, err := f.out.Write([]byte("this is not a frame, just noise.")); err != nil {
		t.Fatal(err)
	}
	<-f.c.Done()
	if s := logs.String(); !strings.Contains(s, "bad frame") || !strings.Contains(s, "magic") {
		t.Fatalf("log %q, want the bad frame and its reason", s)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []Config{{MaxMessageSize: 100}, {MaxMessageSize: 3 << 30}, {ShutdownGrace: -time.Second}} {
		if err := c.Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: %v, want ErrInvalidConfig", c, err)
		}
		if _, err := NewRouter(c); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("NewRouter(%+v): %v", c, err)
		}
	}
}

// A child's stderr lines reach the parent's logger.
func TestChildStderrLogged(t *testing.T) {
	var logs logBuffer
	cfg := DefaultConfig()
	cfg.Scheduler = testSched
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	r, err := NewRouter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.Local(testCtx(t), LocalOptions{Name: "talker", Path: "/bin/sh",
		Args: []string{"-c", `echo "level=WARN something odd" >&2; exec "$0"`, exe}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Call(testCtx(t), "test.nothing", struct{}{}, nil); err != nil {
		t.Fatal(err)
	}
	// The stderr copy runs on its own goroutine, unordered with the call.
	waitUntil(t, "the child's stderr line in the log", func() bool {
		s := logs.String()
		return strings.Contains(s, "something odd") && strings.Contains(s, "child=talker")
	})
}

func TestAfterGone(t *testing.T) {
	r := newRoot(t)
	c := localChild(t, r, "g")
	first, second, late := make(chan error, 1), make(chan error, 1), make(chan error, 1)
	c.AfterGone(func(err error) { first <- err })
	stop := c.AfterGone(func(err error) { second <- err })
	if !stop() {
		t.Fatal("stop before gone = false, want true")
	}
	if err := syscall.Kill(callPID(t, c), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var ce *ChannelError
	if err := <-first; !errors.As(err, &ce) || !strings.HasPrefix(ce.Reason, ReasonDisconnected) {
		t.Fatalf("AfterGone got %v", err)
	}
	select {
	case err := <-second:
		t.Fatalf("stopped callback ran with %v", err)
	default:
	}
	stop = c.AfterGone(func(err error) { late <- err })
	if err := <-late; !errors.As(err, &ce) {
		t.Fatalf("AfterGone on a gone context got %v", err)
	}
	if stop() {
		t.Fatal("stop after the callback ran = true, want false")
	}
}

// Select over Receivers of two Routers returns when either Router closes,
// naming a Receiver of the closed one.
func TestSelectTwoRouters(t *testing.T) {
	a, b := newRoot(t), newRoot(t)
	ra, rb := a.NewReceiver(1), b.NewReceiver(1)
	defer ra.Close()
	defer rb.Close()
	go func() { _ = b.Close(context.Background()) }()
	i, _, err := Select(testCtx(t), ra, rb)
	var ce *ChannelError
	if i != 1 || !errors.As(err, &ce) || !strings.HasPrefix(ce.Reason, ReasonShutdown) {
		t.Fatalf("Select = %d, %v; want 1 and a shutdown error", i, err)
	}
}
