package sshworker

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// Client runs commands and copies files on nodes over SSH. It keeps one
// connection per resolved user@host:port (and jump chain): every command,
// copy and reverse copy to a node after the first reuses it, and so do all
// the nodes behind one jump host for the jump. A Client is safe for
// concurrent use; Close releases every connection.
type Client struct {
	cfg  *Config
	hk   *hostKeys
	auth *authCache

	closing context.Context // done once Close starts: in-flight dials stop
	stopAll context.CancelFunc

	maxIdle int // idle connections kept; < 0: all

	mu     sync.Mutex
	conns  map[string]*conn
	idle   *list.List // of *conn with no user, most recently used first
	closed bool
	wg     sync.WaitGroup // connection watchers and keepalives
}

// conn is one pooled connection; ready is closed once client or err is set.
type conn struct {
	key    string
	host   *HostConfig
	ready  chan struct{}
	client *ssh.Client
	err    error
	jump   *conn // the jump host connection this one runs through, held while it lives

	// under Client.mu
	users  int           // uses in progress (sessions, copies, tunnelled connections)
	pinned bool          // handed out by Connect: never closed as idle
	idle   *list.Element // in Client.idle while users == 0

	sftpMu sync.Mutex
	sftp   *sftp.Client
}

// New loads the ssh configuration named by opts (see LoadConfig) and
// returns a Client using it.
func New(opts Options) (*Client, error) {
	cfg, err := LoadConfig(opts)
	if err != nil {
		return nil, err
	}
	return NewClient(cfg), nil
}

// NewClient returns a Client for a loaded configuration.
func NewClient(cfg *Config) *Client {
	ctx, cancel := context.WithCancel(context.Background())
	maxIdle := cfg.opts.MaxIdle
	if maxIdle == 0 {
		maxIdle = DefaultMaxIdle
	}
	return &Client{cfg: cfg, hk: newHostKeys(), auth: newAuthCache(), conns: map[string]*conn{},
		idle: list.New(), maxIdle: maxIdle, closing: ctx, stopAll: cancel}
}

// Config returns the Client's configuration.
func (c *Client) Config() *Config { return c.cfg }

// Close closes every connection and waits for the Client's goroutines to
// end. Sessions and copies in progress fail; later Run, Start, Copy, Rcopy
// and Connect calls fail with an error matching ErrClosed. Close is
// idempotent and returns nil.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	conns := c.conns
	c.conns = map[string]*conn{}
	c.mu.Unlock()
	c.stopAll()
	for _, cn := range conns {
		<-cn.ready
		cn.close()
	}
	c.wg.Wait()
	c.auth.close()
	return nil
}

func (cn *conn) close() {
	cn.sftpMu.Lock()
	if cn.sftp != nil {
		_ = cn.sftp.Close()
		cn.sftp = nil
	}
	cn.sftpMu.Unlock()
	if cn.client != nil {
		_ = cn.client.Close()
	}
}

// Connect returns the connection to host (a node name resolved through
// ssh_config), opening it when the pool has none. Concurrent calls for
// the same node share one dial. A failure is a *ConnectError. The returned
// client belongs to the pool: open sessions on it, do not close it; it
// stays open (it is never closed as idle) until it fails or Close.
func (c *Client) Connect(ctx context.Context, host string) (*ssh.Client, error) {
	cn, err := c.connect(ctx, host, 0)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	cn.pinned = true
	c.mu.Unlock()
	c.release(cn)
	return cn.client, nil
}

func (c *Client) connect(ctx context.Context, host string, connectTimeout time.Duration) (*conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, &ConnectError{Host: host, Kind: KindOther, Err: err}
	}
	h, err := c.cfg.Resolve(host)
	if err != nil {
		return nil, &ConnectError{Host: host, Kind: KindOther, Err: err}
	}
	if _, set := c.cfg.opts.setting("ConnectTimeout"); connectTimeout > 0 && !set {
		// the caller's timeout ranks as Options.ConnectTimeout: below -o, above ssh_config
		h.ConnectTimeout = connectTimeout
	}
	return c.connectHost(ctx, h, 0)
}

const maxJumpDepth = 8

