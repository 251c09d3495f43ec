package runcmd

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/muster-sh/muster/internal/cli"
)

func runIn(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	rc := run(context.Background(), "clush", args, cli.Stdio{In: strings.NewReader(stdin), Out: &out, Err: &errb})
	return out.String(), errb.String(), rc
}

func TestProgressMeter(t *testing.T) {
	// the meter shows at once; the commands last long after that
	defer func(d time.Duration) { meterDelay = d }(meterDelay)
	meterDelay = 0
	out, errs, rc := runIn(t, "", "-R", "exec", "-b", "-w", "n[1-2]", "sleep 2; echo x")
	if rc != 0 || out != "---------------\nn[1-2] (2)\n---------------\nx\n" {
		t.Fatalf("rc %d out %q", rc, out)
	}
	if !strings.HasPrefix(errs, "clush: ") || !strings.HasSuffix(errs, "\rclush: 2/2\r") {
		t.Fatalf("stderr %q", errs)
	}
	// -q: no meter
	_, errs, _ = runIn(t, "", "-q", "-R", "exec", "-b", "-w", "n[1-2]", "sleep 2")
	if errs != "" {
		t.Fatalf("quiet stderr %q", errs)
	}
}

func TestStdinForwarded(t *testing.T) {
	out, _, rc := runIn(t, "abc\n", "-R", "exec", "-L", "-w", "n[1-3]", "cat")
	if rc != 0 || out != "n1: abc\nn2: abc\nn3: abc\n" {
		t.Fatalf("rc %d out %q", rc, out)
	}
	out, _, _ = runIn(t, "abc\n", "-n", "-R", "exec", "-L", "-w", "n1", "cat")
	if out != "" {
		t.Fatalf("-n forwarded stdin: %q", out)
	}
}

func TestMusterProgName(t *testing.T) {
	var out, errb bytes.Buffer
	rc := run(context.Background(), "muster run", []string{"-R", "exec", "-w", "n1", "exit 3"}, cli.Stdio{In: strings.NewReader(""), Out: &out, Err: &errb})
	if rc != 0 || errb.String() != "muster run: n1: exited with exit code 3\n" {
		t.Fatalf("rc %d stderr %q", rc, errb.String())
	}
}

func TestPick(t *testing.T) {
	out, _, rc := runIn(t, "", "-R", "exec", "-L", "--pick", "3", "-w", "n[1-10]", "echo x")
	if rc != 0 || strings.Count(out, ": x\n") != 3 {
		t.Fatalf("rc %d out %q", rc, out)
	}
	out, _, _ = runIn(t, "", "-R", "exec", "-L", "--pick=20", "-w", "n[1-5]", "echo x")
	if strings.Count(out, ": x\n") != 5 {
		t.Fatalf("pick more than the set: %q", out)
	}
}

// brokenPipe accepts nothing, like a pipe whose reader went away.
type brokenPipe struct{}

func (brokenPipe) Write([]byte) (int, error) { return 0, syscall.EPIPE }

// TestClosedOutputStopsCommands: when stdout is a closed pipe, run exits
// with SIGPIPE's code and the commands still running are killed. Each
// command writes its pid to a file before its first line of output, so at
// least the one whose output hit the closed pipe has a pid to check.
func TestClosedOutputStopsCommands(t *testing.T) {
	dir := t.TempDir()
	var errb bytes.Buffer
	rc := run(context.Background(), "clush", []string{"-R", "exec", "-w", "n[1-3]", "echo $$ >" + dir + "/%h; echo x; exec sleep 300"},
		cli.Stdio{In: strings.NewReader(""), Out: brokenPipe{}, Err: &errb})
	if rc != 128+int(syscall.SIGPIPE) {
		t.Fatalf("rc %d, stderr %q", rc, errb.String())
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			continue // killed between creating the file and writing to it
		}
		n++
		if !processGone(pid) {
			t.Fatalf("%s: process %d still running after the output closed", e.Name(), pid)
		}
	}
	if n == 0 {
		t.Fatal("no command recorded its pid")
	}
}

// processGone reports whether pid has exited and been reaped, or is a
// zombie, within a bounded wait (at most 5 s).
func processGone(pid int) bool {
	for range 500 {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return true
		}
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i >= 0 && strings.HasPrefix(s[i:], ") Z") {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}
