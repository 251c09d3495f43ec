#!/usr/bin/env bash
# Side-by-side cost of running `true` over ssh on real sshd test hosts
# (127.0.0.x, started by the benchmark): muster's openssh worker (with and
# without its connection probe), muster's pdsh worker, muster's built-in
# Go ssh client (muster run -R native), ClusterShell's
# clush -R ssh, pdsh -R ssh, and a plain shell loop of parallel ssh.
# Every round runs each contender once in rotating order (so that a busy
# machine hits them alike); medians of wall time and of client-side CPU
# time (the tool and its ssh children, not sshd) are printed with ratios.
#
# The muster-openssh/-pdsh rows drive the library in-process; the
# muster-cli-* rows run the muster binary (muster run -R openssh|pdsh|native),
# command line against command line. muster-cli-native is muster's built-in
# Go ssh client; -R ssh is the ssh program, the same worker as -R openssh.
#
# usage: bench/ssh.sh [rounds]    (default 7)
# env:   HOSTS=8 (number of sshd test hosts)
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${1:-7}
export MUSTER_BENCH_HOSTS=${HOSTS:-8}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [[ -z "${MUSTER:-}" ]]; then
	go build -o "$tmp/muster" ./cmd/muster
	MUSTER=$tmp/muster
fi
export MUSTER

out=$(go test -run '^$' -bench '^BenchmarkPeers$' -benchtime "${ROUNDS}x" ./worker/openssh/)
line=$(grep '^BenchmarkPeers' <<<"$out") || { echo "$out" >&2; exit 1; }
grep 'left out' <<<"$out" >&2 || true

echo "true on $MUSTER_BENCH_HOSTS ssh hosts, median of $ROUNDS rounds"
awk '
{
	for (i = 3; i < NF; i += 2) {
		split($(i+1), u, "/"); kind = u[1]; name = u[2]
		v[kind, name] = $i; names[name] = 1
	}
}
END {
	printf "%-24s %10s %10s %12s %12s\n", "contender", "wall ms", "cpu ms", "wall/clush", "cpu/clush"
	n = split("muster-openssh muster-openssh-noprobe muster-pdsh muster-cli-openssh muster-cli-pdsh muster-cli-native clush pdsh sh-ssh-loop", order, " ")
	for (k = 1; k <= n; k++) {
		c = order[k]
		if (!(c in names)) continue
		w = v["wall-ms", c]; p = v["cpu-ms", c]
		rw = (("wall-ms", "clush") in v) ? sprintf("%.2f", w / v["wall-ms", "clush"]) : "-"
		rp = (("cpu-ms", "clush") in v) ? sprintf("%.2f", p / v["cpu-ms", "clush"]) : "-"
		printf "%-24s %10.0f %10.0f %12s %12s\n", c, w, p, rw, rp
	}
	if (("wall-ms", "pdsh") in v && ("wall-ms", "muster-cli-pdsh") in v)
		printf "muster-cli-pdsh / pdsh: wall %.2f, cpu %.2f\n", v["wall-ms", "muster-cli-pdsh"] / v["wall-ms", "pdsh"], v["cpu-ms", "muster-cli-pdsh"] / v["cpu-ms", "pdsh"]
	if (("wall-ms", "pdsh") in v && ("wall-ms", "muster-pdsh") in v)
		printf "muster-pdsh / pdsh: wall %.2f, cpu %.2f\n", v["wall-ms", "muster-pdsh"] / v["wall-ms", "pdsh"], v["cpu-ms", "muster-pdsh"] / v["cpu-ms", "pdsh"]
}' <<<"$line"
