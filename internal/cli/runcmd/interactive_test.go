package runcmd

import (
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// tmuxPath returns tmux, skipping the test when it is missing outside CI
// and failing in CI.
func tmuxPath(t *testing.T) string {
	t.Helper()
	p, err := osexec.LookPath("tmux")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("tmux is required in CI for the terminal tests: %v", err)
		}
		t.Skip("tmux not installed")
	}
	return p
}

var (
	buildOnce          sync.Once
	builtMuster, built string
	buildErr           error
)

// buildMuster builds the real muster binary (cmd/muster) once for the
// package, next to the test HOME (removed by TestMain), and links it as
// clush there.
func buildMuster(t *testing.T) (muster, clush string) {
	t.Helper()
	buildOnce.Do(func() {
		goenv := osexec.Command("go", "env", "GOMOD")
		goenv.Env = append(os.Environ(), origEnv...)
		gomod, err := goenv.Output()
		if err != nil {
			buildErr = fmt.Errorf("go env GOMOD: %w", err)
			return
		}
		root := filepath.Dir(strings.TrimSpace(string(gomod)))
		dir := filepath.Join(filepath.Dir(os.Getenv("HOME")), "bin")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			buildErr = err
			return
		}
		m := filepath.Join(dir, "muster")
		cmd := osexec.Command("go", "build", "-o", m, "./cmd/muster")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), origEnv...)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("building muster: %w\n%s", err, out)
			return
		}
		c := filepath.Join(dir, "clush")
		if err := os.Symlink(m, c); err != nil {
			buildErr = err
			return
		}
		builtMuster, built = m, c
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtMuster, built
}

// screen is a program running in a tmux pane of its own server.
type screen struct {
	t    *testing.T
	tmux string
	sock string
}

func newScreen(t *testing.T, home, command string) *screen {
	t.Helper()
	s := &screen{t: t, tmux: tmuxPath(t), sock: filepath.Join(t.TempDir(), "tmux.sock")}
	shell := "env HOME=" + home + " XDG_STATE_HOME= " + command + "; echo EXIT=$?; sleep 120"
	s.run("-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", "160", "-y", "50", shell)
	s.run("set-option", "-g", "history-limit", "5000")
	t.Cleanup(func() { osexec.Command(s.tmux, "-S", s.sock, "kill-server").Run() })
	return s
}

