package sshworker

import (
	"crypto/ed25519"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
)

// stallServer is an SSH server on ip that stalls: in authentication
// (authStall), or after it by never answering a channel open (nor, with
// deaf, a global request such as a keepalive). It returns its port and a
// known_hosts file for it.
func stallServer(t *testing.T, ip string, authStall bool, deaf ...bool) (int, string) {
	hostPub, hostPriv := genKey(t)
	signer, err := ssh.NewSignerFromKey(ed25519.PrivateKey(hostPriv))
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(ssh.ConnMetadata, ssh.PublicKey) (*ssh.Permissions, error) {
			if authStall {
				<-release
				return nil, fmt.Errorf("never")
			}
			return nil, nil // any key
		},
	}
	cfg.AddHostKey(signer)
	l, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer nc.Close()
				sc, _, reqs, err := ssh.NewServerConn(nc, cfg)
				if err != nil {
					return
				}
				// never serve the channels: opens get no answer
				if len(deaf) == 0 || !deaf[0] {
					go ssh.DiscardRequests(reqs)
				}
				<-release
				_ = sc.Close()
			}()
		}
	}()
	t.Cleanup(func() { close(release); _ = l.Close(); wg.Wait() })

	port := l.Addr().(*net.TCPAddr).Port
	kh := filepath.Join(t.TempDir(), "known_hosts")
	line := fmt.Sprintf("[%s]:%d %s", ip, port, ssh.MarshalAuthorizedKey(hostPub))
	if err := os.WriteFile(kh, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	return port, kh
}

// A server that completes the key exchange and then never answers the
// authentication request ends at the connect timeout, as a timeout.
func TestAuthStallTimesOut(t *testing.T) {
	cl := cluster(t, 1, 251) // only for its user key and config defaults
	port, kh := stallServer(t, "127.0.0.252", true)
	c := newClient(t, cl, nil, "-o", "ConnectTimeout=1", "-p", strconv.Itoa(port), "-o", "UserKnownHostsFile="+kh)
	_, err := c.Run(testCtx(t), "127.0.0.252", "true", RunOptions{})
	wantKind(t, err, KindTimeout)
}

// A server that accepts the login and then never answers a session or
// sftp channel open ends at the connect timeout too, and the dead
// connection leaves the pool.
func TestSessionOpenStallTimesOut(t *testing.T) {
	cl := cluster(t, 1, 253)
	port, kh := stallServer(t, "127.0.0.254", false)
	dc := &dialCounter{}
	c := newClient(t, cl, dc, "-o", "ConnectTimeout=1", "-p", strconv.Itoa(port), "-o", "UserKnownHostsFile="+kh)
	_, err := c.Run(testCtx(t), "127.0.0.254", "true", RunOptions{})
	wantKind(t, err, KindTimeout)
	_, err = c.Rcopy(testCtx(t), "127.0.0.254", "/etc/hostname", t.TempDir(), CopyOptions{})
	wantKind(t, err, KindTimeout)
	if n := dc.total.Load(); n != 2 {
		t.Fatalf("%d dials, want 2 (the stalled connection is not reused)", n)
	}
}

// A server that stops answering keepalives is dropped after
// ServerAliveInterval * ServerAliveCountMax: the connection ends.
func TestServerAliveDetectsDeadServer(t *testing.T) {
	cl := cluster(t, 1, 247)
	port, kh := stallServer(t, "127.0.0.248", false, true)
	c := newClient(t, cl, nil, "-p", strconv.Itoa(port), "-o", "UserKnownHostsFile="+kh,
		"-o", "ServerAliveInterval=1", "-o", "ServerAliveCountMax=1")
	ctx := testCtx(t)
	sc, err := c.Connect(ctx, "127.0.0.248")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- sc.Wait() }()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("the connection to a server that never answers keepalives stayed open")
	}
}
