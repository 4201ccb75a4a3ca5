# The sandbox (local two-account cloud): signatures, IAM, trust policies and
# external IDs, the seeded world and its files, the AWS CLI against them, the
# kumo sandbox command, and the whole workflow through boto3 (SigV4 proof).
exec python3 tests/sandbox/run.py -j 3 test_auth test_world test_workflow
