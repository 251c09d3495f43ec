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

// A server that completes the key exchange and then never answers the
// authentication request ends at the connect timeout, as a timeout.
func TestAuthStallTimesOut(t *testing.T) {
	cl := cluster(t, 1, 251) // only for its user key and config defaults
	hostPub, hostPriv := genKey(t)
	signer, err := ssh.NewSignerFromKey(ed25519.PrivateKey(hostPriv))
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(ssh.ConnMetadata, ssh.PublicKey) (*ssh.Permissions, error) {
			<-release // authentication stalls
			return nil, fmt.Errorf("never")
		},
	}
	cfg.AddHostKey(signer)
	l, err := net.Listen("tcp", "127.0.0.252:0")
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
				_, _, _, _ = ssh.NewServerConn(nc, cfg)
			}()
		}
	}()
	t.Cleanup(func() { close(release); _ = l.Close(); wg.Wait() })

	port := l.Addr().(*net.TCPAddr).Port
	kh := filepath.Join(t.TempDir(), "known_hosts")
	line := fmt.Sprintf("[127.0.0.252]:%d %s", port, ssh.MarshalAuthorizedKey(hostPub))
	if err := os.WriteFile(kh, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, cl, nil, "-o", "ConnectTimeout=1", "-p", strconv.Itoa(port), "-o", "UserKnownHostsFile="+kh)
	_, err = c.Run(testCtx(t), "127.0.0.252", "true", RunOptions{})
	wantKind(t, err, KindTimeout)
}
