package mesh

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/muster-sh/muster/sched"
)

// askIDs sends ALLOCATE_ID from f and returns the reply.
func (f *fakeChild) askIDs(replyTo Handle) *Message {
	f.t.Helper()
	f.write(&Message{Dst: 0, Src: f.c.ID(), Auth: f.c.ID(), Handle: HandleAllocateID, ReplyTo: replyTo})
	for {
		m := f.read()
		if m.Handle == replyTo {
			return m
		}
	}
}

func (f *fakeChild) addRoute(id ID) {
	f.t.Helper()
	f.write(&Message{Dst: 0, Src: f.c.ID(), Auth: f.c.ID(), Handle: HandleAddRoute, Body: mustEncode(f.t, routeMsg{ID: id})})
}

// A child is believed only for the ids handed down its link: its own and
// the blocks it asked for. It cannot claim an id outside them, nor one of
// a sibling's block, to draw that context's messages to itself.
func TestAddRouteOnlyForHandedIDs(t *testing.T) {
	r := newRoot(t)
	alloc := func() ID {
		id, err := r.allocID(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	f := newFakeChild(t, r, alloc())
	g := newFakeChild(t, r, alloc())
	fid, gid := f.c.ID(), g.c.ID()
	var rg idRange
	if err := f.askIDs(3000).Decode(&rg); err != nil {
		t.Fatal(err)
	}
	nobody := rg.First + 10*idBlock
	g.addRoute(rg.First + 5) // a sibling's block
	f.addRoute(rg.First + 6) // its own block
	f.addRoute(nobody)       // nobody's
	f.addRoute(gid)          // the sibling itself
	// The reader handles messages in order: once an answer to a later
	// message is in, the ADD_ROUTEs before it have been handled.
	g.askIDs(3001)
	f.askIDs(3002)
	for _, c := range []struct {
		id   ID
		want ID
		ok   bool
	}{{rg.First + 5, 0, false}, {rg.First + 6, fid, true}, {nobody, 0, false}, {gid, gid, true}} {
		hop, ok := r.NextHop(c.id)
		if ok != c.ok || (ok && hop != c.want) {
			t.Errorf("NextHop(%d) = %d, %v; want %d, %v", c.id, hop, ok, c.want, c.ok)
		}
	}
}

// A link gets a bounded number of id blocks, and the root never hands out
// a block that would wrap its counter.
func TestIDBlocksBounded(t *testing.T) {
	old := maxBlocksPerLink
	maxBlocksPerLink = 2
	t.Cleanup(func() { maxBlocksPerLink = old })
	r := newRoot(t)
	f := newFakeChild(t, r, 7)
	for i := range 2 {
		if m := f.askIDs(Handle(3000 + i)); m.Dead() {
			t.Fatalf("block %d refused: %s", i, m.Body)
		}
	}
	m := f.askIDs(3002)
	if !m.Dead() || !strings.HasPrefix(string(m.Body), ReasonRefused) || !strings.Contains(string(m.Body), "maximum of 2 id blocks") {
		t.Fatalf("third block: dead=%v %q, want refused at the maximum", m.Dead(), m.Body)
	}

	g := newFakeChild(t, r, 8)
	r.idMu.Lock()
	r.idNext = ^ID(0) - idBlock + 1
	r.idMu.Unlock()
	m = g.askIDs(3003)
	if !m.Dead() || !strings.Contains(string(m.Body), "context ids exhausted") {
		t.Fatalf("block past the end: dead=%v %q, want ids exhausted", m.Dead(), m.Body)
	}
	r.idMu.Lock()
	next := r.idNext
	r.idMu.Unlock()
	if next != ^ID(0)-idBlock+1 {
		t.Fatalf("refused request moved the counter to %d", next)
	}
}

// A Context for a child whose route is already gone reports gone at once:
// no later DEL_ROUTE would tell it.
func TestDescendantAfterRouteGone(t *testing.T) {
	r := newRoot(t)
	c := r.descendant(4242, "late")
	select {
	case <-c.Done():
	default:
		t.Fatal("context without a route is not gone")
	}
	var ce *ChannelError
	if !errors.As(c.Err(), &ce) || !strings.HasPrefix(ce.Reason, ReasonDisconnected) {
		t.Fatalf("Err = %v, want %q", c.Err(), ReasonDisconnected)
	}
	if r.Context(4242) != nil {
		t.Fatal("a gone descendant was kept")
	}
}

// A dead message cannot fail a request unless it comes from the direction
// of the context asked: another subtree guessing the reply handle is
// ignored, and the real reply still arrives.
func TestDeadFromElsewhereIgnored(t *testing.T) {
	r := newRoot(t)
	f := newFakeChild(t, r, 7)
	g := newFakeChild(t, r, 8)
	ctx := testCtx(t)
	p := f.c.Request(ctx, 555, "ping")
	req := f.read()
	g.write(&Message{Dst: 0, Src: 8, Auth: 8, Handle: req.ReplyTo, Flags: FlagDead | FlagRaw, Body: []byte(ReasonNoRoute + ": forged")})
	g.askIDs(3000) // g's forgery has been handled
	select {
	case <-p.Done():
		t.Fatalf("a dead message from context 8 failed a request to context 7: %v", p.Wait(ctx, nil))
	default:
	}
	f.write(&Message{Dst: 0, Src: 7, Auth: 7, Handle: req.ReplyTo, Body: mustEncode(t, "pong")})
	var s string
	if err := p.Wait(ctx, &s); err != nil || s != "pong" {
		t.Fatalf("reply %q, %v; want pong", s, err)
	}
}

// An answered request lets go of the caller's ctx.
func TestPendingReleasesCtx(t *testing.T) {
	r := newRoot(t)
	f := newFakeChild(t, r, 7)
	ctx := testCtx(t)
	p := f.c.Request(ctx, 555, "ping")
	req := f.read()
	f.write(&Message{Dst: 0, Src: 7, Auth: 7, Handle: req.ReplyTo, Body: mustEncode(t, "pong")})
	<-p.Done()
	p.mu.Lock()
	stop, resolved := p.stop, p.resolved
	p.mu.Unlock()
	if !resolved || stop != nil {
		t.Fatalf("resolved=%v, watch still held=%v", resolved, stop != nil)
	}
}

// Work arriving on a link never blocks the reader: with the Scheduler's
// queue full it waits in the backlog, past that the caller is told
// "busy", and what still waits when the Router closes is answered
// "shutdown".
func TestDispatchNeverBlocks(t *testing.T) {
	s, err := sched.New(sched.Config{MaxWorkers: 1, QueueSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	// A long grace: past it Close kills the fake child, which closes the
	// pipe read below. The fake child ends its side once answered instead.
	r := newRootWith(t, func(c *Config) { c.Scheduler, c.ShutdownGrace = s, time.Minute })
	f := newFakeChild(t, r, 7)
	started, release := make(chan struct{}), make(chan struct{})
	if err := s.Submit(context.Background(), sched.High, func(context.Context) { close(started); <-release }); err != nil {
		t.Fatal(err)
	}
	<-started
	defer close(release)
	msg := func(replyTo Handle) *Message {
		return &Message{Dst: 0, Src: 7, Auth: 7, ReplyTo: replyTo, link: f.c.link, router: r}
	}
	done := make(chan error, 1)
	go func() { // a hang here is the failure
		for i := range maxBacklog + 1 { // one fills the queue
			h := Handle(0)
			if i == maxBacklog {
				h = 99 // the last one waiting asks for a reply
			}
			if err := r.dispatch(msg(h), "test", func() {}); err != nil {
				done <- err
				return
			}
		}
		done <- r.dispatch(msg(0), "test", func() {})
	}()
	select {
	case err := <-done:
		if err == nil || !strings.HasPrefix(err.Error(), ReasonBusy) {
			t.Fatalf("dispatch past the backlog: %v, want %q", err, ReasonBusy)
		}
	case <-testCtx(t).Done():
		t.Fatal("dispatch blocked")
	}
	if n := r.backlog.Len(); n != maxBacklog {
		t.Fatalf("backlog holds %d, want %d", n, maxBacklog)
	}
	// Close answers the waiting work with dead replies while the links are
	// still up.
	closed := make(chan error, 1)
	go func() { closed <- r.Close(context.Background()) }()
	for {
		m := f.read()
		if m.Handle == 99 {
			if !m.Dead() || !strings.HasPrefix(string(m.Body), ReasonShutdown) {
				t.Fatalf("waiting work answered %+v %q, want a dead %q reply", m, m.Body, ReasonShutdown)
			}
			break
		}
	}
	_ = f.out.Close() // the child goes, so Close need not wait the grace
	r.backlog.Wait()
	if n := r.backlog.Len(); n != 0 {
		t.Fatalf("backlog after Close holds %d", n)
	}
	<-closed
}

// A frame that declares a large body costs memory only as its bytes
// arrive.
func TestReadFrameAllocatesAsBytesArrive(t *testing.T) {
	var buf bytes.Buffer
	var hdr [HeaderSize]byte
	putHeader(hdr[:], &Message{Dst: 1, Handle: 5})
	hdr[offLength], hdr[offLength+1], hdr[offLength+2], hdr[offLength+3] = 0x03, 0xc0, 0, 0 // 60 MiB
	buf.Write(hdr[:])
	buf.WriteString("only a few bytes")
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := readFrame(&buf, &hdr, 64<<20)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v, want ErrUnexpectedEOF", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 4<<20 {
		t.Fatalf("allocated %d bytes for a frame cut short after 16 body bytes", n)
	}
	// A large body that does arrive is read whole.
	body := bytes.Repeat([]byte("0123456789abcdef"), 200000) // 3.2 MB
	buf.Reset()
	var w [HeaderSize]byte
	if err := writeFrame(&buf, &w, &Message{Dst: 1, Handle: 5, Body: body}); err != nil {
		t.Fatal(err)
	}
	m, err := readFrame(&buf, &hdr, 64<<20)
	if err != nil || !bytes.Equal(m.Body, body) {
		t.Fatalf("large body: err %v, equal %v", err, err == nil && bytes.Equal(m.Body, body))
	}
}

// A router that forwards for a fast sender to a slow peer stops reading
// the sender once the peer's queue passes highWater, instead of holding
// every message; when the peer reads again, everything arrives in order.
func TestForwardBackpressure(t *testing.T) {
	r := newRoot(t)
	f := newFakeChild(t, r, 7)
	g := newFakeChild(t, r, 8)
	const size = 64 << 10
	const count = 4 * highWater / size // four times what may queue
	wrote := make(chan error, 1)
	go func() {
		var hdr [HeaderSize]byte
		body := make([]byte, size)
		for i := range count {
			body[0], body[1] = byte(i>>8), byte(i)
			if err := writeFrame(f.out, &hdr, &Message{Dst: 8, Src: 7, Auth: 7, Handle: 600, Flags: FlagRaw, Body: body}); err != nil {
				wrote <- err
				return
			}
		}
		wrote <- nil
	}()
	gl := g.c.link
	waitUntil(t, "the forwarding reader to wait for room", func() bool { return gl.stalls.Load() > 0 })
	gl.mu.Lock()
	q := gl.qbytes
	gl.mu.Unlock()
	if q > highWater+HeaderSize+size {
		t.Fatalf("queued %d bytes for the slow peer, want at most %d", q, highWater+HeaderSize+size)
	}
	select {
	case err := <-wrote:
		t.Fatalf("the sender wrote everything (%v) while the peer read nothing", err)
	default:
	}
	for i := range count {
		m := g.read()
		if m.Handle != 600 || len(m.Body) != size || int(m.Body[0])<<8|int(m.Body[1]) != i {
			t.Fatalf("message %d: handle %d, %d bytes, seq %d", i, m.Handle, len(m.Body), int(m.Body[0])<<8|int(m.Body[1]))
		}
	}
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
}

// waitUntil polls cond within a generous bound; it asserts no duration.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// A Receiver that accepts only its peer drops what another context sends
// to its (guessable) handle, and answers it "refused".
func TestReceiverAcceptOnly(t *testing.T) {
	r := newRoot(t)
	f := newFakeChild(t, r, 7)
	g := newFakeChild(t, r, 8)
	rc := r.NewReceiver(4)
	defer rc.Close()
	rc.AcceptOnly(7)
	g.write(&Message{Dst: 0, Src: 8, Auth: 8, Handle: rc.Handle(), ReplyTo: 77, Body: mustEncode(t, "intruder")})
	if m := g.read(); !m.Dead() || m.Handle != 77 || !strings.HasPrefix(string(m.Body), ReasonRefused) {
		t.Fatalf("intruder got %+v %q, want a dead %q reply", m, m.Body, ReasonRefused)
	}
	f.write(&Message{Dst: 0, Src: 7, Auth: 7, Handle: rc.Handle(), Body: mustEncode(t, "peer")})
	if s := recvString(t, rc); s != "peer" {
		t.Fatalf("received %q, want only the peer's message", s)
	}
}

// newChildRouter returns a non-root Router (id, parent 0) whose parent
// link is a pair of pipes driven by the test.
func newChildRouter(t *testing.T, id ID) (r *Router, toR *os.File, fromR *bufio.Reader, fromRFile *os.File) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Scheduler = testSched
	cfg.ShutdownGrace = 500 * time.Millisecond
	r, err := newRouter(cfg, id, []ID{0})
	if err != nil {
		t.Fatal(err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	rr, rw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	l := newLink(r, 0, true, "parent", pr, rw, nil, func() { _ = pr.Close(); _ = rw.Close() })
	r.mu.Lock()
	r.parent = l
	r.mu.Unlock()
	l.start()
	t.Cleanup(func() { _ = pw.Close(); _ = rr.Close(); _ = r.Close(context.Background()) })
	return r, pw, bufio.NewReader(rr), rr
}

// flood writes 64 KiB frames from src to dst until the pipe fails.
func flood(w *os.File, dst, src ID) {
	var hdr [HeaderSize]byte
	body := make([]byte, 64<<10)
	for writeFrame(w, &hdr, &Message{Dst: dst, Src: src, Auth: src, Handle: 600, Flags: FlagRaw, Body: body}) == nil {
	}
}

func setStallLimit(t *testing.T, d time.Duration) {
	old := stallLimit
	stallLimit = d
	t.Cleanup(func() { stallLimit = old })
}

// A reader held back by a peer that reads nothing does not wait forever:
// the peer is taken for hung and its link closed, so the reader reads on
// and sees its own child go; a request to that child fails instead of
// hanging.
func TestStalledPeerTakenForHung(t *testing.T) {
	setStallLimit(t, 300*time.Millisecond)
	r := newRoot(t)
	f := newFakeChild(t, r, 7)
	g := newFakeChild(t, r, 8) // never reads
	ctx := testCtx(t)
	p := f.c.Request(ctx, 555, "ping")
	_ = f.read()
	go flood(f.out, 8, 7)
	waitUntil(t, "the reader to wait for room", func() bool { return g.c.link.stalls.Load() > 0 })
	_ = f.out.Close() // child 7 dies
	_ = f.inFile.Close()
	var ce *ChannelError
	if err := p.Wait(ctx, nil); !errors.As(err, &ce) || !strings.HasPrefix(ce.Reason, ReasonDisconnected) {
		t.Fatalf("request to the dead child: %v, want %q", err, ReasonDisconnected)
	}
	<-g.c.Done()
	if err := g.c.Err(); err == nil || !strings.Contains(err.Error(), "taken for hung") {
		t.Fatalf("the peer that read nothing: %v, want taken for hung", err)
	}
}

// A context whose reader is held back by a child that reads nothing still
// ends when its parent goes: no orphan.
func TestStalledReaderNoOrphan(t *testing.T) {
	setStallLimit(t, 300*time.Millisecond)
	p, toP, _, fromP := newChildRouter(t, 5)
	c := newFakeChild(t, p, 6) // never reads
	go flood(toP, 6, 0)
	waitUntil(t, "the reader to wait for room", func() bool { return c.c.link.stalls.Load() > 0 })
	_ = toP.Close() // the parent is gone
	_ = fromP.Close()
	select {
	case <-p.Done():
	case <-testCtx(t).Done():
		t.Fatal("the parent is gone and the context is still up")
	}
}

// Requests for id blocks sent together cannot pass the per-link cap: the
// block is counted before the round trip to the parent.
func TestBlockCapCountsInFlight(t *testing.T) {
	old := maxBlocksPerLink
	maxBlocksPerLink = 2
	t.Cleanup(func() { maxBlocksPerLink = old })
	p, toP, fromP, _ := newChildRouter(t, 5)
	c := newFakeChild(t, p, 6)
	const k = 10
	for i := range k {
		c.write(&Message{Dst: 5, Src: 6, Auth: 6, Handle: HandleAllocateID, ReplyTo: Handle(4000 + i)})
	}
	// The parent answers the requests that reach it; the others are
	// refused by p itself.
	var hdr [HeaderSize]byte
	granted, refused := 0, 0
	for answered := 0; answered < k; {
		select {
		case <-testCtx(t).Done():
			t.Fatal("not every request was answered")
		default:
		}
		m := c.read()
		if m.Handle < 4000 || m.Handle >= 4000+k {
			continue
		}
		answered++
		if m.Dead() {
			refused++
		} else {
			granted++
		}
		if answered == k-2 { // the two passed up are still waiting: answer them
			for served := 0; served < 2; {
				req, err := readFrame(fromP, &hdr, 1<<20)
				if err != nil {
					t.Fatal(err)
				}
				if req.Handle != HandleAllocateID {
					continue // ADD_ROUTE for the fake child
				}
				served++
				_ = writeFrame(toP, &hdr, &Message{Dst: 5, Src: 0, Auth: 0, Handle: req.ReplyTo,
					Body: mustEncode(t, idRange{First: ID(10000 + int(req.ReplyTo)*1000), N: 1000})})
			}
		}
	}
	if granted != 2 || refused != k-2 {
		t.Fatalf("granted %d, refused %d; want 2 and %d", granted, refused, k-2)
	}
}

// A caller giving up does not lose the block asked for on its behalf: the
// next caller gets an id from it without a second request.
func TestAllocIDOutlivesItsCaller(t *testing.T) {
	p, toP, fromP, _ := newChildRouter(t, 5)
	ctx1, cancel1 := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := p.allocID(ctx1); errc <- err }()
	var hdr [HeaderSize]byte
	req, err := readFrame(fromP, &hdr, 1<<20)
	if err != nil || req.Handle != HandleAllocateID {
		t.Fatalf("parent got %+v, %v", req, err)
	}
	cancel1()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("first caller: %v, want Canceled", err)
	}
	_ = writeFrame(toP, &hdr, &Message{Dst: 5, Src: 0, Auth: 0, Handle: req.ReplyTo, Body: mustEncode(t, idRange{First: 7000, N: 1000})})
	id, err := p.allocID(testCtx(t))
	if err != nil || id != 7000 {
		t.Fatalf("second caller: %d, %v; want 7000 from the block already asked for", id, err)
	}
}

// DEL_ROUTE goes only down the links that carried frames from the gone
// context.
func TestDelRouteOnlyToEgress(t *testing.T) {
	r := newRoot(t)
	f := newFakeChild(t, r, 7)
	g := newFakeChild(t, r, 8)
	h := newFakeChild(t, r, 9)
	g.write(&Message{Dst: 7, Src: 8, Auth: 8, Handle: 600, Body: mustEncode(t, "hello")})
	if m := f.read(); m.Src != 8 || m.Handle != 600 {
		t.Fatalf("f got %+v", m)
	}
	_ = g.out.Close() // 8 goes
	for {
		m := f.read()
		var rm routeMsg
		if m.Handle == HandleDelRoute && m.Decode(&rm) == nil && rm.ID == 8 {
			break
		}
	}
	// Anything for h was queued before f's DEL_ROUTE was sent: a message
	// sent now comes after it.
	if err := h.c.Send(601, "after"); err != nil {
		t.Fatal(err)
	}
	if m := h.read(); m.Handle != 601 {
		t.Fatalf("h, which never heard from 8, got handle %d first, want only the later message", m.Handle)
	}
}

// Shutdown of a context that does not go within the grace period, and that
// this Router cannot kill (it is not a direct child), says so with
// context.DeadlineExceeded.
func TestShutdownPastGrace(t *testing.T) {
	r := newRootWith(t, func(c *Config) { c.ShutdownGrace = 200 * time.Millisecond })
	id, err := r.allocID(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	f := newFakeChild(t, r, id)
	var rg idRange
	if err := f.askIDs(3000).Decode(&rg); err != nil {
		t.Fatal(err)
	}
	f.addRoute(rg.First) // a grandchild below the fake child
	f.askIDs(3001)       // the ADD_ROUTE has been handled
	c := r.descendant(rg.First, "grandchild")
	if c.Err() != nil {
		t.Fatal(c.Err())
	}
	err = c.Shutdown(testCtx(t))
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "not gone after the grace period") {
		t.Fatalf("Shutdown = %v, want DeadlineExceeded after the grace period", err)
	}
	for { // the fake child was asked to pass SHUTDOWN on
		if m := f.read(); m.Handle == HandleShutdown && m.Dst == rg.First {
			break
		}
	}
}

// A stream that outruns its Receiver past the limit breaks there, loudly:
// what was queued comes out, then an overflow error, and nothing after it.
func TestReceiverOverflow(t *testing.T) {
	r := newRoot(t)
	f := newFakeChild(t, r, 7)
	rc := r.NewReceiver(4)
	defer rc.Close()
	rc.SetLimit(1000)
	for i := range 5 {
		f.write(&Message{Dst: 0, Src: 7, Auth: 7, Handle: rc.Handle(), Flags: FlagRaw, Body: bytes.Repeat([]byte{byte('a' + i)}, 400)})
	}
	ctx := testCtx(t)
	for i := range 2 {
		m, err := rc.Recv(ctx)
		if err != nil || len(m.Body) != 400 || m.Body[0] != byte('a'+i) {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	for range 2 { // the error stays
		var ce *ChannelError
		if _, err := rc.Recv(ctx); !errors.As(err, &ce) || !strings.HasPrefix(ce.Reason, ReasonOverflow) || !strings.Contains(ce.Reason, "limit 1000") {
			t.Fatalf("after the limit: %v, want %q naming the limit", err, ReasonOverflow)
		}
	}
	waitUntil(t, "the last two messages to be dropped", func() bool {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		return rc.dropped == 3
	})
	rc.mu.Lock()
	queued, left := rc.bytes, len(rc.q)-rc.head
	rc.mu.Unlock()
	if queued != 0 || left != 0 {
		t.Fatalf("%d bytes still counted, %d messages queued after the overflow; want none", queued, left)
	}
}

// A peer that reads slowly but steadily is not taken for hung, however
// long a batch takes it: only a peer that reads nothing for the limit is.
func TestSlowPeerNotTakenForHung(t *testing.T) {
	// The writer records progress once per 256 KiB piece, four of the reads
	// below (about 50 ms); the limit is 20 times that, so only a machine
	// that stalls this test for a second fails it, while one 8 MiB batch
	// (128 reads, over 1.5 s) takes longer than the limit, and the 300 reads
	// over three times as long.
	setStallLimit(t, time.Second)
	r := newRoot(t)
	f := newFakeChild(t, r, 7)
	g := newFakeChild(t, r, 8)
	go flood(f.out, 8, 7)
	gl := g.c.link
	waitUntil(t, "the reader to wait for room", func() bool { return gl.stalls.Load() > 0 })
	buf := make([]byte, 64<<10)
	for range 300 {
		time.Sleep(12 * time.Millisecond)
		if _, err := io.ReadFull(g.in, buf); err != nil {
			t.Fatalf("the slow peer's pipe: %v (%v)", err, g.c.Err())
		}
	}
	if err := g.c.Err(); err != nil {
		t.Fatalf("a slow peer that kept reading was closed: %v", err)
	}
}

// One message larger than the limit still gets through an empty Receiver;
// after an overflow, a sender that asked for a reply is told.
func TestReceiverOverflowEdges(t *testing.T) {
	r := newRoot(t)
	f := newFakeChild(t, r, 7)
	rc := r.NewReceiver(4)
	defer rc.Close()
	rc.SetLimit(100)
	f.write(&Message{Dst: 0, Src: 7, Auth: 7, Handle: rc.Handle(), Flags: FlagRaw, Body: make([]byte, 500)})
	if m, err := rc.Recv(testCtx(t)); err != nil || len(m.Body) != 500 {
		t.Fatalf("a large message into an empty receiver: %v", err)
	}
	f.write(&Message{Dst: 0, Src: 7, Auth: 7, Handle: rc.Handle(), Flags: FlagRaw, Body: make([]byte, 80)})
	f.write(&Message{Dst: 0, Src: 7, Auth: 7, Handle: rc.Handle(), ReplyTo: 88, Flags: FlagRaw, Body: make([]byte, 80)})
	m := f.read()
	if !m.Dead() || m.Handle != 88 || !strings.HasPrefix(string(m.Body), ReasonOverflow) {
		t.Fatalf("sender of the message past the limit got %+v %q, want a dead %q reply", m, m.Body, ReasonOverflow)
	}
}
