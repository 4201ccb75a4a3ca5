# kumo.ratelimit: in-flight slots, token buckets per account/service, throttling.
exec bin/kumo run /usr/bin/busted -o TAP tests/modules/kumo/ratelimit_spec.lua
