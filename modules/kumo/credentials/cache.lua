--- kumo.credentials.cache: refreshable credentials with refresh windows
-- sized to the credentials' lifetime (as the Go SDK v2 does, peers.md §2.5):
--
-- | lifetime          | advisory window | mandatory window |
-- | ----------------- | --------------- | ---------------- |
-- | ≤ 20 min          | 5 min           | 1 min            |
-- | < 90 min          | 15 min          | 1 min            |
-- | ≥ 90 min          | 60 min          | 1 min            |
--
-- Inside the advisory window one caller refreshes while the others keep
-- using the current credentials; a failed advisory refresh keeps them too
-- (and waits before trying again). Inside the mandatory window (or with
-- no credentials yet) callers wait for the refresh, and its failure is
-- raised. Only one refresh runs at a time, even with many kumo.sched
-- tasks: the others wait on a flag, yielding.
-- @module kumo.credentials.cache
local creds = require "kumo.credentials.creds"

local M = {}

local Cache = {}
Cache.__index = Cache

--- Advisory and mandatory windows (seconds) for a lifetime (seconds).
function M.windows(lifetime)
  local advisory
  if lifetime <= 20 * 60 then advisory = 5 * 60
  elseif lifetime < 90 * 60 then advisory = 15 * 60
  else advisory = 60 * 60 end
  return advisory, math.min(60, advisory)
end

--- @param opts `{ fetch = function() → creds, name = "...", advisory = s, mandatory = s,
-- warn = function(msg), now = function() → s, sleep = function(s) }`
-- (`advisory`/`mandatory` override the lifetime rule; `now`/`sleep` are for tests)
function M.new(opts)
  assert(type(opts.fetch) == "function", "cache.new: fetch must be a function")
  return setmetatable({
    name = opts.name or "refreshable",
    label = opts.label,
    fetch = opts.fetch,
    advisory = opts.advisory,
    mandatory = opts.mandatory,
    warn = opts.warn or function(msg) io.stderr:write("kumo: warning: ", msg, "\n") end,
    now = opts.now or creds.now,
    sleep = opts.sleep or function(s) require("kumo.sched").sleep(s) end,
    refreshing = false,
    next_try = 0,
    refreshes = 0,
  }, Cache)
end

function Cache:windows()
  local adv, mand = M.windows(self.lifetime or 3600)
  adv = self.advisory or adv
  mand = self.mandatory or mand
  if mand > adv then mand = adv end
  return adv, mand
end

-- Run the fetch; sets the flag so concurrent callers wait or go on with
-- the old credentials. pcall is fine across kumo.sched yields in Lua 5.4.
function Cache:refresh()
  self.refreshing = true
  local ok, c = pcall(self.fetch, self)
  self.refreshing = false
  if not ok then error(c, 0) end
  local now = self.now()
  if not creds.is(c) then
    error(self.name .. ": refresh returned no credentials", 0)
  end
  if c.expiration and c.expiration <= now then
    error(string.format("%s: refresh returned credentials that expired at %s",
      c.source or self.name, creds.iso8601(c.expiration)), 0)
  end
  self.creds = c
  self.lifetime = c.expiration and (c.expiration - now) or nil
  self.refreshes = self.refreshes + 1
  return c
end

--- Current credentials, refreshing as the windows say.
function Cache:get()
  local c = self.creds
  local now = self.now()
  if c then
    if not c.expiration then return c end
    local remaining = c.expiration - now
    local advisory, mandatory = self:windows()
    if remaining > advisory then return c end
    if remaining > mandatory then
      if self.refreshing or now < self.next_try then return c end
      local ok, err = pcall(self.refresh, self)
      if ok then return self.creds end
      -- Keep what we have; try again in a while, but before the mandatory window.
      self.next_try = now + math.max(1, math.min(60, (remaining - mandatory) / 2))
      self.warn(string.format("%s: advisory refresh failed, still using credentials valid until %s: %s",
        self.label or self.name, creds.iso8601(c.expiration), tostring(err)))
      return c
    end
  end
  if self.refreshing then
    -- Another task is refreshing: wait for it (yields inside a task).
    local waited = 0
    while self.refreshing do
      if waited > 120 then
        error(string.format("%s: waited %d s for another task's credential refresh", self.name, waited), 0)
      end
      self.sleep(0.02)
      waited = waited + 0.02
    end
    c = self.creds
    if c and (not c.expiration or c.expiration - self.now() > select(2, self:windows())) then
      return c
    end
  end
  return self:refresh()
end

--- Chain members call `load`; a refreshable cache always applies.
Cache.load = Cache.get

--- Drop the credentials: the next `get` fetches new ones (e.g. after the
-- service answered ExpiredToken).
function Cache:invalidate()
  self.creds = nil
  self.next_try = 0
end

return M
