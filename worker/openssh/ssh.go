package openssh

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/muster-sh/muster/worker"
	"github.com/muster-sh/muster/worker/internal/proc"
)

// Config holds the settings of the openssh transport, named after
// ClusterShell's ssh_* and scp_* task settings. The zero value runs "ssh"
// and "scp" from PATH with no extra options.
type Config struct {
	// SSHPath is the ssh program, possibly several words ("sshpass -p pw
	// ssh"); default "ssh". A leading ~ in a word is the home directory.
	SSHPath string
	// SCPPath is the scp program; default "scp".
	SCPPath string
	// User is the remote login name (ssh -l); empty: ssh's own default.
	User string
	// SCPUser is the login name for copies; empty: User.
	SCPUser string
	// Options are extra ssh arguments, split like a shell would ("-F cfg
	// -oProxyJump=gw"). They come before the built-in options, so they
	// override them (ssh keeps the first value it sees).
	Options string
	// SCPOptions are extra scp arguments; empty: Options.
	SCPOptions string
	// Env is the environment of ssh and scp; nil: the current process's.
	Env []string
	// NoConnectProbe turns off the connection probe. By default ssh is
	// also given -oPermitLocalCommand=yes and a LocalCommand that prints a
	// marker line, which ssh runs only once it is connected and
	// authenticated; the marker is removed from the output. It is how an
	// exit code 255 is told apart: without the marker it is a connection
	// failure (*ConnError), with it the remote command's own code. Without
	// the probe (or when the user's options set their own LocalCommand, or
	// a ControlMaster connection is reused) every 255 is a *ConnError.
	// Set it for an SSHPath that is not OpenSSH's client (the options
	// would be refused). A connection lost after the command started is
	// the command's exit code 255, not a *ConnError.
	NoConnectProbe bool
}

// Transport runs commands with the ssh program and copies files with scp,
// one process per node. Make one with New; it is safe for concurrent use.
type Transport struct {
	ssh, scp         []string
	sshOpts, scpOpts []string
	user, scpUser    string
	env              []string
	marker           []byte // probe line printed by LocalCommand, with its newline
	probe            bool
}

var _ worker.Transport = (*Transport)(nil)

