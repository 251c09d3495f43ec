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
// Register from cmd/muster. Copies (-c, --rcopy, --dest, -p) use the
// transport's Copy. Not supported: tree mode.
//
// Without a command on a terminal, muster run is interactive like clush: a
// prompt, a history file (~/.clush_history under the name clush, else
// $XDG_STATE_HOME/muster/history), "?", "+NODES", "-NODES", "@NODES", "!CMD"
// (local), "=" (gathering on/off), quit or Ctrl-D. Node sets typed at the
// prompt are lowercased under the name clush, as clush does, and keep their
// case as muster run (like -w, where names are case-sensitive). Unlike
// clush, Ctrl-C stops only the running command (printing the output
// gathered so far) and returns to the prompt. Ctrl-Z at the prompt
// suspends muster as under readline (fg brings back the line as typed);
// SIGTERM or SIGHUP end it at once, with exit code 128+N.
//
// A run mode with password_prompt asks for a password once (on /dev/tty,
// without echo) and writes it and a newline to every node's standard
// input before the command's own input. As in clush, Ctrl-C there ends
// muster with 130, and end of input before any character with 1.
//
// Progress: under the name clush, clush's bare counter in clush's cases
// (-b/-L, or -P); as muster run, a meter with done/total, failures and
// nodes per second, on a terminal or with -P, erased at the end.
package runcmd
