package service

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/muster-sh/muster/mesh"
	"github.com/muster-sh/muster/sched"
)

// newTestPool returns an in-process Pool for context 1 whose parents are
// contexts 0 and 1; any other caller id is unprivileged.
func newTestPool(t testing.TB, cfg Config) *Pool {
	t.Helper()
	if cfg.Scheduler == nil {
		s, err := sched.New(sched.Config{MaxWorkers: 8})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close(context.Background()) })
		cfg.Scheduler = s
	}
	p := newPool(cfg, 1, func(id mesh.ID) bool { return id == 0 || id == 1 })
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	return p
}

type result struct {
	body []byte
	e    *Error
}

// dispatchAsync sends one call to p as caller auth and returns where its
// answer arrives.
func dispatchAsync(t *testing.T, p *Pool, auth mesh.ID, svc, method string, req any) <-chan result {
	t.Helper()
	var args []byte
	if req != nil {
		var err error
		if args, err = wireEnc.Marshal(req); err != nil {
			t.Fatal(err)
		}
	}
	ch := make(chan result, 1)
	p.dispatch(inbound{service: svc, method: method, args: args, src: auth, auth: auth,
		reply: func(body []byte, e *Error) { ch <- result{body, e} }})
	return ch
}

func (r result) err() error {
	if r.e == nil {
		return nil
	}
	return r.e
}

func wait(t *testing.T, ch <-chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(30 * time.Second):
		t.Fatal("no answer to the call within 30 s")
	}
	return result{}
}

type AddReq struct {
	A    int    `cbor:"a"`
	B    int    `cbor:"b"`
	Note string `cbor:"note,omitempty"`
}

type AddResp struct {
	Sum int `cbor:"sum"`
}

type calc struct {
	runs atomic.Int64
}

func (c *calc) add(_ context.Context, _ *CallInfo, r AddReq) (AddResp, error) {
	c.runs.Add(1)
	return AddResp{Sum: r.A + r.B}, nil
}

func newCalc(c *calc, policies ...Policy) *Service {
	s := New("test.Calc")
	Expose(s, "add", c.add, policies...)
	Expose(s, "hidden", c.add) // no policy: not exposed
	Expose(s, "fail", func(context.Context, *CallInfo, struct{}) (int, error) {
		c.runs.Add(1)
		return 0, strErr("disk on fire")
	}, AllowAny)
	return s
}

type strErr string

func (e strErr) Error() string { return string(e) }

func TestArgSpec(t *testing.T) {
	c := &calc{}
	p := newTestPool(t, Config{})
	if err := p.Add(newCalc(c, AllowAny)); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		args    any
		problem ArgProblem
		field   string
		want    string
	}{
		{"missing", map[string]any{"a": 1}, ArgMissing, "b", "int"},
		{"wrong type", map[string]any{"a": 1, "b": "two"}, ArgWrongType, "b", "int"},
		{"wrong type optional", map[string]any{"a": 1, "b": 2, "note": 3}, ArgWrongType, "note", "string"},
		{"unknown", map[string]any{"a": 1, "b": 2, "c": 3}, ArgUnknown, "c", ""},
		{"case matters", map[string]any{"a": 1, "B": 2}, ArgUnknown, "B", ""},
		{"not a map", []int{1, 2}, ArgMalformed, "", ""},
		{"bytes for text", map[string]any{"a": 1, "b": 2, "note": []byte("x")}, ArgWrongType, "note", "string"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := wait(t, dispatchAsync(t, p, 5, "test.Calc", "add", tc.args))
			if r.e == nil {
				t.Fatalf("call with %v succeeded", tc.args)
			}
			var ae *ArgError
			if !errors.Is(r.err(), ErrBadArgs) || !errors.As(r.err(), &ae) {
				t.Fatalf("error %v is not a bad-args *ArgError", r.e)
			}
			if ae.Problem != tc.problem || ae.Field != tc.field || (tc.want != "" && ae.Want != tc.want) {
				t.Fatalf("got %+v, want problem %d field %q want %q", *ae, tc.problem, tc.field, tc.want)
			}
			if tc.field != "" && !strings.Contains(r.e.Error(), fmt.Sprintf("%q", tc.field)) {
				t.Fatalf("message %q does not name %q", r.e.Error(), tc.field)
			}
		})
	}
	if n := c.runs.Load(); n != 0 {
		t.Fatalf("method ran %d times on bad arguments, want 0", n)
	}
	var resp AddResp
	if err := p.invokeAs(context.Background(), 5, "test.Calc", "add", AddReq{A: 2, B: 3}, &resp); err != nil || resp.Sum != 5 {
		t.Fatalf("good call: %v, %+v", err, resp)
	}
	// The optional field may be left out (omitempty) or given.
	if err := p.invokeAs(context.Background(), 5, "test.Calc", "add", map[string]any{"a": 1, "b": 1, "note": "x"}, &resp); err != nil || resp.Sum != 2 {
		t.Fatalf("call with the optional field: %v, %+v", err, resp)
	}
}

func TestPolicies(t *testing.T) {
	onlySeven := PolicyFunc(func(c *CallInfo) bool { return c.Auth == 7 })
	cases := []struct {
		name     string
		policies []Policy
		allowed  map[mesh.ID]bool
	}{
		{"AllowAny", []Policy{AllowAny}, map[mesh.ID]bool{0: true, 1: true, 7: true, 9: true}},
		{"AllowParents", []Policy{AllowParents}, map[mesh.ID]bool{0: true, 1: true, 7: false, 9: false}},
		{"custom", []Policy{onlySeven}, map[mesh.ID]bool{0: false, 7: true, 9: false}},
		{"all must pass", []Policy{AllowAny, AllowParents, onlySeven}, map[mesh.ID]bool{0: false, 1: false, 7: false}},
		{"two pass", []Policy{AllowAny, onlySeven}, map[mesh.ID]bool{0: false, 7: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &calc{}
			p := newTestPool(t, Config{})
			if err := p.Add(newCalc(c, tc.policies...)); err != nil {
				t.Fatal(err)
			}
			var want int64
			for id, ok := range tc.allowed {
				r := wait(t, dispatchAsync(t, p, id, "test.Calc", "add", AddReq{A: 1, B: 1}))
				if ok {
					want++
					if r.e != nil {
						t.Fatalf("caller %d refused: %v", id, r.e)
					}
					continue
				}
				if !errors.Is(r.err(), ErrRefused) {
					t.Fatalf("caller %d: got %v, want ErrRefused", id, r.e)
				}
				msg := r.e.Error()
				if !strings.Contains(msg, `"add"`) || !strings.Contains(msg, `"test.Calc"`) {
					t.Fatalf("refusal %q does not name the method and the service", msg)
				}
			}
			if got := c.runs.Load(); got != want {
				t.Fatalf("method ran %d times, want %d (refused calls must run nothing)", got, want)
			}
		})
	}
}

