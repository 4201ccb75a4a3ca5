--- The context a step works in: the pair, its two account sessions and
-- clients, what earlier steps found (`ids`), the journal, and the record
-- of the actions taken. Steps call AWS only through `ctx:read` (no change)
-- and `ctx:mutate` (journaled, shown in `--output json`, and forbidden in
-- `plan`).
--
-- Every call first checks for SIGINT/SIGTERM (`Ctx:check`): once one came,
-- no new call starts, while a call in flight finishes and its step writes
-- the journal.
-- @module rds-proxy.context
local aws = require "kumo.aws"
local sys = require "kumo.sys"
local sched = require "kumo.sched"

local Ctx = {}
Ctx.__index = Ctx

local M = {}

-- A session per distinct account access description, shared by all pairs
-- so a fleet assumes each role once.
local session_cache = {}

-- A workflow is a long run: every call keeps retrying through throttling,
-- 5xx and dropped connections for up to 120 s (kumo.retry's "long" mode,
-- adaptive rate per account/service) instead of the 3 attempts of
-- "standard"; a create whose answer was lost is adopted (ctx:mutate).
-- `timeouts.call` in the config sets that budget.
local RETRY_MODE = "long"

local function retry_budget(top)
  return top.timeouts and top.timeouts.call or nil
end

local function session_for(top, side, spec)
  local role = side == "app" and spec.role_arn or spec.account_role_arn
  local key = (spec.profile or "") .. "|" .. (role or "") .. "|" .. (spec.external_id or "")
  local s = session_cache[key]
  if s then return s end
  if spec.profile then
    s = aws.session{ profile = spec.profile, region = top.region, retry_mode = RETRY_MODE,
                     retry_budget = retry_budget(top) }
  else
    session_cache.base = session_cache.base
      or aws.session{ profile = top.base_profile, region = top.region, retry_mode = RETRY_MODE,
                     retry_budget = retry_budget(top) }
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

--- The error raised at the next call once SIGINT or SIGTERM came.
-- @return nothing; raises `{ interrupted = true, signal = n, name = "SIGINT" }`
function Ctx:check()
  local sig, name = sys.signaled()
  if sig then
    error(setmetatable({ interrupted = true, signal = sig, name = name },
      { __tostring = function() return "interrupted by " .. name end }), 0)
  end
end

--- True when `live` carries the tag `kumo:pair=<pair>` (Key/Value or key/value lists).
function M.tagged(live, pair)
  if not live then return false end
  -- not ipairs{ live.Tags, ... }: it would stop at the first absent list
  for _, field in ipairs{ "Tags", "tags", "TagList" } do
    for _, t in ipairs(live[field] or {}) do
      if (t.Key or t.key) == "kumo:pair" and (t.Value or t.value) == pair then return true end
    end
  end
  return false
end

--- A read-only call; returns `out` or `nil, err` (never raises AWS errors).
function Ctx:read(side, service, op, params)
  self:check()
  return self:client(side, service):try(op, params or {})
end

--- Every page of a read-only call, as a list of outputs.
function Ctx:read_all(side, service, op, params)
  self:check()
  local pages = {}
  for page in self:client(side, service):paginate(op, params or {}) do
    pages[#pages + 1] = page
  end
  return pages
end

--- A call that changes something. Raises in `plan` (a bug: plan is
-- read-only); records the action. `ok_codes` lists error codes that mean
-- "already done" and count as success.
--
-- `opts.adopt = { codes }` is for creates: such an answer ("already
-- exists") means kumo's own resource when kumo may have made it itself,
-- i.e. the call was retried (an earlier attempt acted but its answer was
-- lost), or the journal holds an intent for the step (`opts.step`, default
-- the step being run), from an earlier run or this one. Then the call returns `nil, "adopt"`
-- and the step reads the resource back, checks its tag and records it
-- (`Ctx:adopt`). Otherwise the name is someone else's: a clear error.
-- @return out, or nil and the error code when it matched `ok_codes`, or
--   nil, "adopt"
function Ctx:mutate(side, service, op, params, ok_codes, opts)
  if self.action == "plan" or self.action == "verify" then
    error("internal: " .. op .. " attempted during " .. self.action, 0)
  end
  self:check()
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
  local adopt = opts and opts.adopt
  for _, code in ipairs(adopt and (adopt.codes or adopt) or {}) do
    if err.code == code then
      local key = opts.step or self.step_name
      -- libcurl resends a request by itself when a reused connection dies
      -- before any answer (the "lose" fault, a reset after the server
      -- acted): the client then sees one attempt answered "already exists".
      -- So this run's own intent counts too; Ctx:adopt still requires the
      -- pair's tag, so nothing of someone else's is taken.
      local retried = (err.attempts or 1) > 1
      local earlier = key and self.state:intended_before(key)
      if retried or earlier or (key and self.state:intended(key)) then
        self.actions[#self.actions + 1] = { account = side, call = service .. ":" .. op,
          note = "adopted (" .. code .. (retried and " after a retried attempt"
            or earlier and " after an earlier run's intent" or " after this run's intent") .. ")" }
        return nil, "adopt"
      end
      error(string.format("%s: %s answered %s (%s) and this run did not make it: another run "
        .. "(another --state folder, or by hand) has it. If it is this pair's, run plan to see it; "
        .. "otherwise choose another name", key or op, op, code, tostring(err.message or "")), 0)
    end
  end
  error(err, 0)
end

--- The idempotency token of the current step's create (RAM `clientToken`,
-- Secrets Manager `ClientRequestToken`, ...): the same across attempts and
-- reruns, kept with the intent in the journal.
function Ctx:token(step_name)
  return self.state:token(step_name or self.step_name)
end

--- Record a resource a create answered "already exists" for (see `mutate`):
-- it must carry this pair's tag, else it is not kumo's and the run fails.
-- @param key the step name
-- @param live the resource read back (nil: not found, which fails too)
-- @param id its id
function Ctx:adopt(key, live, id, extra)
  if not live then
    error(string.format("%s: the create answered \"already exists\" but reading it back found nothing; "
      .. "rerun apply", key), 0)
  end
  if not M.tagged(live, self.pair.name) then
    error(string.format("%s: %s exists without the tag kumo:pair=%s, so it is not this pair's; "
      .. "choose another name or delete it", key, tostring(id), self.pair.name), 0)
  end
  self.state:created(key, id, extra)
  return live
end

-- Sleeps in short slices so a signal is seen within a fraction of a second.
local function interruptible_sleep(self)
  return function(seconds)
    local t = sched.now() + seconds
    while true do
      self:check()
      local left = t - sched.now()
      if left <= 0 then return end
      sched.sleep(math.min(left, 0.25))
    end
  end
end

--- Sleep `seconds` unless a signal comes (then raise as `check` does).
function Ctx:sleep(seconds)
  interruptible_sleep(self)(seconds)
end

--- Wait with a named waiter (official or kumo's own) in the `side` account.
function Ctx:wait(side, service, name, params, timeout)
  -- the waiter reports each poll to the scheduler's progress display
  self.progress(self.pair.name, "waiting: " .. name)
  self:check()
  return self:client(side, service):wait(name, params, {
    timeout = timeout or self.timeouts.wait or 1800,
    sleep = interruptible_sleep(self),
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
