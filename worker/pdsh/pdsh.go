package pdsh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/muster-sh/muster/worker"
	"github.com/muster-sh/muster/worker/internal/proc"
)

// Config holds the settings of the pdsh transport, named after
// ClusterShell's pdsh_path, pdcp_path and rpdcp_path. The zero value runs
// pdsh, pdcp and rpdcp from PATH with pdsh's own defaults.
type Config struct {
	// PdshPath, PdcpPath and RpdcpPath are the programs (possibly several
	// words); defaults "pdsh", "pdcp", "rpdcp".
	PdshPath, PdcpPath, RpdcpPath string
	// Rcmd is the rcmd module (pdsh -R: "ssh", "rsh", "exec", ...); empty:
	// pdsh's default (PDSH_RCMD_TYPE or its built-in choice).
	Rcmd string
	// Fanout is pdsh's own fanout (-f); 0: pdsh's default (32).
	Fanout int
	// User is the remote login name (-l); empty: pdsh's default.
	User string
	// Options are extra pdsh/pdcp/rpdcp arguments, split like a shell would.
	Options string
	// SSHArgs, when set, replaces the arguments pdsh's ssh module gives ssh
	// (PDSH_SSH_ARGS, default "-2 -a -x -l%u %h"); pdsh splits it on blanks.
	SSHArgs string
	// SSHOptions are extra ssh options (muster run -o, ClusterShell's
	// ssh_options), added to PDSH_SSH_ARGS_APPEND after any it already
	// holds; pdsh splits them on blanks, so a value cannot hold a blank.
	SSHOptions string
	// Env is the programs' environment; nil: the current process's.
	Env []string
}

// Transport runs a command on a whole node set with one pdsh process, and
// copies with pdcp (rpdcp for reverse copies). Make one with New; it is
// safe for concurrent use.
type Transport struct {
	pdsh, pdcp, rpdcp []string
	opts              []string
	cfg               Config
}

var _ worker.Transport = (*Transport)(nil)

// New checks cfg and returns a transport. It fails with an error matching
// openssh.ErrSyntax when a path or the options have unbalanced quotes.
func New(cfg Config) (*Transport, error) {
	t := &Transport{cfg: cfg}
	var err error
	if t.pdsh, err = proc.Program("pdsh: pdsh path", cfg.PdshPath, "pdsh"); err != nil {
		return nil, err
	}
	if t.pdcp, err = proc.Program("pdsh: pdcp path", cfg.PdcpPath, "pdcp"); err != nil {
		return nil, err
	}
	if t.rpdcp, err = proc.Program("pdsh: rpdcp path", cfg.RpdcpPath, "rpdcp"); err != nil {
		return nil, err
	}
	if t.opts, err = proc.Options("pdsh: options", cfg.Options); err != nil {
		return nil, err
	}
	if cfg.Fanout < 0 {
		return nil, fmt.Errorf("pdsh: fanout %d: expected 0 (pdsh's default) or more", cfg.Fanout)
	}
	return t, nil
}

// Name returns "pdsh".
func (t *Transport) Name() string { return "pdsh" }

// maxInlineTargets is the longest -w argument; longer node lists go
// through a file (-w ^file), below the kernel's limit for one argument.
const maxInlineTargets = 64 << 10

func (t *Transport) common(prog []string) []string {
	argv := append([]string{}, prog...)
	argv = append(argv, "-b")
	if t.cfg.Rcmd != "" {
		argv = append(argv, "-R", t.cfg.Rcmd)
	}
	if t.cfg.Fanout > 0 {
		argv = append(argv, "-f", strconv.Itoa(t.cfg.Fanout))
	}
	if t.cfg.User != "" {
		argv = append(argv, "-l", t.cfg.User)
	}
	return argv
}

// PdshArgv returns the pdsh command line for line on targets (a -w
// argument: comma-separated nodes or ^file): pdsh -b [-R rcmd] [-f N]
// [-l user] [-t timeout] [options] -w targets line. The connect timeout
// is also given to ssh (see Transport.Command); pdsh's own -t matters
// too, as pdsh otherwise waits its default 10 s after ssh gave up.
func (t *Transport) PdshArgv(targets, line string, connectTimeout time.Duration) []string {
	argv := t.common(t.pdsh)
	if connectTimeout > 0 {
		argv = append(argv, "-t", strconv.Itoa(seconds(connectTimeout)))
	}
	argv = append(argv, t.opts...)
	return append(argv, "-w", targets, line)
}

