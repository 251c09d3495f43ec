// Package task is muster's event engine: it runs commands over node sets
// with a bounded fanout, per-node and task-wide timeouts, timers, and
// handlers called in order on one goroutine, and it keeps the results
// (per-node output, exit codes, timeouts, outputs grouped by content).
//
// A [Task] holds settings (fanout, default 64; connect timeout, default
// 10 s; command timeout, default none; debugging with a pluggable printer;
// user-defined keys) and the work to run: workers made by [Task.Shell],
// [Task.Copy], [Task.Rcopy] or [NewWorker] + [Task.Schedule], and timers
// ([Task.Timer]). [Task.Run] blocks until every worker and keep-alive timer
// is done; work submitted while it runs starts as soon as the fanout
// allows. Each Task has its own loop, so several tasks can run at once in
// different goroutines.
//
// Events (start, pickup, read, error, written, hup, timeout, close, timer)
// go to a [Handler], called on the goroutine running Run, one at a time and
// in order; embed [BaseHandler] to implement only some. [Task.Abort],
// [Task.Wait], [Task.Post] and [Port] are the ways other goroutines
// interact with a running task.
//
// Nodes start in the order given (node-set order when the nodes come from
// a node set), unlike ClusterShell which starts them in hash order.
//
// Transports plug in through package worker: the local one is worker/exec;
// distant ones (ssh, openssh, pdsh) are chosen per Task ([WithDistant]) or
// per call ([Via]).
package task
