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
	"time"

	"github.com/muster-sh/muster/nodeset"
	"github.com/muster-sh/muster/worker"
	"github.com/muster-sh/muster/worker/internal/proc"
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

func (d *Driver) run(ctx context.Context, argv []string, s worker.Session) (worker.Status, error) {
	path, err := d.resolve(argv[0])
	if err != nil {
		// Behave like a shell: say so on stderr, exit 127.
		fmt.Fprintf(s.Stderr(), "%s: command not found\n", argv[0])
		s.Started()
		return worker.Exited(127), nil
	}
	s.Debugf("EXEC: %q", argv)
	st, err := proc.RunClient(ctx, s, proc.Client{Path: path, Argv: argv, Env: d.env})
	if err != nil && errors.Is(err, proc.ErrStart) {
		if errors.Is(err, fs.ErrPermission) {
			// Again as a shell does: exit 126.
			fmt.Fprintf(s.Stderr(), "%s: permission denied\n", argv[0])
			s.Started()
			return worker.Exited(126), nil
		}
		return worker.Status{}, fmt.Errorf("exec: %w", err)
	}
	return st, err
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
