# The AWS client's Lua modules at unit level (fake transport, no network):
# errors, retry, endpoints, paginate, client, aws session, and the call
# stages (prepare, attempt, classify, retry decision) one by one; module
# loading (errors surface as themselves, the native API check); the layout
# (no require cycle, no pcall(require), one owner per job, the architecture table).
exec bin/kumo run /usr/bin/busted -o TAP \
  tests/modules/kumo/errors_spec.lua tests/modules/kumo/retry_spec.lua \
  tests/modules/kumo/endpoints_spec.lua tests/modules/kumo/paginate_spec.lua \
  tests/modules/kumo/client_spec.lua tests/modules/kumo/aws_spec.lua \
  tests/modules/kumo/call/prepare_spec.lua tests/modules/kumo/call/attempt_spec.lua \
  tests/modules/kumo/call/classify_spec.lua tests/modules/kumo/call/decide_spec.lua \
  tests/modules/kumo/api_spec.lua tests/modules/kumo/layout_spec.lua \
  tests/modules/kumo/sys_spec.lua
