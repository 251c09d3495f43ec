package sshworker

import (
	"context"
	"errors"
	"fmt"
	"syscall"

	"github.com/muster-sh/muster/worker"
)

// Transport is the native ssh transport of the task engine (worker.Transport):
// each node's command or copy runs as a session on the node's pooled
// connection of one Client, so a task's several commands and copies to a
// node, and every node behind one jump host, share connections.
//
// A node that cannot be reached makes Driver.Run return its *ConnectError
// (the engine reports exit code 255 and keeps the error, see
// task.Worker.NodeErr); a command that ran returns its own exit status.
type Transport struct {
	client *Client
	own    bool
}

// NewTransport returns a Transport with a new Client for opts; Close
// closes it.
func NewTransport(opts Options) (*Transport, error) {
	c, err := New(opts)
	if err != nil {
		return nil, err
	}
	return &Transport{client: c, own: true}, nil
}

// TransportFor returns a Transport using c, which the caller keeps and
// closes.
func TransportFor(c *Client) *Transport { return &Transport{client: c} }

// Client returns the transport's Client.
func (t *Transport) Client() *Client { return t.client }

// Close closes the Client if NewTransport made it.
func (t *Transport) Close() error {
	if t.own {
		return t.client.Close()
	}
	return nil
}

// Name returns "ssh".
func (t *Transport) Name() string { return "ssh" }

// Command returns a driver running cmd.Line on each node. The line goes to
// the node's login shell as is (as ssh(1) sends it), whatever cmd.Shell says.
func (t *Transport) Command(cmd worker.Command) (worker.Driver, error) {
	if cmd.Line == "" {
		return nil, fmt.Errorf("ssh: empty command")
	}
	return &commandDriver{t: t, line: cmd.Line}, nil
}

// Copy returns a driver copying cp.Source to cp.Dest on each node over
// SFTP, or with cp.Reverse from each node into the local directory
// cp.Dest as Dest/<base>.<node>.
func (t *Transport) Copy(cp worker.Copy) (worker.Driver, error) {
	if cp.Source == "" || cp.Dest == "" {
		return nil, fmt.Errorf("ssh: copy needs a source and a destination, got %q and %q", cp.Source, cp.Dest)
	}
	return &copyDriver{t: t, cp: cp}, nil
}

type commandDriver struct {
	t    *Transport
	line string
}

// Run runs the command on s.Node() and returns its status; see worker.Driver.
func (d *commandDriver) Run(ctx context.Context, s worker.Session) (worker.Status, error) {
	ro := RunOptions{
		Stdout:         s.Stdout(),
		Stderr:         s.Stderr(),
		ConnectTimeout: s.ConnectTimeout(),
	}
	inCtx, stopInput := context.WithCancel(ctx)
	defer stopInput()
	if in := s.Stdin(); in != nil {
		ro.Stdin = &inputReader{ctx: inCtx, in: in}
		ro.OnStdinWritten = s.Written
	}
	s.Debugf("SSH: %s %q", s.Node(), d.line)
	sess, err := d.t.client.Start(ctx, s.Node(), d.line, ro)
	if err != nil {
		if ctx.Err() != nil {
			return worker.Status{}, ctx.Err()
		}
		return worker.Status{}, err
	}
	s.Started()
	st, err := sess.Wait()
	if err != nil {
		if ctx.Err() != nil {
			return worker.Status{}, ctx.Err()
		}
		return worker.Status{}, err
	}
	return toStatus(st), nil
}

// toStatus converts an ExitStatus to the engine's Status.
func toStatus(st ExitStatus) worker.Status {
	if st.Signal != "" {
		if n, ok := signalNumbers[st.Signal]; ok {
			return worker.Signaled(syscall.Signal(n))
		}
	}
	return worker.Exited(st.Code)
}

// inputReader reads the engine's broadcast input as an io.Reader.
type inputReader struct {
	ctx context.Context
	in  worker.Input
	buf []byte
}

func (r *inputReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		chunk, err := r.in.Next(r.ctx)
		if err != nil {
			return 0, err
		}
		r.buf = chunk
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

type copyDriver struct {
	t  *Transport
	cp worker.Copy
}

// Run copies to or from s.Node(). A node that cannot be reached is an
// error; a copy that fails on a reachable node (missing file, permission)
// is reported on the node's stderr with exit code 1, as scp does.
func (d *copyDriver) Run(ctx context.Context, s worker.Session) (worker.Status, error) {
	co := CopyOptions{Preserve: d.cp.Preserve, ConnectTimeout: s.ConnectTimeout()}
	// connect first so that the node is picked up once it is reachable
	cn, err := d.t.client.connect(ctx, s.Node(), co.ConnectTimeout)
	if err != nil {
		if ctx.Err() != nil {
			return worker.Status{}, ctx.Err()
		}
		return worker.Status{}, err
	}
	defer d.t.client.release(cn)
	s.Started()
	if d.cp.Reverse {
		s.Debugf("SFTP: %s:%s -> %s", s.Node(), d.cp.Source, RcopyName(d.cp.Dest, d.cp.Source, s.Node()))
		_, err = d.t.client.Rcopy(ctx, s.Node(), d.cp.Source, d.cp.Dest, co)
	} else {
		s.Debugf("SFTP: %s -> %s:%s", d.cp.Source, s.Node(), d.cp.Dest)
		err = d.t.client.Copy(ctx, s.Node(), d.cp.Source, d.cp.Dest, co)
	}
	if err == nil {
		return worker.Exited(0), nil
	}
	if ctx.Err() != nil {
		return worker.Status{}, ctx.Err()
	}
	var ce *ConnectError
	if errors.As(err, &ce) {
		return worker.Status{}, err
	}
	fmt.Fprintf(s.Stderr(), "%v\n", err)
	return worker.Exited(1), nil
}

var _ worker.Transport = (*Transport)(nil)
