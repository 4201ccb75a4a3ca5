# kumo.waiter engine semantics and kumo's own waiter files (fake client, fake clock).
exec bin/kumo run /usr/bin/busted -o TAP tests/modules/kumo/waiter_spec.lua \
  tests/modules/kumo/wait/settings_spec.lua tests/modules/kumo/wait/judge_spec.lua \
  tests/modules/kumo/wait/decide_spec.lua
