# kumo.ratelimit: in-flight slots, per-key ceilings, the adaptive limiter
# (and that limiter against botocore's own, event by event).
exec bin/kumo run /usr/bin/busted -o TAP tests/modules/kumo/ratelimit_spec.lua \
  tests/modules/kumo/ratelimit_botocore_spec.lua
