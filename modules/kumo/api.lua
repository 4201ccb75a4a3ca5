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

--- Native functions added within API version 1 that the modules need (a
-- host built before them has the same version number): `module.function`.
api.REQUIRED = { "kumo.crypto.inflate" }  -- the compressed models (kumo.model)

for _, name in ipairs(api.REQUIRED) do
  local mod, fn = name:match("^(.*)%.([%w_]+)$")
  if type(require(mod)[fn]) ~= "function" then
    error(string.format("kumo: Lua modules need the native function %s, which this host "
      .. "lacks (stale install? rebuild with make, or reinstall kumo)", name), 0)
  end
end

return api