func (c *Client) connectHost(ctx context.Context, h *HostConfig, depth int) (*conn, error) {
	key := h.Key()
	for attempt := 0; ; attempt++ {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return nil, &ConnectError{Host: h.Alias, Addr: h.Addr(), User: h.User, Kind: KindOther, Err: ErrClosed}
		}
		cn, ok := c.conns[key]
		if ok && cn.isReady() {
			// a ready pooled connection (failed dials leave the pool)
			c.acquireLocked(cn)
			c.mu.Unlock()
			return cn, nil
		}
		if !ok {
			cn = &conn{key: key, host: h, ready: make(chan struct{}), users: 1}
			c.conns[key] = cn
			c.mu.Unlock()
			cn.client, cn.jump, cn.err = c.dial(ctx, h, depth)
			if cn.err != nil {
				c.mu.Lock()
				if c.conns[key] == cn {
					delete(c.conns, key)
				}
				c.mu.Unlock()
				close(cn.ready)
				return nil, cn.err
			}
			c.mu.Lock()
			closed := c.closed
			if !closed {
				c.wg.Add(1)
			}
			c.mu.Unlock()
			close(cn.ready)
			if closed {
				cn.close()
				if cn.jump != nil {
					c.release(cn.jump)
				}
				return nil, &ConnectError{Host: h.Alias, Addr: h.Addr(), User: h.User, Kind: KindOther, Err: ErrClosed}
			}
			go c.watch(cn)
			return cn, nil
		}
		c.mu.Unlock()
		select {
		case <-cn.ready:
		case <-ctx.Done():
			return nil, &ConnectError{Host: h.Alias, Addr: h.Addr(), User: h.User, Via: h.ProxyJump, Kind: KindOther, Err: ctx.Err()}
		}
		if cn.err == nil {
			continue // acquire it under the lock
		}
		// Another caller's dial failed. Share its verdict, unless it was
		// that caller's own cancellation and ours is still alive.
		if errors.Is(cn.err, context.Canceled) && ctx.Err() == nil && attempt < 3 {
			continue
		}
		return nil, cn.err
	}
}

func (cn *conn) isReady() bool {
	select {
	case <-cn.ready:
		return cn.err == nil
	default:
		return false
	}
}

// acquireLocked marks cn in use; the caller holds c.mu.
func (c *Client) acquireLocked(cn *conn) {
	cn.users++
	if cn.idle != nil {
		c.idle.Remove(cn.idle)
		cn.idle = nil
	}
}

// release ends one use of cn. A connection nobody uses joins the idle
// list; beyond the Client's MaxIdle the least recently used idle
// connection is closed.
func (c *Client) release(cn *conn) {
	c.mu.Lock()
	cn.users--
	var evict *conn
	if cn.users == 0 && !cn.pinned && c.conns[cn.key] == cn {
		cn.idle = c.idle.PushFront(cn)
		if c.maxIdle >= 0 && c.idle.Len() > c.maxIdle {
			evict = c.idle.Remove(c.idle.Back()).(*conn)
			evict.idle = nil
			delete(c.conns, evict.key)
		}
	}
	c.mu.Unlock()
	if evict != nil {
		evict.close() // its watcher then releases its jump host
	}
}

// watch removes a connection from the pool when it ends and runs its
// keepalives.
func (c *Client) watch(cn *conn) {
	defer c.wg.Done()
	done := make(chan struct{})
	var kwg sync.WaitGroup
	if iv := cn.host.ServerAliveInterval; iv > 0 {
		kwg.Add(1)
		go func() {
			defer kwg.Done()
			keepalive(cn.client, iv, cn.host.ServerAliveCountMax, done)
		}()
	}
	_ = cn.client.Wait()
	close(done)
	kwg.Wait()
	c.drop(cn)
	if cn.jump != nil {
		c.release(cn.jump)
	}
}

// drop removes cn from the pool (if it is still there) and closes it.
func (c *Client) drop(cn *conn) {
	c.mu.Lock()
	if c.conns[cn.key] == cn {
		delete(c.conns, cn.key)
	}
	if cn.idle != nil {
		c.idle.Remove(cn.idle)
		cn.idle = nil
	}
	c.mu.Unlock()
	cn.close()
}

// keepalive sends keepalive@openssh.com every interval and closes the
// connection when max intervals pass without an answer (ServerAliveCountMax).
func keepalive(cl *ssh.Client, interval time.Duration, max int, done <-chan struct{}) {
	if max < 1 {
		max = 1
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		watchdog := time.AfterFunc(time.Duration(max)*interval, func() {
			logger().Warn("server alive timeout, closing connection", "addr", cl.RemoteAddr().String())
			_ = cl.Close()
		})
		_, _, err := cl.SendRequest("keepalive@openssh.com", true, nil)
		watchdog.Stop()
		if err != nil {
			return
		}
	}
}

