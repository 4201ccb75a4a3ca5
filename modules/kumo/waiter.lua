--- kumo.waiter: poll an AWS operation until a resource reaches a state.
--
-- The engine follows botocore's `waiters-2.json` semantics exactly:
--
-- * a definition is `{ operation, delay, maxAttempts, acceptors }`; each
--   acceptor is `{ state = "success"|"failure"|"retry", matcher, argument?, expected }`;
-- * matchers: `path` (JMESPath `argument` on the output equals `expected`;
--   never matches an error response), `pathAll` (a non-empty list whose
--   elements all equal `expected`), `pathAny` (a non-empty list with at least
--   one element equal to `expected`), `status` (the HTTP status code, for
--   outputs and errors), `error` (`true`: any error, `false`: no error, a
--   string: that error code);
-- * acceptors are tried in order and the first match decides; no match means
--   retry, except that an error response no acceptor matches fails at once;
-- * `delay` seconds between polls, at most `maxAttempts` polls.
--
-- Alternatively a time budget (Smithy semantics, as in the Go/JS/Rust SDKs):
-- `opts.timeout` seconds, the first poll at once, then a random delay in
-- `[min_delay, min(max_delay, min_delay * 2^(attempt-1))]`, never sleeping
-- past the deadline (the last sleep is cut to end `min_delay` before it).
--
-- kumo's extensions to the acceptor format (see docs/waiters.md):
--
-- * `persist = seconds` (and `persistPolls = n`, default 2): the acceptor only
--   takes effect once it has matched on every poll for that long (used for
--   RDS Proxy targets: UNAVAILABLE right after registration is normal; the
--   same failure reason persisting is not);
-- * `hint = "text"` or `hint = function(ctx) return "text" end`: what to do,
--   added to the failure message;
-- * per waiter: `observe = "JMESPath"` (what "the last state seen" shows;
--   default: the first path acceptor's argument), `paginate = true` (read
--   every page and join the lists before matching), `description`;
-- * `inputOutput = true` on a path acceptor: the argument is evaluated
--   against `{ input = params, output = output }` (Smithy's inputOutput).
--
-- Each poll is one client call, so it signs with the credentials the
-- client's provider hands out at that moment: a wait outlives the session
-- lifetime because the provider refreshes between polls. Sleeping goes
-- through `kumo.sched.sleep`, which yields inside a task.
--
-- A poll whose call failed for AWS's own reasons after the client's retries
-- (`errors.is_transient`: throttling, 5xx, no answer) ends nothing unless an
-- acceptor names that error's code or status: the waiter counts it, shows it
-- in progress (`creating (3 polls throttled)`) and polls again until its own
-- budget (`timeout`, or the attempts) runs out. Such polls count as polls,
-- leave persist streaks as they were, and never make an "unexpected error".
-- A WaiterTimeout whose polls never got a real answer has `throttled` or
-- `unavailable` set, so `errors.is_transient` is true for it.
--
-- Failures raise a `kumo.errors` object with `kind = "waiter"` and
-- `code` `WaiterFailure` (a failure acceptor matched), `WaiterTimeout` (time
-- or attempts ran out) or `WaiterUnexpectedError` (an error no acceptor
-- matched); fields `waiter`, `acceptor`, `last_state`, `last_output`,
-- `last_error`, `polls`, `elapsed`, `hint`, `throttled_polls`, `unavailable_polls`.
-- @module kumo.waiter

local jmespath = require "kumo.jmespath"
local errors = require "kumo.errors"
local settings = require "kumo.wait.settings"
local judge = require "kumo.wait.judge"
local wait_decide = require "kumo.wait.decide"

local waiter = {}

--- Process-wide defaults. `defaults.delay` (seconds) replaces every
-- definition's delay, in both modes, unless a call passes its own `delay`:
-- for sandboxes and demos, where resources change in a second, not minutes.
-- Set from the environment variable `KUMO_WAITER_DELAY` at load time.
waiter.defaults = { delay = nil }
do
  local env = os.getenv("KUMO_WAITER_DELAY")
  local d = env and tonumber(env)
  if env and env ~= "" and (not d or d < 0) then
    io.stderr:write("kumo: warning: KUMO_WAITER_DELAY must be seconds >= 0, ignoring '", env, "'\n")
  elseif d then
    waiter.defaults.delay = d
  end
end

local MATCHERS = { path = true, pathAll = true, pathAny = true, status = true, error = true }
local STATES = { success = true, failure = true, retry = true }

----------------------------------------------------------------------------
-- Definitions

local function def_error(where, msg)
  errors.raise({ kind = "usage", code = "InvalidWaiterDefinition",
                 message = "waiter " .. where .. ": " .. msg })
end

--- Check a waiter definition and compile its JMESPath arguments.
-- Raises a usage error naming the field and the fix. Idempotent: a checked
-- definition is marked and returned as is.
-- @tparam table def the definition (waiters-2 format plus kumo's extensions)
-- @tparam[opt] string name the waiter's name, for messages
-- @treturn table def
function waiter.check(def, name)
  name = name or (type(def) == "table" and def.name) or "(inline)"
  if type(def) ~= "table" then def_error(name, "the definition must be a table") end
  if def._checked then return def end
  if type(def.operation) ~= "string" or def.operation == "" then
    def_error(name, "'operation' must be the operation name, e.g. \"DescribeDBProxies\"")
  end
  if type(def.delay) ~= "number" or def.delay < 0 then
    def_error(name, "'delay' must be the seconds between polls (a number >= 0)")
  end
  if math.type(def.maxAttempts) ~= "integer" and not (type(def.maxAttempts) == "number"
      and def.maxAttempts == math.floor(def.maxAttempts)) or def.maxAttempts < 1 then
    def_error(name, "'maxAttempts' must be a whole number >= 1")
  end
  if type(def.acceptors) ~= "table" or #def.acceptors == 0 then
    def_error(name, "'acceptors' must be a non-empty list of {state, matcher, argument, expected}")
  end
  for i, a in ipairs(def.acceptors) do
    local where = string.format("%s acceptor %d", name, i)
    if not MATCHERS[a.matcher] then
      def_error(where, "'matcher' must be one of path, pathAll, pathAny, status, error (got "
        .. tostring(a.matcher) .. ")")
    end
    if not STATES[a.state] then
      def_error(where, "'state' must be success, failure or retry (got " .. tostring(a.state) .. ")")
    end
    if a.expected == nil then def_error(where, "'expected' is missing") end
    if a.matcher:match("^path") then
      if type(a.argument) ~= "string" then
        def_error(where, "'argument' must be a JMESPath expression for matcher " .. a.matcher)
      end
      local ok, c = pcall(jmespath.compile, a.argument)
      if not ok then def_error(where, "bad 'argument': " .. tostring(c)) end
      a._path = c
    elseif a.matcher == "status" and not math.tointeger(a.expected) then
      def_error(where, "'expected' must be an HTTP status code for matcher status")
    elseif a.matcher == "error" and type(a.expected) ~= "string" and type(a.expected) ~= "boolean" then
      def_error(where, "'expected' must be an error code or true/false for matcher error")
    end
    if a.persist ~= nil and (type(a.persist) ~= "number" or a.persist < 0) then
      def_error(where, "'persist' must be seconds (a number >= 0)")
    end
    if a.persistPolls ~= nil and (math.type(a.persistPolls) ~= "integer" or a.persistPolls < 1) then
      def_error(where, "'persistPolls' must be a whole number >= 1")
    end
    if a.hint ~= nil and type(a.hint) ~= "string" and type(a.hint) ~= "function" then
      def_error(where, "'hint' must be a string or a function(ctx)")
    end
  end
  if def.observe ~= nil then
    local ok, c = pcall(jmespath.compile, def.observe)
    if not ok then def_error(name, "bad 'observe': " .. tostring(c)) end
    def._observe = c
  else
    for _, a in ipairs(def.acceptors) do
      if a._path then def._observe = a._path break end
    end
  end
  def.name = def.name or name
  def._checked = true
  return def
end

-- kumo's own waiters: modules/kumo/waiters/<service>.lua, loaded once.
local own_cache = {}
-- Waiters registered at run time by scripts: registered[service][name].
local registered = {}

local function load_own(service)
  local c = own_cache[service]
  if c ~= nil then return c or nil end
  local path = package.searchpath("kumo.waiters." .. service, package.path)
  if not path then own_cache[service] = false; return nil end
  -- Definitions are data, but hints are functions that may use the standard
  -- library; they get a fresh environment reading through to the globals.
  local chunk, err = loadfile(path, "t", setmetatable({}, { __index = _G }))
  if not chunk then def_error(service, "cannot load " .. path .. ": " .. err) end
  local ok, t = pcall(chunk)
  if not ok or type(t) ~= "table" or type(t.waiters) ~= "table" then
    def_error(service, path .. " must return { version = 2, waiters = { Name = {...} } }"
      .. (ok and "" or (": " .. tostring(t))))
  end
  own_cache[service] = t.waiters
  return t.waiters
end

local model_cache = {}
-- Checked definitions by "service\0name".
local def_cache = {}

-- The waiters of the shipped model of `service` (botocore's data).
local function load_model_waiters(client, service)
  local m = type(client) == "table" and rawget(client, "model")
  if type(m) == "function" then m = m(client) end
  if type(m) == "table" and type(m.waiters) == "table" then return m.waiters end
  if model_cache[service] ~= nil then return model_cache[service] or nil end
  -- model.load raises for a service kumo has no model of: that is "no waiters"
  local load = require("kumo.model").load
  local ok, svc = pcall(load, service)
  if ok and type(svc) == "table" and type(svc.waiters) == "table" then
    model_cache[service] = svc.waiters
    return svc.waiters
  end
  model_cache[service] = false
  return nil
end

local function service_of(client)
  if type(client) == "string" then return client end
  if type(client) ~= "table" then return nil end
  for _, k in ipairs({ "service_name", "service" }) do
    local v = client[k]
    if type(v) == "string" then return v end
  end
  local m = client.model
  if type(m) == "table" and type(m.metadata) == "table" then
    return m.metadata.kumoName or m.metadata.endpointPrefix
  end
  return nil
end

local function copy_def(d)
  local c = {}
  for k, v in pairs(d) do c[k] = v end
  local acc = {}
  for i, a in ipairs(d.acceptors or {}) do
    local ac = {}
    for k, v in pairs(a) do ac[k] = v end
    acc[i] = ac
  end
  c.acceptors = acc
  return c
end

--- Register a waiter for a service at run time (overrides same-named ones).
-- @tparam string service e.g. "rds"
-- @tparam string name e.g. "MyThingAvailable"
-- @tparam table def the definition
function waiter.register(service, name, def)
  local d = waiter.check(copy_def(def), name)
  d.name = name
  d.service = service
  registered[service] = registered[service] or {}
  registered[service][name] = d
end

--- Find a waiter definition by name.
-- Order: waiters registered at run time, kumo's own (`kumo/waiters/<service>.lua`),
-- then the shipped model's.
-- @param client a client (or a service name)
-- @tparam string name the waiter name
-- @treturn table the checked definition, or nil and a message listing the known names
function waiter.get(client, name)
  local service = service_of(client)
  if not service then
    return nil, "cannot tell the client's service (expected client.service_name)"
  end
  local r = registered[service] and registered[service][name]
  if r then return r end
  local cache_key = service .. "\0" .. name
  local cached = def_cache[cache_key]
  if cached then return cached end
  local own = load_own(service)
  local src = own and own[name]
  local origin = "kumo"
  if not src then
    local mw = load_model_waiters(client, service)
    src = mw and mw[name]
    origin = "model"
  end
  if not src then
    return nil, string.format("%s has no waiter %q (known: %s)", service, name,
      table.concat(waiter.list(client), ", "))
  end
  local d = waiter.check(copy_def(src), name)
  d.name, d.service, d.origin = name, service, origin
  def_cache[cache_key] = d
  return d
end

--- Names of every waiter available for a client's service, sorted.
-- @param client a client (or a service name)
-- @treturn table list of names
function waiter.list(client)
  local service = service_of(client)
  local seen, names = {}, {}
  local function add(t)
    for k in pairs(t or {}) do
      if not seen[k] then seen[k] = true; names[#names + 1] = k end
    end
  end
  if service then
    add(registered[service])
    add(load_own(service))
    add(load_model_waiters(client, service))
  end
  table.sort(names)
  return names
end

----------------------------------------------------------------------------
-- Matching

local is_list, matches = judge.is_list, judge.matches
waiter._matches = matches

local function describe_acceptor(i, a)
  local what
  if a.matcher == "error" then
    if a.expected == true then what = "any error"
    elseif a.expected == false then what = "no error"
    else what = "error " .. a.expected end
  elseif a.matcher == "status" then
    what = "HTTP status " .. a.expected
  else
    what = string.format("%s %s == %s", a.matcher, a.argument, jmespath.to_json(a.expected))
  end
  return string.format("acceptor %d (%s -> %s)", i, what, a.state)
end
waiter.describe_acceptor = describe_acceptor

local function fmt_duration(s)
  s = math.floor(s + 0.5)
  if s < 60 then return s .. "s" end
  if s < 3600 then return string.format("%dm%02ds", s // 60, s % 60) end
  return string.format("%dh%02dm", s // 3600, (s % 3600) // 60)
end
waiter.format_duration = fmt_duration

-- A copy of `v` without null object members (shorter state lines).
local function drop_nulls(v, depth)
  if type(v) ~= "table" or depth > 8 then return v end
  local kind = jmespath.type(v)
  if kind == "array" then
    local r = jmespath.array({})
    for i = 1, #v do r[i] = drop_nulls(v[i], depth + 1) end
    return r
  elseif kind == "object" then
    local r = {}
    for k, x in pairs(v) do
      if x ~= jmespath.null then r[k] = drop_nulls(x, depth + 1) end
    end
    return r
  end
  return v
end

-- "The last state seen" as one short line.
local function observe(def, out, err)
  if err then
    return tostring(err.code or err.kind) .. (err.message and (": " .. err.message) or "")
  end
  if def._observe then
    local ok, v = pcall(def._observe.search, def._observe, out)
    if ok then
      local s = jmespath.to_json(drop_nulls(v, 0))
      if #s > 400 then s = s:sub(1, 397) .. "..." end
      return s
    end
  end
  return "(output received)"
end

----------------------------------------------------------------------------
-- Delays

--- Smithy's waiter delay (see `kumo.wait.decide.smithy_delay`).
waiter.smithy_delay = wait_decide.smithy_delay

----------------------------------------------------------------------------
-- The loop

-- Read every page of the operation and join the list members.
local function call_paginated(client, op, params)
  local merged
  local ok, err = pcall(function()
    for page in client:paginate(op, params) do
      if not merged then
        merged = {}
        for k, v in pairs(page) do merged[k] = v end
      else
        for k, v in pairs(page) do
          local m = merged[k]
          if is_list(v) and is_list(m) then
            for i = 1, #v do m[#m + 1] = v[i] end
          end
        end
      end
    end
  end)
  if not ok then
    if errors.is(err) then return nil, err end
    error(err, 0)
  end
  return merged or jmespath.array({})
end

local function poll(client, def, params)
  if def.paginate and type(client.paginate) == "function" then
    return call_paginated(client, def.operation, params)
  end
  return client:try(def.operation, params)
end

local function resolve_hint(a, ctx)
  local h = a and a.hint
  if type(h) == "function" then
    local ok, s = pcall(h, ctx)
    if ok and type(s) == "string" then return s end
    return nil
  end
  return h
end

-- A short form of the observed state for progress lines: a list of
-- strings as "a,b", anything else as its JSON.
local function short_state(def, out, err)
  if err then return tostring(err.code or err.kind) end
  if not def._observe then return nil end
  local ok, v = pcall(def._observe.search, def._observe, out)
  if not ok then return nil end
  if type(v) == "table" and jmespath.type(v) == "array" then
    local parts = {}
    for i = 1, #v do
      if type(v[i]) ~= "string" then parts = nil break end
      parts[i] = v[i]
    end
    if parts then return #parts > 0 and table.concat(parts, ",") or "(none)" end
  end
  local s = jmespath.to_json(v)
  if #s > 120 then s = s:sub(1, 117) .. "..." end
  return s
end

-- Tell kumo.sched's progress display about this poll (when it is loaded).
-- `suffix`: the transient polls so far, e.g. " (3 polls throttled)".
local function report_poll(wname, state, suffix)
  local sched = package.loaded["kumo.sched"]
  if type(sched) == "table" and type(sched.poll) == "function" then
    if suffix ~= "" then state = (state or "waiting") .. suffix end
    pcall(sched.poll, wname, state)
  end
end

-- " (3 polls throttled, 1 unavailable)" or "".
local function transient_text(throttled, unavailable)
  local parts = {}
  if throttled > 0 then
    parts[1] = throttled .. (throttled == 1 and " poll throttled" or " polls throttled")
  end
  if unavailable > 0 then
    parts[#parts + 1] = unavailable .. (#parts == 0 and (unavailable == 1 and " poll" or " polls") or "")
      .. " unavailable"
  end
  if #parts == 0 then return "" end
  return " (" .. table.concat(parts, ", ") .. ")"
end

local function fail(fields)
  fields.kind = "waiter"
  errors.raise(fields)
end

--- Wait until a waiter succeeds.
-- @param client a kumo client (`client:try(op, params)`, `client.service_name`)
-- @param name a waiter name (see `waiter.get`) or an inline definition table
-- @tparam[opt] table params the operation's parameters
-- @tparam[opt] table opts
--   `delay`, `max_attempts`: override the definition (botocore mode);
--   `timeout`: a time budget in seconds (Smithy mode) with `min_delay`
--   (default: the definition's delay) and `max_delay` (default 120);
--   `persist`: override every acceptor's `persist` seconds;
--   `on_poll(state)`: called after every poll with `{ waiter, service,
--   operation, attempt, elapsed, state ("retry"|"success"|"failure"),
--   acceptor, observed, error, pending, next_delay, transient (this poll
--   failed for AWS's reasons), throttled_polls, unavailable_polls }`;
--   `now`, `sleep`, `random`: clock, sleep and jitter hooks (tests).
-- @return the last output on success; raises a waiter error otherwise
-- The waiter failure of a failure acceptor that matched.
local function failed(w, v, attempt, t, out, err, observed)
  local matched, mi = v.matched, v.index
  local hint = resolve_hint(matched, w.hint_ctx(out, err, observed))
  local persisted = ""
  if matched.persist then
    persisted = string.format(", persisting %s over %d polls",
      fmt_duration(t - w.streaks[mi].since), w.streaks[mi].polls)
  end
  fail({ code = "WaiterFailure", service = w.service, operation = w.name, waiter = w.name,
    acceptor = mi, polls = attempt, elapsed = t - w.start, last_state = observed,
    last_output = out, last_error = err, hint = hint,
    message = string.format("%s failed on poll %d after %s: %s matched%s; last state: %s%s",
      w.name, attempt, fmt_duration(t - w.start), describe_acceptor(mi, matched), persisted,
      observed, hint and ((observed:match("%.$") and " " or ". ") .. hint) or "") })
end

-- The WaiterTimeout once time or attempts ran out (`out_of` says which).
local function timed_out(w, v, attempt, t, out, err, observed, out_of)
  local def = w.def
  local extra = ""
  local pending = v.pending
  if pending then
    local a = def.acceptors[pending.acceptor]
    extra = string.format("; %s has matched for %s (fails after %s)",
      describe_acceptor(pending.acceptor, a), fmt_duration(t - pending.since),
      fmt_duration(pending.persist))
    local hint = resolve_hint(a, w.hint_ctx(out, err, observed))
    if hint then extra = extra .. ". " .. hint end
  elseif w.last_retry_acceptor then
    extra = "; previously matched " ..
      describe_acceptor(w.last_retry_acceptor, def.acceptors[w.last_retry_acceptor])
  end
  local tt = transient_text(w.n_throttled, w.n_unavailable)
  if tt ~= "" then
    extra = extra .. "; " .. tt:sub(3, -2) .. " (AWS's doing, not the resource's)"
    if v.transient then extra = extra .. "; last poll: " .. tostring(err) end
  end
  -- no poll ever got a real answer: AWS was the problem (errors.is_transient)
  local never = w.n_answered == 0
  local last = w.last_observed or observed
  fail({ code = "WaiterTimeout", service = w.service, operation = w.name, waiter = w.name,
    polls = attempt, elapsed = t - w.start, last_state = last,
    last_output = out, last_error = v.transient and err or nil,
    throttled_polls = w.n_throttled, unavailable_polls = w.n_unavailable,
    throttled = never and w.n_throttled > 0 or nil,
    unavailable = never and w.n_throttled == 0 or nil,
    message = string.format("%s gave up: %s after %d polls in %s; last state: %s%s",
      w.name, out_of, attempt, fmt_duration(t - w.start), last, extra) })
end

-- One poll: the call, with what must never be judged by acceptors raised.
local function poll_once(w, attempt, params)
  local out, err = poll(w.client, w.def, params)
  if err ~= nil and not errors.is(err) then
    -- client:try returns kumo errors; anything else is a bug worth seeing
    error(err, 0)
  end
  if err and err.kind == "cancelled" then
    -- the task was cancelled (or hit its deadline) during the call
    error(err, 0)
  end
  if err and err.kind ~= "service" and not judge.transient(w.def, err, out, params) then
    -- Not an AWS answer (validation, credentials...): acceptors only judge
    -- AWS responses.
    fail({ code = "WaiterUnexpectedError", service = w.service, operation = w.name,
      waiter = w.name, polls = attempt, elapsed = w.st.now() - w.start, last_error = err,
      message = string.format("%s stopped on poll %d: %s", w.name, attempt, tostring(err)) })
  end
  return out, err
end

--- Wait until a waiter succeeds.
-- The stages: settings (kumo.wait.settings, once) → for each poll: the
-- call → judge (kumo.wait.judge: acceptors, persist streaks, transient
-- polls) → the outcome → retry decision (kumo.wait.decide: sleep, or give up).
-- @param client a kumo client (`client:try(op, params)`, `client.service_name`)
-- @param name a waiter name (see `waiter.get`) or an inline definition table
-- @tparam[opt] table params the operation's parameters
-- @tparam[opt] table opts
--   `delay`, `max_attempts`: override the definition (botocore mode);
--   `timeout`: a time budget in seconds (Smithy mode) with `min_delay`
--   (default: the definition's delay) and `max_delay` (default 120);
--   `persist`: override every acceptor's `persist` seconds;
--   `on_poll(state)`: called after every poll with `{ waiter, service,
--   operation, attempt, elapsed, state ("retry"|"success"|"failure"),
--   acceptor, observed, error, pending, next_delay, transient (this poll
--   failed for AWS's reasons), throttled_polls, unavailable_polls }`;
--   `now`, `sleep`, `random`: clock, sleep and jitter hooks (tests).
-- @return the last output on success; raises a waiter error otherwise
function waiter.wait(client, name, params, opts)
  opts = opts or {}
  params = params or {}
  settings.check_opts(opts)
  local def
  if type(name) == "table" then
    def = waiter.check(name)
  else
    local err
    def, err = waiter.get(client, name)
    if not def then errors.raise({ kind = "usage", code = "UnknownWaiter", message = err }) end
  end
  local st = settings.new(def, opts, waiter.defaults.delay)
  local start = st.now()
  -- the wait's running state; the polls AWS did not really answer (after
  -- the client's own retries) are counted apart
  local w = { client = client, def = def, st = st, service = service_of(client),
    name = def.name or tostring(name), start = start, streaks = {},
    n_throttled = 0, n_unavailable = 0, n_answered = 0 }
  function w.hint_ctx(out, err, observed)
    return { output = out, error = err, params = params, client = client,
             observed = observed, waiter = w.name }
  end
  local deadline = st.budget and start + st.budget
  local on_poll = opts.on_poll
  local attempt = 0

  while true do
    attempt = attempt + 1
    local out, err = poll_once(w, attempt, params)
    local t = st.now()
    local v = judge.poll(def, w.streaks, out, err, params, t, st.persist)
    if v.transient then
      if err.throttling or err.throttled then w.n_throttled = w.n_throttled + 1
      else w.n_unavailable = w.n_unavailable + 1 end
    else
      w.n_answered = w.n_answered + 1
      w.last_short = short_state(def, out, err)
    end
    report_poll(w.name, w.last_short, transient_text(w.n_throttled, w.n_unavailable))

    local observed = observe(def, out, err)
    if not v.transient then w.last_observed = observed end
    local info = { waiter = w.name, service = w.service, operation = def.operation,
      attempt = attempt, elapsed = t - start, state = v.state, acceptor = v.index,
      observed = observed, error = err, pending = v.pending, transient = v.transient,
      throttled_polls = w.n_throttled, unavailable_polls = w.n_unavailable }

    if v.state == "success" then
      if on_poll then on_poll(info) end
      return out
    elseif v.state == "failure" then
      if on_poll then on_poll(info) end
      failed(w, v, attempt, t, out, err, observed)
    elseif err and not v.matched and not v.pending and not v.transient then
      -- (an error a persisting acceptor is watching is not unexpected)
      if on_poll then on_poll(info) end
      fail({ code = "WaiterUnexpectedError", service = w.service, operation = w.name, waiter = w.name,
        polls = attempt, elapsed = t - start, last_state = observed, last_error = err,
        message = string.format("%s failed on poll %d: %s returned an error no acceptor expects: %s",
          w.name, attempt, def.operation, tostring(err)) })
    end
    if v.matched then w.last_retry_acceptor = v.index end

    local sleep_for, out_of = wait_decide.next(st, attempt, t, deadline, fmt_duration)
    info.next_delay = sleep_for
    if on_poll then on_poll(info) end
    if out_of then timed_out(w, v, attempt, t, out, err, observed, out_of) end
    if sleep_for > 0 then st.sleep(sleep_for) end
  end
end

--- Like `wait`, but returns `nil, err` instead of raising a kumo error.
-- @return output, or nil and the error
function waiter.try_wait(client, name, params, opts)
  local ok, r = pcall(waiter.wait, client, name, params, opts)
  if ok then return r end
  if errors.is(r) then return nil, r end
  error(r, 0)
end

return waiter
