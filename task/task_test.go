package task

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/muster-sh/muster/nodeset"
	"github.com/muster-sh/muster/worker"
	"github.com/muster-sh/muster/worker/exec"
)

func nodes(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("n%d", i+1)
	}
	return out
}

// recorder logs every event as text.
type recorder struct {
	BaseHandler
	log []string
}

func (r *recorder) OnStart(w *Worker)            { r.log = append(r.log, "start") }
func (r *recorder) OnPickup(w *Worker, n string) { r.log = append(r.log, "pickup "+n) }
func (r *recorder) OnRead(w *Worker, n string, l []byte) {
	r.log = append(r.log, "read "+n+" "+string(l))
}
func (r *recorder) OnError(w *Worker, n string, l []byte) {
	r.log = append(r.log, "error "+n+" "+string(l))
}
func (r *recorder) OnWritten(w *Worker, n string, size int) {
	r.log = append(r.log, "written "+n+" "+strconv.Itoa(size))
}
func (r *recorder) OnHup(w *Worker, n string, rc int) {
	r.log = append(r.log, "hup "+n+" "+strconv.Itoa(rc))
}
func (r *recorder) OnTimeout(w *Worker, n string) { r.log = append(r.log, "timeout "+n) }
func (r *recorder) OnClose(w *Worker, to bool) {
	r.log = append(r.log, "close "+strconv.FormatBool(to))
}

// perNode returns the events of node n, in order, without the node name.
func (r *recorder) perNode(n string) []string {
	var out []string
	for _, e := range r.log {
		f := strings.SplitN(e, " ", 3)
		if len(f) >= 2 && f[1] == n {
			out = append(out, strings.Join(append(f[:1:1], f[2:]...), " "))
		}
	}
	return out
}

func execTask(opts ...Option) *Task {
	return New(append([]Option{WithDistant(exec.Transport{})}, opts...)...)
}

func TestEventOrderPerNode(t *testing.T) {
	for _, fanout := range []int{1, 4} {
		t.Run("fanout"+strconv.Itoa(fanout), func(t *testing.T) { testEventOrderPerNode(t, fanout) })
	}
}

func testEventOrderPerNode(t *testing.T, fanout int) {
	tk := execTask(WithFanout(fanout))
	r := &recorder{}
	ns := nodes(20)
	_, err := tk.Shell(`echo out1 %h; echo err1 >&2; echo out2; printf tail; exit %n`,
		OnNodes(ns...), WithHandler(r), UseShell(true))
	if err != nil {
		t.Fatal(err)
	}
	if err := tk.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r.log[0] != "start" || r.log[len(r.log)-1] != "close false" {
		t.Fatalf("worker events: first %q last %q", r.log[0], r.log[len(r.log)-1])
	}
	for i, n := range ns {
		got := r.perNode(n)
		// stdout and stderr are separate streams: only the order within
		// each stream and relative to pickup/hup is fixed.
		var outs, errs []string
		for _, e := range got[1 : len(got)-1] {
			if strings.HasPrefix(e, "read") {
				outs = append(outs, e)
			} else {
				errs = append(errs, e)
			}
		}
		if got[0] != "pickup" || got[len(got)-1] != "hup "+strconv.Itoa(i) ||
			!slices.Equal(outs, []string{"read out1 " + n, "read out2", "read tail"}) ||
			!slices.Equal(errs, []string{"error err1"}) {
			t.Fatalf("node %s events = %q", n, got)
		}
	}
	var picks []string
	for _, e := range r.log {
		if n, ok := strings.CutPrefix(e, "pickup "); ok {
			picks = append(picks, n)
		}
	}
	if len(picks) != len(ns) {
		t.Fatalf("%d pickups", len(picks))
	}
	// With fanout 1 the runs are serial, so pickups follow node order.
	if fanout == 1 && !slices.Equal(picks, ns) {
		t.Fatalf("pickup order %v, want %v", picks, ns)
	}
}

