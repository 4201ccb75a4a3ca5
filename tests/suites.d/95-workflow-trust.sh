# The workflow's trust (issue 11) end to end on the sandbox: lock per pair,
# duplicates, adoption, destroy read-back, signals, journal modes.
# The long matrix (chaos faults, every kill point, cycles) is `make chaos`.
exec bin/kumo run /usr/bin/busted -o TAP tests/e2e/workflow_trust_spec.lua