func (s *screen) run(args ...string) string {
	s.t.Helper()
	out, err := osexec.Command(s.tmux, append([]string{"-S", s.sock}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// keys types keys into the pane (tmux key names: Enter, C-c, C-d, Up).
func (s *screen) keys(keys ...string) {
	s.t.Helper()
	s.run(append([]string{"send-keys", "-t", "t"}, keys...)...)
}

// line types text and Enter.
func (s *screen) line(text string) { s.t.Helper(); s.keys("-l", "--", text); s.keys("Enter") }

// text is everything the pane shows, its scrollback included, without
// trailing blank lines.
func (s *screen) text() string {
	s.t.Helper()
	return strings.TrimRight(s.run("capture-pane", "-p", "-t", "t", "-S", "-5000"), "\n ")
}

// waitFor waits (at most 20 s, polling) until the pane shows want count
// times, and returns the pane's text.
func (s *screen) waitFor(want string, count int) string {
	s.t.Helper()
	var txt string
	for range 400 {
		txt = s.text()
		if strings.Count(txt, want) >= count {
			return txt
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("the terminal never showed %q %d times:\n%s", want, count, txt)
	return ""
}

// waitPrompt waits for the n-th prompt ("clush> " at the end of the pane).
func (s *screen) waitPrompt(n int) string {
	s.t.Helper()
	var txt string
	for range 400 {
		txt = s.text()
		if strings.Count(txt, "clush>") >= n && strings.HasSuffix(txt, "clush>") {
			return txt
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("no prompt #%d:\n%s", n, txt)
	return ""
}

// TestInteractiveTerminal drives the real binary, linked as clush, in a
// tmux terminal: the prompt, node-set edits (with a group), "!" local
// commands, "=" gathering, Ctrl-C at the prompt and during a command (the
// command stops, its partial gathered output shows, the session goes on),
// history and Ctrl-D.
func TestInteractiveTerminal(t *testing.T) {
	tmuxPath(t)
	dir := t.TempDir()
	_, clush := buildMuster(t)
	home := filepath.Join(dir, "home")
	os.Mkdir(home, 0o755)
	groups := filepath.Join(dir, "groups.conf")
	os.WriteFile(groups, []byte("[Main]\ndefault: t\n\n[t]\nmap: echo e[1-2]\nlist: echo extra\n"), 0o644)
	s := newScreen(t, home, clush+" --groupsconf "+groups+" -R exec -w n[1-3]")
	p := 1
	txt := s.waitPrompt(p)
	if !strings.Contains(txt, "Enter 'quit' to leave this interactive mode\nWorking with nodes: n[1-3]\nclush>") {
		t.Fatalf("start:\n%s", txt)
	}
	step := func(line, want string) string {
		t.Helper()
		s.line(line)
		p++
		txt := s.waitPrompt(p)
		if !strings.Contains(txt, want) {
			t.Fatalf("after %q, want %q:\n%s", line, want, txt)
		}
		return txt
	}
	step("echo A1 %h", "n3: A1 n3")
	step("+@extra", "Working with nodes: e[1-2],n[1-3]")
	step("-n[1-2]", "Working with nodes: e[1-2],n3")
	txt = step("echo A2 %h", "e2: A2 e2")
	if strings.Contains(txt, "n1: A2") || !strings.Contains(txt, "n3: A2 n3") {
		t.Fatalf("-n[1-2] not applied:\n%s", txt)
	}
	step("@m[1-2]", "Working with nodes: m[1-2]")
	step("?", "clush> ?\nWorking with nodes: m[1-2]")
	step("+[bad", "clush: nodeset parse error (ignoring)")
	step("!echo local-$((6*7))", "LOCAL: local-42")
	step("=", "Switching to gathered output format")
	step("echo A3", "---------------\nm[1-2] (2)\n---------------\nA3")

	// Ctrl-C at the prompt: a new prompt, the typed text dropped
	s.keys("-l", "--", "echo dropped")
	s.keys("C-c")
	p++
	s.waitPrompt(p)
	step("echo A4", "---------------\nm[1-2] (2)\n---------------\nA4")
	if strings.Contains(s.text(), "dropped\n") {
		t.Fatal("the line interrupted at the prompt ran")
	}

	// Ctrl-C during a command stops it and comes back to the prompt
	flag := filepath.Join(dir, "m1done")
	s.line("echo A5 %h; [ %h = m1 ] && touch " + flag + "; [ %h = m2 ] && { while [ ! -e " + flag +
		" ]; do sleep 0.05; done; echo sleeping >&2; exec sleep 300; }; true")
	s.waitFor("m2: sleeping", 1)
	s.keys("C-c")
	p++
	txt = s.waitPrompt(p)
	for _, want := range []string{"Warning: Caught keyboard interrupt!", "m1\n---------------\nA5 m1", "m2\n---------------\nA5 m2",
		"Keyboard interrupt (m2 did not complete)."} {
		if !strings.Contains(txt, want) {
			t.Fatalf("interrupted command: want %q:\n%s", want, txt)
		}
	}
	step("=", "Switching to standard output format")
	step("echo A6 %h", "m2: A6 m2")
	// history: Up recalls the last line
	s.keys("Up", "Enter")
	p++
	txt = s.waitPrompt(p)
	if strings.Count(txt, "m2: A6 m2") != 2 {
		t.Fatalf("history recall:\n%s", txt)
	}
	s.keys("C-d")
	txt = s.waitFor("EXIT=0", 1)
	hist, err := os.ReadFile(filepath.Join(home, ".clush_history"))
	if err != nil || !strings.Contains(string(hist), "echo A1 %h\n+@extra\n") || strings.Contains(string(hist), "dropped") {
		t.Fatalf("history file %q (%v)", hist, err)
	}
}

// TestInteractiveSIGTERM: SIGTERM at the prompt, with no key typed
// after it, ends muster at once with 128+15, the half-typed line not run
// and the terminal out of raw mode.
func TestInteractiveSIGTERM(t *testing.T) {
	tmuxPath(t)
	dir := t.TempDir()
	_, clush := buildMuster(t)
	pidFile := filepath.Join(dir, "pid")
	s := newScreen(t, dir, "sh -c 'echo $$ >"+pidFile+"; exec "+clush+" -R exec -w n1'")
	s.waitPrompt(1)
	s.keys("-l", "--", "echo half-typed")
	s.waitFor("half-typed", 1)
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	txt := s.waitFor("EXIT=143", 1)
	if strings.Contains(txt, "n1: half-typed") {
		t.Fatalf("the half-typed line ran:\n%s", txt)
	}
	s.keys("-l", "--", "echoed-again")
	s.waitFor("echoed-again", 1)
}

// TestInteractiveSuspend: Ctrl-Z at the prompt stops muster as a job of
// an interactive shell (raw mode turns it into a key, so muster stops
// itself); after fg the prompt and the half-typed line are back, and the
// line goes on.
func TestInteractiveSuspend(t *testing.T) {
	tmuxPath(t)
	dir := t.TempDir()
	_, clush := buildMuster(t)
	s := newScreen(t, dir, "PS1='sh$ ' bash --norc --noprofile -i")
	s.waitFor("sh$", 1)
	s.line(clush + " -R exec -w n1")
	s.waitPrompt(1)
	s.keys("-l", "--", "echo Z1")
	s.waitFor("echo Z1", 1)
	s.keys("C-z")
	s.waitFor("clush> echo Z1^Z", 1)
	s.waitFor("Stopped", 1)
	s.waitFor("sh$", 2)
	s.line("fg")
	// the line is drawn anew, and what is typed next shows once (raw
	// mode is back: the terminal does not echo it too)
	s.waitFor("\nclush> echo Z1", 2)
	s.keys("-l", "--", " %h")
	s.waitFor("\nclush> echo Z1 %h", 1)
	s.keys("Enter")
	txt := s.waitFor("n1: Z1 n1", 1)
	if strings.Count(txt, "%h") != 1 {
		t.Fatalf("typed text echoed twice:\n%s", txt)
	}
	s.waitPrompt(2)
	s.keys("C-d")
	s.waitFor("sh$", 3)
	s.line("echo rc=$?")
	s.waitFor("rc=0", 1)
}

// TestPasswordPromptTerminal: a run mode with password_prompt asks once on
// the terminal, without echo, and each node reads the password as the
// first line of its input.
func TestPasswordPromptTerminal(t *testing.T) {
	tmuxPath(t)
	dir := t.TempDir()
	muster, _ := buildMuster(t)
	home := filepath.Join(dir, "home")
	os.MkdirAll(filepath.Join(dir, "clush.conf.d"), 0o755)
	conf := filepath.Join(dir, "clush.conf")
	os.WriteFile(conf, []byte("[Main]\nconfdir: $CFGDIR/clush.conf.d\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "clush.conf.d", "pw.conf"), []byte("[mode:pw]\npassword_prompt: yes\n"), 0o644)
	s := newScreen(t, home, muster+" run --conf "+conf+" -m pw -R exec -L -w n[1-2] 'read p; echo got:$p; read q || echo eof'")
	s.waitFor("Password:", 1)
	s.line("s3cret")
	txt := s.waitFor("EXIT=0", 1)
	for _, want := range []string{"n1: got:s3cret\nn1: eof\nn2: got:s3cret\nn2: eof"} {
		if !strings.Contains(txt, want) {
			t.Fatalf("want %q:\n%s", want, txt)
		}
	}
	if strings.Contains(txt, "Password: s3cret") {
		t.Fatalf("the password was echoed:\n%s", txt)
	}
}

// TestPasswordPromptInterrupt: Ctrl-C at the Password: prompt ends muster
// with 130 and "Keyboard interrupt." as clush, Ctrl-D there (no password)
// with 1; nothing runs, and the terminal echoes again afterwards.
func TestPasswordPromptInterrupt(t *testing.T) {
	tmuxPath(t)
	dir := t.TempDir()
	_, clush := buildMuster(t)
	os.MkdirAll(filepath.Join(dir, "clush.conf.d"), 0o755)
	conf := filepath.Join(dir, "clush.conf")
	os.WriteFile(conf, []byte("[Main]\nconfdir: $CFGDIR/clush.conf.d\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "clush.conf.d", "pw.conf"), []byte("[mode:pw]\npassword_prompt: yes\n"), 0o644)
	for _, c := range []struct{ key, code, msg string }{
		{"C-c", "EXIT=130", "Keyboard interrupt."},
		{"C-d", "EXIT=1", "clush: password prompt: no password: end of input on /dev/tty before any character: unexpected EOF"},
	} {
		s := newScreen(t, dir, clush+" --conf "+conf+" -m pw -R exec -w n1 'echo ran'")
		s.waitFor("Password:", 1)
		s.keys(c.key)
		txt := s.waitFor(c.code, 1)
		if !strings.Contains(txt, c.msg) || strings.Contains(txt, "ran") {
			t.Fatalf("%s at the prompt: want %q and %s, nothing run:\n%s", c.key, c.msg, c.code, txt)
		}
		// echo is back on: what is typed now shows
		s.keys("-l", "--", "echoed-again")
		s.waitFor("echoed-again", 1)
	}
}

// TestMeterOnTerminal: as muster run, a run that goes on (here until the
// meter has been seen: the nodes wait for a file the test creates then)
// shows the meter on a terminal without -P, and erases it at the end.
func TestMeterOnTerminal(t *testing.T) {
	tmuxPath(t)
	muster, _ := buildMuster(t)
	home := t.TempDir()
	flag := filepath.Join(home, "seen")
	// bounded: at most 1200 * 0.05 s if the test never creates the file
	wait := "i=0; while [ ! -e " + flag + " ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done"
	s := newScreen(t, home, muster+" run -R exec -w n[1-3] '"+wait+"; echo out %h'")
	s.waitFor("0/3 done, 0 failed", 1)
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	txt := s.waitFor("EXIT=0", 1)
	if strings.Contains(txt, "done,") || !strings.Contains(txt, "n2: out n2") {
		t.Fatalf("meter not erased:\n%s", txt)
	}
}

// TestInterruptOneShot: Ctrl-C during a gathered run given on the command
// line ends it with 130 and prints what was gathered, as clush does.
func TestInterruptOneShot(t *testing.T) {
	tmuxPath(t)
	_, clush := buildMuster(t)
	dir := t.TempDir()
	flag := filepath.Join(dir, "n1done")
	s := newScreen(t, dir, clush+" -R exec -b -w n[1-2] 'echo A %h; [ %h = n1 ] && touch "+flag+
		"; [ %h = n2 ] && { while [ ! -e "+flag+" ]; do sleep 0.05; done; echo sleeping >&2; exec sleep 300; }; true'")
	s.waitFor("n2: sleeping", 1)
	s.keys("C-c")
	txt := s.waitFor("EXIT=130", 1)
	for _, want := range []string{"Warning: Caught keyboard interrupt!", "n1\n---------------\nA n1", "n2\n---------------\nA n2",
		"Keyboard interrupt (n2 did not complete)."} {
		if !strings.Contains(txt, want) {
			t.Fatalf("want %q:\n%s", want, txt)
		}
	}
}
