package openssh

import (
	"context"

	"github.com/muster-sh/muster/worker"
	"github.com/muster-sh/muster/worker/internal/proc"
)

// The names below are defined in worker/internal/proc, shared with the
// rsh and pdsh workers, and re-exported here: they are the same types and
// error values, so errors.Is and errors.As match either way.

// Client is one run of a local client program for a session; see
// RunClient.
type Client = proc.Client

// ConnError reports that a node could not be reached by a client program
// (ssh, scp, rsh, rcp, pdsh) before the remote command ran. It matches
// ErrConnect.
type ConnError = proc.ConnError

// Kind says why a connection failed, as far as the client program's
// message tells.
type Kind = proc.Kind

// The kinds of connection failure.
const (
	KindOther       = proc.KindOther       // not recognised
	KindDNS         = proc.KindDNS         // the host name did not resolve
	KindRefused     = proc.KindRefused     // nothing listens on the port, or the host is down
	KindTimeout     = proc.KindTimeout     // the connect timeout expired
	KindAuth        = proc.KindAuth        // every authentication method was rejected
	KindHostKey     = proc.KindHostKey     // host key verification failed
	KindUnreachable = proc.KindUnreachable // no route, unreachable, reset or closed early
)

var (
	// ErrConnect is matched (errors.Is) by every *ConnError: the client
	// program could not reach the node, so the remote command never ran.
	ErrConnect = proc.ErrConnect
	// ErrStart is matched by the error RunClient returns when the program
	// could not be started at all (not found, not executable).
	ErrStart = proc.ErrStart
	// ErrSyntax is matched by errors from SplitWords and New: an
	// unterminated quote or a trailing backslash.
	ErrSyntax = proc.ErrSyntax
	// ErrEmptyCommand is returned by Command for an empty command line:
	// ssh would open an interactive login instead.
	ErrEmptyCommand = proc.ErrEmptyCommand
	// ErrNotDir is matched by the error Copy returns when a reverse
	// copy's destination is not a directory.
	ErrNotDir = proc.ErrNotDir
)

// RunClient runs c for session s and waits for it and for its output
// streams. It calls s.Started once the program runs, feeds it the
// session's broadcast input (unless c.NoStdin; /dev/null when the session
// has no input), and reports bytes written with s.Written. The program
// gets its own process group; when ctx ends the whole group is killed
// with SIGKILL, and RunClient returns the status it observed together
// with ctx.Err(). It returns the program's exit status (128+N for signal
// N); an error matching ErrStart means the program never ran.
func RunClient(ctx context.Context, s worker.Session, c Client) (worker.Status, error) {
	return proc.RunClient(ctx, s, c)
}

// SplitWords splits s into words as a POSIX shell splits a simple command
// line without expansions (like Python's shlex.split); errors match
// ErrSyntax.
func SplitWords(s string) ([]string, error) { return proc.SplitWords(s) }

// ExpandHome replaces a leading "~" or "~/" with the current user's home
// directory; other words are returned unchanged.
func ExpandHome(w string) string { return proc.ExpandHome(w) }

// Classify returns the kind of connection failure a client program's
// message line describes, or KindOther.
func Classify(msg string) Kind { return proc.Classify(msg) }

// ReverseDest is where a reverse copy of cp from node lands:
// cp.Dest/<base name of cp.Source>.<node>.
func ReverseDest(cp worker.Copy, node string) string { return proc.ReverseDest(cp, node) }
