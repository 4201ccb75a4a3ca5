# The rds-proxy-share workflow's AWS calls per run, counted by the sandbox
# (issue 11: apply, a second apply, verify, destroy of one pair).
set -u
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export HOME="$tmp/home"
mkdir -p "$HOME"
bin/kumo run bench/workflow_calls.lua
