# kumo.rds.generate_db_auth_token against botocore's RDS.generate_db_auth_token.
exec bin/kumo run /usr/bin/busted -o TAP tests/modules/kumo/rds_spec.lua
