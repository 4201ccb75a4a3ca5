--- The context a step works in: the pair, its two account sessions and
-- clients, what earlier steps found (`ids`), the journal, and the record
-- of the actions taken. Steps call AWS only through `ctx:read` (no change)
-- and `ctx:mutate` (journaled, shown in `--output json`, and forbidden in
-- `plan`).
-- @module rds-proxy.context
local aws = require "kumo.aws"

local Ctx = {}
Ctx.__index = Ctx

local M = {}

-- A session per distinct account access description, shared by all pairs
-- so a fleet assumes each role once.
local session_cache = {}

local function session_for(top, side, spec)
  local role = side == "app" and spec.role_arn or spec.account_role_arn
  local key = (spec.profile or "") .. "|" .. (role or "") .. "|" .. (spec.external_id or "")
  local s = session_cache[key]
  if s then return s end
  if spec.profile then
    s = aws.session{ profile = spec.profile, region = top.region }
  else
    session_cache.base = session_cache.base
      or aws.session{ profile = top.base_profile, region = top.region }
    s = session_cache.base:assume_role{ role_arn = role, external_id = spec.external_id,
                                        session_name = "kumo-rds-proxy-share" }
  end
  session_cache[key] = s
  return s
end

--- Build the context of one pair.
-- @param pair the resolved pair (config.resolve_pair)
-- @param top the resolved config
-- @param opts `{ action=, state=, progress=, timeouts= }`
function M.new(pair, top, opts)
  local self = setmetatable({
    pair = pair, top = top, action = opts.action, state = opts.state,
    progress = opts.progress or function() end,
    timeouts = opts.timeouts or {},
    ids = {}, facts = {}, actions = {}, notes = {}, clients = {},
  }, Ctx)
  self.sessions = {
    app = session_for(top, "app", pair.app),
    rds = session_for(top, "rds", pair.rds),
  }
  return self
end

--- The client of `service` in the `side` ("app" or "rds") account.
function Ctx:client(side, service)
  local key = side .. ":" .. service
  local c = self.clients[key]
  if not c then
    c = self.sessions[side]:client(service)
    self.clients[key] = c
  end
  return c
end

--- A read-only call; returns `out` or `nil, err` (never raises AWS errors).
function Ctx:read(side, service, op, params)
  return self:client(side, service):try(op, params or {})
end

--- Every page of a read-only call, as a list of outputs.
function Ctx:read_all(side, service, op, params)
  local pages = {}
  for page in self:client(side, service):paginate(op, params or {}) do
    pages[#pages + 1] = page
  end
  return pages
end

--- A call that changes something. Raises in `plan` (a bug: plan is
-- read-only); records the action. `ok_codes` lists error codes that mean
-- "already done" and count as success.
-- @return out, or nil and the error code when it matched `ok_codes`
function Ctx:mutate(side, service, op, params, ok_codes)
  if self.action == "plan" or self.action == "verify" then
    error("internal: " .. op .. " attempted during " .. self.action, 0)
  end
  local out, err = self:client(side, service):try(op, params)
  if out then
    self.actions[#self.actions + 1] = { account = side, call = service .. ":" .. op }
    return out
  end
  for _, code in ipairs(ok_codes or {}) do
    if err.code == code then
      self.actions[#self.actions + 1] = { account = side, call = service .. ":" .. op,
                                          note = "already done (" .. code .. ")" }
      return nil, code
    end
  end
  error(err, 0)
end

--- Wait with a named waiter (official or kumo's own) in the `side` account.
function Ctx:wait(side, service, name, params, timeout)
  -- the waiter reports each poll to the scheduler's progress display
  self.progress(self.pair.name, "waiting: " .. name)
  return self:client(side, service):wait(name, params, {
    timeout = timeout or self.timeouts.wait or 1800,
  })
end

--- Tags of everything created, as `{ {Key=, Value=}, ... }`.
function Ctx:tag_list(key_name, value_name)
  key_name, value_name = key_name or "Key", value_name or "Value"
  local keys = {}
  for k in pairs(self.pair.tags) do keys[#keys + 1] = k end
  table.sort(keys)
  local out = {}
  for _, k in ipairs(keys) do
    out[#out + 1] = { [key_name] = k, [value_name] = self.pair.tags[k] }
  end
  return out
end

--- Add a note for the report (warnings, hints).
function Ctx:note(text)
  self.notes[#self.notes + 1] = text
end

return M
