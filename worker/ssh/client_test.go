package sshworker

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

// The cluster's ssh_config (Host nodeN stanzas, then Host * with User,
// IdentityFile, UserKnownHostsFile, StrictHostKeyChecking yes) resolves to
// exactly what it says.
func TestResolveTestHostsConfig(t *testing.T) {
	cl := cluster(t, 2, 21)
	c := newClient(t, cl, nil)
	for _, h := range cl.Hosts {
		hc, err := c.Config().Resolve(h.Name)
		if err != nil {
			t.Fatal(err)
		}
		if hc.HostName != h.Addr || hc.Port != h.Port || hc.User != cl.User {
			t.Errorf("%s resolved to %s@%s:%d, want %s@%s:%d", h.Name, hc.User, hc.HostName, hc.Port, cl.User, h.Addr, h.Port)
		}
		if len(hc.IdentityFiles) != 1 || hc.IdentityFiles[0] != cl.UserKey || !hc.IdentitiesOnly {
			t.Errorf("identities %v only=%v, want [%s] only", hc.IdentityFiles, hc.IdentitiesOnly, cl.UserKey)
		}
		if len(hc.UserKnownHostsFiles) != 1 || hc.UserKnownHostsFiles[0] != cl.KnownHosts {
			t.Errorf("UserKnownHostsFile %v, want %s", hc.UserKnownHostsFiles, cl.KnownHosts)
		}
		if hc.StrictHostKeyChecking != Strict || hc.ConnectTimeout != 10*time.Second {
			t.Errorf("policy %v timeout %v, want yes, 10s", hc.StrictHostKeyChecking, hc.ConnectTimeout)
		}
		if hc.IdentityAgent != "" {
			t.Errorf("IdentityAgent %q, want none", hc.IdentityAgent)
		}
	}
}

// Commands on 8 hosts at once: stdout and stderr apart, exit codes.
func TestRunFanout8Hosts(t *testing.T) {
	cl := cluster(t, 8, 31)
	c := newClient(t, cl, nil)
	ctx := testCtx(t)
	var wg sync.WaitGroup
	for i, h := range cl.Hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out, errb bytes.Buffer
			cmd := fmt.Sprintf("echo out %d; echo err %d >&2; exit %d", i, i, i+1)
			st, err := c.Run(ctx, h.Name, cmd, RunOptions{Stdout: &out, Stderr: &errb})
			if err != nil {
				t.Errorf("%s: %v", h.Name, err)
				return
			}
			if st.Code != i+1 || st.Signal != "" {
				t.Errorf("%s: status %+v, want code %d", h.Name, st, i+1)
			}
			if got, want := out.String(), fmt.Sprintf("out %d\n", i); got != want {
				t.Errorf("%s: stdout %q, want %q", h.Name, got, want)
			}
			// (the login shell's start-up files may print lines of their own first)
			if got, want := errb.String(), fmt.Sprintf("err %d\n", i); !strings.HasSuffix(got, want) {
				t.Errorf("%s: stderr %q, want %q", h.Name, got, want)
			}
		}()
	}
	wg.Wait()
}

func TestExitStatusAndSignals(t *testing.T) {
	cl := cluster(t, 1, 41)
	c := newClient(t, cl, nil)
	ctx := testCtx(t)
	for _, tc := range []struct {
		cmd    string
		code   int
		signal string
	}{
		{"true", 0, ""},
		{"exit 7", 7, ""},
		{"exit 255", 255, ""},
		{"kill -TERM $$", 143, "TERM"},
		{"kill -KILL $$", 137, "KILL"},
		{"kill -INT $$; sleep 5", 130, "INT"},
	} {
		st, err := c.Run(ctx, "node1", tc.cmd, RunOptions{})
		if err != nil {
			t.Errorf("%q: %v", tc.cmd, err)
			continue
		}
		if st.Code != tc.code || st.Signal != tc.signal {
			t.Errorf("%q: status %+v, want code %d signal %q", tc.cmd, st, tc.code, tc.signal)
		}
	}
	// user@node, as ssh(1) takes it
	if st, err := c.Run(ctx, cl.User+"@node1", "exit 9", RunOptions{}); err != nil || st.Code != 9 {
		t.Errorf("user@node1: %+v %v", st, err)
	}
	_, err := c.Run(ctx, "muster-no-such-user@node1", "true", RunOptions{})
	wantKind(t, err, KindAuth)
}

