# kumo.config and kumo.credentials: the ini dialect (checked against
# botocore), every provider against loopback fakes the specs serve, roles
# through the real client with an in-process fake STS.
# --no-auto-insulate: the native kumo.http cannot be required twice in one
# Lua state (its luaopen reuses a registry key), which insulation would do.
exec bin/kumo run /usr/bin/busted --no-auto-insulate -o TAP tests/modules/kumo/config_spec.lua tests/modules/kumo/credentials
