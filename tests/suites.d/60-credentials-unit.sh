# kumo.config and kumo.credentials: the ini dialect (checked against
# botocore), every provider against loopback fakes the specs serve.
exec bin/kumo run /usr/bin/busted -o TAP tests/modules/kumo/config_spec.lua tests/modules/kumo/credentials