func TestLookupErrors(t *testing.T) {
	c := &calc{}
	p := newTestPool(t, Config{})
	if err := p.Add(newCalc(c, AllowAny)); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		svc, method string
		auth        mesh.ID
		want        error
		mention     []string
	}{
		{"test.Calc", "nope", 5, ErrNoSuchMethod, []string{`"nope"`, `"test.Calc"`}},
		{"test.Calc", "hidden", 5, ErrNotExposed, []string{`"hidden"`, "no policy"}},
		{"test.Calc", "hidden", 0, ErrNotExposed, []string{`"hidden"`}},
		{"test.Nothing", "x", 0, ErrNoSuchService, []string{`"test.Nothing"`}},
		// An unprivileged caller learns only that the service is not active.
		{"test.Nothing", "x", 5, ErrNotActivated, []string{`"test.Nothing"`, "not privileged"}},
	}
	for _, tc := range cases {
		r := wait(t, dispatchAsync(t, p, tc.auth, tc.svc, tc.method, struct{}{}))
		if !errors.Is(r.err(), tc.want) {
			t.Fatalf("%s.%s as %d: got %v, want %v", tc.svc, tc.method, tc.auth, r.e, tc.want)
		}
		for _, m := range tc.mention {
			if !strings.Contains(r.e.Error(), m) {
				t.Errorf("%s.%s: message %q lacks %s", tc.svc, tc.method, r.e.Error(), m)
			}
		}
	}
	if c.runs.Load() != 0 {
		t.Fatal("a refused call ran")
	}
}

func TestMethodErrorAndDebugStack(t *testing.T) {
	for _, debugOn := range []bool{false, true} {
		c := &calc{}
		p := newTestPool(t, Config{Debug: debugOn})
		if err := p.Add(newCalc(c, AllowAny)); err != nil {
			t.Fatal(err)
		}
		r := wait(t, dispatchAsync(t, p, 5, "test.Calc", "fail", struct{}{}))
		if !errors.Is(r.err(), ErrFailed) || r.e.Msg != "disk on fire" {
			t.Fatalf("got %v", r.e)
		}
		w := toWire(r.e).toError()
		var ce *mesh.CallError
		if !errors.As(w, &ce) || ce.Type != "service.strErr" || ce.Msg != "disk on fire" {
			t.Fatalf("caller's view %v: CallError %+v", w, ce)
		}
		if got := ce.Stack != ""; got != debugOn {
			t.Fatalf("Debug=%v: stack sent = %v", debugOn, got)
		}
		if !strings.Contains(w.Error(), "disk on fire") || !strings.Contains(w.Error(), `"fail"`) {
			t.Fatalf("message %q", w.Error())
		}
	}
}

func TestPanicIsAnError(t *testing.T) {
	p := newTestPool(t, Config{})
	s := New("test.Panic")
	Expose(s, "boom", func(context.Context, *CallInfo, struct{}) (int, error) { panic("kaboom") }, AllowAny)
	if err := p.Add(s); err != nil {
		t.Fatal(err)
	}
	err := p.Invoke(context.Background(), "test.Panic", "boom", struct{}{}, nil)
	var ce *mesh.CallError
	if !errors.Is(err, ErrFailed) || !errors.As(err, &ce) || ce.Type != "panic" || !strings.Contains(err.Error(), "kaboom") {
		t.Fatalf("got %v", err)
	}
}

var activations atomic.Int64

func init() {
	Register("test.Activated", func(p *Pool) (*Service, error) {
		activations.Add(1)
		c := &calc{}
		return newCalc(c, AllowAny).rename("test.Activated"), nil
	})
}

func (s *Service) rename(name string) *Service { s.name = name; return s }

func TestActivation(t *testing.T) {
	activations.Store(0)
	p := newTestPool(t, Config{})
	// An unprivileged caller cannot activate, and is told which service.
	r := wait(t, dispatchAsync(t, p, 9, "test.Activated", "add", AddReq{A: 1, B: 2}))
	if !errors.Is(r.err(), ErrNotActivated) || !strings.Contains(r.e.Error(), `"test.Activated"`) {
		t.Fatalf("unprivileged first call: %v", r.e)
	}
	if activations.Load() != 0 {
		t.Fatal("an unprivileged call activated the service")
	}
	// Concurrent first calls from a parent activate it once.
	var chs []<-chan result
	for range 10 {
		chs = append(chs, dispatchAsync(t, p, 0, "test.Activated", "add", AddReq{A: 1, B: 2}))
	}
	for _, ch := range chs {
		if r := wait(t, ch); r.e != nil {
			t.Fatal(r.e)
		}
	}
	if n := activations.Load(); n != 1 {
		t.Fatalf("activated %d times, want 1", n)
	}
	// Once active, the methods' own policies decide.
	if r := wait(t, dispatchAsync(t, p, 9, "test.Activated", "add", AddReq{A: 1, B: 2})); r.e != nil {
		t.Fatalf("call after activation: %v", r.e)
	}
	// NoActivation refuses even parents.
	p2 := newTestPool(t, Config{NoActivation: true})
	if r := wait(t, dispatchAsync(t, p2, 0, "test.Activated", "add", AddReq{A: 1, B: 2})); !errors.Is(r.err(), ErrNotActivated) {
		t.Fatalf("NoActivation: %v", r.e)
	}
}

