#!/usr/bin/env bash
# A sharded mailcensus scan on Kubernetes: `run.sh SHARDS INPUT WORK OUT [scan flags...]`, where INPUT,
# WORK and OUT are s3:// locations (pods share no disk) and IMAGE names an image with the mailcensus
# binary as its entrypoint (see Dockerfile). Runs `shard init` and `shard next` here (with the same
# AWS_* variables), applies one Indexed Job per phase until `next` says done, then assembles.
# Idempotent: after a failure, run it again.
set -euo pipefail
if [ $# -lt 4 ]; then
  echo "usage: IMAGE=registry/mailcensus:tag $0 SHARDS INPUT WORK OUT [scan flags...]" >&2
  exit 2
fi
: "${IMAGE:?set IMAGE to the mailcensus image}"
shards=$1 input=$2 work=$3 out=$4
shift 4
mailcensus="${MAILCENSUS:-mailcensus}"
here="$(cd "$(dirname "$0")" && pwd)"
quote() { printf '"%s", ' "$@" | sed 's/, $//'; }
"$mailcensus" shard init --work "$work" --shards "$shards"
while :; do
  read -r step round < <("$mailcensus" shard next --work "$work")
  [ "$step" = done ] && break
  if [ "$step" = dns ]; then
    args="$(quote shard dns "$input" --work "$work" "$@")"
  else
    args="$(quote shard probe --work "$work" "$@")"
  fi
  job="mailcensus-$step-r$round"
  echo "== round $round: $step phase, $shards pods ($job)"
  sed -e "s|@PHASE@|$step|g" -e "s|@ROUND@|$round|g" -e "s|@SHARDS@|$shards|g" -e "s|@IMAGE@|$IMAGE|g" \
    -e "s|@ARGS@|$args|g" "$here/phase-job.yaml" | kubectl apply -f -
  # Until the Job is complete, or failed (an index out of retries: fix the cause, delete the Job, run
  # this again; finished shards are not run twice).
  while :; do
    state="$(kubectl get job "$job" -o jsonpath='{.status.conditions[?(@.status=="True")].type}')"
    case "$state" in
      *Complete*) break ;;
      *Failed*) echo "$job failed: kubectl describe job $job; kubectl logs job/$job" >&2; exit 1 ;;
    esac
    sleep 10
  done
  kubectl delete job "$job" --wait=false
done
"$mailcensus" shard assemble --work "$work" --out "$out"
