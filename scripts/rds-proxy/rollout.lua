--- Rolling one action out over many pairs, as CloudFormation StackSets
-- do over accounts: pairs generated from the organization, selectors
-- resolved per pair, waves (`--max-concurrent`, `--failure-tolerance`,
-- `--canary`, `--order`), shards (`--shard I/N`) and a rollout record so a
-- rerun goes on where one stopped (docs/rollout.md).
--
-- The runner never changes how one pair runs (engine.run does that); it
-- decides which pair runs when, and whether it runs at all:
-- * at most `max_concurrent` pairs at once;
-- * once more pairs failed than `failure_tolerance` allows, no new pair
--   starts; the pairs in flight finish; the rest are "not started";
-- * the `canary` first pairs run first (apply, then verify); the rest only
--   when every canary passed;
-- * `apply` of a pair the record says was applied ok with the same config
--   and whose journal is as that run left it (no other run, no hand edit
--   since) is only checked with a read-only plan; it is applied again when that
--   plan shows a change, with `--reapply`, or while another run holds the
--   pair's lock (apply then waits for it or names the holder, as always).
-- @module rds-proxy.rollout
local json = require "kumo.json"
local crypto = require "kumo.crypto"
local clock = require "kumo.clock"
local sched = require "kumo.sched"
local select = require "rds-proxy.select"

local M = {}