// TestActivationJoinedByAnyCaller: a call from a caller without parent
// authority that arrives while a parent's activation is under way waits for
// it and is then judged by the method's policies, as once the service is
// active; it used to be refused as "not activated" whenever it came between
// the parent's answer and the service being marked active.
func TestActivationJoinedByAnyCaller(t *testing.T) {
	g := newGate()
	p := newTestPool(t, Config{})
	t.Cleanup(g.open) // before the Pool's Close, which waits for the constructor
	parent := dispatchAsync(t, p, 0, "test.Gated", "add", AddReq{A: 1, B: 2})
	g.waitStarted(t)
	other := dispatchAsync(t, p, 9, "test.Gated", "add", AddReq{A: 2, B: 3})
	select {
	case r := <-other:
		t.Fatalf("the call during activation was answered before the service was built: %v", r.e)
	default:
	}
	g.open()
	for _, ch := range []<-chan result{parent, other} {
		if r := wait(t, ch); r.e != nil {
			t.Fatal(r.e)
		}
	}
	// A service nobody has started still needs a parent.
	if r := wait(t, dispatchAsync(t, p, 9, "test.Activated", "add", AddReq{})); !errors.Is(r.err(), ErrNotActivated) {
		t.Fatalf("unprivileged first call: %v", r.e)
	}
}

