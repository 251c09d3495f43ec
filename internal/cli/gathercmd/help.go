package gathercmd

const helpText = `Usage: clubak [options]

Read "key: content" lines on standard input and print the content per node,
or gathered by identical output.

Options:
  --version                 print the version and exit
  -h, --help                print this help and exit
  -s, --groupsource=SOURCE  group source used by -r
  --groupsconf=FILE         read group sources from FILE instead of groups.conf

  Output:
    -q, --quiet             omit node counts
    -v, --verbose           echo every input line (INPUT ...)
    -d, --debug             as -v, plus tree statistics on standard error
    -G, --groupbase         omit the "@source:" prefix of groups (with -r)
    -L                      one "nodes: line" per line, ordered by node
    -N                      no node labels
    -b, -c, --dshbak        gather nodes with identical output
    -B                      same as -b
    -r, --regroup           write node sets with groups (implies -b)
    -S, --separator=SEP     key/content separator (default ':')
    -F, --fast              gather whole outputs per node first (not with -L, -T)
    -T, --tree              print the message tree (where outputs diverge)
    --interpret-keys=WHEN   read keys as node sets: never, always or auto
    --color=WHEN            ANSI colours: never, always or auto
    --diff                  print gathered outputs as unified diffs
    --outdir=DIR            accepted and ignored
    --errdir=DIR            accepted and ignored
`
