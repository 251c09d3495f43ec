package openssh_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/muster-sh/muster/internal/testhosts"
	"github.com/muster-sh/muster/internal/workertest"
	"github.com/muster-sh/muster/task"
	"github.com/muster-sh/muster/worker"
	"github.com/muster-sh/muster/worker/openssh"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSSHArgv(t *testing.T) {
	home, _ := os.UserHomeDir()
	cases := []struct {
		name  string
		cfg   openssh.Config
		ctout time.Duration
		want  []string
	}{
		{"defaults", openssh.Config{NoConnectProbe: true}, 0,
			[]string{"ssh", "-oForwardAgent=no", "-oForwardX11=no", "-oBatchMode=yes", "n1", "echo $HOME"}},
		{"user options timeout", openssh.Config{NoConnectProbe: true, User: "root", Options: `-F "/etc/my cfg" -i ~/.ssh/k`}, 10 * time.Second,
			[]string{"ssh", "-F", "/etc/my cfg", "-i", filepath.Join(home, ".ssh/k"), "-oForwardAgent=no", "-oForwardX11=no",
				"-l", "root", "-oConnectTimeout=10", "-oBatchMode=yes", "n1", "echo $HOME"}},
		{"sub-second timeout rounds up", openssh.Config{NoConnectProbe: true}, 300 * time.Millisecond,
			[]string{"ssh", "-oForwardAgent=no", "-oForwardX11=no", "-oConnectTimeout=1", "-oBatchMode=yes", "n1", "echo $HOME"}},
		{"multi-word path", openssh.Config{NoConnectProbe: true, SSHPath: "sshpass -p 'a b' ssh", Options: "-oBatchMode=no"}, 0,
			[]string{"sshpass", "-p", "a b", "ssh", "-oBatchMode=no", "-oForwardAgent=no", "-oForwardX11=no", "-oBatchMode=yes", "n1", "echo $HOME"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr, err := openssh.New(c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got := tr.SSHArgv("n1", "echo $HOME", c.ctout); !slices.Equal(got, c.want) {
				t.Errorf("SSHArgv:\n got %q\nwant %q", got, c.want)
			}
		})
	}
	tr, err := openssh.New(openssh.Config{Options: "-oLogLevel=ERROR"})
	if err != nil {
		t.Fatal(err)
	}
	got := tr.SSHArgv("n1", "true", 0)
	i := slices.Index(got, "-oPermitLocalCommand=yes")
	if i < 0 || i+1 >= len(got) || !strings.HasPrefix(got[i+1], "-oLocalCommand=echo MUSTER-CONNECTED-") || got[0] != "ssh" || got[1] != "-oLogLevel=ERROR" {
		t.Errorf("probe options missing or misplaced: %q", got)
	}
	if _, err := openssh.New(openssh.Config{Options: `-o "unterminated`}); !errors.Is(err, openssh.ErrSyntax) {
		t.Errorf("bad quoting: got %v, want ErrSyntax", err)
	}
	if _, err := tr.Command(worker.Command{Line: "  "}); !errors.Is(err, openssh.ErrEmptyCommand) {
		t.Errorf("empty command: got %v, want ErrEmptyCommand", err)
	}
}

func TestSCPArgv(t *testing.T) {
	tr, err := openssh.New(openssh.Config{User: "u", Options: "-F cfg"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		cp    worker.Copy
		isDir bool
		want  []string
	}{
		{"file", worker.Copy{Source: "/a/f", Dest: "/b/"}, false,
			[]string{"scp", "-F", "cfg", "-oConnectTimeout=5", "/a/f", "u@[n2]:/b/"}},
		{"tree preserve", worker.Copy{Source: "/a/d", Dest: "/b", Preserve: true}, true,
			[]string{"scp", "-F", "cfg", "-r", "-p", "-oConnectTimeout=5", "/a/d", "u@[n2]:/b"}},
		{"reverse", worker.Copy{Source: "/etc/hosts", Dest: "/tmp/out", Reverse: true}, false,
			[]string{"scp", "-F", "cfg", "-r", "-oConnectTimeout=5", "u@[n2]:/etc/hosts", "/tmp/out/hosts.n2"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := tr.SCPArgv(c.cp, c.isDir, "n2", 5*time.Second); !slices.Equal(got, c.want) {
				t.Errorf("SCPArgv:\n got %q\nwant %q", got, c.want)
			}
		})
	}
	tr2, _ := openssh.New(openssh.Config{Options: "-F cfg", SCPOptions: "-q", SCPPath: "/opt/scp"})
	if got, want := tr2.SCPArgv(worker.Copy{Source: "s", Dest: "d"}, false, "n", 0), []string{"/opt/scp", "-q", "s", "[n]:d"}; !slices.Equal(got, want) {
		t.Errorf("SCPOptions replace Options: got %q, want %q", got, want)
	}
	if _, err := tr.Copy(worker.Copy{Source: "x", Dest: filepath.Join(t.TempDir(), "missing"), Reverse: true}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("reverse copy to a missing directory: got %v", err)
	}
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o600)
	if _, err := tr.Copy(worker.Copy{Source: "x", Dest: f, Reverse: true}); !errors.Is(err, openssh.ErrNotDir) {
		t.Errorf("reverse copy to a file: got %v, want ErrNotDir", err)
	}
}

// cluster starts n sshd test hosts and an openssh transport using them.
func cluster(t *testing.T, n int, cfg openssh.Config) (*testhosts.Cluster, *openssh.Transport) {
	t.Helper()
	workertest.NeedTool(t, "ssh")
	workertest.NeedTool(t, "scp")
	c := testhosts.StartT(t, n, testhosts.Options{FirstAddr: 61})
	cfg.Options = strings.TrimSpace("-F " + c.SSHConfig + " " + cfg.Options)
	tr, err := openssh.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, tr
}

func command(t *testing.T, tr worker.Transport, line string) worker.Driver {
	t.Helper()
	d, err := tr.Command(worker.Command{Line: line, Shell: true})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestOnHosts(t *testing.T) {
	c, tr := cluster(t, 8, openssh.Config{})
	ctx := context.Background()
	names := c.Names()

	t.Run("exit codes and streams", func(t *testing.T) {
		d := command(t, tr, `echo "out $(echo $SSH_CONNECTION | cut -d' ' -f3)"; echo err >&2; exit 3`)
		for _, r := range workertest.RunAll(ctx, d, workertest.SessionsFor(names)) {
			if r.Err != nil || r.Status != worker.Exited(3) {
				t.Errorf("%s: status %v err %v, want exit 3", r.S.Node(), r.Status, r.Err)
			}
			h := c.Hosts[r.S.Rank()]
			if got, want := r.S.Out(), "out "+h.Addr+"\n"; got != want {
				t.Errorf("%s stdout %q, want %q (the probe marker must not show)", r.S.Node(), got, want)
			}
			// The remote login shell's rc files may add their own noise
			// to stderr on a shared machine; the command's line comes last.
			if got := r.S.Err(); !strings.HasSuffix(got, "err\n") || strings.Contains(got, "out") {
				t.Errorf("%s stderr %q, want it to end with %q", r.S.Node(), got, "err\n")
			}
			if r.S.StartedCalls.Load() != 1 {
				t.Errorf("%s: Started called %d times", r.S.Node(), r.S.StartedCalls.Load())
			}
		}
	})

	t.Run("merged stderr", func(t *testing.T) {
		d := command(t, tr, `echo a; echo b >&2; echo c`)
		ss := workertest.SessionsFor(names[:2])
		for _, s := range ss {
			s.Merged = true
		}
		for _, r := range workertest.RunAll(ctx, d, ss) {
			if r.Err != nil || r.Status.Code != 0 {
				t.Errorf("%s: %v %v", r.S.Node(), r.Status, r.Err)
			}
			// ssh carries the remote stdout and stderr as two streams:
			// their relative order is not kept, each one's own order is.
			got := r.S.Out()
			lines := strings.SplitAfter(got, "\n")
			slices.Sort(lines)
			if strings.Join(lines, "") != "a\nb\nc\n" || strings.Index(got, "a") > strings.Index(got, "c") {
				t.Errorf("%s merged output %q", r.S.Node(), got)
			}
		}
	})

	t.Run("binary output without newline", func(t *testing.T) {
		d := command(t, tr, `printf 'x\000y'`)
		r := workertest.RunAll(ctx, d, workertest.SessionsFor(names[:1]))[0]
		if r.Err != nil || r.S.Out() != "x\x00y" {
			t.Errorf("got %q, %v", r.S.Out(), r.Err)
		}
	})

	t.Run("remote exit 255 is not a connection error", func(t *testing.T) {
		r := workertest.RunAll(ctx, command(t, tr, "exit 255"), workertest.SessionsFor(names[:1]))[0]
		if r.Err != nil || r.Status != worker.Exited(255) {
			t.Errorf("got %v, %v; want exit 255 and no error", r.Status, r.Err)
		}
	})

	t.Run("remote signals", func(t *testing.T) {
		// A child killed by a signal: the remote shell reports 128+N.
		r := workertest.RunAll(ctx, command(t, tr, `sh -c 'kill -TERM $$'; exit $?`), workertest.SessionsFor(names[:1]))[0]
		if r.Err != nil || r.Status != worker.Exited(128+int(syscall.SIGTERM)) {
			t.Errorf("child killed: got %v, %v; want exit 143", r.Status, r.Err)
		}
		// The remote shell itself killed: ssh exits 255 after connecting,
		// which is the command's failure, not a connection error.
		r = workertest.RunAll(ctx, command(t, tr, `kill -KILL $$`), workertest.SessionsFor(names[:1]))[0]
		if r.Err != nil || r.Status != worker.Exited(255) {
			t.Errorf("shell killed: got %v, %v; want exit 255 without error", r.Status, r.Err)
		}
	})

	t.Run("ProxyCommand and ProxyJump", func(t *testing.T) {
		// Sites reach nodes through gateways: everything ssh_config and
		// -o options can express applies, since the real ssh runs.
		for _, opts := range []string{
			"-F " + c.SSHConfig + " '-oProxyCommand=ssh -F " + c.SSHConfig + " -W %h:%p " + names[0] + "'",
			"-F " + c.SSHConfig + " -J " + names[0],
		} {
			ptr, err := openssh.New(openssh.Config{Options: opts})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range workertest.RunAll(ctx, command(t, ptr, `echo "$SSH_CONNECTION" | cut -d' ' -f3`), workertest.SessionsFor(names[1:3])) {
				if want := c.Hosts[r.S.Rank()+1].Addr + "\n"; r.Err != nil || r.Status.Code != 0 || r.S.Out() != want {
					t.Errorf("%s via %s: %v %v %q %q, want %q", r.S.Node(), opts, r.Status, r.Err, r.S.Out(), r.S.Err(), want)
				}
			}
		}
	})

	t.Run("ControlMaster with ControlPersist", func(t *testing.T) {
		// The first run leaves a persistent master behind (it lets go of
		// the output pipes); later runs go through it. The probe's
		// LocalCommand does not run for those, which only matters for an
		// exit code 255 (documented).
		dir, err := os.MkdirTemp("", "cm") // short: socket paths are limited
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) }) // after the master's exit below
		cp := filepath.Join(dir, "%C")
		// The master daemonizes out of the client's process group, so
		// the cancel/kill paths never reach it: keep its idle lifetime
		// short and stop it explicitly, checking that it did stop.
		opts := "-F " + c.SSHConfig + " -oControlMaster=auto -oControlPath=" + cp + " -oControlPersist=5"
		mtr, err := openssh.New(openssh.Config{Options: opts})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			out, err := exec.Command("ssh", "-F", c.SSHConfig, "-oControlPath="+cp, "-O", "exit", names[0]).CombinedOutput()
			if err != nil {
				t.Errorf("stopping the control master: %v %s", err, out)
			}
		})
		for i := range 3 {
			r := workertest.RunAll(ctx, command(t, mtr, "echo $SSH_CONNECTION | cut -d' ' -f3"), workertest.SessionsFor(names[:1]))[0]
			if r.Err != nil || r.Status.Code != 0 || r.S.Out() != c.Hosts[0].Addr+"\n" {
				t.Errorf("run %d: %v %v %q %q", i, r.Status, r.Err, r.S.Out(), r.S.Err())
			}
		}
		if out, err := exec.Command("ssh", "-F", c.SSHConfig, "-oControlPath="+cp, "-O", "check", names[0]).CombinedOutput(); err != nil {
			t.Errorf("no master running: %v %s", err, out)
		}
	})

	t.Run("stdin broadcast", func(t *testing.T) {
		in := workertest.NewBroadcast()
		ss := workertest.SessionsFor(names)
		for _, s := range ss {
			s.Input = in
		}
		done := make(chan []workertest.Result)
		go func() { done <- workertest.RunAll(ctx, command(t, tr, `cat; echo "[$(wc -c </dev/null)]"`), ss) }()
		payload := bytes.Repeat([]byte("0123456789abcdef"), 8192) // 128 KiB, several chunks
		for i := 0; i < len(payload); i += 40000 {
			in.Write(payload[i:min(i+40000, len(payload))])
		}
		in.Close()
		for _, r := range <-done {
			if r.Err != nil || r.Status.Code != 0 {
				t.Errorf("%s: %v %v", r.S.Node(), r.Status, r.Err)
			}
			if got := r.S.Out(); got != string(payload)+"[0]\n" {
				t.Errorf("%s: got %d bytes back, want %d", r.S.Node(), len(got), len(payload)+4)
			}
			if w := r.S.WrittenBytes.Load(); w != int64(len(payload)) {
				t.Errorf("%s: Written reported %d bytes, want %d", r.S.Node(), w, len(payload))
			}
		}
	})

	t.Run("no stdin reads end of file", func(t *testing.T) {
		r := workertest.RunAll(ctx, command(t, tr, `cat; echo done`), workertest.SessionsFor(names[:1]))[0]
		if r.Err != nil || r.S.Out() != "done\n" {
			t.Errorf("got %q %v", r.S.Out(), r.Err)
		}
	})

	t.Run("cancel stops the node", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		s := workertest.NewSession(names[0], 0)
		done := make(chan workertest.Result)
		go func() {
			// sshd leaves a session's processes running when the client
			// goes away: keep the remote sleep just long enough.
			st, err := command(t, tr, `echo ready; exec sleep 30`).Run(cctx, s)
			done <- workertest.Result{S: s, Status: st, Err: err}
		}()
		deadline := time.After(60 * time.Second)
		for !strings.Contains(s.Out(), "ready\n") {
			select {
			case r := <-done:
				t.Fatalf("ended early: %v %v %q", r.Status, r.Err, r.S.Err())
			case <-deadline:
				cancel()
				r := <-done
				t.Fatalf("no \"ready\" within 60s: stdout %q stderr %q (%v %v)", s.Out(), s.Err(), r.Status, r.Err)
			case <-time.After(10 * time.Millisecond):
			}
		}
		cancel()
		r := <-done
		if !errors.Is(r.Err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", r.Err)
		}
	})

	t.Run("copy file and tree", func(t *testing.T) {
		src := t.TempDir()
		writeTree(t, src)
		old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
		os.Chtimes(filepath.Join(src, "f.txt"), old, old)
		// All test hosts share this machine's file system: give each node
		// its own destination by running one driver per node.
		dst := t.TempDir()
		for i, n := range names {
			file, _ := tr.Copy(worker.Copy{Source: filepath.Join(src, "f.txt"), Dest: filepath.Join(dst, n+".txt"), Preserve: true})
			tree, _ := tr.Copy(worker.Copy{Source: src, Dest: filepath.Join(dst, n+".d")})
			for _, d := range []worker.Driver{file, tree} {
				r := workertest.RunAll(ctx, d, []*workertest.Session{workertest.NewSession(n, i)})[0]
				if r.Err != nil || r.Status.Code != 0 {
					t.Fatalf("%s: %v %v %q", n, r.Status, r.Err, r.S.Err())
				}
			}
			checkFile(t, filepath.Join(dst, n+".txt"), "file\n")
			fi, err := os.Stat(filepath.Join(dst, n+".txt"))
			if err != nil || !fi.ModTime().Equal(old) || fi.Mode().Perm() != 0o640 {
				t.Errorf("%s: -p did not preserve time and mode: %v %v", n, fi, err)
			}
			checkTree(t, filepath.Join(dst, n+".d"))
		}
	})

	t.Run("rcopy file and tree", func(t *testing.T) {
		src := t.TempDir()
		writeTree(t, src)
		dst := t.TempDir()
		for _, source := range []string{filepath.Join(src, "f.txt"), src} {
			d, err := tr.Copy(worker.Copy{Source: source, Dest: dst, Reverse: true})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range workertest.RunAll(ctx, d, workertest.SessionsFor(names)) {
				if r.Err != nil || r.Status.Code != 0 {
					t.Errorf("%s: %v %v %q", r.S.Node(), r.Status, r.Err, r.S.Err())
				}
			}
		}
		for _, n := range names {
			checkFile(t, filepath.Join(dst, "f.txt."+n), "file\n")
			checkTree(t, filepath.Join(dst, filepath.Base(src)+"."+n))
		}
	})

	t.Run("copy of a missing remote file", func(t *testing.T) {
		d, _ := tr.Copy(worker.Copy{Source: "/nonexistent/x", Dest: t.TempDir(), Reverse: true})
		r := workertest.RunAll(ctx, d, workertest.SessionsFor(names[:1]))[0]
		if r.Err != nil || r.Status.Code == 0 || !strings.Contains(r.S.Err(), "No such file") {
			t.Errorf("got %v %v %q; want a non-zero exit and scp's message", r.Status, r.Err, r.S.Err())
		}
	})

	t.Run("stopped host is a connection error", func(t *testing.T) {
		c.Hosts[7].Stop()
		res := workertest.RunAll(ctx, command(t, tr, "echo up"), workertest.SessionsFor(names))
		for _, r := range res[:7] {
			if r.Err != nil || r.S.Out() != "up\n" {
				t.Errorf("%s: %v %q", r.S.Node(), r.Err, r.S.Out())
			}
		}
		r := res[7]
		var ce *openssh.ConnError
		if !errors.As(r.Err, &ce) || !errors.Is(r.Err, openssh.ErrConnect) {
			t.Fatalf("stopped host: got %v, %v; want *ConnError", r.Status, r.Err)
		}
		if ce.Node != names[7] || ce.Code != 255 || ce.Kind != openssh.KindRefused || !strings.Contains(ce.Message, "Connection refused") {
			t.Errorf("ConnError = %+v", ce)
		}
		if !strings.Contains(r.S.Err(), "Connection refused") {
			t.Errorf("ssh's message should reach the node's stderr, got %q", r.S.Err())
		}
		// scp to the stopped host fails the same way.
		d, _ := tr.Copy(worker.Copy{Source: "/etc/hostname", Dest: t.TempDir(), Reverse: true})
		r = workertest.RunAll(ctx, d, workertest.SessionsFor(names[7:]))[0]
		if !errors.As(r.Err, &ce) || ce.Program != "scp" {
			t.Errorf("scp to stopped host: %v %v", r.Status, r.Err)
		}
	})

	t.Run("through task", func(t *testing.T) {
		// node8 is stopped by now.
		tk := task.New(task.WithDistant(tr), task.WithFanout(3))
		w, err := tk.Shell(`cat; echo "rank $(echo $SSH_CONNECTION | cut -d' ' -f3)" >&2; exit 4`, task.OnNodes(names...), task.Stdin(true))
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("in\n"))
		w.CloseWrite()
		slow, err := tk.Shell("exec sleep 30", task.OnNodes(names[0]), task.Timeout(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if err := tk.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		for i, n := range names[:7] {
			if rc, ok := w.NodeRetcode(n); !ok || rc != 4 || w.NodeErr(n) != nil {
				t.Errorf("%s: rc %d %v err %v", n, rc, ok, w.NodeErr(n))
			}
			if got := string(w.NodeBuffer(n)); got != "in\n" {
				t.Errorf("%s: stdout %q", n, got)
			}
			if got := string(w.NodeError(n)); !strings.HasSuffix(got, "rank "+c.Hosts[i].Addr+"\n") {
				t.Errorf("%s: stderr %q", n, got)
			}
		}
		var ce *openssh.ConnError
		if rc, _ := w.NodeRetcode(names[7]); rc != 255 || !errors.As(w.NodeErr(names[7]), &ce) {
			t.Errorf("%s: rc %d err %v, want 255 and a *ConnError", names[7], rc, w.NodeErr(names[7]))
		}
		if got := slow.TimedOut(); !slices.Equal(got, names[:1]) {
			t.Errorf("timed out %q, want %q", got, names[:1])
		}
	})
}

