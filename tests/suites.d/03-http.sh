# kumo.http against a loopback Python http.server the spec starts itself:
# request/response, keep-alive, errors, non-blocking start/poll.
exec bin/kumo run /usr/bin/busted -o TAP tests/modules/kumo/http_spec.lua
