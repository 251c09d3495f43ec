package sshworker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// ErrExitMissing reports a session that ended without an exit status or
// signal: the connection was lost or the server closed the channel.
var ErrExitMissing = errors.New("sshworker: remote command ended without an exit status")

// RunOptions are the streams and limits of one remote command.
type RunOptions struct {
	// Stdin feeds the command's standard input; nil gives it an empty
	// input (end of file at once). Run copies it in a goroutine that ends
	// when Stdin returns EOF or an error; a Stdin that blocks forever keeps
	// that goroutine (use a Broadcast reader, which Close ends).
	Stdin io.Reader
	// Stdout and Stderr receive the command's output, kept apart; nil
	// discards it. Run returns after both have seen the end of their
	// stream. They are written from goroutines of their own, one each.
	Stdout, Stderr io.Writer
	// Timeout bounds the command once its session is open (the connect
	// timeout bounds the connection); 0 means none. On expiry the command is
	// sent SIGKILL, its session closed, and Run returns ErrCommandTimeout.
	// Whether the remote command ends is up to the server: see "Command
	// timeouts" in the package documentation.
	Timeout time.Duration
	// OnStdinWritten, when set, is called after each write of n bytes to
	// the command's standard input, from the goroutine copying Stdin.
	OnStdinWritten func(n int)
	// ConnectTimeout, when positive, bounds connecting to the node for
	// this call, ranking as Options.ConnectTimeout (a -o ConnectTimeout
	// wins over it, it wins over ssh_config).
	ConnectTimeout time.Duration
	// Env holds NAME=value pairs to request for the session, after those
	// of ssh_config's SetEnv and SendEnv (sshd accepts only the names in
	// its AcceptEnv).
	Env []string
}

// ExitStatus is how a remote command ended.
type ExitStatus struct {
	// Code is the exit code; for a command killed by a signal it is 128
	// plus the signal's number, as a shell reports it.
	Code int
	// Signal is the name of the signal that killed the command ("TERM",
	// "KILL", ...), or "" when it exited.
	Signal string
	// Message is the server's description accompanying a signal, if any.
	Message string
}

// signalNumbers are the RFC 4254 signal names with their Linux numbers.
var signalNumbers = map[string]int{
	"HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "ABRT": 6, "FPE": 8, "KILL": 9,
	"USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14, "TERM": 15,
}

// Run runs cmd on host through the pooled connection and returns its exit
// status. The error is non-nil only when the command could not run to its
// end: a *ConnectError when the node cannot be reached, ErrCommandTimeout,
// the context's error, ErrExitMissing, or a session error. A command that
// ran and failed is a nil error and a non-zero ExitStatus.
func (c *Client) Run(ctx context.Context, host, cmd string, ro RunOptions) (ExitStatus, error) {
	s, err := c.Start(ctx, host, cmd, ro)
	if err != nil {
		return ExitStatus{}, err
	}
	return s.Wait()
}

// Session is a remote command started by Start.
type Session struct {
	host    string
	sess    *ssh.Session
	ctx     context.Context
	parent  context.Context
	cancel  context.CancelFunc
	stdin   io.WriteCloser
	timeout time.Duration
	gates   []*gate
	release func() // ends the session's use of its connection
}

// gate passes writes to w until shut; after shut returns, w is never
// written again (a session abandoned on timeout may still receive data).
type gate struct {
	mu   *sync.Mutex
	w    io.Writer
	shut bool
}

var errGateShut = errors.New("sshworker: output no longer wanted")

func (g *gate) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.shut {
		return 0, errGateShut
	}
	return g.w.Write(p)
}

func (g *gate) close() {
	g.mu.Lock()
	g.shut = true
	g.mu.Unlock()
}

