package exec

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/muster-sh/muster/worker"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// session is a minimal worker.Session recording what the driver reports.
type session struct {
	node    string
	rank    int
	merged  bool
	input   worker.Input
	mu      sync.Mutex
	out     bytes.Buffer
	err     bytes.Buffer
	started int
	written int
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (s *session) Node() string       { return s.node }
func (s *session) Rank() int          { return s.rank }
func (s *session) Started()           { s.mu.Lock(); s.started++; s.mu.Unlock() }
func (s *session) Stdout() io.Writer  { return lockedWriter{&s.mu, &s.out} }
func (s *session) MergedStderr() bool { return s.merged }
func (s *session) Stderr() io.Writer {
	if s.merged {
		return s.Stdout()
	}
	return lockedWriter{&s.mu, &s.err}
}
func (s *session) Stdin() worker.Input               { return s.input }
func (s *session) Written(n int)                     { s.mu.Lock(); s.written += n; s.mu.Unlock() }
func (s *session) ConnectTimeout() time.Duration     { return 0 }
func (s *session) Debugf(format string, args ...any) {}

func runOne(t *testing.T, cmd worker.Command, s *session) worker.Status {
	t.Helper()
	d, err := Transport{}.Command(cmd)
	if err != nil {
		t.Fatal(err)
	}
	st, err := d.Run(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if s.started != 1 {
		t.Fatalf("Started called %d times", s.started)
	}
	return st
}

func TestSubstitutionNoShell(t *testing.T) {
	s := &session{node: "node 7", rank: 6}
	st := runOne(t, worker.Command{Line: `printf '%%s|%%s|%%s|%%%%\n' %h %{rank} "x%host"`}, s)
	if st.Code != 0 {
		t.Fatalf("status %v", st)
	}
	// no shell: the node name with a space stays one argument
	if got := s.out.String(); got != "node 7|6|xnode 7|%\n" {
		t.Fatalf("stdout %q", got)
	}
}

func TestShellMode(t *testing.T) {
	s := &session{node: "n3", rank: 2}
	st := runOne(t, worker.Command{Line: `echo %h-%n | tr n N; echo oops >&2; exit 7`, Shell: true}, s)
	if st.Code != 7 || st.Signal != 0 {
		t.Fatalf("status %v", st)
	}
	if s.out.String() != "N3-2\n" || s.err.String() != "oops\n" {
		t.Fatalf("out %q err %q", s.out.String(), s.err.String())
	}
}

func TestMergedStderrKeepsOrder(t *testing.T) {
	s := &session{node: "n", merged: true}
	runOne(t, worker.Command{Line: `echo 1; echo 2 >&2; echo 3; echo 4 >&2`, Shell: true}, s)
	if s.out.String() != "1\n2\n3\n4\n" {
		t.Fatalf("merged %q", s.out.String())
	}
}

func TestBinaryAndHugeOutput(t *testing.T) {
	s := &session{node: "n"}
	// every byte value, a 3 MiB line without newline at the end
	runOne(t, worker.Command{Line: `i=0; while [ $i -lt 256 ]; do printf "\\$(printf %%o $i)"; i=$((i+1)); done; head -c 3145728 /dev/zero | tr '\0' x`, Shell: true}, s)
	got := s.out.Bytes()
	if len(got) != 256+3<<20 {
		t.Fatalf("read %d bytes", len(got))
	}
	for i := range 256 {
		if got[i] != byte(i) {
			t.Fatalf("byte %d = %d", i, got[i])
		}
	}
	if bytes.Count(got[256:], []byte("x")) != 3<<20 {
		t.Fatal("huge line corrupted")
	}
}

func TestSignalReported(t *testing.T) {
	s := &session{node: "n"}
	st := runOne(t, worker.Command{Line: `kill -TERM $$`, Shell: true}, s)
	if st.Signal != syscall.SIGTERM || st.Code != 128+15 {
		t.Fatalf("status %v (code %d)", st, st.Code)
	}
}

func TestCommandNotFound(t *testing.T) {
	s := &session{node: "n"}
	st := runOne(t, worker.Command{Line: `/nonexistent/prog arg`}, s)
	if st.Code != 127 || !strings.Contains(s.err.String(), "/nonexistent/prog") {
		t.Fatalf("status %v stderr %q", st, s.err.String())
	}
}

type chunks struct {
	mu   sync.Mutex
	data [][]byte
}

func (c *chunks) Next(ctx context.Context) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.data) == 0 {
		return nil, io.EOF
	}
	d := c.data[0]
	c.data = c.data[1:]
	return d, nil
}

func TestStdin(t *testing.T) {
	s := &session{node: "n", input: &chunks{data: [][]byte{[]byte("abc\n"), []byte("def")}}}
	runOne(t, worker.Command{Line: "cat"}, s)
	if s.out.String() != "abc\ndef" || s.written != 7 {
		t.Fatalf("out %q written %d", s.out.String(), s.written)
	}
	// without input, stdin is at end of file at once
	s = &session{node: "n"}
	runOne(t, worker.Command{Line: "cat"}, s)
	if s.out.Len() != 0 {
		t.Fatalf("out %q", s.out.String())
	}
}

