// Package pdsh is the distant worker that drives pdsh, like ClusterShell's
// pdsh worker: ONE pdsh process for a whole node set,
//
//	pdsh -b [-R rcmd] [-f fanout] [-l user] [-t timeout] [options] -w node1,node2,... LINE
//
// whose "node: line" output is split back to each node's session, and
// whose "pdsh@host: node: ssh exited with exit code N" messages give the
// nodes' exit codes (0 for a node pdsh reports nothing about). Copies run
// pdcp, and rpdcp for reverse copies (which lands files as
// DEST/<base>.<node>); both need pdcp installed on the nodes too.
//
// The Driver is a worker.BatchDriver: the task engine calls RunAll once for
// all of a worker's nodes, in one fanout slot (pdsh applies its own -f).
// Run, for callers of the per-node contract, starts one pdsh per node.
//
// The connect timeout goes to pdsh (-t N) and to ssh through
// PDSH_SSH_ARGS_APPEND ("-o ConnectTimeout=N"); commands also get "-n" there: pdsh never closes
// the remote standard input, so a command reading it would wait forever.
// For the same reason standard input cannot be forwarded: with input
// enabled every node fails with an error matching [ErrStdin] and
// worker.ErrUnsupported. Limits that come from pdsh itself: output is
// line-based (a last line without newline may be glued to another node's
// line), and an exit code 255 cannot be told from ssh's connection
// failure; a node that exits 255 without printing anything on standard
// output is reported as a *openssh.ConnError.
package pdsh
