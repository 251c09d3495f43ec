package sshworker

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// authCache holds a Client's parsed identity files and agent connections,
// so that a thousand nodes do not parse the same key a thousand times.
type authCache struct {
	mu     sync.Mutex
	files  map[string]identity
	agents map[string]*agentConn
}

type identity struct {
	signer ssh.Signer    // nil when the file could not be used alone
	cert   ssh.Signer    // the key with its certificate (path-cert.pub), if any
	pub    ssh.PublicKey // known even for an encrypted key (from the key or its .pub)
	err    error
}

type agentConn struct {
	conn   net.Conn
	client agent.ExtendedAgent
	err    error
}

func newAuthCache() *authCache {
	return &authCache{files: map[string]identity{}, agents: map[string]*agentConn{}}
}

func (a *authCache) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, ac := range a.agents {
		if ac.conn != nil {
			_ = ac.conn.Close()
		}
	}
	a.agents = map[string]*agentConn{}
}

func (a *authCache) identity(path string) identity {
	a.mu.Lock()
	defer a.mu.Unlock()
	if id, ok := a.files[path]; ok {
		return id
	}
	var id identity
	b, err := os.ReadFile(path)
	if err != nil {
		id.err = err
	} else {
		id.signer, id.err = ssh.ParsePrivateKey(b)
		if id.signer != nil {
			id.pub = id.signer.PublicKey()
		}
		var pm *ssh.PassphraseMissingError
		if errors.As(id.err, &pm) {
			id.pub = pm.PublicKey
		}
	}
	if id.signer != nil {
		// path-cert.pub holds a certificate for the key, as ssh(1) looks for
		if b, err := os.ReadFile(path + "-cert.pub"); err == nil {
			if pub, _, _, _, err := ssh.ParseAuthorizedKey(b); err == nil {
				if cert, ok := pub.(*ssh.Certificate); ok {
					if cs, err := ssh.NewCertSigner(cert, id.signer); err == nil {
						id.cert = cs
					}
				}
			}
		}
	}
	if id.pub == nil {
		if b, err := os.ReadFile(path + ".pub"); err == nil {
			if pub, _, _, _, err := ssh.ParseAuthorizedKey(b); err == nil {
				id.pub = pub
			}
		}
	}
	a.files[path] = id
	return id
}

// agent returns the agent at sock, connecting once per Client.
func (a *authCache) agent(sock string) (agent.ExtendedAgent, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if ac, ok := a.agents[sock]; ok {
		return ac.client, ac.err
	}
	ac := &agentConn{}
	c, err := net.Dial("unix", sock)
	if err != nil {
		ac.err = fmt.Errorf("ssh-agent %s: %w", sock, err)
	} else {
		ac.conn, ac.client = c, agent.NewClient(c)
	}
	a.agents[sock] = ac
	return ac.client, ac.err
}

// signers returns the function that lists h's signers in the order they
// are offered: for each identity file, the agent's copy of the key or the
// file itself; then, unless IdentitiesOnly, the agent's other keys.
func (a *authCache) signers(h *HostConfig) func() ([]ssh.Signer, error) {
	return func() ([]ssh.Signer, error) {
		var agentSigners []ssh.Signer
		if h.IdentityAgent != "" {
			ag, err := a.agent(h.IdentityAgent)
			if err == nil {
				agentSigners, err = ag.Signers()
			}
			if err != nil {
				logger().Debug("ssh-agent not used", "host", h.Alias, "err", err)
			}
		}
		var out []ssh.Signer
		used := make([]bool, len(agentSigners))
		for _, path := range h.IdentityFiles {
			id := a.identity(path)
			var fromAgent ssh.Signer
			if id.pub != nil {
				for i, s := range agentSigners {
					if !used[i] && bytes.Equal(s.PublicKey().Marshal(), id.pub.Marshal()) {
						fromAgent, used[i] = s, true
						break
					}
				}
			}
			if id.cert != nil {
				out = append(out, id.cert)
			}
			switch {
			case fromAgent != nil:
				out = append(out, fromAgent)
			case id.signer != nil:
				out = append(out, id.signer)
			default:
				logger().Debug("identity file not usable", "host", h.Alias, "file", path, "err", id.err)
			}
		}
		if !h.IdentitiesOnly {
			for i, s := range agentSigners {
				if !used[i] {
					out = append(out, s)
				}
			}
		}
		return out, nil
	}
}

// describe says which identities were offered to h, for auth errors.
func (a *authCache) describe(h *HostConfig) string {
	var parts []string
	for _, p := range h.IdentityFiles {
		id := a.identity(p)
		switch {
		case id.signer != nil:
			parts = append(parts, p)
		case id.err != nil:
			parts = append(parts, fmt.Sprintf("%s (unusable: %v)", p, id.err))
		}
	}
	if h.IdentityAgent != "" {
		s := "agent " + h.IdentityAgent
		if h.IdentitiesOnly {
			s += " (IdentitiesOnly)"
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
