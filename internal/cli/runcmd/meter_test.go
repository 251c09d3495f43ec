package runcmd

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/muster-sh/muster/internal/cli"
	"github.com/muster-sh/muster/task"
	"github.com/muster-sh/muster/worker/exec"
)

func TestMeterRender(t *testing.T) {
	rich := &meter{d: &display{prog: "muster run"}, style: meterRich, total: 1000}
	for _, c := range []struct {
		done, failed int
		elapsed      time.Duration
		want         string
	}{
		{0, 0, 0, "muster run:    0/1000 done, 0 failed"},
		{250, 3, 2 * time.Second, "muster run:  250/1000 done, 3 failed, 125.0 nodes/s"},
		{1000, 0, 400 * time.Millisecond, "muster run: 1000/1000 done, 0 failed, 2500.0 nodes/s"},
	} {
		if got := rich.render(c.done, c.failed, c.elapsed); got != c.want {
			t.Errorf("rich %d/%d %v: %q, want %q", c.done, c.failed, c.elapsed, got, c.want)
		}
	}
	bare := &meter{d: &display{prog: "clush"}, style: meterClush, total: 12}
	if got := bare.render(3, 1, time.Second); got != "clush:  3/12" {
		t.Errorf("clush: %q", got)
	}
	bare.written = 3 << 20
	if got := bare.render(3, 1, 2*time.Second); got != "clush:  3/12 write: 1.50 MiB/s" {
		t.Errorf("clush with input: %q", got)
	}
}

// TestMeterUpdate drives the meter of a finished run with a fake clock:
// what it prints, that a shorter line blanks the rest of a longer one,
// and how each style ends (muster's erased, clush's on the final count).
func TestMeterUpdate(t *testing.T) {
	for _, style := range []meterStyle{meterRich, meterClush} {
		var errb bytes.Buffer
		out, errs := newStreams(&bytes.Buffer{}, &errb, nil)
		d := &display{prog: "p", out: out, err: errs}
		tk := task.New(task.WithDistant(exec.Transport{}))
		m := newMeter(d, tk, 4, style)
		w, err := tk.Shell("case %h in n2) exit 2;; esac", task.OnNodes("n1", "n2", "n3", "n4"), task.UseShell(true),
			task.Timeout(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if err := tk.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		errs.Flush()
		errb.Reset() // the real timer may have fired: start from a clean slate
		m.ws = []*task.Worker{w}
		clock := m.start
		m.now = func() time.Time { return clock }
		m.width = 0
		m.last = ""
		clock = clock.Add(2 * time.Second)
		m.update()
		m.d.err.Flush()
		want := map[meterStyle]string{meterRich: "p: 4/4 done, 1 failed, 2.0 nodes/s\r", meterClush: "p: 4/4\r"}[style]
		if errb.String() != want {
			t.Fatalf("style %d: %q, want %q", style, errb.String(), want)
		}
		// clush's counter is not redrawn while the count stays the same
		errb.Reset()
		clock = clock.Add(2 * time.Second)
		m.update()
		m.d.err.Flush()
		if style == meterClush && errb.Len() != 0 || style == meterRich && errb.String() != "p: 4/4 done, 1 failed, 1.0 nodes/s\r" {
			t.Fatalf("style %d, second update: %q", style, errb.String())
		}
		errb.Reset()
		m.width = 50 // as after a longer line
		m.dirty()
		m.update()
		m.d.err.Flush()
		if got := errb.String(); len(got) != 50 || !strings.HasSuffix(got, " \r") {
			t.Fatalf("style %d: shorter line not padded: %q", style, got)
		}
		errb.Reset()
		m.finalize()
		m.d.err.Flush()
		want = map[meterStyle]string{meterRich: strings.Repeat(" ", 50) + "\r", meterClush: strings.Repeat(" ", 50) + "\rp: 4/4\r"}[style]
		if errb.String() != want {
			t.Fatalf("style %d, end: %q, want %q", style, errb.String(), want)
		}
	}
}

// TestMusterMeterNeedsTerminalOrP: as muster run, the meter is off on a
// stderr that is no terminal (even with -b, unlike clush) and on with -P.
func TestMusterMeterNeedsTerminalOrP(t *testing.T) {
	defer func(d time.Duration) { richDelay = d }(richDelay)
	richDelay = 0
	var out, errb bytes.Buffer
	rc := runProg(t, "muster run", &out, &errb, "-R", "exec", "-b", "-w", "n[1-2]", "sleep 1")
	if rc != 0 || errb.Len() != 0 {
		t.Fatalf("rc %d stderr %q", rc, errb.String())
	}
	errb.Reset()
	rc = runProg(t, "muster run", &out, &errb, "-P", "-R", "exec", "-b", "-w", "n[1-2]", "sleep 1; [ %h = n2 ] && exit 1; true")
	e := errb.String()
	if rc != 0 || !strings.HasPrefix(e, "muster run: 0/2 done, 0 failed") || !strings.Contains(e, "\r") {
		t.Fatalf("rc %d stderr %q", rc, e)
	}
	// erased before the exit code message, and not drawn again
	if !strings.HasSuffix(e, " \rmuster run: n2: exited with exit code 1\n") {
		t.Fatalf("stderr end %q", e)
	}
}

func runProg(t *testing.T, prog string, out, errb *bytes.Buffer, args ...string) int {
	t.Helper()
	return run(context.Background(), prog, args, cli.Stdio{In: strings.NewReader(""), Out: out, Err: errb})
}
