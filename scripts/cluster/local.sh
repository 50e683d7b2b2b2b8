#!/usr/bin/env bash
# A sharded scan on one machine: each phase's shards run as separate processes, PARALLEL at a time
# (default: the number of cores). For trying the phases without a cluster, and for measuring them.
#   local.sh SHARDS INPUT WORK OUT [scan flags...]      (MAILCENSUS: the binary; default mailcensus)
set -euo pipefail
if [ $# -lt 4 ]; then
  echo "usage: $0 SHARDS INPUT WORK OUT [scan flags...]" >&2
  exit 2
fi
shards=$1 input=$2 work=$3 out=$4
shift 4
bin="${MAILCENSUS:-mailcensus}"
par="${PARALLEL:-$(nproc)}"
"$bin" shard init --work "$work" --shards "$shards"
while :; do
  read -r step round < <("$bin" shard next --work "$work")
  [ "$step" = done ] && break
  echo "== round $round: $step phase"
  if [ "$step" = dns ]; then
    seq 0 $((shards - 1)) | xargs -P "$par" -I{} "$bin" shard dns "$input" --work "$work" --shard {} "$@"
  else
    seq 0 $((shards - 1)) | xargs -P "$par" -I{} "$bin" shard probe --work "$work" --shard {} "$@"
  fi
done
"$bin" shard assemble --work "$work" --out "$out"
