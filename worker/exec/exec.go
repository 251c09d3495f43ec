package exec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/muster-sh/muster/nodeset"
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
	if strings.Contains(cmd.Line, "%hosts") || strings.Contains(cmd.Line, "%{hosts}") {
		return &HostsDriver{d}, nil
	}
	return d, nil
}

// Copy returns a driver that copies locally with cp, once per node, with
// the placeholders of Source and Dest substituted: "cp [-r] [-p] SOURCE
// DEST" (-r when Source is a directory). With Reverse, Dest must be a
// directory and each node's copy lands as DEST/<base of SOURCE>.<node>
// (ClusterShell's exec worker swaps the paths instead; muster keeps the
// meaning rcopy has for every other worker).
func (t Transport) Copy(cp worker.Copy) (worker.Driver, error) {
	for _, p := range []string{cp.Source, cp.Dest} {
		if err := Check(p); err != nil {
			return nil, err
		}
	}
	d := &CopyDriver{cp: cp, run: &Driver{env: t.Env}}
	if d.run.env == nil {
		d.run.env = os.Environ()
	}
	if cp.Reverse {
		if fi, err := os.Stat(cp.Dest); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("exec: reverse copy of %q: destination %q is not a directory", cp.Source, cp.Dest)
		}
	} else if fi, err := os.Stat(cp.Source); err == nil && fi.IsDir() {
		d.dir = true
	}
	return d, nil
}

// CopyDriver copies files locally with cp, once per node. Make one with
// Transport.Copy.
type CopyDriver struct {
	cp  worker.Copy
	dir bool
	run *Driver
}

// Run copies for one node.
func (c *CopyDriver) Run(ctx context.Context, s worker.Session) (worker.Status, error) {
	src, err := Expand(c.cp.Source, s.Node(), s.Rank())
	if err != nil {
		return worker.Status{}, err
	}
	dest, err := Expand(c.cp.Dest, s.Node(), s.Rank())
	if err != nil {
		return worker.Status{}, err
	}
	argv := []string{"cp"}
	dir := c.dir
	if c.cp.Reverse {
		if fi, err := os.Stat(src); err == nil && fi.IsDir() {
			dir = true
		}
		dest = filepath.Join(dest, filepath.Base(src)+"."+s.Node())
	}
	if dir {
		argv = append(argv, "-r")
	}
	if c.cp.Preserve {
		argv = append(argv, "-p")
	}
	return c.run.run(ctx, append(argv, src, dest), s)
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
	return d.run(ctx, argv, s)
}

// closeAll closes the files that are not nil.
func closeAll(files ...*os.File) {
	for _, f := range files {
		if f != nil {
			f.Close()
		}
	}
}

func (d *Driver) run(ctx context.Context, argv []string, s worker.Session) (worker.Status, error) {
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
		closeAll(outR, outW)
		return worker.Status{}, fmt.Errorf("exec: %s: stderr pipe: %w", s.Node(), err)
	}
	input := s.Stdin()
	var inR, inW *os.File
	if input == nil {
		if inR, err = openDevNull(); err != nil {
			closeAll(outR, outW, errR)
			if errR != nil {
				errW.Close()
			}
			return worker.Status{}, fmt.Errorf("exec: %s: %w", s.Node(), err)
		}
	} else if inR, inW, err = os.Pipe(); err != nil {
		closeAll(outR, outW, errR)
		if errR != nil {
			errW.Close()
		}
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

// HostsDriver runs a command containing %hosts: one process for all the
// worker's nodes, with %hosts (and %h) replaced by the folded node set and
// %n by 0; every output line and the exit status belong to every node, as
// with ClusterShell's exec worker.
type HostsDriver struct{ d *Driver }

var _ worker.BatchDriver = (*HostsDriver)(nil)

// Run runs the command for one node (used only if the engine runs nodes
// one by one).
func (h *HostsDriver) Run(ctx context.Context, s worker.Session) (worker.Status, error) {
	return h.d.Run(ctx, s)
}

// RunAll runs the command once for all sessions.
func (h *HostsDriver) RunAll(ctx context.Context, ss []worker.Session) ([]worker.Status, []error) {
	sts := make([]worker.Status, len(ss))
	errs := make([]error, len(ss))
	if len(ss) == 0 {
		return sts, errs
	}
	names := make([]string, len(ss))
	for i, s := range ss {
		names[i] = s.Node()
	}
	fs := &fanSession{ss: ss, name: nodeset.FromNames(names...).String()}
	st, err := h.d.Run(ctx, fs)
	for i := range ss {
		sts[i], errs[i] = st, err
	}
	return sts, errs
}

// fanSession reports one process's events to several sessions.
type fanSession struct {
	ss   []worker.Session
	name string
	out  io.Writer
	err  io.Writer
	once sync.Once
}

func (f *fanSession) writers() {
	f.once.Do(func() {
		outs := make([]io.Writer, len(f.ss))
		errs := make([]io.Writer, len(f.ss))
		for i, s := range f.ss {
			outs[i], errs[i] = s.Stdout(), s.Stderr()
		}
		f.out, f.err = io.MultiWriter(outs...), io.MultiWriter(errs...)
	})
}

func (f *fanSession) Node() string { return f.name }
func (f *fanSession) Rank() int    { return 0 }
func (f *fanSession) Started() {
	for _, s := range f.ss {
		s.Started()
	}
}
func (f *fanSession) Stdout() io.Writer   { f.writers(); return f.out }
func (f *fanSession) Stderr() io.Writer   { f.writers(); return f.err }
func (f *fanSession) MergedStderr() bool  { return f.ss[0].MergedStderr() }
func (f *fanSession) Stdin() worker.Input { return f.ss[0].Stdin() }
func (f *fanSession) Written(n int) {
	for _, s := range f.ss {
		s.Written(n)
	}
}
func (f *fanSession) ConnectTimeout() time.Duration { return f.ss[0].ConnectTimeout() }
func (f *fanSession) Debugf(format string, args ...any) {
	f.ss[0].Debugf(format, args...)
}
