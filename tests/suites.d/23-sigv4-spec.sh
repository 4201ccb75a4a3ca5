# kumo.sigv4 at the Lua boundary, and end to end against the sandbox (moto
# re-signs every request: accepted when right, refused when tampered);
# busted, run by kumo itself.
exec bin/kumo run /usr/bin/busted -o TAP tests/modules/kumo/sigv4_spec.lua \
  tests/sigv4/sandbox_spec.lua