--- Parse `N` or `P%` (of `total`, at least 1 when P > 0).
-- @return an integer, or nil and a message
function M.amount(text, total, what)
  local pct = tostring(text):match("^(%d+)%%$")
  if pct then
    local p = tonumber(pct)
    if p > 100 then return nil, what .. " takes at most 100%" end
    if p == 0 then return 0 end
    return math.max(1, (total * p) // 100)
  end
  local n = math.tointeger(tonumber(text))
  if not n or n < 0 then return nil, what .. " needs a count or a percentage, e.g. 5 or 10%" end
  return n
end

--- Parse `I/N` (1 <= I <= N).
-- @return i, n or nil and a message
function M.parse_shard(text)
  local i, n = tostring(text):match("^(%d+)/(%d+)$")
  i, n = tonumber(i), tonumber(n)
  if not i or n < 1 or i < 1 or i > n then
    return nil, "--shard needs I/N with 1 <= I <= N, e.g. --shard 1/4"
  end
  return math.tointeger(i), math.tointeger(n)
end

--- The shard (1..n) a pair belongs to: a stable hash of its name, the
-- same on every machine and in every run.
function M.shard_of(name, n)
  return tonumber(crypto.sha256_hex(name):sub(1, 8), 16) % n + 1
end

--- The pairs of a run in the order asked and in the shard asked.
-- @param list resolved pairs, in config order
-- @param opts `{ order = "config" | "name" | "tag:KEY", shard = { i, n } }`
-- @return the list to run
function M.arrange(list, opts)
  local out = {}
  for i, p in ipairs(list) do
    if not opts.shard or M.shard_of(p.name, opts.shard[2]) == opts.shard[1] then
      out[#out + 1] = { pair = p, index = i }
    end
  end
  local order = opts.order or "config"
  local key = order:match("^tag:(.+)$")
  if order == "name" then
    table.sort(out, function(a, b) return a.pair.name < b.pair.name end)
  elseif key then
    -- by the tag's value (pairs without it last), then config order
    table.sort(out, function(a, b)
      local va, vb = a.pair.tags[key], b.pair.tags[key]
      if va ~= vb then
        if va == nil then return false end
        if vb == nil then return true end
        return va < vb
      end
      return a.index < b.index
    end)
  end
  for i, e in ipairs(out) do out[i] = e.pair end
  return out
end

--- A hash of everything the config says about a pair (selectors as written).
function M.fingerprint(pair)
  return crypto.sha256_hex(require("rds-proxy.context").canonical(pair))
end

--- The steps of a result that would change something (plan) or did.
function M.changes(r)
  local n = 0
  for _, s in ipairs(r.steps or {}) do
    if s.action ~= "unchanged" and s.action ~= "ok" and s.action ~= "absent" then n = n + 1 end
  end
  return n
end

local function failed_result(pair, action, msg)
  return { pair = pair.name, action = action, outcome = "failed", steps = {}, calls = {},
           problems = {}, notes = {}, error = msg }
end

--- Run one action for one pair: resolve its selectors (read-only, through
-- the run's memo), then the engine. The result carries `resolved`, the
-- list of `{ key=, selector=, id= }`.
-- @param pair a resolved pair (config.resolve_pair)
-- @param top the resolved config
-- @param action plan, apply, verify or destroy
-- @param engine_opts as engine.run's (action is set here)
function M.run_pair(pair, top, action, engine_opts)
  local resolved, list = pair, {}
  if M.has_selectors(pair) then
    local ok, err = pcall(function()
      local ctx = require("rds-proxy.context").new(pair, top, { action = "plan" })
      resolved, list = select.resolve(ctx, pair)
    end)
    if not ok then
      local r = failed_result(pair, action, tostring(type(err) == "table" and (err.message or err) or err))
      r.resolved = {}
      return r
    end
  end
  local o = {}
  for k, v in pairs(engine_opts) do o[k] = v end
  o.action = action
  local r = require("rds-proxy.engine").run(resolved, top, o)
  r.resolved = list
  return r
end

--- True when a pair has a selector in place of an id.
function M.has_selectors(pair)
  for side, keys in pairs(select.KEYS) do
    for k in pairs(keys) do
      if select.is_selector(pair[side] and pair[side][k]) then return true end
    end
  end
  return false
end

--- Roll `action` out over `list`.
-- @param list the pairs, arranged (M.arrange)
-- @param top the resolved config
-- @param opts `{ action=, max_concurrent=, failure_tolerance= (nil: no limit), canary=,
--   reapply=, records = state.records(dir), engine = engine options,
--   interrupted = function() → true once no new pair may start (a signal),
--   held = function(pair name) → true while another run holds the pair's lock,
--   journal = function(pair name) → a hash of the pair's journal (a record
--   counts only while the journal is as the recorded run left it),
--   run_pair = function(pair, action) (default M.run_pair), progress = a kumo.progress }`
-- @return results (one per pair, in `list` order; `rollout` says what the
--   runner did: "ran", "checked", "not started"), and the summary
function M.run(list, top, opts)
  local action = opts.action
  local run_pair = opts.run_pair or function(pair, act) return M.run_pair(pair, top, act, opts.engine or {}) end
  local limit = math.max(1, opts.max_concurrent or 4)
  local canary = math.min(opts.canary or 0, #list)
  local results, failures, stop_reason = {}, {}, nil
  local started = clock.monotonic()

  local function one(i)
    local pair = list[i]
    local t0 = clock.monotonic()
    local rec = opts.records and action == "apply" and opts.records.get(pair.name) or nil
    local fp = M.fingerprint(pair)
    local r, how
    local ok, err = pcall(function()
      -- a pair another run holds is applied as asked: apply waits for the
      -- lock or names its holder (--lock-timeout), a plan would not
      if rec and not opts.reapply and rec.outcome == "ok" and rec.action == "apply" and rec.fingerprint == fp
          and rec.journal == (opts.journal and opts.journal(pair.name))
          and not (opts.held and opts.held(pair.name)) then
        -- done before: a read-only look; apply only when it finds a change
        r = run_pair(pair, "plan")
        if r.outcome == "ok" and M.changes(r) == 0 then
          r.action, how = "apply", "checked"
          r.notes[#r.notes + 1] = "applied ok by an earlier rollout (" .. tostring(rec.at)
            .. "); a read-only plan finds nothing to change"
          return
        end
        how = "reapplied"
      end
      r = run_pair(pair, action)
      how = how or "ran"
      if how == "reapplied" then
        r.notes[#r.notes + 1] = "applied ok by an earlier rollout, but a plan now finds changes: applied again"
      end
      if i <= canary and action == "apply" and r.outcome == "ok" then
        local v = run_pair(pair, "verify")
        r.canary_verify = v.outcome
        if v.outcome ~= "ok" then
          r.outcome = "failed"
          for _, p in ipairs(v.problems or {}) do r.problems[#r.problems + 1] = "canary verify: " .. p end
          if v.error then r.problems[#r.problems + 1] = "canary verify: " .. v.error end
        end
      end
    end)
    if not ok then
      r = failed_result(pair, action, tostring(err))
      how = "ran"
    end
    r.rollout, r.seconds = how, clock.monotonic() - t0
    r.canary = i <= canary or nil
    -- a destroy is recorded too: the next apply then runs in full
    if opts.records and (action == "apply" or action == "destroy") and how ~= "checked" then
      opts.records.put(pair.name, { pair = pair.name, action = action, outcome = r.outcome,
        fingerprint = fp, at = clock.iso8601(clock.now()), error = r.error,
        journal = opts.journal and opts.journal(pair.name) })
    end
    return r
  end

  -- a pool of `limit` workers taking the next pair while the run may go on
  local function wave(first, last, tolerance)
    local next_i = first
    local function worker()
      while next_i <= last and not stop_reason do
        if opts.interrupted and opts.interrupted() then
          stop_reason = "interrupted: no new pair started"
          break
        end
        local i = next_i
        next_i = next_i + 1
        sched.step(list[i].name)
        local r = one(i)
        results[i] = r
        if r.outcome ~= "ok" then
          failures[#failures + 1] = list[i].name
          if tolerance and #failures > tolerance and not stop_reason then
            stop_reason = string.format("%d pair(s) failed, more than the failure tolerance (%d): "
              .. "no new pair started after %s", #failures, tolerance, list[i].name)
          end
        end
      end
    end
    local fns = {}
    for w = 1, math.min(limit, last - first + 1) do fns[w] = worker end
    if #fns > 0 then
      local _, errs = sched.parallel(fns, nil, { name = "rollout", progress = opts.progress })
      for _, e in pairs(errs) do error(e, 0) end
    end
  end

  if canary > 0 then
    wave(1, canary, 0)
    if #failures > 0 then
      stop_reason = string.format("canary failed (%s): the other %d pair(s) were not started",
        table.concat(failures, ", "), #list - canary)
    end
  end
  if not stop_reason then wave(canary + 1, #list, opts.failure_tolerance) end

  local summary = { pairs = {}, ok = 0, failed = 0, not_started = 0, checked = 0,
                    stopped = stop_reason or json.null, seconds = clock.monotonic() - started }
  for i, pair in ipairs(list) do
    local r = results[i]
    if not r then
      r = { pair = pair.name, action = action, outcome = "not started", steps = {}, calls = {},
            problems = {}, notes = {}, rollout = "not started" }
      results[i] = r
    end
    if r.outcome == "ok" then summary.ok = summary.ok + 1
    elseif r.outcome == "not started" then summary.not_started = summary.not_started + 1
    else summary.failed = summary.failed + 1 end
    if r.rollout == "checked" then summary.checked = summary.checked + 1 end
    local first = r.error or (r.problems or {})[1]
    summary.pairs[i] = { pair = pair.name, outcome = r.outcome, rollout = r.rollout,
      canary = r.canary or false, changing_calls = #(r.calls or {}), seconds = r.seconds,
      resolved = json.array(r.resolved or {}), error = first }
  end
  summary.pairs = json.array(summary.pairs)
  return results, summary
end

--- The summary as text: one line per pair, then the totals.
function M.summary_text(summary)
  local out = { "", "rollout:" }
  for _, p in ipairs(summary.pairs) do
    out[#out + 1] = string.format("  %-24s %-12s %-11s %3d changing call(s)%s%s", p.pair, p.outcome,
      p.rollout or "", p.changing_calls, p.canary and "  (canary)" or "",
      p.error and ("  " .. tostring(p.error):gsub("\n.*", "")) or "")
  end
  out[#out + 1] = string.format("%d ok (%d checked with a plan, unchanged), %d failed, %d not started",
    summary.ok, summary.checked, summary.failed, summary.not_started)
  if summary.stopped ~= json.null then out[#out + 1] = "stopped: " .. summary.stopped end
  return table.concat(out, "\n")
end

--- The reader of the organization a config's `pairs(org)` gets: kumo.org's
-- methods, each run outside the config's limits (the listing of a large
-- organization is kumo's work: hundreds of calls and their parsing); the
-- table holds functions only, so the config reaches no client through it.
-- @param org a kumo.org reader
-- @param unlimited the wrapper config.call passes (identity outside it)
function M.org_view(org, unlimited)
  local view = {}
  for _, name in ipairs{ "accounts", "root", "unit_id", "units", "tags" } do
    view[name] = unlimited(function(_, ...) return org[name](org, ...) end)
  end
  return view
end

--- Generate the pairs of a config whose `pairs` is a function: it is
-- called with a kumo.org reader of the organization the base session sees
-- (the management account or a delegated administrator), and returns the
-- list of pairs. The function runs confined and limited as the config's
-- chunk (config.call); the organization's listing does not count.
-- @param raw the loaded config (config.load)
-- @param org optional: a kumo.org reader (default: of the base session)
-- @return the config with `pairs` a list, or nil and a message
function M.expand(raw, org)
  if type(raw) ~= "table" or type(raw.pairs) ~= "function" then return raw end
  local ok, res = pcall(function()
    org = org or require("kumo.org").new(require("kumo.aws").session{ profile = raw.base_profile,
                                                                      region = raw.region })
    local done, out = require("rds-proxy.config").call(raw, raw.pairs, function(unlimited)
      return M.org_view(org, unlimited)
    end)
    if not done then error(out, 0) end
    return out
  end)
  if not ok then
    local msg = type(res) == "table" and (res.message or tostring(res)) or tostring(res)
    return nil, "config: pairs(org) failed: " .. msg
  end
  if type(res) ~= "table" then
    return nil, "config: pairs(org) must return a list of pairs, got " .. type(res)
  end
  local out = {}
  for k, v in pairs(raw) do out[k] = v end
  out.pairs = res
  return out
end

return M
