#!/usr/bin/env bash
# Side by side, command line against command line, on real loopback sshd
# hosts that this script starts (internal/testhosts: one sshd daemon per
# 127.0.0.x name, each with its own port and host key):
#
#   muster run -R native   muster's built-in Go ssh client (one process)
#   muster run -R ssh      muster driving the ssh program, one per node
#   clush -R ssh           ClusterShell, one ssh per node
#   pdsh -R ssh            pdsh, one ssh per node
#
# running `true` on K = 8, 32 and 128 nodes with fanout 64, once with
# OpenSSH's default key exchange and once with curve25519-sha256 forced on
# both sides (the clients' ssh_config and every sshd_config); then copying
# a 10 MB file to 32 nodes: muster run -c (native: SFTP; -R ssh: scp) vs
# clush --copy (scp). Each round runs every contender once, in an order
# that rotates from round to round, so that a shared machine's load hits
# them alike; the tables show medians of wall time and of client CPU time
# (the tool and the ssh processes it waits for), the CPU time of the sshd side (the
# daemons, their per-connection processes and the remote commands: the
# same work for every client, but on this one machine it competes with the
# clients for the same cores) and each wall time divided by the native
# client's (so "clush 5.00" means native was 5 times faster).
#
# The test hosts' sessions do not read the login user's ~/.bashrc (see
# internal/testhosts): a slow one would add the same cost to every
# contender and hide the clients' differences.
#
# usage: bench/ssh.sh [rounds]      (default 5)
# env:   SIZES="8 32 128"  KEXES="default curve25519-sha256"
#        COPY_NODES=32  COPY_MB=10  FANOUT=64
set -euo pipefail
# The whole script is one compound command, read before it runs: editing
# the file during a run does not change that run.
{
cd "$(dirname "$0")/.."

ROUNDS=${1:-5}
SIZES=${SIZES:-8 32 128}
KEXES=${KEXES:-default curve25519-sha256}
COPY_NODES=${COPY_NODES:-32}
COPY_MB=${COPY_MB:-10}
FANOUT=${FANOUT:-64}
TIME=/usr/bin/time

max=$COPY_NODES
for k in $SIZES; do ((k > max)) && max=$k; done

tmp=$(mktemp -d)
source bench/lib/hosts.sh

[[ -x $TIME ]] || { echo "bench/ssh.sh: $TIME (GNU time) is needed" >&2; exit 1; }
if [[ -z "${MUSTER:-}" ]]; then
	go build -o "$tmp/muster" ./cmd/muster
	MUSTER=$tmp/muster
fi

# start_ssh_hosts N EXTRA: start N hosts, set $cfg; EXTRA goes into sshd_config.
start_ssh_hosts() {
	start_hosts -n "$1" -first 11 -sftp-host-dir -extra "$2"
	sshd_stats=()
	while read -r _ _ dir; do sshd_stats+=("/proc/$(cat "$dir/sshd.pid")/stat"); done < <(grep '^dir ' "$tmp/hosts.out")
}

# sshd_cpu: CPU ms used so far by the sshd daemons and the connections and
# sessions they reaped (their own and their children's user and system time).
hz=$(getconf CLK_TCK)
sshd_cpu() {
	awk -v hz="$hz" '{ sub(/.*\) /, ""); t += $12 + $13 + $14 + $15 } END { printf "%.0f\n", t * 1000 / hz }' "${sshd_stats[@]}"
}

# Copies go to a relative path: each host's SFTP sessions start in that
# host's own directory, so every node gets its own copy.

# run_one NAME ARGS...: run contender NAME once; append "wall cpu sshd-cpu"
# (ms) to $tmp/NAME.times; returns the tool's exit status.
run_one() {
	local name=$1
	shift
	local -a argv
	case $name in
	native) argv=("$MUSTER" run -R native -n -f "$FANOUT" -o "-F $cfg" -w "$nodes") ;;
	muster-ssh) argv=("$MUSTER" run -R ssh -n -f "$FANOUT" -o "-F $cfg" -w "$nodes") ;;
	clush) argv=(clush -R ssh -n -f "$FANOUT" -o "-F $cfg" -w "$nodes") ;;
	pdsh) argv=(pdsh -R ssh -f "$FANOUT" -w "$nodes") ;;
	esac
	local s0 s1
	s0=$(sshd_cpu)
	PDSH_SSH_ARGS="-F $cfg" PDSH_RCMD_TYPE=ssh $TIME -f '%e %U %S' -o "$tmp/time" \
		"${argv[@]}" "$@" >"$tmp/out" 2>&1 || { cat "$tmp/out" >&2; return 1; }
	sleep 0.2 # the daemons reap their last connections
	s1=$(sshd_cpu)
	awk -v s=$((s1 - s0)) '{ printf "%.0f %.0f %d\n", $1 * 1000, ($2 + $3) * 1000, s }' "$tmp/time" >>"$tmp/$name.times"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : 0) }'; }

