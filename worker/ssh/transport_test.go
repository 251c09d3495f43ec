package sshworker

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/muster-sh/muster/task"
)

type countWritten struct {
	task.BaseHandler
	n atomic.Int64
}

func (c *countWritten) OnWritten(_ *task.Worker, _ string, n int) { c.n.Add(int64(n)) }

// The task engine runs commands on 8 test hosts through the native ssh
// transport: outputs apart and gathered, exit codes, signals, a node that
// is down, stdin broadcast, a command timeout, copies.
func TestTaskOverSSH(t *testing.T) {
	cl := cluster(t, 8, 221)
	opts, err := ParseOptions([]string{"-F", cl.SSHConfig, "-o", "IdentityAgent=none"})
	if err != nil {
		t.Fatal(err)
	}
	dc := &dialCounter{}
	opts.DialContext = dc.dial
	tr, err := NewTransport(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	nodes := cl.Names()
	ctx := testCtx(t)

	tk := task.New(task.WithDistant(tr), task.WithFanout(4))
	w, err := tk.Shell(`echo "same out"; echo "err $(expr 1 + 1)" >&2; exit 3`, task.OnNodes(nodes...))
	if err != nil {
		t.Fatal(err)
	}
	if err := tk.Run(ctx); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if rc, ok := w.NodeRetcode(n); !ok || rc != 3 {
			t.Errorf("%s: rc %d %v", n, rc, ok)
		}
		if got := string(w.NodeBuffer(n)); got != "same out\n" && got != "same out" {
			t.Errorf("%s: stdout %q", n, got)
		}
		// (the login shell's own start-up may add lines of its own)
		if got := string(w.NodeError(n)); !strings.Contains(got, "err 2") {
			t.Errorf("%s: stderr %q", n, got)
		}
	}
	groups := 0
	for g := range w.Buffers() {
		groups++
		if len(g.Keys()) != 8 {
			t.Errorf("group %q has %d nodes, want 8", g.Bytes(), len(g.Keys()))
		}
	}
	if groups != 1 {
		t.Errorf("%d output groups, want 1", groups)
	}

	// signals and a node that went down since its connection was pooled
	cl.Hosts[7].Stop()
	tk = task.New(task.WithDistant(tr))
	w, _ = tk.Shell("kill -TERM $$", task.OnNodes(nodes...))
	if err := tk.Run(ctx); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes[:7] {
		st, ok := w.NodeStatus(n)
		if !ok || st.Signal != syscall.SIGTERM || st.Code != 143 {
			t.Errorf("%s: status %v %v, want SIGTERM", n, st, ok)
		}
	}
	if rc, _ := w.NodeRetcode("node8"); rc != 255 {
		t.Errorf("node8 down: rc %d, want 255", rc)
	}
	var ce *ConnectError
	if err := w.NodeErr("node8"); !errors.As(err, &ce) || ce.Kind != KindRefused {
		t.Errorf("node8 down: NodeErr %v, want a refused *ConnectError", err)
	}
	if !strings.Contains(string(w.NodeError("node8")), "refused") {
		t.Errorf("node8 stderr %q does not say refused", w.NodeError("node8"))
	}
	live := nodes[:7]

	// stdin broadcast through the engine
	h := &countWritten{}
	tk = task.New(task.WithDistant(tr))
	w, _ = tk.Shell("cat; echo", task.OnNodes(live...), task.Stdin(true), task.WithHandler(h))
	payload := bytes.Repeat([]byte("0123456789abcdef"), 8192)
	if err := w.Write(payload); err != nil {
		t.Fatal(err)
	}
	w.CloseWrite()
	if err := tk.Run(ctx); err != nil {
		t.Fatal(err)
	}
	for _, n := range live {
		if got := w.NodeBuffer(n); !bytes.HasPrefix(got, payload) {
			t.Errorf("%s: got %d bytes of stdin back, want %d", n, len(got), len(payload))
		}
	}
	if got, want := h.n.Load(), int64(len(payload)*len(live)); got != want {
		t.Errorf("OnWritten total %d, want %d", got, want)
	}

	// merged stderr
	tk = task.New(task.WithDistant(tr))
	w, _ = tk.Shell("echo out; echo err >&2", task.OnNodes(live[0]), task.MergeStderr(true))
	if err := tk.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if got := string(w.NodeBuffer(live[0])); !strings.Contains(got, "out") || !strings.Contains(got, "err") {
		t.Errorf("merged output %q", got)
	}

	// command timeout: the engine cancels, the node is listed as timed out
	tk = task.New(task.WithDistant(tr))
	w, _ = tk.Shell("sleep 60", task.OnNodes(live[:2]...), task.Timeout(300*time.Millisecond))
	if err := tk.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if w.NumTimeout() != 2 {
		t.Errorf("timed out %v, want 2 nodes", w.TimedOut())
	}

	// copy and rcopy through the engine
	src := filepath.Join(t.TempDir(), "payload.txt")
	if err := os.WriteFile(src, []byte("copied\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	remote := t.TempDir()
	tk = task.New(task.WithDistant(tr))
	w, err = tk.Copy(src, remote, task.OnNodes(live[0]))
	if err != nil {
		t.Fatal(err)
	}
	if err := tk.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if rc, _ := w.NodeRetcode(live[0]); rc != 0 || readFile(t, filepath.Join(remote, "payload.txt")) != "copied\n" {
		t.Errorf("copy: rc %d, stderr %q", rc, w.NodeError(live[0]))
	}
	back := t.TempDir()
	tk = task.New(task.WithDistant(tr))
	w, _ = tk.Rcopy(filepath.Join(remote, "payload.txt"), back, task.OnNodes(live...))
	if err := tk.Run(ctx); err != nil {
		t.Fatal(err)
	}
	for _, n := range live {
		if readFile(t, filepath.Join(back, "payload.txt."+n)) != "copied\n" {
			t.Errorf("rcopy from %s", n)
		}
	}
	// a copy failure on a reachable node is exit 1 with the reason on stderr
	tk = task.New(task.WithDistant(tr))
	w, _ = tk.Rcopy("/nonexistent/muster-file", back, task.OnNodes(live[0]))
	if err := tk.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if rc, _ := w.NodeRetcode(live[0]); rc != 1 || !strings.Contains(string(w.NodeError(live[0])), "muster-file") {
		t.Errorf("failed rcopy: rc %d stderr %q", rc, w.NodeError(live[0]))
	}

	// node8: its pooled connection died with the host, one redial was refused
	if n := dc.count(cl.Hosts[7].HostPort()); n != 2 {
		t.Errorf("node8 dialled %d times, want 2", n)
	}
	// all of the above used one connection per live node
	for _, hst := range cl.Hosts[:7] {
		if n := dc.count(hst.HostPort()); n != 1 {
			t.Errorf("%s dialled %d times across 8 task runs, want 1", hst.Name, n)
		}
	}
}
