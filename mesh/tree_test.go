package mesh

import (
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// exited reports whether pid has exited (gone, or a zombie nobody reaped).
func exited(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && len(s) > i+2 && s[i+2] == 'Z'
}

// waitExited polls until pid has exited; it fails the test when the test's
// deadline passes first (a bound on a hang, not a timing assertion).
func waitExited(t *testing.T, pid int) {
	t.Helper()
	ctx := testCtx(t)
	for !exited(pid) {
		select {
		case <-ctx.Done():
			t.Fatalf("process %d did not exit", pid)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func callPID(t *testing.T, c *Context) int {
	t.Helper()
	var pid int
	if err := c.Call(testCtx(t), "test.pid", struct{}{}, &pid); err != nil {
		t.Fatalf("pid of %v: %v", c, err)
	}
	return pid
}

// A child starts its own child; messages are routed through the tree both
// ways, and ids and parent chains are right at every level.
func TestVia(t *testing.T) {
	r := newRoot(t)
	ctx := testCtx(t)
	a := localChild(t, r, "a")
	b, err := a.Local(ctx, LocalOptions{Name: "b"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := b.Local(ctx, LocalOptions{Name: "c"})
	if err != nil {
		t.Fatal(err)
	}
	ids := []ID{a.ID(), b.ID(), c.ID()}
	if ids[0] == 0 || ids[0] == ids[1] || ids[1] == ids[2] || ids[0] == ids[2] {
		t.Fatalf("ids %v, want distinct non-zero", ids)
	}
	var chain []ID
	if err := c.Call(ctx, "test.parents", struct{}{}, &chain); err != nil {
		t.Fatal(err)
	}
	if want := []ID{c.ID(), b.ID(), a.ID(), 0}; !slices.Equal(chain, want) {
		t.Fatalf("c's id and parents %v, want %v", chain, want)
	}
	if hop, ok := r.NextHop(c.ID()); !ok || hop != a.ID() {
		t.Fatalf("NextHop(c) = %d %v, want a (%d)", hop, ok, a.ID())
	}
	// up: the grandchild sends to a receiver in the root
	rc := r.NewReceiver(1)
	defer rc.Close()
	if err := c.Call(ctx, "test.sendto", struct {
		To  SenderRef
		Msg string
	}{rc.Sender(), "from c"}, nil); err != nil {
		t.Fatal(err)
	}
	m, err := rc.Recv(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var s string
	if err := m.Decode(&s); err != nil || s != "from c" || m.Auth != c.ID() {
		t.Fatalf("got %q from %d (%v), want \"from c\" from %d", s, m.Auth, err, c.ID())
	}
	// a child has no authority over its parent: c calling b is refused in b
	err = c.Call(ctx, "test.callparent", struct{}{}, nil)
	var ce *CallError
	if !errors.As(err, &ce) || !strings.Contains(ce.Msg, ReasonRefused) {
		t.Fatalf("c calls b: %v, want a refusal", err)
	}
	// a grandchild started by a function inside a child
	var dID ID
	if err := b.Call(ctx, "test.startlocal", "d", &dID); err != nil {
		t.Fatal(err)
	}
	d := r.Context(dID)
	if d == nil {
		t.Fatalf("no route to d (%d) at the root", dID)
	}
	if err := d.Call(ctx, "test.echo", "d", &s); err != nil || s != "d" {
		t.Fatalf("call d: %q %v", s, err)
	}
}

// A child killed mid-call: the caller gets an error, not a hang, also two
// links away.
func TestChildKilledMidCall(t *testing.T) {
	r := newRoot(t)
	ctx := testCtx(t)
	a := localChild(t, r, "a")
	b, err := a.Local(ctx, LocalOptions{Name: "b"})
	if err != nil {
		t.Fatal(err)
	}
	for _, victim := range []*Context{b, a} {
		p := victim.CallAsync(ctx, "test.sleep", time.Hour)
		pid := callPID(t, victim)
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		err := p.Wait(ctx, nil)
		var ce *ChannelError
		if !errors.As(err, &ce) || !strings.HasPrefix(ce.Reason, ReasonDisconnected) {
			t.Fatalf("call to killed %v: %v, want a %q *ChannelError", victim, err, ReasonDisconnected)
		}
		<-victim.Done()
	}
}

// A child whose parent is killed exits, and so do its children.
func TestParentKilledChildExits(t *testing.T) {
	r := newRoot(t)
	ctx := testCtx(t)
	a := localChild(t, r, "a")
	b, err := a.Local(ctx, LocalOptions{Name: "b"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := b.Local(ctx, LocalOptions{Name: "c"})
	if err != nil {
		t.Fatal(err)
	}
	pa, pb, pc := callPID(t, a), callPID(t, b), callPID(t, c)
	if err := syscall.Kill(pa, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitExited(t, pb)
	waitExited(t, pc)
	<-c.Done()
}

// Close shuts the whole tree down.
func TestCloseShutsDownTree(t *testing.T) {
	r := newRoot(t)
	ctx := testCtx(t)
	a := localChild(t, r, "a")
	b, err := a.Local(ctx, LocalOptions{Name: "b"})
	if err != nil {
		t.Fatal(err)
	}
	pa, pb := callPID(t, a), callPID(t, b)
	p := b.CallAsync(ctx, "test.sleep", time.Hour)
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var ce *ChannelError
	if err := p.Wait(ctx, nil); !errors.As(err, &ce) {
		t.Fatalf("pending call after Close: %v, want a *ChannelError", err)
	}
	waitExited(t, pa)
	waitExited(t, pb)
	if _, err := r.Local(ctx, LocalOptions{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Local after Close: %v, want ErrClosed", err)
	}
}

// Shutdown of one subtree leaves the rest running.
func TestContextShutdown(t *testing.T) {
	// b is a grandchild: nothing here can kill it, so Shutdown waits the
	// grace for it to go through a's router; a loaded machine can take
	// longer than the 2 s of newRoot for that. Shutdown returns as soon as
	// b is gone, so a long grace costs nothing.
	r := newRootWith(t, func(c *Config) { c.ShutdownGrace = time.Minute })
	ctx := testCtx(t)
	a := localChild(t, r, "a")
	b, err := a.Local(ctx, LocalOptions{Name: "b"})
	if err != nil {
		t.Fatal(err)
	}
	pb := callPID(t, b)
	if err := b.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	waitExited(t, pb)
	if err := a.Call(ctx, "test.nothing", struct{}{}, nil); err != nil {
		t.Fatalf("a after b's shutdown: %v", err)
	}
}

// A start failure names the cause and shows the child's stderr.
func TestLocalStartError(t *testing.T) {
	r := newRoot(t)
	_, err := r.Local(testCtx(t), LocalOptions{Name: "sh", Path: "/bin/sh", Args: []string{"-c", "echo noise; echo bad thing >&2; exit 3"}})
	if !errors.Is(err, ErrStart) || !strings.Contains(err.Error(), "bad thing") || !strings.Contains(err.Error(), "noise") {
		t.Fatalf("err %v, want ErrStart with the stderr and noise", err)
	}
}

// Noise before the greeting is skipped.
func TestLocalNoiseBeforeGreeting(t *testing.T) {
	r := newRoot(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.Local(testCtx(t), LocalOptions{Name: "noisy", Path: "/bin/sh",
		Args: []string{"-c", `printf 'MU\001\000 banner\n'; exec "$0"`, exe}})
	if err != nil {
		t.Fatal(err)
	}
	var s string
	if err := c.Call(testCtx(t), "test.echo", "x", &s); err != nil || s != "x" {
		t.Fatalf("%q %v", s, err)
	}
}

// A child that does not answer the shutdown request (stopped here) is
// killed after the grace period; Close returns.
func TestCloseKillsHungChild(t *testing.T) {
	r := newRootWith(t, func(c *Config) { c.ShutdownGrace = 100 * time.Millisecond })
	c := localChild(t, r, "hung")
	pid := callPID(t, c)
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	waitExited(t, pid)
}

// A start that never completes its handshake ends at ConnectTimeout, even
// when a grandchild keeps the pipes open.
func TestLocalConnectTimeout(t *testing.T) {
	r := newRoot(t)
	_, err := r.Local(testCtx(t), LocalOptions{Name: "silent", Path: "/bin/sh",
		Args: []string{"-c", "sleep 60; true"}, ConnectTimeout: 100 * time.Millisecond})
	if !errors.Is(err, ErrStart) || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("err %v, want a timed-out ErrStart", err)
	}
}

// A child that crashes: the waiter's error carries the panic line.
func TestChildCrashReason(t *testing.T) {
	r := newRoot(t)
	c := localChild(t, r, "crash")
	err := c.Call(testCtx(t), "test.crash", "the sky fell", nil)
	var ce *ChannelError
	if !errors.As(err, &ce) || !strings.HasPrefix(ce.Reason, ReasonDisconnected) || !strings.Contains(ce.Reason, "panic: the sky fell") {
		t.Fatalf("err %v, want disconnected with the panic line", err)
	}
}
