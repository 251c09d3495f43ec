package mesh

import (
	"context"
	"errors"
	"time"

	sshworker "github.com/muster-sh/muster/worker/ssh"
)

// SSHOptions configure a child started over ssh.
type SSHOptions struct {
	// Name names the child in errors and logs; default Host.
	Name string
	// Host is the node, resolved through the ssh client's configuration.
	Host string
	// Client is the native ssh client to connect with; nil builds one from
	// SSHArgs (and closes it with the child).
	Client *sshworker.Client
	// SSHArgs are ssh(1)-style options for the client built when Client is
	// nil, e.g. {"-F", "ssh_config", "-o", "User=x"}. They are also what a
	// child uses when it starts an ssh child of its own (Context.SSH).
	SSHArgs []string
	// CacheDir is the remote per-user directory that holds agent binaries
	// by hash; default "$HOME/.cache/muster/agents".
	CacheDir string
	// ConnectTimeout bounds the connection, probe, upload and handshake;
	// default 10 s (uploads add time for the binary's size).
	ConnectTimeout time.Duration
}

// SSH starts a child context on o.Host: the same binary, found in the
// remote cache by its sha256 or uploaded there first, run as an agent over
// an ssh session's stdio.
func (r *Router) SSH(ctx context.Context, o SSHOptions) (*Context, error) {
	return nil, errors.New("mesh: SSH not implemented yet")
}
