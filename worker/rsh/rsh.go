package rsh

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"sync"

	"github.com/muster-sh/muster/worker"
	"github.com/muster-sh/muster/worker/internal/proc"
)

// Config holds the settings of the rsh transport, named after
// ClusterShell's rsh_* and rcp_* task settings. The zero value runs "rsh"
// and "rcp" from PATH.
type Config struct {
	// RshPath is the rsh program, possibly several words (mrsh, krsh, ...);
	// default "rsh". A leading ~ in a word is the home directory.
	RshPath string
	// RcpPath is the rcp program; default "rcp".
	RcpPath string
	// User is the remote login name (-l); empty: the program's default.
	User string
	// Options are extra rsh arguments, split like a shell would.
	Options string
	// RcpOptions are extra rcp arguments; empty: Options.
	RcpOptions string
	// Env is the programs' environment; nil: the current process's.
	Env []string
}

// Transport runs commands with rsh and copies with rcp, one process per
// node. Make one with New; it is safe for concurrent use.
type Transport struct {
	rsh, rcp         []string
	rshOpts, rcpOpts []string
	user             string
	env              []string
}

var _ worker.Transport = (*Transport)(nil)

// New checks cfg and returns a transport. It fails with an error matching
// openssh.ErrSyntax when a path or options string has unbalanced quotes.
func New(cfg Config) (*Transport, error) {
	t := &Transport{user: cfg.User, env: cfg.Env}
	var err error
	if t.rsh, err = proc.Program("rsh: rsh path", cfg.RshPath, "rsh"); err != nil {
		return nil, err
	}
	if t.rcp, err = proc.Program("rsh: rcp path", cfg.RcpPath, "rcp"); err != nil {
		return nil, err
	}
	if t.rshOpts, err = proc.SplitWords(cfg.Options); err != nil {
		return nil, fmt.Errorf("rsh: options: %w", err)
	}
	rcpOpts := cfg.RcpOptions
	if rcpOpts == "" {
		rcpOpts = cfg.Options
	}
	if t.rcpOpts, err = proc.SplitWords(rcpOpts); err != nil {
		return nil, fmt.Errorf("rsh: rcp options: %w", err)
	}
	return t, nil
}

// Name returns "rsh".
func (t *Transport) Name() string { return "rsh" }

// retcodeSuffix is appended to every command: rsh does not report the
// remote command's exit status, so the remote shell prints it.
const retcodeSuffix = "; echo XXRETCODE: $?"

// RshArgv returns the rsh command line that runs line on node: the rsh
// program, [-l user], the options, the node, the line verbatim, and a last
// argument that makes the remote shell print the exit status
// ("; echo XXRETCODE: $?"), which the driver removes from the output.
func (t *Transport) RshArgv(node, line string) []string {
	argv := make([]string, 0, len(t.rsh)+len(t.rshOpts)+5)
	argv = append(argv, t.rsh...)
	if t.user != "" {
		argv = append(argv, "-l", t.user)
	}
	argv = append(argv, t.rshOpts...)
	return append(argv, node, line, retcodeSuffix)
}

// RcpArgv returns the rcp command line for cp and node: rcp [-r] [-p]
// [options] then the source and destination, the remote one written
// [user@]node:path. A reverse copy (always -r: the remote source's type is
// not known here) lands in cp.Dest/<base of source>.<node>.
func (t *Transport) RcpArgv(cp worker.Copy, isDir bool, node string) []string {
	argv := make([]string, 0, len(t.rcp)+len(t.rcpOpts)+4)
	argv = append(argv, t.rcp...)
	if isDir || cp.Reverse {
		argv = append(argv, "-r")
	}
	if cp.Preserve {
		argv = append(argv, "-p")
	}
	argv = append(argv, t.rcpOpts...)
	remote := func(path string) string {
		if t.user != "" {
			return t.user + "@" + node + ":" + path
		}
		return node + ":" + path
	}
	if cp.Reverse {
		return append(argv, remote(cp.Source), proc.ReverseDest(cp, node))
	}
	return append(argv, cp.Source, remote(cp.Dest))
}

// Command returns a driver that runs cmd.Line on each node with rsh.
func (t *Transport) Command(cmd worker.Command) (worker.Driver, error) {
	if len(cmd.Line) == 0 {
		return nil, fmt.Errorf("rsh: command %q: %w", cmd.Line, proc.ErrEmptyCommand)
	}
	return &rshDriver{t: t, line: cmd.Line}, nil
}

// Copy returns a driver that copies with rcp. For a reverse copy cp.Dest
// must be an existing local directory.
func (t *Transport) Copy(cp worker.Copy) (worker.Driver, error) {
	d := &rcpDriver{t: t, cp: cp}
	isDir, err := proc.CheckCopy("rsh", cp)
	if err != nil {
		return nil, err
	}
	d.isDir = isDir
	return d, nil
}

type rshDriver struct {
	t    *Transport
	line string
}

