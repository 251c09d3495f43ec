package pdsh_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/muster-sh/muster/internal/testhosts"
	"github.com/muster-sh/muster/internal/workertest"
	"github.com/muster-sh/muster/task"
	"github.com/muster-sh/muster/worker"
	"github.com/muster-sh/muster/worker/openssh"
	"github.com/muster-sh/muster/worker/pdsh"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParseLine(t *testing.T) {
	cases := []struct {
		in   string
		want pdsh.Line
	}{
		{"node1: hello: world", pdsh.Line{Kind: pdsh.LineNode, Node: "node1", Text: []byte("hello: world")}},
		{"node1: ", pdsh.Line{Kind: pdsh.LineNode, Node: "node1", Text: []byte{}}},
		{"node1:", pdsh.Line{Kind: pdsh.LineNode, Node: "node1", Text: []byte{}}},
		{"node3: ssh: connect to host 127.0.0.3 port 22: Connection refused",
			pdsh.Line{Kind: pdsh.LineNode, Node: "node3", Text: []byte("ssh: connect to host 127.0.0.3 port 22: Connection refused")}},
		{"pdsh@vm: node2: ssh exited with exit code 3", pdsh.Line{Kind: pdsh.LineExit, Node: "node2", Text: []byte("ssh exited with exit code 3"), Code: 3}},
		{"pdcp@vm: node2: ssh exited with exit code 255", pdsh.Line{Kind: pdsh.LineExit, Node: "node2", Text: []byte("ssh exited with exit code 255"), Code: 255}},
		{"rpdcp@vm: n-1.x: exec exited with exit code 1", pdsh.Line{Kind: pdsh.LineExit, Node: "n-1.x", Text: []byte("exec exited with exit code 1"), Code: 1}},
		{"pdsh@vm: b2: echo %h exited with exit code 255", pdsh.Line{Kind: pdsh.LineExit, Node: "b2", Text: []byte("echo %h exited with exit code 255"), Code: 255}},
		{"pdsh@vm: b2: ssh exited with exit code +3", pdsh.Line{Kind: pdsh.LineExit, Node: "b2", Text: []byte("ssh exited with exit code +3"), Code: 3}},
		{"pdsh@vm: b2: ssh exited with exit code -3", pdsh.Line{Kind: pdsh.LineNodeError, Node: "b2", Text: []byte("ssh exited with exit code -3")}},
		{"pdsh@vm: node1: command timeout", pdsh.Line{Kind: pdsh.LineTimeout, Node: "node1", Text: []byte("command timeout")}},
		{"pdcp@vm: node1: fatal: /x not a directory", pdsh.Line{Kind: pdsh.LineNodeError, Node: "node1", Text: []byte("fatal: /x not a directory")}},
		{"pdsh@vm: node1: ssh exited with exit code x", pdsh.Line{Kind: pdsh.LineNodeError, Node: "node1", Text: []byte("ssh exited with exit code x")}},
		{"sending SIGTERM to ssh node1", pdsh.Line{Kind: pdsh.LineSignal, Text: []byte("sending SIGTERM to ssh node1")}},
		{"pdsh@vm: no remote hosts specified", pdsh.Line{Kind: pdsh.LineTool, Text: []byte("pdsh@vm: no remote hosts specified")}},
		{`No such rcmd module "bogus"`, pdsh.Line{Kind: pdsh.LineTool, Text: []byte(`No such rcmd module "bogus"`)}},
		{"", pdsh.Line{Kind: pdsh.LineTool, Text: []byte{}}},
	}
	for _, c := range cases {
		got := pdsh.ParseLine([]byte(c.in))
		if got.Kind != c.want.Kind || got.Node != c.want.Node || got.Code != c.want.Code || !bytes.Equal(got.Text, c.want.Text) {
			t.Errorf("ParseLine(%q) = %+v (%q), want %+v (%q)", c.in, got, got.Text, c.want, c.want.Text)
		}
	}
}

