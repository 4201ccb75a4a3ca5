# kumo.sched end to end: client and waiters in tasks against a sandbox it
# starts (throttling slows one account's bucket; waiter polls reach progress).
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export HOME="$tmp"   # the AssumeRole file cache stays out of ~/.aws
bin/kumo run /usr/bin/busted -o TAP tests/modules/kumo/sched_sandbox_spec.lua
