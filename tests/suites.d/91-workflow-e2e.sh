# The workflow end to end on the sandbox (PostgreSQL, MySQL, idempotency,
# invalid configs, kill -9, ten pairs, no organization).
exec bin/kumo run /usr/bin/busted -o TAP tests/e2e/workflow_spec.lua
