# Fleet: 50 tasks at once, each assuming a role in the RDS account and waiting
# for an RDS proxy that needs 5 polls, against a sandbox with 100 ms latency
# per call (issue 5's goal: <= 2x the time of one task, connections opened
# <= the in-flight limit, <= 30 MB RSS). Then boto3 with threads, same load.
# Override: FLEET_N, FLEET_LATENCY (ms), FLEET_POLLS, FLEET_DELAY (s); FLEET_BOTO3=0.
set -u
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export HOME="$tmp/home"   # kumo's AssumeRole file cache stays out of ~/.aws
mkdir -p "$HOME"
bin/kumo run bench/fleet.lua "${FLEET_N:-50}" "${FLEET_LATENCY:-100}" "${FLEET_POLLS:-5}" "${FLEET_DELAY:-1}"
