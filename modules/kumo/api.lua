--- kumo.api: the check that the Lua modules and the host binary agree on
-- the native API (kumo.sys, kumo.http, kumo.sigv4, ...). Every entry point
-- (`require "kumo"`, `require "kumo.aws"`, `require "kumo.session"`) loads
-- this first, so a stale install fails at once with what to do, instead of
-- at some later call with a missing function. `require` runs it once.
-- @module kumo.api
local sys = require "kumo.sys"

local api = {
  --- The native API version these modules are written for.
  VERSION = 1,
}

if sys.api_version ~= api.VERSION then
  error(string.format("kumo: Lua modules expect native API %d, host has %s "
    .. "(stale install? reinstall kumo)", api.VERSION, tostring(sys.api_version)), 0)
end

return api
