# kumo.validate and kumo.regex: parameter checks before a request is sent.
exec bin/kumo run /usr/bin/busted -o TAP tests/modules/kumo/validate_spec.lua tests/modules/kumo/regex_spec.lua