func TestSerializedInvoker(t *testing.T) {
	p := newTestPool(t, Config{})
	var running, maxRunning atomic.Int64
	var mu sync.Mutex
	var order []int
	s := New("test.Serial").SetInvoker(Serialized())
	Expose(s, "step", func(_ context.Context, _ *CallInfo, r struct{ N int }) (int, error) {
		n := running.Add(1)
		for {
			m := maxRunning.Load()
			if n <= m || maxRunning.CompareAndSwap(m, n) {
				break
			}
		}
		mu.Lock()
		order = append(order, r.N)
		mu.Unlock()
		time.Sleep(100 * time.Microsecond) // widen the window for overlap
		running.Add(-1)
		return r.N, nil
	}, AllowAny)
	if err := p.Add(s); err != nil {
		t.Fatal(err)
	}
	const n = 200
	chs := make([]<-chan result, n)
	for i := range n {
		chs[i] = dispatchAsync(t, p, 5, "test.Serial", "step", struct{ N int }{i})
	}
	for i, ch := range chs {
		if r := wait(t, ch); r.e != nil {
			t.Fatalf("call %d: %v", i, r.e)
		}
	}
	if m := maxRunning.Load(); m != 1 {
		t.Fatalf("%d calls ran at once, want 1", m)
	}
	for i, v := range order {
		if v != i {
			t.Fatalf("call %d ran in position %d: order %v", v, i, order)
		}
	}
	// Idle again: the invoker holds no job.
	inv := s.invoker.(*serialized)
	for i := 0; ; i++ {
		inv.mu.Lock()
		busy := inv.running || len(inv.q) > 0
		inv.mu.Unlock()
		if !busy {
			break
		}
		if i > 3000 {
			t.Fatal("serialized invoker still running 30 s after its queue emptied")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestDeduplicatingInvoker(t *testing.T) {
	// Two workers: if waiters held one each, 50 waiters could not all wait.
	sc, err := sched.New(sched.Config{MaxWorkers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close(context.Background())
	p := newTestPool(t, Config{Scheduler: sc})
	var runs atomic.Int64
	release := make(chan struct{})
	d := Deduplicating(DedupOptions{}).(*dedup)
	s := New("test.Dedup").SetInvoker(d)
	Expose(s, "slow", func(_ context.Context, _ *CallInfo, r AddReq) (AddResp, error) {
		runs.Add(1)
		<-release
		return AddResp{Sum: r.A + r.B}, nil
	}, AllowAny)
	if err := p.Add(s); err != nil {
		t.Fatal(err)
	}
	const n = 50
	chs := make([]<-chan result, n)
	for i := range n {
		// Same arguments, given in different key orders: one canonical key.
		var args any = AddReq{A: 2, B: 3}
		if i%2 == 1 {
			args = map[string]any{"b": 3, "a": 2}
		}
		chs[i] = dispatchAsync(t, p, 5, "test.Dedup", "slow", args)
	}
	other := dispatchAsync(t, p, 5, "test.Dedup", "slow", AddReq{A: 1, B: 1})
	waitUntil(t, func() bool { return d.inFlight() >= n+1 }, func() string { return fmt.Sprintf("only %d calls in flight after 30 s, want %d", d.inFlight(), n+1) })
	close(release)
	for _, ch := range chs {
		r := wait(t, ch)
		var resp AddResp
		if r.e != nil || looseDec.Unmarshal(r.body, &resp) != nil || resp.Sum != 5 {
			t.Fatalf("got %+v %v", resp, r.e)
		}
	}
	if r := wait(t, other); r.e != nil {
		t.Fatal(r.e)
	}
	if got := runs.Load(); got != 2 {
		t.Fatalf("%d executions for %d identical calls and one other, want 2", got, n)
	}
	// No caching by default: the next identical call runs again.
	if r := wait(t, dispatchAsync(t, p, 5, "test.Dedup", "slow", AddReq{A: 2, B: 3})); r.e != nil {
		t.Fatal(r.e)
	}
	if got := runs.Load(); got != 3 {
		t.Fatalf("%d executions, want 3 (results are not cached by default)", got)
	}
}

func TestDedupCache(t *testing.T) {
	p := newTestPool(t, Config{})
	var runs atomic.Int64
	mk := func(name string, o DedupOptions) {
		s := New(name).SetInvoker(Deduplicating(o))
		Expose(s, "get", func(_ context.Context, _ *CallInfo, r struct{ Fail bool }) (int64, error) {
			n := runs.Add(1)
			if r.Fail {
				return 0, strErr("failed")
			}
			return n, nil
		}, AllowAny)
		if err := p.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	mk("test.Cached", DedupOptions{CacheFor: time.Hour})
	mk("test.CachedErrs", DedupOptions{CacheFor: time.Hour, CacheErrors: true})
	mk("test.Expiring", DedupOptions{CacheFor: time.Nanosecond})
	get := func(svc string, fail bool) (int64, error) {
		var v int64
		err := p.Invoke(context.Background(), svc, "get", struct{ Fail bool }{fail}, &v)
		return v, err
	}
	a, _ := get("test.Cached", false)
	b, _ := get("test.Cached", false)
	if a != b {
		t.Fatalf("cached result not reused: %d then %d", a, b)
	}
	before := runs.Load()
	if _, err := get("test.Cached", true); err == nil {
		t.Fatal("fail=true succeeded")
	}
	if _, err := get("test.Cached", true); err == nil {
		t.Fatal("fail=true succeeded")
	}
	if got := runs.Load() - before; got != 2 {
		t.Fatalf("errors were cached by default: %d runs for 2 failing calls", got)
	}
	before = runs.Load()
	_, e1 := get("test.CachedErrs", true)
	_, e2 := get("test.CachedErrs", true)
	if e1 == nil || e2 == nil || runs.Load()-before != 1 {
		t.Fatalf("CacheErrors: %v %v, %d runs", e1, e2, runs.Load()-before)
	}
	a, _ = get("test.Expiring", false)
	for i := 0; ; i++ { // a nanosecond has surely passed after a call; bounded anyway
		b, _ = get("test.Expiring", false)
		if a != b || i > 100 {
			break
		}
	}
	if a == b {
		t.Fatal("an expired result was served")
	}
}

func TestCloseRunsShutdownHooksAfterCalls(t *testing.T) {
	p := newTestPool(t, Config{})
	started := make(chan struct{})
	release := make(chan struct{})
	var log []string
	var mu sync.Mutex
	s := New("test.Hooks")
	Expose(s, "work", func(context.Context, *CallInfo, struct{}) (int, error) {
		close(started)
		<-release
		mu.Lock()
		log = append(log, "call")
		mu.Unlock()
		return 1, nil
	}, AllowAny)
	Expose(s, "probe", func(context.Context, *CallInfo, struct{}) (int, error) { return 1, nil }, AllowAny)
	s.OnShutdown(func(context.Context) { mu.Lock(); log = append(log, "hook"); mu.Unlock() })
	if err := p.Add(s); err != nil {
		t.Fatal(err)
	}
	ch := dispatchAsync(t, p, 5, "test.Hooks", "work", struct{}{})
	<-started
	closed := make(chan error, 1)
	go func() { closed <- p.Close(context.Background()) }()
	// Calls arriving while closing are refused.
	for i := 0; ; i++ {
		r := wait(t, dispatchAsync(t, p, 5, "test.Hooks", "probe", struct{}{}))
		if errors.Is(r.err(), ErrClosed) {
			break
		}
		if i > 3000 {
			t.Fatal("calls still accepted 30 s after Close")
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(release)
	if r := wait(t, ch); r.e != nil {
		t.Fatal(r.e)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if err := p.Join(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(log, ",") != "call,hook" {
		t.Fatalf("order %v, want the call then the hook", log)
	}
}

func TestPriorityPerServiceAndMethod(t *testing.T) {
	// One worker, kept busy while the calls queue: they then run highest
	// priority first.
	sc, err := sched.New(sched.Config{MaxWorkers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close(context.Background())
	p := newTestPool(t, Config{Scheduler: sc})
	var mu sync.Mutex
	var order []string
	rec := func(name string) MethodFunc[struct{}, int] {
		return func(context.Context, *CallInfo, struct{}) (int, error) {
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			return 0, nil
		}
	}
	low := New("test.Low").SetPriority(sched.Low)
	Expose(low, "m", rec("low"), AllowAny)
	Expose(low, "urgent", rec("low.urgent"), AllowAny).SetPriority(sched.High + 1)
	normal := New("test.Normal")
	Expose(normal, "m", rec("normal"), AllowAny)
	high := New("test.High").SetPriority(sched.High)
	Expose(high, "m", rec("high"), AllowAny)
	for _, s := range []*Service{low, normal, high} {
		if err := p.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	release := make(chan struct{})
	started := make(chan struct{})
	if err := sc.Submit(context.Background(), sched.High+5, func(context.Context) { close(started); <-release }); err != nil {
		t.Fatal(err)
	}
	<-started
	var chs []<-chan result
	for _, s := range []string{"test.Low", "test.Normal", "test.High"} {
		chs = append(chs, dispatchAsync(t, p, 5, s, "m", struct{}{}))
	}
	chs = append(chs, dispatchAsync(t, p, 5, "test.Low", "urgent", struct{}{}))
	close(release)
	for _, ch := range chs {
		if r := wait(t, ch); r.e != nil {
			t.Fatal(r.e)
		}
	}
	if got := strings.Join(order, ","); got != "low.urgent,high,normal,low" {
		t.Fatalf("ran in order %s", got)
	}
}

func TestCloseWithExpiredContextCancelsCalls(t *testing.T) {
	p := newTestPool(t, Config{})
	started := make(chan struct{})
	hooked := make(chan struct{})
	s := New("test.Stuck")
	Expose(s, "wait", func(ctx context.Context, _ *CallInfo, _ struct{}) (int, error) {
		close(started)
		<-ctx.Done()
		return 0, ctx.Err()
	}, AllowAny)
	s.OnShutdown(func(context.Context) { close(hooked) })
	if err := p.Add(s); err != nil {
		t.Fatal(err)
	}
	ch := dispatchAsync(t, p, 5, "test.Stuck", "wait", struct{}{})
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Close with a done context: %v", err)
	}
	r := wait(t, ch)
	if !errors.Is(r.err(), ErrFailed) || !errors.Is(r.e.Err, context.Canceled) {
		t.Fatalf("the running call got %v, want its context cancelled", r.e)
	}
	if err := p.Join(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-hooked
}

// CBOR null is not a value of a scalar, string or struct field: a null
// argument is a wrong type, required or not, and the method does not run.
// Pointer, slice, map and interface fields take null as their nil.
func TestArgNullRejected(t *testing.T) {
	c := &calc{}
	p := newTestPool(t, Config{})
	s := newCalc(c, AllowAny)
	type nullable struct {
		P *int           `cbor:"p"`
		S []byte         `cbor:"s"`
		M map[string]int `cbor:"m"`
		I any            `cbor:"i"`
	}
	Expose(s, "nullable", func(context.Context, *CallInfo, nullable) (bool, error) { return true, nil }, AllowAny)
	if err := p.Add(s); err != nil {
		t.Fatal(err)
	}
	for _, args := range []map[string]any{
		{"a": nil, "b": 2},
		{"a": 1, "b": 2, "note": nil},
	} {
		r := wait(t, dispatchAsync(t, p, 5, "test.Calc", "add", args))
		var ae *ArgError
		if !errors.As(r.err(), &ae) || ae.Problem != ArgWrongType || ae.Got != "null" {
			t.Fatalf("%v: got %v, want a wrong-type *ArgError for null", args, r.err())
		}
		if _, isNil := args[ae.Field]; !isNil || args[ae.Field] != nil {
			t.Fatalf("%v: the error names %q, not the null field", args, ae.Field)
		}
	}
	if n := c.runs.Load(); n != 0 {
		t.Fatalf("method ran %d times on null arguments, want 0", n)
	}
	r := wait(t, dispatchAsync(t, p, 5, "test.Calc", "nullable", map[string]any{"p": nil, "s": nil, "m": nil, "i": nil}))
	if r.e != nil {
		t.Fatalf("null for pointer, slice, map and interface fields: %v", r.e)
	}
}

// Identical arguments from different callers do not share a result: the
// method sees each caller's CallInfo (here its Auth and parent authority),
// in flight and from the cache.
func TestDedupKeyIncludesCaller(t *testing.T) {
	p := newTestPool(t, Config{})
	d := Deduplicating(DedupOptions{CacheFor: time.Hour}).(*dedup)
	var runs atomic.Int64
	release := make(chan struct{})
	type who struct {
		Auth   mesh.ID `cbor:"auth"`
		Parent bool    `cbor:"parent"`
	}
	s := New("test.DedupWho").SetInvoker(d)
	Expose(s, "who", func(_ context.Context, c *CallInfo, _ AddReq) (who, error) {
		runs.Add(1)
		<-release
		return who{c.Auth, c.HasParentAuthority()}, nil
	}, AllowAny)
	if err := p.Add(s); err != nil {
		t.Fatal(err)
	}
	parent := dispatchAsync(t, p, 0, "test.DedupWho", "who", AddReq{A: 1})
	stranger := dispatchAsync(t, p, 5, "test.DedupWho", "who", AddReq{A: 1})
	waitUntil(t, func() bool { return d.inFlight() >= 2 }, func() string { return fmt.Sprintf("only %d calls in flight after 30 s, want 2", d.inFlight()) })
	close(release)
	for _, c := range []struct {
		ch   <-chan result
		want who
	}{{parent, who{0, true}}, {stranger, who{5, false}}} {
		r := wait(t, c.ch)
		var got who
		if r.e != nil || looseDec.Unmarshal(r.body, &got) != nil || got != c.want {
			t.Fatalf("got %+v %v, want %+v (the caller's own CallInfo)", got, r.e, c.want)
		}
	}
	// The cached result of one caller is not another's.
	r := wait(t, dispatchAsync(t, p, 7, "test.DedupWho", "who", AddReq{A: 1}))
	var got who
	if r.e != nil || looseDec.Unmarshal(r.body, &got) != nil || got != (who{7, false}) {
		t.Fatalf("third caller got %+v %v", got, r.e)
	}
	if n := runs.Load(); n != 3 {
		t.Fatalf("%d executions for three callers, want 3", n)
	}
}

// gate is the state of the "test.Gated" constructor for the test that
// installs it: the first build waits for release; every build and every
// shutdown hook run is counted.
type gate struct {
	builds, hooks atomic.Int64
	started       chan struct{}
	release       chan struct{}
	once          sync.Once
}

func (g *gate) open() { g.once.Do(func() { close(g.release) }) }

var gated atomic.Pointer[gate]

func newGate() *gate {
	g := &gate{started: make(chan struct{}), release: make(chan struct{})}
	gated.Store(g)
	return g
}

func init() {
	Register("test.Gated", func(p *Pool) (*Service, error) {
		g := gated.Load()
		if g.builds.Add(1) == 1 {
			close(g.started)
			<-g.release
		}
		s := newCalc(&calc{}, AllowAny).rename("test.Gated")
		s.OnShutdown(func(context.Context) { g.hooks.Add(1) })
		return s, nil
	})
}

func (g *gate) waitStarted(t *testing.T) {
	t.Helper()
	select {
	case <-g.started:
	case <-time.After(30 * time.Second):
		t.Fatal("the constructor did not start within 30 s")
	}
}

// A local Activate (or Add) while a parent's call is activating the same
// service joins that activation (Add is refused): one instance is built,
// served and shut down.
func TestActivateJoinsActivationInProgress(t *testing.T) {
	g := newGate()
	p := newTestPool(t, Config{})
	t.Cleanup(g.open) // runs before the Pool's close, even on failure
	first := dispatchAsync(t, p, 0, "test.Gated", "add", AddReq{A: 1, B: 2})
	g.waitStarted(t)
	if err := p.Add(New("test.Gated")); err == nil {
		t.Fatal("Add of a service being activated succeeded")
	}
	type activated struct {
		s   *Service
		err error
	}
	got := make(chan activated, 1)
	go func() {
		s, err := p.Activate("test.Gated")
		got <- activated{s, err}
	}()
	joined := func() bool {
		p.mu.RLock()
		defer p.mu.RUnlock()
		a := p.activating["test.Gated"]
		return a != nil && a.waiters > 0
	}
	waitUntil(t, func() bool { return joined() || g.builds.Load() >= 2 }, func() string { return "Activate neither joined the activation nor built the service within 30 s" })
	g.open()
	if r := wait(t, first); r.e != nil {
		t.Fatal(r.e)
	}
	a := <-got
	if a.err != nil {
		t.Fatal(a.err)
	}
	p.mu.RLock()
	active, order := p.active["test.Gated"], len(p.order)
	p.mu.RUnlock()
	if n := g.builds.Load(); n != 1 || a.s != active || order != 1 {
		t.Fatalf("%d builds, Activate's service is the active one: %v, %d services to shut down; want 1, true, 1", n, a.s == active, order)
	}
	if err := p.Close(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if n := g.hooks.Load(); n != 1 {
		t.Fatalf("shutdown hooks ran %d times, want once", n)
	}
}

// A Pool closed while a service is being activated runs the built
// service's shutdown hooks, and the calls waiting for it are answered with
// ErrClosed.
func TestCloseDuringActivation(t *testing.T) {
	g := newGate()
	p := newTestPool(t, Config{})
	t.Cleanup(g.open) // runs before the Pool's close, even on failure
	first := dispatchAsync(t, p, 0, "test.Gated", "add", AddReq{A: 1, B: 2})
	g.waitStarted(t)
	second := dispatchAsync(t, p, 0, "test.Gated", "add", AddReq{A: 3, B: 4})
	closed := make(chan error, 1)
	go func() { closed <- p.Close(testCtx(t)) }()
	for i := 0; ; i++ {
		p.mu.RLock()
		c := p.closed
		p.mu.RUnlock()
		if c {
			break
		}
		if i > 3000 {
			t.Fatal("the Pool was not closed within 30 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	g.open()
	for _, ch := range []<-chan result{first, second} {
		if r := wait(t, ch); r.e == nil || r.e.Code != CodeClosed {
			t.Fatalf("a call waiting for an activation the Pool's close ended: %v, want CodeClosed", r.err())
		}
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if n := g.hooks.Load(); n != 1 {
		t.Fatalf("shutdown hooks of the service built during the close ran %d times, want once", n)
	}
}

// A custom policy runs on a sched job, not on the goroutine that received
// the call (a link's reader): a slow policy does not hold up other calls,
// and the service's calls still reach its invoker in arrival order.
func TestCustomPolicyDoesNotBlockTheReceiver(t *testing.T) {
	p := newTestPool(t, Config{})
	release := make(chan struct{})
	var once sync.Once
	open := func() { once.Do(func() { close(release) }) }
	t.Cleanup(open)
	slow := PolicyFunc(func(c *CallInfo) bool { <-release; return c.Auth == 0 })
	var mu sync.Mutex
	var order []int
	record := func(_ context.Context, _ *CallInfo, r AddReq) (AddResp, error) {
		mu.Lock()
		order = append(order, r.A)
		mu.Unlock()
		return AddResp{Sum: r.A + r.B}, nil
	}
	s := New("test.SlowPolicy").SetInvoker(Serialized())
	Expose(s, "guarded", record, slow)
	Expose(s, "open", record, AllowAny)
	if err := p.Add(s); err != nil {
		t.Fatal(err)
	}
	if err := p.Add(newCalc(&calc{}, AllowAny)); err != nil {
		t.Fatal(err)
	}
	args, err := wireEnc.Marshal(AddReq{A: 1})
	if err != nil {
		t.Fatal(err)
	}
	first := make(chan result, 1)
	dispatched := make(chan struct{})
	go func() {
		p.dispatch(inbound{service: "test.SlowPolicy", method: "guarded", args: args, src: 0, auth: 0,
			reply: func(body []byte, e *Error) { first <- result{body, e} }})
		close(dispatched)
	}()
	select {
	case <-dispatched:
	case <-time.After(30 * time.Second):
		open()
		t.Fatal("dispatch waited for a custom policy: the receiving goroutine is blocked")
	}
	second := dispatchAsync(t, p, 0, "test.SlowPolicy", "open", AddReq{A: 2})
	if r := wait(t, dispatchAsync(t, p, 0, "test.Calc", "add", AddReq{A: 1, B: 1})); r.e != nil {
		t.Fatalf("another service while a policy decides: %v", r.e)
	}
	open()
	for _, ch := range []<-chan result{first, second} {
		if r := wait(t, ch); r.e != nil {
			t.Fatal(r.e)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(order) != 2 || order[0] != 1 || order[1] != 2 {
		t.Fatalf("calls ran in the order %v, want their arrival order [1 2]", order)
	}
}

type nestedHost struct {
	Name string `cbor:"name"`
	Port int    `cbor:"port,omitempty"`
}

type nestedReq struct {
	Opts  nestedHost    `cbor:"opts"`
	Ptr   *nestedHost   `cbor:"ptr,omitempty"`
	Hosts []nestedHost  `cbor:"hosts,omitempty"`
	Ptrs  []*nestedHost `cbor:"ptrs,omitempty"`
	When  time.Time     `cbor:"when,omitempty"`
	Tree  *nestedTree   `cbor:"tree,omitempty"`
	JSON  struct {
		Mode string `json:"mode"`
	} `cbor:"json,omitempty"`
}

type nestedTree struct {
	Label string        `cbor:"label"`
	Kids  []*nestedTree `cbor:"kids,omitempty"`
}

// TestArgSpecNested: the request rules hold inside nested structs, and the
// error names the field by its path.
func TestArgSpecNested(t *testing.T) {
	var runs atomic.Int64
	s := New("test.Nested")
	Expose(s, "do", func(_ context.Context, _ *CallInfo, r nestedReq) (string, error) {
		runs.Add(1)
		return r.Opts.Name, nil
	}, AllowAny)
	p := newTestPool(t, Config{})
	if err := p.Add(s); err != nil {
		t.Fatal(err)
	}
	opts := map[string]any{"name": "a"}
	cases := []struct {
		name    string
		args    map[string]any
		problem ArgProblem
		field   string
	}{
		{"unknown in struct", map[string]any{"opts": map[string]any{"name": "a", "colour": 1}}, ArgUnknown, "opts.colour"},
		{"missing in struct", map[string]any{"opts": map[string]any{"port": 1}}, ArgMissing, "opts.name"},
		{"null in struct", map[string]any{"opts": map[string]any{"name": nil}}, ArgWrongType, "opts.name"},
		{"struct not a map", map[string]any{"opts": []int{1}}, ArgWrongType, "opts"},
		{"unknown behind a pointer", map[string]any{"opts": opts, "ptr": map[string]any{"name": "b", "x": 1}}, ArgUnknown, "ptr.x"},
		{"unknown in an element", map[string]any{"opts": opts, "hosts": []any{opts, map[string]any{"name": "c", "nmae": "d"}}}, ArgUnknown, "hosts[1].nmae"},
		{"missing in an element", map[string]any{"opts": opts, "ptrs": []any{nil, map[string]any{}}}, ArgMissing, "ptrs[1].name"},
		{"null element of structs", map[string]any{"opts": opts, "hosts": []any{nil}}, ArgWrongType, "hosts[0]"},
		{"deep in a recursive type", map[string]any{"opts": opts, "tree": map[string]any{"label": "r", "kids": []any{map[string]any{"label": "k", "kids": []any{map[string]any{"lable": "x"}}}}}}, ArgUnknown, "tree.kids[0].kids[0].lable"},
		{"json tag name", map[string]any{"opts": opts, "json": map[string]any{"Mode": "x"}}, ArgUnknown, "json.Mode"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := wait(t, dispatchAsync(t, p, 5, "test.Nested", "do", tc.args))
			var ae *ArgError
			if !errors.As(r.err(), &ae) || ae.Problem != tc.problem || ae.Field != tc.field {
				t.Fatalf("got %v, want problem %d on %q", r.e, tc.problem, tc.field)
			}
			if !strings.Contains(r.e.Error(), fmt.Sprintf("%q", tc.field)) {
				t.Fatalf("message %q does not name %q", r.e.Error(), tc.field)
			}
		})
	}
	if n := runs.Load(); n != 0 {
		t.Fatalf("method ran %d times on bad arguments, want 0", n)
	}
	good := map[string]any{
		"opts":  map[string]any{"name": "ok", "port": 22},
		"ptr":   nil,
		"hosts": []any{opts},
		"ptrs":  []any{nil, opts},
		"when":  time.Unix(1e9, 0),
		"tree":  map[string]any{"label": "r", "kids": []any{map[string]any{"label": "k"}}},
		"json":  map[string]any{"mode": "m"},
	}
	var got string
	if err := p.invokeAs(context.Background(), 5, "test.Nested", "do", good, &got); err != nil || got != "ok" {
		t.Fatalf("good nested call: %v, %q", err, got)
	}
	// The request struct itself, whose zero time.Time encodes as null.
	if err := p.invokeAs(context.Background(), 5, "test.Nested", "do", nestedReq{Opts: nestedHost{Name: "z"}}, &got); err != nil || got != "z" {
		t.Fatalf("the request struct with its zero values: %v, %q", err, got)
	}
}

// Types the decoder handles by its own rules inside a request: check must
// leave them to it, and agree with it on what it fills in.
type (
	argBase struct {
		ID string `cbor:"id"`
	}
	argEmbedded struct {
		argBase
		Name string `cbor:"name"`
	}
	argPair struct {
		_    struct{} `cbor:",toindefarray"`
		X, Y int
	}
	argEmbC struct {
		Z int `cbor:"z"`
	}
	argLoopB struct {
		C argLoopC `cbor:"c,omitempty"`
		argEmbC
		Last string `cbor:"last,omitempty"`
	}
	argLoopC struct {
		Back *argLoopB `cbor:"back,omitempty"`
	}
	argText  struct{ A, B string }
	argHosts []nestedHost
	argBin   struct{ A, B byte }
	argTree  map[string]argTree // holds itself with no struct between
	argList  []*argList
)

// UnmarshalBinary reads two bytes.
func (x *argBin) UnmarshalBinary(b []byte) error {
	if len(b) != 2 {
		return errors.New("want 2 bytes")
	}
	x.A, x.B = b[0], b[1]
	return nil
}

// UnmarshalText is not used by the decoder, which reads a map field by field.
func (x *argText) UnmarshalText(b []byte) error { x.A = string(b); return nil }

// UnmarshalCBOR reads "name:port" strings.
func (h *argHosts) UnmarshalCBOR(b []byte) error {
	var ss []string
	if err := cbor.Unmarshal(b, &ss); err != nil {
		return err
	}
	for _, s := range ss {
		name, port, _ := strings.Cut(s, ":")
		n, _ := strconv.Atoi(port)
		*h = append(*h, nestedHost{Name: name, Port: n})
	}
	return nil
}

type argOddReq struct {
	Emb   argEmbedded           `cbor:"emb,omitempty"`
	Pair  argPair               `cbor:"pair,omitempty"`
	B     argLoopB              `cbor:"b,omitempty"`
	CC    argLoopC              `cbor:"cc,omitempty"`
	Text  *argText              `cbor:"text,omitempty"`
	Two   *[2]nestedHost        `cbor:"two,omitempty"`
	Map   map[string]nestedHost `cbor:"map,omitempty"`
	Grid  [][]nestedHost        `cbor:"grid,omitempty"`
	Hosts argHosts              `cbor:"hosts,omitempty"`
	List  []nestedHost          `cbor:"list,omitempty"`
	Bin   *argBin               `cbor:"bin,omitempty"`
	Tree  argTree               `cbor:"tree,omitempty"`
	Lists argList               `cbor:"lists,omitempty"`
}

func TestArgSpecAgreesWithDecoder(t *testing.T) {
	spec := specOf(reflect.TypeFor[argOddReq]())
	ok := []struct {
		name string
		args map[string]any
	}{
		{"embedded unexported struct", map[string]any{"emb": map[string]any{"id": "1", "name": "n"}}},
		{"toindefarray struct", map[string]any{"pair": []int{1, 2}}},
		{"a type met again below one left to the decoder", map[string]any{"cc": map[string]any{"back": map[string]any{"z": 1, "last": "x"}}}},
		{"a slice with its own UnmarshalCBOR", map[string]any{"hosts": []string{"a:22"}}},
		{"a tagged byte string for UnmarshalBinary", map[string]any{"bin": cbor.Tag{Number: 42, Content: []byte{1, 2}}}},
		{"types that hold themselves", map[string]any{"tree": map[string]any{"a": map[string]any{}}, "lists": []any{[]any{}}}},
	}
	for _, tc := range ok {
		raw := mustCBOR(tc.args)
		var viaSpec, viaDecoder argOddReq
		if ae := spec.decode(raw, &viaSpec); ae != nil {
			t.Errorf("%s: %v", tc.name, ae)
			continue
		}
		if err := strictDec.Unmarshal(raw, &viaDecoder); err != nil || !reflect.DeepEqual(viaSpec, viaDecoder) {
			t.Errorf("%s: decoded %+v, the decoder alone %+v (%v)", tc.name, viaSpec, viaDecoder, err)
		}
	}
	bad := []struct {
		name    string
		args    map[string]any
		problem ArgProblem
		field   string
	}{
		{"an UnmarshalText struct is a map of fields", map[string]any{"text": map[string]any{"A": "x"}}, ArgMissing, "text.B"},
		{"an array given too few", map[string]any{"two": []any{map[string]any{"name": "a"}}}, ArgMissing, "two[1]"},
		{"a map of structs", map[string]any{"map": map[string]any{"k": map[string]any{}}}, ArgMissing, `map["k"].name`},
		{"a slice of slices", map[string]any{"grid": []any{[]any{map[string]any{"name": "a"}, map[string]any{"nme": "b"}}}}, ArgUnknown, "grid[0][1].nme"},
		{"a tagged null", map[string]any{"list": []any{map[string]any{"name": cbor.Tag{Number: 1000, Content: nil}}}}, ArgWrongType, "list[0].name"},
		{"a wrong type deep down", map[string]any{"list": []any{map[string]any{"name": "a"}, map[string]any{"name": 5}}}, ArgWrongType, "list[1].name"},
	}
	for _, tc := range bad {
		var r argOddReq
		ae := spec.decode(mustCBOR(tc.args), &r)
		if ae == nil || ae.Problem != tc.problem || ae.Field != tc.field {
			t.Errorf("%s: got %v, want problem %d on %q", tc.name, ae, tc.problem, tc.field)
		}
	}
}

// Checking a deep request costs no copy of it per level: the check holds
// views into the request's bytes.
func TestArgSpecDeepRequestNoCopies(t *testing.T) {
	spec := specOf(reflect.TypeFor[nestedTree]())
	var v any = map[string]any{"label": strings.Repeat("x", 4<<20)}
	for range 14 { // 29 levels of nesting: the decoder allows 32
		v = map[string]any{"label": "l", "kids": []any{v}}
	}
	raw := mustCBOR(v)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if ae := spec.check(raw, "", false); ae != nil {
		t.Fatal(ae)
	}
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Fatalf("checking a %d-byte request 29 levels deep allocated %d bytes", len(raw), n)
	}
}

func init() {
	Register("test.PanicCtor", func(*Pool) (*Service, error) { panic("no config") })
	Register("test.GoexitCtor", func(*Pool) (*Service, error) { runtime.Goexit(); return nil, nil })
}

// A constructor that panics or calls runtime.Goexit fails its activation:
// the call that started it, and the calls queued behind it, are answered,
// and a later call tries again.
func TestConstructorPanicOrGoexitEndsActivation(t *testing.T) {
	p := newTestPool(t, Config{})
	for _, tc := range []struct{ svc, want string }{{"test.PanicCtor", "panicked: no config"}, {"test.GoexitCtor", "runtime.Goexit"}} {
		for range 2 {
			chs := []<-chan result{
				dispatchAsync(t, p, 0, tc.svc, "m", struct{}{}),
				dispatchAsync(t, p, 9, tc.svc, "m", struct{}{}),
			}
			if r := wait(t, chs[0]); r.e == nil || !strings.Contains(r.e.Error(), tc.want) {
				t.Fatalf("%s, from a parent: %v, want an error saying %q", tc.svc, r.e, tc.want)
			}
			// A caller that may not activate learns nothing of why it
			// failed, whether it came during the activation or after.
			if r := wait(t, chs[1]); !errors.Is(r.err(), ErrNotActivated) || strings.Contains(r.e.Error(), tc.want) {
				t.Fatalf("%s, from a non-parent: %v, want only 'not activated'", tc.svc, r.e)
			}
		}
	}
	// Activate runs the constructor on its caller's goroutine: a panic
	// comes back as its error.
	if _, err := p.Activate("test.PanicCtor"); err == nil || !strings.Contains(err.Error(), "panicked: no config") {
		t.Fatalf("Activate: %v, want the constructor's panic", err)
	}
}

// A custom policy that panics or calls runtime.Goexit refuses the call,
// saying so, and the service's later calls are still checked and answered.
func TestPolicyPanicRefuses(t *testing.T) {
	p := newTestPool(t, Config{})
	s := New("test.PanickyPolicy")
	Expose(s, "add", (&calc{}).add, PolicyFunc(func(c *CallInfo) bool {
		switch c.Auth {
		case 9:
			panic("policy bug")
		case 8:
			runtime.Goexit()
		}
		return true
	}))
	if err := p.Add(s); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		r := wait(t, dispatchAsync(t, p, 9, "test.PanickyPolicy", "add", AddReq{A: 1, B: 1}))
		if !errors.Is(r.err(), ErrRefused) || !strings.Contains(r.e.Error(), "policy bug") {
			t.Fatalf("call whose policy panics: %v, want a refusal naming the panic", r.e)
		}
		if r := wait(t, dispatchAsync(t, p, 5, "test.PanickyPolicy", "add", AddReq{A: 1, B: 1})); r.e != nil {
			t.Fatalf("a call after a policy panic: %v", r.e)
		}
		r = wait(t, dispatchAsync(t, p, 8, "test.PanickyPolicy", "add", AddReq{A: 1, B: 1}))
		if !errors.Is(r.err(), ErrRefused) || !strings.Contains(r.e.Error(), "Goexit") {
			t.Fatalf("call whose policy calls Goexit: %v, want a refusal naming it", r.e)
		}
		if r := wait(t, dispatchAsync(t, p, 5, "test.PanickyPolicy", "add", AddReq{A: 1, B: 1})); r.e != nil {
			t.Fatalf("a call after a policy's Goexit: %v", r.e)
		}
	}
}

// A method that calls runtime.Goexit (t.FailNow in a helper, say) fails
// its call, under every invoker, and the service goes on serving: the
// serialized queue behind it drains, and no identical call joins a flight
// that never lands.
func TestMethodGoexit(t *testing.T) {
	for _, inv := range []struct {
		name string
		new  func() Invoker
	}{{"concurrent", Concurrent}, {"serialized", Serialized}, {"deduplicating", func() Invoker { return Deduplicating(DedupOptions{}) }}} {
		t.Run(inv.name, func(t *testing.T) {
			p := newTestPool(t, Config{})
			s := New("test.Goexit").SetInvoker(inv.new())
			Expose(s, "m", func(_ context.Context, _ *CallInfo, r struct{ Exit bool }) (int, error) {
				if r.Exit {
					runtime.Goexit()
				}
				return 7, nil
			}, AllowAny)
			if err := p.Add(s); err != nil {
				t.Fatal(err)
			}
			var chs []<-chan result
			for i := range 6 {
				chs = append(chs, dispatchAsync(t, p, 5, "test.Goexit", "m", struct{ Exit bool }{i%2 == 0}))
			}
			for i, ch := range chs {
				r := wait(t, ch)
				if i%2 == 0 {
					if !errors.Is(r.err(), ErrFailed) || !strings.Contains(r.e.Error(), "Goexit") {
						t.Fatalf("call %d, whose method called Goexit: %v", i, r.e)
					}
				} else if r.e != nil {
					t.Fatalf("call %d: %v", i, r.e)
				}
			}
		})
	}
}

// waitUntil polls cond every 10 ms for up to 30 s, and fails the test with
// failure() if it never holds: a bound that only keeps a regression from
// hanging the test, not a timing assertion.
func waitUntil(t *testing.T, cond func() bool, failure func() string) {
	t.Helper()
	for i := 0; !cond(); i++ {
		if i > 3000 {
			t.Fatal(failure())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
