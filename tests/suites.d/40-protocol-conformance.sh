# AWS protocol compliance suites (tests/protocol, botocore's format, copied
# from aws-cli v2) through kumo's five protocol modules. Known exceptions,
# each with its reason, are in tests/protocol/exceptions.lua. Then kumo's own
# cases in the same format (tests/protocol/extra, checked against botocore
# by suite 45).
exec bin/kumo run tests/protocol/run.lua tests/protocol/input/*.json tests/protocol/output/*.json \
  tests/protocol/legacy/input/*.json tests/protocol/legacy/output/*.json \
  tests/protocol/extra/*.json
