--- The context a step works in: the pair, its two account sessions and
-- clients, what earlier steps found (`ids`), the journal, and the record
-- of the actions taken. Steps call AWS only through `ctx:read` (no change)
-- and `ctx:mutate` (journaled, shown in `--output json`, and forbidden in
-- `plan`).
--
-- Every call first checks for SIGINT/SIGTERM (`Ctx:check`): once one came,
-- no new call starts, while a call in flight finishes and its step writes
-- the journal.
--
-- Reads go through a per-run memo shared by every pair and step of the run
-- (keyed by account session, region, service, operation and parameters):
-- the pre-checks every pair repeats (the caller identities, the
-- organization, the shared APP subnets, ...) and a step's second look at
-- what an earlier step read cost one call per run. A mutation drops every
-- remembered answer of its account and service that names one of the
-- strings it sends or gets back (an id, a name, an ARN), so a read after a
-- create or a delete asks AWS again. A read that proves a mutation (the
-- read-back after a delete, the read of an adopted resource) is made
-- `fresh`: no answer remembered before it counts.
--
-- Surveys (`ctx:survey`) go further: one read answers a question for every
-- pair of the run in an account (all proxies, the shares tagged with any
-- of the run's pairs, ...), and each pair reads its part from it. A survey
-- serves a pair only when it was read after the pair took its lock (no
-- other apply changes the pair's resources since) and before the pair
-- itself changed what it answers (`STALES`); then, and for fresh reads,
-- the pair asks AWS itself.
-- @module rds-proxy.context
local aws = require "kumo.aws"
local sys = require "kumo.sys"
local sched = require "kumo.sched"
local errors = require "kumo.errors"

local Ctx = {}
Ctx.__index = Ctx

local M = {}
--- The context's methods (a step's unit tests give them to a fake context).
M.Ctx = Ctx

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

--- The options of every session a run makes (the long retry mode and its
-- budget): a session made elsewhere (a pre-check's source profile) must
-- not give up after 3 throttled attempts.
-- @param top the resolved config
-- @tparam[opt] string profile
-- @tparam[opt] string region (default the config's)
-- @treturn table options for `aws.session`
function M.session_options(top, profile, region)
  return { profile = profile, region = region or top.region, retry_mode = RETRY_MODE,
           retry_budget = retry_budget(top) }
end

local function session_key(side, spec)
  local role = side == "app" and spec.role_arn or spec.account_role_arn
  return (spec.profile or "") .. "|" .. (role or "") .. "|" .. (spec.external_id or ""), role
end

local function session_for(top, side, spec)
  local key, role = session_key(side, spec)
  local s = session_cache[key]
  if s then return s end
  if spec.profile then
    s = aws.session(M.session_options(top, spec.profile))
  else
    session_cache.base = session_cache.base or aws.session(M.session_options(top, top.base_profile))
    s = session_cache.base:assume_role{ role_arn = role, external_id = spec.external_id,
                                        session_name = "kumo-rds-proxy-share" }
  end
  session_cache[key] = s
  return s
end

--- Build the context of one pair.
-- @param pair the resolved pair (config.resolve_pair)
-- @param top the resolved config
-- @param opts `{ action=, state=, progress=, timeouts=, graph= }` (`graph`: --graph
--   was asked, so the pre-checks read what only the drawing shows)
function M.new(pair, top, opts)
  local self = setmetatable({
    pair = pair, top = top, action = opts.action, state = opts.state,
    progress = opts.progress or function() end,
    timeouts = opts.timeouts or {}, graph = opts.graph,
    ids = {}, facts = {}, actions = {}, notes = {}, clients = {},
  }, Ctx)
  self.sessions = {
    app = session_for(top, "app", pair.app),
    rds = session_for(top, "rds", pair.rds),
  }
  -- the memo's account key: the same access description is the same session
  self.session_keys = {
    app = (session_key("app", pair.app)),
    rds = (session_key("rds", pair.rds)),
  }
  self.memo = M.memo_of(top)
  self:locked()
  return self
end

-- The memo ---------------------------------------------------------------

-- One memo per run: the resolved config every pair of the run shares.
local memos = setmetatable({}, { __mode = "k" })

-- The surveys a mutation makes stale for the pair that made it. An
-- operation not listed makes every survey of its account and service
-- stale (the safe default).
local STALES = {
  RegisterDBProxyTargets = {}, DeregisterDBProxyTargets = {}, ModifyDBProxyTargetGroup = {},
  CreateDBProxy = { "proxies" },      -- its default endpoint is no endpoint kumo looks for
  CreateDBProxyEndpoint = { "proxy-endpoints" }, ModifyDBProxyEndpoint = { "proxy-endpoints" },
  -- an endpoint this run deleted is read on its own (ctx.endpoints_gone)
  DeleteDBProxyEndpoint = {},
  PutRolePolicy = {}, DeleteRolePolicy = {},  -- the roles survey lists roles, not their policies
  AuthorizeSecurityGroupIngress = { "security-group-rules" },
  RevokeSecurityGroupIngress = { "security-group-rules" },
}

--- The memo of the run `top` belongs to (made on first use).
-- @return `{ entries = {}, locks = {}, seq = 0, calls = 0, hits = 0 }`
function M.memo_of(top)
  local m = memos[top]
  if not m then
    m = { entries = {}, locks = {}, seq = 0, calls = 0, hits = 0, surveys = {}, tick = 0 }
    memos[top] = m
  end
  return m
end

-- A deterministic text of a parameter table (keys sorted), for memo keys.
local function canonical(v, out)
  local t = type(v)
  if t == "table" then
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = k end
    table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    out[#out + 1] = "{"
    for _, k in ipairs(keys) do
      out[#out + 1] = tostring(k) .. "="
      canonical(v[k], out)
      out[#out + 1] = ","
    end
    out[#out + 1] = "}"
  else
    out[#out + 1] = t:sub(1, 1) .. string.format("%q", tostring(v))
  end
  return out
end

--- A deterministic text of a value (keys sorted): memo keys here, the
-- pair's fingerprint in rds-proxy.rollout.
-- @param v any value
-- @treturn string
function M.canonical(v)
  return table.concat(canonical(v, {}))
end

-- Every string value in `v` (recursively), into the set `set`.
local function strings_of(v, set)
  local t = type(v)
  if t == "string" then set[v] = true
  elseif t == "table" then
    for _, x in pairs(v) do strings_of(x, set) end
  end
  return set
end

local function deep_copy(v)
  if type(v) ~= "table" then return v end
  local c = {}
  for k, x in pairs(v) do c[k] = deep_copy(x) end
  return setmetatable(c, getmetatable(v))
end

-- An error answer worth remembering: AWS's own "no" (not found, access
-- denied), never throttling, 5xx or a lost connection.
local function lasting_error(err)
  return type(err) == "table" and err.code ~= nil and not errors.is_transient(err)
    and not err.throttling and not err.retries_exhausted
    and (tonumber(err.http_status or err.status) or 400) < 500
end

function Ctx:memo_key(side, service, op, params)
  return table.concat({ self.session_keys[side], self.pair.region or self.top.region or "", service, op,
    table.concat(canonical(params or {}, {})) }, "\0")
end

-- Answer `key` from the memo or by `fetch()` (`value, err`), one fetch at a
-- time per key (a second pair asking the same waits for the first's answer).
function Ctx:memoized(side, service, key, params, fetch)
  local m = self.memo
  local fresh = self.fresh_after
  local e = m.entries[key]
  if e and (not fresh or e.seq > fresh) then
    m.hits = m.hits + 1
    return deep_copy(e.value), deep_copy(e.err)
  end
  local lock = m.locks[key]
  if not lock then
    lock = sched.semaphore(1)
    m.locks[key] = lock
  end
  lock:acquire()
  e = m.entries[key]
  if e and (not fresh or e.seq > fresh) then
    lock:release()
    m.hits = m.hits + 1
    return deep_copy(e.value), deep_copy(e.err)
  end
  local ok, value, err = pcall(fetch)
  lock:release()
  if not ok then error(value, 0) end
  m.calls = m.calls + 1
  if value ~= nil or lasting_error(err) then
    m.seq = m.seq + 1
    local strings = strings_of(value, strings_of(params, strings_of(err and err.message, {})))
    m.entries[key] = { value = deep_copy(value), err = deep_copy(err), seq = m.seq,
                       scope = self.session_keys[side] .. "\0" .. service, strings = strings }
  end
  return value, err
end

-- A mutation in `side`/`service` sent (or got back) `v`: forget every
-- answer of that account and service that names one of its strings.
function Ctx:touched(side, service, v)
  local scope = self.session_keys[side] .. "\0" .. service
  local sent = strings_of(v, {})
  for key, e in pairs(self.memo.entries) do
    if e.scope == scope then
      for s in pairs(sent) do
        if e.strings[s] then
          self.memo.entries[key] = nil
          break
        end
      end
    end
  end
end

--- A fact of the run, worked out once by `fn()` (a table) and shared by every
-- pair: `keep(result)` false (e.g. AWS throttled) leaves it to the next one.
-- Never dropped by mutations: only for what the workflow does not change.
function Ctx:once(key, fn, keep)
  local m = self.memo
  m.facts = m.facts or {}
  if m.facts[key] then m.hits = m.hits + 1 return m.facts[key] end
  local lock = m.locks["once\0" .. key]
  if not lock then
    lock = sched.semaphore(1)
    m.locks["once\0" .. key] = lock
  end
  lock:acquire()
  if m.facts[key] then lock:release() m.hits = m.hits + 1 return m.facts[key] end
  local ok, r = pcall(fn)
  lock:release()
  if not ok then error(r, 0) end
  if not keep or keep(r) then m.facts[key] = r end
  return r
end

-- Does pair `p` (as the config wrote it) still hold a selector? Its IDs
-- are known only once rds-proxy.rollout resolves it, just before it runs.
local function has_selector(p)
  local select = require "rds-proxy.select"
  for _, side in ipairs{ "app", "rds" } do
    for _, v in pairs(type(p[side]) == "table" and p[side] or {}) do
      if select.is_selector(v) then return true end
    end
  end
  return false
end

-- The run's pairs whose `side` account and region are this pair's: this
-- pair as it runs (its selectors resolved), and the others whose IDs the
-- config names outright (a survey reads by ID).
function Ctx:peers(side)
  local region = self.pair.region or self.top.region
  local list = { self.pair }
  for _, p in ipairs(self.top.pairs or {}) do
    if type(p) == "table" and p.name ~= self.pair.name and type(p[side]) == "table"
        and (p.region or self.top.region) == region
        and (session_key(side, p[side])) == self.session_keys[side] and not has_selector(p) then
      list[#list + 1] = p
    end
  end
  return list
end

--- Note that the pair's lock was taken (the engine calls it): only
-- surveys read after this serve the pair.
function Ctx:locked()
  local m = self.memo
  m.tick = m.tick + 1
  self.since = m.tick
end

--- One read for every pair of the run in the `side` account and `service`
-- (`kind` names it), for this pair's part of it.
-- `fetch(peers, reader)` reads for the list of pairs (`Ctx:peers`) through
-- `reader` (this context asking AWS, not the memo) and returns the survey
-- (a table) or nil; one fetch at a time per kind.
-- @return a copy of the survey, or nil when the caller must read for
--   itself: a fresh read (`Ctx:fresh`), a survey this pair's own mutations
--   made stale, or a survey that failed (the caller's own read then
--   reports the error its own way)
function Ctx:survey(side, service, kind, fetch)
  if self.fresh_after then return nil end
  local m = self.memo
  local key = table.concat({ "survey", self.session_keys[side], self.pair.region or self.top.region or "", kind }, "\0")
  local s = m.surveys[key]
  local stale = self.staled and (self.staled[side .. "\0" .. kind] or self.staled[side .. "\0" .. service .. "\0*"])
  if stale and (not s or s.tick < stale) then return nil end
  local lock = m.locks[key]
  if not lock then
    lock = sched.semaphore(1)
    m.locks[key] = lock
  end
  lock:acquire()
  s = m.surveys[key]
  if not (s and s.tick > (self.since or 0)) then
    -- a survey counts from when its read began: what changed before is in it
    m.tick = m.tick + 1
    local started = m.tick
    -- asked of AWS: an answer the memo kept from before is no survey. A
    -- reader of its own, since the pair's other tasks (concurrent
    -- pre-checks) share this context and must not read fresh meanwhile
    local reader = setmetatable({ fresh_after = m.seq }, { __index = self })
    local ok, value = pcall(fetch, self:peers(side), reader)
    if not ok then
      lock:release()
      error(value, 0)
    end
    if value == nil then
      lock:release()
      return nil
    end
    m.calls = m.calls + 1
    s = { value = value, tick = started }
    m.surveys[key] = s
  else
    m.hits = m.hits + 1
  end
  lock:release()
  if stale and s.tick < stale then return nil end
  return deep_copy(s.value)
end

-- This pair's mutation `op` in `side`/`service`: the surveys it changes
-- serve the pair no more (see STALES).
function Ctx:stale(side, service, op)
  local m = self.memo
  m.tick = m.tick + 1
  self.staled = self.staled or {}
  local kinds = STALES[op]
  if not kinds then
    self.staled[side .. "\0" .. service .. "\0*"] = m.tick
    return
  end
  for _, k in ipairs(kinds) do self.staled[side .. "\0" .. k] = m.tick end
end

--- The survey of `kind` in the `side` account as it stands, when it was
-- read after this pair took its lock (nil otherwise); takes no look.
function Ctx:survey_value(side, kind)
  local key = table.concat({ "survey", self.session_keys[side], self.pair.region or self.top.region or "", kind }, "\0")
  local s = self.memo.surveys[key]
  local stale = self.staled and self.staled[side .. "\0" .. kind]
  if s and s.tick > (self.since or 0) and not (stale and s.tick < stale) then return s.value end
end

--- Run `fn()` with reads that ask AWS again: no answer remembered before
-- this call serves them (the proof of a mutation: a read-back, an
-- adoption). Answers fetched inside are remembered as usual.
-- @return what `fn` returns
function Ctx:fresh(fn, ...)
  local prev = self.fresh_after
  self.fresh_after = self.memo.seq
  local r = table.pack(pcall(fn, ...))
  self.fresh_after = prev
  if not r[1] then error(r[2], 0) end
  return table.unpack(r, 2, r.n)
end

--- The account `side`'s session acts in, when its access description says
-- it without a call: a session that assumes a role (the pair's role ARN,
-- or its profile's `role_arn`) holds that role's credentials, so it acts
-- in the account the ARN names (GetCallerIdentity would answer the same).
-- @return the 12-digit account id, or nil (ask sts:GetCallerIdentity)
function Ctx:known_account(side)
  local _, role = session_key(side, self.pair[side] or {})
  if not role then
    local s = self.sessions[side]
    local ok, prof = pcall(function() return s.profile and s:profile_settings() end)
    role = ok and type(prof) == "table" and prof.role_arn or nil
  end
  return type(role) == "string" and role:match("^arn:aws[%w-]*:iam::(%d%d%d%d%d%d%d%d%d%d%d%d):role/") or nil
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
-- Answered from the run's memo when the same read was made since the last
-- mutation that names it (see the module comment); `opts.fresh` asks AWS
-- (polls, reads that prove a change).
function Ctx:read(side, service, op, params, opts)
  self:check()
  params = params or {}
  local function fetch() return self:client(side, service):try(op, params) end
  if opts and opts.fresh then
    return self:fresh(self.memoized, self, side, service, self:memo_key(side, service, op, params), params, fetch)
  end
  return self:memoized(side, service, self:memo_key(side, service, op, params), params, fetch)
end

--- Every page of a read-only call, as a list of outputs (memoized as `read`).
function Ctx:read_all(side, service, op, params, opts)
  self:check()
  params = params or {}
  local function fetch()
    local pages = {}
    for page in self:client(side, service):paginate(op, params) do
      pages[#pages + 1] = page
    end
    return pages
  end
  local key = self:memo_key(side, service, op .. "#all", params)
  if opts and opts.fresh then return (self:fresh(self.memoized, self, side, service, key, params, fetch)) end
  return (self:memoized(side, service, key, params, fetch))
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
--
-- `opts.pending = { codes }`: answers that mean "not yet" (a group still in
-- use): returned as `nil, code` without recording an action, for the
-- caller to call again.
--
-- Every answer remembered of this account and service that names one of
-- the strings sent or answered is forgotten (before and after the call:
-- a concurrent read must not keep the old state either).
-- @return out, or nil and the error code when it matched `ok_codes` or
--   `opts.pending`, or nil, "adopt"
function Ctx:mutate(side, service, op, params, ok_codes, opts)
  if self.action == "plan" or self.action == "verify" then
    error("internal: " .. op .. " attempted during " .. self.action, 0)
  end
  self:check()
  self:touched(side, service, params)
  self:stale(side, service, op)
  local out, err = self:client(side, service):try(op, params)
  self:stale(side, service, op)  -- a survey begun while it ran may not show it
  self:touched(side, service, params)
  if out then self:touched(side, service, out) end
  for _, code in ipairs(opts and opts.pending or {}) do
    if err and err.code == code then return nil, code end
  end
  if out then
    self.actions[#self.actions + 1] = { account = side, call = service .. ":" .. op }
    return out
  end
  -- a create made without a read first (the engine's `create_first`):
  -- "already exists" sends the step the usual way, read first
  for _, code in ipairs(self.create_first or {}) do
    if err.code == code then
      self.create_first = nil
      error({ create_first_exists = true, code = code }, 0)
    end
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
        -- the read that follows proves what is there: not from the memo
        self.fresh_after = self.memo.seq
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

--- A changing call AWS refuses while the resource is in a passing state
-- (`o.busy`; RDS: InvalidDBProxyStateFault, "The requested operation can't
-- be performed while the proxy is in this state."). Met when the call was
-- resent after its answer was lost (the first one acted: the proxy is
-- `modifying` or `deleting`), or while another change is under way.
-- A delete (`o.read` given) reads the resource again: deleting or gone is
-- the delete under way. Otherwise the resource is waited for (`o.wait`)
-- and the call made again (an update resent sets the same values), three
-- times at most.
-- @param o `{ side=, service=, op=, params=, ok = {codes}, busy = code,
--   read = { op=, params=, list= } (deletes), wait = { name=, params=, timeout= },
--   what=, cli= }`
-- @return what `mutate` returns
function Ctx:when_ready(o)
  for _ = 1, 3 do
    local out, code = self:mutate(o.side, o.service, o.op, o.params, o.ok, { pending = { o.busy } })
    if code ~= o.busy then return out, code end
    local status = "busy"
    if o.read then
      local got, err = self:fresh(self.read, self, o.side, o.service, o.read.op, o.read.params)
      if not got then
        for _, c in ipairs(o.ok or {}) do
          if err.code == c then return nil, c end
        end
        error(err, 0)
      end
      status = got[o.read.list][1] and got[o.read.list][1].Status
      if status == nil or status == "deleting" then return nil, o.busy end
    end
    self.progress(self.pair.name, "waiting for " .. o.what .. " (" .. status .. ") before " .. o.op)
    self:wait(o.side, o.service, o.wait.name, o.wait.params, o.wait.timeout)
  end
  error(string.format("%s: %s kept answering %s; see its status (%s) and rerun %s",
    o.what, o.op, o.busy, o.cli, tostring(self.action)), 0)
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
  self.fresh_after = nil
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

-- Waits for what AWS takes minutes to do (a proxy, an endpoint, a target
-- coming up or going away): polled at once, the first answer is always
-- "not yet", so the first poll comes one waiter delay later. Only with the
-- waiter's own delay: where KUMO_WAITER_DELAY sets the pace (the sandbox,
-- tests) polling starts at once as before.
local SLOW = { DBProxyAvailable = true, DBProxyEndpointAvailable = true, DBProxyTargetsAvailable = true,
               DBProxyDeleted = true, DBProxyEndpointDeleted = true }

--- The seconds to wait before the first poll of waiter `name` (0: poll at once).
function M.first_poll_delay(client, name)
  local waiter = require "kumo.waiter"
  if not SLOW[name] or waiter.defaults.delay ~= nil then return 0 end
  local def = waiter.get(client, name)
  return def and def.delay or 0
end

--- Wait with a named waiter (official or kumo's own) in the `side` account.
function Ctx:wait(side, service, name, params, timeout)
  -- the waiter reports each poll to the scheduler's progress display
  self.progress(self.pair.name, "waiting: " .. name)
  self:check()
  local first = M.first_poll_delay(self:client(side, service), name)
  if first > 0 then self:sleep(first) end
  local client = self:client(side, service)
  local ok, out = pcall(client.wait, client, name, params, {
    timeout = timeout or self.timeouts.wait or 1800,
    sleep = interruptible_sleep(self),
  })
  if ok then return out end
  -- a timeout names the config key that set it, so the user knows what to raise
  if type(out) == "table" and out.code == "WaiterTimeout" and not out.throttled and not out.unavailable then
    local key = "wait"
    for _, k in ipairs{ "proxy", "endpoint", "target", "delete" } do
      if timeout ~= nil and self.timeouts[k] == timeout then key = k break end
    end
    local set = self.timeouts[key]
    out.message = string.format("%s (timeouts.%s = %s s%s; raise it in the config if AWS is just slow)",
      tostring(out.message), key, tostring(set or timeout or 1800), set and "" or ", the default")
  end
  error(out, 0)
end

-- Background work ---------------------------------------------------------

--- Run `fn()` beside the next steps: the part of the current step's create
-- that no step after it needs until later (a wait for a share's
-- associations, a target's health). The engine finishes it (`M.settle`)
-- before a step that `needs` this one, and before the run ends, so the
-- run waits for everything it waited for before, only not one thing
-- after the other. Outside a scheduler task `fn` runs at once.
-- @param fn the work; its error fails the step when settled
function Ctx:later(fn)
  local name = self.step_name
  if not sched.current() then return fn() end
  local t = sched.spawn(fn, { name = self.pair.name .. " " .. tostring(name), quiet = true, hidden = true })
  self.pending = self.pending or {}
  self.pending[#self.pending + 1] = { step = name, task = t }
end

--- `Ctx:later` as a function of the module (a context made elsewhere: tests).
M.later = Ctx.later

--- Finish the background work of step `name` (of every step when nil), in
-- the order it began; the first failure is raised as that step's. A
-- function of the module, so the engine can call it on any context.
-- @param self the context
-- @param[opt] name a step name
function M.settle(self, name)
  local rest = {}
  local list = self.pending or {}
  self.pending = rest
  local failed
  for _, p in ipairs(list) do
    if failed or (name ~= nil and p.step ~= name) then
      rest[#rest + 1] = p
    else
      local ok, err = pcall(p.task.wait, p.task)
      if not ok then failed = { step = p.step, err = err } end
    end
  end
  if failed then
    self.step_name = failed.step
    error(failed.err, 0)
  end
end

--- Cancel the background work still running (the run failed).
-- @param self the context
function M.abandon(self)
  local list = self.pending or {}
  self.pending = nil
  for _, p in ipairs(list) do
    if not p.task:done() then p.task:cancel() end
  end
  for _, p in ipairs(list) do pcall(p.task.wait, p.task) end
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
