# kumo.waiter engine semantics and kumo's own waiter files (fake client, fake clock).
exec bin/kumo run /usr/bin/busted -o TAP tests/modules/kumo/waiter_spec.lua