func TestStartOrderFollowsNodeOrder(t *testing.T) {
	var mu sync.Mutex
	var order []string
	d := driverFunc(func(ctx context.Context, s worker.Session) (worker.Status, error) {
		mu.Lock()
		order = append(order, s.Node())
		mu.Unlock()
		s.Started()
		return worker.Exited(0), nil
	})
	tk := New(WithFanout(1))
	ns := nodes(50)
	if err := tk.Schedule(NewWorker(d, OnNodes(ns...))); err != nil {
		t.Fatal(err)
	}
	if err := tk.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(order, ns) {
		t.Fatalf("start order = %v", order)
	}
	// from a node set: node-set order, whatever order the set was written in
	order = nil
	tk.Schedule(NewWorker(d, OnNodeSet(nodeset.MustParse("b10,a[3,1],b2,a2"))))
	if err := tk.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if want := []string{"a1", "a2", "a3", "b2", "b10"}; !slices.Equal(order, want) {
		t.Fatalf("start order = %v, want %v", order, want)
	}
}

type driverFunc func(ctx context.Context, s worker.Session) (worker.Status, error)

func (f driverFunc) Run(ctx context.Context, s worker.Session) (worker.Status, error) {
	return f(ctx, s)
}

// TestFanoutNeverExceeded: the engine keeps exactly min(fanout, runs)
// drivers in flight, never more. Every run holds until that many are in
// flight at once (or a bounded wait ends), so a serial engine, or one that
// starts fewer than the fanout, fails the equality, and one that starts
// more fails it too.
func TestFanoutNeverExceeded(t *testing.T) {
	const runs = 400 // 300 + 100 nodes in two workers sharing the task's fanout
	for _, fanout := range []int{1, 3, 64, 500} {
		target := int64(min(fanout, runs))
		var cur, peak atomic.Int64
		full := make(chan struct{})
		var once sync.Once
		d := driverFunc(func(ctx context.Context, s worker.Session) (worker.Status, error) {
			c := cur.Add(1)
			defer cur.Add(-1)
			for {
				p := peak.Load()
				if c <= p || peak.CompareAndSwap(p, c) {
					break
				}
			}
			if c >= target {
				once.Do(func() { close(full) })
			}
			s.Started()
			select {
			case <-full:
			case <-time.After(10 * time.Second):
			case <-ctx.Done():
			}
			fmt.Fprintf(s.Stdout(), "%s\n", s.Node())
			return worker.Exited(0), nil
		})
		tk := New(WithFanout(fanout))
		tk.Schedule(NewWorker(d, OnNodes(nodes(300)...)))
		tk.Schedule(NewWorker(d, OnNodes(nodes(100)...)))
		if err := tk.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		if p := peak.Load(); p != target {
			t.Fatalf("fanout %d: peak concurrency %d, want %d", fanout, p, target)
		}
	}
}

func TestFanoutWithProcesses(t *testing.T) {
	// Each process records itself in a directory while it runs and checks
	// how many siblings are running; a count above the fanout is printed.
	dir := t.TempDir()
	tk := execTask(WithFanout(5))
	_, err := tk.Shell(`touch `+dir+`/%h; n=$(ls `+dir+` | wc -l); echo $n; sleep 0.01; rm `+dir+`/%h`,
		OnNodes(nodes(60)...), UseShell(true))
	if err != nil {
		t.Fatal(err)
	}
	if err := tk.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes(60) {
		c, err := strconv.Atoi(strings.TrimSpace(string(tk.NodeBuffer(n))))
		if err != nil || c > 5 || c < 1 {
			t.Fatalf("%s saw %q running (fanout 5)", n, tk.NodeBuffer(n))
		}
	}
}