func FuzzParseLine(f *testing.F) {
	for _, s := range []string{"node1: x", "pdsh@h: n: ssh exited with exit code 3", "pdcp@h: n: fatal: y", "sending x", "n:", ": x"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		l := pdsh.ParseLine(b)
		// Text is always the end of the line, and a node name has no blank
		// and never the ": " separator.
		if !bytes.HasSuffix(b, l.Text) {
			t.Fatalf("%q: Text %q is not a suffix", b, l.Text)
		}
		if strings.ContainsAny(l.Node, " \t") || strings.Contains(l.Node, ": ") {
			t.Fatalf("%q: node %q", b, l.Node)
		}
		switch l.Kind {
		case pdsh.LineNode, pdsh.LineExit, pdsh.LineTimeout, pdsh.LineNodeError:
			if l.Node == "" {
				t.Fatalf("%q: kind %d without a node", b, l.Kind)
			}
		default:
			if l.Node != "" || !bytes.Equal(l.Text, b) {
				t.Fatalf("%q: tool line parsed as %+v", b, l)
			}
		}
		if l.Kind == pdsh.LineExit && l.Code < 0 {
			t.Fatalf("%q: negative code", b)
		}
	})
}

func TestArgv(t *testing.T) {
	tr, err := pdsh.New(pdsh.Config{Rcmd: "ssh", Fanout: 16, User: "root", Options: "-S -t 3"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tr.PdshArgv("n1,n2", "uname -r", 10*time.Second), []string{"pdsh", "-b", "-R", "ssh", "-f", "16", "-l", "root", "-t", "10", "-S", "-t", "3", "-w", "n1,n2", "uname -r"}; !slices.Equal(got, want) {
		t.Errorf("PdshArgv:\n got %q\nwant %q", got, want)
	}
	got := tr.PdcpArgv(worker.Copy{Source: "/a", Dest: "/b", Preserve: true}, true, "n1", 1500*time.Millisecond)
	if want := []string{"pdcp", "-b", "-R", "ssh", "-f", "16", "-l", "root", "-t", "2", "-S", "-t", "3", "-w", "n1", "-r", "-p", "/a", "/b"}; !slices.Equal(got, want) {
		t.Errorf("PdcpArgv:\n got %q\nwant %q", got, want)
	}
	got = tr.PdcpArgv(worker.Copy{Source: "/a", Dest: "/b", Reverse: true}, false, "n1", 0)
	if want := []string{"rpdcp", "-b", "-R", "ssh", "-f", "16", "-l", "root", "-S", "-t", "3", "-w", "n1", "-r", "/a", "/b"}; !slices.Equal(got, want) {
		t.Errorf("reverse PdcpArgv:\n got %q\nwant %q", got, want)
	}
	if tr.Name() != "pdsh" {
		t.Errorf("Name %q", tr.Name())
	}
	if _, err := pdsh.New(pdsh.Config{Fanout: -1}); err == nil {
		t.Error("negative fanout accepted")
	}
}

// TestEnvAndTargets runs a pdsh stand-in that records its arguments and
// the PDSH_SSH_* variables, then prints pdsh-style output.
func TestEnvAndTargets(t *testing.T) {
	dir := t.TempDir()
	script := `#!/bin/sh
printf '%s\0' "$@" > ` + dir + `/argv
printf 'args=%s\nappend=%s\n' "$PDSH_SSH_ARGS" "$PDSH_SSH_ARGS_APPEND" > ` + dir + `/env
echo "a: hello"
echo "b: err line" >&2
echo "pdsh@x: b: ssh exited with exit code 4" >&2
echo "zz: not ours"
`
	fake := filepath.Join(dir, "pdsh")
	os.WriteFile(fake, []byte(script), 0o755)
	tr, err := pdsh.New(pdsh.Config{PdshPath: fake, SSHArgs: "-F cfg", SSHOptions: "-oPort=2222 -i key", Env: []string{"PATH=/usr/bin:/bin", "PDSH_SSH_ARGS=old", "PDSH_SSH_ARGS_APPEND=-q"}})
	if err != nil {
		t.Fatal(err)
	}
	d, _ := tr.Command(worker.Command{Line: "x"})
	ss := workertest.SessionsFor([]string{"a", "b", "c"})
	sts, errs := d.(worker.BatchDriver).RunAll(context.Background(), toSessions(ss))
	env, _ := os.ReadFile(filepath.Join(dir, "env"))
	if string(env) != "args=-F cfg\nappend=-q -oPort=2222 -i key -o ConnectTimeout=10 -n\n" {
		t.Errorf("environment:\n%s", env)
	}
	argv, _ := os.ReadFile(filepath.Join(dir, "argv"))
	if want := "-b\x00-t\x0010\x00-w\x00a,b,c\x00x\x00"; string(argv) != want {
		t.Errorf("argv %q, want %q", argv, want)
	}
	if ss[0].Out() != "hello\n" || ss[1].Err() != "err line\n" || ss[2].Out() != "" {
		t.Errorf("demux: %q %q %q", ss[0].Out(), ss[1].Err(), ss[2].Out())
	}
	if sts[0].Code != 0 || sts[1].Code != 4 || sts[2].Code != 0 || errs[0] != nil || errs[1] != nil || errs[2] != nil {
		t.Errorf("statuses %v errors %v", sts, errs)
	}
	for _, s := range ss {
		if s.StartedCalls.Load() != 1 {
			t.Errorf("%s: Started %d times", s.Node(), s.StartedCalls.Load())
		}
	}

	// A long node list goes through a file.
	var names []string
	for i := range 9000 {
		names = append(names, "a-rather-long-node-name-"+strconv.Itoa(i))
	}
	sts, _ = d.(worker.BatchDriver).RunAll(context.Background(), toSessions(workertest.SessionsFor(names)))
	argv, _ = os.ReadFile(filepath.Join(dir, "argv"))
	args := strings.Split(string(argv), "\x00")
	if len(sts) != len(names) || args[3] != "-w" || !strings.HasPrefix(args[4], "^") {
		t.Errorf("long list: argv %q...", args[:5])
	}
	if _, err := os.Stat(strings.TrimPrefix(args[4], "^")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("node list file left behind: %v", err)
	}

	// pdsh failing on its own: every node gets a *ToolError.
	bad, _ := pdsh.New(pdsh.Config{PdshPath: "/bin/sh -c 'echo pdsh@x: unknown module >&2; exit 1' pdsh"})
	d, _ = bad.Command(worker.Command{Line: "x"})
	_, errs = d.(worker.BatchDriver).RunAll(context.Background(), toSessions(workertest.SessionsFor([]string{"a", "b"})))
	var te *pdsh.ToolError
	if !errors.As(errs[0], &te) || te.Code != 1 || !strings.Contains(te.Message, "unknown module") || errs[1] == nil {
		t.Errorf("tool failure: %v", errs)
	}
}

func toSessions(ss []*workertest.Session) []worker.Session {
	out := make([]worker.Session, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// TestLongNodeList runs the real pdsh (exec module: no ssh needed) on a
// node list too long for one argument, which goes through -w ^file, and
// maps every node's exit code back.
func TestLongNodeList(t *testing.T) {
	workertest.NeedTool(t, "pdsh")
	tr, err := pdsh.New(pdsh.Config{Rcmd: "exec", Fanout: 64})
	if err != nil {
		t.Fatal(err)
	}
	d, _ := tr.Command(worker.Command{Line: "false"})
	var names []string
	for i := range 1000 {
		names = append(names, strings.Repeat("n", 60)+"-"+strconv.Itoa(i))
	}
	ss := workertest.SessionsFor(names)
	sts, errs := d.(worker.BatchDriver).RunAll(context.Background(), toSessions(ss))
	for i := range ss {
		if errs[i] != nil || sts[i] != worker.Exited(1) {
			t.Fatalf("%s: %v %v %q", names[i], sts[i], errs[i], ss[i].Err())
		}
	}
}

func TestOnHosts(t *testing.T) {
	workertest.NeedTool(t, "pdsh")
	workertest.NeedTool(t, "ssh")
	c := testhosts.StartT(t, 8, testhosts.Options{FirstAddr: 81})
	tr, err := pdsh.New(pdsh.Config{Rcmd: "ssh", SSHArgs: "-F " + c.SSHConfig})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	names := c.Names()
	run := func(line string, ss []*workertest.Session) ([]worker.Status, []error) {
		t.Helper()
		d, err := tr.Command(worker.Command{Line: line})
		if err != nil {
			t.Fatal(err)
		}
		return d.(worker.BatchDriver).RunAll(ctx, toSessions(ss))
	}

	t.Run("one pdsh for the set: exit codes and streams", func(t *testing.T) {
		ss := workertest.SessionsFor(names)
		sts, errs := run(`echo "out $(echo $SSH_CONNECTION | cut -d' ' -f3)"; echo err >&2; cat; exit $(( $(echo $SSH_CONNECTION | cut -d' ' -f3 | cut -d. -f4) - 80 ))`, ss)
		for i, s := range ss {
			if errs[i] != nil || sts[i] != worker.Exited(i+1) {
				t.Errorf("%s: %v %v, want exit %d", s.Node(), sts[i], errs[i], i+1)
			}
			if want := "out " + c.Hosts[i].Addr + "\n"; s.Out() != want {
				t.Errorf("%s: stdout %q, want %q", s.Node(), s.Out(), want)
			}
			if !strings.HasSuffix(s.Err(), "err\n") || strings.Contains(s.Err(), "out") {
				t.Errorf("%s: stderr %q", s.Node(), s.Err())
			}
		}
	})

	t.Run("remote exit 255 with output and signals", func(t *testing.T) {
		ss := workertest.SessionsFor(names[:3])
		sts, errs := run(`echo x; case $SSH_CONNECTION in *.81\ *) exit 255;; *.82\ *) sh -c 'kill -TERM $$'; exit $?;; *) kill -KILL $$;; esac`, ss)
		if errs[0] != nil || sts[0].Code != 255 {
			t.Errorf("exit 255 after output: %v %v", sts[0], errs[0])
		}
		if errs[1] != nil || sts[1].Code != 143 {
			t.Errorf("child killed by SIGTERM: %v %v, want 143", sts[1], errs[1])
		}
		if errs[2] != nil || sts[2].Code != 255 {
			t.Errorf("remote shell killed: %v %v, want 255", sts[2], errs[2])
		}
	})

	t.Run("merged stderr", func(t *testing.T) {
		ss := workertest.SessionsFor(names[:2])
		for _, s := range ss {
			s.Merged = true
		}
		// pdsh relays the nodes' stdout and stderr on its own two streams:
		// their relative order is not kept.
		_, errs := run(`echo a; echo b >&2`, ss)
		for i, s := range ss {
			if errs[i] != nil || s.Out() != "a\nb\n" && s.Out() != "b\na\n" {
				t.Errorf("%s: %v %q", s.Node(), errs[i], s.Out())
			}
		}
	})

	t.Run("stdin is unsupported, and commands read end of file", func(t *testing.T) {
		ss := workertest.SessionsFor(names[:2])
		in := workertest.NewBroadcast()
		in.Close()
		for _, s := range ss {
			s.Input = in
		}
		_, errs := run(`cat`, ss)
		for i := range ss {
			if !errors.Is(errs[i], pdsh.ErrStdin) || !errors.Is(errs[i], worker.ErrUnsupported) {
				t.Errorf("%s: %v, want ErrStdin", ss[i].Node(), errs[i])
			}
		}
		ss = workertest.SessionsFor(names[:2])
		sts, errs := run(`cat; echo done`, ss)
		for i, s := range ss {
			if errs[i] != nil || sts[i].Code != 0 || s.Out() != "done\n" {
				t.Errorf("%s: %v %v %q", s.Node(), sts[i], errs[i], s.Out())
			}
		}
	})

	t.Run("per-node Run", func(t *testing.T) {
		d, _ := tr.Command(worker.Command{Line: "echo one; exit 2"})
		r := workertest.RunAll(ctx, d, workertest.SessionsFor(names[:2]))
		for _, x := range r {
			if x.Err != nil || x.Status.Code != 2 || x.S.Out() != "one\n" {
				t.Errorf("%s: %v %v %q", x.S.Node(), x.Status, x.Err, x.S.Out())
			}
		}
	})

	t.Run("cancel", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		ss := workertest.SessionsFor(names[:3])
		// sshd leaves a session's processes running when the client goes
		// away: keep the remote sleep just long enough.
		d, _ := tr.Command(worker.Command{Line: `echo ready; case $SSH_CONNECTION in *.81\ *) exit 5;; esac; exec sleep 30`})
		done := make(chan struct{})
		var sts []worker.Status
		var errs []error
		go func() {
			sts, errs = d.(worker.BatchDriver).RunAll(cctx, toSessions(ss))
			close(done)
		}()
		ready := func() bool {
			for _, s := range ss {
				if !strings.Contains(s.Out(), "ready\n") {
					return false
				}
			}
			return true
		}
		deadline := time.After(60 * time.Second)
		for !ready() {
			select {
			case <-done:
				t.Fatalf("ended early: %v", errs)
			case <-deadline:
				cancel()
				<-done
				t.Fatalf("not all nodes \"ready\" within 60s: stdout %q %q %q, errors %v", ss[0].Out(), ss[1].Out(), ss[2].Out(), errs)
			case <-time.After(10 * time.Millisecond):
			}
		}
		// node1 exits 5 on its own, possibly before pdsh is killed: it
		// keeps its status if pdsh reported it, else it gets ctx.Err().
		cancel()
		<-done
		for i := 1; i < 3; i++ {
			if !errors.Is(errs[i], context.Canceled) {
				t.Errorf("%s: %v %v, want context.Canceled", ss[i].Node(), sts[i], errs[i])
			}
		}
		if errs[0] != nil && !errors.Is(errs[0], context.Canceled) || errs[0] == nil && sts[0].Code != 5 {
			t.Errorf("%s: %v %v", ss[0].Node(), sts[0], errs[0])
		}
	})

	t.Run("copy and rcopy file and tree", func(t *testing.T) {
		workertest.NeedTool(t, "pdcp")
		src := t.TempDir()
		os.WriteFile(filepath.Join(src, "f.txt"), []byte("file\n"), 0o640)
		old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
		os.Chtimes(filepath.Join(src, "f.txt"), old, old)
		os.MkdirAll(filepath.Join(src, "sub", "deep"), 0o755)
		big := bytes.Repeat([]byte{0, 1, 2, 255}, 50000)
		os.WriteFile(filepath.Join(src, "sub", "deep", "b"), big, 0o600)
		dst := t.TempDir()
		// The test hosts share this file system: the forward copies of the
		// nodes all land on the same path, with the same content.
		for _, cp := range []worker.Copy{
			{Source: filepath.Join(src, "f.txt"), Dest: filepath.Join(dst, "copy.txt"), Preserve: true},
			{Source: filepath.Join(src, "sub"), Dest: dst},
		} {
			d, err := tr.Copy(cp)
			if err != nil {
				t.Fatal(err)
			}
			ss := workertest.SessionsFor(names)
			sts, errs := d.(worker.BatchDriver).RunAll(ctx, toSessions(ss))
			for i, s := range ss {
				if errs[i] != nil || sts[i].Code != 0 {
					t.Errorf("copy %s to %s: %v %v %q", cp.Source, s.Node(), sts[i], errs[i], s.Err())
				}
			}
		}
		checkFile(t, filepath.Join(dst, "copy.txt"), "file\n")
		if fi, err := os.Stat(filepath.Join(dst, "copy.txt")); err != nil || !fi.ModTime().Equal(old) || fi.Mode().Perm() != 0o640 {
			t.Errorf("pdcp -p did not preserve time and mode: %v %v", fi, err)
		}
		checkFile(t, filepath.Join(dst, "sub", "deep", "b"), string(big))
		rdst := t.TempDir()
		for _, source := range []string{filepath.Join(src, "f.txt"), filepath.Join(src, "sub")} {
			d, err := tr.Copy(worker.Copy{Source: source, Dest: rdst, Reverse: true})
			if err != nil {
				t.Fatal(err)
			}
			ss := workertest.SessionsFor(names)
			sts, errs := d.(worker.BatchDriver).RunAll(ctx, toSessions(ss))
			for i, s := range ss {
				if errs[i] != nil || sts[i].Code != 0 {
					t.Errorf("rcopy %s from %s: %v %v %q", source, s.Node(), sts[i], errs[i], s.Err())
				}
			}
		}
		for _, n := range names {
			checkFile(t, filepath.Join(rdst, "f.txt."+n), "file\n")
			checkFile(t, filepath.Join(rdst, "sub."+n, "deep", "b"), string(big))
		}
	})

	t.Run("through task: one pdsh for the whole set", func(t *testing.T) {
		count := filepath.Join(t.TempDir(), "count")
		tr, err := pdsh.New(pdsh.Config{
			PdshPath: `/bin/sh -c 'echo run >> ` + count + `; exec pdsh "$@"' pdsh`,
			Rcmd:     "ssh", SSHArgs: "-F " + c.SSHConfig,
		})
		if err != nil {
			t.Fatal(err)
		}
		tk := task.New(task.WithDistant(tr), task.WithFanout(2))
		w, err := tk.Shell(`echo "at $(echo $SSH_CONNECTION | cut -d' ' -f3)"; echo e >&2; exit 6`, task.OnNodes(names...))
		if err != nil {
			t.Fatal(err)
		}
		slow, err := tk.Shell("exec sleep 30", task.OnNodes(names[:2]...), task.Timeout(3*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if err := tk.Run(ctx); err != nil {
			t.Fatal(err)
		}
		for i, n := range names {
			if rc, ok := w.NodeRetcode(n); !ok || rc != 6 {
				t.Errorf("%s: rc %d %v err %v", n, rc, ok, w.NodeErr(n))
			}
			if got, want := string(w.NodeBuffer(n)), "at "+c.Hosts[i].Addr+"\n"; got != want {
				t.Errorf("%s: stdout %q, want %q", n, got, want)
			}
			if got := string(w.NodeError(n)); !strings.HasSuffix(got, "e\n") {
				t.Errorf("%s: stderr %q", n, got)
			}
		}
		if got := slow.TimedOut(); len(got) != 2 {
			t.Errorf("timed out %q, want both nodes", got)
		}
		b, _ := os.ReadFile(count)
		if runs := strings.Count(string(b), "run"); runs != 2 {
			t.Errorf("pdsh started %d times for two workers, want 2 (one per worker)", runs)
		}
	})

	t.Run("stopped host is a connection error", func(t *testing.T) {
		c.Hosts[7].Stop()
		ss := workertest.SessionsFor(names)
		sts, errs := run(`echo up`, ss)
		for i := range 7 {
			if errs[i] != nil || sts[i].Code != 0 || ss[i].Out() != "up\n" {
				t.Errorf("%s: %v %v %q", ss[i].Node(), sts[i], errs[i], ss[i].Out())
			}
		}
		var ce *openssh.ConnError
		if !errors.As(errs[7], &ce) || ce.Program != "pdsh" || ce.Kind != openssh.KindRefused || ce.Node != names[7] {
			t.Errorf("stopped host: %v %v (%+v)", sts[7], errs[7], ce)
		}
		if !strings.Contains(ss[7].Err(), "Connection refused") {
			t.Errorf("stderr %q", ss[7].Err())
		}
	})
}

func checkFile(t *testing.T, path, want string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Error(err)
		return
	}
	if string(b) != want {
		t.Errorf("%s: %d bytes, want %d", path, len(b), len(want))
	}
}