// TestUnknownHost checks how a name that does not resolve is reported. A
// fake ssh prints OpenSSH's exact message, so no name is looked up: tests
// send nothing beyond loopback.
func TestUnknownHost(t *testing.T) {
	const msg = "ssh: Could not resolve hostname no-such-host.invalid: Name or service not known"
	fake := filepath.Join(t.TempDir(), "fakessh")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho '"+msg+"' >&2\nexit 255\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tr, err := openssh.New(openssh.Config{SSHPath: fake, Options: "-F /dev/null"})
	if err != nil {
		t.Fatal(err)
	}
	r := workertest.RunAll(context.Background(), command(t, tr, "true"), workertest.SessionsFor([]string{"no-such-host.invalid"}))[0]
	var ce *openssh.ConnError
	if !errors.As(r.Err, &ce) || !errors.Is(r.Err, openssh.ErrConnect) {
		t.Fatalf("got %v, %v; want a *ConnError", r.Status, r.Err)
	}
	if ce.Kind != openssh.KindDNS || ce.Node != "no-such-host.invalid" || ce.Code != 255 || ce.Message != msg {
		t.Errorf("ConnError = %+v; want kind dns, the node, code 255 and ssh's message", ce)
	}
	if got := r.S.Err(); got != msg+"\n" {
		t.Errorf("ssh's message should reach the node's stderr, got %q", got)
	}
}

