# An organization-wide rollout on the sandbox (--accounts 8): pairs from the
# OU, selectors only, failure tolerance, the rerun, shards. The runner's and
# the selectors' unit specs (tests/scripts/rollout_spec.lua, select_spec.lua)
# run with suite 90.
exec bin/kumo run /usr/bin/busted -o TAP tests/e2e/rollout_spec.lua
