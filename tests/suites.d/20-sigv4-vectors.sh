# SigV4 official suites (aws-c-auth v4 header+query, botocore aws4_testsuite)
# through kumo.sigv4's Lua contract.
exec bin/kumo run tests/sigv4/run.lua tests/sigv4
