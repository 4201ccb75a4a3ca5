#!/usr/bin/env bash
# A 50-pair rollout of the rds-proxy-share workflow on the sandbox at 50 ms
# per call (issue 11: limited by the sandbox, not by kumo's own limiter):
# wall time, calls per second per account, and what kumo's rate limiter
# held back. FLEET_PAIRS, FLEET_PARALLEL, WF_LATENCY, WF_POLLS, WF_DELAY
# change the run (bench/workflow_fleet.lua).
set -u
cd "$(dirname "$0")/../.." || exit 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export HOME="$tmp"
bin/kumo run bench/workflow_fleet.lua
