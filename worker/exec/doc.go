// Package exec is the local worker: it runs one local process per node,
// with the node's name and rank substituted into the command.
//
// Placeholders follow ClusterShell's exec worker: %h and %host become the
// node name, %n and %rank its 0-based rank in the node set, the braced
// forms %{h} ... are accepted, and %% is a literal %. Any other use of % is
// an error ([*PatternError]), reported before anything runs. A command
// containing %hosts runs once for all nodes ([HostsDriver]) with the folded
// node set in place of %hosts; its output and exit code belong to every node.
//
// Without Shell, the command line is split into words ([Split]: blanks
// separate words, single and double quotes and backslashes quote) and the
// program runs directly, without a shell. With Shell it runs as
// /bin/sh -c LINE.
//
// Each process gets its own process group; when the run's context ends
// (command timeout, task timeout, abort) the whole group is killed with
// SIGKILL, so no child survives. Output is read in large chunks and handed
// to the engine unchanged (binary safe); the exit status is reported as
// the exit code, or 128+N for a process killed by signal N.
package exec
