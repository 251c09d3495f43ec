package sshworker

import (
	"errors"
	"fmt"
	"strings"
)

// Kind classifies why a node could not be reached. It never describes the
// remote command: a command that ran and failed reports its exit status in
// an [ExitStatus] instead.
type Kind int

// The kinds of connection failure.
const (
	KindOther           Kind = iota // anything not listed below
	KindDNS                         // the host name did not resolve
	KindRefused                     // the TCP connection was refused (nothing listens, host down)
	KindTimeout                     // connect, banner, key exchange or authentication did not finish within the connect timeout
	KindAuth                        // the server rejected every authentication method offered
	KindHostKeyUnknown              // the host is not in known_hosts and StrictHostKeyChecking forbids adding it
	KindHostKeyMismatch             // known_hosts holds another key for the host (or the key is revoked)
	KindUnreachable                 // network or host unreachable, connection reset, or the peer closed before the handshake ended
)

var kindNames = [...]string{"error", "dns", "refused", "timeout", "auth", "hostkey-unknown", "hostkey-mismatch", "unreachable"}

// String returns a short lower-case name of the kind ("refused", "timeout", ...).
func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return fmt.Sprintf("kind(%d)", int(k))
	}
	return kindNames[k]
}

// Sentinel errors, one per [Kind]; a *[ConnectError] matches the sentinel of
// its kind with errors.Is.
var (
	ErrDNS             = errors.New("sshworker: host name does not resolve")
	ErrRefused         = errors.New("sshworker: connection refused")
	ErrTimeout         = errors.New("sshworker: connect timeout")
	ErrAuth            = errors.New("sshworker: authentication failed")
	ErrHostKeyUnknown  = errors.New("sshworker: host key unknown")
	ErrHostKeyMismatch = errors.New("sshworker: host key mismatch")
	ErrUnreachable     = errors.New("sshworker: host unreachable")

	// ErrCommandTimeout reports that a remote command ran longer than its
	// command timeout; the session was signalled and closed.
	ErrCommandTimeout = errors.New("sshworker: command timeout")
	// ErrClosed reports use of a Client after Close.
	ErrClosed = errors.New("sshworker: client closed")
	// ErrUnsupported is matched by every *UnsupportedOptionError.
	ErrUnsupported = errors.New("sshworker: option not supported by the native ssh worker")
)

func (k Kind) sentinel() error {
	switch k {
	case KindDNS:
		return ErrDNS
	case KindRefused:
		return ErrRefused
	case KindTimeout:
		return ErrTimeout
	case KindAuth:
		return ErrAuth
	case KindHostKeyUnknown:
		return ErrHostKeyUnknown
	case KindHostKeyMismatch:
		return ErrHostKeyMismatch
	case KindUnreachable:
		return ErrUnreachable
	}
	return nil
}

// ConnectError reports that a node could not be reached: the connection,
// the key exchange, the host key check or the authentication failed. It
// is per node and never the remote command's own failure.
type ConnectError struct {
	Host string // the node name as given (ssh_config alias)
	Addr string // the resolved host:port dialled
	User string // the login name
	Via  string // the ProxyJump chain used, if any
	Kind Kind
	Err  error // the underlying error
}

func (e *ConnectError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ssh %s", e.Host)
	if e.Addr != "" {
		fmt.Fprintf(&b, " (%s@%s", e.User, e.Addr)
		if e.Via != "" {
			fmt.Fprintf(&b, " via %s", e.Via)
		}
		b.WriteString(")")
	}
	fmt.Fprintf(&b, ": %s: %v", e.Kind, e.Err)
	return b.String()
}

// Unwrap returns the underlying error.
func (e *ConnectError) Unwrap() error { return e.Err }

// Is reports whether target is the sentinel of e's kind.
func (e *ConnectError) Is(target error) bool {
	s := e.Kind.sentinel()
	return s != nil && target == s
}

// HostKeyError reports a host key that known_hosts does not vouch for: the
// host is unknown (Mismatch false) or known with other keys (Mismatch true).
// It is wrapped in a *ConnectError of kind KindHostKeyUnknown or
// KindHostKeyMismatch.
type HostKeyError struct {
	Host        string   // the name looked up in known_hosts, in known_hosts form ("node1" or "[10.0.0.1]:2222")
	KeyType     string   // the server's key type, e.g. "ssh-ed25519"
	Fingerprint string   // SHA256 fingerprint of the server's key, as ssh-keygen -l prints it
	Mismatch    bool     // known_hosts has other keys for Host
	Revoked     bool     // the key is marked @revoked
	Files       []string // the known_hosts files consulted
	// Known lists where the keys known for Host were found, as "file:line"
	// (the lines to fix on a mismatch).
	Known  []string
	Policy string // the StrictHostKeyChecking policy in force
}

func (e *HostKeyError) Error() string {
	switch {
	case e.Revoked:
		return fmt.Sprintf("host key %s %s for %s is revoked (%s)", e.KeyType, e.Fingerprint, e.Host, strings.Join(e.Known, ", "))
	case e.Mismatch:
		return fmt.Sprintf("REMOTE HOST IDENTIFICATION HAS CHANGED for %s: server offers %s %s, known_hosts has another key at %s",
			e.Host, e.KeyType, e.Fingerprint, strings.Join(e.Known, ", "))
	}
	return fmt.Sprintf("host key for %s is not known (%s %s) and StrictHostKeyChecking is %s; known_hosts files: %s",
		e.Host, e.KeyType, e.Fingerprint, e.Policy, strings.Join(e.Files, " "))
}

// Is makes a HostKeyError match ErrHostKeyMismatch or ErrHostKeyUnknown.
func (e *HostKeyError) Is(target error) bool {
	if e.Mismatch || e.Revoked {
		return target == ErrHostKeyMismatch
	}
	return target == ErrHostKeyUnknown
}

// UnsupportedOptionError reports an ssh option, flag or ssh_config keyword
// that the native client cannot honour. Use the openssh worker (which runs
// the ssh binary) for it.
type UnsupportedOptionError struct {
	Option string // as written, e.g. "-t" or "ProxyCommand"
	Reason string // why, when more can be said than "not supported"
}

func (e *UnsupportedOptionError) Error() string {
	msg := fmt.Sprintf("ssh option %q is not supported by the native ssh worker", e.Option)
	if e.Reason != "" {
		msg += " (" + e.Reason + ")"
	}
	return msg + "; use the openssh worker (muster run -R openssh, which runs the ssh binary) for it"
}

// Is makes an UnsupportedOptionError match ErrUnsupported.
func (e *UnsupportedOptionError) Is(target error) bool { return target == ErrUnsupported }

// OptionError reports an ssh option or ssh_config value that is malformed.
type OptionError struct {
	Option string // the option or keyword
	Value  string // the bad value
	Want   string // what was expected
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("ssh option %s: bad value %q, expected %s", e.Option, e.Value, e.Want)
}
