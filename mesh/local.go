package mesh

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// LocalOptions configure a child started on this machine.
type LocalOptions struct {
	// Name names the child in errors and logs; default "local".
	Name string
	// Path is the binary to run as agent; default os.Executable(). It must
	// call MaybeAgent first thing (or be the muster binary).
	Path string
	// Args are extra arguments.
	Args []string
	// Env holds extra environment variables (KEY=VALUE).
	Env []string
	// ConnectTimeout bounds the start and handshake; default 10 s.
	ConnectTimeout time.Duration
}

// Local starts a child context on this machine: the same binary re-executed
// as an agent, talking over its stdin and stdout. The child's stderr is
// kept; its last lines are part of a start error.
func (r *Router) Local(ctx context.Context, o LocalOptions) (*Context, error) {
	if o.Name == "" {
		o.Name = "local"
	}
	fail := func(err error) (*Context, error) {
		return nil, fmt.Errorf("%w %q: %w", ErrStart, o.Name, err)
	}
	if err := checkEnv(o.Env); err != nil {
		return fail(err)
	}
	select {
	case <-r.done:
		return fail(ErrClosed)
	default:
	}
	path := o.Path
	if path == "" {
		exe, err := os.Executable()
		if err != nil {
			return fail(err)
		}
		path = exe
	}
	id, err := r.allocID(ctx)
	if err != nil {
		return fail(err)
	}
	cmd := exec.Command(path, o.Args...)
	cmd.Env = append(append(os.Environ(), o.Env...), AgentEnv+"=1")
	tail := r.childStderr(o.Name)
	cmd.Stderr = tail
	cmd.WaitDelay = r.cfg.ShutdownGrace
	setGroup(cmd)
	inR, stdin, err := os.Pipe()
	if err != nil {
		return fail(err)
	}
	stdout, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		stdin.Close()
		return fail(err)
	}
	growPipe(stdin)
	growPipe(stdout)
	cmd.Stdin, cmd.Stdout = inR, outW
	err = cmd.Start()
	inR.Close()
	outW.Close()
	if err != nil {
		stdin.Close()
		stdout.Close()
		return fail(err)
	}
	// kill ends the agent's process group (anything it started in it too)
	// and closes our end of its stdout, so that a read of a pipe a stray
	// grandchild still holds open returns at once.
	kill := func() {
		killGroup(cmd.Process)
		_ = stdout.Close()
	}
	var waitOnce sync.Once
	stop := func() {
		waitOnce.Do(func() {
			_ = stdin.Close()
			t := time.AfterFunc(r.cfg.ShutdownGrace, kill)
			_ = cmd.Wait()
			t.Stop()
			_ = stdout.Close()
		})
	}
	br, err := r.handshake(ctx, id, o.Name, stdout, stdin, o.ConnectTimeout, kill)
	if err != nil {
		kill()
		stop()
		if s := tail.String(); s != "" {
			err = fmt.Errorf("%w; stderr: %s", err, s)
		}
		return fail(err)
	}
	return r.attachChild(id, o.Name, br, stdin, stop, kill, tail)
}

// tailWriter keeps the last max lines written to it.
// Each complete line also goes to log, when set.
type tailWriter struct {
	mu    sync.Mutex
	max   int
	lines []string
	part  []byte
	log   func(line string)
}

// childStderr returns a tailWriter that forwards a child's stderr lines to
// r's logger: the agent's own warnings and errors at level Warn, anything
// else at Debug.
func (r *Router) childStderr(name string) *tailWriter {
	return &tailWriter{max: 20, log: func(line string) {
		lvl := slog.LevelDebug
		if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
			lvl = slog.LevelWarn
		}
		r.log.Log(context.Background(), lvl, "mesh: child stderr", "child", name, "line", line)
	}}
}

func (t *tailWriter) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range b {
		if c == '\n' {
			line := string(t.part)
			if t.log != nil {
				t.log(line)
			}
			t.lines = append(t.lines, line)
			t.part = t.part[:0]
			if len(t.lines) > t.max {
				t.lines = t.lines[1:]
			}
			continue
		}
		if len(t.part) < 4096 {
			t.part = append(t.part, c)
		}
	}
	return len(b), nil
}

// telling returns the most useful line of the tail for an error message:
// a Go panic or fatal error line if there is one, else the last line.
func (t *tailWriter) telling() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, l := range t.lines {
		if strings.HasPrefix(l, "panic: ") || strings.HasPrefix(l, "fatal error: ") {
			return l
		}
	}
	if len(t.part) > 0 {
		return string(t.part)
	}
	if n := len(t.lines); n > 0 {
		return t.lines[n-1]
	}
	return ""
}

func (t *tailWriter) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.Join(t.lines, "\n")
	if len(t.part) > 0 {
		if s != "" {
			s += "\n"
		}
		s += string(t.part)
	}
	return strings.TrimSpace(s)
}
