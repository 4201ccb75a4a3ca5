--- kumo.credentials.chain: try providers in order; the first that has
-- credentials serves from then on. When none has any, the error lists
-- every source tried and why it had nothing.
-- @module kumo.credentials.chain
local M = {}

local Chain = {}
Chain.__index = Chain

--- @param providers list of providers (each with `load()` → creds or nil, reason)
-- @param what what the credentials are for, for the error (e.g. `profile "app"`)
function M.new(providers, what)
  return setmetatable({ name = "chain", providers = providers, what = what }, Chain)
end

--- The first provider's credentials; raises listing the sources tried.
function Chain:load()
  if self.active then return self.active:get() end
  local tried = {}
  for _, p in ipairs(self.providers) do
    local c, why = p:load()
    if c then
      self.active = p
      return c
    end
    tried[#tried + 1] = string.format("  - %s: %s", p.label or p.name, why or "no credentials")
  end
  return nil, table.concat(tried, "\n")
end

--- Credentials, or an error naming the sources tried.
function Chain:get()
  local c, tried = self:load()
  if c then return c end
  error(string.format("no AWS credentials found%s; tried, in order:\n%s\n"
    .. "Set AWS_PROFILE or pass profile= / credentials= to aws.session{}.",
    self.what and (" for " .. self.what) or "", tried), 0)
end

--- The provider that served, or nil before the first `get()`.
function Chain:provider()
  return self.active
end

--- Forget the cached credentials of the serving provider.
-- @return what the serving provider's `invalidate` returned
function Chain:invalidate()
  if self.active then return self.active:invalidate() end
end

return M
