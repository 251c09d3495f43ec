#!/usr/bin/env bash
# muster's demo: node sets, then a parallel shell over many nodes, on this
# machine alone (the exec worker runs one local process per node, so no
# remote machine is needed). Run through `make demo`, which builds bin/muster.
set -euo pipefail
cd "$(dirname "$0")/.."
M="$PWD/bin/muster"
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

work=$(mktemp -d)
hosts_pid=
cleanup() {
  # Stop the loopback sshd hosts this script started (its own child).
  if [ -n "$hosts_pid" ]; then kill "$hosts_pid" 2>/dev/null || true; wait "$hosts_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

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

echo
echo "== over ssh: four real sshd daemons on 127.0.0.211-214, started for this demo"
if go build -o "$work/serve" ./internal/testhosts/serve 2>"$work/hosts.err" \
   && { "$work/serve" -n 4 >"$work/hosts.out" 2>"$work/hosts.err" & hosts_pid=$!; } \
   && for _ in $(seq 150); do grep -q '^ready' "$work/hosts.out" 2>/dev/null && break; kill -0 "$hosts_pid" 2>/dev/null || break; sleep 0.2; done \
   && grep -q '^ready' "$work/hosts.out"; then
  cfg=$(sed -n 's/^ssh_config=//p' "$work/hosts.out")
  step "$M" run -R native -o "-F $cfg" -w 'node[1-4]' -b 'echo "$SSH_CONNECTION" | cut -d" " -f3'
  echo
  step "$M" run -R ssh -o "-F $cfg" -w 'node[1-4]' -b 'uname -sr'
  echo "muster demo file" >"$work/hello.txt"
  step "$M" run -R native -o "-F $cfg" -w 'node[1-4]' -c "$work/hello.txt" --dest /tmp/muster-demo-hello.txt
  step "$M" run -R native -o "-F $cfg" -w 'node[1-4]' -b 'cat /tmp/muster-demo-hello.txt'
  # The four hosts are this machine: one file to remove.
  rm -f /tmp/muster-demo-hello.txt
else
  echo "(no sshd here: $(cat "$work/hosts.err" 2>/dev/null | head -1); the runs above used the exec worker only)"
fi
