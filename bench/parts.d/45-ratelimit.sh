#!/usr/bin/env bash
# The per-key rate limiter on a virtual clock against an AWS-like server
# bucket (EC2's documented 100 tokens, 20/s): time to finish, calls sent and
# throttled for the old fixed ceiling, the new ceiling, and the new ceiling
# with botocore's adaptive limiter; then the limiter's cost per request.
set -u
cd "$(dirname "$0")/../.." || exit 2
bin/kumo run bench/ratelimit/sim.lua
