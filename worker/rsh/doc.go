// Package rsh is the distant worker that runs rsh (or a compatible program
// such as mrsh or krsh) and rcp, one process per node, like ClusterShell's
// rsh worker.
//
// A command runs as rsh [-l User] [Options] NODE LINE "; echo XXRETCODE: $?":
// rsh does not report the remote command's exit status, so the remote
// shell prints it last; the driver removes that line from the output and
// returns the status. When the line is missing and rsh failed, the command
// never completed on the node and Run returns a *openssh.ConnError. A copy
// runs rcp [-r] [-p] [Options] SOURCE [user@]NODE:DEST; a reverse copy
// fetches [user@]NODE:SOURCE into DEST/<base>.<NODE>. rsh has no connect
// timeout; the session's ConnectTimeout is not used.
//
// Process handling (process groups killed when the run's context ends,
// standard input broadcast) is openssh.RunClient's.
package rsh
