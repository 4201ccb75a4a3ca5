#!/usr/bin/env bash
# `make demo`: the main job on the local cloud. Starts a sandbox (two
# accounts in one organization, a PostgreSQL and a MySQL database), runs the
# cross-account RDS Proxy workflow on it — plan, apply, verify, a second
# apply that changes nothing, destroy — shows the result, stops the sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."
KUMO="$PWD/bin/kumo"
dir=$(mktemp -d /tmp/kumo-demo.XXXXXX)
cleanup() {
  if [ -n "${pid:-}" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "starting the local two-account cloud (moto, SigV4 and IAM checks on)"
# waiters poll the sandbox every 0.2 s instead of AWS's 15 s
export KUMO_WAITER_DELAY=0.2
"$KUMO" sandbox --port 0 --dir "$dir" --lifecycle all=2 --exit-with $$ >"$dir/sandbox.out" 2>"$dir/sandbox.log" &
pid=$!
for _ in $(seq 1 300); do
  grep -q '^# then' "$dir/sandbox.out" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || { cat "$dir/sandbox.log" >&2; exit 1; }
  sleep 0.1
done
head -1 "$dir/sandbox.out"
# shellcheck disable=SC1091
. "$dir/env.sh"
cfg="$dir/workflow.lua"
run() { "$KUMO" run scripts/rds-proxy-share.lua "$@" --config "$cfg" --state "$dir/state"; }

step "plan (read-only)"
run plan
step "apply: RAM share, secret access role, proxy, target, endpoint in the APP VPC, security groups"
run apply --graph "$dir/topology.dot"
step "verify"
run verify
step "apply again: nothing to change"
run apply --quiet | tail -4
step "destroy (teardown order)"
run destroy
echo
echo "demo done: both pairs applied, verified and destroyed on the local cloud."
