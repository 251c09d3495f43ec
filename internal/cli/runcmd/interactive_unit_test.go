package runcmd

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/muster-sh/muster/internal/cli"
)

// runTTY runs with stdin taken for a terminal: interactive mode when no
// command is given (lines come from stdin, not a tty device).
func runTTY(t *testing.T, prog, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	rc := run(context.Background(), prog, args, cli.Stdio{In: strings.NewReader(stdin), Out: &out, Err: &errb, InIsTerminal: true})
	return out.String(), errb.String(), rc
}

func TestInteractiveCommands(t *testing.T) {
	in := "?\n+n4\n-n1\necho %h\n\n=\necho x\n!echo loc %h\n+[x\n@m1\nquit\necho never\n"
	out, errs, rc := runTTY(t, "clush", in, "-R", "exec", "-f", "1", "-w", "n[1-3]")
	want := "Enter 'quit' to leave this interactive mode\n" +
		"Working with nodes: n[1-3]\n" +
		"clush> Working with nodes: n[1-3]\n" +
		"clush> Working with nodes: n[1-4]\n" +
		"clush> Working with nodes: n[2-4]\n" +
		"clush> n2: n2\nn3: n3\nn4: n4\n" +
		"clush> clush> Switching to gathered output format\n" +
		"clush> ---------------\nn[2-4] (3)\n---------------\nx\n" +
		"clush> LOCAL: loc %h\n" +
		"clush> Working with nodes: n[2-4]\n" +
		"clush> Working with nodes: m1\n" +
		"clush> "
	if rc != 0 || out != want || errs != "clush: nodeset parse error (ignoring)\n" {
		t.Fatalf("rc %d\nstdout %q\nwant   %q\nstderr %q", rc, out, want, errs)
	}
	hist, err := os.ReadFile(filepath.Join(os.Getenv("HOME"), ".clush_history"))
	if err != nil || !strings.HasSuffix(string(hist), "+[x\n@m1\nquit\n") {
		t.Fatalf("history %q %v", hist, err)
	}
}

// TestInteractiveNodeCase: under the name clush, node sets typed at the
// prompt are lowercased (clush parses the lowercased line: this is what
// clush 1.9.1 shows for the same input); as muster run they keep their
// case.
func TestInteractiveNodeCase(t *testing.T) {
	in := "+N2\n-N1\n@Web[1-2]\n"
	out, _, _ := runTTY(t, "clush", in, "-q", "-R", "exec", "-w", "n1,N1")
	want := "Working with nodes: N1,n1\n" +
		"clush> Working with nodes: N1,n[1-2]\n" +
		"clush> Working with nodes: N1,n2\n" +
		"clush> Working with nodes: web[1-2]\n" +
		"clush> \n"
	if out != want {
		t.Fatalf("clush: out %q\nwant       %q", out, want)
	}
	out, _, _ = runTTY(t, "muster run", in, "-q", "-R", "exec", "-w", "n1,N1")
	want = "Working with nodes: N1,n1\n" +
		"muster> Working with nodes: N[1-2],n1\n" +
		"muster> Working with nodes: N2,n1\n" +
		"muster> Working with nodes: Web[1-2]\n" +
		"muster> \n"
	if out != want {
		t.Fatalf("muster run: out %q\nwant            %q", out, want)
	}
}

func TestInteractiveEOFAndExitCode(t *testing.T) {
	// Ctrl-D (end of input) leaves with a newline; -S: the last command's code
	out, _, rc := runTTY(t, "muster run", "exit 3\n", "-q", "-S", "-R", "exec", "-w", "n1")
	if rc != 3 || out != "Working with nodes: n1\nmuster> muster> \n" {
		t.Fatalf("rc %d out %q", rc, out)
	}
	// muster's history file is under XDG_STATE_HOME
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	runTTY(t, "muster run", "echo hi\n", "-q", "-R", "exec", "-w", "n1")
	hist, err := os.ReadFile(filepath.Join(os.Getenv("XDG_STATE_HOME"), "muster", "history"))
	if err != nil || string(hist) != "echo hi\n" {
		t.Fatalf("history %q %v", hist, err)
	}
}

func TestInteractiveNostdin(t *testing.T) {
	_, errs, rc := runTTY(t, "clush", "", "-n", "-R", "exec", "-w", "n1")
	if rc != 2 || !strings.HasSuffix(errs, "clush: error: illegal option `--nostdin' in that case\n") {
		t.Fatalf("rc %d stderr %q", rc, errs)
	}
}

func TestInteractiveCommandPrefix(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "clush.conf")
	os.WriteFile(conf, []byte("[Main]\ncommand_prefix: echo pre\n"), 0o644)
	out, _, _ := runTTY(t, "clush", "x %h\n", "--conf", conf, "-q", "-R", "exec", "-w", "n1")
	if out != "Working with nodes: n1\nclush> n1: pre x n1\nclush> \n" {
		t.Fatalf("out %q", out)
	}
}

