#!/usr/bin/env bash
# Side-by-side wall time of running a local command for 1,000 "nodes" with
# fanout 64: muster run -R exec, ClusterShell's clush -R exec, pdsh -R exec,
# xargs -P64 and a bash & loop (at most 64 jobs at once).
#
# usage: bench/exec.sh [runs]   (default 5; the median is reported)
# env:   MUSTER=path to a muster binary (default: built into a temp dir)
#        NODES=1000 FANOUT=64
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${1:-5}
NODES=${NODES:-1000}
FANOUT=${FANOUT:-64}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [[ -z "${MUSTER:-}" ]]; then
	go build -o "$tmp/muster" ./cmd/muster
	MUSTER=$tmp/muster
fi
ns="node[1-$NODES]"

have() { command -v "$1" >/dev/null 2>&1; }

# "wall cpu" seconds of one run of "$@" (cpu = user + sys of the whole
# process tree), output discarded
wall() {
	local TIMEFORMAT='%R %U %S' t
	t=$({ time "$@" >/dev/null 2>&1 </dev/null; } 2>&1) || true
	awk '{ printf "%.4f %.4f\n", $1, $2 + $3 }' <<<"$t"
}

median() { # column $1 of stdin
	awk -v c="$1" '{ print $c }' | sort -g | awk '{a[NR]=$1} END {m=a[int((NR+1)/2)]; printf "%.3f", m}'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }


bashloop() { # cmd: true|echo
	local i n=0
	for ((i = 1; i <= NODES; i++)); do
		if [[ $1 == true ]]; then /bin/true & else /bin/echo "node$i" & fi
		n=$((n + 1))
		if ((n >= FANOUT)); then
			wait -n
			n=$((n - 1))
		fi
	done
	wait
}
export -f bashloop
export NODES FANOUT

xargsrun() {
	if [[ $1 == true ]]; then
		seq -f 'node%g' "$NODES" | xargs -P "$FANOUT" -I{} /bin/true {}
	else
		seq -f 'node%g' "$NODES" | xargs -P "$FANOUT" -I{} /bin/echo {}
	fi
}
export -f xargsrun

declare -A T C
tools=(muster clush pdsh xargs bash)
for cmd in true echo; do
	if [[ $cmd == true ]]; then mcmd=true; else mcmd='echo %h'; fi
	for tool in "${tools[@]}"; do
		case $tool in
		clush) have clush || continue ;;
		pdsh) have pdsh || continue ;;
		esac
		: >"$tmp/times"
		for ((r = 0; r < RUNS; r++)); do
			case $tool in
			muster) wall "$MUSTER" run -R exec -f "$FANOUT" -w "$ns" "$mcmd" >>"$tmp/times" ;;
			clush) wall clush -R exec -f "$FANOUT" -w "$ns" "$mcmd" >>"$tmp/times" ;;
			pdsh) if [[ $cmd == true ]]; then
				wall pdsh -R exec -f "$FANOUT" -w "$ns" true >>"$tmp/times"
			else
				wall pdsh -R exec -f "$FANOUT" -w "$ns" echo %h >>"$tmp/times"
			fi ;;
			xargs) wall bash -c "xargsrun $cmd" >>"$tmp/times" ;;
			bash) wall bash -c "bashloop $cmd" >>"$tmp/times" ;;
			esac
		done
		T[$tool.$cmd]=$(median 1 <"$tmp/times")
		C[$tool.$cmd]=$(median 2 <"$tmp/times")
	done
done

printf '%d nodes, fanout %d, median of %d runs, seconds (cpu = user+sys of the process tree)\n\n' "$NODES" "$FANOUT" "$RUNS"
printf '%-8s %10s %10s %12s %12s\n' tool 'true wall' 'true cpu' 'echo%h wall' 'echo%h cpu'
for tool in "${tools[@]}"; do
	[[ -n "${T[$tool.true]:-}" ]] || continue
	printf '%-8s %10s %10s %12s %12s\n' "$tool" "${T[$tool.true]}" "${C[$tool.true]}" "${T[$tool.echo]}" "${C[$tool.echo]}"
done
echo
for cmd in true echo; do
	m=${T[muster.$cmd]}
	printf '%-5s muster/bash-loop = %sx (target <= 1.2)' "$cmd" "$(ratio "$m" "${T[bash.$cmd]}")"
	[[ -n "${T[clush.$cmd]:-}" ]] && printf '   clush/muster = %sx (target >= 6)' "$(ratio "${T[clush.$cmd]}" "$m")"
	[[ -n "${T[pdsh.$cmd]:-}" ]] && printf '   pdsh/muster = %sx' "$(ratio "${T[pdsh.$cmd]}" "$m")"
	printf '   xargs/muster = %sx\n' "$(ratio "${T[xargs.$cmd]}" "$m")"
done
echo
for cmd in true echo; do
	m=${C[muster.$cmd]}
	printf '%-5s cpu: muster/bash-loop = %sx' "$cmd" "$(ratio "$m" "${C[bash.$cmd]}")"
	[[ -n "${C[clush.$cmd]:-}" ]] && printf '   clush/muster = %sx' "$(ratio "${C[clush.$cmd]}" "$m")"
	[[ -n "${C[pdsh.$cmd]:-}" ]] && printf '   pdsh/muster = %sx' "$(ratio "${C[pdsh.$cmd]}" "$m")"
	printf '   xargs/muster = %sx\n' "$(ratio "${C[xargs.$cmd]}" "$m")"
done
