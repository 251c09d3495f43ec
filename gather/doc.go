// Package gather groups identical outputs across nodes, the way dshbak and
// ClusterShell's message tree do.
//
// A [Tree] is a trie whose edges are lines: every key (a node name) points
// at the element of its last line, so keys with identical output share one
// path and every distinct line is stored once per position, whatever the
// number of nodes that printed it. Walking the tree with [Tree.Groups]
// yields each distinct output once with the keys that produced it, in a
// stable order (the order in which the keys first appeared).
//
// Lines are kept byte for byte (no encoding assumption, carriage returns
// kept); a key whose output did not end with a newline remembers it, so
// [Tree.Bytes] returns exactly what was read.
//
// The package also holds the text formats of gathered output shared by the
// command-line tools: the dshbak block ([AppendBlock]) and the
// "nodes: line" prefix ([AppendLine]).
package gather
