package exec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	osexec "os/exec"
	"sync"
	"syscall"

	"github.com/muster-sh/muster/worker"
)

// Transport runs commands as local processes, one per node. The zero value
// is ready to use.
type Transport struct {
	// Env is the environment of the processes; nil means the current
	// process's environment.
	Env []string
}

var _ worker.Transport = Transport{}

// Name returns "exec".
func (Transport) Name() string { return "exec" }

// Command returns a driver running cmd locally for each node. It fails
// with a *PatternError if cmd has a bad placeholder, and with an error
// wrapping ErrSyntax if cmd is not run by a shell and cannot be split.
func (t Transport) Command(cmd worker.Command) (worker.Driver, error) {
	if err := Check(cmd.Line); err != nil {
		return nil, err
	}
	d := &Driver{line: cmd.Line, shell: cmd.Shell, env: t.Env}
	if !cmd.Shell {
		words, err := Split(cmd.Line)
		if err != nil {
			return nil, err
		}
		if len(words) == 0 {
			return nil, fmt.Errorf("%w: empty command %q", ErrSyntax, cmd.Line)
		}
		d.words = words
	}
	if d.env == nil {
		d.env = os.Environ()
	}
	return d, nil
}

// Copy is not supported by the exec transport yet: it returns an error
// wrapping worker.ErrUnsupported.
func (Transport) Copy(cp worker.Copy) (worker.Driver, error) {
	return nil, fmt.Errorf("exec: copy %q to %q: %w", cp.Source, cp.Dest, worker.ErrUnsupported)
}

// Driver runs one command locally per node. Make one with
// Transport.Command.
type Driver struct {
	line  string
	shell bool
	words []string
	env   []string

	paths sync.Map // program name -> resolved path or error
}

type lookup struct {
	path string
	err  error
}

func (d *Driver) resolve(prog string) (string, error) {
	if v, ok := d.paths.Load(prog); ok {
		l := v.(lookup)
		return l.path, l.err
	}
	p, err := osexec.LookPath(prog)
	if errors.Is(err, osexec.ErrDot) {
		err = nil
	}
	d.paths.Store(prog, lookup{p, err})
	return p, err
}

var (
	devNullOnce sync.Once
	devNull     *os.File
	devNullErr  error
)

func openDevNull() (*os.File, error) {
	devNullOnce.Do(func() { devNull, devNullErr = os.Open(os.DevNull) })
	return devNull, devNullErr
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

func (d *Driver) argv(s worker.Session) ([]string, error) {
	if d.shell {
		line, err := Expand(d.line, s.Node(), s.Rank())
		if err != nil {
			return nil, err
		}
		return []string{"/bin/sh", "-c", line}, nil
	}
	argv := make([]string, len(d.words))
	for i, w := range d.words {
		x, err := Expand(w, s.Node(), s.Rank())
		if err != nil {
			return nil, err
		}
		argv[i] = x
	}
	return argv, nil
}

// Run starts the node's process and waits for it and its output streams.
func (d *Driver) Run(ctx context.Context, s worker.Session) (worker.Status, error) {
	argv, err := d.argv(s)
	if err != nil {
		return worker.Status{}, err
	}
	path, err := d.resolve(argv[0])
	if err != nil {
		// Behave like a shell: say so on stderr, exit 127.
		fmt.Fprintf(s.Stderr(), "%s: command not found\n", argv[0])
		s.Started()
		return worker.Exited(127), nil
	}
	s.Debugf("EXEC: %q", argv)

	outR, outW, err := os.Pipe()
	if err != nil {
		return worker.Status{}, fmt.Errorf("exec: %s: stdout pipe: %w", s.Node(), err)
	}
	var errR, errW *os.File
	if s.MergedStderr() {
		errW = outW
	} else if errR, errW, err = os.Pipe(); err != nil {
		outR.Close()
		outW.Close()
		return worker.Status{}, fmt.Errorf("exec: %s: stderr pipe: %w", s.Node(), err)
	}
	input := s.Stdin()
	var inR, inW *os.File
	if input == nil {
		if inR, err = openDevNull(); err != nil {
			return worker.Status{}, fmt.Errorf("exec: %s: %w", s.Node(), err)
		}
	} else if inR, inW, err = os.Pipe(); err != nil {
		return worker.Status{}, fmt.Errorf("exec: %s: stdin pipe: %w", s.Node(), err)
	}

	proc, err := os.StartProcess(path, argv, &os.ProcAttr{
		Env:   d.env,
		Files: []*os.File{inR, outW, errW},
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	})
	outW.Close()
	if errR != nil {
		errW.Close()
	}
	if inW != nil {
		inR.Close()
	}
	if err != nil {
		outR.Close()
		if errR != nil {
			errR.Close()
		}
		if inW != nil {
			inW.Close()
		}
		if errors.Is(err, fs.ErrPermission) {
			fmt.Fprintf(s.Stderr(), "%s: permission denied\n", argv[0])
			s.Started()
			return worker.Exited(126), nil
		}
		return worker.Status{}, fmt.Errorf("exec: %s: start %q: %w", s.Node(), argv[0], err)
	}
	s.Started()
	pgid := proc.Pid
	stop := context.AfterFunc(ctx, func() { syscall.Kill(-pgid, syscall.SIGKILL) })
	defer stop()

	var wg sync.WaitGroup
	if errR != nil {
		wg.Go(func() { pump(errR, s.Stderr()) })
	}
	inCtx, inCancel := context.WithCancel(ctx)
	if inW != nil {
		wg.Go(func() { feed(inCtx, input, inW, s) })
	}
	pump(outR, s.Stdout())
	state, werr := proc.Wait()
	inCancel()
	wg.Wait()
	if werr != nil {
		return worker.Status{}, fmt.Errorf("exec: %s: wait: %w", s.Node(), werr)
	}
	ws := state.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return worker.Signaled(ws.Signal()), ctx.Err()
	}
	return worker.Exited(ws.ExitStatus()), ctx.Err()
}

// pump copies r to w until end of file, then closes r.
func pump(r *os.File, w io.Writer) {
	bp := bufPool.Get().(*[]byte)
	buf := *bp
	for {
		n, err := r.Read(buf)
		if n > 0 {
			w.Write(buf[:n])
		}
		if err != nil {
			break
		}
	}
	bufPool.Put(bp)
	r.Close()
}

// feed writes the broadcast input to the process until it ends.
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