// TestPasswordPromptStdin: without a terminal, the password is the first
// line of standard input (getpass's fallback); every node reads it first,
// then the rest of the input, or end of input with -n.
func TestPasswordPromptStdin(t *testing.T) {
	defer func(p string) { ttyPath = p }(ttyPath)
	ttyPath = filepath.Join(t.TempDir(), "no-tty")
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "clush.conf.d"), 0o755)
	conf := filepath.Join(dir, "clush.conf")
	os.WriteFile(conf, []byte("[Main]\nconfdir: $CFGDIR/clush.conf.d\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "clush.conf.d", "pw.conf"), []byte("[mode:pw]\npassword_prompt: yes\n"), 0o644)
	out, errs, rc := runIn(t, "pw1\nline2\n", "--conf", conf, "-m", "pw", "-R", "exec", "-L", "-w", "n[1-2]", "read p; read q; echo $p $q")
	if rc != 0 || out != "n1: pw1 line2\nn2: pw1 line2\n" || errs != "Warning: Password input may be echoed.\nPassword: " {
		t.Fatalf("rc %d out %q err %q", rc, out, errs)
	}
	out, _, _ = runIn(t, "pw1\nline2\n", "--conf", conf, "-m", "pw", "-n", "-R", "exec", "-L", "-w", "n[1-2]", "read p; read q || echo eof $p")
	if out != "n1: eof pw1\nn2: eof pw1\n" {
		t.Fatalf("-n: out %q", out)
	}
	// end of input before any character: no password, nothing run, exit
	// code 1 as clush (which dies of getpass's EOFError); a last line
	// without a newline is a password, as for getpass
	out, errs, rc = runIn(t, "", "--conf", conf, "-m", "pw", "-R", "exec", "-w", "n1", "echo ran")
	if rc != 1 || out != "" || errs != "Warning: Password input may be echoed.\nPassword: clush: password prompt: no password: standard input ended before any character: unexpected EOF\n" {
		t.Fatalf("empty input: rc %d out %q err %q", rc, out, errs)
	}
	out, _, rc = runIn(t, "pw2", "--conf", conf, "-m", "pw", "-R", "exec", "-w", "n1", "read p; echo $p")
	if rc != 0 || out != "n1: pw2\n" {
		t.Fatalf("no newline: rc %d out %q", rc, out)
	}
	// a bad boolean is a configuration error
	os.WriteFile(filepath.Join(dir, "clush.conf.d", "pw.conf"), []byte("[mode:pw]\npassword_prompt: maybe\n"), 0o644)
	_, errs, rc = runIn(t, "", "--conf", conf, "-m", "pw", "-R", "exec", "-w", "n1", "true")
	if rc != 1 || errs != "ERROR: (Config Main.password_prompt): Not a boolean: maybe\n" {
		t.Fatalf("rc %d err %q", rc, errs)
	}
}

// TestHistoryAppendOnly: under the name clush, ~/.clush_history (shared
// with clush, whose readline keeps every line) is only appended to, however
// long; muster's own file is cut back to historyMax lines once it holds
// more than twice that.
func TestHistoryAppendOnly(t *testing.T) {
	var old strings.Builder
	for i := range 2*historyMax + 500 {
		fmt.Fprintf(&old, "old %d\n", i)
	}
	clushHist := filepath.Join(os.Getenv("HOME"), ".clush_history")
	if err := os.WriteFile(clushHist, []byte(old.String()+"no newline"), 0o600); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(clushHist)
	runTTY(t, "clush", "echo new\n", "-q", "-R", "exec", "-w", "n1")
	got, err := os.ReadFile(clushHist)
	if want := old.String() + "no newline\necho new\n"; err != nil || string(got) != want {
		t.Fatalf("clush history: %d bytes (%v), want %d: the old lines must stay, the new one appended", len(got), err, len(want))
	}

	t.Setenv("XDG_STATE_HOME", t.TempDir())
	own := filepath.Join(os.Getenv("XDG_STATE_HOME"), "muster", "history")
	os.MkdirAll(filepath.Dir(own), 0o700)
	os.WriteFile(own, []byte(old.String()), 0o600)
	runTTY(t, "muster run", "echo new\n", "-q", "-R", "exec", "-w", "n1")
	got, _ = os.ReadFile(own)
	lines := strings.Split(strings.TrimSuffix(string(got), "\n"), "\n")
	if len(lines) != historyMax+1 || lines[0] != fmt.Sprintf("old %d", historyMax+500) || lines[historyMax] != "echo new" {
		t.Fatalf("muster history: %d lines, first %q, last %q", len(lines), lines[0], lines[len(lines)-1])
	}
}

// FuzzHistory: whatever the history file holds, loading never fails and
// keeps at most historyMax non-empty lines, and adding a line appends
// exactly that line to the file (after a newline if it lacked one).
func FuzzHistory(f *testing.F) {
	f.Add("echo a\n\n+n1\n", "x")
	f.Add("", "y")
	f.Add("\x00\n\r\n", "")
	f.Add("no newline", "z")
	f.Fuzz(func(t *testing.T, data, entry string) {
		if strings.Contains(entry, "\n") {
			return // the prompt never gives a line with a newline
		}
		dir := t.TempDir()
		p := filepath.Join(dir, "h")
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		h := loadHistory(p, false)
		if h.Len() > historyMax {
			t.Fatalf("%d lines", h.Len())
		}
		for i := range h.Len() {
			if h.At(i) == "" || strings.Contains(h.At(i), "\n") {
				t.Fatalf("line %q kept", h.At(i))
			}
		}
		n := h.Len()
		h.Add(entry)
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		want := data
		if entry != "" {
			if want != "" && !strings.HasSuffix(want, "\n") {
				want += "\n"
			}
			want += entry + "\n"
			if h.At(0) != entry || h.Len() != min(n+1, historyMax) {
				t.Fatalf("recall: newest %q, %d lines", h.At(0), h.Len())
			}
		}
		if string(got) != want {
			t.Fatalf("file %q, want %q", got, want)
		}
	})
}
