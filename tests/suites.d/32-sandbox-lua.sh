# The sandbox through kumo itself (tests/lib/sandbox.lua + kumo.aws).
exec bin/kumo run /usr/bin/busted -o TAP tests/sandbox/lua