// dial opens a new authenticated connection to h (through its jumps) and
// returns it with the jump host connection it holds (nil when direct).
func (c *Client) dial(ctx context.Context, h *HostConfig, depth int) (_ *ssh.Client, jump *conn, err error) {
	cl, jump, err := c.dial1(ctx, h, depth)
	if err != nil && jump != nil {
		c.release(jump)
		jump = nil
	}
	return cl, jump, err
}

func (c *Client) dial1(ctx context.Context, h *HostConfig, depth int) (*ssh.Client, *conn, error) {
	cerr := func(kind Kind, err error) *ConnectError {
		return &ConnectError{Host: h.Alias, Addr: h.Addr(), User: h.User, Via: h.ProxyJump, Kind: kind, Err: err}
	}
	if depth > maxJumpDepth {
		return nil, nil, cerr(KindOther, fmt.Errorf("ProxyJump chain deeper than %d hops (a loop?)", maxJumpDepth))
	}
	cctx, cancel := context.WithTimeout(ctx, h.ConnectTimeout)
	defer cancel()
	defer context.AfterFunc(c.closing, cancel)()

	var (
		nc  net.Conn
		jc  *conn
		err error
	)
	jumps, err := parseJumps(h.ProxyJump)
	if err != nil {
		return nil, jc, cerr(KindOther, err)
	}
	if len(jumps) == 0 {
		network := "tcp"
		switch h.AddressFamily {
		case "inet":
			network = "tcp4"
		case "inet6":
			network = "tcp6"
		}
		dialer := c.cfg.opts.DialContext
		if dialer == nil {
			dialer = (&net.Dialer{}).DialContext
		}
		// ConnectionAttempts: TCP connects one second apart, as ssh(1)
		for attempt := 1; ; attempt++ {
			nc, err = dialer(cctx, network, h.Addr())
			if err == nil {
				break
			}
			kind := classifyDial(cctx, err)
			if attempt >= h.ConnectionAttempts || (kind != KindRefused && kind != KindUnreachable) {
				return nil, jc, cerr(kind, err)
			}
			select {
			case <-time.After(time.Second):
			case <-cctx.Done():
				return nil, jc, cerr(kind, err)
			}
		}
	} else {
		var jh *HostConfig
		jh, err = c.jumpHost(jumps, depth)
		if err != nil {
			return nil, jc, cerr(KindOther, err)
		}
		jc, err = c.connectHost(cctx, jh, depth+1)
		if err != nil {
			kind := KindOther
			var ce *ConnectError
			if errors.As(err, &ce) {
				kind = ce.Kind
			}
			if kind == KindOther && cctx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
				kind = KindTimeout
			}
			return nil, jc, cerr(kind, fmt.Errorf("jump host %s: %w", jh.Alias, err))
		}
		nc, err = jc.client.DialContext(cctx, "tcp", h.Addr())
		if err != nil {
			return nil, jc, cerr(classifyJumpDial(cctx, err), fmt.Errorf("through jump host %s: %w", jh.Alias, err))
		}
	}

	// Banner, key exchange and authentication are bounded by the same
	// timeout: closing the connection is the one interruption that works
	// for TCP and for channels through a jump host alike.
	stop := context.AfterFunc(cctx, func() { _ = nc.Close() })
	var (
		hostKeyErr  error
		hostKeyDone bool
	)
	verify := c.hk.callback(h)
	lookupAddr, _ := lookupName(h)
	signers := c.auth.signers(h)
	config := &ssh.ClientConfig{
		User: h.User,
		Auth: []ssh.AuthMethod{ssh.PublicKeysCallback(signers)},
		HostKeyCallback: func(hostname string, remote net.Addr, key ssh.PublicKey) error {
			err := verify(hostname, remote, key)
			hostKeyErr, hostKeyDone = err, true
			return err
		},
		HostKeyAlgorithms: c.hk.algorithms(h),
		Config:            ssh.Config{KeyExchanges: h.KexAlgorithms, Ciphers: h.Ciphers, MACs: h.MACs},
		ClientVersion:     "SSH-2.0-muster",
	}
	sc, chans, reqs, err := ssh.NewClientConn(nc, lookupAddr, config)
	if !stop() {
		// the timeout or cancellation closed the connection
		if sc != nil {
			_ = sc.Close()
		}
		if ctx.Err() != nil {
			return nil, jc, cerr(KindOther, ctx.Err())
		}
		if c.closing.Err() != nil {
			return nil, jc, cerr(KindOther, ErrClosed)
		}
		return nil, jc, cerr(KindTimeout, fmt.Errorf("no SSH banner, key exchange or authentication within %v: %w", h.ConnectTimeout, context.DeadlineExceeded))
	}
	if err != nil {
		_ = nc.Close()
		var hke *HostKeyError
		switch {
		case errors.As(hostKeyErr, &hke) && (hke.Mismatch || hke.Revoked):
			return nil, jc, cerr(KindHostKeyMismatch, hke)
		case errors.As(hostKeyErr, &hke):
			return nil, jc, cerr(KindHostKeyUnknown, hke)
		case hostKeyErr != nil:
			return nil, jc, cerr(KindOther, hostKeyErr)
		case hostKeyDone && strings.Contains(err.Error(), "unable to authenticate"):
			return nil, jc, cerr(KindAuth, fmt.Errorf("%w (identities tried: %s)", err, c.auth.describe(h)))
		case isTimeout(err):
			return nil, jc, cerr(KindTimeout, err)
		case errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF):
			if hostKeyDone {
				// the server hung up during authentication (MaxAuthTries)
				return nil, jc, cerr(KindAuth, err)
			}
			return nil, jc, cerr(KindUnreachable, err)
		}
		return nil, jc, cerr(KindOther, err)
	}
	return ssh.NewClient(sc, chans, reqs), jc, nil
}

