#!/usr/bin/env bash
# Side-by-side wall time and peak memory of muster's nodeset and
# ClusterShell's nodeset on large node sets:
#
#   fold-stdin-1M   fold 1,000,000 expanded names read from standard input
#   count-10M       count node[1-10000000]
#   expand-1M       expand node[1-1000000]
#   intersect-100k  intersect two sets of 100,000 nodes (every other node
#                   of node[1-200000] and node[50001-150000])
#   start-up        count node1: no work, the floor of both tools
#   fold-nD         fold x[2000-2073]c[0-7]s[0-7]b[0-1] given expanded
#                   (9,472 4-D names, ClusterShell issue #485) on stdin
#
# Each row prints both tools' wall time, CPU time (user+sys) and peak RSS
# (GNU time), then the speed ratios (ClusterShell / muster, for wall and
# CPU time: on a busy machine CPU time is the steadier figure) and the
# memory ratio (muster RSS / ClusterShell RSS), and checks that both
# printed the same output. A ClusterShell run over TIMEOUT seconds (default 300) is stopped
# and reported as such.
#
# muster's times are the mean of MUSTER_REPS runs (GNU time counts in
# 10 ms steps, and most muster rows take less); ClusterShell runs once.
#
# usage: bench/nodeset.sh            (from anywhere in the repository)
# env:   MUSTER=path to a muster binary (default: built from ./cmd/muster)
#        CLUSTERSHELL_NODESET=path (default: nodeset in PATH)
#        TIMEOUT=300 MUSTER_REPS=10
set -euo pipefail
cd "$(dirname "$0")/.."

TIMEOUT=${TIMEOUT:-300}
MUSTER_REPS=${MUSTER_REPS:-10}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [[ ! -x /usr/bin/time ]]; then
	echo "GNU time is missing; installing it (apt-get install -y time)" >&2
	if ! { apt-get install -y time >/dev/null 2>&1 || sudo -n apt-get install -y time >/dev/null 2>&1; }; then
		echo "cannot install GNU time: install the 'time' package" >&2
		exit 1
	fi
fi

if [[ -z "${MUSTER:-}" ]]; then
	echo "building muster..." >&2
	go build -o "$tmp/muster" ./cmd/muster
	MUSTER=$tmp/muster
fi
CS=${CLUSTERSHELL_NODESET:-$(command -v nodeset || true)}
if [[ -z "$CS" || "$CS" -ef "$MUSTER" ]]; then
	echo "ClusterShell's nodeset not found (set CLUSTERSHELL_NODESET)" >&2
	exit 1
fi
# Both tools see the same (empty) group configuration.
export CLUSTERSHELL_CFGDIR=$tmp/cfg
mkdir -p "$CLUSTERSHELL_CFGDIR"

echo "preparing inputs..." >&2
awk 'BEGIN { for (i = 1; i <= 1000000; i++) print "node" i }' >"$tmp/n1m.txt"
awk 'BEGIN { for (x = 2000; x <= 2073; x++) for (c = 0; c <= 7; c++) for (s = 0; s <= 7; s++) for (b = 0; b <= 1; b++) printf "x%dc%ds%db%d\n", x, c, s, b }' >"$tmp/nd.txt"

# measure NAME REPS STDIN CMD... -> sets W (wall s), C (cpu s), R (KiB),
# S (status), O (output file); times are per run, the mean of REPS runs.
measure() {
	local name=$1 reps=$2 in=$3
	shift 3
	O=$tmp/$name.out
	local tf=$tmp/$name.time
	S=0
	timeout "$TIMEOUT" /usr/bin/time -f '%e %U %S %M' -o "$tf" \
		bash -c 'n=$1 in=$2 out=$3; shift 3; for ((i = 0; i < n; i++)); do "$@" <"$in" >"$out" || exit; done' \
		_ "$reps" "$in" "$O" "$@" 2>"$tmp/$name.err" || S=$?
	if [[ $S -eq 124 ]]; then
		W=timeout C=- R=-
		return
	fi
	local w u s
	read -r w u s R < <(tail -n 1 "$tf") || { w=0 u=0 s=0 R=?; }
	W=$(awk -v w="$w" -v n="$reps" 'BEGIN { printf "%.3f", w / n }')
	C=$(awk -v u="$u" -v s="$s" -v n="$reps" 'BEGIN { printf "%.3f", (u + s) / n }')
}

printf '%-15s %8s %8s %8s | %8s %8s %8s | %8s %8s %6s  %s\n' row muster_s cpu_s MiB cs_s cpu_s MiB speed cpu_x mem same_output
row() {
	local name=$1 in=$2
	shift 2
	measure "$name.m" "$MUSTER_REPS" "$in" "$MUSTER" nodeset "$@"
	local mw=$W mc=$C mr=$R ms=$S mo=$O
	measure "$name.c" 1 "$in" "$CS" "$@"
	local cw=$W cc=$C cr=$R cs=$S co=$O
	local speed=- cpux=- mem=- same=-
	if [[ $cw == timeout ]]; then
		cw=">$TIMEOUT" cr=- same="(ClusterShell stopped after ${TIMEOUT}s)"
	else
		# below GNU time's resolution (10 ms over all runs), count that much
		speed=$(awk -v c="$cw" -v m="$mw" -v n="$MUSTER_REPS" 'BEGIN { if (m < 0.01 / n) m = 0.01 / n; printf "%.0fx", c / m }')
		cpux=$(awk -v c="$cc" -v m="$mc" -v n="$MUSTER_REPS" 'BEGIN { if (m < 0.01 / n) m = 0.01 / n; printf "%.0fx", c / m }')
		mem=$(awk -v c="$cr" -v m="$mr" 'BEGIN { printf "1/%.0f", c / m }')
		if [[ $ms -ne 0 || $cs -ne 0 ]]; then
			same="exit status muster=$ms clustershell=$cs"
		elif cmp -s "$mo" "$co"; then
			same=yes
		else
			same=NO
		fi
		cr=$(awk -v k="$cr" 'BEGIN { printf "%.1f", k / 1024 }')
	fi
	mr=$(awk -v k="$mr" 'BEGIN { printf "%.1f", k / 1024 }')
	printf '%-15s %8s %8s %8s | %8s %8s %8s | %8s %8s %6s  %s\n' "$name" "$mw" "$mc" "$mr" "$cw" "$cc" "$cr" "$speed" "$cpux" "$mem" "$same"
}

# No work at all: process start-up and the runtime's own memory, the floor
# under every other row (a row cannot beat ClusterShell by more than its
# ClusterShell time divided by this row's muster time).
row start-up /dev/null -c node1
row fold-stdin-1M "$tmp/n1m.txt" -f
row count-10M /dev/null -c 'node[1-10000000]'
row expand-1M /dev/null -e 'node[1-1000000]'
row intersect-100k /dev/null -f 'node[1-200000/2]' -i 'node[50001-150000]'
row fold-nD "$tmp/nd.txt" -f
