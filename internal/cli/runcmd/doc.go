// Package runcmd is "muster run", also reached through a link named clush:
// it runs a command on a node set and prints the output the way
// ClusterShell's clush does, byte for byte, for the options it supports:
// -w, -x, -a, -g, -X, -s, --groupsconf, --hostfile, -f, -u, -t, -l, -o, -R, -b, -B,
// -L, -N, -S, -P, -n, -q, -v, -r, -G, --outdir, --errdir, -c, --rcopy,
// --dest, -p, --pick, --conf, -O, -m, --color, --diff. Settings come from clush.conf ([Main]:
// fanout, timeouts, verbosity, node_count, maxrc, ssh_*, ...), node groups
// (@group) from groups.conf.
//
// -R picks the transport, with clush's names: exec (local processes, %h/%n
// substituted), ssh (the ssh program, like clush's ssh worker; the default;
// also called openssh), rsh, pdsh, and native (muster's built-in ssh
// client). Transports are registered with
// Register from cmd/muster. Not yet supported: interactive mode,
// password prompts of run modes, tree mode. Copies (-c, --rcopy, --dest, -p) use the
// transport's Copy.
package runcmd
