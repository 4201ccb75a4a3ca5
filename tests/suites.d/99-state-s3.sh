# Shared state in S3 on the sandbox (--accounts 4): journals and the leased lock
# as objects, two runs of a pair, two shards at once, kill -9 and the lease,
# --force-unlock. The backend's unit spec (tests/scripts/state_s3_spec.lua)
# runs with suite 90.
exec bin/kumo run /usr/bin/busted -o TAP tests/e2e/state_s3_spec.lua
