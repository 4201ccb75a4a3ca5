# The AWS client's Lua modules at unit level (fake transport, no network):
# errors, retry, endpoints, paginate, client, aws session.
exec bin/kumo run /usr/bin/busted -o TAP \
  tests/modules/kumo/errors_spec.lua tests/modules/kumo/retry_spec.lua \
  tests/modules/kumo/endpoints_spec.lua tests/modules/kumo/paginate_spec.lua \
  tests/modules/kumo/client_spec.lua tests/modules/kumo/aws_spec.lua