func TestCancelKillsProcessGroup(t *testing.T) {
	d, err := Transport{}.Command(worker.Command{Line: `sleep 300 & echo started; wait`, Shell: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &session{node: "n"}
	done := make(chan worker.Status)
	go func() {
		st, _ := d.Run(ctx, s)
		done <- st
	}()
	for range 1000 {
		s.mu.Lock()
		ok := strings.Contains(s.out.String(), "started")
		s.mu.Unlock()
		if ok {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	// Run returning proves the background sleep (which holds stdout) died.
	st := <-done
	if st.Signal != syscall.SIGKILL {
		t.Fatalf("status %v", st)
	}
}

func TestCommandErrors(t *testing.T) {
	var pe *PatternError
	if _, err := (Transport{}).Command(worker.Command{Line: "echo 50%"}); !errors.As(err, &pe) || pe.Col != 8 || pe.Line != 1 {
		t.Fatalf("err %v", err)
	}
	if _, err := (Transport{}).Command(worker.Command{Line: "echo %hostname", Shell: true}); !errors.As(err, &pe) || pe.Name != "hostname" {
		t.Fatalf("err %v", err)
	}
	if _, err := (Transport{}).Command(worker.Command{Line: "echo 'x"}); !errors.Is(err, ErrSyntax) {
		t.Fatalf("err %v", err)
	}
	if _, err := (Transport{}).Command(worker.Command{Line: "  "}); !errors.Is(err, ErrSyntax) {
		t.Fatalf("err %v", err)
	}
	if _, err := (Transport{}).Copy(worker.Copy{Source: "a", Dest: "/nonexistent", Reverse: true}); err == nil {
		t.Fatal("reverse copy to a missing directory accepted")
	}
	if _, err := (Transport{}).Copy(worker.Copy{Source: "a%", Dest: "b"}); !errors.As(err, &pe) {
		t.Fatalf("err %v", err)
	}
}

func TestExpand(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain", "plain"},
		{"%h %host %hosts %n %rank", "n1 n1 n1 4 4"},
		{"%{h}x%{n}y", "n1x4y"},
		{"100%%", "100%"},
		{"%h.%n", "n1.4"},
		{"a\nb %h", "a\nb n1"},
	} {
		got, err := Expand(c.in, "n1", 4)
		if err != nil || got != c.want {
			t.Errorf("Expand(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, c := range []struct {
		in        string
		line, col int
	}{{"%", 1, 1}, {"x\nab%5", 2, 3}, {"%{h", 1, 1}, {"% h", 1, 1}} {
		var pe *PatternError
		if _, err := Expand(c.in, "n", 0); !errors.As(err, &pe) || pe.Line != c.line || pe.Col != c.col {
			t.Errorf("Expand(%q): %v, want line %d col %d", c.in, err, c.line, c.col)
		}
	}
}

func TestSplit(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"a b\tc", []string{"a", "b", "c"}},
		{`'a b' "c d" e\ f`, []string{"a b", "c d", "e f"}},
		{`"a\"b\\c\d" 'x\y'`, []string{`a"b\c\d`, `x\y`}},
		{`x''y ""`, []string{"xy", ""}},
		{"a\\\nb", []string{"ab"}},
		{"", nil},
	} {
		got, err := Split(c.in)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("Split(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{`'a`, `"a`, `a\`} {
		if _, err := Split(in); !errors.Is(err, ErrSyntax) {
			t.Errorf("Split(%q) err %v", in, err)
		}
	}
}

func TestHostsRunsOnceForAllNodes(t *testing.T) {
	d, err := Transport{}.Command(worker.Command{Line: "echo %hosts %n; exit 3", Shell: true})
	if err != nil {
		t.Fatal(err)
	}
	bd, ok := d.(worker.BatchDriver)
	if !ok {
		t.Fatalf("%T is not a BatchDriver", d)
	}
	ss := []*session{{node: "n1"}, {node: "n2", rank: 1}, {node: "n3", rank: 2}}
	sessions := []worker.Session{ss[0], ss[1], ss[2]}
	sts, errs := bd.RunAll(context.Background(), sessions)
	for i, s := range ss {
		if sts[i].Code != 3 || errs[i] != nil || s.out.String() != "n[1-3] 0\n" || s.started != 1 {
			t.Fatalf("node %d: status %v err %v out %q started %d", i, sts[i], errs[i], s.out.String(), s.started)
		}
	}
}

func TestCopy(t *testing.T) {
	dir := t.TempDir()
	src := dir + "/src"
	if err := os.WriteFile(src, []byte("data"), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := Transport{}.Copy(worker.Copy{Source: src, Dest: dir + "/to-%h"})
	if err != nil {
		t.Fatal(err)
	}
	s := &session{node: "n1"}
	if st, err := d.Run(context.Background(), s); err != nil || st.Code != 0 {
		t.Fatalf("copy: %v %v %q", st, err, s.err.String())
	}
	if b, _ := os.ReadFile(dir + "/to-n1"); string(b) != "data" {
		t.Fatalf("copied %q", b)
	}
	// reverse: the "node's" file lands as DEST/<base>.<node>
	out := t.TempDir()
	d, err = Transport{}.Copy(worker.Copy{Source: dir + "/to-%h", Dest: out, Reverse: true})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := d.Run(context.Background(), &session{node: "n1"}); err != nil || st.Code != 0 {
		t.Fatalf("rcopy: %v %v", st, err)
	}
	if b, _ := os.ReadFile(out + "/to-n1.n1"); string(b) != "data" {
		t.Fatalf("rcopied %q", b)
	}
	// a directory is copied recursively
	if err := os.Mkdir(dir+"/tree", 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(dir+"/tree/f", []byte("x"), 0o600)
	d, _ = Transport{}.Copy(worker.Copy{Source: dir + "/tree", Dest: dir + "/tree-%n", Preserve: true})
	if st, err := d.Run(context.Background(), &session{node: "n", rank: 4}); err != nil || st.Code != 0 {
		t.Fatalf("copy -r: %v %v", st, err)
	}
	if b, _ := os.ReadFile(dir + "/tree-4/f"); string(b) != "x" {
		t.Fatalf("copied tree file %q", b)
	}
}
