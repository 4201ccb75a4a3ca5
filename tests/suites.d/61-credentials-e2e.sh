# Credentials end to end against a sandbox it starts on a free port: role
# profiles, external ids, STS endpoint overrides, and the ~/.aws/cli/cache
# shared with the AWS CLI in both directions (proved by request counters).
exec bin/kumo run /usr/bin/busted --no-auto-insulate -o TAP tests/e2e/credentials_spec.lua
