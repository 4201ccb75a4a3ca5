-- The workflow context's adoption rule (scripts/rds-proxy/context.lua): an
-- "already exists" answer to a create is kumo's own only after a retried
-- attempt or an earlier run's intent; adopting requires the pair's tag.
-- The client here is a stand-in object: this is the rule's unit test; the
-- end-to-end proof over HTTP is suite 93 and `make chaos`.
local root = os.getenv("KUMO_ROOT") or "."
package.path = root .. "/scripts/?.lua;" .. package.path
local sys = require "kumo.sys"
local context = require "rds-proxy.context"
local state = require "rds-proxy.state"

local dir = os.tmpname()
os.remove(dir)
dir = dir .. "-ctx"

local function new_ctx(st)
  -- profiles only: no call is made while building the context
  assert(sys.mkdir(dir, 448))
  local f = assert(io.open(dir .. "/config", "w"))
  f:write("[profile app]\nregion = us-east-1\n[profile rds]\nregion = us-east-1\n")
  f:close()
  sys.setenv("AWS_CONFIG_FILE", dir .. "/config")
  local pair = { name = "p1", tags = { ["kumo:pair"] = "p1" }, app = { profile = "app" }, rds = { profile = "rds" } }
  local ctx = context.new(pair, { region = "us-east-1" }, { action = "apply", state = st })
  return ctx
end

-- A client whose create answers "already exists" after `attempts` attempts.
local function exists_client(attempts)
  return { try = function(_, op)
    return nil, { code = "EntityAlreadyExists", message = op .. ": Role x already exists.", attempts = attempts }
  end }
end

describe("rds-proxy context: adoption", function()
  after_each(function()
    os.execute("rm -rf '" .. dir .. "'")
    sys.setenv("AWS_CONFIG_FILE", nil)
  end)

  it("adopts after a retried attempt (the first attempt's answer was lost)", function()
    local st = state.open(dir .. "/s", "p1")
    local ctx = new_ctx(st)
    ctx.clients["rds:iam"] = exists_client(2)
    ctx.step_name = "role"
    st:intend("role", {})
    local out, why = ctx:mutate("rds", "iam", "CreateRole", {}, nil, { adopt = { "EntityAlreadyExists" } })
    assert.is_nil(out)
    assert.are.equal("adopt", why)
    assert.are.equal("adopted (EntityAlreadyExists after a retried attempt)", ctx.actions[1].note)
  end)

  it("adopts after this run's or an earlier run's intent, and not without one", function()
    local st = state.open(dir .. "/s", "p1")
    local ctx = new_ctx(st)
    ctx.clients["rds:iam"] = exists_client(1)
    ctx.step_name = "role"
    -- no intent for the step: the name is someone else's
    local ok, err = pcall(ctx.mutate, ctx, "rds", "iam", "CreateRole", {}, nil, { adopt = { "EntityAlreadyExists" } })
    assert.is_false(ok)
    assert.truthy(err:find("role: CreateRole answered EntityAlreadyExists", 1, true), err)
    assert.truthy(err:find("this run did not make it", 1, true), err)
    -- this run's own intent: libcurl may have resent the create by itself
    -- (a reused connection that died before answering), so it may be ours
    st:intend("role", {})
    local _, why = ctx:mutate("rds", "iam", "CreateRole", {}, nil, { adopt = { "EntityAlreadyExists" } })
    assert.are.equal("adopt", why)
    assert.are.equal("adopted (EntityAlreadyExists after this run's intent)", ctx.actions[#ctx.actions].note)
    -- the next run opens the journal holding that intent
    local st2 = state.open(dir .. "/s", "p1")
    local ctx2 = new_ctx(st2)
    ctx2.clients["rds:iam"] = exists_client(1)
    ctx2.step_name = "role"
    _, why = ctx2:mutate("rds", "iam", "CreateRole", {}, nil, { adopt = { "EntityAlreadyExists" } })
    assert.are.equal("adopt", why)
    assert.are.equal("adopted (EntityAlreadyExists after an earlier run's intent)", ctx2.actions[#ctx2.actions].note)
  end)

  it("records an adopted resource only when it carries the pair's tag", function()
    local st = state.open(dir .. "/s", "p1")
    local ctx = new_ctx(st)
    local ok, err = pcall(ctx.adopt, ctx, "role", { Arn = "arn:r", Tags = { { Key = "kumo:pair", Value = "other" } } },
      "arn:r")
    assert.is_false(ok)
    assert.truthy(err:find("exists without the tag kumo:pair=p1", 1, true), err)
    assert.is_nil(st:get("role"))
    ctx:adopt("role", { Arn = "arn:r", Tags = { { Key = "kumo:pair", Value = "p1" } } }, "arn:r")
    assert.are.equal("created", st:get("role").status)
    assert.are.equal("arn:r", st:get("role").id)
  end)

  it("passes other errors through unchanged", function()
    local st = state.open(dir .. "/s", "p1")
    local ctx = new_ctx(st)
    ctx.clients["rds:iam"] = { try = function() return nil, { code = "AccessDenied", attempts = 1 } end }
    local ok, err = pcall(ctx.mutate, ctx, "rds", "iam", "CreateRole", {}, nil, { adopt = { "EntityAlreadyExists" } })
    assert.is_false(ok)
    assert.are.equal("AccessDenied", err.code)
  end)
end)
