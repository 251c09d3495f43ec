#!/usr/bin/env bash
# muster's demo: node sets, then a parallel shell over many nodes, on this
# machine alone (the exec worker runs one local process per node, so no
# remote machine is needed). Run through `make demo`, which builds bin/muster.
set -euo pipefail
cd "$(dirname "$0")/.."
M="$PWD/bin/muster"
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== node sets: ClusterShell's syntax, folded and counted without expanding"
step "$M" nodeset -f 'node[1-100,200]' 'node[101-199]' 'rack[1-2]-sw[1-4]'
step "$M" nodeset -e 'node[01-04,09]'
step "$M" nodeset -c 'node[1-10000000]'
step "$M" nodeset -f 'node[1-100]!node[50-60]&node[1-80]'
step "$M" nodeset -f --split 3 'node[1-10]'

echo
echo "== node groups from a groups.conf (YAML group file here; upcalls work too)"
mkdir -p "$work/cfg/groups.d"
cat > "$work/cfg/groups.conf" <<CONF
[Main]
default: demo
autodir: $work/cfg/groups.d
CONF
cat > "$work/cfg/groups.d/demo.yaml" <<YAML
demo:
  web: 'web[01-16]'
  db: 'db[1-4]'
YAML
G=(--groupsconf "$work/cfg/groups.conf")
step "$M" nodeset "${G[@]}" -LL
step "$M" nodeset "${G[@]}" -f '@web!web[09-16]' @db
step "$M" nodeset "${G[@]}" -r 'web[01-16],db[1-4]'

echo
echo "== a parallel shell: 1,000 nodes (local processes), fanout 64, gathered output"
step "$M" run -R exec -f 64 -w 'node[1-1000]' -b -S 'echo kernel $(uname -r); [ %h != node500 ] || exit 3' \
  || echo "(muster run exited with $?: the largest exit code of the nodes, as clush -S does)"
echo
step "$M" run -R exec -w 'node[1-6]' -L 'echo I am %h, rank %n'
