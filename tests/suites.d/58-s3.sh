# S3 and DynamoDB at unit level (a session transport, no network): S3
# settings, region redirect, 200-with-error bodies, flexible checksums,
# streaming options, and the request/presign differential against botocore
# (1,908 requests: keys with spaces, +, ~, unicode, //, ./.., addressing
# styles, endpoints); kumo.dynamodb marshalling against boto3's
# TypeSerializer/TypeDeserializer (600 seeded values).
exec bin/kumo run /usr/bin/busted -o TAP \
  tests/modules/kumo/s3/s3_spec.lua tests/modules/kumo/dynamodb_spec.lua
