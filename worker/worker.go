package worker

import (
	"context"
	"errors"
	"io"
	"strconv"
	"syscall"
	"time"
)

// ErrUnsupported is returned (wrapped) by a transport asked for something it
// cannot do, such as a copy by the exec transport's command-only variant.
var ErrUnsupported = errors.New("operation not supported by this worker")

// Transport makes drivers for one way of reaching nodes (local processes,
// ssh, pdsh, ...). Implementations are safe for concurrent use.
type Transport interface {
	// Name is the short name used on command lines ("exec", "ssh").
	Name() string
	// Command returns a driver that runs cmd on each node.
	Command(cmd Command) (Driver, error)
	// Copy returns a driver that copies files to (or, with Reverse, from)
	// each node.
	Copy(cp Copy) (Driver, error)
}

// Command describes a command to run on every node of a worker.
type Command struct {
	// Line is the command line as the user wrote it.
	Line string
	// Shell runs Line through /bin/sh -c (or the remote login shell).
	// Without it a local transport splits Line into words and runs the
	// program directly.
	Shell bool
}

// Copy describes a file transfer between this machine and each node.
type Copy struct {
	// Source and Dest are paths; with Reverse, Source is on the nodes and
	// Dest is a local directory where each file lands as <base>.<node>.
	Source, Dest string
	// Reverse copies from the nodes to this machine.
	Reverse bool
	// Preserve keeps modification times and modes.
	Preserve bool
}

// Driver runs one worker's command for one node at a time.
type Driver interface {
	// Run runs the work for s.Node() and blocks until it is over. It calls
	// s.Started once the node's command is running. It returns the node's
	// exit status, or an error when the command could not run at all (the
	// engine then reports exit code 255 for the node, like ssh does for a
	// connection failure). When ctx ends, Run stops the node's command and
	// everything it started, then returns.
	Run(ctx context.Context, s Session) (Status, error)
}

// BatchDriver is implemented by drivers that reach a whole node set with
// a single local process (pdsh, pdcp). When the Driver a Transport returns
// implements it, the engine calls RunAll once for all of a worker's nodes
// instead of Run once per node; the batch takes one fanout slot (the tool
// applies its own fanout) and one context, whose deadline is the worker's
// command timeout.
type BatchDriver interface {
	Driver
	// RunAll runs the work for every session at once and blocks until it
	// is over. sessions are the worker's nodes in order, each with its
	// Rank; RunAll reports through each node's own session as Run does.
	// It returns one Status and one error per session, in the same order:
	// errs[i] != nil means node i could not run (exit code 255, as for
	// Run) or, when ctx ended before node i finished, is ctx.Err() (a
	// timeout for that node if ctx's deadline passed, nothing if the task
	// was aborted). Nodes that finished before ctx ended keep their status.
	RunAll(ctx context.Context, sessions []Session) (statuses []Status, errs []error)
}

// Session is the engine's side of one node's run. Its methods may be
// called from any goroutine Run starts; Stdout and Stderr each from one
// goroutine at a time.
type Session interface {
	// Node is the node name (or the key of a local command).
	Node() string
	// Rank is the node's 0-based index in the worker's node set.
	Rank() int
	// Started reports that the node's command is running (pickup event).
	Started()
	// Stdout receives the command's standard output.
	Stdout() io.Writer
	// Stderr receives the command's standard error. When the caller asked
	// for stderr merged into stdout, it is the same writer as Stdout and
	// MergedStderr reports true, so that a local transport can give the
	// process a single pipe and keep the interleaving exact.
	Stderr() io.Writer
	// MergedStderr reports whether stderr is merged into stdout.
	MergedStderr() bool
	// Stdin is the broadcast input, or nil when input is disabled (the
	// command then reads end of file at once).
	Stdin() Input
	// Written reports n bytes written to the command's standard input.
	Written(n int)
	// ConnectTimeout is how long a distant transport may take to connect
	// (0: no limit).
	ConnectTimeout() time.Duration
	// Debugf emits a debug line when the task has debugging enabled.
	Debugf(format string, args ...any)
}

// Reported is implemented by errors whose text the transport already
// wrote to the node's stderr (ssh's own "connection refused" line, say).
// For such an error the engine records exit code 255 and the error
// (Worker.NodeErr) without adding its own "muster: ..." line.
type Reported interface {
	error
	Reported() bool
}

// Input is a broadcast stream read independently by every node's run.
type Input interface {
	// Next returns the next chunk after the previous one this reader
	// received, blocking until there is one. It returns io.EOF once the
	// stream is closed and fully read, or ctx.Err().
	Next(ctx context.Context) ([]byte, error)
}

// Status is how a node's command ended.
type Status struct {
	// Code is the exit code; for a command killed by a signal it is
	// 128 + the signal number, as shells report it.
	Code int
	// Signal is the signal that killed the command, or 0.
	Signal syscall.Signal
}

// Exited returns the status of a command that exited with code.
func Exited(code int) Status { return Status{Code: code} }

// Signaled returns the status of a command killed by sig.
func Signaled(sig syscall.Signal) Status { return Status{Code: 128 + int(sig), Signal: sig} }

// String describes the status ("exit 1", "signal killed").
func (s Status) String() string {
	if s.Signal != 0 {
		return "signal " + s.Signal.String()
	}
	return "exit " + strconv.Itoa(s.Code)
}
