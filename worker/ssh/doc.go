// Package sshworker is muster's native ssh client: the distant worker that
// runs commands and copies files on many nodes over SSH from inside the
// process, with no ssh process per node.
//
// It speaks SSH with golang.org/x/crypto/ssh and reads the user's OpenSSH
// configuration, so that a node reachable with ssh(1) is reachable here:
//
//   - ssh_config (~/.ssh/config then /etc/ssh/ssh_config, or the -F file)
//     through github.com/kevinburke/ssh_config:
//     Host patterns, HostName, Port, User, IdentityFile, IdentitiesOnly,
//     IdentityAgent, ProxyJump, ConnectTimeout, StrictHostKeyChecking,
//     UserKnownHostsFile, GlobalKnownHostsFile, HashKnownHosts,
//     HostKeyAlias, ServerAliveInterval, ServerAliveCountMax, AddressFamily,
//     RequestTTY, ConnectionAttempts, SendEnv, SetEnv, KexAlgorithms,
//     Ciphers, MACs (with +, - and ^; algorithms that golang.org/x/crypto/ssh
//     lacks, such as sntrup761x25519-sha512, are left out of a list);
//   - the ssh options clush users pass (-F -i -p -l -J -t -tt -T -4 -6
//     -o Keyword=Value, see ParseOptions); an option the native client cannot honour is an
//     *UnsupportedOptionError that names it and points to the openssh worker;
//   - authentication with the ssh-agent (SSH_AUTH_SOCK or IdentityAgent) and
//     identity files, with their certificates (key-cert.pub) when present;
//     an encrypted key is used through the agent (no passphrase prompt);
//   - host keys checked against known_hosts with StrictHostKeyChecking
//     yes / accept-new / no semantics, a *HostKeyError on an unknown host or a
//     changed key that carries the host, the key's fingerprint and, on a
//     mismatch, the known_hosts file:line.
//
// A Client keeps one SSH connection per resolved user@host:port (and jump
// chain) and runs every command, copy and reverse copy to that node as a
// session on it; a jump host's connection carries every node behind it.
// Connections nobody uses stay open for reuse up to Options.MaxIdle (least
// recently used closed first), so a large node set does not hold a socket
// per node until Close. A node that cannot be reached fails with a *ConnectError
// whose Kind (refused, timeout, auth, host key unknown or mismatch, DNS,
// unreachable) tells why; a remote command's own failure is its
// ExitStatus, never an error. Connect, banner, key exchange and
// authentication are bounded together by the connect timeout, so a server
// that never answers cannot hang a caller.
//
// # Command timeouts
//
// When a command outlives RunOptions.Timeout (muster run -u), the client
// asks the server to send it SIGKILL (an RFC 4254 "signal" request), then
// closes its session. OpenSSH's sshd honours the signal only for sessions
// it runs below an unprivileged child: for a root login it refuses it
// ("session signalling requires privilege separation" in its log), and
// closing the session then only closes the command's pipes. A command that
// writes output dies of SIGPIPE at its next write; a silent one (sleep, a
// hung mount) runs on, adopted by init, until it ends by itself. ssh(1)
// killed by clush -u or pdsh -u leaves the same process behind. A command
// run with a pseudo-terminal (-tt) is hung up (SIGHUP) when its session
// closes. A timed-out node's remote side is therefore not guaranteed to be
// gone; commands that must not linger can bound themselves on the node,
// for example with timeout(1).
//
// Files are copied with SFTP (github.com/pkg/sftp) over the same
// connections; Rcopy writes one entry per node, named basename.node, as
// clush --rcopy does.
//
// Transport adapts a Client to the task engine (worker.Transport): muster
// run -R native uses it.
//
// The package is importable as github.com/muster-sh/muster/worker/ssh; its
// name is sshworker so that it does not shadow golang.org/x/crypto/ssh.
package sshworker

import "log/slog"

func logger() *slog.Logger { return slog.Default().With("component", "sshworker") }
