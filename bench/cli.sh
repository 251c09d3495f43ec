#!/usr/bin/env bash
# muster run -b against clush -b, command line against command line, in one
# run and side by side:
#
#   exec, 1,000 nodes   -R exec -b -w node[1-1000], two commands: every
#                       node printing its own name (1,000 gathered blocks)
#                       and every node printing the same line (one block)
#   ssh, loopback hosts -b over real sshd daemons started here with
#                       internal/testhosts/serve (one sshd per 127.0.0.x
#                       name): muster run -R ssh (the ssh program, as clush
#                       does), muster run -R native (built-in client) and
#                       clush -R ssh
#
# Each round runs every contender once, in an order rotating from round to
# round so that a shared machine's load hits them alike; the table shows
# medians of wall time and of CPU time (the tool and the processes it
# waits for) and each wall time divided by clush's (0.50 = twice as fast
# as clush). Outputs are checked to be the same as clush's first.
#
# usage: bench/cli.sh [rounds]        (default 5)
# env:   NODES=1000 HOSTS=32 FANOUT=64 MUSTER=path (default: built here)
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${1:-5}
NODES=${NODES:-1000}
HOSTS=${HOSTS:-32}
FANOUT=${FANOUT:-64}
TIME=/usr/bin/time

tmp=$(mktemp -d)
source bench/lib/hosts.sh

command -v clush >/dev/null || { echo "bench/cli.sh: clush (ClusterShell) is needed" >&2; exit 1; }
[[ -x $TIME ]] || { echo "bench/cli.sh: $TIME (GNU time) is needed" >&2; exit 1; }
if [[ -z "${MUSTER:-}" ]]; then
	go build -o "$tmp/muster" ./cmd/muster
	MUSTER=$tmp/muster
fi
# neither tool may read the user's clush.conf or groups.conf
mkdir -p "$tmp/home" "$tmp/cfg"
export HOME=$tmp/home XDG_CONFIG_HOME=$tmp/home/.config CLUSTERSHELL_CFGDIR=$tmp/cfg

# run_one LABEL NAME ARGS...: one run; appends "wall cpu" (ms) to the
# contender's file; the output goes to $tmp/out.NAME.
run_one() {
	local label=$1 name=$2
	shift 2
	local -a argv
	case $name in
	muster | muster-ssh) argv=("$MUSTER" run) ;;
	muster-native) argv=("$MUSTER" run) ;;
	clush) argv=(clush) ;;
	esac
	$TIME -f '%e %U %S' -o "$tmp/time" "${argv[@]}" "$@" >"$tmp/out.$name" 2>"$tmp/err.$name" </dev/null || true
	awk '{ printf "%.0f %.0f\n", $1 * 1000, ($2 + $3) * 1000 }' "$tmp/time" >>"$tmp/$label.$name.times"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : 0) }'; }

# measure LABEL "NAME:ARGS" ... : clush must be one of the contenders.
results=$tmp/results
: >"$results"
measure() {
	local label=$1
	shift
	local -a names=() specs=("$@")
	local s
	for s in "${specs[@]}"; do names+=("${s%%:*}"); done
	# warm-up, and the outputs must match clush's
	for s in "${specs[@]}"; do
		# shellcheck disable=SC2086
		run_one "$label" "${s%%:*}" ${s#*:}
	done
	for s in "${names[@]}"; do
		[[ $s == clush ]] && continue
		cmp -s "$tmp/out.$s" "$tmp/out.clush" || echo "  $label: $s's output differs from clush's" >&2
	done
	rm -f "$tmp/$label".*.times
	local n=${#specs[@]} r i
	for ((r = 0; r < ROUNDS; r++)); do
		for ((i = 0; i < n; i++)); do
			s=${specs[(i + r) % n]}
			# shellcheck disable=SC2086
			run_one "$label" "${s%%:*}" ${s#*:}
		done
	done
	local cw
	cw=$(cut -d' ' -f1 "$tmp/$label.clush.times" | median)
	for s in "${names[@]}"; do
		local w c
		w=$(cut -d' ' -f1 "$tmp/$label.$s.times" | median)
		c=$(cut -d' ' -f2 "$tmp/$label.$s.times" | median)
		echo "$label $s $w $c $cw" >>"$results"
	done
}

echo "cli bench: muster run -b vs clush -b, fanout $FANOUT, median of $ROUNDS rounds, $(nproc) cores"
echo "$(clush --version 2>&1 | head -1); $(ssh -V 2>&1)"

x="-f $FANOUT -R exec -b -w node[1-$NODES]"
measure "exec-$NODES-differing" "muster:$x echo %h" "clush:$x echo %h"
measure "exec-$NODES-identical" "muster:$x echo same" "clush:$x echo same"

if command -v sshd >/dev/null 2>&1 || [[ -x /usr/sbin/sshd ]]; then
	start_hosts -n "$HOSTS" -first 111 -extra "MaxStartups 1000"
	# -o takes one word here: the ssh_config path has no blanks
	s="-f $FANOUT -n -b -w node[1-$HOSTS] -o -F$cfg"
	measure "ssh-$HOSTS-hosts" "muster-ssh:-R ssh $s echo hello" "muster-native:-R native $s echo hello" "clush:-R ssh $s echo hello"
	stop_hosts
else
	echo "no sshd: the loopback ssh part is left out" >&2
fi

echo
printf "%-24s %-14s %9s %9s %9s\n" "case" "contender" "wall ms" "cpu ms" "x clush"
awk '{ printf "%-24s %-14s %9d %9d %9.2f\n", $1, $2, $3, $4, ($5 > 0 ? $3 / $5 : 0) }' "$results"
