package mesh

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestLocalCall(t *testing.T) {
	r := newRoot(t)
	c := localChild(t, r, "a")
	ctx := testCtx(t)
	var s string
	if err := c.Call(ctx, "test.echo", "hello", &s); err != nil || s != "hello" {
		t.Fatalf("echo = %q, %v", s, err)
	}
	var pid int
	if err := c.Call(ctx, "test.pid", struct{}{}, &pid); err != nil || pid == os.Getpid() || pid == 0 {
		t.Fatalf("pid = %d (mine %d), %v", pid, os.Getpid(), err)
	}
	var n int
	if err := c.Call(ctx, "test.add", [2]int{2, 3}, &n); err != nil || n != 5 {
		t.Fatalf("add = %d, %v", n, err)
	}
	err := c.Call(ctx, "test.fail", "boom", &n)
	var ce *CallError
	if !errors.As(err, &ce) || ce.Msg != "boom" || ce.Type != "*errors.errorString" {
		t.Fatalf("fail: %v (%#v)", err, ce)
	}
	err = c.Call(ctx, "test.nosuch", 1, nil)
	if !errors.As(err, &ce) || ce.Type != "mesh.UnknownFunction" {
		t.Fatalf("unknown function: %v", err)
	}
	err = c.Call(ctx, "test.panic", "oops", nil)
	if !errors.As(err, &ce) || ce.Type != "panic" || ce.Msg != "oops" {
		t.Fatalf("panic: %v", err)
	}
	if err := c.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	<-c.Done()
	err = c.Call(ctx, "test.echo", "x", &s)
	var che *ChannelError
	if !errors.As(err, &che) {
		t.Fatalf("call after shutdown: %v, want a *ChannelError", err)
	}
}

// Many calls in flight at once from several goroutines: every reply is the
// right one (frames are neither lost, duplicated nor mixed up).
func TestPipelinedCalls(t *testing.T) {
	r := newRoot(t)
	c := localChild(t, r, "p")
	ctx := testCtx(t)
	const workers, per = 4, 3000
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			ps := make([]*Pending, per)
			for i := range ps {
				ps[i] = c.CallAsync(ctx, "test.add", [2]int{w, i})
			}
			for i, p := range ps {
				var n int
				if err := p.Wait(ctx, &n); err != nil {
					errs <- err
					return
				}
				if n != w+i {
					errs <- fmt.Errorf("call %d/%d = %d, want %d", w, i, n, w+i)
					return
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

func TestCallNoReplyAndHandlers(t *testing.T) {
	r := newRoot(t)
	c := localChild(t, r, "nr")
	ctx := testCtx(t)
	rc := r.NewReceiver(1)
	defer rc.Close()
	if err := c.CallNoReply("test.sendto", struct {
		To  SenderRef
		Msg string
	}{rc.Sender(), "no reply needed"}); err != nil {
		t.Fatal(err)
	}
	if got := recvString(t, rc); got != "no reply needed" {
		t.Fatalf("got %q", got)
	}
	// a handler on a fixed handle, reached with Send and Request
	got := make(chan string, 2)
	remove, err := r.AddHandler(5000, func(m *Message) {
		var s string
		_ = m.Decode(&s)
		got <- s
		if m.ReplyTo != 0 {
			_ = m.Reply(s + "!")
		} else if err := m.Reply("x"); !errors.Is(err, ErrNoReply) {
			t.Errorf("Reply to a message without reply_to: %v", err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.AddHandler(5000, func(*Message) {}); !errors.Is(err, ErrHandleTaken) {
		t.Fatalf("second handler: %v, want ErrHandleTaken", err)
	}
	if err := r.Myself().Send(5000, "sent"); err != nil || <-got != "sent" {
		t.Fatalf("Send: %v", err)
	}
	var s string
	if err := r.Myself().Request(ctx, 5000, "asked").Wait(ctx, &s); err != nil || s != "asked!" || <-got != "asked" {
		t.Fatalf("Request: %q %v", s, err)
	}
	remove()
	err = r.Myself().Request(ctx, 5000, "gone").Wait(ctx, nil)
	var ce *ChannelError
	if !errors.As(err, &ce) || !strings.HasPrefix(ce.Reason, ReasonInvalidHandle) {
		t.Fatalf("after remove: %v", err)
	}
	// a cancelled ctx ends a wait for a call that never returns
	cctx, cancel := context.WithCancel(ctx)
	p := c.CallAsync(cctx, "test.sleep", time.Hour)
	cancel()
	if err := p.Wait(ctx, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled call: %v", err)
	}
}

// A Local child's Env entries must be NAME=VALUE: a bad one is refused
// before anything starts, naming the entry.
func TestLocalBadEnv(t *testing.T) {
	r := newRoot(t)
	for _, e := range []string{"NOEQUALS", "1BAD=x", "=x"} {
		_, err := r.Local(testCtx(t), LocalOptions{Env: []string{"OK=1", e}})
		if !errors.Is(err, ErrStart) || !strings.Contains(err.Error(), strconv.Quote(e)) || !strings.Contains(err.Error(), "NAME=VALUE") {
			t.Errorf("Env %q: %v, want a start error naming it", e, err)
		}
	}
	c := localChild(t, r, "good")
	if c.Err() != nil {
		t.Fatal(c.Err())
	}
}
