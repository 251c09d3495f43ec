package rsh_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/muster-sh/muster/internal/workertest"
	"github.com/muster-sh/muster/task"
	"github.com/muster-sh/muster/worker"
	"github.com/muster-sh/muster/worker/openssh"
	"github.com/muster-sh/muster/worker/rsh"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeRsh writes an rsh stand-in into dir: it records its arguments
// (NUL-separated) in dir/argv.<host>, then runs the command locally with
// sh, as rshd would run it with the user's shell. Hosts named down* are
// refused. It also writes an rcp stand-in that records its arguments and
// copies with cp after removing the "[user@]host:" prefixes.
func fakeRsh(t *testing.T) (dir string) {
	t.Helper()
	dir = t.TempDir()
	rshScript := `#!/bin/sh
dir=` + dir + `
printf '%s\0' "$@" > "$dir/argv.tmp.$$"
while [ $# -gt 0 ]; do
	case "$1" in
	-l) shift 2 ;;
	-*) shift ;;
	*) break ;;
	esac
done
host=$1; shift
mv "$dir/argv.tmp.$$" "$dir/argv.$host"
case "$host" in
down*) echo "connect to address 127.0.0.1 port 544: Connection refused" >&2; echo "Trying krb4 rlogin..." >&2; exit 1 ;;
esac
# Like BSD rsh: the remote command's exit status is not carried.
sh -c "$*"
exit 0
`
	rcpScript := `#!/bin/sh
dir=` + dir + `
printf '%s\0' "$@" > "$dir/rcp.tmp.$$"
opts=
while [ $# -gt 2 ]; do opts="$opts $1"; shift; done
src=$1 dst=$2
case "$src$dst" in
*down*) echo "down: Connection refused" >&2; exit 1 ;;
esac
host=$(printf '%s\n%s\n' "$src" "$dst" | grep : | sed 's/:.*//; s/.*@//')
mv "$dir/rcp.tmp.$$" "$dir/rcp.$host"
exec cp $opts "${src#*:}" "${dst#*:}"
`
	if err := os.WriteFile(filepath.Join(dir, "rsh"), []byte(rshScript), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rcp"), []byte(rcpScript), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func argvOf(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
}

func newTransport(t *testing.T, dir string, cfg rsh.Config) *rsh.Transport {
	t.Helper()
	cfg.RshPath = filepath.Join(dir, "rsh")
	cfg.RcpPath = filepath.Join(dir, "rcp")
	tr, err := rsh.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func command(t *testing.T, tr worker.Transport, line string) worker.Driver {
	t.Helper()
	d, err := tr.Command(worker.Command{Line: line, Shell: true})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestArgv(t *testing.T) {
	tr, err := rsh.New(rsh.Config{RshPath: "mrsh", User: "root", Options: `-x "-o a"`})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"mrsh", "-l", "root", "-x", "-o a", "n1", "uname -r", "; echo XXRETCODE: $?"}
	if got := tr.RshArgv("n1", "uname -r"); !slices.Equal(got, want) {
		t.Errorf("RshArgv:\n got %q\nwant %q", got, want)
	}
	got := tr.RcpArgv(worker.Copy{Source: "/a", Dest: "/b", Preserve: true}, true, "n1")
	if want := []string{"rcp", "-r", "-p", "-x", "-o a", "/a", "root@n1:/b"}; !slices.Equal(got, want) {
		t.Errorf("RcpArgv:\n got %q\nwant %q", got, want)
	}
	got = tr.RcpArgv(worker.Copy{Source: "/etc/hosts", Dest: "/out", Reverse: true}, false, "n1")
	if want := []string{"rcp", "-r", "-x", "-o a", "root@n1:/etc/hosts", "/out/hosts.n1"}; !slices.Equal(got, want) {
		t.Errorf("reverse RcpArgv:\n got %q\nwant %q", got, want)
	}
	if _, err := rsh.New(rsh.Config{Options: "'x"}); !errors.Is(err, openssh.ErrSyntax) {
		t.Errorf("bad quoting: %v", err)
	}
	if tr.Name() != "rsh" {
		t.Errorf("Name %q", tr.Name())
	}
}

func TestCommands(t *testing.T) {
	dir := fakeRsh(t)
	tr := newTransport(t, dir, rsh.Config{User: "admin", Options: "-n"})
	ctx := context.Background()
	names := []string{"n1", "n2", "n3", "n4"}

	t.Run("argv, exit status and streams", func(t *testing.T) {
		for _, r := range workertest.RunAll(ctx, command(t, tr, `echo out $0; echo err >&2; sh -c 'exit 7'`), workertest.SessionsFor(names)) {
			if r.Err != nil || r.Status != worker.Exited(7) {
				t.Errorf("%s: %v %v, want exit 7 (from the status line; rsh exited 0)", r.S.Node(), r.Status, r.Err)
			}
			if r.S.Out() != "out sh\n" || r.S.Err() != "err\n" {
				t.Errorf("%s: stdout %q stderr %q", r.S.Node(), r.S.Out(), r.S.Err())
			}
			want := []string{"-l", "admin", "-n", r.S.Node(), "echo out $0; echo err >&2; sh -c 'exit 7'", "; echo XXRETCODE: $?"}
			if got := argvOf(t, filepath.Join(dir, "argv."+r.S.Node())); !slices.Equal(got, want) {
				t.Errorf("%s: rsh got %q, want %q", r.S.Node(), got, want)
			}
		}
	})

	t.Run("output without newline and look-alike lines", func(t *testing.T) {
		line := `printf 'XXRETCODE: 9\nXXRETCODE: x\n'; printf 'tail'`
		r := workertest.RunAll(ctx, command(t, tr, line), workertest.SessionsFor(names[:1]))[0]
		if r.Err != nil || r.Status.Code != 0 || r.S.Out() != "XXRETCODE: 9\nXXRETCODE: x\ntail" {
			t.Errorf("got %v %v %q", r.Status, r.Err, r.S.Out())
		}
	})

	t.Run("merged stderr", func(t *testing.T) {
		s := workertest.SessionsFor(names[:1])[0]
		s.Merged = true
		r := workertest.RunAll(ctx, command(t, tr, `echo a >&2; false`), []*workertest.Session{s})[0]
		if r.Err != nil || r.Status.Code != 1 || r.S.Out() != "a\n" {
			t.Errorf("got %v %v %q", r.Status, r.Err, r.S.Out())
		}
	})

	t.Run("command ending the remote shell", func(t *testing.T) {
		// The status line is never printed and rsh exits 0: the status
		// is rsh's own (documented limit, as in ClusterShell).
		r := workertest.RunAll(ctx, command(t, tr, `echo x; exit 7`), workertest.SessionsFor(names[:1]))[0]
		if r.Err != nil || r.Status.Code != 0 || r.S.Out() != "x\n" {
			t.Errorf("got %v %v %q", r.Status, r.Err, r.S.Out())
		}
	})

	t.Run("signal", func(t *testing.T) {
		r := workertest.RunAll(ctx, command(t, tr, `sh -c 'kill -INT $$'`), workertest.SessionsFor(names[:1]))[0]
		if r.Err != nil || r.Status.Code != 130 {
			t.Errorf("got %v %v, want 130", r.Status, r.Err)
		}
	})

	t.Run("stdin broadcast", func(t *testing.T) {
		in := workertest.NewBroadcast()
		ss := workertest.SessionsFor(names)
		for _, s := range ss {
			s.Input = in
		}
		done := make(chan []workertest.Result)
		go func() { done <- workertest.RunAll(ctx, command(t, tr, `tr a-z A-Z`), ss) }()
		in.Write([]byte("hello "))
		in.Write([]byte("world\n"))
		in.Close()
		for _, r := range <-done {
			if r.Err != nil || r.S.Out() != "HELLO WORLD\n" || r.S.WrittenBytes.Load() != 12 {
				t.Errorf("%s: %v %q written %d", r.S.Node(), r.Err, r.S.Out(), r.S.WrittenBytes.Load())
			}
		}
	})

	t.Run("unreachable node", func(t *testing.T) {
		r := workertest.RunAll(ctx, command(t, tr, `true`), workertest.SessionsFor([]string{"down1"}))[0]
		var ce *openssh.ConnError
		if !errors.As(r.Err, &ce) || ce.Program != "rsh" || ce.Code != 1 || ce.Kind != openssh.KindRefused || !strings.Contains(ce.Message, "refused") {
			t.Errorf("got %v %v (%+v), want a refused *ConnError", r.Status, r.Err, ce)
		}
		if !strings.Contains(r.S.Err(), "Connection refused") {
			t.Errorf("stderr %q", r.S.Err())
		}
	})

	t.Run("program missing", func(t *testing.T) {
		tr, _ := rsh.New(rsh.Config{RshPath: filepath.Join(dir, "nope")})
		r := workertest.RunAll(ctx, command(t, tr, `true`), workertest.SessionsFor(names[:1]))[0]
		if !errors.Is(r.Err, openssh.ErrStart) {
			t.Errorf("got %v, want ErrStart", r.Err)
		}
	})
}

func TestThroughTask(t *testing.T) {
	dir := fakeRsh(t)
	tr := newTransport(t, dir, rsh.Config{})
	tk := task.New(task.WithDistant(tr))
	w, err := tk.Shell(`echo hi; sh -c 'exit 5'`, task.OnNodes("n1", "n2", "down3"))
	if err != nil {
		t.Fatal(err)
	}
	if err := tk.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"n1", "n2"} {
		if rc, ok := w.NodeRetcode(n); !ok || rc != 5 || string(w.NodeBuffer(n)) != "hi\n" {
			t.Errorf("%s: rc %d %v out %q", n, rc, ok, w.NodeBuffer(n))
		}
	}
	if rc, _ := w.NodeRetcode("down3"); rc != 255 || !errors.Is(w.NodeErr("down3"), openssh.ErrConnect) {
		t.Errorf("down3: rc %d err %v", rc, w.NodeErr("down3"))
	}
}

func TestCopy(t *testing.T) {
	dir := fakeRsh(t)
	tr := newTransport(t, dir, rsh.Config{})
	ctx := context.Background()
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "f"), []byte("file\n"), 0o644)
	os.MkdirAll(filepath.Join(src, "d", "e"), 0o755)
	os.WriteFile(filepath.Join(src, "d", "e", "g"), bytes.Repeat([]byte("g"), 100000), 0o644)
	dst := t.TempDir()

	d, err := tr.Copy(worker.Copy{Source: filepath.Join(src, "d"), Dest: filepath.Join(dst, "tree"), Preserve: true})
	if err != nil {
		t.Fatal(err)
	}
	r := workertest.RunAll(ctx, d, workertest.SessionsFor([]string{"n1"}))[0]
	if r.Err != nil || r.Status.Code != 0 {
		t.Fatalf("copy: %v %v %q", r.Status, r.Err, r.S.Err())
	}
	if got, want := argvOf(t, filepath.Join(dir, "rcp.n1")), []string{"-r", "-p", filepath.Join(src, "d"), "n1:" + filepath.Join(dst, "tree")}; !slices.Equal(got, want) {
		t.Errorf("rcp got %q, want %q", got, want)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "tree", "e", "g")); !bytes.Equal(b, bytes.Repeat([]byte("g"), 100000)) {
		t.Errorf("tree copy: %d bytes", len(b))
	}

	d, err = tr.Copy(worker.Copy{Source: filepath.Join(src, "f"), Dest: dst, Reverse: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range workertest.RunAll(ctx, d, workertest.SessionsFor([]string{"n1", "n2", "n3"})) {
		if r.Err != nil || r.Status.Code != 0 {
			t.Errorf("rcopy %s: %v %v %q", r.S.Node(), r.Status, r.Err, r.S.Err())
		}
		if b, _ := os.ReadFile(filepath.Join(dst, "f."+r.S.Node())); string(b) != "file\n" {
			t.Errorf("rcopy %s: got %q", r.S.Node(), b)
		}
	}
	r = workertest.RunAll(ctx, d, workertest.SessionsFor([]string{"down2"}))[0]
	if !errors.Is(r.Err, openssh.ErrConnect) {
		t.Errorf("rcp to a down node: %v %v", r.Status, r.Err)
	}
	if _, err := tr.Copy(worker.Copy{Source: "x", Dest: filepath.Join(src, "f"), Reverse: true}); !errors.Is(err, openssh.ErrNotDir) {
		t.Errorf("reverse copy into a file: %v", err)
	}
}

var statusLine = regexp.MustCompile(`^XXRETCODE: ([0-9]+)\n$`)

func FuzzRetcodeFilter(f *testing.F) {
	f.Add([]byte("hello\n"), 3, uint8(1))
	f.Add([]byte("XXRETCODE: 1"), 0, uint8(4))
	f.Add([]byte(""), 255, uint8(0))
	f.Add([]byte("no newline XXRETC"), 12, uint8(7))
	f.Fuzz(func(t *testing.T, data []byte, code int, step uint8) {
		if code < 0 {
			code = -code
		}
		code %= 1 << 20
		stream := append(append([]byte{}, data...), fmt.Sprintf("XXRETCODE: %d\n", code)...)
		var out bytes.Buffer
		fl := &rsh.RetcodeFilter{W: &out}
		n := int(step)%13 + 1
		for i := 0; i < len(stream); i += n {
			fl.Write(stream[i:min(i+n, len(stream))])
		}
		got, ok := fl.Close()
		if !ok || got != code || !bytes.Equal(out.Bytes(), data) {
			t.Fatalf("data %q code %d: got %q, %d, %v", data, code, out.Bytes(), got, ok)
		}
		// Without a status line the stream passes unchanged.
		out.Reset()
		fl = &rsh.RetcodeFilter{W: &out}
		for i := 0; i < len(data); i += n {
			fl.Write(data[i:min(i+n, len(data))])
		}
		if c, ok := fl.Close(); ok {
			tail, found := bytes.CutPrefix(data, out.Bytes())
			m := statusLine.FindSubmatch(tail)
			if !found || m == nil || strconv.Itoa(c) != strings.TrimLeft(string(m[1]), "0") && c != 0 {
				t.Fatalf("data %q: found status %d, output %q", data, c, out.Bytes())
			}
		} else if !bytes.Equal(out.Bytes(), data) {
			t.Fatalf("data %q changed to %q", data, out.Bytes())
		}
	})
}
