package nodesetcmd

import "io"

// helpText is printed by -h/--help. Options and their arguments are those
// of ClusterShell 1.9's nodeset; the wording is this project's.
var helpText = usageLine + `

Fold, expand, count and combine node sets (ClusterShell-compatible).

Options:
  --version             print the version and exit
  -h, --help            print this help and exit
  -s GROUPSOURCE, --groupsource=GROUPSOURCE
                        group source to use instead of the default one
  --groupsconf=FILE     read group sources from FILE instead of groups.conf

  Commands:
    -c, --count         print the number of nodes
    -e, --expand        print every node, separated by the separator
    -f, --fold          print the nodes as one folded node set
    -l, --list          list groups (-ll: with nodes, -lll: with counts)
    -L, --list-all      list groups of every source (-LL, -LLL as -l)
    -r, --regroup       fold the nodes using groups where possible
    --list-sources, --groupsources
                        list the configured group sources

  Operations:
    -x SUB_NODES, --exclude=SUB_NODES
                        remove these nodes
    -i AND_NODES, --intersection=AND_NODES
                        keep only nodes also in this set
    -X XOR_NODES, --xor=XOR_NODES
                        keep nodes in exactly one of the two sets

  Options:
    -a, --all           start from all nodes of the group source
    --autostep=AUTOSTEP
                        fold equidistant indexes as a-b/step when at least
                        this many nodes (a count, a percentage such as
                        '50%', or 'auto')
    -d, --debug         print debugging messages
    -q, --quiet         do not print warnings
    -R, --rangeset      work on range sets (1-5,8) instead of node sets
    -G, --groupbase     print groups without their source prefix
    -S SEPARATOR, --separator=SEPARATOR
                        separator for --expand (default: ' '; escapes
                        such as \n are interpreted)
    -O FORMAT, --output-format=FORMAT
                        printf-style format of each result (default: '%s')
    -I SLICE_RANGESET, --slice=SLICE_RANGESET
                        keep only the nodes at these positions (from 0)
    --split=MAXSPLIT    split the result into this many subsets
    --contiguous        split the result into contiguous subsets
    --axis=RANGESET     fold n-dimensional sets along these axes only
                        (1..n, or one negative axis counted from the end)
    --pick=N            keep N nodes picked at random

With no node set argument, node sets are read from standard input; the
argument "-" also reads standard input.
`

func writeHelp(w io.Writer) { io.WriteString(w, helpText) }
