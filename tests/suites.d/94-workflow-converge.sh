# The workflow converges (drift, exact security groups, every config key,
# pre-checks) end to end on the sandbox.
exec bin/kumo run /usr/bin/busted -o TAP tests/e2e/workflow_converge_spec.lua