// PdcpArgv returns the pdcp (or, for a reverse copy, rpdcp) command line:
// [-R rcmd] [-f N] [-l user] [-t timeout] [options] -w targets [-r] [-p]
// source dest. A reverse copy always has -r (the remote source's type is
// not known here); rpdcp itself names the copies dest/<base>.<node>.
func (t *Transport) PdcpArgv(cp worker.Copy, isDir bool, targets string, connectTimeout time.Duration) []string {
	prog := t.pdcp
	if cp.Reverse {
		prog = t.rpdcp
	}
	argv := t.common(prog)
	if connectTimeout > 0 {
		argv = append(argv, "-t", strconv.Itoa(seconds(connectTimeout)))
	}
	argv = append(argv, t.opts...)
	argv = append(argv, "-w", targets)
	if isDir || cp.Reverse {
		argv = append(argv, "-r")
	}
	if cp.Preserve {
		argv = append(argv, "-p")
	}
	return append(argv, cp.Source, cp.Dest)
}

func seconds(d time.Duration) int { return int(math.Ceil(d.Seconds())) }

// env returns the environment for a run: PDSH_SSH_ARGS when configured,
// and PDSH_SSH_ARGS_APPEND extended with SSHOptions, the connect timeout and, for
// commands, -n (pdsh never closes the remote standard input, so without
// it a command reading its input would wait forever).
func (t *Transport) env(connectTimeout time.Duration, command bool) []string {
	base := t.cfg.Env
	if base == nil {
		base = os.Environ()
	}
	env := make([]string, 0, len(base)+2)
	appendArgs := ""
	for _, kv := range base {
		switch {
		case strings.HasPrefix(kv, "PDSH_SSH_ARGS_APPEND="):
			appendArgs = strings.TrimPrefix(kv, "PDSH_SSH_ARGS_APPEND=")
		case strings.HasPrefix(kv, "PDSH_SSH_ARGS=") && t.cfg.SSHArgs != "":
		default:
			env = append(env, kv)
		}
	}
	if t.cfg.SSHArgs != "" {
		env = append(env, "PDSH_SSH_ARGS="+t.cfg.SSHArgs)
	}
	if o := strings.TrimSpace(t.cfg.SSHOptions); o != "" {
		appendArgs = strings.TrimSpace(appendArgs + " " + o)
	}
	if connectTimeout > 0 {
		appendArgs = strings.TrimSpace(appendArgs + " -o ConnectTimeout=" + strconv.Itoa(seconds(connectTimeout)))
	}
	if command {
		appendArgs = strings.TrimSpace(appendArgs + " -n")
	}
	if appendArgs != "" {
		env = append(env, "PDSH_SSH_ARGS_APPEND="+appendArgs)
	}
	return env
}

// ErrStdin is matched (with worker.ErrUnsupported) by the error every node
// gets when standard input is enabled: pdsh does not forward it.
var ErrStdin = fmt.Errorf("pdsh cannot forward standard input: %w", worker.ErrUnsupported)

// Command returns a driver that runs cmd.Line on the nodes with pdsh.
func (t *Transport) Command(cmd worker.Command) (worker.Driver, error) {
	if strings.TrimSpace(cmd.Line) == "" {
		return nil, fmt.Errorf("pdsh: command %q: %w", cmd.Line, proc.ErrEmptyCommand)
	}
	return &Driver{t: t, line: cmd.Line}, nil
}

// Copy returns a driver that copies with pdcp, or rpdcp for a reverse
// copy, whose cp.Dest must be an existing local directory. pdcp must be
// installed on the nodes too.
func (t *Transport) Copy(cp worker.Copy) (worker.Driver, error) {
	d := &Driver{t: t, copy: true, cp: cp}
	isDir, err := proc.CheckCopy("pdsh", cp)
	if err != nil {
		return nil, err
	}
	d.isDir = isDir
	return d, nil
}

// Driver runs one pdsh (or pdcp) process for a whole node set. It is a
// worker.BatchDriver: the task engine calls RunAll once per worker.
type Driver struct {
	t     *Transport
	line  string
	copy  bool
	cp    worker.Copy
	isDir bool
}

var _ worker.BatchDriver = (*Driver)(nil)

// Run runs the work for one node, with its own pdsh process (RunAll on
// one session).
func (d *Driver) Run(ctx context.Context, s worker.Session) (worker.Status, error) {
	sts, errs := d.RunAll(ctx, []worker.Session{s})
	return sts[0], errs[0]
}

// ToolError reports that pdsh (or pdcp) itself failed (bad option, unknown
// rcmd module, ...) before reporting on a node.
type ToolError struct {
	Program string // the tool, e.g. "pdsh"
	Code    int    // its exit code
	Message string // the tool's last message
}

