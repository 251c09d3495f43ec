package service

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/muster-sh/muster/mesh"
	"github.com/muster-sh/muster/sched"
)

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newRoot returns a root Router with a Pool, closed at the end of the test.
func newRoot(t testing.TB) (*mesh.Router, *Pool) {
	t.Helper()
	sc, err := sched.New(sched.Config{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := mesh.DefaultConfig()
	cfg.Scheduler = sc
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
	return r, p
}

// localStarter is what starts local children: a Router, or a Context for
// a child of that context.
type localStarter interface {
	Local(context.Context, mesh.LocalOptions) (*mesh.Context, error)
}

func localChild(t testing.TB, parent localStarter, name string) *mesh.Context {
	t.Helper()
	c, err := parent.Local(testCtx(t), mesh.LocalOptions{Name: name})
	if err != nil {
		t.Fatalf("starting local child %s: %v", name, err)
	}
	return c
}

// callUp is run in a child: it calls a service of the child's parent and
// returns the error's code (0 for success) and text.
type callUpReq struct {
	Service, Method string
	Args            AddReq
}

type callUpResp struct {
	Code Code
	Text string
	Sum  int
}

func init() {
	mesh.Register("servicetest.callup", func(ctx context.Context, a callUpReq) (callUpResp, error) {
		r := mesh.FromContext(ctx)
		var resp AddResp
		err := Call(ctx, r.Context(r.ParentIDs()[0]), a.Service, a.Method, a.Args, &resp)
		var se *Error
		if errors.As(err, &se) {
			return callUpResp{Code: se.Code, Text: se.Error()}, nil
		}
		if err != nil {
			return callUpResp{}, err
		}
		return callUpResp{Sum: resp.Sum}, nil
	})
	Register("test.ParentOnly", func(p *Pool) (*Service, error) {
		s := New("test.ParentOnly")
		Expose(s, "add", (&calc{}).add, AllowParents)
		Expose(s, "open", (&calc{}).add, AllowAny)
		return s, nil
	})
}

func TestLocalChildActivationAndCalls(t *testing.T) {
	r, p := newRoot(t)
	ctx := testCtx(t)
	child := localChild(t, r, "c1")

	// A parent's first call activates the registered service in the child.
	var resp AddResp
	if err := Call(ctx, child, "test.Activated", "add", AddReq{A: 20, B: 22}, &resp); err != nil || resp.Sum != 42 {
		t.Fatalf("first call to a Local child: %+v, %v", resp, err)
	}
	// Argument errors come back typed, naming the field.
	err := Call(ctx, child, "test.Activated", "add", map[string]any{"a": 1, "b": "x"}, &resp)
	var ae *ArgError
	if !errors.Is(err, ErrBadArgs) || !errors.As(err, &ae) || ae.Field != "b" {
		t.Fatalf("bad argument over the wire: %v", err)
	}
	// A method's error comes back as a *mesh.CallError inside an *Error.
	err = Call(ctx, child, "test.Activated", "fail", nil, nil)
	var ce *mesh.CallError
	if !errors.Is(err, ErrFailed) || !errors.As(err, &ce) || ce.Msg != "disk on fire" {
		t.Fatalf("method error over the wire: %v", err)
	}
	// Typed reference; and async calls.
	add := Ref[AddReq, AddResp]{Service: "test.Activated", Method: "add"}
	if got, err := add.Call(ctx, child, AddReq{A: 1, B: 2}); err != nil || got.Sum != 3 {
		t.Fatalf("Ref.Call: %+v %v", got, err)
	}
	var pend []*Pending
	for i := range 20 {
		pend = append(pend, CallAsync(ctx, child, "test.Activated", "add", AddReq{A: i, B: i}))
	}
	for i, pd := range pend {
		if err := pd.Wait(ctx, &resp); err != nil || resp.Sum != 2*i {
			t.Fatalf("async call %d: %+v %v", i, resp, err)
		}
	}

	// The child calling the parent: the root has not activated the service,
	// and the child is not privileged to activate it.
	var up callUpResp
	if err := child.Call(ctx, "servicetest.callup", callUpReq{Service: "test.ParentOnly", Method: "open"}, &up); err != nil {
		t.Fatal(err)
	}
	if up.Code != CodeNotActivated || !strings.Contains(up.Text, `"test.ParentOnly"`) {
		t.Fatalf("child activating in its parent: %+v", up)
	}
	// Once the root has it, AllowParents refuses the child, AllowAny lets it in.
	if _, err := p.Activate("test.ParentOnly"); err != nil {
		t.Fatal(err)
	}
	if err := child.Call(ctx, "servicetest.callup", callUpReq{Service: "test.ParentOnly", Method: "add", Args: AddReq{A: 1, B: 1}}, &up); err != nil {
		t.Fatal(err)
	}
	if up.Code != CodeRefused || !strings.Contains(up.Text, `"add" of service "test.ParentOnly"`) {
		t.Fatalf("child calling an AllowParents method of its parent: %+v", up)
	}
	if err := child.Call(ctx, "servicetest.callup", callUpReq{Service: "test.ParentOnly", Method: "open", Args: AddReq{A: 2, B: 3}}, &up); err != nil {
		t.Fatal(err)
	}
	if up.Code != 0 || up.Sum != 5 {
		t.Fatalf("child calling an AllowAny method of its parent: %+v", up)
	}
	// The root calling itself through the mesh works (Mitogen hangs here).
	if err := Call(ctx, r.Myself(), "test.ParentOnly", "add", AddReq{A: 4, B: 4}, &resp); err != nil || resp.Sum != 8 {
		t.Fatalf("self-addressed call: %+v %v", resp, err)
	}
}

type blockReq struct{}

func init() {
	Register("test.Blocker", func(p *Pool) (*Service, error) {
		s := New("test.Blocker")
		Expose(s, "block", func(ctx context.Context, _ *CallInfo, _ blockReq) (int, error) {
			<-ctx.Done()
			return 0, ctx.Err()
		}, AllowAny)
		return s, nil
	})
}

func TestChildGoneMidCall(t *testing.T) {
	r, _ := newRoot(t)
	ctx := testCtx(t)
	child := localChild(t, r, "doomed")
	pd := CallAsync(ctx, child, "test.Blocker", "block", blockReq{})
	// Make sure the call is being served before the child goes away.
	if err := Call(ctx, child, "test.Activated", "add", AddReq{}, nil); err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_ = child.Shutdown(sctx)
	err := pd.Wait(ctx, nil)
	var che *mesh.ChannelError
	if !errors.As(err, &che) && !errors.Is(err, ErrClosed) {
		t.Fatalf("call to a child that went away: %v (want a *mesh.ChannelError or ErrClosed)", err)
	}
}

func init() {
	mesh.Register("servicetest.pid", func(context.Context, struct{}) (int, error) { return os.Getpid(), nil })
}

// A child killed (SIGKILL) in the middle of a call: the caller gets an error,
// not a hang.
func TestChildKilledMidCall(t *testing.T) {
	r, _ := newRoot(t)
	ctx := testCtx(t)
	child := localChild(t, r, "victim")
	var pid int
	if err := child.Call(ctx, "servicetest.pid", struct{}{}, &pid); err != nil {
		t.Fatal(err)
	}
	pd := CallAsync(ctx, child, "test.Blocker", "block", blockReq{})
	if err := Call(ctx, child, "test.Activated", "add", AddReq{}, nil); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var che *mesh.ChannelError
	if err := pd.Wait(ctx, nil); !errors.As(err, &che) {
		t.Fatalf("call to a killed child: %v, want a *mesh.ChannelError", err)
	}
	if err := Call(ctx, child, "test.Activated", "add", AddReq{}, nil); !errors.As(err, &che) {
		t.Fatalf("call after the child died: %v, want a *mesh.ChannelError", err)
	}
}

type dedupWireReq struct {
	N int `cbor:"n"`
}

func init() {
	Register("test.DedupWire", func(p *Pool) (*Service, error) {
		d := Deduplicating(DedupOptions{}).(*dedup)
		var runs atomic.Int64
		s := New("test.DedupWire").SetInvoker(d)
		// slow waits until n identical calls share its flight, so that the
		// test is about sharing, not about timing.
		Expose(s, "slow", func(ctx context.Context, _ *CallInfo, r dedupWireReq) (int64, error) {
			for i := 0; d.inFlight() < r.N; i++ {
				if i > 3000 {
					return 0, fmt.Errorf("only %d calls in flight after 30 s, want %d", d.inFlight(), r.N)
				}
				time.Sleep(10 * time.Millisecond)
			}
			return runs.Add(1), nil
		}, AllowAny)
		Expose(s, "runs", func(context.Context, *CallInfo, struct{}) (int64, error) { return runs.Load(), nil }, AllowAny)
		return s, nil
	})
}

// N identical calls from the parent to a child run once, and all get the
// one result.
func TestDeduplicatingOverTheMesh(t *testing.T) {
	r, _ := newRoot(t)
	ctx := testCtx(t)
	child := localChild(t, r, "dedup")
	const n = 30
	var pend []*Pending
	for range n {
		pend = append(pend, CallAsync(ctx, child, "test.DedupWire", "slow", dedupWireReq{N: n}))
	}
	for i, p := range pend {
		var got int64
		if err := p.Wait(ctx, &got); err != nil || got != 1 {
			t.Fatalf("call %d: result %d, %v; want the shared result of the one execution", i, got, err)
		}
	}
	var runs int64
	if err := Call(ctx, child, "test.DedupWire", "runs", nil, &runs); err != nil || runs != 1 {
		t.Fatalf("%d executions for %d identical calls (%v), want 1", runs, n, err)
	}
}

// With Debug, a method's error carries the serving context's stack to the
// caller; without it, no stack travels.
func TestDebugStackOverTheMesh(t *testing.T) {
	for _, debugOn := range []bool{false, true} {
		cfg := mesh.DefaultConfig()
		cfg.Debug = debugOn // a child's Router, and its Pool, inherit it
		r, err := mesh.NewRouter(cfg)
		if err != nil {
			t.Fatal(err)
		}
		p, err := NewPool(r, Config{Debug: debugOn})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Add(newCalc(&calc{}, AllowAny)); err != nil {
			t.Fatal(err)
		}
		child := localChild(t, r, "debug")
		for _, at := range []struct {
			where   string
			c       *mesh.Context
			service string
		}{{"in this process", r.Myself(), "test.Calc"}, {"in a child", child, "test.Activated"}} {
			err = Call(testCtx(t), at.c, at.service, "fail", nil, nil)
			var ce *mesh.CallError
			if !errors.As(err, &ce) || ce.Msg != "disk on fire" {
				t.Fatalf("%s: got %v", at.where, err)
			}
			if hasStack := strings.Contains(ce.Stack, "service.(*Pool).run"); hasStack != debugOn {
				t.Fatalf("%s, Debug=%v: stack %q", at.where, debugOn, ce.Stack)
			}
		}
		_ = p.Close(context.Background())
		_ = r.Close(context.Background())
	}
}
