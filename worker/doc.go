// Package worker defines the contract between muster's task engine and the
// transports that run commands on nodes: the local exec worker
// (worker/exec), and the distant workers: ssh (muster's native Go client,
// worker/ssh), openssh, rsh and pdsh (which run those programs).
//
// A transport implements [Transport]. For each Shell or Copy call the task
// engine asks the transport for a [Driver]; it then calls [Driver.Run] once
// per node, in node-set order, each in its own goroutine, never more at once
// than the task's fanout allows. Run reports what happens through the
// [Session] it is given (the node started, its output, bytes written to its
// input) and returns the node's exit status. The engine turns these reports
// into handler events, delivered in order on the task's own goroutine, and
// into results (buffers, exit codes, timeouts).
//
// Cancellation is the context passed to Run: it is cancelled when the node's
// command timeout expires, when the task times out or is aborted. Run must
// then stop everything it started for that node (for local processes: kill
// the whole process group, so that no child survives), release its
// resources and return promptly. The engine knows why the context ended and
// records a timeout or an abort itself; Run only returns ctx.Err() or the
// status it observed.
//
// Output goes through Session.Stdout and Session.Stderr, which are ordinary
// io.Writers: the engine splits lines, so a transport never parses output.
// Standard input, when the caller enabled it, is a broadcast stream the
// engine keeps once for all nodes; a transport pulls it with
// Session.Stdin().Next and reports what it wrote with Session.Written.
//
// A transport that reaches a whole node set with one local process (pdsh,
// or the exec worker's %hosts) returns a driver that also implements
// [BatchDriver]: the engine then calls RunAll once for all the worker's
// nodes, in one fanout slot, instead of Run per node.
//
// When a node cannot be reached, Run returns an error: the engine gives the
// node exit code 255, keeps the error (task.Worker.NodeErr) and writes it to
// the node's stderr, unless the error implements [Reported] (the
// transport already wrote its own message there).
//
// A transport that cannot copy files returns an error wrapping
// [ErrUnsupported] from Copy.
//
// Transports are chosen per task (task.WithDistant) or per call
// (task.Via); the command line registers them by name for -R.
package worker
