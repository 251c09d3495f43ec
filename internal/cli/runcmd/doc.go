// Package runcmd is "muster run", also reached through a link named clush:
// it runs a command on a node set and prints the output the way
// ClusterShell's clush does, byte for byte, for the options it supports
// (-w, -x, -f, -u, -t, -R, -b, -B, -L, -N, -S, -n, -q, -v).
package runcmd
