package proc

import (
	"errors"
	"fmt"
	"strings"
)

// ErrConnect is matched (errors.Is) by every *ConnError: the client
// program could not reach the node, so the remote command never ran.
var ErrConnect = errors.New("cannot connect to node")

// Kind says why a connection failed, as far as the client program's own
// messages tell.
type Kind int

// The kinds of connection failure recognised in ssh's messages.
const (
	KindOther       Kind = iota // not recognised
	KindDNS                     // the host name did not resolve
	KindRefused                 // nothing listens on the port, or the host is down
	KindTimeout                 // the connect timeout expired
	KindAuth                    // every authentication method was rejected
	KindHostKey                 // host key verification failed (unknown or changed key)
	KindUnreachable             // no route, network unreachable, connection reset or closed early
)

var kindNames = [...]string{"error", "dns", "refused", "timeout", "auth", "hostkey", "unreachable"}

// String returns a short name for the kind ("refused", "timeout", ...).
func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return fmt.Sprintf("kind(%d)", int(k))
	}
	return kindNames[k]
}

// ConnError reports that a node could not be reached by a client program
// (ssh, scp, rsh, rcp, pdsh): the program failed before the remote command
// ran. It is distinct from the remote command's own exit code, which is
// reported as the node's status. The program's messages were also passed
// to the node's standard error.
type ConnError struct {
	Program string // the client program, e.g. "ssh"
	Node    string // the node that could not be reached
	Code    int    // the exit code reported for the node (255 for ssh)
	Kind    Kind   // what the program's message says, KindOther if unrecognised
	Message string // the program's last message line, if any
}

// Error names the program, the node, the exit code and the kind of failure.
func (e *ConnError) Error() string {
	s := fmt.Sprintf("%s: %s: cannot connect (exit code %d)", e.Program, e.Node, e.Code)
	if e.Kind != KindOther {
		s += ": " + e.Kind.String()
	}
	return s
}

// Is reports whether target is ErrConnect.
func (e *ConnError) Is(target error) bool { return target == ErrConnect }

// Classify returns the kind of connection failure that a client message
// line (from ssh, scp, or pdsh relaying ssh) describes, or KindOther.
func Classify(msg string) Kind {
	m := strings.ToLower(msg)
	switch {
	case strings.Contains(m, "could not resolve hostname"),
		strings.Contains(m, "name or service not known"),
		strings.Contains(m, "temporary failure in name resolution"),
		strings.Contains(m, "no address associated with hostname"):
		return KindDNS
	case strings.Contains(m, "connection refused"):
		return KindRefused
	case strings.Contains(m, "timed out"), strings.Contains(m, "connection timeout"):
		return KindTimeout
	case strings.Contains(m, "host key verification failed"),
		strings.Contains(m, "remote host identification has changed"),
		strings.Contains(m, "no matching host key"):
		return KindHostKey
	case strings.Contains(m, "permission denied"),
		strings.Contains(m, "too many authentication failures"),
		strings.Contains(m, "no more authentication methods"):
		return KindAuth
	case strings.Contains(m, "no route to host"),
		strings.Contains(m, "network is unreachable"),
		strings.Contains(m, "connection reset"),
		strings.Contains(m, "connection closed by"),
		strings.Contains(m, "kex_exchange_identification"),
		strings.Contains(m, "broken pipe"):
		return KindUnreachable
	}
	return KindOther
}