// jumpHost resolves the last hop of a ProxyJump chain; the hops before it
// become its own ProxyJump, as ssh(1) does.
func (c *Client) jumpHost(jumps []jump, depth int) (*HostConfig, error) {
	last := jumps[len(jumps)-1]
	// A jump host is configured by the ssh_config file alone: the
	// command-line -l, -p, -i and -o apply to the destination, as in ssh(1).
	jcfg := *c.cfg
	jcfg.opts = Options{
		ConfigFile:     c.cfg.opts.ConfigFile,
		ConnectTimeout: c.cfg.opts.ConnectTimeout,
		AddressFamily:  c.cfg.opts.AddressFamily,
		DialContext:    c.cfg.opts.DialContext,
		User:           last.user,
		Port:           last.port,
	}
	if len(jumps) > 1 {
		var prev []string
		for _, j := range jumps[:len(jumps)-1] {
			prev = append(prev, j.String())
		}
		jcfg.opts.ProxyJump = strings.Join(prev, ",")
	}
	return jcfg.Resolve(last.host)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) ||
		(errors.As(err, &ne) && ne.Timeout())
}

// classifyDial tells why a TCP dial failed.
func classifyDial(ctx context.Context, err error) Kind {
	var dns *net.DNSError
	switch {
	case errors.As(err, &dns):
		if dns.IsTimeout {
			return KindTimeout
		}
		return KindDNS
	case errors.Is(err, syscall.ECONNREFUSED):
		return KindRefused
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return KindTimeout
	case errors.Is(err, context.Canceled):
		return KindOther
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.ECONNRESET):
		return KindUnreachable
	}
	if ctx.Err() == context.DeadlineExceeded {
		return KindTimeout
	}
	return KindOther
}

// classifyJumpDial tells why a jump host could not open a channel to the
// destination, from the reason sshd gives.
func classifyJumpDial(ctx context.Context, err error) Kind {
	var oe *ssh.OpenChannelError
	if errors.As(err, &oe) {
		msg := strings.ToLower(oe.Message)
		switch {
		case strings.Contains(msg, "refused"):
			return KindRefused
		case strings.Contains(msg, "timed out"):
			return KindTimeout
		case strings.Contains(msg, "name or service not known"), strings.Contains(msg, "resolve"),
			strings.Contains(msg, "nodename nor servname"), strings.Contains(msg, "no address associated"):
			return KindDNS
		}
		return KindUnreachable
	}
	return classifyDial(ctx, err)
}

// bounded runs op, an exchange on cn (opening a session, starting sftp),
// and gives up when ctx ends or the exchange outlasts cn's connect
// timeout: a server that stops answering on an established connection
// cannot hang a caller. Giving up closes the connection (the only way to
// abandon a pending channel open) and waits for op to return.
func (c *Client) bounded(ctx context.Context, cn *conn, op func() error) error {
	done := make(chan error, 1)
	go func() { done <- op() }()
	t := time.NewTimer(cn.host.ConnectTimeout)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		c.drop(cn)
		<-done
		return ctx.Err()
	case <-t.C:
		c.drop(cn)
		<-done
		h := cn.host
		return &ConnectError{Host: h.Alias, Addr: h.Addr(), User: h.User, Via: h.ProxyJump, Kind: KindTimeout,
			Err: fmt.Errorf("no answer on the established connection within %v: %w", h.ConnectTimeout, context.DeadlineExceeded)}
	}
}
