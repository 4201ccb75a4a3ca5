# The AWS client end to end against a sandbox started on a free port (real
# HTTP, SigV4 and IAM checks): round trips of six services, errors,
# pagination, injected throttling and failures retried.
exec bin/kumo run /usr/bin/busted -o TAP tests/e2e/client_spec.lua
