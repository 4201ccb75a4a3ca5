# kumo.sigv4 at the Lua boundary (busted, run by kumo itself).
exec bin/kumo run /usr/bin/busted -o TAP tests/modules/kumo/sigv4_spec.lua
