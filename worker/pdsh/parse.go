package pdsh

import (
	"bytes"
	"strconv"
)

// LineKind says what a line printed by pdsh, pdcp or rpdcp is.
type LineKind int

// The kinds of lines.
const (
	// LineNode is a node's output: "node: text". Text is the node's line.
	LineNode LineKind = iota
	// LineExit is "pdsh@host: node: ssh exited with exit code N": the
	// node's command (or its rcmd program) exited with Code.
	LineExit
	// LineTimeout is "pdsh@host: node: command timeout" (pdsh -u).
	LineTimeout
	// LineNodeError is any other message pdsh prints about a node
	// ("pdsh@host: node: connect: Connection refused", "pdcp@host: node:
	// fatal: ..."). Text is the message after "node: ".
	LineNodeError
	// LineSignal is pdsh telling which signal it sends ("sending SIGTERM
	// to ssh node1", "sending signal 15 to node1 [ssh] pid 1234").
	LineSignal
	// LineTool is a message of pdsh itself, about no node, or a line that
	// fits no other kind. Text is the whole line.
	LineTool
)

var lineKindNames = [...]string{"node", "exit", "timeout", "node-error", "signal", "tool"}

// String returns a short name for the kind ("node", "exit", ...).
func (k LineKind) String() string {
	if k < 0 || int(k) >= len(lineKindNames) {
		return "kind(" + strconv.Itoa(int(k)) + ")"
	}
	return lineKindNames[k]
}

// Line is one parsed line.
type Line struct {
	Kind LineKind
	Node string // the node, for LineNode, LineExit, LineTimeout, LineNodeError
	Text []byte // see the kinds; it aliases the parsed line
	Code int    // exit code, for LineExit
}

// ParseLine parses one line of pdsh, pdcp or rpdcp output, without its
// newline. Lines starting with "pdsh@", "pdcp@" or "rpdcp@" are the
// tool's messages; other lines are "node: text" (pdsh writes "node: "
// before every line a node prints, on stdout or stderr as the node did).
func ParseLine(b []byte) Line {
	if bytes.HasPrefix(b, []byte("sending ")) {
		return Line{Kind: LineSignal, Text: b}
	}
	if isToolPrefix(b) {
		// "pdsh@host: " then "node: message" or a message of its own.
		i := bytes.Index(b, []byte(": "))
		if i < 0 {
			return Line{Kind: LineTool, Text: b}
		}
		rest := b[i+2:]
		j := bytes.Index(rest, []byte(": "))
		if j <= 0 || bytes.ContainsAny(rest[:j], " \t") {
			return Line{Kind: LineTool, Text: b}
		}
		node, msg := string(rest[:j]), rest[j+2:]
		if string(msg) == "command timeout" {
			return Line{Kind: LineTimeout, Node: node, Text: msg}
		}
		// "<program> exited with exit code N"; the program may have
		// blanks in it (pdsh -R exec names the whole command).
		if k := bytes.LastIndex(msg, []byte(exitPhrase)); k > 0 {
			if code, err := strconv.Atoi(string(msg[k+len(exitPhrase):])); err == nil && code >= 0 {
				return Line{Kind: LineExit, Node: node, Text: msg, Code: code}
			}
		}
		return Line{Kind: LineNodeError, Node: node, Text: msg}
	}
	i := bytes.Index(b, []byte(": "))
	if i <= 0 {
		if len(b) > 1 && b[len(b)-1] == ':' && !bytes.ContainsAny(b, " \t") {
			// "node:" with nothing after (no trailing blank).
			return Line{Kind: LineNode, Node: string(b[:len(b)-1]), Text: b[len(b):]}
		}
		return Line{Kind: LineTool, Text: b}
	}
	if bytes.ContainsAny(b[:i], " \t") {
		return Line{Kind: LineTool, Text: b}
	}
	return Line{Kind: LineNode, Node: string(b[:i]), Text: b[i+2:]}
}

const exitPhrase = " exited with exit code "

func isToolPrefix(b []byte) bool {
	for _, p := range []string{"pdsh@", "pdcp@", "rpdcp@"} {
		if bytes.HasPrefix(b, []byte(p)) {
			return true
		}
	}
	return false
}
