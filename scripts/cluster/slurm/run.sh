#!/usr/bin/env bash
# A sharded mailcensus scan on Slurm: `run.sh SHARDS INPUT WORK OUT [scan flags...]`.
# Runs `shard init`, then one job array (SHARDS tasks) per phase until `shard next` says done, then
# `shard assemble` into OUT (a folder gets the report too). Every step is idempotent: after a failure,
# run the same command again and it goes on where it stopped. Set MAILCENSUS to the binary's path
# (default: mailcensus on PATH) and pass extra sbatch options in SBATCH_OPTIONS (e.g. --partition).
# Scan flags are split on spaces: they cannot hold spaces themselves.
set -euo pipefail
if [ $# -lt 4 ]; then
  echo "usage: $0 SHARDS INPUT WORK OUT [scan flags...]" >&2
  exit 2
fi
shards=$1 input=$2 work=$3 out=$4
shift 4
export MAILCENSUS="${MAILCENSUS:-mailcensus}" INPUT="$input" WORK="$work" FLAGS="$*"
here="$(cd "$(dirname "$0")" && pwd)"
"$MAILCENSUS" shard init --work "$work" --shards "$shards"
while :; do
  read -r step round < <("$MAILCENSUS" shard next --work "$work")
  if [ "$step" = done ]; then
    break
  fi
  echo "== round $round: $step phase, $shards array tasks"
  # shellcheck disable=SC2086 # SBATCH_OPTIONS is a list of words
  PHASE="$step" sbatch --wait --export=ALL --array="0-$((shards - 1))" ${SBATCH_OPTIONS:-} "$here/phase.sbatch"
done
"$MAILCENSUS" shard assemble --work "$work" --out "$out"
