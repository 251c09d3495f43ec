package proc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	osexec "os/exec"
	"sync"
	"syscall"

	"github.com/muster-sh/muster/worker"
)

// Client is one run of a local client program (ssh, scp, rsh, pdsh, ...)
// for a session: the program and its arguments, its environment, and
// optional writers that replace the session's output streams (to filter
// what the program prints before the engine sees it).
type Client struct {
	// Argv is the program and its arguments; Argv[0] is looked up in PATH
	// when it has no slash, unless Path is set.
	Argv []string
	// Path, when set, is the file to run (already looked up); Argv[0] is
	// then only the name the program sees.
	Path string
	// Env is the program's environment; nil means the current process's.
	Env []string
	// Stdout and Stderr, when not nil, receive the program's output
	// instead of the session's writers. When the session merges stderr
	// into stdout, the program gets one pipe for both, written to Stdout.
	Stdout, Stderr io.Writer
	// NoStdin gives the program /dev/null as standard input even when the
	// session has input enabled.
	NoStdin bool
	// SeparatePipes gives the program two output pipes even when the
	// session merges stderr into stdout, so that a filter on Stdout sees
	// only the program's standard output (the streams still end in the
	// same writer unless Stderr says otherwise).
	SeparatePipes bool
}

// ErrStart is matched by the error RunClient returns when the program
// could not be started at all (not found, not executable).
var ErrStart = errors.New("cannot start client program")

// RunClient runs c for session s and waits for it and for its output
// streams. It calls s.Started once the program runs, feeds it the
// session's broadcast input (unless c.NoStdin; /dev/null when the session
// has no input), and reports bytes written with s.Written. The program
// gets its own process group; when ctx ends the whole group is killed
// with SIGKILL, so no child (ProxyCommand, LocalCommand, pdsh's ssh
// children) survives, and RunClient returns the status it observed
// together with ctx.Err().
//
// It returns the program's exit status (128+N for signal N). An error
// matching ErrStart means the program never ran.
func RunClient(ctx context.Context, s worker.Session, c Client) (worker.Status, error) {
	if len(c.Argv) == 0 {
		return worker.Status{}, fmt.Errorf("%s: empty command line: %w", s.Node(), ErrStart)
	}
	if err := ctx.Err(); err != nil {
		return worker.Status{}, err
	}
	path := c.Path
	if path == "" {
		var err error
		path, err = osexec.LookPath(c.Argv[0])
		if err != nil && !errors.Is(err, osexec.ErrDot) {
			return worker.Status{}, fmt.Errorf("%s: %w: %w", s.Node(), ErrStart, err)
		}
	}
	stdout, stderr := c.Stdout, c.Stderr
	if stdout == nil {
		stdout = s.Stdout()
	}
	if stderr == nil {
		stderr = s.Stderr()
	}
	env := c.Env
	if env == nil {
		env = os.Environ()
	}

	var closers []*os.File
	closeAll := func() {
		for _, f := range closers {
			f.Close()
		}
		closers = nil
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return worker.Status{}, fmt.Errorf("%s: stdout pipe: %w", s.Node(), err)
	}
	closers = append(closers, outW)
	var errR, errW *os.File
	if s.MergedStderr() && !c.SeparatePipes {
		errW = outW
	} else {
		if errR, errW, err = os.Pipe(); err != nil {
			outR.Close()
			closeAll()
			return worker.Status{}, fmt.Errorf("%s: stderr pipe: %w", s.Node(), err)
		}
		closers = append(closers, errW)
	}
	var input worker.Input
	if !c.NoStdin {
		input = s.Stdin()
	}
	var inR, inW *os.File
	if input == nil {
		if inR, err = os.Open(os.DevNull); err != nil {
			outR.Close()
			if errR != nil {
				errR.Close()
			}
			closeAll()
			return worker.Status{}, fmt.Errorf("%s: %w", s.Node(), err)
		}
	} else if inR, inW, err = os.Pipe(); err != nil {
		outR.Close()
		if errR != nil {
			errR.Close()
		}
		closeAll()
		return worker.Status{}, fmt.Errorf("%s: stdin pipe: %w", s.Node(), err)
	}
	closers = append(closers, inR)

	proc, err := os.StartProcess(path, c.Argv, &os.ProcAttr{
		Env:   env,
		Files: []*os.File{inR, outW, errW},
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	})
	closeAll() // the child holds its own copies
	if err != nil {
		outR.Close()
		if errR != nil {
			errR.Close()
		}
		if inW != nil {
			inW.Close()
		}
		return worker.Status{}, fmt.Errorf("%s: %w: %q: %w", s.Node(), ErrStart, c.Argv[0], err)
	}
	s.Started()
	s.Debugf("CLIENT: %q", c.Argv)
	pgid := proc.Pid
	stop := context.AfterFunc(ctx, func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) })
	defer stop()

	var wg sync.WaitGroup
	if errR != nil {
		wg.Go(func() { pump(errR, stderr) })
	}
	inCtx, inCancel := context.WithCancel(ctx)
	defer inCancel()
	if inW != nil {
		wg.Go(func() { feed(inCtx, input, inW, s) })
	}
	pump(outR, stdout)
	state, werr := proc.Wait()
	stop() // the group is gone: never signal a pid that may be reused
	inCancel()
	wg.Wait()
	if werr != nil {
		return worker.Status{}, fmt.Errorf("%s: wait for %s: %w", s.Node(), c.Argv[0], werr)
	}
	ws := state.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return worker.Signaled(ws.Signal()), ctx.Err()
	}
	return worker.Exited(ws.ExitStatus()), ctx.Err()
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// pump copies r to w until end of file, then closes r.
func pump(r *os.File, w io.Writer) {
	bp := bufPool.Get().(*[]byte)
	buf := *bp
	for {
		n, err := r.Read(buf)
		if n > 0 {
			_, _ = w.Write(buf[:n])
		}
		if err != nil {
			break
		}
	}
	bufPool.Put(bp)
	r.Close()
}

// feed writes the broadcast input to the program until it ends, then
// closes the pipe so that the program (and the remote command) read end
// of file.
func feed(ctx context.Context, in worker.Input, w *os.File, s worker.Session) {
	defer w.Close()
	for {
		chunk, err := in.Next(ctx)
		if err != nil {
			return
		}
		n, err := w.Write(chunk)
		if n > 0 {
			s.Written(n)
		}
		if err != nil {
			return
		}
	}
}
