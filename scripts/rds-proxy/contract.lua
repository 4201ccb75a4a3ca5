--- The step contract, checked before any AWS call: every step (a module
-- of kumo's, a module next to the config, or a table written in the
-- config's `steps` list) has a name, an account and the functions the
-- engine calls; its `needs` name steps of this workflow that come before
-- it. Every problem names the step and the fix; the entry script turns
-- them into config errors (exit 2, nothing called).
-- @module rds-proxy.contract
local M = {}

--- The keys a step may have, with the type each must be. `read`,
-- `create` and `id` are required (the engine calls them on every step).
-- `create_first` is a list of error codes ("already exists": the engine
-- then reads first, see engine.lua); `read_ahead = true` says the step's
-- read needs no other step's ids (destroy reads it beside the others);
-- `stale_last = true` says a copy under a former setting may still be used
-- by later steps, so apply deletes it after all of them.
M.KEYS = {
  name = "string", title = "string", account = "string", needs = "table",
  with_parent = "string", allow_rules = "table|function",
  enabled = "function", read = "function", id = "function", diff = "function",
  create = "function", update = "function", verify = "function", delete = "function",
  tags = "function", owned = "function", stale = "function",
  create_first = "table", read_ahead = "boolean", stale_last = "boolean",
}
local REQUIRED = { "read", "create", "id" }

local function show(v)
  if type(v) == "string" then return string.format("%q", #v > 40 and v:sub(1, 37) .. "..." or v) end
  return "a " .. type(v)
end

local function sorted_keys(t)
  local names = {}
  for k in pairs(t) do names[#names + 1] = k end
  table.sort(names)
  return names
end

local function closest(key, names)
  if #key > 64 then return nil end
  return require("kumo.suggest").close_matches(key, sorted_keys(names), 1)[1]
end

-- How a step is named in messages: its name, else its place in the list.
local function label(step, i)
  if type(step) == "table" and type(step.name) == "string" then return string.format("step %q", step.name) end
  return string.format("steps[%d]", i)
end

-- The shape of one step. `strict` (a table written in the config) also
-- refuses keys the contract does not know: a typo such as `delet` would
-- otherwise leave a resource behind on destroy, silently.
local function check_shape(errs, step, i, strict)
  local where = label(step, i)
  if type(step) ~= "table" then
    errs[#errs + 1] = string.format("%s: is %s; a step is a table { name=, account=, read=, create=, id=, ... } "
      .. "(docs/workflow.md, \"Writing a step\")", where, show(step))
    return false
  end
  if type(step.name) ~= "string" or not step.name:match("^[%a_][%w_]*$") then
    errs[#errs + 1] = string.format("%s: name must be a step name of letters, digits and _ (e.g. name = "
      .. "\"proxy_alarm\"), got %s", where, step.name == nil and "nothing" or show(step.name))
  end
  if step.account ~= "app" and step.account ~= "rds" then
    errs[#errs + 1] = string.format("%s: account must be \"app\" or \"rds\" (the account its resource is in), "
      .. "got %s", where, step.account == nil and "nothing" or show(step.account))
  end
  for _, k in ipairs(REQUIRED) do
    if type(step[k]) ~= "function" then
      errs[#errs + 1] = string.format("%s: %s must be a function (function step.%s(%s) ... end)", where, k, k,
        k == "id" and "live" or "ctx")
    end
  end
  for k, v in pairs(step) do
    local want = type(k) == "string" and M.KEYS[k]
    if want then
      if not want:find(type(v), 1, true) then
        errs[#errs + 1] = string.format("%s: %s must be a %s, got %s", where, k, want:gsub("|", " or "), show(v))
      end
    elseif strict then
      local near = type(k) == "string" and closest(k, M.KEYS)
      errs[#errs + 1] = string.format("%s: %s is not part of the step contract%s", where,
        type(k) == "string" and k or "[" .. tostring(k) .. "]",
        near and string.format(" (did you mean %q?)", near)
          or "; a step has " .. table.concat(sorted_keys(M.KEYS), ", "))
    end
  end
  if step.diff and not step.update and step.with_parent == nil then
    errs[#errs + 1] = string.format("%s: has diff but no update: give function step.update(ctx, live, diffs) "
      .. "(called when diff returns changes)", where)
  end
  if step.needs ~= nil and type(step.needs) == "table" then
    for j, n in ipairs(step.needs) do
      if type(n) ~= "string" then
        errs[#errs + 1] = string.format("%s: needs[%d] must be a step name, got %s", where, j, show(n))
      end
    end
  end
  if type(step.create_first) == "table" then
    local codes, n = step.create_first, 0
    for _ in pairs(codes) do n = n + 1 end
    if #codes == 0 or n ~= #codes then
      errs[#errs + 1] = string.format("%s: create_first must be a list of the error codes create's call answers "
        .. "when the resource exists (e.g. create_first = { \"DBProxyAlreadyExistsFault\" }), got %s", where,
        #codes == 0 and "no code" or "other keys")
    end
    for j, c in ipairs(codes) do
      if type(c) ~= "string" or not c:match("^[%a][%w%.]*$") then
        errs[#errs + 1] = string.format("%s: create_first[%d] must be an AWS error code such as "
          .. "\"EntityAlreadyExists\", got %s", where, j, show(c))
      end
    end
  end
  return true
end

-- A cycle through `needs` from `start`, as a list of names, or nil.
local function find_cycle(byname, start)
  local path, on = {}, {}
  local function visit(name)
    if on[name] then
      local cyc, from = {}, nil
      for k, n in ipairs(path) do
        if n == name then from = k end
        if from then cyc[#cyc + 1] = n end
      end
      cyc[#cyc + 1] = name
      return cyc
    end
    local s = byname[name]
    if not s or type(s.needs) ~= "table" then return nil end
    on[name] = true
    path[#path + 1] = name
    for _, n in ipairs(s.needs) do
      if type(n) == "string" then
        local c = visit(n)
        if c then return c end
      end
    end
    path[#path] = nil
    on[name] = nil
    return nil
  end
  return visit(start)
end

--- Load steps: names of kumo's steps (`scripts/rds-proxy/steps/`) or of
-- modules on package.path (next to the config), and step tables as they are.
-- @param[opt] names the list (default: `steps/init.lua`)
-- @return the list of step tables, in the same order
function M.load(names)
  names = names or require "rds-proxy.steps"
  local steps = {}
  for i, n in ipairs(names) do
    if type(n) == "table" then
      steps[i] = n
    else
      -- kumo's step, else a user's module on package.path (found by name
      -- first, so a load error in either surfaces as itself)
      local own = "rds-proxy.steps." .. n
      steps[i] = require(package.searchpath(own, package.path) and own or n)
    end
  end
  return steps
end

--- Check what a step's `delete` returned (the engine calls this after
-- every delete): nothing (the engine reads the step again to prove it
-- gone), `"gone"` (the delete waited until a read found it gone: that read
-- is the proof) or `"with <step>"` (it goes with that step's delete, whose
-- proof proves both; `<step>` must be a step of this workflow).
-- @param step the step
-- @param proof what its delete returned
-- @param byname the workflow's steps by name
-- @return nil when sound, else the problem naming the step and the fix
function M.check_proof(step, proof, byname)
  if proof == nil or proof == "gone" then return nil end
  local parent = type(proof) == "string" and proof:match("^with (.+)$")
  if parent and byname[parent] then return nil end
  if parent then
    local near = closest(parent, byname)
    return string.format("step %q: its delete returned %s, but %q is not a step of this workflow%s; "
      .. "return \"with <step>\" naming the step whose delete removes this resource", tostring(step.name),
      show(proof), parent, near and string.format(" (did you mean \"with %s\"?)", near) or "")
  end
  return string.format("step %q: its delete returned %s; a delete returns nothing (the engine reads the step "
    .. "again), \"gone\" (its own read found it gone) or \"with <step>\" (it goes with that step's delete)",
    tostring(step.name), show(proof))
end

--- Check a list of loaded steps.
-- @param steps the steps, in apply order
-- @param[opt] strict a set of list positions written as tables in the config
-- @return a list of problems (empty when the list is sound), each naming the step and the fix
function M.check(steps, strict)
  local errs = {}
  local byname, pos = {}, {}
  for i, step in ipairs(steps) do
    if check_shape(errs, step, i, strict and strict[i]) and type(step.name) == "string" then
      if byname[step.name] then
        errs[#errs + 1] = string.format("step %q: listed twice (steps[%d] and steps[%d]); step names must be "
          .. "unique: they key the journal and --replace", step.name, pos[step.name], i)
      else
        byname[step.name], pos[step.name] = step, i
      end
    end
  end
  local cycles = {}
  for i, step in ipairs(steps) do
    if type(step) == "table" and type(step.name) == "string" and type(step.needs) == "table"
        and pos[step.name] == i then
      for _, n in ipairs(step.needs) do
        if type(n) ~= "string" then  -- luacheck: ignore 542 (the shape check reported it)
        elseif not byname[n] then
          local near = closest(n, byname)
          errs[#errs + 1] = string.format("step %q: needs %q, which is not a step of this workflow%s; "
            .. "add it to steps or remove it from needs", step.name, n,
            near and string.format(" (did you mean %q?)", near) or "")
        elseif n == step.name then
          errs[#errs + 1] = string.format("step %q: needs itself; remove %q from its needs", step.name, n)
        elseif pos[n] > i then
          errs[#errs + 1] = string.format("step %q: needs %q, which comes after it (steps[%d] > steps[%d]); "
            .. "list %q before %q", step.name, n, pos[n], i, n, step.name)
        end
      end
      local cyc = find_cycle(byname, step.name)
      if cyc and #cyc > 2 then
        local key = table.concat(cyc, " -> ")
        local min = cyc[1]
        for _, n in ipairs(cyc) do if n < min then min = n end end
        if not cycles[min .. #cyc] then
          cycles[min .. #cyc] = true
          errs[#errs + 1] = string.format("step %q: its needs form a cycle (%s); a step cannot need what "
            .. "needs it: remove one of these needs", step.name, key)
        end
      end
    end
  end
  return errs
end

return M
