package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/muster-sh/muster/internal/cli"
)

func call(argv ...string) (code int, out, errOut string) {
	var o, e bytes.Buffer
	code = run(argv, cli.Stdio{In: strings.NewReader(""), Out: &o, Err: &e})
	return code, o.String(), e.String()
}

func TestDispatchByLinkName(t *testing.T) {
	for _, prog := range []string{"nodeset", "/usr/local/bin/nodeset", "cluset"} {
		code, out, errOut := call(prog, "-c", "node[1-10]", "other[1-5]")
		if code != 0 || out != "15\n" || errOut != "" {
			t.Errorf("%s -c: code %d out %q err %q, want 0 \"15\\n\"", prog, code, out, errOut)
		}
	}
	code, out, _ := call("clush", "-R", "exec", "-w", "n[1-2]", "-N", "echo", "hi")
	if code != 0 || out != "hi\nhi\n" {
		t.Errorf("clush link: code %d out %q", code, out)
	}
}

func TestDispatchBySubcommand(t *testing.T) {
	code, out, _ := call("muster", "nodeset", "-f", "n1", "n2", "n3")
	if code != 0 || out != "n[1-3]\n" {
		t.Errorf("muster nodeset -f: code %d out %q", code, out)
	}
	code, _, errOut := call("muster", "frobnicate")
	if code != 2 || !strings.Contains(errOut, `unknown command "frobnicate"`) || !strings.Contains(errOut, "nodeset") {
		t.Errorf("unknown command: code %d err %q, want 2 and a message naming it and the known commands", code, errOut)
	}
	code, _, errOut = call("muster")
	if code != 2 || !strings.Contains(errOut, "usage:") {
		t.Errorf("no command: code %d err %q, want 2 and usage", code, errOut)
	}
	code, out, _ = call("muster", "help")
	if code != 0 || !strings.Contains(out, "nodeset") || !strings.Contains(out, "run") {
		t.Errorf("help: code %d out %q", code, out)
	}
}

// TestBinaryThroughLink builds the real binary and runs it through a
// symlink named nodeset, as an operator's PATH would.
func TestBinaryThroughLink(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "muster")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	link := filepath.Join(dir, "nodeset")
	if err := os.Symlink("muster", link); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(link, "-e", "n[01-03]").Output()
	if err != nil || string(out) != "n01 n02 n03\n" {
		t.Fatalf("nodeset link: %q %v", out, err)
	}
}

func TestClubakLink(t *testing.T) {
	var o, e bytes.Buffer
	code := run([]string{"/usr/bin/clubak", "-b"}, cli.Stdio{In: strings.NewReader("n1: up\nn2: up\n"), Out: &o, Err: &e})
	want := "---------------\nn[1-2] (2)\n---------------\n up\n" // clubak keeps what follows the separator, space included
	if code != 0 || o.String() != want {
		t.Errorf("clubak -b: code %d out %q err %q, want %q", code, o.String(), e.String(), want)
	}
}
