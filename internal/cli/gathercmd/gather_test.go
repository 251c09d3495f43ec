package gathercmd

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/muster-sh/muster/internal/cli"
)

func run1(t *testing.T, in string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(args, cli.Stdio{In: strings.NewReader(in), Out: &out, Err: &errb})
	return out.String(), errb.String(), code
}

const sample = "node2: up\nnode1: up\nnode3: down\nnode1: ok\nnode2: ok\nnode3: ok\n"

func TestModes(t *testing.T) {
	unsetColorEnv(t)
	hdr := func(ns string) string { return "---------------\n" + ns + "\n---------------\n" }
	for _, tc := range []struct {
		name string
		args []string
		in   string
		want string
	}{
		{"per-node", nil, sample, hdr("node1") + " up\n ok\n" + hdr("node2") + " up\n ok\n" + hdr("node3") + " down\n ok\n"},
		{"gather", []string{"-b"}, sample, hdr("node[1-2] (2)") + " up\n ok\n" + hdr("node3") + " down\n ok\n"},
		{"gather-c", []string{"-c"}, sample, hdr("node[1-2] (2)") + " up\n ok\n" + hdr("node3") + " down\n ok\n"},
		{"gather-quiet", []string{"-bq"}, sample, hdr("node[1-2]") + " up\n ok\n" + hdr("node3") + " down\n ok\n"},
		{"line-mode", []string{"-L"}, sample, "node1:  up\nnode1:  ok\nnode2:  up\nnode2:  ok\nnode3:  down\nnode3:  ok\n"},
		{"line-gather", []string{"-L", "-b"}, sample, "node[1-2]:  up\nnode[1-2]:  ok\nnode3:  down\nnode3:  ok\n"},
		{"no-label", []string{"-N", "-b"}, sample, " up\n ok\n down\n ok\n"},
		{"fast", []string{"-F", "-b"}, sample, hdr("node[1-2] (2)") + " up\n ok\n" + hdr("node3") + " down\n ok\n"},
		{"separator", []string{"-S", "=>"}, "a=> x\nb=> x\n", hdr("a") + " x\n" + hdr("b") + " x\n"},
		{"raw-keys", []string{"--interpret-keys=never"}, "n[1-2]: x\n", hdr("n[1-2]") + " x\n"},
		{"nodeset-key", []string{"-b"}, "n[1-2]: x\n", hdr("n[1-2] (2)") + " x\n"},
		{"auto-switch", nil, "b1: x\nbad[: y\n", hdr("b1") + " x\n" + hdr("bad[") + " y\n"},
		{"larger-first", []string{"-b"}, "z1: a\nz2: a\nb1: b\n", hdr("z[1-2] (2)") + " a\n" + hdr("b1") + " b\n"},
		{"diff", []string{"--diff"}, sample, "--- node[1-2] (2)\n+++ node3\n@@ -1,2 +1,2 @@\n- up\n+ down\n  ok\n"},
		{"color-line", []string{"-L", "--color=always"}, "n1: x\n", "\033[94mn1: \033[0m x\n"},
		{"color-header", []string{"--color=always"}, "n1: x\n", "\033[94m---------------\nn1\n---------------\033[0m\n x\n"},
		{"verbose", []string{"-v", "-L"}, "n1: x\n", "INPUT n1: x\nn1:  x\n"},
		{"empty", []string{"-b"}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := run1(t, tc.in, tc.args...)
			if code != 0 || errs != "" {
				t.Fatalf("exit %d, stderr %q", code, errs)
			}
			if out != tc.want {
				t.Errorf("stdout\n%q\nwant\n%q", out, tc.want)
			}
		})
	}
}