func TestResults(t *testing.T) {
	tk := execTask()
	w, err := tk.Shell(`case %h in n1|n2|n3) echo same; echo line2;; n4) echo other;; esac; echo e%n >&2; exit %n`,
		OnNodes("n1", "n2", "n3", "n4", "n5"), UseShell(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tk.MaxRetcode(); ok {
		t.Fatal("MaxRetcode before run has a value")
	}
	if err := tk.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := string(tk.NodeBuffer("n2")); got != "same\nline2\n" {
		t.Fatalf("NodeBuffer(n2) = %q", got)
	}
	if got := string(tk.NodeError("n4")); got != "e3\n" {
		t.Fatalf("NodeError(n4) = %q", got)
	}
	if tk.NodeBuffer("n5") != nil {
		t.Fatalf("NodeBuffer(n5) = %q, want nil", tk.NodeBuffer("n5"))
	}
	if rc, ok := tk.NodeRetcode("n3"); !ok || rc != 2 {
		t.Fatalf("NodeRetcode(n3) = %d, %v", rc, ok)
	}
	if rc, ok := tk.MaxRetcode(); !ok || rc != 4 {
		t.Fatalf("MaxRetcode = %d, %v", rc, ok)
	}
	rcs := tk.Retcodes()
	if len(rcs) != 5 || rcs[0].Code != 0 || !slices.Equal(rcs[0].Nodes, []string{"n1"}) || rcs[4].Code != 4 {
		t.Fatalf("Retcodes = %v", rcs)
	}
	var groups []string
	for g := range w.Buffers() {
		groups = append(groups, fmt.Sprintf("%q=%v", g.Bytes(), g.Keys()))
	}
	if want := []string{`"same\nline2\n"=[n1 n2 n3]`, `"other\n"=[n4]`}; !slices.Equal(groups, want) {
		t.Fatalf("Buffers = %v, want %v", groups, want)
	}
	groups = nil
	for g := range tk.Buffers() {
		groups = append(groups, fmt.Sprintf("%q=%v", g.Bytes(), g.Keys()))
	}
	if want := []string{`"same\nline2\n"=[n1 n2 n3]`, `"other\n"=[n4]`}; !slices.Equal(groups, want) {
		t.Fatalf("task Buffers = %v, want %v", groups, want)
	}
	n := 0
	for range tk.Errors() {
		n++
	}
	if n != 5 {
		t.Fatalf("%d error groups, want 5", n)
	}
	if tk.NumTimeout() != 0 || len(tk.TimedOut()) != 0 {
		t.Fatal("timeouts without timeout")
	}
}

func TestLocalCommandKey(t *testing.T) {
	tk := New()
	if _, err := tk.Shell("echo hello", Key("mine")); err != nil {
		t.Fatal(err)
	}
	if _, err := tk.Shell("printf x"); err != nil {
		t.Fatal(err)
	}
	if err := tk.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := string(tk.NodeBuffer("mine")); got != "hello\n" {
		t.Fatalf("NodeBuffer(mine) = %q", got)
	}
	if got := string(tk.NodeBuffer(LocalKey)); got != "x" {
		t.Fatalf("NodeBuffer(local) = %q", got)
	}
}

func TestNoDistantTransport(t *testing.T) {
	tk := New()
	if _, err := tk.Shell("true", OnNodes("n1")); !errors.Is(err, ErrNoTransport) {
		t.Fatalf("Shell on nodes without distant worker: %v", err)
	}
	if _, err := tk.Shell("echo %h", OnNodes("n1"), Remote(false)); err != nil {
		t.Fatalf("Remote(false): %v", err)
	}
	if _, err := tk.Copy("/etc/hosts", "/tmp", OnNodes("n1")); !errors.Is(err, ErrNoTransport) {
		t.Fatalf("Copy: %v", err)
	}
	if _, err := tk.Rcopy("/etc/hosts", "/tmp", OnNodes("n1"), Via(noCopy{})); !errors.Is(err, worker.ErrUnsupported) {
		t.Fatalf("Rcopy via a transport that cannot copy: %v", err)
	}
	if err := tk.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := string(tk.NodeBuffer("n1")); got != "n1\n" {
		t.Fatalf("NodeBuffer = %q", got)
	}
}

// pidAlive reports whether pid is still a running (not zombie) process.
// SIGKILL is delivered asynchronously, so it gives a killed process a
// bounded number of chances to go away.
func pidAlive(pid int) bool {
	for range 500 {
		if !pidRunning(pid) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

func pidRunning(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || !strings.HasPrefix(s[i:], ") Z")
}

// bgPids extracts the "pid N" lines printed by the commands.
func bgPids(t *testing.T, tk *Task, ns []string) []int {
	t.Helper()
	var pids []int
	for _, n := range ns {
		for l := range strings.Lines(string(tk.NodeBuffer(n))) {
			if p, ok := strings.CutPrefix(strings.TrimSpace(l), "pid "); ok {
				pid, err := strconv.Atoi(p)
				if err != nil {
					t.Fatal(err)
				}
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

const spawnAndHang = `sleep 300 & echo pid $!; sleep 300 </dev/null >/dev/null 2>&1 & echo pid $!; wait`

func TestPerWorkerTimeout(t *testing.T) {
	tk := execTask()
	r := &recorder{}
	ns := nodes(4)
	_, err := tk.Shell(`case %h in n1|n3) `+spawnAndHang+`;; *) echo fast;; esac`,
		OnNodes(ns...), UseShell(true), Timeout(5*time.Second), WithHandler(r))
	if err != nil {
		t.Fatal(err)
	}
	if err := tk.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := tk.TimedOut(); !slices.Equal(got, []string{"n1", "n3"}) && !slices.Equal(got, []string{"n3", "n1"}) {
		t.Fatalf("TimedOut = %v", got)
	}
	if tk.NumTimeout() != 2 {
		t.Fatalf("NumTimeout = %d", tk.NumTimeout())
	}
	if got := r.perNode("n1"); got[0] != "pickup" || got[len(got)-1] != "timeout" {
		t.Fatalf("n1 events %q", got)
	}
	if got := r.perNode("n2"); !slices.Equal(got, []string{"pickup", "read fast", "hup 0"}) {
		t.Fatalf("n2 events %q", got)
	}
	if r.log[len(r.log)-1] != "close true" {
		t.Fatalf("last event %q", r.log[len(r.log)-1])
	}
	if _, ok := tk.NodeRetcode("n1"); ok {
		t.Fatal("timed-out node has an exit code")
	}
	pids := bgPids(t, tk, ns)
	if len(pids) != 4 {
		t.Fatalf("background pids %v", pids)
	}
	for _, p := range pids {
		if pidAlive(p) {
			t.Fatalf("child %d survived the timeout", p)
		}
	}
}

func TestMaxRetcodeNoneWhenAllTimedOut(t *testing.T) {
	tk := execTask()
	tk.Shell("sleep 300", OnNodes("a", "b"), Timeout(50*time.Millisecond))
	if err := tk.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if rc, ok := tk.MaxRetcode(); ok {
		t.Fatalf("MaxRetcode = %d, want none", rc)
	}
}

func TestTaskTimeout(t *testing.T) {
	tk := execTask(WithFanout(2))
	ns := nodes(5)
	h := &hupCounter{}
	tk.Shell(spawnAndHang, OnNodes(ns...), UseShell(true), WithHandler(h))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := tk.Run(ctx)
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run = %v, want ErrTimeout", err)
	}
	pids := bgPids(t, tk, ns)
	if len(pids) == 0 {
		t.Fatal("no background pid recorded")
	}
	for _, p := range pids {
		if pidAlive(p) {
			t.Fatalf("child %d survived the task timeout", p)
		}
	}
	if h.hups != 0 {
		t.Fatalf("%d hups after task timeout", h.hups)
	}
	if tk.Running() {
		t.Fatal("still running")
	}
}

type hupCounter struct {
	BaseHandler
	hups, picks int
}

func (h *hupCounter) OnHup(*Worker, string, int) { h.hups++ }
func (h *hupCounter) OnPickup(*Worker, string)   { h.picks++ }

// abortOnRead aborts the task when the first line of output arrives, so at
// least one command has printed its pid before the abort.
type abortOnRead struct {
	hupCounter
	aborted bool
}

func (a *abortOnRead) OnRead(w *Worker, n string, l []byte) {
	if !a.aborted {
		a.aborted = true
		w.Task().Abort()
	}
}

// pidFileCommand writes the shell's pid to dir/<node> and prints it, then
// execs a long sleep in the same process.
func pidFileCommand(dir string) string {
	return `echo $$ >` + dir + `/%h; echo pid $$; exec sleep 300`
}

// assertPidFilesGone reads the pids that pidFileCommand wrote in dir and
// fails unless at least atLeast were written and every one of those processes
// is gone (neither running nor a zombie) within a bounded wait.
func assertPidFilesGone(t *testing.T, dir string, atLeast int) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		b, err := os.ReadFile(dir + "/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			continue // killed between creating the file and writing to it
		}
		n++
		if pidAlive(pid) {
			t.Fatalf("%s: process %d survived the abort", e.Name(), pid)
		}
	}
	if n < atLeast {
		t.Fatalf("%d pids recorded, want at least %d", n, atLeast)
	}
}

func TestAbortFromHandler(t *testing.T) {
	tk := execTask(WithFanout(2))
	h := &abortOnRead{}
	dir := t.TempDir()
	tk.Shell(pidFileCommand(dir), OnNodes(nodes(10)...), UseShell(true), WithHandler(h))
	if err := tk.Run(context.Background()); !errors.Is(err, ErrAborted) {
		t.Fatalf("Run = %v, want ErrAborted", err)
	}
	if h.picks < 1 || h.picks > 2 || h.hups != 0 {
		t.Fatalf("picks %d hups %d after abort", h.picks, h.hups)
	}
	assertPidFilesGone(t, dir, 1)
}

func TestAbortFromOtherGoroutineAndWait(t *testing.T) {
	tk := execTask()
	started := make(chan struct{})
	tk.Shell("sleep 300", OnNodes("a", "b"), WithHandler(&signalPickup{ch: started}))
	errc := make(chan error, 1)
	go func() { errc <- tk.Run(context.Background()) }()
	<-started
	waited := make(chan error, 1)
	go func() { waited <- tk.Wait(context.Background()) }()
	tk.Abort()
	if err := <-errc; !errors.Is(err, ErrAborted) {
		t.Fatalf("Run = %v", err)
	}
	if err := <-waited; err != nil {
		t.Fatalf("Wait = %v", err)
	}
	if err := tk.Join(context.Background()); err != nil {
		t.Fatalf("Join after run = %v", err)
	}
}

type signalPickup struct {
	BaseHandler
	ch   chan struct{}
	once sync.Once
}

func (s *signalPickup) OnPickup(*Worker, string) { s.once.Do(func() { close(s.ch) }) }

func TestShellWhileRunning(t *testing.T) {
	tk := execTask(WithFanout(1))
	var log []string
	h := &chainHandler{log: &log}
	tk.Shell("echo first", OnNodes("a"), WithHandler(h))
	if err := tk.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []string{"a:first", "b:second"}
	if !slices.Equal(log, want) {
		t.Fatalf("log = %v, want %v", log, want)
	}
}

type chainHandler struct {
	BaseHandler
	log *[]string
}

func (c *chainHandler) OnRead(w *Worker, n string, l []byte) {
	*c.log = append(*c.log, n+":"+string(l))
}

func (c *chainHandler) OnClose(w *Worker, _ bool) {
	if w.Nodes()[0] == "a" {
		if _, err := w.Task().Shell("echo second", OnNodes("b"), WithHandler(c)); err != nil {
			panic(err)
		}
	}
}

func TestPostAndPortFromOtherGoroutine(t *testing.T) {
	tk := New()
	var got []any
	port := tk.Port(func(m any) { got = append(got, m) })
	// a timer keeps the task running until the messages arrive
	var tm *Timer
	tm = tk.Timer(time.Hour, TimerFunc(func(*Timer) {}))
	go func() {
		for i := range 3 {
			port.Send(i)
		}
		tk.Post(func() { tm.Invalidate() })
	}()
	if err := tk.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[0 1 2]" {
		t.Fatalf("port got %v", got)
	}
}

func TestTimers(t *testing.T) {
	tk := New()
	var log []string
	// single
	tk.Timer(10*time.Millisecond, TimerFunc(func(*Timer) { log = append(log, "once") }))
	// repeating, stops itself after 3
	reps := 0
	tk.Timer(0, TimerFunc(func(tm *Timer) {
		reps++
		log = append(log, "rep")
		if reps == 3 {
			tm.Invalidate()
		}
	}), Every(5*time.Millisecond))
	// one-shot re-armed twice from its own handler
	rearm := 0
	tk.Timer(0, TimerFunc(func(tm *Timer) {
		rearm++
		log = append(log, "rearm")
		if rearm < 3 {
			tm.SetNextFire(time.Millisecond, 0)
		}
	}))
	// autoclose: would fire much later, must not keep the task alive
	auto := tk.Timer(time.Hour, TimerFunc(func(*Timer) { log = append(log, "auto") }), Autoclose())
	if err := tk.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, e := range log {
		count[e]++
	}
	if count["once"] != 1 || count["rep"] != 3 || count["rearm"] != 3 || count["auto"] != 0 {
		t.Fatalf("timer events %v", count)
	}
	if auto.Valid() {
		t.Fatal("autoclose timer still valid after the run")
	}
}

func TestTimerAloneKeepsTaskRunning(t *testing.T) {
	tk := New()
	fired := false
	tk.Timer(20*time.Millisecond, TimerFunc(func(*Timer) { fired = true }))
	if err := tk.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !fired {
		t.Fatal("Run returned before the timer fired")
	}
}

func TestEmptyTaskReturns(t *testing.T) {
	if err := New().Run(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestParallelTasks(t *testing.T) {
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range 8 {
		wg.Go(func() {
			tk := execTask(WithFanout(4))
			tk.Shell("echo task"+strconv.Itoa(i)+" %h", OnNodes(nodes(20)...))
			if err := tk.Run(context.Background()); err != nil {
				errs[i] = err
				return
			}
			for _, n := range nodes(20) {
				if got, want := string(tk.NodeBuffer(n)), fmt.Sprintf("task%d %s\n", i, n); got != want {
					errs[i] = fmt.Errorf("task %d node %s: %q", i, n, got)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestStdinBroadcastAndWritten(t *testing.T) {
	tk := execTask(WithFanout(2))
	r := &recorder{}
	w, err := tk.Shell("cat", OnNodes(nodes(5)...), Stdin(true), WithHandler(r))
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("hello\n"))
	w.Write([]byte("world"))
	w.CloseWrite()
	if err := tk.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes(5) {
		if got := string(tk.NodeBuffer(n)); got != "hello\nworld" {
			t.Fatalf("%s read %q", n, got)
		}
		written := 0
		for _, e := range r.perNode(n) {
			if s, ok := strings.CutPrefix(e, "written "); ok {
				k, _ := strconv.Atoi(s)
				written += k
			}
		}
		if written != 11 {
			t.Fatalf("%s: written events total %d", n, written)
		}
	}
	if err := w.Write([]byte("late")); err == nil {
		t.Fatal("Write after CloseWrite succeeded")
	}
}

func TestMergedStderr(t *testing.T) {
	tk := execTask()
	tk.Shell("echo a; echo b >&2; echo c", OnNodes("n1"), UseShell(true), MergeStderr(true))
	if err := tk.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := string(tk.NodeBuffer("n1")); got != "a\nb\nc\n" {
		t.Fatalf("merged = %q", got)
	}
	if tk.NodeError("n1") != nil {
		t.Fatal("stderr buffer with merged stderr")
	}
}

func TestDebugPrinterAndInfo(t *testing.T) {
	var lines []string
	tk := execTask(WithDebug(func(_ *Task, l string) { lines = append(lines, l) }))
	if err := tk.SetInfo("USER_x", 42); err != nil {
		t.Fatal(err)
	}
	if v, ok := tk.Info("USER_x"); !ok || v != 42 {
		t.Fatalf("Info = %v %v", v, ok)
	}
	if err := tk.SetInfo(InfoFanout, "many"); !errors.Is(err, ErrInfoType) {
		t.Fatalf("SetInfo(fanout, string) = %v", err)
	}
	if err := tk.SetInfo(InfoCommandTimeout, time.Minute); err != nil || tk.CommandTimeout() != time.Minute {
		t.Fatalf("SetInfo(command_timeout) = %v, %v", err, tk.CommandTimeout())
	}
	tk.SetInfo(InfoCommandTimeout, time.Duration(0))
	if v, _ := tk.Info(InfoFanout); v != DefaultFanout {
		t.Fatalf("Info(fanout) = %v", v)
	}
	if v, _ := tk.Info(InfoDebug); v != true {
		t.Fatalf("Info(debug) = %v", v)
	}
	if _, ok := tk.InfoKeys()[InfoFanout]; ok {
		t.Fatal("InfoKeys lists a built-in setting")
	}
	if tk.Fanout() != DefaultFanout || tk.ConnectTimeout() != DefaultConnectTimeout || tk.CommandTimeout() != 0 {
		t.Fatal("defaults")
	}
	tk.Shell("true", OnNodes("n1"))
	if err := tk.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(lines) == 0 || !strings.Contains(lines[0], "n1") {
		t.Fatalf("debug lines %q", lines)
	}
}

func TestDriverErrorIsExit255(t *testing.T) {
	d := driverFunc(func(ctx context.Context, s worker.Session) (worker.Status, error) {
		return worker.Status{}, errors.New("connection refused")
	})
	tk := New()
	r := &recorder{}
	tk.Schedule(NewWorker(d, OnNodes("n1"), WithHandler(r)))
	if err := tk.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := r.perNode("n1"); !slices.Equal(got, []string{"pickup", "error muster: connection refused", "hup 255"}) {
		t.Fatalf("events %q", got)
	}
	if err := tk.Schedule(NewWorker(d)); err != nil {
		t.Fatal(err)
	}
	w := NewWorker(d)
	tk.Schedule(w)
	if err := tk.Schedule(w); !errors.Is(err, ErrScheduled) {
		t.Fatalf("second Schedule = %v", err)
	}
	tk.Abort() // not running: no-op
}

// TestManyNodesIdenticalOutputMemory: 10,000 nodes printing the same
// 256 KiB output through the engine keep one copy in the results.
func TestManyNodesIdenticalOutputMemory(t *testing.T) {
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 4095)
	chunk = append(chunk, "xxxxxxxxxxxxxxx\n"...) // 64 KiB line
	d := driverFunc(func(ctx context.Context, s worker.Session) (worker.Status, error) {
		s.Started()
		for range 4 {
			s.Stdout().Write(chunk)
		}
		return worker.Exited(0), nil
	})
	tk := New(WithFanout(64))
	w := NewWorker(d, OnNodes(nodes(10000)...))
	tk.Schedule(w)
	if err := tk.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	var ms runtime_MemStats
	readMem(&ms)
	if w.OutputTree().Size() != 4*(len(chunk)-1) {
		t.Fatalf("tree holds %d bytes", w.OutputTree().Size())
	}
	if ms.HeapAlloc > 256<<20 {
		t.Fatalf("heap %d bytes after 10,000 identical outputs of 256 KiB (2.5 GB in total)", ms.HeapAlloc)
	}
	n := 0
	for g := range tk.Buffers() {
		n++
		if len(g.Keys()) != 10000 {
			t.Fatalf("group of %d", len(g.Keys()))
		}
	}
	if n != 1 {
		t.Fatalf("%d groups", n)
	}
}

type closeChecker struct {
	BaseHandler
	got []string
}

func (c *closeChecker) OnClose(w *Worker, _ bool) {
	for _, n := range w.Nodes() {
		rc, _ := w.NodeRetcode(n)
		c.got = append(c.got, fmt.Sprintf("%s=%q/%d", n, w.NodeBuffer(n), rc))
	}
	if rc, ok := w.Task().MaxRetcode(); !ok || rc != 1 {
		c.got = append(c.got, "bad task max rc")
	}
}

func TestResultsInsideClose(t *testing.T) {
	tk := New()
	c := &closeChecker{}
	if _, err := tk.Shell("echo %h; exit %n", OnNodes("a", "b"), UseShell(true), Via(exec.Transport{}), WithHandler(c)); err != nil {
		t.Fatal(err)
	}
	if err := tk.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if want := []string{`a="a\n"/0`, `b="b\n"/1`}; !slices.Equal(c.got, want) {
		t.Fatalf("results in OnClose = %q, want %q", c.got, want)
	}
}

func TestRunTwiceResetsResults(t *testing.T) {
	tk := execTask()
	tk.Shell("echo one", OnNodes("a"))
	if err := tk.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	tk.Shell("echo two", OnNodes("b"))
	if err := tk.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if tk.NodeBuffer("a") != nil || string(tk.NodeBuffer("b")) != "two\n" {
		t.Fatalf("a=%q b=%q", tk.NodeBuffer("a"), tk.NodeBuffer("b"))
	}
}

func TestRunWhileRunning(t *testing.T) {
	tk := New()
	var err2 error
	tk.Timer(0, TimerFunc(func(tm *Timer) { err2 = tk.Run(context.Background()) }))
	if err := tk.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(err2, ErrRunning) {
		t.Fatalf("nested Run = %v", err2)
	}
}

type timerOnStart struct {
	BaseHandler
	fired *bool
}

func (h timerOnStart) OnStart(w *Worker) {
	w.Task().Timer(30*time.Millisecond, TimerFunc(func(*Timer) { *h.fired = true }))
}

func TestTimerAddedByHandlerKeepsTaskRunning(t *testing.T) {
	tk := execTask()
	fired := false
	tk.Shell("true", OnNodes("a"), WithHandler(timerOnStart{fired: &fired}))
	if err := tk.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !fired {
		t.Fatal("timer added in OnStart did not fire before Run returned")
	}
}

func TestTimerRearmedFromOtherGoroutine(t *testing.T) {
	tk := New()
	var fires atomic.Int32
	var tm *Timer
	rearmed := make(chan struct{})
	tm = tk.Timer(0, TimerFunc(func(*Timer) {
		if fires.Add(1) == 1 {
			go func() {
				tm.SetNextFire(time.Millisecond, 0)
				close(rearmed)
			}()
			// keep the task alive until the other goroutine re-armed it
			tk.Timer(time.Hour, TimerFunc(func(*Timer) {}), Autoclose())
			hold := tk.Timer(time.Hour, TimerFunc(func(*Timer) {}))
			go func() { <-rearmed; hold.Invalidate() }()
		}
	}))
	if err := tk.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if fires.Load() != 2 {
		t.Fatalf("timer fired %d times, want 2", fires.Load())
	}
}

func TestShellFromOtherGoroutine(t *testing.T) {
	tk := execTask(WithFanout(2))
	started := make(chan struct{})
	var hold *Timer
	hold = tk.Timer(time.Hour, TimerFunc(func(*Timer) {}))
	tk.Post(func() { close(started) })
	errc := make(chan error, 1)
	go func() { errc <- tk.Run(context.Background()) }()
	<-started
	w, err := tk.Shell("echo late %h", OnNodes("x", "y"))
	if err != nil {
		t.Fatal(err)
	}
	// the worker is queued before the last keep-alive timer goes away
	hold.Invalidate()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if string(w.NodeBuffer("y")) != "late y\n" {
		t.Fatalf("y = %q", w.NodeBuffer("y"))
	}
}

// abortWorkerOnRead aborts its worker when the first line of output
// arrives, so at least one command has printed its pid before the abort.
type abortWorkerOnRead struct {
	recorder
	aborted bool
}

func (a *abortWorkerOnRead) OnRead(w *Worker, n string, l []byte) {
	a.recorder.OnRead(w, n, l)
	if !a.aborted {
		a.aborted = true
		w.Abort()
	}
}

func TestWorkerAbort(t *testing.T) {
	tk := execTask(WithFanout(2))
	a := &abortWorkerOnRead{}
	dir := t.TempDir()
	w, _ := tk.Shell(pidFileCommand(dir), OnNodes(nodes(10)...), UseShell(true), WithHandler(a))
	other := &recorder{}
	tk.Shell("echo still here", OnNodes("z"), WithHandler(other))
	if err := tk.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	hups, closes := 0, 0
	for _, e := range a.log {
		if strings.HasPrefix(e, "hup") || strings.HasPrefix(e, "timeout") {
			hups++
		}
		if strings.HasPrefix(e, "close") {
			closes++
		}
	}
	if hups != 0 || closes != 1 || a.log[len(a.log)-1] != "close false" {
		t.Fatalf("aborted worker events %q", a.log)
	}
	if _, ok := w.MaxRetcode(); ok || w.Finished() != 10 {
		t.Fatalf("aborted worker has exit codes or %d finished", w.Finished())
	}
	if got := other.perNode("z"); !slices.Equal(got, []string{"pickup", "read still here", "hup 0"}) {
		t.Fatalf("other worker events %q", got)
	}
	assertPidFilesGone(t, dir, 1)
}

func TestEmptyAndDuplicateNodes(t *testing.T) {
	tk := execTask()
	r := &recorder{}
	w, err := tk.Shell("echo %h", OnNodeSet(nodeset.NodeSet{}), WithHandler(r))
	if err != nil {
		t.Fatal(err)
	}
	dup, _ := tk.Shell("echo %h", OnNodes("a", "b", "a"))
	if err := tk.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(w.Nodes()) != 0 || !slices.Equal(r.log, []string{"start", "close false"}) {
		t.Fatalf("empty worker: nodes %v events %q", w.Nodes(), r.log)
	}
	if !slices.Equal(dup.Nodes(), []string{"a", "b"}) || string(tk.NodeBuffer("a")) != "a\n" {
		t.Fatalf("duplicates: nodes %v a=%q", dup.Nodes(), tk.NodeBuffer("a"))
	}
}

// noCopy is a transport that cannot copy.
type noCopy struct{ exec.Transport }

func (noCopy) Copy(cp worker.Copy) (worker.Driver, error) {
	return nil, fmt.Errorf("nocopy: %w", worker.ErrUnsupported)
}

func TestCopyAndRcopyThroughExec(t *testing.T) {
	dir := t.TempDir()
	src := dir + "/file"
	os.WriteFile(src, []byte("payload"), 0o600)
	tk := execTask()
	if _, err := tk.Copy(src, dir+"/copy.%h", OnNodes("a", "b")); err != nil {
		t.Fatal(err)
	}
	if err := tk.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if _, err := tk.Rcopy(dir+"/copy.%h", out, OnNodes("a", "b")); err != nil {
		t.Fatal(err)
	}
	if err := tk.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b"} {
		if b, err := os.ReadFile(out + "/copy." + n + "." + n); err != nil || string(b) != "payload" {
			t.Fatalf("%s: %q %v", n, b, err)
		}
	}
}