// New checks cfg and returns a transport. It fails with an error matching
// ErrSyntax when a path or options string has unbalanced quotes.
func New(cfg Config) (*Transport, error) {
	t := &Transport{user: cfg.User, scpUser: cfg.SCPUser, env: cfg.Env, probe: !cfg.NoConnectProbe}
	var err error
	if t.ssh, err = proc.Program("openssh: ssh path", cfg.SSHPath, "ssh"); err != nil {
		return nil, err
	}
	if t.scp, err = proc.Program("openssh: scp path", cfg.SCPPath, "scp"); err != nil {
		return nil, err
	}
	if t.sshOpts, err = proc.Options("openssh: ssh options", cfg.Options); err != nil {
		return nil, err
	}
	if t.scpOpts, err = proc.Options("openssh: scp options", def(cfg.SCPOptions, cfg.Options)); err != nil {
		return nil, err
	}
	if t.scpUser == "" {
		t.scpUser = t.user
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	t.marker = []byte("MUSTER-CONNECTED-" + hex.EncodeToString(b[:]) + "\n")
	return t, nil
}

func def(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// Name returns "ssh", the name ClusterShell's clush uses for this worker
// (-R ssh).
func (t *Transport) Name() string { return "ssh" }

// connectTimeoutArg returns -oConnectTimeout=N for d, rounding a fraction
// of a second up (ssh takes whole seconds), or "" for no limit.
func connectTimeoutArg(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return "-oConnectTimeout=" + strconv.Itoa(int(math.Ceil(d.Seconds())))
}

// SSHArgv returns the ssh command line that runs line on node with the
// given connect timeout: the ssh program, the configured options, then
// -oForwardAgent=no -oForwardX11=no [-l user] [-oConnectTimeout=N]
// -oBatchMode=yes, the probe options, node and line (passed verbatim: the
// remote login shell interprets it).
func (t *Transport) SSHArgv(node, line string, connectTimeout time.Duration) []string {
	argv := make([]string, 0, len(t.ssh)+len(t.sshOpts)+12)
	argv = append(argv, t.ssh...)
	argv = append(argv, t.sshOpts...)
	argv = append(argv, "-oForwardAgent=no", "-oForwardX11=no")
	if t.user != "" {
		argv = append(argv, "-l", t.user)
	}
	if a := connectTimeoutArg(connectTimeout); a != "" {
		argv = append(argv, a)
	}
	argv = append(argv, "-oBatchMode=yes")
	if t.probe {
		argv = append(argv, "-oPermitLocalCommand=yes",
			"-oLocalCommand=echo "+string(t.marker[:len(t.marker)-1]))
	}
	return append(argv, node, line)
}

// SCPArgv returns the scp command line for cp and node: the scp program,
// the scp options (or the ssh options), -r when copying a directory (and
// always for a reverse copy, whose source type is not known here), -p to
// preserve times and modes, [-oConnectTimeout=N], then the source and
// destination, the remote one written [user@][node]:path. A reverse copy
// lands in cp.Dest/<base of source>.<node>.
func (t *Transport) SCPArgv(cp worker.Copy, isDir bool, node string, connectTimeout time.Duration) []string {
	argv := make([]string, 0, len(t.scp)+len(t.scpOpts)+6)
	argv = append(argv, t.scp...)
	argv = append(argv, t.scpOpts...)
	if isDir || cp.Reverse {
		argv = append(argv, "-r")
	}
	if cp.Preserve {
		argv = append(argv, "-p")
	}
	if a := connectTimeoutArg(connectTimeout); a != "" {
		argv = append(argv, a)
	}
	remote := func(path string) string {
		r := "[" + node + "]:" + path
		if t.scpUser != "" {
			r = t.scpUser + "@" + r
		}
		return r
	}
	if cp.Reverse {
		return append(argv, remote(cp.Source), ReverseDest(cp, node))
	}
	return append(argv, cp.Source, remote(cp.Dest))
}

// Command returns a driver that runs cmd.Line on each node with ssh. The
// line is passed verbatim; the remote login shell runs it, whatever
// cmd.Shell says.
func (t *Transport) Command(cmd worker.Command) (worker.Driver, error) {
	if len(bytes.TrimSpace([]byte(cmd.Line))) == 0 {
		return nil, fmt.Errorf("openssh: command %q: %w", cmd.Line, ErrEmptyCommand)
	}
	return &sshDriver{t: t, line: cmd.Line}, nil
}

// Copy returns a driver that copies with scp. For a reverse copy cp.Dest
// must be an existing local directory.
func (t *Transport) Copy(cp worker.Copy) (worker.Driver, error) {
	d := &scpDriver{t: t, cp: cp}
	isDir, err := proc.CheckCopy("openssh", cp)
	if err != nil {
		return nil, err
	}
	d.isDir = isDir
	return d, nil
}

type sshDriver struct {
	t    *Transport
	line string
}

func (d *sshDriver) Run(ctx context.Context, s worker.Session) (worker.Status, error) {
	argv := d.t.SSHArgv(s.Node(), d.line, s.ConnectTimeout())
	return d.t.run(ctx, s, argv, "ssh", d.t.probe, false)
}

type scpDriver struct {
	t     *Transport
	cp    worker.Copy
	isDir bool
}

func (d *scpDriver) Run(ctx context.Context, s worker.Session) (worker.Status, error) {
	argv := d.t.SCPArgv(d.cp, d.isDir, s.Node(), s.ConnectTimeout())
	return d.t.run(ctx, s, argv, "scp", false, true)
}

// run runs one ssh or scp process and maps exit code 255 without the
// probe marker to a *ConnError.
func (t *Transport) run(ctx context.Context, s worker.Session, argv []string, program string, probe, noStdin bool) (worker.Status, error) {
	c := Client{Argv: argv, Env: t.env, NoStdin: noStdin}
	var tail *tailWriter
	out := s.Stdout()
	if s.MergedStderr() {
		tail = &tailWriter{w: out}
		out = tail
	} else {
		tail = &tailWriter{w: s.Stderr()}
		c.Stderr = tail
	}
	var pf *probeFilter
	if probe {
		pf = &probeFilter{marker: t.marker, w: out}
		out = pf
	}
	c.Stdout = out
	st, err := RunClient(ctx, s, c)
	if pf != nil {
		pf.Close()
	}
	if err != nil {
		return st, err
	}
	if st.Signal == 0 && st.Code == 255 && (pf == nil || !pf.Seen()) {
		msg := tail.Last()
		return st, &ConnError{Program: program, Node: s.Node(), Code: 255, Kind: Classify(msg), Message: msg}
	}
	return st, nil
}

// probeFilter removes the probe marker line from the start of a stream
// and records that it was seen. Lines before it (ssh's warnings when
// stderr is merged into stdout) pass through; it stops looking after a
// few lines or once a line cannot be the marker.
type probeFilter struct {
	mu      sync.Mutex
	marker  []byte
	w       io.Writer
	buf     []byte
	seen    bool
	done    bool // stopped looking
	midLine bool // inside a line that is not the marker
	lines   int
}

const probeMaxLines = 32

func (p *probeFilter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(b)
	for len(b) > 0 && !p.done {
		if p.midLine {
			i := bytes.IndexByte(b, '\n')
			if i < 0 {
				if _, err := p.w.Write(b); err != nil {
					return n, err
				}
				return n, nil
			}
			if _, err := p.w.Write(b[:i+1]); err != nil {
				return n, err
			}
			b = b[i+1:]
			p.midLine = false
			p.next()
			continue
		}
		// Collect up to the marker's length.
		need := len(p.marker) - len(p.buf)
		take := min(need, len(b))
		chunk := b[:take]
		if i := bytes.IndexByte(chunk, '\n'); i >= 0 {
			chunk = chunk[:i+1]
		}
		p.buf = append(p.buf, chunk...)
		b = b[len(chunk):]
		switch {
		case bytes.Equal(p.buf, p.marker):
			p.seen, p.done = true, true
			p.buf = p.buf[:0]
		case !bytes.HasPrefix(p.marker, p.buf):
			// Not the marker: let this line through.
			complete := p.buf[len(p.buf)-1] == '\n'
			if _, err := p.w.Write(p.buf); err != nil {
				return n, err
			}
			p.buf = p.buf[:0]
			if complete {
				p.next()
			} else {
				p.midLine = true
			}
		}
	}
	if len(b) > 0 {
		if _, err := p.w.Write(b); err != nil {
			return n, err
		}
	}
	return n, nil
}

func (p *probeFilter) next() {
	p.lines++
	if p.lines >= probeMaxLines {
		p.done = true
	}
}

// Close passes on a partial marker prefix left at end of stream.
func (p *probeFilter) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.buf) > 0 {
		_, _ = p.w.Write(p.buf)
		p.buf = nil
	}
	p.done = true
}

// Seen reports whether the marker was found.
func (p *probeFilter) Seen() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.seen
}