// TestTraceShape checks the -T indentation where outputs diverge.
func TestTraceShape(t *testing.T) {
	out, _, code := run1(t, "n1: a\nn2: a\nn1: b\nn2: c\n", "-T", "-q")
	want := "---------------\nn[1-2]\n---------------\n a\n" +
		"  ---------------\n  n2\n  ---------------\n   c\n" +
		"  ---------------\n  n1\n  ---------------\n   b\n"
	if code != 0 || out != want {
		t.Errorf("exit %d stdout\n%s\nwant\n%s", code, out, want)
	}
	out, _, _ = run1(t, "n1: a\nn2: a\nn1: b\nn2: c\n", "-T", "-L")
	if want := "n[1-2]:\n a\nn2:\n   c\nn1:\n   b\n"; out != want {
		t.Errorf("-T -L stdout %q, want %q", out, want)
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		args     []string
		code     int
		errHas   string
	}{
		{"no-separator", "n1 x\n", nil, 1, `not enough values to unpack (expected 2, got 1): "n1 x"`},
		{"empty-line", "n1: a\n\n", nil, 1, "not enough values"},
		{"no-key", " : a\n", nil, 1, `no node found: " : a"`},
		{"empty-separator", "n1: a\n", []string{"-S", ""}, 1, "empty separator"},
		{"always-bad-key", "bad[: a\n", []string{"--interpret-keys=always"}, 1, "Parse error"},
		{"fast-tree", "", []string{"-F", "-T"}, 2, "incompatible tree options"},
		{"fast-line", "", []string{"-F", "-L"}, 2, "incompatible tree options"},
		{"diff-line", "n1: a\n", []string{"--diff", "-L"}, 2, "option mismatch (diff not supported in line_mode)"},
		{"unknown", "", []string{"--nope"}, 2, "no such option: --nope"},
		{"unknown-short", "", []string{"-bz"}, 2, "no such option: -z"},
		{"ambiguous", "", []string{"--d"}, 2, "ambiguous option: --d (--debug, --diff, --dshbak?)"},
		{"missing-value", "", []string{"-S"}, 2, "-S option requires 1 argument"},
		{"bad-choice", "", []string{"--color=pink"}, 2, "option --color: invalid choice: 'pink' (choose from '', 'never', 'always', 'auto')"},
		{"flag-value", "", []string{"--debug=1"}, 2, "--debug option does not take a value"},
		{"unsafe-source", "", []string{"-s", "-b"}, 2, "option -s: invalid value: '-b'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errs, code := run1(t, tc.in, tc.args...)
			if code != tc.code || !strings.Contains(errs, tc.errHas) {
				t.Errorf("exit %d stderr %q, want exit %d with %q", code, errs, tc.code, tc.errHas)
			}
		})
	}
}

func TestOptionParsing(t *testing.T) {
	o, rest, err := parseArgs([]string{"-bLS|", "--inter=never", "--col", "always", "--sep=::", "file", "-N"})
	if err != nil {
		t.Fatal(err)
	}
	if !o.gather || !o.lineMode || o.separator != "::" || o.interpretKeys != "never" || *o.color != "always" || o.noLabel {
		t.Errorf("options %+v", o)
	}
	if len(rest) != 2 || rest[0] != "file" {
		t.Errorf("rest %q", rest)
	}
	out, _, code := run1(t, "", "--version")
	if code != 0 || out != "clubak 1.9.1\n" {
		t.Errorf("--version: %d %q", code, out)
	}
	out, _, code = run1(t, "", "-h")
	if code != 0 || !strings.HasPrefix(out, "Usage: clubak [options]\n") {
		t.Errorf("-h: %d %q", code, out)
	}
}

func TestDebugReportsTree(t *testing.T) {
	out, errs, code := run1(t, "n1: a\nn1: b\n", "-d", "-b")
	if code != 0 || !strings.HasPrefix(out, "INPUT n1: a\nINPUT n1: b\n") {
		t.Fatalf("exit %d stdout %q", code, out)
	}
	if want := "clubak: line_mode=False gather=True tree_depth=2\n"; errs != want {
		t.Errorf("stderr %q, want %q", errs, want)
	}
}

func FuzzGather(f *testing.F) {
	f.Add([]byte(sample), "-b")
	f.Add([]byte("n[1-3]: a\nbad[: b\n\n"), "-T -L")
	f.Add([]byte("a|b\nc|d"), "-S| --diff")
	f.Add([]byte("x: y\r\n"), "-F --interpret-keys=never -r")
	f.Fuzz(func(t *testing.T, in []byte, args string) {
		var out, errb bytes.Buffer
		code := Main(strings.Fields(args), cli.Stdio{In: bytes.NewReader(in), Out: &out, Err: &errb})
		if code != 0 && code != 1 && code != 2 {
			t.Fatalf("exit code %d", code)
		}
		if code != 0 && errb.Len() == 0 {
			t.Fatalf("exit %d without a message", code)
		}
		if code == 0 && !strings.Contains(args, "-") && utf8.Valid(in) && errb.Len() != 0 {
			t.Fatalf("stderr %q on success", errb.String())
		}
	})
}

type closedPipe struct{}

func (closedPipe) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

// TestClosedOutput: like clubak, a failed write ends with status 1 and no
// message.
func TestClosedOutput(t *testing.T) {
	var errb bytes.Buffer
	code := Main([]string{"-L"}, cli.Stdio{In: strings.NewReader(sample), Out: closedPipe{}, Err: &errb})
	if code != 1 || errb.Len() != 0 {
		t.Errorf("exit %d stderr %q, want 1 and nothing", code, errb.String())
	}
}
