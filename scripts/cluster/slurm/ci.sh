#!/usr/bin/env bash
# CI: a sharded scan of the simulated world run as Slurm job arrays on a one-node cluster, with its
# work location on an S3-compatible server (moto) on loopback, compared row for row with a single
# `mailcensus scan` of the same world. Also runs the S3 scenario test. Needs root, slurm-wlm, munge,
# and moto[server] (see .ci/run). Addresses: 127.218.0.0/16 (world), 127.219.0.53 (its DNS).
set -euo pipefail
cd "$(dirname "$0")/../../.."
# The binary to run: MAILCENSUS_BIN (.ci/run passes the one its tests were built with), else a build.
bin="${MAILCENSUS_BIN:-}"
if [ -z "$bin" ]; then
  cargo build --locked --quiet
  target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
  bin="$target_dir/debug/mailcensus"
fi
test -x "$bin"
tmp="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  bash scripts/cluster/slurm/local-cluster.sh down
}
trap cleanup EXIT

bash scripts/cluster/slurm/local-cluster.sh up

moto_server -H 127.0.0.1 -p 5555 >"$tmp/moto.log" 2>&1 &
pids+=($!)
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
export AWS_ENDPOINT=http://127.0.0.1:5555 AWS_ALLOW_HTTP=true
python3 - <<'PY'
import time, boto3
s3 = boto3.client("s3", endpoint_url="http://127.0.0.1:5555", region_name="us-east-1")
for _ in range(100):
    try:
        s3.create_bucket(Bucket="mailcensus")
        break
    except Exception:
        time.sleep(0.2)
else:
    raise SystemExit("moto_server did not start")
PY

echo "== the S3 scenario test (a DNS shard stopped half-way and resumed)"
MAILCENSUS_S3=s3://mailcensus/test cargo nextest run --locked --run-ignored only -E 'test(s3)'

echo "== the simulated world, served by mailcensus lab"
"$bin" lab --domains 600 --providers 40 --seed 11 --first-ip 127.218.0.1 --dns-ip 127.219.0.53 --smtp-port 2598 \
  --dir "$tmp/lab" >"$tmp/lab.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do grep -q 'serving until' "$tmp/lab.out" && break; sleep 0.2; done
input="$(sed -n 's/^input: //p' "$tmp/lab.out")"
flags="$(sed -n 's/^scan: mailcensus scan [^ ]* --out [^ ]* //p' "$tmp/lab.out")"
if [ -z "$input" ] || [ -z "$flags" ]; then
  echo "mailcensus lab did not start:" >&2
  cat "$tmp/lab.out" >&2
  exit 1
fi

echo "== one process"
start=$(date +%s)
# shellcheck disable=SC2086
"$bin" scan "$input" --out "$tmp/single" --no-progress $flags >/dev/null
echo "one process took $(( $(date +%s) - start )) s"

echo "== four shards as Slurm job arrays: input, work and result on S3"
python3 - "$input" <<'PY'
import sys, boto3
boto3.client("s3", endpoint_url="http://127.0.0.1:5555", region_name="us-east-1").upload_file(
    sys.argv[1], "mailcensus", "input/domains.csv")
PY
start=$(date +%s)
# shellcheck disable=SC2086
(cd "$tmp" && MAILCENSUS="$bin" bash "$OLDPWD/scripts/cluster/slurm/run.sh" 4 s3://mailcensus/input/domains.csv \
  s3://mailcensus/slurm/work s3://mailcensus/slurm/scan $flags)
echo "sharded scan took $(( $(date +%s) - start )) s"
grep -h 'mailcensus shard:' "$tmp"/mailcensus-*.log | sort || true
"$bin" report s3://mailcensus/slurm/scan --cache "$tmp/sharded" >/dev/null

echo "== the assembled scan equals the single run"
python3 scripts/cluster/compare.py "$tmp/single" "$tmp/sharded"
