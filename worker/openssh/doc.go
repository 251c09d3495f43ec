// Package openssh is the distant worker that runs the system's ssh and scp
// programs, one process per node, like ClusterShell's ssh worker. It is the
// path for sites whose access depends on the user's OpenSSH setup
// (Kerberos/GSSAPI, smartcards, agents, ProxyCommand, ControlMaster):
// everything in ssh_config applies.
//
// A command runs as
//
//	ssh [Options] -oForwardAgent=no -oForwardX11=no [-l User]
//	    [-oConnectTimeout=N] -oBatchMode=yes [probe] NODE LINE
//
// with the configured options first so that they override the built-in
// ones (ssh keeps the first value of an option). LINE is passed verbatim
// to the remote login shell. A copy runs scp [-r] [-p]
// [-oConnectTimeout=N] SOURCE [user@][NODE]:DEST; a reverse copy fetches
// [user@][NODE]:SOURCE into DEST/<base>.<NODE>.
//
// ssh exits with 255 both when it cannot connect and when the remote
// command exits 255 or is killed by a signal. To tell them apart, ssh is
// given a LocalCommand (run by ssh once the connection is authenticated)
// that prints a marker line, removed from the output; an exit code 255
// without the marker is returned as a *[ConnError] (matching
// [ErrConnect]), with a [Kind] read from ssh's message, while the engine
// reports the node's exit code 255. See [Config.NoConnectProbe] for when
// the probe cannot work.
//
// Processes get their own process group, killed with SIGKILL when the
// run's context ends, so that no ssh, ProxyCommand or LocalCommand
// outlives the node's run. As with ssh itself, a remote command is not
// signalled when its ssh client dies unless it writes to its closed
// output.
//
// [RunClient], [SplitWords], [ConnError] and the error values are shared
// with the rsh and pdsh workers: they are defined in a package below all
// three and re-exported here under the same identity, so errors.Is and
// errors.As on an rsh or pdsh error work with these names.
package openssh
