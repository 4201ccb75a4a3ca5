# Waiters end to end against a sandbox started on a free port (real HTTP, SigV4, IAM).
exec bin/kumo run /usr/bin/busted -o TAP tests/e2e/waiter_spec.lua
