# kumo.jmespath module spec (data model, errors, API).
exec bin/kumo run /usr/bin/busted -o TAP tests/modules/kumo/jmespath_spec.lua