// The same standard input reaches every node in full.
func TestStdinBroadcast(t *testing.T) {
	cl := cluster(t, 8, 51)
	c := newClient(t, cl, nil)
	ctx := testCtx(t)
	var in bytes.Buffer
	for i := range 20000 {
		fmt.Fprintf(&in, "line %d of the broadcast input\n", i)
	}
	want := in.String()
	pr, pw := io.Pipe()
	go func() {
		// a slow source, written in pieces, as a terminal or pipe gives it
		data := []byte(want)
		for len(data) > 0 {
			n := min(len(data), 7777)
			_, _ = pw.Write(data[:n])
			data = data[n:]
		}
		_ = pw.Close()
	}()
	b := NewBroadcast(pr)
	var wg sync.WaitGroup
	for _, h := range cl.Hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := b.NewReader()
			defer r.Close()
			var out bytes.Buffer
			st, err := c.Run(ctx, h.Name, "cat; echo END", RunOptions{Stdin: r, Stdout: &out})
			if err != nil || st.Code != 0 {
				t.Errorf("%s: %+v %v", h.Name, st, err)
				return
			}
			if out.String() != want+"END\n" {
				t.Errorf("%s: got %d bytes of stdin back, want %d", h.Name, out.Len()-4, len(want))
			}
		}()
	}
	wg.Wait()
}

