package mesh

import (
	"bufio"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
)

// fakeChild is a child link driven by the test: it writes frames of its
// choice to the Router, as a hostile or broken child would.
type fakeChild struct {
	t      *testing.T
	c      *Context
	in     *bufio.Reader // what the Router sends
	inFile *os.File      // its file
	out    *os.File      // to the Router
	hdr    [HeaderSize]byte
}

func newFakeChild(t *testing.T, r *Router, id ID) *fakeChild {
	t.Helper()
	toR, fromFake, err := os.Pipe() // fake -> router
	if err != nil {
		t.Fatal(err)
	}
	fromR, toFake, err := os.Pipe() // router -> fake
	if err != nil {
		t.Fatal(err)
	}
	stop := func() { _ = toR.Close() }
	// kill closes the pipe the Router writes to as well, as a killed
	// process would.
	kill := func() { _ = toR.Close(); _ = fromFake.Close(); _ = fromR.Close() }
	c, err := r.attachChild(id, "fake", bufio.NewReader(toR), toFake, stop, kill, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeChild{t: t, c: c, in: bufio.NewReader(fromR), inFile: fromR, out: fromFake}
	t.Cleanup(func() { _ = fromFake.Close(); _ = fromR.Close() })
	return f
}

func (f *fakeChild) write(m *Message) {
	f.t.Helper()
	if err := writeFrame(f.out, &f.hdr, m); err != nil {
		f.t.Fatalf("fake child write: %v", err)
	}
}

func (f *fakeChild) read() *Message {
	f.t.Helper()
	m, err := readFrame(f.in, &f.hdr, 1<<20)
	if err != nil {
		f.t.Fatalf("fake child read: %v", err)
	}
	return m
}

func recvString(t *testing.T, rc *Receiver) string {
	t.Helper()
	m, err := rc.Recv(testCtx(t))
	if err != nil {
		t.Fatalf("Recv: %v", err)
	}
	var s string
	if err := m.Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func mustEncode(t *testing.T, v any) []byte {
	b, err := Encode(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A child cannot pass a message off as its parent's (or anyone else's):
// the receiving router checks the claimed source against the link.
func TestAuthSpoofDropped(t *testing.T) {
	r := newRoot(t)
	f := newFakeChild(t, r, 7)
	rc := r.NewReceiver(4)
	defer rc.Close()
	// claims to be the root (its parent), then some other context, then itself
	f.write(&Message{Dst: 0, Src: 0, Auth: 0, Handle: rc.Handle(), Body: mustEncode(t, "spoof-parent")})
	f.write(&Message{Dst: 0, Src: 9, Auth: 9, Handle: rc.Handle(), Body: mustEncode(t, "spoof-other")})
	f.write(&Message{Dst: 0, Src: 0, Auth: 7, Handle: rc.Handle(), Body: mustEncode(t, "spoof-src")})
	f.write(&Message{Dst: 0, Src: 7, Auth: 7, Handle: rc.Handle(), Body: mustEncode(t, "honest")})
	m, err := rc.Recv(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	var s string
	if err := m.Decode(&s); err != nil || s != "honest" {
		t.Fatalf("first delivered message %q (%v), want only the honest one", s, err)
	}
	if m.Auth != 7 || m.Src != 7 {
		t.Fatalf("auth %d src %d, want 7", m.Auth, m.Src)
	}
}

// A child has no authority over its parent: it cannot call functions,
// start children or shut it down there.
func TestCallFromChildRefused(t *testing.T) {
	r := newRoot(t)
	f := newFakeChild(t, r, 7)
	for _, req := range []*Message{
		{Handle: HandleCallFunction, Body: mustEncode(t, callOut{Fn: "test.nothing", Args: struct{}{}})},
		{Handle: HandleStart, Body: mustEncode(t, startReq{Kind: "local", Path: "/bin/true"})},
		{Handle: HandleShutdown},
	} {
		req.Dst, req.Src, req.Auth, req.ReplyTo = 0, 7, 7, 1234
		f.write(req)
		m := f.read()
		if !m.Dead() || m.Handle != 1234 || m.Dst != 7 || !strings.HasPrefix(string(m.Body), ReasonRefused) {
			t.Fatalf("handle %d: got %+v %q, want a dead %q reply on 1234", req.Handle, m, m.Body, ReasonRefused)
		}
	}
	select {
	case <-r.Done():
		t.Fatal("the router closed on a child's SHUTDOWN")
	default:
	}
}

// A child gets disjoint blocks of ids from its parent.
func TestAllocateIDBlocks(t *testing.T) {
	r := newRoot(t)
	id, err := r.allocID(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	f := newFakeChild(t, r, id)
	var got []idRange
	for i := range 2 {
		f.write(&Message{Dst: 0, Src: f.c.ID(), Auth: f.c.ID(), Handle: HandleAllocateID, ReplyTo: Handle(3000 + i)})
		m := f.read()
		var rg idRange
		if err := m.Decode(&rg); err != nil || m.Handle != Handle(3000+i) {
			t.Fatalf("reply %+v: %v", m, err)
		}
		if rg.N != idBlock || rg.First == 0 || (rg.First <= f.c.ID() && f.c.ID() < rg.First+ID(rg.N)) {
			t.Fatalf("block %+v for child %d", rg, f.c.ID())
		}
		got = append(got, rg)
	}
	if a, b := got[0], got[1]; a.First < b.First+ID(b.N) && b.First < a.First+ID(a.N) {
		t.Fatalf("overlapping blocks %+v %+v", a, b)
	}
	c := localChild(t, r, "after")
	if id := c.ID(); (id >= got[0].First && id < got[0].First+idBlock) || (id >= got[1].First && id < got[1].First+idBlock) {
		t.Fatalf("child id %d inside a block given away", id)
	}
}

func TestDeadReasons(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Scheduler = testSched
	cfg.MaxMessageSize = 4096
	r, err := NewRouter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())
	f := newFakeChild(t, r, 3)
	ctx := testCtx(t)
	var ce *ChannelError

	err = newContext(r, 99, "").Call(ctx, "test.nothing", struct{}{}, nil)
	if !errors.As(err, &ce) || !strings.HasPrefix(ce.Reason, ReasonNoRoute) {
		t.Fatalf("unknown context: %v, want %q", err, ReasonNoRoute)
	}
	err = r.Myself().Request(ctx, 4321, "x").Wait(ctx, nil)
	if !errors.As(err, &ce) || !strings.HasPrefix(ce.Reason, ReasonInvalidHandle) {
		t.Fatalf("invalid handle: %v, want %q", err, ReasonInvalidHandle)
	}
	err = f.c.Call(ctx, "test.echo", strings.Repeat("x", 5000), nil)
	if !errors.As(err, &ce) || !strings.HasPrefix(ce.Reason, ReasonTooLarge) {
		t.Fatalf("too large: %v, want %q", err, ReasonTooLarge)
	}
	// a waiter on a context whose link drops gets "disconnected"
	p := f.c.Request(ctx, 4321, "x")
	if m := f.read(); m.Handle != 4321 || m.ReplyTo == 0 {
		t.Fatalf("fake child got %+v", m)
	}
	_ = f.out.Close()
	err = p.Wait(ctx, nil)
	if !errors.As(err, &ce) || !strings.HasPrefix(ce.Reason, ReasonDisconnected) {
		t.Fatalf("disconnected: %v, want %q", err, ReasonDisconnected)
	}
	<-f.c.Done()
	if !errors.As(f.c.Err(), &ce) {
		t.Fatalf("context Err %v", f.c.Err())
	}
}

// A malformed or oversized frame closes that link (logged), not the process.
func TestBadFrameClosesLink(t *testing.T) {
	for _, tc := range []struct {
		name string
		hdr  func(b []byte)
	}{
		{"magic", func(b []byte) { b[0] = 'X' }},
		{"version", func(b []byte) { b[offVersion] = 9 }},
		{"flags", func(b []byte) { b[offFlags+1] = 0x80 }},
		{"oversized", func(b []byte) { b[offLength] = 0x7f }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRoot(t)
			f := newFakeChild(t, r, 5)
			var b [HeaderSize]byte
			putHeader(b[:], &Message{Dst: 0, Src: 5, Auth: 5, Handle: 2000})
			tc.hdr(b[:])
			if _, err := f.out.Write(b[:]); err != nil {
				t.Fatal(err)
			}
			<-f.c.Done()
			// the router still works
			var s string
			c := localChild(t, r, "after")
			if err := c.Call(testCtx(t), "test.echo", "ok", &s); err != nil || s != "ok" {
				t.Fatalf("after a bad frame: %q %v", s, err)
			}
		})
	}
}
