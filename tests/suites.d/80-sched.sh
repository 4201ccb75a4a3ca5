# kumo.sched: semantics on a virtual clock, then against the real kumo.http
# on a loopback server the spec starts itself.
exec bin/kumo run /usr/bin/busted -o TAP tests/modules/kumo/sched_fake_spec.lua tests/modules/kumo/sched_spec.lua
