--- Runs one action (plan, apply, verify, destroy) for one pair over the
-- step modules listed in `steps/init.lua`.
--
-- Every step is first *read* (found again by deterministic names and
-- tags), so a second apply finds everything and changes nothing, and an
-- apply interrupted at any point resumes where it stopped.
--
-- The step contract (docs/workflow.md, "Writing a step"):
-- * `read(ctx)` → `live, dups`: kumo's resource (nil when absent) and the
--   other copies tagged `kumo:pair=<pair>` (a second RAM share made by a
--   run whose answer was lost, or by a run with another state folder).
--   apply deletes the copies (keeping the journaled one, else what read
--   chose, the oldest), plan and verify report them, destroy deletes all.
-- * `delete(ctx, live)` is always followed by a `read` (not from the memo):
--   only what is gone is reported `delete`; anything still there fails the
--   run, named. A delete that itself waited until a read found the resource
--   gone returns "gone" and that read is the proof. A delete that leaves
--   its resource to go with another step's (rules on a group destroy
--   deletes: `ctx.destroying[step]`) returns "with <step>": that step's
--   proven delete proves both, and anything left unproven fails the run.
-- * `diff` entries with `replace = true, reason=` are applied only for the
--   steps named by `--replace STEP` or the config's `replace = { ... }`.
-- * `allow_rules` (a table or function(ctx)) declares extra rules other
--   steps must leave alone: merged into `ctx.allowed_rules[group_step]`.
-- * `stale(ctx, d)` → a reason when a copy `read` returned is this pair's
--   under a former name (`share_name`, `proxy_name` renamed): plan shows
--   `replace (<reason>)`, apply deletes it before creating the new one,
--   verify reports it, destroy deletes it with the rest. With
--   `stale_last = true` apply deletes such a copy after every other step
--   instead (later steps may still use it: the endpoint SG of a former
--   `app.vpc_id` until the endpoint moved).
-- * `needs = { "step", ... }`: steps that must come before it; checked with
--   the rest of the contract before any call (contract.lua). apply ends
--   what they left running (`ctx:later`) before it starts; destroy deletes
--   a step once every step that may depend on it is gone (a step without
--   `needs` may depend on every step before it), side by side otherwise.
-- * `read_ahead = true`: its read needs no other step's ids; destroy reads
--   these steps at once before the others.
-- * `create_first = { codes }` (a resource whose name is unique in its
--   account or VPC): when the journal knows nothing of the step, apply
--   creates at once instead of reading first; an answer with one of the
--   codes ("already exists") sends the step the usual way (a fresh read,
--   then diff, update and the ownership check), so it costs one call on a
--   fresh apply and loses nothing when the resource is there.
-- * `enabled(ctx)` false: the step does not run; when the journal says
--   kumo made its resource (the config switched from kumo's secret or role
--   to the user's), plan shows `delete (no longer in the config)`, apply
--   deletes it after every other step, verify reports it, destroy deletes
--   it. `read` must then find it from the journal (`ctx.state:get`).
-- * A resource found without a journal entry whose `kumo:pair` tag names
--   another pair (a pair renamed in the config) stops plan and apply,
--   naming that pair and the fix.
-- apply and destroy hold the pair's lock (`state:lock`) for the whole run.
-- @module rds-proxy.engine
local context = require "rds-proxy.context"
local contract = require "rds-proxy.contract"
local prechecks = require "rds-proxy.prechecks"
local state_mod = require "rds-proxy.state"

local M = {}

-- True for an AWS error the retry layer gave up on because AWS throttled
-- or was unavailable (errors.is_transient where the retry policy has it).
local function transient(err)
  if (err.attempts or 1) <= 1 then return false end
  return require("kumo.errors").is_transient(err) == true
end

--- Load the step modules named in `steps/init.lua` (or a given list of
-- names and step tables; see contract.load).
M.load_steps = contract.load

local function enabled(step, ctx)
  return step.enabled == nil or step.enabled(ctx)
end

local tagged = context.tagged

-- True when `live` is this pair's by its tag: on the read itself, or by
-- `step.tags(ctx, live)` where the describe call returns no tags (RDS
-- proxies and endpoints), or by `step.owned(ctx, live)` for what cannot be
-- tagged (security group rules).
local function ours(ctx, step, live)
  if not live then return false end
  if tagged(live, ctx.pair.name) then return true end
  if step.tags and tagged({ Tags = step.tags(ctx, live) }, ctx.pair.name) then return true end
  return step.owned ~= nil and step.owned(ctx, live) == true
end

-- The other kumo pair whose `kumo:pair` tag `live` carries, or nil. Asked
-- only for what this pair's journal does not know: a pair renamed in the
-- config (a new pair to kumo) would otherwise take over the old pair's
-- proxy and endpoint and leave the rest behind.
local function other_pair(ctx, step, live)
  if ctx.state:get(step.name) then return nil end
  local function find(list)
    for _, t in ipairs(list or {}) do
      local k, v = t.Key or t.key, t.Value or t.value
      if k == "kumo:pair" and v ~= ctx.pair.name then return v end
    end
  end
  local other = find(live.Tags) or find(live.tags) or find(live.TagList)
  if other or not step.tags or tagged(live, ctx.pair.name) then return other end
  return find(step.tags(ctx, live))
end

local function refuse_other_pair(ctx, step, live)
  local other = live and other_pair(ctx, step, live)
  if other then
    error(string.format("%s %s belongs to kumo pair %q (its kumo:pair tag), not to %q: a pair renamed in the "
      .. "config is a new pair; destroy the old one first (destroy --pair %s with its former config), or give "
      .. "this pair its own names", step.title, tostring(step.id and step.id(live)), other, ctx.pair.name, other), 0)
  end
end

local function record(result, step, action, live, diffs)
  result.steps[#result.steps + 1] = {
    name = step.name, title = step.title, account = step.account, action = action,
    id = live and step.id and step.id(live) or nil, diffs = diffs,
  }
end

local function problem(result, text)
  result.problems[#result.problems + 1] = text
end

local function id_of(step, live)
  return live and step.id and step.id(live) or nil
end

-- Why `d` (a copy read returned) is this pair's under a former name, or nil.
local function stale_reason(ctx, step, d)
  return step.stale and step.stale(ctx, d) or nil
end

-- Read one step: `live, dups` (dups a list, maybe empty). When the journal
-- names one of the copies, that one is kept and the others are the dups.
local function read_step(ctx, step)
  ctx.step_name = step.name
  local live, dups = step.read(ctx)
  dups = dups or {}
  local entry = ctx.state:get(step.name)
  local want = entry and entry.id
  if live and want and #dups > 0 and id_of(step, live) ~= want then
    for i, d in ipairs(dups) do
      -- a copy under a former name is never kept: the config names the new one
      if id_of(step, d) == want and not stale_reason(ctx, step, d) then
        dups[i], live = live, d
        break
      end
    end
  end
  return live, dups
end

-- Delete `live` and prove it: read again and require it gone (by id when
-- it was a duplicate, else no resource at all).
-- Record the steps whose resources went with `step`'s (see the contract).
local function proven_with(ctx, step, result)
  local list = ctx.deferred and ctx.deferred[step.name]
  if not list then return end
  ctx.deferred[step.name] = nil
  for _, d in ipairs(list) do
    record(result, d.step, "delete", d.live, { { key = "with", want = step.title } })
  end
end

local function delete_proven(ctx, step, live, result, action)
  local id = id_of(step, live)
  ctx.step_name = step.name
  local proof = step.delete(ctx, live)
  local bad = contract.check_proof(step, proof, ctx.steps_by_name or {})
  if bad then error(bad, 0) end
  local parent = type(proof) == "string" and proof:match("^with (.+)$")
  if parent and action == "delete" and ctx.destroying and ctx.destroying[parent] then
    ctx.deferred = ctx.deferred or {}
    ctx.deferred[parent] = ctx.deferred[parent] or {}
    table.insert(ctx.deferred[parent], { step = step, live = live })
    return
  end
  -- a delete that waited until a read found it gone ("gone") is proven by
  -- that read; else the proof is a read made now, never a remembered answer
  if proof == "gone" and action == "delete" then
    record(result, step, action, live)
    proven_with(ctx, step, result)
    return
  end
  local again, dups = ctx:fresh(read_step, ctx, step)
  local still
  if action ~= "delete" then  -- a duplicate or a former name: that one, by id
    local seen = { again }
    for _, d in ipairs(dups) do seen[#seen + 1] = d end
    for _, x in pairs(seen) do
      if id_of(step, x) == id then still = x end
    end
  else
    still = again or dups[1]
  end
  if still then
    record(result, step, "still there", still)
    error(string.format("%s %s is still there after its delete; nothing after it was deleted; rerun %s",
      step.title, tostring(id_of(step, still)), ctx.action), 0)
  end
  record(result, step, action, live)
  if action == "delete" then proven_with(ctx, step, result) end
end

-- The reason a replace diff gives, for messages.
local function replace_reason(diffs)
  for _, d in ipairs(diffs or {}) do
    if d.replace then
      return d.reason or string.format("%s is %s, config wants %s", d.key, tostring(d.have), tostring(d.want))
    end
  end
end

-- Merge every step's `allow_rules` into ctx.allowed_rules[group_step].
local function collect_allowed_rules(ctx, steps)
  ctx.allowed_rules = {}
  for _, step in ipairs(steps) do
    local a = step.allow_rules
    if type(a) == "function" then a = a(ctx) end
    for group, rules in pairs(a or {}) do
      local list = ctx.allowed_rules[group] or {}
      for _, r in ipairs(rules) do list[#list + 1] = r end
      ctx.allowed_rules[group] = list
    end
  end
end

-- What a step the config no longer enables left behind (kumo's role once
-- `rds.role_arn` is given, kumo's secret once `secret_arn` replaces
-- `secret`): `{ step=, live= }` in reverse apply order, for the steps whose
-- resource the journal says kumo made. Apply deletes them after every
-- other step, when nothing uses them any more.
local RETIRED = "delete (no longer in the config)"
local function retired(ctx, steps)
  local out = {}
  for i = #steps, 1, -1 do
    local step = steps[i]
    if not enabled(step, ctx) and step.delete and ctx.state:owns(step.name) then
      out[#out + 1] = { step = step, live = (read_step(ctx, step)) }
    end
  end
  return out
end

local function do_plan(ctx, steps, result)
  for _, step in ipairs(steps) do
    if enabled(step, ctx) then
      local live, dups = read_step(ctx, step)
      local renamed  -- the first copy under a former name: shown as what the new one replaces
      for _, d in ipairs(dups) do
        local why = stale_reason(ctx, step, d)
        if why and not live and not renamed then renamed = { d = d, why = why } end
      end
      if live then
        refuse_other_pair(ctx, step, live)
        ctx.ids[step.name] = step.id and step.id(live)
        local diffs = step.diff and step.diff(ctx, live) or {}
        local why = replace_reason(diffs)
        record(result, step, why and ("replace (" .. why .. ")") or (#diffs > 0 and "update" or "unchanged"),
          live, diffs)
      elseif renamed then
        record(result, step, "replace (" .. renamed.why .. (step.stale_last
          and "; apply creates the new one, and deletes the old one once the steps after it moved)"
          or "; apply deletes the old one and creates the new one)"), renamed.d)
      elseif step.with_parent then
        record(result, step, "create", nil, { { key = "with", want = step.with_parent } })
      else
        record(result, step, "create")
      end
      for _, d in ipairs(dups) do
        if not (renamed and d == renamed.d) then
          local why = stale_reason(ctx, step, d)
          record(result, step, why and ("delete (" .. why .. ")") or "duplicate (apply deletes it)", d)
        end
      end
    end
  end
  for _, r in ipairs(retired(ctx, steps)) do
    if r.live then record(result, r.step, RETIRED, r.live) end
  end
end

-- A create made without a read first (`create_first`): the step's result
-- (`live, made_dups`), or nil when the resource was there already.
local function create_first(ctx, step)
  ctx.step_name = step.name
  ctx.create_first = step.create_first
  local r = table.pack(pcall(step.create, ctx))
  ctx.create_first = nil
  if r[1] then return true, r[2], r[3] end
  local err = r[2]
  if type(err) == "table" and err.create_first_exists then return false end
  error(err, 0)
end

-- Read the `read_ahead` steps of `list` at once (each its own task): their
-- reads need no other step's ids. Fills `lives` and `dupses`; the first
-- failure (in list order) is raised as that step's, once all have ended.
local function read_ahead(ctx, list, lives, dupses)
  local sched = require "kumo.sched"
  local tasks = {}
  for i, step in ipairs(list) do
    -- outside a scheduler (unit tests) one after the other
    tasks[i] = sched.current() and sched.spawn(read_step, { name = ctx.pair.name .. " read " .. step.name,
      quiet = true, hidden = true, args = { ctx, step, n = 2 } })
  end
  local failed
  for i, step in ipairs(list) do
    local r = tasks[i] and table.pack(pcall(tasks[i].wait, tasks[i])) or table.pack(pcall(read_step, ctx, step))
    if r[1] then lives[step.name], dupses[step.name] = r[2], r[3] or {}
    elseif not failed then failed = { step = step, err = r[2] } end
  end
  if failed then
    ctx.step_name = failed.step.name
    error(failed.err, 0)
  end
end

-- The steps found by a name the config gives (the proxy's, the
-- endpoint's: `tags`, since their describe shows none) that apply would
-- create without reading first, the journal knowing nothing of them: read
-- them at once before any change, so a name that is another kumo pair's (a
-- pair renamed in the config) is refused before the share, role and groups
-- are made, as plan refuses it. A fresh apply pays one read each.
local function refuse_taken_names(ctx, steps)
  local list = {}
  for _, step in ipairs(steps) do
    if enabled(step, ctx) and step.tags and step.create_first and step.read_ahead
        and ctx.state:get(step.name) == nil then
      list[#list + 1] = step
    end
  end
  if #list == 0 then return end
  local lives = {}
  read_ahead(ctx, list, lives, {})
  for _, step in ipairs(list) do refuse_other_pair(ctx, step, lives[step.name]) end
end

local function do_apply(ctx, steps, result, replace)
  local last = {}  -- copies under a former setting that later steps used (`stale_last`)
  refuse_taken_names(ctx, steps)
  for _, step in ipairs(steps) do
    if enabled(step, ctx) then
      -- what the steps it needs left running in the background (ctx:later) ends first
      for _, n in ipairs(step.needs or {}) do context.settle(ctx, n) end
      ctx.progress(ctx.pair.name, step.title)
      local live, dups
      local blind = step.create_first ~= nil and ctx.state:get(step.name) == nil
      if blind then
        local made, made_dups
        blind, made, made_dups = create_first(ctx, step)
        if blind then
          for _, d in ipairs(made_dups or {}) do delete_proven(ctx, step, d, result, "delete (duplicate)") end
          if made and step.id then ctx.ids[step.name] = step.id(made) end
          record(result, step, "create", made)
          goto next_step
        end
        -- it was there: read it as any found resource (not from the memo)
        live, dups = ctx:fresh(read_step, ctx, step)
        if not (live and ours(ctx, step, live)) then
          ctx.state:deleted(step.name)  -- the intent the create wrote is no claim on someone else's
        end
      else
        live, dups = read_step(ctx, step)
      end
      for _, d in ipairs(dups) do
        local why = stale_reason(ctx, step, d)
        if why and step.stale_last then
          -- still used by later steps (the old endpoint uses the old
          -- VPC's group): deleted after every other step
          last[#last + 1] = { step = step, live = d, why = why }
        else
          ctx.progress(ctx.pair.name, (why and "deleting the renamed " or "deleting a duplicate ") .. step.title)
          delete_proven(ctx, step, d, result, why and "delete (renamed)" or "delete (duplicate)")
        end
      end
      local action = "unchanged"
      local diffs
      if live then
        refuse_other_pair(ctx, step, live)
        diffs = step.diff and step.diff(ctx, live) or {}
        local why = replace_reason(diffs)
        if why then
          if not replace[step.name] then
            error(string.format("%s: %s; rerun with --replace %s (deletes and re-creates only it)",
              step.name, why, step.name), 0)
          end
          ctx.progress(ctx.pair.name, "replacing " .. step.title)
          delete_proven(ctx, step, live, result, "delete")
          ctx.state:deleted(step.name)
          live, diffs = nil, nil
        end
      end
      ctx.step_name = step.name
      if not live then
        local made_dups
        live, made_dups = step.create(ctx)
        action = "create"
        -- a create whose first answer was lost may have made a second copy
        -- (an API without an idempotency token): keep the recorded one
        for _, d in ipairs(made_dups or {}) do
          delete_proven(ctx, step, d, result, "delete (duplicate)")
        end
      else
        if #diffs > 0 then
          live = step.update(ctx, live, diffs)
          action = "update"
        end
        -- found without a journal entry (or with only an intent): ours
        -- when it carries the pair's tag, else the user's
        local entry = ctx.state:get(step.name)
        if step.delete and (not entry or entry.status == "creating") and ours(ctx, step, live) then
          ctx.state:created(step.name, step.id(live))
        end
      end
      if live and step.id then ctx.ids[step.name] = step.id(live) end
      record(result, step, action, live, diffs)
    end
    ::next_step::
  end
  -- the run ends when everything it waits for is done
  context.settle(ctx)
  for i = #last, 1, -1 do
    local l = last[i]
    ctx.progress(ctx.pair.name, "deleting the former " .. l.step.title .. " (" .. l.why .. ")")
    delete_proven(ctx, l.step, l.live, result, "delete (" .. l.why .. ")")
  end
  for _, r in ipairs(retired(ctx, steps)) do
    if r.live then
      ctx.progress(ctx.pair.name, "deleting " .. r.step.title .. " (no longer in the config)")
      delete_proven(ctx, r.step, r.live, result, RETIRED)
    end
    ctx.state:deleted(r.step.name)
  end
end

local function do_verify(ctx, steps, result)
  for _, step in ipairs(steps) do
    if enabled(step, ctx) then
      local live, dups = read_step(ctx, step)
      if not live then
        problem(result, step.title .. " is missing — run apply")
        record(result, step, "missing")
      else
        ctx.ids[step.name] = step.id and step.id(live)
        local problems = step.verify and step.verify(ctx, live) or {}
        for _, p in ipairs(problems) do problem(result, step.title .. ": " .. p) end
        record(result, step, #problems == 0 and "ok" or "problem", live)
      end
      for _, d in ipairs(dups) do
        local why = stale_reason(ctx, step, d)
        if why then
          problem(result, string.format("%s: %s is still there (%s) — run apply to delete it",
            step.title, tostring(id_of(step, d)), why))
          record(result, step, "renamed", d)
        else
          problem(result, string.format("%s: a duplicate %s is tagged kumo:pair=%s — run apply to delete it",
            step.title, tostring(id_of(step, d)), ctx.pair.name))
          record(result, step, "duplicate", d)
        end
      end
    end
  end
  for _, r in ipairs(retired(ctx, steps)) do
    if r.live then
      problem(result, string.format("%s %s is no longer in the config and still there — run apply to delete it",
        r.step.title, tostring(id_of(r.step, r.live))))
      record(result, r.step, "problem", r.live)
    end
  end
end

-- The steps each step may depend on: those it `needs` and what they
-- depend on; for a step that does not say (no `needs`), every step listed
-- before it.
local function dependencies(steps)
  local deps = {}
  for i, step in ipairs(steps) do
    local set = {}
    if type(step.needs) == "table" then
      for _, n in ipairs(step.needs) do
        set[n] = true
        for m in pairs(deps[n] or {}) do set[m] = true end
      end
    else
      for j = 1, i - 1 do set[steps[j].name] = true end
    end
    deps[step.name] = set
  end
  return deps
end

-- Delete the steps of `order` (those destroy deletes, in list order), each
-- by `delete_one(c, step)`, once every step that may depend on it is done:
-- the reverse order where steps do not say what they need, side by side
-- where they do (the endpoint SG beside the proxy, the role beside the DB
-- rule and the proxy SG). Each runs with its own view of `ctx` (its step
-- name, its fresh reads); after a failure no delete starts, those running
-- end, and the first failure is raised as its step's.
local function delete_all(ctx, steps, order, delete_one)
  local sched = require "kumo.sched"
  if not sched.current() then  -- outside a scheduler (unit tests): one after the other
    for i = #order, 1, -1 do delete_one(ctx, order[i]) end
    return
  end
  local deps = dependencies(steps)
  -- what the views share must be the context's own tables, not a view's
  ctx.deferred = ctx.deferred or {}
  ctx.endpoints_gone = ctx.endpoints_gone or {}
  ctx.staled = ctx.staled or {}
  ctx.sg_seen = ctx.sg_seen or {}
  ctx.sg_known = ctx.sg_known or {}
  ctx.made_now = ctx.made_now or {}
  local tasks, failed = {}, nil
  for i = #order, 1, -1 do
    local step = order[i]
    local after = {}
    for j = i + 1, #order do
      if deps[order[j].name][step.name] then after[#after + 1] = tasks[order[j].name] end
    end
    tasks[step.name] = sched.spawn(function()
      for _, t in ipairs(after) do t:wait() end
      if failed then return end
      local view = setmetatable({}, { __index = ctx })
      local ok, err = pcall(delete_one, view, step)
      if not ok and not failed then failed = { step = step, err = err } end
    end, { name = ctx.pair.name .. " delete " .. step.name, quiet = true, hidden = true })
  end
  for i = #order, 1, -1 do tasks[order[i].name]:wait() end
  if failed then
    ctx.step_name = failed.step.name
    error(failed.err, 0)
  end
end

local function do_destroy(ctx, steps, result)
  -- read every step in apply order first: later steps need the ids of
  -- earlier ones (the proxy SG for the DB rule, ...); the steps whose read
  -- needs no id (`read_ahead`) are read all at once before the others
  local lives, dupses = {}, {}
  local ahead, done = {}, {}
  for _, step in ipairs(steps) do
    -- a step without delete goes with its parent: no need to read it
    if step.read_ahead and enabled(step, ctx) and step.delete then ahead[#ahead + 1] = step end
  end
  if #ahead > 0 then read_ahead(ctx, ahead, lives, dupses) end
  for _, step in ipairs(ahead) do done[step.name] = true end
  for _, step in ipairs(steps) do
    -- a step the config no longer enables still goes when the journal owns it
    if (enabled(step, ctx) or ctx.state:owns(step.name)) and step.delete then
      if not done[step.name] then lives[step.name], dupses[step.name] = read_step(ctx, step) end
      local live = lives[step.name]
      if live and step.id then ctx.ids[step.name] = step.id(live) end
    end
  end
  -- what this destroy deletes: a step whose resource goes with one of
  -- these leaves it to that delete (see the contract above)
  ctx.destroying = {}
  for _, step in ipairs(steps) do
    local live = lives[step.name]
    if live and (ctx.state:owns(step.name) or ours(ctx, step, live)) then ctx.destroying[step.name] = true end
  end
  local order = {}
  for _, step in ipairs(steps) do
    if lives[step.name] ~= nil or dupses[step.name] ~= nil then order[#order + 1] = step end
  end
  -- each step's report, put in the teardown order at the end (the deletes
  -- of independent steps end in any order)
  local reports = {}
  local function delete_one(c, step)
    local out = { steps = {} }
    reports[step.name] = out
    c.step_name = step.name
    for _, d in ipairs(dupses[step.name]) do
      local why = stale_reason(c, step, d)
      c.progress(c.pair.name, (why and "deleting the renamed " or "deleting a duplicate ") .. step.title)
      delete_proven(c, step, d, out, why and "delete (renamed)" or "delete (duplicate)")
    end
    local live = lives[step.name]
    local owned = c.state:owns(step.name) or ours(c, step, live)
    if live and owned then
      c.progress(c.pair.name, "deleting " .. step.title)
      delete_proven(c, step, live, out, "delete")
    elseif live then
      record(out, step, "kept (not created by kumo)", live)
    else
      record(out, step, "absent")
    end
    c.state:deleted(step.name)
  end
  local ok, err = pcall(delete_all, ctx, steps, order, delete_one)
  for i = #order, 1, -1 do
    for _, s in ipairs(reports[order[i].name] and reports[order[i].name].steps or {}) do
      result.steps[#result.steps + 1] = s
    end
  end
  if not ok then error(err, 0) end
  for parent, list in pairs(ctx.deferred or {}) do
    error(string.format("%s was left to go with %s, which was not deleted; rerun destroy",
      list[1].step.title, parent), 0)
  end
  if ctx.state:empty() then ctx.state:remove_file() end
end

--- Run the steps of `action` in a context already built and checked
-- (M.run does that: lock, pre-checks). The steps' contract is checked
-- first (the entry script does it before any call; a caller with its own
-- list gets the same errors here).
-- @param ctx the pair's context (`pair`, `state`, `ids`, `progress`, read/mutate)
-- @param steps the loaded steps, in apply order
-- @param action plan, apply, verify or destroy
-- @param result the result being filled (`steps`, `problems`)
-- @param[opt] replace a set of step names apply may re-create
function M.run_steps(ctx, steps, action, result, replace)
  local errs = contract.check(steps)
  if #errs > 0 then error("steps: " .. table.concat(errs, "; "), 0) end
  collect_allowed_rules(ctx, steps)
  ctx.steps_by_name = {}
  for _, step in ipairs(steps) do ctx.steps_by_name[step.name] = step end
  local run = ({ plan = do_plan, apply = do_apply, verify = do_verify, destroy = do_destroy })[action]
  if not run then error("unknown action " .. tostring(action), 0) end
  local ok, err = pcall(run, ctx, steps, result, replace or {})
  if not ok then
    -- a failed run leaves nothing running behind it (a wait begun by ctx:later)
    context.abandon(ctx)
    error(err, 0)
  end
  return result
end

--- Run `action` for one pair.
-- @param pair a resolved pair
-- @param top the resolved config
-- @param opts `{ action=, state_dir=, progress=, timeouts=, steps=, replace = { step = true },
--   lock_timeout = seconds (apply, destroy; default 0: do not wait),
--   graph = true when --graph is asked (the pre-checks then read the VPCs' CIDR blocks) }`
-- @return a result table: `pair, action, outcome ("ok"|"failed"), steps,
--   calls, problems, notes, endpoint_address, error, interrupted`
function M.run(pair, top, opts)
  local result = { pair = pair.name, action = opts.action, outcome = "ok",
                   steps = {}, calls = {}, problems = {}, notes = {} }
  local state
  local ok, err = pcall(function()
    state = state_mod.open(opts.state_dir, pair.name)
    local ctx = context.new(pair, top, {
      action = opts.action, progress = opts.progress, timeouts = opts.timeouts, state = state,
      graph = opts.graph,
    })
    result.ctx = ctx
    if opts.action == "apply" or opts.action == "destroy" then
      state:lock{ action = opts.action, timeout = opts.lock_timeout, sleep = require("kumo.sched").sleep,
        check = function() ctx:check() end,
        on_wait = function(h)
          ctx.progress(pair.name, "waiting for the lock held by " .. state_mod.describe_holder(h))
        end }
      -- what the run read for all pairs before this serves this pair no more
      ctx:locked()
    else
      local h = state:holder()
      if h then
        ctx:note(string.format("an apply or destroy of this pair is running (%s): this %s shows a state "
          .. "mid-way", state_mod.describe_holder(h), opts.action))
      end
    end
    local problems = prechecks.run(ctx)
    if #problems > 0 then
      for _, p in ipairs(problems) do problem(result, p) end
      error({ precheck = true }, 0)
    end
    M.run_steps(ctx, M.load_steps(opts.steps), opts.action, result, opts.replace)
    -- verify --connect tries the connection even after problems: its failure names the part
    if opts.action == "verify" and (#result.problems == 0 or ctx.top.connect) then
      require("rds-proxy.connect").add(ctx, result)
    end
  end)
  if state then state:unlock() end
  local ctx = result.ctx
  result.ctx = nil
  if ctx then
    result.calls = ctx.actions
    result.notes = ctx.notes
    result.facts = ctx.facts
    result.ids = ctx.ids
    result.endpoint_address = ctx.ids.endpoint
    result.state_dir = opts.state_dir
  end
  if not ok then
    result.outcome = "failed"
    if type(err) == "table" and err.interrupted then
      result.interrupted = { signal = err.signal, name = err.name }
      result.error = tostring(err)
    elseif type(err) == "table" and (err.retries_exhausted or transient(err)) then
      -- the retry layer gave up on throttling or unavailability: nothing
      -- is wrong with the config, and the journal lets a rerun go on
      local text = tostring(err)
      if not text:find("AWS throttled/unavailable", 1, true) then text = "AWS throttled/unavailable: " .. text end
      result.error = string.format("%s; the config is fine; rerun %s to resume", text, opts.action)
      result.transient = true
    elseif not (type(err) == "table" and err.precheck) then
      result.error = tostring(err)
    end
    -- for --output json's structured error (rds-proxy.report)
    if result.error then
      result.error_info = { step = ctx and ctx.step_name,
        code = type(err) == "table" and err.code or (result.interrupted and "Interrupted") or nil,
        retryable = result.transient or (type(err) == "table" and err.retryable) or false }
    end
  elseif #result.problems > 0 then
    result.outcome = "failed"
  end
  return result
end

return M
