# The protocol modules against the shipped models (sts, ec2, rds, kms, ram,
# iam, logs, secretsmanager): request shapes, responses, errors, helpers.
exec bin/kumo run /usr/bin/busted -o TAP tests/modules/kumo/protocol_spec.lua