// Error names the tool, its exit code and its last message, if any.
func (e *ToolError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("%s exited with %d", e.Program, e.Code)
	}
	return fmt.Sprintf("%s exited with %d: %s", e.Program, e.Code, e.Message)
}

// RunAll runs one pdsh process for every session's node and blocks until
// it ends. Output lines are handed to each node's session without the
// "node: " prefix. A node's status is the exit code pdsh reports for it
// ("... exited with exit code N"), 0 when pdsh reports none. An exit code
// 255 from a node that printed nothing on standard output is returned as
// a *openssh.ConnError (pdsh cannot tell ssh's connection failures from a
// command exiting 255; a command that exits 255 silently is taken for
// one). When ctx ends, pdsh and its children are killed, and every node
// not reported yet gets ctx.Err().
func (d *Driver) RunAll(ctx context.Context, sessions []worker.Session) ([]worker.Status, []error) {
	sts := make([]worker.Status, len(sessions))
	errs := make([]error, len(sessions))
	if len(sessions) == 0 {
		return sts, errs
	}
	if !d.copy && sessions[0].Stdin() != nil {
		for i, s := range sessions {
			errs[i] = fmt.Errorf("pdsh: %s: %w", s.Node(), ErrStdin)
		}
		return sts, errs
	}
	prog := "pdsh"
	if d.copy {
		prog = "pdcp"
		if d.cp.Reverse {
			prog = "rpdcp"
		}
	}
	names := make([]string, len(sessions))
	for i, s := range sessions {
		names[i] = s.Node()
	}
	targets, cleanup, err := targetsArg(names)
	if err != nil {
		for i := range errs {
			errs[i] = fmt.Errorf("pdsh: %w", err)
		}
		return sts, errs
	}
	defer cleanup()
	ctout := sessions[0].ConnectTimeout()
	var argv []string
	if d.copy {
		argv = d.t.PdcpArgv(d.cp, d.isDir, targets, ctout)
	} else {
		argv = d.t.PdshArgv(targets, d.line, ctout)
	}

	dm := newDemux(sessions)
	batch := &batchSession{sessions: sessions, out: &splitter{fn: dm.stdoutLine}, err: &splitter{fn: dm.stderrLine}}
	st, runErr := proc.RunClient(ctx, batch, proc.Client{
		Argv: argv, Env: d.t.env(ctout, !d.copy), NoStdin: true,
	})
	batch.out.flush()
	batch.err.flush()

	dm.mu.Lock()
	defer dm.mu.Unlock()
	for i, s := range sessions {
		n := dm.nodes[s.Node()]
		switch {
		case n.reported && n.code == 255 && !n.stdout:
			errs[i] = &proc.ConnError{Program: prog, Node: s.Node(), Code: 255, Kind: n.kind(), Message: n.last}
		case n.reported:
			sts[i] = worker.Exited(n.code)
		case runErr != nil:
			errs[i] = runErr
		case n.failed:
			if k := n.kind(); k != proc.KindOther {
				errs[i] = &proc.ConnError{Program: prog, Node: s.Node(), Code: 1, Kind: k, Message: n.last}
			} else {
				sts[i] = worker.Exited(1)
			}
		case st.Signal != 0 || st.Code != 0:
			errs[i] = &ToolError{Program: prog, Code: st.Code, Message: dm.toolMsg}
		}
	}
	return sts, errs
}

// targetsArg returns the -w argument for names: a comma-separated list,
// or ^file for long lists.
func targetsArg(names []string) (string, func(), error) {
	list := strings.Join(names, ",")
	if len(list) <= maxInlineTargets {
		return list, func() {}, nil
	}
	f, err := os.CreateTemp("", "muster-pdsh-*.hosts")
	if err != nil {
		return "", nil, fmt.Errorf("node list file: %w", err)
	}
	_, werr := io.WriteString(f, strings.Join(names, "\n")+"\n")
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(f.Name())
		return "", nil, fmt.Errorf("node list file: %w", err)
	}
	return "^" + f.Name(), func() { os.Remove(f.Name()) }, nil
}

// nodeState is what pdsh said about one node.
type nodeState struct {
	s        worker.Session
	reported bool // an exit code line was seen
	code     int
	stdout   bool   // the node printed on standard output
	failed   bool   // pdsh printed an error about the node
	last     string // the node's last standard error line or pdsh message about it
}

func (n *nodeState) kind() proc.Kind { return proc.Classify(n.last) }

// demux hands pdsh's lines to the nodes' sessions.
type demux struct {
	mu      sync.Mutex
	nodes   map[string]*nodeState
	first   worker.Session
	toolMsg string
}

