package sshworker

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/muster-sh/muster/internal/testhosts"
)

// A key that no authorized_keys lists logs in with its certificate
// (key-cert.pub beside it), signed by a CA the server trusts.
func TestCertificateAuth(t *testing.T) {
	dir := t.TempDir()
	caPub, caPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caSSH, err := ssh.NewPublicKey(caPub)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "ca.pub")
	if err := os.WriteFile(caFile, ssh.MarshalAuthorizedKey(caSSH), 0o644); err != nil {
		t.Fatal(err)
	}
	cl := testhosts.StartT(t, 1, testhosts.Options{FirstAddr: 245, ExtraConfig: "TrustedUserCAKeys " + caFile})
	h := cl.Hosts[0]

	userPub, userPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "id_cert_user")
	blk, err := ssh.MarshalPrivateKey(userPriv, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(blk), 0o600); err != nil {
		t.Fatal(err)
	}
	sshUserPub, _ := ssh.NewPublicKey(userPub)
	cfg := filepath.Join(dir, "ssh_config")
	text := fmt.Sprintf("Host certnode\n  HostName %s\n  Port %d\n  User %s\n  UserKnownHostsFile %s\n  IdentityFile %s\n  IdentitiesOnly yes\n  IdentityAgent none\n",
		h.Addr, h.Port, cl.User, cl.KnownHosts, key)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func() error {
		c, err := New(Options{ConfigFile: cfg})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, err = c.Run(testCtx(t), "certnode", "true", RunOptions{})
		return err
	}
	wantKind(t, run(), KindAuth) // the bare key is not authorized

	caSigner, err := ssh.NewSignerFromKey(caPriv)
	if err != nil {
		t.Fatal(err)
	}
	cert := &ssh.Certificate{Key: sshUserPub, CertType: ssh.UserCert, KeyId: "muster-test",
		ValidPrincipals: []string{cl.User}, ValidBefore: math.MaxUint64,
		Permissions: ssh.Permissions{Extensions: map[string]string{"permit-pty": ""}}}
	if err := cert.SignCert(rand.Reader, caSigner); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key+"-cert.pub", ssh.MarshalAuthorizedKey(cert), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(); err != nil {
		t.Fatalf("with a certificate: %v", err)
	}
}
