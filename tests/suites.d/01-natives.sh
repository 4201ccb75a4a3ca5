# kumo's native modules from Lua: crypto, clock, xml and json (busted
# under kumo itself). kumo.http has its own suite (03-http).
exec bin/kumo run /usr/bin/busted -o TAP \
  tests/modules/kumo/crypto_spec.lua tests/modules/kumo/clock_spec.lua \
  tests/modules/kumo/xml_spec.lua tests/modules/kumo/json_spec.lua