# measure LABEL CONTENDERS -- ARGS: ROUNDS rotating rounds; prints a table.
measure() {
	local label=$1
	shift
	local -a cs=()
	while [[ $1 != -- ]]; do cs+=("$1"); shift; done
	shift
	rm -f "$tmp"/*.times
	# warm-up round, and contenders that fail here are left out
	local -a ok=()
	for c in "${cs[@]}"; do
		if run_one "$c" "$@" 2>"$tmp/err"; then ok+=("$c"); else echo "  $c left out: $(head -3 "$tmp/err")" >&2; fi
	done
	rm -f "$tmp"/*.times
	local n=${#ok[@]}
	for ((r = 0; r < ROUNDS; r++)); do
		for ((i = 0; i < n; i++)); do
			run_one "${ok[(i + r) % n]}" "$@"
		done
	done
	local nw=0
	[[ -f $tmp/native.times ]] && nw=$(cut -d' ' -f1 "$tmp/native.times" | median)
	for c in "${ok[@]}"; do
		local w p s
		w=$(cut -d' ' -f1 "$tmp/$c.times" | median)
		p=$(cut -d' ' -f2 "$tmp/$c.times" | median)
		s=$(cut -d' ' -f3 "$tmp/$c.times" | median)
		echo "$label $c $w $p $nw $s"
	done
}

kex_of() { # the key exchange ssh(1) negotiates with node1 under $cfg
	ssh -v -F "$cfg" node1 true 2>&1 | sed -n 's/.*kex: algorithm: //p' | head -1
}

echo "ssh bench: $max loopback hosts (one sshd each), fanout $FANOUT, median of $ROUNDS rounds, $(nproc) cores"
echo "$(ssh -V 2>&1); muster native: Go golang.org/x/crypto/ssh; $(clush --version 2>&1 | head -1); $(pdsh -V 2>&1 | head -1)"
results=$tmp/results
: >"$results"
for kex in $KEXES; do
	extra="MaxStartups 1000"
	[[ $kex == default ]] || extra+="\\nKexAlgorithms $kex"
	start_ssh_hosts "$max" "$extra"
	if [[ $kex != default ]]; then
		{ echo "KexAlgorithms $kex"; cat "$cfg"; } >"$cfg.kex"
		cfg=$cfg.kex
	fi
	if [[ $kex == default ]]; then
		echo "kex default: ssh(1) negotiates $(kex_of); the native client curve25519-sha256 (x/crypto's first choice that sshd offers; it lacks sntrup761)"
	else
		echo "kex $kex forced: ssh(1) negotiates $(kex_of); the native client honours the same ssh_config KexAlgorithms"
	fi
	for k in $SIZES; do
		nodes="node[1-$k]"
		measure "$kex $k" native muster-ssh clush pdsh -- true >>"$results"
	done
	if [[ $kex == default ]]; then
		head -c $((COPY_MB * 1024 * 1024)) /dev/urandom >"$tmp/payload"
		nodes="node[1-$COPY_NODES]"
		measure "copy $COPY_NODES" native muster-ssh clush -- -c "$tmp/payload" --dest copied >>"$results"
		# every node got the whole file
		bad=0
		while read -r _ name dir; do
			[[ ${name#node} -le $COPY_NODES ]] || continue
			cmp -s "$tmp/payload" "$dir/copied" || bad=$((bad + 1))
		done < <(grep '^dir ' "$tmp/hosts.out")
		((bad == 0)) || echo "copy: $bad nodes lack a correct copy" >&2
	fi
	stop_hosts
done

echo
echo "running true (wall and client CPU in ms; x native = wall / native wall)"
awk '$1 != "copy" {
	if (!seen[$1]++) printf "%s\n%-6s %-12s %9s %9s %9s %9s\n", "kex " $1, "nodes", "contender", "wall ms", "cpu ms", "sshd ms", "x native"
	printf "%-6s %-12s %9d %9d %9d %9s\n", $2, $3, $4, $5, $7, ($6 > 0 ? sprintf("%.2f", $4 / $6) : "-")
}' "$results"
echo
echo "copy of ${COPY_MB} MB to $COPY_NODES nodes (MB/s = $COPY_NODES x ${COPY_MB} MB / wall)"
awk -v mb="$COPY_MB" -v n="$COPY_NODES" '$1 == "copy" {
	v[$3] = $4; c[$3] = $5; sd[$3] = $7; order[++k] = $3
} END {
	printf "%-12s %9s %9s %9s %9s %9s\n", "contender", "wall ms", "cpu ms", "sshd ms", "MB/s", "x native"
	for (i = 1; i <= k; i++) {
		x = order[i]
		printf "%-12s %9d %9d %9d %9.0f %9s\n", x, v[x], c[x], sd[x], n * mb * 1000 / v[x], (("native" in v) ? sprintf("%.2f", v[x] / v["native"]) : "-")
	}
}' "$results"
exit
}
