// Package nodeset parses, folds and combines cluster node sets with the
// syntax and semantics of ClusterShell 1.9 (its NodeSet and RangeSet
// classes and the nodeset command), much faster.
//
// A node set is written as names with bracketed index ranges:
// "node[1-100]", zero-padded "node[001-100]", stepped "node[1-99/2]",
// several dimensions "da[1-2]c[1-4]", and operators evaluated from left to
// right without precedence: "," union, "!" difference, "&" intersection
// and "^" symmetric difference. "@group", "@source:group", "@*" and
// "@source:*" name groups resolved through a Resolver.
//
// NodeSet and RangeSet are immutable values in the style of net/netip:
// every operation returns a new value and they are safe for concurrent
// use. A NodeSet stores, for each pattern (the name with its digit runs
// replaced by placeholders, "node%s"), the indexes as sorted intervals
// that keep their zero padding, so "node[1-10000000]" is a few words of
// memory and counting, folding, intersecting it cost no per-node work.
// Multi-dimensional patterns keep boxes (products of range sets) folded
// exactly as ClusterShell's RangeSetND, so String prints the same text as
// ClusterShell's nodeset -f, byte for byte.
//
// Parse handles full expressions; FromNames and Builder take literal node
// names (one per string) and fold them quickly, which is what reading
// millions of names from a file needs.
//
// Differences from ClusterShell 1.9.1, all at the edges:
//   - indexes are int64 (ClusterShell accepts up to 1e100);
//   - stepped ranges ("n[1-1000000/2]") are stored as progressions, not
//     index by index as in ClusterShell, so counting, intersecting with
//     ranges and folding them with autostep cost no per-index memory
//     (progressions that interleave with other indexes, as in
//     "n[1-99/2,2-98/4]", are expanded);
//   - slicing with a step across several patterns selects the positions
//     (ClusterShell 1.9.1 raises a TypeError there);
//   - a regrouped source's nested groups resolve in that source;
//   - with no Resolver (nil), "@name" is an error wrapping ErrNoResolver,
//     where ClusterShell without groups would read it as a node name.
//
// Multi-dimensional sets whose boxes are not a single box after an
// operation are folded, as in ClusterShell, by expanding them into points
// and merging those greedily; that costs time and memory per node (about
// 2 s for a million points), where one-dimensional sets never do.
package nodeset
