// Package gathercmd implements `muster gather`, a drop-in replacement for
// ClusterShell 1.9.1's clubak: it reads "key: content" lines on standard
// input and prints them gathered by node, or by identical output (-b), in
// the dshbak formats of package gather.
//
// Supported options: -b/-c/--dshbak, -B, -L, -N, -S/--separator, -F/--fast,
// -T/--tree, -r/--regroup, -G/--groupbase, -s/--groupsource, --groupsconf,
// --interpret-keys=never|always|auto, --diff, --color=never|always|auto,
// -q, -v, -d, --outdir and --errdir (accepted and ignored, as clubak does),
// -h/--help and --version. Options are parsed like Python's optparse
// (clustered short options, unique long prefixes, parsing stops at the first
// argument that is not an option) and errors exit with status 2; bad input
// lines exit with status 1.
package gathercmd
