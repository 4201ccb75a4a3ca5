# Retries sized for long runs against a sandbox with injected faults (real
# HTTP, SigV4 and IAM checks): long mode through throttling, 5xx and dropped
# connections; waiters through throttled polls; the message when retries run out.
exec bin/kumo run /usr/bin/busted -o TAP tests/retry/long_e2e_spec.lua
