--- kumo.credentials.profile: static keys of a profile in the shared files
-- (`aws_access_key_id`, `aws_secret_access_key`, `aws_session_token` or the
-- legacy `aws_security_token`, `aws_account_id`).
-- @module kumo.credentials.profile
local creds = require "kumo.credentials.creds"

local M = {}

local Profile = {}
Profile.__index = Profile

--- True when the profile table has static keys (either one; a half pair is
-- reported by `load`).
function M.has_keys(p)
  return p ~= nil and (p.aws_access_key_id ~= nil or p.aws_secret_access_key ~= nil)
end

--- @param view a kumo.config view
-- @param name the profile name
function M.new(view, name)
  return setmetatable({ name = "profile", label = string.format("profile %q static keys", name),
    view = view, profile = name }, Profile)
end

--- The profile's keys, or nil and a reason when it has none.
function Profile:load()
  if self.creds then return self.creds end
  local view, name = self.view, self.profile
  local p = view:profile(name)
  if not p then
    return nil, string.format("profile %q not found in %s", name, view:where(name))
  end
  if not M.has_keys(p) then
    return nil, string.format("profile %q (%s) has no aws_access_key_id", name, view:where(name))
  end
  for _, k in ipairs{ "aws_access_key_id", "aws_secret_access_key" } do
    if type(p[k]) ~= "string" or p[k] == "" then
      error(string.format("profile %q (%s): %s is missing; add it next to %s",
        name, view:where(name), k, k == "aws_access_key_id" and "aws_secret_access_key" or "aws_access_key_id"), 0)
    end
  end
  self.creds = creds.new{
    access_key_id = p.aws_access_key_id,
    secret_access_key = p.aws_secret_access_key,
    session_token = p.aws_session_token or p.aws_security_token,
    account_id = p.aws_account_id,
    source = string.format("profile %q (%s)", name, view:where(name, "aws_access_key_id")),
  }
  return self.creds
end

function Profile:get()
  local c, why = self:load()
  if not c then error(why, 0) end
  return c
end

function Profile:invalidate()
  self.creds = nil
end

return M