// Start opens a session on host's pooled connection and starts cmd in it;
// Wait waits for its end and must be called. A connection found dead in
// the pool is replaced once. The server bounds the sessions open at once
// on one connection (sshd's MaxSessions, 10 by default): beyond it Start
// fails with the server's refusal.
func (c *Client) Start(ctx context.Context, host, cmd string, ro RunOptions) (*Session, error) {
	var (
		sess *ssh.Session
		cn   *conn
		err  error
	)
	for attempt := 0; ; attempt++ {
		cn, err = c.connect(ctx, host, ro.ConnectTimeout)
		if err != nil {
			return nil, err
		}
		err = c.bounded(ctx, cn, func() (err error) {
			sess, err = cn.client.NewSession()
			return err
		})
		if err == nil {
			break
		}
		var oe *ssh.OpenChannelError
		var ce *ConnectError
		if errors.As(err, &ce) {
			c.release(cn)
			return nil, err
		}
		if ctx.Err() != nil {
			c.release(cn)
			return nil, fmt.Errorf("ssh %s: open session: %w", host, ctx.Err())
		}
		if errors.As(err, &oe) || attempt > 0 {
			c.release(cn)
			return nil, fmt.Errorf("ssh %s: open session: %w", host, err)
		}
		// the connection died while pooled: drop it and dial again
		c.drop(cn)
		c.release(cn)
	}
	s := &Session{host: host, sess: sess, timeout: ro.Timeout}
	var once sync.Once
	s.release = func() { once.Do(func() { c.release(cn) }) }
	// Environment requests want no reply (as ssh(1) sends them): sshd
	// silently drops the names its AcceptEnv does not list, and a round
	// trip per variable would slow every command.
	for _, kv := range append(append([]string{}, cn.host.Env...), ro.Env...) {
		name, value, _ := strings.Cut(kv, "=")
		payload := ssh.Marshal(struct{ Name, Value string }{name, value})
		if _, err := sess.SendRequest("env", false, payload); err != nil {
			logger().Debug("environment variable not sent", "host", host, "name", name, "err", err)
		}
	}
	if cn.host.RequestTTY == "force" {
		// ssh -tt: the command's output (stdout and stderr) comes through
		// the terminal, with its line discipline (\r\n line ends)
		modes := ssh.TerminalModes{ssh.ECHO: 0, ssh.TTY_OP_ISPEED: 38400, ssh.TTY_OP_OSPEED: 38400}
		term := os.Getenv("TERM")
		if term == "" {
			term = "dumb"
		}
		if err := sess.RequestPty(term, 24, 80, modes); err != nil {
			_ = sess.Close()
			s.release()
			return nil, fmt.Errorf("ssh %s: request a pseudo-terminal: %w", host, err)
		}
	}
	// One lock for both streams: a caller may give the same writer for
	// both (stderr merged into stdout) and never sees concurrent writes.
	outMu := new(sync.Mutex)
	if ro.Stdout != nil {
		s.gates = append(s.gates, &gate{mu: outMu, w: ro.Stdout})
		sess.Stdout = s.gates[len(s.gates)-1]
	}
	if ro.Stderr != nil {
		s.gates = append(s.gates, &gate{mu: outMu, w: ro.Stderr})
		sess.Stderr = s.gates[len(s.gates)-1]
	}
	if ro.Stdin != nil {
		w, err := sess.StdinPipe()
		if err != nil {
			_ = sess.Close()
			s.release()
			return nil, fmt.Errorf("ssh %s: stdin: %w", host, err)
		}
		s.stdin = w
		go feedStdin(w, ro.Stdin, ro.OnStdinWritten)
	}
	if err := sess.Start(cmd); err != nil {
		_ = sess.Close()
		s.release()
		return nil, fmt.Errorf("ssh %s: start command: %w", host, err)
	}
	s.parent, s.ctx, s.cancel = ctx, ctx, func() {}
	if ro.Timeout > 0 {
		s.ctx, s.cancel = context.WithTimeout(ctx, ro.Timeout)
	}
	return s, nil
}

// feedStdin copies r to the command's input, then closes it.
func feedStdin(w io.WriteCloser, r io.Reader, written func(int)) {
	defer w.Close()
	buf := make([]byte, 64<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			m, werr := w.Write(buf[:n])
			if m > 0 && written != nil {
				written(m)
			}
			if werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// Signal sends sig (e.g. ssh.SIGTERM) to the remote command; servers that
// do not support signals ignore it.
func (s *Session) Signal(sig ssh.Signal) error { return s.sess.Signal(sig) }

// Wait waits for the command to end (and its output to be copied) and
// returns its exit status; see Run for the errors.
func (s *Session) Wait() (ExitStatus, error) {
	defer s.release()
	defer s.cancel()
	done := make(chan error, 1)
	go func() { done <- s.sess.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-s.ctx.Done():
		// Ask the server to kill the command (sshd refuses signals in some
		// setups, e.g. root logins without privilege separation), close the
		// channel and stop delivering output. The command may outlive the
		// session on the node, as it does when an ssh process is killed;
		// the goroutine waiting for its channel ends at the latest when
		// the connection closes.
		_ = s.sess.Signal(ssh.SIGKILL)
		for _, g := range s.gates {
			g.close()
		}
		_ = s.sess.Close()
		if s.parent.Err() == nil {
			// the command's own timeout, not the caller's context
			return ExitStatus{}, fmt.Errorf("ssh %s: command still running after %v: %w", s.host, s.timeout, ErrCommandTimeout)
		}
		return ExitStatus{}, fmt.Errorf("ssh %s: %w", s.host, s.parent.Err())
	}
	_ = s.sess.Close()
	if err == nil {
		return ExitStatus{}, nil
	}
	var ee *ssh.ExitError
	if errors.As(err, &ee) {
		st := ExitStatus{Code: ee.ExitStatus(), Signal: ee.Signal(), Message: ee.Msg()}
		if st.Signal != "" {
			st.Code = 255
			if n, ok := signalNumbers[st.Signal]; ok {
				st.Code = 128 + n
			}
		}
		return st, nil
	}
	var em *ssh.ExitMissingError
	if errors.As(err, &em) {
		return ExitStatus{}, fmt.Errorf("ssh %s: %w", s.host, ErrExitMissing)
	}
	return ExitStatus{}, fmt.Errorf("ssh %s: %w", s.host, err)
}
