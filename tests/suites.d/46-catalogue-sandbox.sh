# Services new to kumo with the whole catalogue (SNS, SQS, DynamoDB, SSM,
# Route 53, API Gateway: all five protocols' paths but ec2's) end to end
# against a sandbox, read back with boto3 (tests/protocol/catalogue/sandbox_spec.lua).
exec bin/kumo run /usr/bin/busted -o TAP tests/protocol/catalogue/sandbox_spec.lua
