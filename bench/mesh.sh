#!/usr/bin/env bash
# muster's mesh side by side with Debian's python3-mitogen (0.3.3), in one
# run, on this machine:
#
#   start       start a child and make one trivial call (median of STARTS)
#   rtt         sequential trivial calls: p50 and p99 over N calls
#   pipelined   N asynchronous calls in flight, then every reply: calls/s
#   file        the child fetches a FILE_MB random file from the parent's
#               FileService: MB/s (Mitogen: FileService.get; muster: package
#               service's FileService and service.Fetch)
#   stream      muster only: the same file pushed as raw 256 KiB mesh
#               messages, 16 unacknowledged at most (the mesh without the
#               service layer)
#
# The Go side is internal/meshbench, the Python side
# bench/mesh/mitogen_bench.py.
#
# for a local child and for a child over ssh to a loopback sshd started
# here (internal/testhosts; Mitogen with compression off, as the data is
# random). Rounds alternate the two tools; the table shows medians and the
# ratio muster/Mitogen oriented so that > 1 means muster is better.
#
# usage: bench/mesh.sh [rounds]    (default 3)
# env:   STARTS=20 N=10000 SSH_STARTS=5 SSH_N=2000 FILE_MB=64
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${1:-3}
STARTS=${STARTS:-20}
N=${N:-10000}
SSH_STARTS=${SSH_STARTS:-5}
SSH_N=${SSH_N:-2000}
FILE_MB=${FILE_MB:-64}
PY=/usr/bin/python3 # Debian's, with python3-mitogen; not a pyenv shim

$PY -c 'import mitogen' 2>/dev/null || { echo "bench/mesh.sh: $PY lacks mitogen (apt-get install python3-mitogen)" >&2; exit 1; }

tmp=$(mktemp -d)
source bench/lib/hosts.sh

go build -o "$tmp/meshbench" ./internal/meshbench
head -c $((FILE_MB * 1000000)) /dev/urandom >"$tmp/data"

start_hosts -n 1 -first 241
host=$(sed -n 's/^nodes=//p' "$tmp/hosts.out" | cut -d, -f1)

common=(--starts "$STARTS" --n "$N" --file "$tmp/data" --ssh-config "$cfg" --ssh-host "$host"
	--ssh-starts "$SSH_STARTS" --ssh-n "$SSH_N")
for ((r = 0; r < ROUNDS; r++)); do
	echo "round $((r + 1))/$ROUNDS" >&2
	"$tmp/meshbench" "${common[@]/#--/-}" >>"$tmp/muster.out"
	$PY bench/mesh/mitogen_bench.py "${common[@]}" >>"$tmp/mitogen.out"
done

# median KEY FILE
median() {
	awk -v k="$1" '$1 == k { print $2 }' "$2" | sort -g |
		awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }'
}

printf '%-34s %12s %12s %10s\n' "measure (median of $ROUNDS)" muster mitogen ratio
row() { # LABEL MUSTER_KEY MITOGEN_KEY lower|higher
	local m p
	m=$(median "$2" "$tmp/muster.out")
	p=$(median "$3" "$tmp/mitogen.out")
	awk -v l="$1" -v m="$m" -v p="$p" -v dir="$4" 'BEGIN {
		r = "-"
		if (m != "-" && p != "-" && m > 0 && p > 0) r = sprintf("%.1fx", dir == "lower" ? p / m : m / p)
		printf "%-34s %12s %12s %10s\n", l, m, p, r
	}'
}
for s in local ssh; do
	row "$s child start + first call (ms)" "$s.start_ms" "$s.start_ms" lower
	row "$s call RTT p50 (us)" "$s.rtt_p50_us" "$s.rtt_p50_us" lower
	row "$s call RTT p99 (us)" "$s.rtt_p99_us" "$s.rtt_p99_us" lower
	row "$s pipelined calls/s" "$s.pipelined_per_s" "$s.pipelined_per_s" higher
	row "$s FileService to child (MB/s)" "$s.file_mb_s" "$s.file_mb_s" higher
	row "$s raw mesh stream (MB/s)" "$s.stream_mb_s" none higher
done
row "ssh first start incl. upload (ms)" ssh.first_start_upload_ms none lower
echo "(calls over ssh: $SSH_N; starts over ssh: $SSH_STARTS; file: $FILE_MB MB random)"