// Run runs rsh for the node. The exit status is the one the remote shell
// printed when rsh itself exited 0 or 1 (as ClusterShell does). Without
// it, a non-zero rsh exit means the command never completed remotely and
// is returned as a *openssh.ConnError, and a zero exit is returned as is:
// a command line that ends the remote shell itself ("exit 3", "exec
// prog") never reaches the status line, and rsh does not carry the
// status (this is rsh's limit, shared with ClusterShell).
func (d *rshDriver) Run(ctx context.Context, s worker.Session) (worker.Status, error) {
	argv := d.t.RshArgv(s.Node(), d.line)
	rc := &RetcodeFilter{W: s.Stdout()}
	errs := &lastLine{w: s.Stderr()}
	st, err := proc.RunClient(ctx, s, proc.Client{
		Argv: argv, Env: d.t.env, Stdout: rc, Stderr: errs, SeparatePipes: true,
	})
	code, ok := rc.Close()
	if err != nil {
		return st, err
	}
	switch {
	case ok && st.Signal == 0 && (st.Code == 0 || st.Code == 1):
		return worker.Exited(code), nil
	case !ok && st.Code != 0 && st.Signal == 0:
		msg, kind := errs.Reason()
		return st, &proc.ConnError{Program: "rsh", Node: s.Node(), Code: st.Code, Kind: kind, Message: msg}
	}
	return st, nil
}

type rcpDriver struct {
	t     *Transport
	cp    worker.Copy
	isDir bool
}

// Run runs rcp for the node. A failure whose message reads like a
// connection failure is returned as a *openssh.ConnError; other failures
// are the node's exit status.
func (d *rcpDriver) Run(ctx context.Context, s worker.Session) (worker.Status, error) {
	argv := d.t.RcpArgv(d.cp, d.isDir, s.Node())
	errs := &lastLine{w: s.Stderr()}
	st, err := proc.RunClient(ctx, s, proc.Client{Argv: argv, Env: d.t.env, Stderr: errs, NoStdin: true, SeparatePipes: true})
	if err != nil {
		return st, err
	}
	if st.Code != 0 && st.Signal == 0 {
		if msg, k := errs.Reason(); k != proc.KindOther {
			return st, &proc.ConnError{Program: "rcp", Node: s.Node(), Code: st.Code, Kind: k, Message: msg}
		}
	}
	return st, nil
}

// lastLine passes writes on and remembers the last few non-empty lines.
type lastLine struct {
	w     io.Writer
	mu    sync.Mutex
	cur   []byte
	lines []string // the last complete lines, oldest first
}

func (l *lastLine) Write(p []byte) (int, error) {
	l.mu.Lock()
	for _, c := range p {
		if c == '\n' {
			if len(l.cur) > 0 {
				if len(l.lines) == 4 {
					l.lines = append(l.lines[:0], l.lines[1:]...)
				}
				l.lines = append(l.lines, string(l.cur))
			}
			l.cur = l.cur[:0]
		} else if len(l.cur) < 1024 {
			l.cur = append(l.cur, c)
		}
	}
	l.mu.Unlock()
	return l.w.Write(p)
}

// Reason returns the most recent line that reads like a connection
// failure and its kind, or the last line and KindOther.
func (l *lastLine) Reason() (string, proc.Kind) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lines := l.lines
	if len(l.cur) > 0 {
		lines = append(lines[:len(lines):len(lines)], string(l.cur))
	}
	for i := len(lines) - 1; i >= 0; i-- {
		if k := proc.Classify(lines[i]); k != proc.KindOther {
			return lines[i], k
		}
	}
	if len(lines) == 0 {
		return "", proc.KindOther
	}
	return lines[len(lines)-1], proc.KindOther
}

// magic is what the remote shell prints before the exit status.
const magic = "XXRETCODE: "

// window bounds how much of the stream's end may be held back: the magic,
// up to 20 digits and the newline.
const window = len(magic) + 21

// RetcodeFilter passes a stream on to W, except for a final
// "XXRETCODE: N\n" (the exit status printed by the remote shell), which it
// removes and parses. The status line may follow output that has no final
// newline; an earlier occurrence, followed by more output, is data. Only
// the bytes that could start the status line are held back until more
// data or Close, so output reaches W as it arrives.
type RetcodeFilter struct {
	W    io.Writer // where the output without the status line goes
	mu   sync.Mutex
	pend []byte
}

// Write passes p on, holding back a possible start of the status line.
func (f *RetcodeFilter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pend = append(f.pend, p...)
	cut := holdFrom(f.pend)
	if cut > 0 {
		if _, err := f.W.Write(f.pend[:cut]); err != nil {
			return len(p), err
		}
		f.pend = append(f.pend[:0], f.pend[cut:]...)
	}
	return len(p), nil
}

// Close ends the stream: it returns the status when the stream ended with
// a status line, and otherwise passes on what it held.
func (f *RetcodeFilter) Close() (code int, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.pend
	f.pend = nil
	if len(p) > len(magic)+1 && p[len(p)-1] == '\n' && isMagicPrefix(p) {
		if n, err := strconv.Atoi(string(p[len(magic) : len(p)-1])); err == nil {
			return n, true
		}
	}
	if len(p) > 0 {
		_, _ = f.W.Write(p)
	}
	return 0, false
}

// holdFrom returns where the possible start of a status line begins in b
// (len(b) if none).
func holdFrom(b []byte) int {
	for i := max(0, len(b)-window); i < len(b); i++ {
		if b[i] == 'X' && isMagicPrefix(b[i:]) {
			return i
		}
	}
	return len(b)
}

// isMagicPrefix reports whether b is a prefix of a status line:
// "XXRETCODE: " then digits then one newline, which must end b.
func isMagicPrefix(b []byte) bool {
	n := min(len(b), len(magic))
	if string(b[:n]) != magic[:n] {
		return false
	}
	rest := b[n:]
	for j, c := range rest {
		switch {
		case c >= '0' && c <= '9':
		case c == '\n' && j > 0 && j == len(rest)-1:
		default:
			return false
		}
	}
	return len(rest) <= 21
}
