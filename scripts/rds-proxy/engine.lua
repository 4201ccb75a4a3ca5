--- Runs one action (plan, apply, verify, destroy) for one pair over the
-- step modules listed in `steps/init.lua`.
--
-- Every step is first *read* (found again by deterministic names and
-- tags), so a second apply finds everything and changes nothing, and an
-- apply interrupted at any point resumes where it stopped.
-- @module rds-proxy.engine
local context = require "rds-proxy.context"
local prechecks = require "rds-proxy.prechecks"
local state_mod = require "rds-proxy.state"

local M = {}

--- Load the step modules named in `steps/init.lua` (or a given list).
function M.load_steps(names)
  names = names or require "rds-proxy.steps"
  local steps = {}
  for i, n in ipairs(names) do
    if type(n) == "table" then
      steps[i] = n
    else
      local ok, mod = pcall(require, "rds-proxy.steps." .. n)
      steps[i] = ok and mod or require(n)  -- a user's module on package.path
    end
  end
  return steps
end

local function enabled(step, ctx)
  return step.enabled == nil or step.enabled(ctx)
end

local function tagged(live, pair)
  for _, list in ipairs{ live and live.Tags, live and live.tags } do
    for _, t in ipairs(list or {}) do
      if (t.Key or t.key) == "kumo:pair" and (t.Value or t.value) == pair then return true end
    end
  end
  return false
end

local function record(result, step, action, live, diffs)
  result.steps[#result.steps + 1] = {
    name = step.name, title = step.title, account = step.account, action = action,
    id = live and step.id and step.id(live) or nil, diffs = diffs,
  }
end

-- Read every step in apply order, filling ctx.ids: later steps need the
-- ids of earlier ones (the proxy SG for the DB rule, ...).
local function read_all(ctx, steps)
  local lives = {}
  for _, step in ipairs(steps) do
    if enabled(step, ctx) then
      local live = step.read(ctx)
      lives[step.name] = live
      if live and step.id then ctx.ids[step.name] = step.id(live) end
    end
  end
  return lives
end

local function do_plan(ctx, steps, result)
  for _, step in ipairs(steps) do
    if enabled(step, ctx) then
      local live = step.read(ctx)
      if live then
        ctx.ids[step.name] = step.id and step.id(live)
        local diffs = step.diff and step.diff(ctx, live) or {}
        record(result, step, #diffs > 0 and "update" or "unchanged", live, diffs)
      elseif step.with_parent then
        record(result, step, "create", nil, { { key = "with", want = step.with_parent } })
      else
        record(result, step, "create")
      end
    end
  end
end

local function do_apply(ctx, steps, result)
  for _, step in ipairs(steps) do
    if enabled(step, ctx) then
      ctx.progress(ctx.pair.name, step.title)
      local live = step.read(ctx)
      local action = "unchanged"
      local diffs
      if not live then
        live = step.create(ctx)
        action = "create"
      else
        diffs = step.diff and step.diff(ctx, live) or {}
        if #diffs > 0 then
          live = step.update(ctx, live, diffs)
          action = "update"
        end
        if step.delete and not ctx.state:get(step.name) then
          -- found without a journal entry: ours (tag) or the user's
          if tagged(live, ctx.pair.name) then
            ctx.state:created(step.name, step.id(live))
          end
        end
      end
      if live and step.id then ctx.ids[step.name] = step.id(live) end
      record(result, step, action, live, diffs)
    end
  end
end

local function do_verify(ctx, steps, result)
  for _, step in ipairs(steps) do
    if enabled(step, ctx) then
      local live = step.read(ctx)
      if not live then
        result.problems[#result.problems + 1] = step.title .. " is missing — run apply"
        record(result, step, "missing")
      else
        ctx.ids[step.name] = step.id and step.id(live)
        local problems = step.verify and step.verify(ctx, live) or {}
        for _, p in ipairs(problems) do result.problems[#result.problems + 1] = step.title .. ": " .. p end
        record(result, step, #problems == 0 and "ok" or "problem", live)
      end
    end
  end
end

local function do_destroy(ctx, steps, result)
  local lives = read_all(ctx, steps)
  for i = #steps, 1, -1 do
    local step = steps[i]
    if enabled(step, ctx) and step.delete then
      local live = lives[step.name]
      local owned = ctx.state:owns(step.name) or (live and tagged(live, ctx.pair.name))
      if live and owned then
        ctx.progress(ctx.pair.name, "deleting " .. step.title)
        step.delete(ctx, live)
        record(result, step, "delete", live)
      elseif live then
        record(result, step, "kept (not created by kumo)", live)
      else
        record(result, step, "absent")
      end
      ctx.state:deleted(step.name)
    end
  end
  if ctx.state:empty() then ctx.state:remove_file() end
end

--- Run `action` for one pair.
-- @param pair a resolved pair
-- @param top the resolved config
-- @param opts `{ action=, state_dir=, progress=, timeouts=, steps= }`
-- @return a result table: `pair, action, outcome ("ok"|"failed"), steps,
--   calls, problems, notes, endpoint_address, error`
function M.run(pair, top, opts)
  local result = { pair = pair.name, action = opts.action, outcome = "ok",
                   steps = {}, calls = {}, problems = {}, notes = {} }
  local ok, err = pcall(function()
    local ctx = context.new(pair, top, {
      action = opts.action, progress = opts.progress, timeouts = opts.timeouts,
      state = state_mod.open(opts.state_dir, pair.name),
    })
    result.ctx = ctx
    local problems = prechecks.run(ctx)
    if #problems > 0 then
      for _, p in ipairs(problems) do result.problems[#result.problems + 1] = p end
      error({ precheck = true }, 0)
    end
    local steps = M.load_steps(opts.steps)
    if opts.action == "plan" then do_plan(ctx, steps, result)
    elseif opts.action == "apply" then do_apply(ctx, steps, result)
    elseif opts.action == "verify" then do_verify(ctx, steps, result)
    elseif opts.action == "destroy" then do_destroy(ctx, steps, result)
    end
    if opts.action == "verify" and #result.problems == 0 then
      require("rds-proxy.connect").add(ctx, result)
    end
  end)
  local ctx = result.ctx
  result.ctx = nil
  if ctx then
    result.calls = ctx.actions
    result.notes = ctx.notes
    result.facts = ctx.facts
    result.ids = ctx.ids
    result.endpoint_address = ctx.ids.endpoint
  end
  if not ok then
    result.outcome = "failed"
    if not (type(err) == "table" and err.precheck) then
      result.error = tostring(err)
    end
  elseif #result.problems > 0 then
    result.outcome = "failed"
  end
  return result
end

return M
