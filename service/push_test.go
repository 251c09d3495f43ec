package service

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/muster-sh/muster/mesh"
	"github.com/muster-sh/muster/sched"
)

// waitPushed polls c's PushFileService until it holds path.
func waitPushed(t *testing.T, c *mesh.Context, path string) []byte {
	t.Helper()
	for i := 0; ; i++ {
		var b []byte
		err := Call(testCtx(t), c, PushFileServiceName, "get", pathReq{Path: path}, &b)
		if err == nil {
			return b
		}
		if !errors.Is(err, ErrFailed) && !errors.Is(err, ErrNoSuchService) {
			t.Fatalf("get %s from %s: %v", path, c, err)
		}
		if i > 6000 {
			t.Fatalf("%s did not reach %s within 30 s: %v", path, c, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// addPush adds a PushFileService with the default cache bound to p.
func addPush(t *testing.T, p *Pool) *PushFileService {
	t.Helper()
	push := NewPushFileService(p, 0)
	if err := p.Add(push.Service()); err != nil {
		t.Fatal(err)
	}
	return push
}

func pushStats(t *testing.T, c *mesh.Context) PushStats {
	t.Helper()
	var st PushStats
	if err := Call(testCtx(t), c, PushFileServiceName, "stats", nil, &st); err != nil {
		t.Fatalf("stats of %s: %v", c, err)
	}
	return st
}

func TestPushFileServiceCrossesEachLinkOnce(t *testing.T) {
	r, p := newRoot(t)
	push := addPush(t, p)
	ctx := testCtx(t)
	a := localChild(t, r, "a")
	a1 := localChild(t, a, "a1")
	a2 := localChild(t, a, "a2")
	dir := t.TempDir()
	f1, f2 := filepath.Join(dir, "one"), filepath.Join(dir, "two")
	writeRandom(t, f1, 1<<20)
	if err := os.WriteFile(f2, []byte("second file"), 0o600); err != nil {
		t.Fatal(err)
	}
	want1, _ := os.ReadFile(f1)

	for _, target := range []*mesh.Context{a1, a2, a1, a2} {
		if err := push.PropagateTo(ctx, target.ID(), f1); err != nil {
			t.Fatal(err)
		}
	}
	if err := push.PropagateTo(ctx, a2.ID(), f2); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*mesh.Context{a1, a2} {
		if got := waitPushed(t, c, f1); !bytes.Equal(got, want1) {
			t.Fatalf("%s holds %d bytes that differ from the file", c, len(got))
		}
	}
	// f2 went after every push of f1 on the same links, so once a2 has it,
	// a and a2 have handled all of them.
	if got := waitPushed(t, a2, f2); string(got) != "second file" {
		t.Fatalf("a2 holds %q", got)
	}
	if got := waitPushed(t, a, f1); !bytes.Equal(got, want1) {
		t.Fatal("the intermediate context does not cache the file")
	}
	checks := []struct {
		name             string
		st               PushStats
		received, sentTo int64
	}{
		{"root", push.Stats(), 0, 2},   // f1 and f2 once each on root->a
		{"a", pushStats(t, a), 2, 3},   // f1 to a1 and to a2, f2 to a2
		{"a1", pushStats(t, a1), 1, 0}, // f1 once, though pushed twice
		{"a2", pushStats(t, a2), 2, 0}, // f1 once, f2 once
	}
	for _, c := range checks {
		if c.st.Received != c.received || c.st.Sent != c.sentTo || c.st.Refetched != 0 {
			t.Errorf("%s: %+v, want received %d sent %d", c.name, c.st, c.received, c.sentTo)
		}
	}
	// Children may not push to one another: store_and_forward is AllowParents.
	var up callUpResp
	if err := a.Call(ctx, "servicetest.callup", callUpReq{Service: PushFileServiceName, Method: "store_and_forward"}, &up); err != nil {
		t.Fatal(err)
	}
	if up.Code != CodeRefused {
		t.Fatalf("a child pushing to its parent: %+v", up)
	}
}

func TestPushCacheBound(t *testing.T) {
	p := newTestPool(t, Config{})
	s := NewPushFileService(p, 10)
	s.store("a", []byte("aaaa"), true)
	s.store("b", []byte("bbbb"), true)
	if _, ok := s.lookup("a"); !ok { // a is now the most recent
		t.Fatal("a evicted early")
	}
	s.store("c", []byte("cccc"), true) // 12 > 10: evicts b, the least recent
	if _, ok := s.lookup("b"); ok {
		t.Fatal("b should have been evicted")
	}
	for _, k := range []string{"a", "c"} {
		if _, ok := s.lookup(k); !ok {
			t.Fatalf("%s evicted", k)
		}
	}
	s.store("huge", make([]byte, 11), true) // larger than the bound: not kept
	st := s.Stats()
	if st.Cached != 2 || st.CachedBytes != 8 || st.Received != 4 {
		t.Fatalf("stats %+v", st)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan []byte, 1)
	go func() { b, _ := s.Get(ctx, "later"); done <- b }()
	s.store("later", []byte("x"), true)
	if b := <-done; string(b) != "x" {
		t.Fatalf("Get returned %q", b)
	}
	// A Get that gives up leaves nothing behind for a path never pushed.
	gone, cancelGone := context.WithCancel(context.Background())
	cancelGone()
	if _, err := s.Get(gone, "never"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Get with a cancelled ctx: %v", err)
	}
	s.mu.Lock()
	n := len(s.waiters)
	s.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d waiters left after every Get returned", n)
	}
}

func init() {
	// Run in a child: get path from the parent's PushFileService and
	// report the error's code (0: got it) and the data.
	mesh.Register("servicetest.pushget", func(ctx context.Context, path string) (callUpResp, error) {
		r := mesh.FromContext(ctx)
		var b []byte
		err := Call(ctx, r.Context(r.ParentIDs()[0]), PushFileServiceName, "get", pathReq{Path: path}, &b)
		var se *Error
		if errors.As(err, &se) {
			return callUpResp{Code: se.Code, Text: se.Error()}, nil
		}
		return callUpResp{Text: string(b)}, err
	})
}

// "get" serves a cached file only to parents and to the contexts below a
// link the file was pushed on: a sibling may not read what was pushed to
// another subtree.
func TestPushGetOnlyForTheSubtreeItWentTo(t *testing.T) {
	r, p := newRoot(t)
	push := addPush(t, p)
	ctx := testCtx(t)
	a := localChild(t, r, "a")
	b := localChild(t, r, "b")
	secret := filepath.Join(t.TempDir(), "for-a")
	if err := os.WriteFile(secret, []byte("only for a"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := push.PropagateTo(ctx, a.ID(), secret); err != nil {
		t.Fatal(err)
	}
	waitPushed(t, a, secret)
	var got callUpResp
	if err := b.Call(ctx, "servicetest.pushget", secret, &got); err != nil {
		t.Fatal(err)
	}
	if got.Code != CodeRefused || got.Text == "" || !bytes.Contains([]byte(got.Text), []byte(secret)) {
		t.Fatalf("a sibling reading a file pushed to a: %+v, want a refusal naming the file", got)
	}
	if err := a.Call(ctx, "servicetest.pushget", secret, &got); err != nil {
		t.Fatal(err)
	}
	if got.Code != 0 || got.Text != "only for a" {
		t.Fatalf("the target fetching the file again from its parent: %+v", got)
	}
}

// A file too large for one message is refused with an error naming the
// limit, every time: the failed push does not count as sent, so a later
// push of the same path does not become a forward without data.
func TestPushTooLargeIsNotMarkedSent(t *testing.T) {
	sc, err := sched.New(sched.Config{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := mesh.DefaultConfig()
	cfg.Scheduler = sc
	cfg.MaxMessageSize = 64 << 10
	r, err := mesh.NewRouter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPool(r, Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = p.Close(ctx)
		_ = r.Close(ctx)
		_ = sc.Close(ctx)
	})
	push := addPush(t, p)
	ctx := testCtx(t)
	a := localChild(t, r, "a")
	dir := t.TempDir()
	big, small := filepath.Join(dir, "big"), filepath.Join(dir, "small")
	writeRandom(t, big, 128<<10)
	if err := os.WriteFile(small, []byte("fits"), 0o600); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		err := push.PropagateTo(ctx, a.ID(), big)
		if !errors.Is(err, ErrPushTooLarge) || !strings.Contains(err.Error(), "65536") || !strings.Contains(err.Error(), big) {
			t.Fatalf("push %d of a 128 KiB file with 64 KiB messages: %v, want ErrPushTooLarge naming the file and the limit", i, err)
		}
	}
	if st := push.Stats(); st.Sent != 0 {
		t.Fatalf("stats %+v after refused pushes, want nothing sent", st)
	}
	if err := push.PropagateTo(ctx, a.ID(), small); err != nil {
		t.Fatal(err)
	}
	if got := waitPushed(t, a, small); string(got) != "fits" {
		t.Fatalf("a holds %q", got)
	}
}

func init() {
	// Run in a child: serve pushes with a cache of at most max bytes.
	mesh.Register("servicetest.pushsmall", func(ctx context.Context, max int64) (struct{}, error) {
		p := PoolOf(mesh.FromContext(ctx))
		return struct{}{}, p.Add(NewPushFileService(p, max).Service())
	})
	// Run in a child: store data under path, which evicts what the cache
	// cannot keep beside it.
	mesh.Register("servicetest.pushfill", func(ctx context.Context, a pushData) (struct{}, error) {
		PoolOf(mesh.FromContext(ctx)).Impl(PushFileServiceName).(*PushFileService).store(a.Path, a.Data, false)
		return struct{}{}, nil
	})
}

// A file pushed down root -> a -> b -> c, then evicted from a and b, still
// reaches c when pushed there: b gets it again from a, which gets it from
// the root. Each intermediate context answers "get" for a file that went
// through it, cached or not.
func TestPushRefetchThroughEvictedContexts(t *testing.T) {
	r, p := newRoot(t)
	push := addPush(t, p)
	ctx := testCtx(t)
	a := localChild(t, r, "a")
	b := localChild(t, a, "b")
	c := localChild(t, b, "c")
	for _, x := range []*mesh.Context{a, b} {
		if err := x.Call(ctx, "servicetest.pushsmall", int64(1<<20), nil); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	f := filepath.Join(dir, "f")
	writeRandom(t, f, 512<<10)
	wantB, _ := os.ReadFile(f)
	if err := push.PropagateTo(ctx, b.ID(), f); err != nil {
		t.Fatal(err)
	}
	if got := waitPushed(t, b, f); !bytes.Equal(got, wantB) {
		t.Fatal("b holds other bytes")
	}
	// Evict f from a and b.
	for _, x := range []*mesh.Context{a, b} {
		if err := x.Call(ctx, "servicetest.pushfill", pushData{Path: "filler", Data: make([]byte, 1<<20)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := push.PropagateTo(ctx, c.ID(), f); err != nil {
		t.Fatal(err)
	}
	if got := waitPushed(t, c, f); !bytes.Equal(got, wantB) {
		t.Fatal("c holds other bytes")
	}
	if st := pushStats(t, b); st.Refetched != 1 {
		t.Fatalf("b: %+v, want one refetch", st)
	}
	if st := pushStats(t, a); st.Refetched != 1 {
		t.Fatalf("a: %+v, want one refetch (for b's get)", st)
	}
}

// What went down a link is forgotten when the context at its end goes.
func TestPushForgetsGoneLinks(t *testing.T) {
	r, p := newRoot(t)
	push := addPush(t, p)
	ctx := testCtx(t)
	a := localChild(t, r, "a")
	f := filepath.Join(t.TempDir(), "f")
	writeRandom(t, f, 1000)
	if err := push.PropagateTo(ctx, a.ID(), f); err != nil {
		t.Fatal(err)
	}
	held := func() bool {
		push.mu.Lock()
		defer push.mu.Unlock()
		return push.sent[a.ID()] != nil
	}
	if !held() {
		t.Fatal("the push to a was not recorded")
	}
	if err := a.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, func() bool { return !held() }, func() string { return "the pushes to a are still recorded 30 s after it went" })
}
