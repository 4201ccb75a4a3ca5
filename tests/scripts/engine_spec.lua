-- The engine over step *tables* (no AWS): the step contract (checked
-- before anything runs: functions, account, `needs` unknown / after /
-- cyclic, keys outside the contract), the order of the run following the
-- list and its `needs`, plan / apply / verify / destroy on an in-memory
-- resource store, a second apply that changes nothing, duplicates and
-- copies under a former name (stale) deleted and proven gone, and the
-- confinement of step tables written in a config (no io/os, only a view
-- of the context).
local root = os.getenv("KUMO_ROOT") or "."
package.path = root .. "/scripts/?.lua;" .. root .. "/scripts/?/init.lua;" .. package.path
local engine = require "rds-proxy.engine"
local contract = require "rds-proxy.contract"
local config = require "rds-proxy.config"
local confine = require "rds-proxy.confine"
local state_mod = require "rds-proxy.state"

local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  return d .. "-engine"
end

-- A step over `store` (name -> resource): resources carry the pair's tag;
-- `log` records each call as "step:function".
local function store_step(name, store, log, extra)
  local s = { name = name, title = name .. " thing", account = "rds" }
  local function tagged(id, want)
    return { Id = id, Want = want, Tags = { { Key = "kumo:pair", Value = "p" } } }
  end
  function s.read(ctx)
    log[#log + 1] = name .. ":read"
    local live, dups = nil, {}
    local ids = {}
    for id in pairs(store) do ids[#ids + 1] = id end
    table.sort(ids)
    for _, id in ipairs(ids) do
      local r = store[id]
      if r.step == name then
        if r.name == (ctx.names[name] or name) and not live then live = r.res else dups[#dups + 1] = r.res end
      end
    end
    table.sort(dups, function(a, b) return a.Id < b.Id end)
    return live, dups
  end
  function s.id(live) return live.Id end
  function s.diff(ctx, live)
    if live.Want ~= ctx.want then return { { key = "Want", have = tostring(live.Want), want = tostring(ctx.want) } } end
    return {}
  end
  function s.create(ctx)
    log[#log + 1] = name .. ":create"
    local id = name .. "-" .. tostring(#log)
    store[id] = { step = name, name = ctx.names[name] or name, res = tagged(id, ctx.want) }
    ctx.state:created(name, id, { info = { name = ctx.names[name] or name } })
    return store[id].res
  end
  function s.update(ctx, live)
    log[#log + 1] = name .. ":update"
    live.Want = ctx.want
    return live
  end
  function s.verify(ctx, live)
    return live.Want == ctx.want and {} or { "Want is " .. tostring(live.Want) }
  end
  function s.delete(_, live)
    log[#log + 1] = name .. ":delete"
    if not (extra and extra.sticky) then store[live.Id] = nil end
  end
  function s.stale(ctx, d)
    local r = store[d.Id]
    if r and r.name ~= (ctx.names[name] or name) then return "renamed from " .. r.name end
  end
  for k, v in pairs(extra or {}) do if k ~= "sticky" then s[k] = v end end
  return s
end

local function new_ctx(dir, action)
  return { pair = { name = "p" }, ids = {}, facts = {}, action = action, names = {}, want = 1,
           state = state_mod.open(dir, "p"), progress = function() end,
           -- this fake remembers no answers, so a fresh read is a plain call
           fresh = function(_, fn, ...) return fn(...) end }
end

local function actions(result)
  local out = {}
  for _, s in ipairs(result.steps) do out[#out + 1] = s.name .. "=" .. s.action end
  return out
end

local function run(ctx, steps, action)
  ctx.action = action
  return engine.run_steps(ctx, steps, action, { steps = {}, problems = {} })
end

describe("the step contract", function()
  local noop = function() end
  local function st(name, more)
    local s = { name = name, account = "rds", read = noop, create = noop, id = noop }
    for k, v in pairs(more or {}) do s[k] = v end
    return s
  end

  it("accepts kumo's own steps and a sound list with needs", function()
    assert.are.same({}, contract.check(contract.load()))
    assert.are.same({}, contract.check({ st("a"), st("b", { needs = { "a" } }), st("c", { needs = { "a", "b" } }) }))
  end)

  it("names an unknown needed step and the fix, with the closest name", function()
    assert.are.same({ 'step "b": needs "aa", which is not a step of this workflow (did you mean "a"?); '
      .. "add it to steps or remove it from needs" }, contract.check({ st("a"), st("b", { needs = { "aa" } }) }))
  end)

  it("refuses a needed step listed after the step that needs it", function()
    assert.are.same({ 'step "a": needs "b", which comes after it (steps[2] > steps[1]); list "b" before "a"' },
      contract.check({ st("a", { needs = { "b" } }), st("b") }))
  end)

  it("refuses a cycle of needs, naming it", function()
    local errs = contract.check({ st("a", { needs = { "c" } }), st("b", { needs = { "a" } }),
                                  st("c", { needs = { "b" } }) })
    local text = table.concat(errs, "\n")
    assert.truthy(text:find('step "a": its needs form a cycle (a -> c -> b -> a); a step cannot need what '
      .. "needs it: remove one of these needs", 1, true), text)
    assert.truthy(text:find('step "a": needs "c", which comes after it', 1, true), text)
    assert.are.same({ 'step "a": needs itself; remove "a" from its needs' },
      contract.check({ st("a", { needs = { "a" } }) }))
  end)

  it("requires name, account, read, create and id, update with diff; no twice-listed name", function()
    local errs = contract.check({ { title = "x" } })
    assert.are.same({
      'steps[1]: name must be a step name of letters, digits and _ (e.g. name = "proxy_alarm"), got nothing',
      'steps[1]: account must be "app" or "rds" (the account its resource is in), got nothing',
      "steps[1]: read must be a function (function step.read(ctx) ... end)",
      "steps[1]: create must be a function (function step.create(ctx) ... end)",
      "steps[1]: id must be a function (function step.id(live) ... end)",
    }, errs)
    assert.are.same({ 'step "a": has diff but no update: give function step.update(ctx, live, diffs) '
      .. "(called when diff returns changes)" }, contract.check({ st("a", { diff = noop }) }))
    assert.are.same({ 'step "a": listed twice (steps[1] and steps[2]); step names must be unique: they key '
      .. "the journal and --replace" }, contract.check({ st("a"), st("a") }))
    assert.are.same({ 'step "a": needs must be a table, got "b"' }, contract.check({ st("a", { needs = "b" }) }))
  end)

  it("checks create_first (a list of error codes) and read_ahead (a boolean), misspelt or ill-typed", function()
    assert.are.same({}, contract.check({ st("a", { create_first = { "EntityAlreadyExists", "InvalidGroup.Duplicate" },
                                                   read_ahead = true }) }, { true }))
    assert.are.same({ 'step "a": create_firts is not part of the step contract (did you mean "create_first"?)' },
      contract.check({ st("a", { create_firts = { "EntityAlreadyExists" } }) }, { true }))
    assert.are.same({ 'step "a": read_ahaed is not part of the step contract (did you mean "read_ahead"?)' },
      contract.check({ st("a", { read_ahaed = true }) }, { true }))
    assert.are.same({ 'step "a": create_first must be a table, got "EntityAlreadyExists"' },
      contract.check({ st("a", { create_first = "EntityAlreadyExists" }) }))
    assert.are.same({ 'step "a": create_first must be a list of the error codes create\'s call answers when the '
      .. 'resource exists (e.g. create_first = { "DBProxyAlreadyExistsFault" }), got no code' },
      contract.check({ st("a", { create_first = {} }) }))
    assert.are.same({ 'step "a": create_first must be a list of the error codes create\'s call answers when the '
      .. 'resource exists (e.g. create_first = { "DBProxyAlreadyExistsFault" }), got other keys' },
      contract.check({ st("a", { create_first = { "EntityAlreadyExists", code = "x" } }) }))
    assert.are.same({ 'step "a": create_first[2] must be an AWS error code such as "EntityAlreadyExists", got a number' },
      contract.check({ st("a", { create_first = { "EntityAlreadyExists", 409 } }) }))
    assert.are.same({ 'step "a": read_ahead must be a boolean, got "yes"' },
      contract.check({ st("a", { read_ahead = "yes" }) }))
  end)

  it("accepts what a delete may return and names the step and the fix for anything else", function()
    local byname = { g = st("g"), r = st("r") }
    assert.is_nil(contract.check_proof(byname.r, nil, byname))
    assert.is_nil(contract.check_proof(byname.r, "gone", byname))
    assert.is_nil(contract.check_proof(byname.r, "with g", byname))
    assert.are.equal('step "r": its delete returned "with gg", but "gg" is not a step of this workflow (did you '
      .. 'mean "with g"?); return "with <step>" naming the step whose delete removes this resource',
      contract.check_proof(byname.r, "with gg", byname))
    assert.are.equal('step "r": its delete returned "gon"; a delete returns nothing (the engine reads the step '
      .. 'again), "gone" (its own read found it gone) or "with <step>" (it goes with that step\'s delete)',
      contract.check_proof(byname.r, "gon", byname))
    assert.truthy(contract.check_proof(byname.r, true, byname):find("returned a boolean", 1, true))
  end)

  it("refuses keys outside the contract only in a config's step tables", function()
    assert.are.same({}, contract.check({ st("a", { helper = noop }) }))
    assert.are.same({ 'step "a": delet is not part of the step contract (did you mean "delete"?)' },
      contract.check({ st("a", { delet = noop }) }, { true }))
  end)
end)

describe("the engine over step tables", function()
  local dir, store, log, steps
  before_each(function()
    dir = tmpdir()
    store, log = {}, {}
    steps = { store_step("a", store, log), store_step("b", store, log, { needs = { "a" } }),
              store_step("c", store, log, { needs = { "a", "b" } }) }
  end)
  after_each(function() os.execute("rm -rf '" .. dir .. "'") end)

  it("plans, applies in the order of needs, verifies, changes nothing on a second apply, destroys in reverse", function()
    local ctx = new_ctx(dir, "plan")
    assert.are.same({ "a=create", "b=create", "c=create" }, actions(run(ctx, steps, "plan")))
    assert.are.same({ "a:read", "b:read", "c:read" }, log)
    log = {}
    steps = { store_step("a", store, log), store_step("b", store, log, { needs = { "a" } }),
              store_step("c", store, log, { needs = { "a", "b" } }) }
    local r = run(new_ctx(dir, "apply"), steps, "apply")
    assert.are.same({ "a=create", "b=create", "c=create" }, actions(r))
    assert.are.same({ "a:read", "a:create", "b:read", "b:create", "c:read", "c:create" }, log)
    r = run(new_ctx(dir, "verify"), steps, "verify")
    assert.are.same({ "a=ok", "b=ok", "c=ok" }, actions(r))
    assert.are.same({}, r.problems)
    r = run(new_ctx(dir, "apply"), steps, "apply")
    assert.are.same({ "a=unchanged", "b=unchanged", "c=unchanged" }, actions(r))
    -- drift: update in place
    local c2 = new_ctx(dir, "plan")
    c2.want = 2
    assert.are.same({ "a=update", "b=update", "c=update" }, actions(run(c2, steps, "plan")))
    c2 = new_ctx(dir, "apply")
    c2.want = 2
    run(c2, steps, "apply")
    local n = 0
    for _, x in pairs(store) do n = n + 1; assert.are.equal(2, x.res.Want) end
    assert.are.equal(3, n)
    log = {}
    r = run(new_ctx(dir, "destroy"), steps, "destroy")
    assert.are.same({ "c=delete", "b=delete", "a=delete" }, actions(r))
    assert.is_nil(next(store), "everything is gone")
  end)

  it("replaces a copy under a former name: plan shows it, apply deletes it (proven) and creates the new", function()
    run(new_ctx(dir, "apply"), steps, "apply")
    local ctx = new_ctx(dir, "plan")
    ctx.names.b = "b2"
    local r = run(ctx, steps, "plan")
    assert.are.equal("b=replace (renamed from b; apply deletes the old one and creates the new one)",
      actions(r)[2])
    ctx = new_ctx(dir, "verify")
    ctx.names.b = "b2"
    r = run(ctx, steps, "verify")
    local text = table.concat(r.problems, "\n")
    assert.truthy(text:find("b thing: b-", 1, true) and text:find("(renamed from b) — run apply to delete it", 1, true),
      text)
    ctx = new_ctx(dir, "apply")
    ctx.names.b = "b2"
    r = run(ctx, steps, "apply")
    assert.are.same({ "a=unchanged", "b=delete (renamed)", "b=create", "c=unchanged" }, actions(r))
    local names = {}
    for _, x in pairs(store) do if x.step == "b" then names[#names + 1] = x.name end end
    assert.are.same({ "b2" }, names)
    -- destroy after a rename removes both when both exist
    store["b-old"] = { step = "b", name = "b", res = { Id = "b-old", Tags = { { Key = "kumo:pair", Value = "p" } } } }
    ctx = new_ctx(dir, "destroy")
    ctx.names.b = "b2"
    run(ctx, steps, "destroy")
    assert.is_nil(next(store))
  end)

  it("deletes duplicates first and fails, named, when a delete leaves the resource", function()
    local sticky = { store_step("a", store, log, { sticky = true }) }
    store.x1 = { step = "a", name = "a", res = { Id = "x1", Want = 1 } }
    store.x2 = { step = "a", name = "a", res = { Id = "x2", Want = 1 } }
    local ok, err = pcall(run, new_ctx(dir, "apply"), sticky, "apply")
    assert.is_false(ok)
    assert.truthy(tostring(err):find("a thing x2 is still there after its delete", 1, true), tostring(err))
  end)

  it("refuses a broken list before any step runs", function()
    local bad = { store_step("b", store, log, { needs = { "a" } }), store_step("a", store, log) }
    local ok, err = pcall(run, new_ctx(dir, "apply"), bad, "apply")
    assert.is_false(ok)
    assert.truthy(tostring(err):find('step "b": needs "a", which comes after it', 1, true), tostring(err))
    assert.are.same({}, log, "nothing was read or created")
  end)
end)

describe("the engine's economies", function()
  local dir, store, log
  before_each(function()
    dir = tmpdir()
    store, log = {}, {}
  end)
  after_each(function() os.execute("rm -rf '" .. dir .. "'") end)

  -- a create that answers "already exists" when the store holds the name
  -- (as ctx:mutate does for a step's `create_first` codes)
  local function unique_step(name)
    local s = store_step(name, store, log, { create_first = { "AlreadyExists" } })
    local create = s.create
    function s.create(ctx)
      for _, r in pairs(store) do
        if r.step == name and r.name == name then
          log[#log + 1] = name .. ":create"
          ctx.state:intend(name, { name = name })
          error({ create_first_exists = true, code = "AlreadyExists" }, 0)
        end
      end
      return create(ctx)
    end
    return s
  end

  it("creates at once what the journal does not know (create_first), reads first what it knows", function()
    local r = run(new_ctx(dir, "apply"), { unique_step("a") }, "apply")
    assert.are.same({ "a=create" }, actions(r))
    assert.are.same({ "a:create" }, log, "no read before the create")
    log = {}
    r = run(new_ctx(dir, "apply"), { unique_step("a") }, "apply")
    assert.are.same({ "a=unchanged" }, actions(r))
    assert.are.same({ "a:read" }, log)
  end)

  it("sends a create_first step answered 'already exists' the usual way: read, update, recorded as kumo's", function()
    store["a-1"] = { step = "a", name = "a", res = { Id = "a-1", Want = 0, Tags = { { Key = "kumo:pair", Value = "p" } } } }
    local r = run(new_ctx(dir, "apply"), { unique_step("a") }, "apply")
    assert.are.same({ "a=update" }, actions(r))
    assert.are.same({ "a:create", "a:read", "a:update" }, log)
    assert.are.equal(1, store["a-1"].res.Want)
    local st = state_mod.open(dir, "p")
    assert.are.equal("a-1", st:get("a").id)
    assert.is_true(st:owns("a"))
  end)

  it("keeps no claim on a same-named resource that is not the pair's", function()
    store["a-1"] = { step = "a", name = "a", res = { Id = "a-1", Want = 1, Tags = {} } }
    local r = run(new_ctx(dir, "apply"), { unique_step("a") }, "apply")
    assert.are.same({ "a=unchanged" }, actions(r))
    assert.is_nil(state_mod.open(dir, "p"):get("a"), "the create's intent is dropped: destroy will not touch it")
  end)

  it("lets a step's resource go with another's delete, proven by that delete's read", function()
    local steps = { store_step("g", store, log), store_step("r", store, log) }
    local removed_with_group = {}
    steps[2].delete = function(ctx, live)
      log[#log + 1] = "r:delete"
      if ctx.destroying.g then
        removed_with_group[#removed_with_group + 1] = live.Id
        return "with g"
      end
      store[live.Id] = nil
    end
    local gdelete = steps[1].delete
    steps[1].delete = function(ctx, live)
      gdelete(ctx, live)
      for _, id in ipairs(removed_with_group) do store[id] = nil end  -- the group takes its rules
    end
    run(new_ctx(dir, "apply"), steps, "apply")
    for k in pairs(log) do log[k] = nil end
    local r = run(new_ctx(dir, "destroy"), steps, "destroy")
    assert.are.same({ "g=delete", "r=delete" }, actions(r), "r is reported once g is proven gone")
    assert.are.same({ "g:read", "r:read", "r:delete", "g:delete", "g:read" }, log, "r is not read back itself")
    assert.is_nil(next(store))
  end)

  it("fails a destroy whose delete returns \"with <step>\" naming no step, before anything else is deleted", function()
    local steps = { store_step("g", store, log), store_step("r", store, log) }
    steps[2].delete = function() return "with gg" end
    run(new_ctx(dir, "apply"), steps, "apply")
    local ok, err = pcall(run, new_ctx(dir, "destroy"), steps, "destroy")
    assert.is_false(ok)
    assert.truthy(tostring(err):find('step "r": its delete returned "with gg", but "gg" is not a step of this '
      .. 'workflow (did you mean "with g"?)', 1, true), tostring(err))
    local n = 0
    for _ in pairs(store) do n = n + 1 end
    assert.are.equal(2, n, "g is not deleted after r's unsound delete")
  end)

  it("reads back a step that meant to go with another's delete when that one is not deleted", function()
    local steps = { store_step("g", store, log), store_step("r", store, log) }
    steps[1].delete = nil  -- g is never deleted by destroy
    steps[2].delete = function() return "with g" end  -- so r's resource stays
    run(new_ctx(dir, "apply"), steps, "apply")
    local ok, err = pcall(run, new_ctx(dir, "destroy"), steps, "destroy")
    assert.is_false(ok)
    assert.truthy(tostring(err):find("r thing r-", 1, true) and tostring(err):find("still there", 1, true),
      tostring(err))
  end)
end)

describe("the engine side by side (in a scheduler)", function()
  local sched = require "kumo.sched"
  local context = require "rds-proxy.context"
  local dir
  before_each(function() dir = tmpdir() end)
  after_each(function() os.execute("rm -rf '" .. dir .. "'") end)

  -- A step whose create and delete take `secs` and log their start and end.
  local function slow_step(name, store, log, extra)
    local s = { name = name, title = name .. " thing", account = "rds" }
    for k, v in pairs(extra or {}) do s[k] = v end
    function s.read() return store[name] end
    function s.id(live) return live.Id end
    function s.create(ctx)
      store[name] = { Id = name .. "-1", Tags = { { Key = "kumo:pair", Value = "p" } } }
      ctx.state:created(name, name .. "-1")
      return store[name]
    end
    function s.delete(ctx)
      log[#log + 1] = name .. "<"
      sched.sleep(0.05)
      if s.fail then error(name .. ": the delete failed", 0) end
      ctx:check()
      store[name] = nil
      log[#log + 1] = name .. ">"
    end
    return s
  end

  local function position(log, what)
    for i, v in ipairs(log) do if v == what then return i end end
  end

  it("destroys what steps say they need after what needs it, side by side otherwise, reported in order", function()
    local store, log = {}, {}
    local steps = { slow_step("a", store, log, { needs = {} }), slow_step("b", store, log, { needs = { "a" } }),
                    slow_step("c", store, log, { needs = { "a" } }), slow_step("d", store, log) }
    local r
    sched.run(function()
      local ctx = new_ctx(dir, "apply")
      ctx.check = function() end
      run(ctx, steps, "apply")
      ctx = new_ctx(dir, "destroy")
      ctx.check = function() end
      r = run(ctx, steps, "destroy")
    end)
    assert.are.same({ "d=delete", "c=delete", "b=delete", "a=delete" }, actions(r))
    assert.is_nil(next(store))
    -- d (no needs: it may depend on all) first; b and c side by side; a last
    assert.are.equal(2, position(log, "d>"))
    assert.truthy(position(log, "b<") < position(log, "c>") and position(log, "c<") < position(log, "b>"),
      table.concat(log, " "))
    assert.truthy(position(log, "a<") > position(log, "b>") and position(log, "a<") > position(log, "c>"),
      table.concat(log, " "))
  end)

  it("starts no delete after one failed, lets the running ones end and raises the failure as its step's", function()
    local store, log = {}, {}
    local steps = { slow_step("a", store, log, { needs = {} }), slow_step("b", store, log, { needs = { "a" } }),
                    slow_step("c", store, log, { needs = { "a" } }) }
    local ok, err, ctx
    sched.run(function()
      ctx = new_ctx(dir, "apply")
      ctx.check = function() end
      run(ctx, steps, "apply")
      steps[2].fail = true
      ctx = new_ctx(dir, "destroy")
      ctx.check = function() end
      ok, err = pcall(run, ctx, steps, "destroy")
    end)
    assert.is_false(ok)
    assert.are.equal("b: the delete failed", err)
    assert.are.equal("b", ctx.step_name)
    assert.is_nil(store.c, "c, running beside b, ended")
    assert.truthy(store.a and store.b, "a, which b needs, is not deleted")
  end)

  it("lets a create's background work run beside the next steps, ends it before a step that needs it", function()
    local store, log = {}, {}
    local ready = false
    local a = slow_step("a", store, log)
    local create = a.create
    a.create = function(ctx)
      local live = create(ctx)
      ctx:later(function() sched.sleep(0.1); ready = true end)
      return live
    end
    local seen = {}
    local function peek(name, more)
      local s = slow_step(name, store, log, more)
      local c = s.create
      s.create = function(ctx) seen[name] = ready; return c(ctx) end
      return s
    end
    local steps = { a, peek("b", { needs = {} }), peek("c", { needs = { "a" } }), peek("d", { needs = {} }) }
    sched.run(function()
      local ctx = new_ctx(dir, "apply")
      ctx.later = context.later
      run(ctx, steps, "apply")
    end)
    assert.are.same({ b = false, c = true, d = true }, seen)
    assert.is_true(ready)
  end)

  it("ends the run when background work is done, and fails it as that step's when it failed", function()
    local store, log = {}, {}
    local a = slow_step("a", store, log)
    local create = a.create
    a.create = function(ctx)
      local live = create(ctx)
      ctx:later(function() sched.sleep(0.05); error("a: the wait found it failed", 0) end)
      return live
    end
    local ok, err, ctx
    sched.run(function()
      ctx = new_ctx(dir, "apply")
      ctx.later = context.later
      ok, err = pcall(run, ctx, { a, slow_step("b", store, log, { needs = {} }) }, "apply")
    end)
    assert.is_false(ok)
    assert.are.equal("a: the wait found it failed", err)
    assert.are.equal("a", ctx.step_name)
    assert.truthy(store.b, "b ran beside a's wait")
  end)
end)

describe("step tables in a config", function()
  local dir
  before_each(function() dir = tmpdir(); os.execute("mkdir -p '" .. dir .. "'") end)
  after_each(function() os.execute("rm -rf '" .. dir .. "'") end)

  local BASE = [[
local step = { name = "note_step", title = "a note", account = "app", needs = { "share" } }
function step.read(ctx) %s end
function step.id(live) return live.Id end
function step.create(ctx) return { Id = "n1" } end
return {
  region = "ap-northeast-1",
  steps = { "share", step },
  pairs = { { name = "orders",
    app = { profile = "app", vpc_id = "vpc-0a1b2c3d", subnet_ids = { "subnet-0a", "subnet-0b" },
            client_security_group_ids = { "sg-0c" } },
    rds = { profile = "rds", db_instance_identifier = "orders-db", engine_family = "POSTGRESQL",
            secret_arn = "arn:aws:secretsmanager:ap-northeast-1:222222222222:secret:orders-AbCdEf",
            proxy_name = "orders-proxy" },
    endpoint = { name = "orders-app" } } },
}
]]

  local function load(body)
    local path = dir .. "/c.lua"
    local f = assert(io.open(path, "w"))
    f:write(string.format(BASE, body))
    f:close()
    local raw = assert(config.load(path))
    local cfg, errs = config.check(raw)
    assert.is_table(cfg, errs and table.concat(errs, "\n"))
    return cfg
  end

  it("pass the check, keep their place, and get a view of the context, not the context", function()
    local cfg = load("return { seen = { ctx.sessions == nil, ctx.client == nil, ctx.state.save == nil, "
      .. "ctx.state.remove_file == nil, ctx.pair.name, ctx:tag_list()[1].Key } }")
    assert.are.equal("share", cfg.steps[1])
    local st = cfg.steps[2]
    assert.are.equal("note_step", st.name)
    local real = { pair = { name = "orders", tags = { ["kumo:pair"] = "orders" } }, ids = {}, facts = {},
                   sessions = {}, client = function() end, state = state_mod.open(dir, "orders"),
                   tag_list = function(self) return { { Key = next(self.pair.tags) } } end }
    local live = st.read(real)
    assert.are.same({ true, true, true, true, "orders", "kumo:pair" }, live.seen)
  end)

  it("cannot use io or os when they run", function()
    local cfg = load("local f = io.open('" .. dir .. "/touched', 'w') return nil")
    local ok, err = pcall(cfg.steps[2].read, { pair = { name = "orders" }, state = {} })
    assert.is_false(ok)
    assert.truthy(tostring(err):find("io is not available: a config cannot read or write files", 1, true),
      tostring(err))
    assert.is_nil(io.open(dir .. "/touched"))
    cfg = load("return os.execute('touch " .. dir .. "/touched')")
    ok, err = pcall(cfg.steps[2].read, { pair = { name = "orders" }, state = {} })
    assert.is_false(ok)
    assert.truthy(tostring(err):find("os is not available", 1, true), tostring(err))
  end)

  it("are checked against the contract and needs before anything runs", function()
    local path = dir .. "/c.lua"
    local f = assert(io.open(path, "w"))
    f:write((string.format(BASE, "return nil"):gsub('needs = { "share" }', 'needs = { "proxy" }')))
    f:close()
    local cfg, errs = config.check(assert(config.load(path)))
    assert.is_nil(cfg)
    assert.are.same({ 'config: steps: step "note_step": needs "proxy", which is not a step of this workflow; '
      .. "add it to steps or remove it from needs" }, errs)
  end)

  it("confine.view passes calls to the real context and hides the rest", function()
    local calls = {}
    local real = { pair = {}, ids = {}, state = { get = function(_, k) return k .. "!" end, save = true },
                   read = function(self, side, svc, op) calls[#calls + 1] = { self, side, svc, op } return 1 end }
    local v = confine.view(real)
    assert.are.equal(1, v:read("rds", "ec2", "DescribeVpcs"))
    assert.are.equal(real, calls[1][1], "the real context makes the call")
    assert.are.equal("x!", v.state:get("x"))
    assert.is_nil(v.state.save)
    assert.are.equal(v, confine.view(v), "a view of a view is the view")
  end)
end)
