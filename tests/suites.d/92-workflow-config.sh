# The workflow's config and CLI edges on the sandbox: hostile configs (exit 2,
# one line, no AWS call, no file touched), output paths checked first, the
# topology graph of an apply.
exec bin/kumo run /usr/bin/busted -o TAP tests/e2e/workflow_config_spec.lua