func TestCommandTimeout(t *testing.T) {
	cl := cluster(t, 1, 61)
	dc := &dialCounter{}
	c := newClient(t, cl, dc)
	ctx := testCtx(t)
	_, err := c.Run(ctx, "node1", "sleep 60", RunOptions{Timeout: 300 * time.Millisecond})
	if !errors.Is(err, ErrCommandTimeout) {
		t.Fatalf("got %v, want ErrCommandTimeout", err)
	}
	var ce *ConnectError
	if errors.As(err, &ce) {
		t.Fatalf("a command timeout is not a connection error: %v", err)
	}
	// the connection stays usable
	if st, err := c.Run(ctx, "node1", "exit 3", RunOptions{}); err != nil || st.Code != 3 {
		t.Fatalf("after a timeout: %+v %v", st, err)
	}
	// the caller's own cancellation is reported as such
	cctx, cancel := context.WithCancel(ctx)
	s, err := c.Start(cctx, "node1", "sleep 60", RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := s.Wait(); !errors.Is(err, context.Canceled) || errors.Is(err, ErrCommandTimeout) {
		t.Fatalf("cancelled: %v, want context.Canceled", err)
	}
	if n := dc.total.Load(); n != 1 {
		t.Fatalf("%d dials, want 1", n)
	}
}

// Several commands and copies to one node use one connection; 8 nodes
// twice use 8; a closed client refuses work.
func TestConnectionReuse(t *testing.T) {
	cl := cluster(t, 8, 71)
	dc := &dialCounter{}
	c := newClient(t, cl, dc)
	ctx := testCtx(t)
	for range 3 {
		if _, err := c.Run(ctx, "node1", "true", RunOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	src := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(src, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	if err := c.Copy(ctx, "node1", src, dst, CopyOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Rcopy(ctx, "node1", filepath.Join(dst, "f"), t.TempDir(), CopyOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := dc.count(cl.Hosts[0].HostPort()); n != 1 {
		t.Fatalf("node1 dialled %d times for 3 commands, a copy and an rcopy; want 1", n)
	}
	for range 2 {
		var wg sync.WaitGroup
		for _, h := range cl.Hosts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := c.Run(ctx, h.Name, "true", RunOptions{}); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	for _, h := range cl.Hosts {
		if n := dc.count(h.HostPort()); n != 1 {
			t.Errorf("%s dialled %d times, want 1", h.Name, n)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Run(ctx, "node1", "true", RunOptions{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v, want ErrClosed", err)
	}
}

// A pooled connection that died (its server restarted) is replaced.
func TestDeadPooledConnectionReplaced(t *testing.T) {
	cl := cluster(t, 1, 81)
	dc := &dialCounter{}
	c := newClient(t, cl, dc)
	ctx := testCtx(t)
	cn, err := c.Connect(ctx, "node1")
	if err != nil {
		t.Fatal(err)
	}
	_ = cn.Close() // as if the server had gone away
	if st, err := c.Run(ctx, "node1", "exit 4", RunOptions{}); err != nil || st.Code != 4 {
		t.Fatalf("%+v %v", st, err)
	}
	if n := dc.total.Load(); n != 2 {
		t.Fatalf("%d dials, want 2", n)
	}
}

func TestHostDownRefused(t *testing.T) {
	cl := cluster(t, 2, 91)
	c := newClient(t, cl, nil)
	cl.Hosts[1].Stop()
	ctx := testCtx(t)
	if _, err := c.Run(ctx, "node1", "true", RunOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := c.Run(ctx, "node2", "true", RunOptions{})
	ce := wantKind(t, err, KindRefused)
	if ce.Host != "node2" || ce.Addr != cl.Hosts[1].HostPort() {
		t.Fatalf("error names %s %s, want node2 %s", ce.Host, ce.Addr, cl.Hosts[1].HostPort())
	}
	// ConnectionAttempts: that many connects before giving up
	dc := &dialCounter{}
	c = newClient(t, cl, dc, "-o", "ConnectionAttempts=3")
	_, err = c.Run(ctx, "node2", "true", RunOptions{})
	wantKind(t, err, KindRefused)
	if n := dc.total.Load(); n != 3 {
		t.Fatalf("%d connects with ConnectionAttempts=3, want 3", n)
	}
}

// silentServer accepts connections on 127.0.0.x and never answers (or,
// with banner set, sends an SSH banner and then nothing).
func silentServer(t *testing.T, ip string, banner bool) (port int) {
	t.Helper()
	l, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			cn, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, cn)
			mu.Unlock()
			if banner {
				_, _ = cn.Write([]byte("SSH-2.0-OpenSSH_9.2p1 stalled\r\n"))
			}
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		wg.Wait()
		mu.Lock()
		for _, cn := range conns {
			_ = cn.Close()
		}
		mu.Unlock()
	})
	return l.Addr().(*net.TCPAddr).Port
}

// A server that never sends its banner, or stalls after it, ends at the
// connect timeout with a timeout error.
func TestSilentServerTimesOut(t *testing.T) {
	cl := cluster(t, 1, 101)
	ctx := testCtx(t)
	for _, banner := range []bool{false, true} {
		port := silentServer(t, "127.0.0.102", banner)
		c := newClient(t, cl, nil, "-o", "ConnectTimeout=1", "-p", strconv.Itoa(port), "-o", "StrictHostKeyChecking=no",
			"-o", "UserKnownHostsFile=/dev/null")
		_, err := c.Run(ctx, "127.0.0.102", "true", RunOptions{})
		wantKind(t, err, KindTimeout)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("banner=%v: %v does not wrap context.DeadlineExceeded", banner, err)
		}
	}
}

func TestAuthFailed(t *testing.T) {
	cl := cluster(t, 1, 111)
	c := newClient(t, cl, nil, "-l", "muster-no-such-user")
	_, err := c.Run(testCtx(t), "node1", "true", RunOptions{})
	ce := wantKind(t, err, KindAuth)
	if ce.User != "muster-no-such-user" {
		t.Fatalf("error user %q", ce.User)
	}
	if !strings.Contains(err.Error(), cl.UserKey) {
		t.Fatalf("auth error does not name the identity tried: %v", err)
	}
}

// fakeDNS answers every query with NXDOMAIN, on loopback.
func fakeDNS(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if n < 12 {
				continue
			}
			resp := append([]byte(nil), buf[:n]...)
			resp[2] = 0x80 | (buf[2] & 0x01) // QR, keep RD
			resp[3] = 0x80 | 3               // RA, NXDOMAIN
			// keep the question, no answers
			resp[6], resp[7], resp[8], resp[9], resp[10], resp[11] = 0, 0, 0, 0, 0, 0
			_, _ = pc.WriteTo(resp, from)
		}
	}()
	t.Cleanup(func() { _ = pc.Close(); wg.Wait() })
	return pc.LocalAddr().String()
}

func TestDNSFailure(t *testing.T) {
	cl := cluster(t, 1, 121)
	dns := fakeDNS(t)
	opts, err := ParseOptions([]string{"-F", cl.SSHConfig, "-o", "IdentityAgent=none"})
	if err != nil {
		t.Fatal(err)
	}
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "udp", dns)
	}}
	opts.DialContext = (&net.Dialer{Resolver: r}).DialContext
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Run(testCtx(t), "no-such-node.muster-test.invalid", "true", RunOptions{})
	wantKind(t, err, KindDNS)
}

func genKey(t *testing.T) (ssh.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return k, priv
}

// A known_hosts with another key for the host refuses the connection and
// says where the known key is and what the server offered.
func TestHostKeyMismatchRefused(t *testing.T) {
	cl := cluster(t, 1, 131)
	h := cl.Hosts[0]
	other, _ := genKey(t)
	kh := filepath.Join(t.TempDir(), "known_hosts")
	content := "# another key for node1\n" + fmt.Sprintf("[%s]:%d %s", h.Addr, h.Port, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(other)))) + "\n"
	if err := os.WriteFile(kh, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	real := hostPubKey(t, h)
	realKey, _, _, _, err := ssh.ParseAuthorizedKey([]byte(strings.Join(real, " ")))
	if err != nil {
		t.Fatal(err)
	}
	for _, policy := range []string{"yes", "accept-new"} {
		c := newClient(t, cl, nil, "-o", "UserKnownHostsFile="+kh, "-o", "StrictHostKeyChecking="+policy)
		_, err := c.Run(testCtx(t), "node1", "true", RunOptions{})
		wantKind(t, err, KindHostKeyMismatch)
		var hke *HostKeyError
		if !errors.As(err, &hke) {
			t.Fatalf("%v: no *HostKeyError", err)
		}
		if !hke.Mismatch || hke.Fingerprint != ssh.FingerprintSHA256(realKey) || hke.KeyType != "ssh-ed25519" {
			t.Fatalf("HostKeyError %+v, want mismatch with fingerprint %s", hke, ssh.FingerprintSHA256(realKey))
		}
		if want := fmt.Sprintf("[%s]:%d", h.Addr, h.Port); hke.Host != want {
			t.Fatalf("HostKeyError host %q, want %q", hke.Host, want)
		}
		if len(hke.Known) != 1 || hke.Known[0] != kh+":2" {
			t.Fatalf("known at %v, want [%s:2]", hke.Known, kh)
		}
		if !strings.Contains(err.Error(), kh+":2") || !strings.Contains(err.Error(), hke.Fingerprint) {
			t.Fatalf("message lacks file:line or fingerprint: %v", err)
		}
	}
	// StrictHostKeyChecking=no connects, as ssh(1) does (with a warning)
	c := newClient(t, cl, nil, "-o", "UserKnownHostsFile="+kh, "-o", "StrictHostKeyChecking=no")
	if _, err := c.Run(testCtx(t), "node1", "true", RunOptions{}); err != nil {
		t.Fatalf("StrictHostKeyChecking=no with a changed key: %v", err)
	}
}

// An unknown host under each StrictHostKeyChecking mode.
func TestUnknownHostPolicies(t *testing.T) {
	cl := cluster(t, 2, 141)
	h := cl.Hosts[0]
	real := hostPubKey(t, h)
	ctx := testCtx(t)
	dir := t.TempDir()

	t.Run("yes", func(t *testing.T) {
		kh := filepath.Join(dir, "yes")
		if err := os.WriteFile(kh, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		c := newClient(t, cl, nil, "-o", "UserKnownHostsFile="+kh)
		_, err := c.Run(ctx, "node1", "true", RunOptions{})
		wantKind(t, err, KindHostKeyUnknown)
		var hke *HostKeyError
		if !errors.As(err, &hke) || hke.Mismatch || hke.Fingerprint == "" || hke.Host != fmt.Sprintf("[%s]:%d", h.Addr, h.Port) {
			t.Fatalf("HostKeyError %+v", hke)
		}
		if readFile(t, kh) != "" {
			t.Fatal("StrictHostKeyChecking=yes wrote known_hosts")
		}
	})
	t.Run("accept-new", func(t *testing.T) {
		kh := filepath.Join(dir, "sub", "accept-new") // the directory is created too
		c := newClient(t, cl, nil, "-o", "UserKnownHostsFile="+kh, "-o", "StrictHostKeyChecking=accept-new")
		var wg sync.WaitGroup
		for range 4 { // concurrent first connections add the host once
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := c.Run(ctx, "node1", "true", RunOptions{}); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		want := fmt.Sprintf("[%s]:%d %s %s\n", h.Addr, h.Port, real[0], real[1])
		if got := readFile(t, kh); got != want {
			t.Fatalf("known_hosts after accept-new:\n%q\nwant\n%q", got, want)
		}
		// the file now vouches for the host under the strict policy
		c2 := newClient(t, cl, nil, "-o", "UserKnownHostsFile="+kh)
		if _, err := c2.Run(ctx, "node1", "true", RunOptions{}); err != nil {
			t.Fatal(err)
		}
		// and a second host is appended after the first
		if _, err := c.Run(ctx, "node2", "true", RunOptions{}); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(readFile(t, kh), "\n"); n != 2 {
			t.Fatalf("%d lines in known_hosts, want 2", n)
		}
	})
	t.Run("no", func(t *testing.T) {
		kh := filepath.Join(dir, "no")
		c := newClient(t, cl, nil, "-o", "UserKnownHostsFile="+kh, "-o", "StrictHostKeyChecking=no")
		if _, err := c.Run(ctx, "node1", "true", RunOptions{}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("hashed", func(t *testing.T) {
		kh := filepath.Join(dir, "hashed")
		c := newClient(t, cl, nil, "-o", "UserKnownHostsFile="+kh, "-o", "StrictHostKeyChecking=accept-new", "-o", "HashKnownHosts=yes")
		if _, err := c.Run(ctx, "node1", "true", RunOptions{}); err != nil {
			t.Fatal(err)
		}
		got := readFile(t, kh)
		if !strings.HasPrefix(got, "|1|") || strings.Contains(got, h.Addr) {
			t.Fatalf("hashed known_hosts line %q", got)
		}
		c2 := newClient(t, cl, nil, "-o", "UserKnownHostsFile="+kh)
		if _, err := c2.Run(ctx, "node1", "true", RunOptions{}); err != nil {
			t.Fatal(err)
		}
	})
}

// ProxyJump through one test host to another: only the jump host is
// dialled directly, and its connection is shared.
func TestProxyJump(t *testing.T) {
	cl := cluster(t, 3, 151)
	ctx := testCtx(t)
	for _, args := range [][]string{{"-J", "node1"}, {"-o", "ProxyJump=node1"}} {
		dc := &dialCounter{}
		c := newClient(t, cl, dc, args...)
		for _, target := range []string{"node2", "node3", "node2"} {
			var out bytes.Buffer
			st, err := c.Run(ctx, target, "echo via; exit 5", RunOptions{Stdout: &out})
			if err != nil || st.Code != 5 || out.String() != "via\n" {
				t.Fatalf("%v %s: %+v %q %v", args, target, st, out.String(), err)
			}
		}
		if dc.count(cl.Hosts[0].HostPort()) != 1 || dc.total.Load() != 1 {
			t.Fatalf("%v: dials %v, want one to node1 only", args, dc.addrs)
		}
	}
	// a two-hop chain
	dc := &dialCounter{}
	c := newClient(t, cl, dc, "-J", "node1,node2")
	if st, err := c.Run(ctx, "node3", "exit 6", RunOptions{}); err != nil || st.Code != 6 {
		t.Fatalf("two hops: %+v %v", st, err)
	}
	if dc.total.Load() != 1 || dc.count(cl.Hosts[0].HostPort()) != 1 {
		t.Fatalf("two hops: dials %v, want one to node1", dc.addrs)
	}
	// a destination that refuses behind the jump host is refused, not the jump
	cl.Hosts[2].Stop()
	c3 := newClient(t, cl, nil, "-J", "node1")
	_, err := c3.Run(ctx, "node3", "true", RunOptions{})
	ce := wantKind(t, err, KindRefused)
	if ce.Via != "node1" {
		t.Fatalf("Via %q, want node1", ce.Via)
	}
	// a jump host that is down fails the destination with the jump's kind
	cl.Hosts[0].Stop()
	c4 := newClient(t, cl, nil, "-J", "node1")
	_, err = c4.Run(ctx, "node2", "true", RunOptions{})
	wantKind(t, err, KindRefused)
	if !strings.Contains(err.Error(), "jump host node1") {
		t.Fatalf("error does not name the jump host: %v", err)
	}
}

// Authentication through an ssh-agent holding the user key.
func TestAgentAuth(t *testing.T) {
	cl := cluster(t, 1, 161)
	h := cl.Hosts[0]
	keyring := agent.NewKeyring()
	b, err := os.ReadFile(cl.UserKey)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := ssh.ParseRawPrivateKey(b)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			cn, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); _ = agent.ServeAgent(keyring, cn); _ = cn.Close() }()
		}
	}()
	t.Cleanup(func() { _ = l.Close(); wg.Wait() })

	// a config that names no identity file: only the agent can log in
	cfg := filepath.Join(dir, "ssh_config")
	text := fmt.Sprintf("Host agentnode\n  HostName %s\n  Port %d\n  User %s\n  UserKnownHostsFile %s\n  IdentityAgent %s\n  IdentityFile %s\n",
		h.Addr, h.Port, cl.User, cl.KnownHosts, sock, filepath.Join(dir, "no-such-key"))
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func() error {
		c, err := New(Options{ConfigFile: cfg})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, err = c.Run(testCtx(t), "agentnode", "true", RunOptions{})
		return err
	}
	wantKind(t, run(), KindAuth) // empty agent
	if err := keyring.Add(agent.AddedKey{PrivateKey: raw}); err != nil {
		t.Fatal(err)
	}
	if err := run(); err != nil {
		t.Fatalf("with the key in the agent: %v", err)
	}
}

// ServerAliveInterval runs keepalives alongside a command without harm
// (a generous count: a loaded machine may answer late, which is no failure).
func TestServerAlive(t *testing.T) {
	cl := cluster(t, 1, 171)
	c := newClient(t, cl, nil, "-o", "ServerAliveInterval=1", "-o", "ServerAliveCountMax=30")
	if st, err := c.Run(testCtx(t), "node1", "sleep 2.5; exit 2", RunOptions{}); err != nil || st.Code != 2 {
		t.Fatalf("%+v %v", st, err)
	}
}

// ProxyCommand in ssh_config is refused for that host, pointing to the
// openssh worker.
func TestConfigProxyCommandUnsupported(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "ssh_config")
	if err := os.WriteFile(cfg, []byte("Host viaproxy\n  ProxyCommand nc %h %p\nHost *\n  User someone\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(Options{ConfigFile: cfg})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Resolve("viaproxy")
	var ue *UnsupportedOptionError
	if !errors.As(err, &ue) || !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "openssh worker") {
		t.Fatalf("got %v, want an UnsupportedOptionError pointing to the openssh worker", err)
	}
	if hc, err := c.Resolve("other"); err != nil || hc.User != "someone" {
		t.Fatalf("other host: %+v %v", hc, err)
	}
}

// Lines that cannot be parsed (unknown key type, damage) are skipped, as
// ssh(1) skips them, and errors still point into the original file.
func TestKnownHostsBadLinesSkipped(t *testing.T) {
	cl := cluster(t, 1, 181)
	h := cl.Hosts[0]
	real := hostPubKey(t, h)
	other, _ := genKey(t)
	name := fmt.Sprintf("[%s]:%d", h.Addr, h.Port)
	bad := "garbage-without-a-key\n" + name + " ssh-futurekey AAAAC3NzaC1lZDI1NTE5AAAAIA==\n"
	dir := t.TempDir()

	good := filepath.Join(dir, "good")
	if err := os.WriteFile(good, []byte(bad+name+" "+real[0]+" "+real[1]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := knownhosts.New(good); err == nil {
		t.Fatal("the bad lines parse; the test would prove nothing")
	}
	c := newClient(t, cl, nil, "-o", "UserKnownHostsFile="+good)
	if _, err := c.Run(testCtx(t), "node1", "true", RunOptions{}); err != nil {
		t.Fatalf("with bad lines before the right key: %v", err)
	}

	wrong := filepath.Join(dir, "wrong")
	if err := os.WriteFile(wrong, []byte(bad+name+" "+strings.TrimSpace(string(ssh.MarshalAuthorizedKey(other)))+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c = newClient(t, cl, nil, "-o", "UserKnownHostsFile="+wrong)
	_, err := c.Run(testCtx(t), "node1", "true", RunOptions{})
	wantKind(t, err, KindHostKeyMismatch)
	var hke *HostKeyError
	if !errors.As(err, &hke) || len(hke.Known) != 1 || hke.Known[0] != wrong+":3" {
		t.Fatalf("known at %v, want [%s:3]", hke.Known, wrong)
	}
}

// Idle connections beyond MaxIdle are closed, least recently used first;
// a jump host connection stays open while connections run through it.
func TestIdleConnectionsBounded(t *testing.T) {
	cl := cluster(t, 4, 185)
	ctx := testCtx(t)
	run := func(c *Client, node string) {
		t.Helper()
		if _, err := c.Run(ctx, node, "true", RunOptions{}); err != nil {
			t.Fatalf("%s: %v", node, err)
		}
	}
	dc := &dialCounter{}
	c := newClient(t, cl, dc)
	c.maxIdle = 2
	for _, n := range []string{"node1", "node2", "node3", "node4", "node4", "node3"} {
		run(c, n)
	}
	if n := dc.total.Load(); n != 4 {
		t.Fatalf("%d dials, want 4 (node3 and node4 still pooled)", n)
	}
	run(c, "node1") // evicted: dialled again
	if n := dc.count(cl.Hosts[0].HostPort()); n != 2 {
		t.Fatalf("node1 dialled %d times, want 2", n)
	}

	dj := &dialCounter{}
	cj := newClient(t, cl, dj, "-J", "node1")
	cj.maxIdle = 1
	for _, n := range []string{"node2", "node3", "node3"} {
		run(cj, n)
	}
	// node2's tunnel was closed as idle; the jump connection, held by
	// node3's, was not
	if n := dj.total.Load(); n != 1 {
		t.Fatalf("%d direct dials, want 1 (the jump host, once)", n)
	}
	cj.mu.Lock()
	var pooled []string
	for _, cn := range cj.conns {
		pooled = append(pooled, cn.host.Alias)
	}
	cj.mu.Unlock()
	sort.Strings(pooled)
	if strings.Join(pooled, ",") != "node1,node3" {
		t.Fatalf("pool holds %v, want node1 (jump) and node3", pooled)
	}
}

// -tt gives the command a pseudo-terminal (sudo prompts need one); -t
// alone does not, as ssh(1) without a local terminal.
func TestPseudoTerminal(t *testing.T) {
	cl := cluster(t, 1, 187)
	ctx := testCtx(t)
	for _, tc := range []struct {
		args []string
		tty  bool
	}{{nil, false}, {[]string{"-t"}, false}, {[]string{"-tt"}, true}, {[]string{"-o", "RequestTTY=force"}, true}} {
		c := newClient(t, cl, nil, tc.args...)
		var out bytes.Buffer
		st, err := c.Run(ctx, "node1", "test -t 0 && tty", RunOptions{Stdout: &out})
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if got := st.Code == 0; got != tc.tty {
			t.Errorf("%v: terminal %v (exit %d), want %v", tc.args, got, st.Code, tc.tty)
		}
		if tc.tty && !strings.HasPrefix(out.String(), "/dev/pts/") {
			t.Errorf("%v: tty printed %q", tc.args, out.String())
		}
	}
}

// SendEnv passes the local variables its patterns match, SetEnv sets
// values; sshd keeps those its AcceptEnv (LANG LC_* on the test hosts) lists.
func TestSendEnvSetEnv(t *testing.T) {
	cl := cluster(t, 1, 189)
	t.Setenv("LC_MUSTER_SEND", "sent value")
	t.Setenv("LC_MUSTER_OTHER", "not matched")
	c := newClient(t, cl, nil, "-o", "SendEnv=LC_MUSTER_S*", "-o", "SetEnv=LC_MUSTER_SET=fixed")
	var out bytes.Buffer
	st, err := c.Run(testCtx(t), "node1", `echo "$LC_MUSTER_SEND|$LC_MUSTER_OTHER|$LC_MUSTER_SET"`, RunOptions{Stdout: &out})
	if err != nil || st.Code != 0 {
		t.Fatalf("%+v %v", st, err)
	}
	if got := out.String(); got != "sent value||fixed\n" {
		t.Fatalf("remote environment %q, want %q", got, "sent value||fixed\n")
	}
}