func newDemux(sessions []worker.Session) *demux {
	dm := &demux{nodes: make(map[string]*nodeState, len(sessions)), first: sessions[0]}
	for _, s := range sessions {
		dm.nodes[s.Node()] = &nodeState{s: s}
	}
	return dm
}

// node returns the state of a node pdsh named, or nil for a name that is
// not one of the sessions'.
func (dm *demux) node(name string) *nodeState {
	dm.mu.Lock()
	defer dm.mu.Unlock()
	return dm.nodes[name]
}

// body returns the part of line (with its newline, if any) that is l.Text.
func body(line []byte, l Line) []byte {
	end := len(line)
	if end > 0 && line[end-1] == '\n' {
		end--
	}
	return line[end-len(l.Text):]
}

func trimNL(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == '\n' {
		return b[:len(b)-1]
	}
	return b
}

func (dm *demux) stdoutLine(line []byte) {
	l := ParseLine(trimNL(line))
	if l.Kind == LineNode {
		if n := dm.node(l.Node); n != nil {
			dm.mu.Lock()
			n.stdout = true
			dm.mu.Unlock()
			_, _ = n.s.Stdout().Write(body(line, l))
			return
		}
	}
	dm.tool(trimNL(line))
}

func (dm *demux) stderrLine(line []byte) {
	l := ParseLine(trimNL(line))
	var n *nodeState
	if l.Node != "" {
		n = dm.node(l.Node)
	}
	if n == nil {
		if l.Kind == LineSignal {
			dm.first.Debugf("PDSH: %s", trimNL(line))
			return
		}
		dm.tool(trimNL(line))
		return
	}
	switch l.Kind {
	case LineNode:
		dm.setLast(n, l.Text, false)
		_, _ = n.s.Stderr().Write(body(line, l))
	case LineExit:
		dm.mu.Lock()
		n.reported, n.code = true, l.Code
		dm.mu.Unlock()
		n.s.Debugf("PDSH: %s", l.Text)
	case LineTimeout:
		n.s.Debugf("PDSH: %s", l.Text)
	case LineNodeError:
		dm.setLast(n, l.Text, true)
		_, _ = n.s.Stderr().Write(body(line, l))
	}
}

func (dm *demux) setLast(n *nodeState, text []byte, failed bool) {
	dm.mu.Lock()
	defer dm.mu.Unlock()
	if t := strings.TrimSpace(string(text)); t != "" {
		n.last = t
	}
	if failed {
		n.failed = true
	}
}

func (dm *demux) tool(line []byte) {
	dm.mu.Lock()
	if t := strings.TrimSpace(string(line)); t != "" {
		dm.toolMsg = t
	}
	dm.mu.Unlock()
	dm.first.Debugf("PDSH: %s", line)
}

// splitter cuts a stream into lines (each with its newline) for fn; the
// last line may lack one.
type splitter struct {
	mu      sync.Mutex
	partial []byte
	fn      func(line []byte)
}

func (sp *splitter) Write(p []byte) (int, error) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := indexNL(p)
		if i < 0 {
			sp.partial = append(sp.partial, p...)
			break
		}
		if len(sp.partial) > 0 {
			sp.partial = append(sp.partial, p[:i+1]...)
			sp.fn(sp.partial)
			sp.partial = sp.partial[:0]
		} else {
			sp.fn(p[:i+1])
		}
		p = p[i+1:]
	}
	return n, nil
}

func indexNL(p []byte) int {
	for i, c := range p {
		if c == '\n' {
			return i
		}
	}
	return -1
}

func (sp *splitter) flush() {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if len(sp.partial) > 0 {
		sp.fn(sp.partial)
		sp.partial = nil
	}
}

// batchSession is the session RunClient sees for the one pdsh process.
type batchSession struct {
	sessions []worker.Session
	out, err *splitter
}

func (b *batchSession) Node() string { return "pdsh" }
func (b *batchSession) Rank() int    { return 0 }
func (b *batchSession) Started() {
	for _, s := range b.sessions {
		s.Started()
	}
}
func (b *batchSession) Stdout() io.Writer                 { return b.out }
func (b *batchSession) Stderr() io.Writer                 { return b.err }
func (b *batchSession) MergedStderr() bool                { return false }
func (b *batchSession) Stdin() worker.Input               { return nil }
func (b *batchSession) Written(int)                       {}
func (b *batchSession) ConnectTimeout() time.Duration     { return b.sessions[0].ConnectTimeout() }
func (b *batchSession) Debugf(format string, args ...any) { b.sessions[0].Debugf(format, args...) }
