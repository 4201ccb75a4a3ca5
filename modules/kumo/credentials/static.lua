--- kumo.credentials.static: credentials given by the caller
-- (`aws.session{ credentials = { access_key_id=, secret_access_key=, session_token= } }`).
-- @module kumo.credentials.static
local creds = require "kumo.credentials.creds"

local M = {}

local Static = {}
Static.__index = Static

--- A provider that always returns the same credentials.
-- @param t a creds object, or a table with `access_key_id`,
-- `secret_access_key` and optionally `session_token`, `expiration`
-- @param source how to name them in messages (default "explicit credentials")
-- @return provider; raises naming a missing field
function M.new(t, source)
  local c = t
  if not creds.is(t) then
    c = creds.new{
      access_key_id = t.access_key_id, secret_access_key = t.secret_access_key,
      session_token = t.session_token, expiration = t.expiration,
      account_id = t.account_id, source = t.source or source or "explicit credentials",
    }
  end
  return setmetatable({ name = "static", creds = c }, Static)
end

--- The credentials (an error once they have expired: static ones cannot refresh).
function Static:load()
  local c = self.creds
  if c.expiration and c.expiration <= creds.now() then
    error(string.format("%s expired at %s and cannot be refreshed; pass new credentials",
      c.source or "credentials", creds.iso8601(c.expiration)), 0)
  end
  return c
end

Static.get = Static.load

--- Nothing to drop: static credentials are what they are.
function Static:invalidate() end

Static.__tostring = function(self) return "static provider " .. tostring(self.creds) end

return M
