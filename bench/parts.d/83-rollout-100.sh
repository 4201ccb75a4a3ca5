#!/usr/bin/env bash
# Issue 14's acceptance: a 100-pair organization rollout on the sandbox at
# 50 ms per call, in one kumo process: wall time against one pair's, max
# RSS, calls per second per account against kumo's ceiling, and sequential
# boto3's time for the same calls. ROLLOUT_PAIRS, ROLLOUT_RDS,
# ROLLOUT_LATENCY, ROLLOUT_POLLS, ROLLOUT_DELAY change the run
# (bench/parts.d/83-rollout-100.lua). Alone: bash bench/parts.d/83-rollout-100.sh
set -u
cd "$(dirname "$0")/../.." || exit 2
export KUMO_ROOT="$PWD"
export PATH="$PWD/bin:$PATH"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export HOME="$tmp"
bin/kumo run bench/parts.d/83-rollout-100.lua
