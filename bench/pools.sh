#!/bin/bash
# Compare muster's sched and async with other Go worker pools, side by side.
#
#   bench/pools.sh                 # 3 passes, 1M jobs, 64 workers: a few minutes
#   PASSES=1 N=200000 bench/pools.sh   # quick look
#
# Every (implementation, workload) runs in a fresh process so that its peak
# RSS is its own; implementations are interleaved within a pass so that a
# change in machine load hits all of them alike. Raw results go to $OUT
# (default: a temporary file); the table is printed on stdout.
set -euo pipefail

PASSES=${PASSES:-3}
N=${N:-1000000}
W=${W:-64}
SAMPLES=${SAMPLES:-1000}
FIFO_SAMPLES=${FIFO_SAMPLES:-20}
BACKLOG=${BACKLOG:-10000}
LOWJOB=${LOWJOB:-1ms}
IMPLS=${IMPLS:-"sched async chan pond pondfuture ants errgroup go"}
WORKS=${WORKS:-"noop cpu1us sleep10us"}

here=$(cd "$(dirname "$0")" && pwd)
bin=$(mktemp -d)/pools
OUT=${OUT:-$(mktemp --suffix=.txt)}
(cd "$here" && go build -o "$bin" ./pools)

: >"$OUT"
calib=$("$bin" -mode calibrate)
echo "$calib" >>"$OUT"
iters=$(sed -n 's/.*iters=\([0-9]*\).*/\1/p' <<<"$calib")
echo "meta n=$N w=$W passes=$PASSES backlog=$BACKLOG lowjob=$LOWJOB" >>"$OUT"
echo "$calib; results in $OUT" >&2

for pass in $(seq "$PASSES"); do
  for work in $WORKS; do
    for impl in $IMPLS; do
      line=$("$bin" -mode throughput -impl "$impl" -work "$work" -n "$N" -w "$W" -iters "$iters")
      echo "$line" >>"$OUT"
      echo "pass $pass: $line" >&2
    done
  done
done

for sc in idle saturated; do
  for impl in sched chan; do
    s=$SAMPLES
    if [ "$impl" = chan ] && [ "$sc" = saturated ]; then s=$FIFO_SAMPLES; fi
    line=$("$bin" -mode latency -impl "$impl" -scenario "$sc" -samples "$s" -w "$W" -backlog "$BACKLOG" -lowjob "$LOWJOB")
    echo "$line" >>"$OUT"
    echo "$line" >&2
  done
done

"$bin" -mode report "$OUT"
