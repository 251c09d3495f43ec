// Package cli holds what muster's subcommands share: their standard streams
// and the exit codes they return.
package cli

import "io"

// Stdio is the set of streams a subcommand reads and writes. Tests pass
// buffers; the binary passes the process's own streams.
type Stdio struct {
	In           io.Reader
	Out, Err     io.Writer
	InIsTerminal bool
}

// Main is the signature of a subcommand: args excludes the program name,
// the result is the process exit code.
type Main func(args []string, stdio Stdio) int
