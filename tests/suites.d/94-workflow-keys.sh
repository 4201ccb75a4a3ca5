# Every config key changed and converged (the keys the older specs did not
# change; docs/config-keys.md has the table of every key and its test).
exec bin/kumo run /usr/bin/busted -o TAP tests/e2e/workflow_keys_spec.lua