func TestProbeDisabled(t *testing.T) {
	c, tr := cluster(t, 1, openssh.Config{NoConnectProbe: true})
	r := workertest.RunAll(context.Background(), command(t, tr, "echo x; exit 255"), workertest.SessionsFor(c.Names()))[0]
	// Without the probe, 255 cannot be told apart: it is reported as a
	// connection failure, output intact.
	if !errors.Is(r.Err, openssh.ErrConnect) || r.S.Out() != "x\n" {
		t.Errorf("got %v %q", r.Err, r.S.Out())
	}
}

// TestNoOrphans checks that a cancelled run kills the client's whole
// process group (a ProxyCommand or any child of the client program).
func TestNoOrphans(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	fake := filepath.Join(dir, "fakessh")
	script := fmt.Sprintf("#!/bin/sh\nsleep 300 &\necho $! > %s.tmp && mv %s.tmp %s\necho started\nwait\n", pidFile, pidFile, pidFile)
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	tr, err := openssh.New(openssh.Config{SSHPath: fake})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := workertest.NewSession("n1", 0)
	done := make(chan error)
	go func() { _, err := command(t, tr, "x").Run(ctx, s); done <- err }()
	var pid int
	for i := 0; pid == 0; i++ {
		if b, err := os.ReadFile(pidFile); err == nil {
			fmt.Sscan(string(b), &pid)
		}
		if i > 3000 {
			t.Fatal("fake ssh did not start its child")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	// The child was killed with the group. Until init reaps it, it is a
	// zombie, which counts as gone (kill(pid, 0) would still succeed).
	for i := 0; processRunning(pid); i++ {
		if i > 3000 {
			t.Fatalf("child %d of the client survived the cancel", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// processRunning reports whether pid exists and is not a zombie, from the
// state field of /proc/<pid>/stat (the letter after the parenthesised
// command name, which may itself hold spaces and parentheses).
func processRunning(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || !bytes.HasPrefix(b[i:], []byte(") Z"))
}

func writeTree(t *testing.T, dir string) {
	t.Helper()
	must(t, os.WriteFile(filepath.Join(dir, "f.txt"), []byte("file\n"), 0o640))
	must(t, os.MkdirAll(filepath.Join(dir, "sub", "deep"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "sub", "a"), []byte("alpha\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "sub", "deep", "b"), bytes.Repeat([]byte{0, 1, 2, 255}, 50000), 0o600))
}

func checkTree(t *testing.T, dir string) {
	t.Helper()
	checkFile(t, filepath.Join(dir, "f.txt"), "file\n")
	checkFile(t, filepath.Join(dir, "sub", "a"), "alpha\n")
	checkFile(t, filepath.Join(dir, "sub", "deep", "b"), string(bytes.Repeat([]byte{0, 1, 2, 255}, 50000)))
}

func checkFile(t *testing.T, path, want string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("%v", err)
		return
	}
	if string(b) != want {
		t.Errorf("%s: %d bytes, want %d (%.40q)", path, len(b), len(want), b)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
