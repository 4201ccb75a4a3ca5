-- kumo.sched end to end: the AWS client and waiters in tasks against the
-- sandbox (real HTTP, SigV4 and IAM checks on). Throttling answers, as an
-- adaptive-mode client classifies them, slow the account's rate bucket; waiter polls reach the progress reporter; one
-- failing task leaves the others alone.
local aws = require "kumo.aws"
local json = require "kumo.json"
local sched = require "kumo.sched"
local ratelimit = require "kumo.ratelimit"
local progress = require "kumo.progress"
local sandbox = dofile((os.getenv("KUMO_ROOT") or ".") .. "/tests/lib/sandbox.lua")

local function sink()
  local s = { buf = {} }
  function s:write(...) for _, v in ipairs{ ... } do self.buf[#self.buf + 1] = v end return self end
  function s:flush() end
  function s:events()
    local out = {}
    for l in table.concat(self.buf):gmatch("[^\n]+") do out[#out + 1] = json.decode(l) end
    return out
  end
  return s
end

describe("kumo.sched with the AWS client against the sandbox", function()
  local sb, world, rds_s, app_s, role_arn

  setup(function()
    sb = sandbox.start{ lifecycle = "all=0,proxy=3" }
    world = sb.world
    local function session(profile)
      return aws.session{ profile = profile, config_file = sb.dir .. "/config",
        credentials_file = sb.dir .. "/credentials" }
    end
    rds_s, app_s = session("rds"), session("app")
    role_arn = rds_s:client("iam"):CreateRole{ RoleName = "sched-proxy-role",
      AssumeRolePolicyDocument = json.encode{ Version = "2012-10-17", Statement = { {
        Effect = "Allow", Principal = { Service = "rds.amazonaws.com" }, Action = "sts:AssumeRole" } } },
    }.Role.Arn
  end)
  teardown(function() if sb then sb.stop() end end)
  before_each(function() ratelimit.set_default(nil) end)

  local function buckets_of(account)
    local found = {}
    for key, b in pairs(ratelimit.default().buckets) do
      if key:find("/rds/", 1, true) then found[#found + 1] = { key = key, b = b } end
    end
    table.sort(found, function(x, y) return x.key < y.key end)
    local out = {}
    for _, f in ipairs(found) do
      if account == nil or f.key:find(account, 1, true) == 1 then out[#out + 1] = f end
    end
    return out, found
  end

  it("a throttled account's bucket slows down (adaptive mode); the other account's does not", function()
    ratelimit.configure{ rate = 20, burst = 40 }
    local rds_acct = world.accounts.rds
    sb.faults({ { op = "DescribeDBProxies", kind = "throttle", times = 2, account = rds_acct } })
    local results, errs = sched.parallel{
      function() return #rds_s:client("rds", { retry_mode = "adaptive" }):DescribeDBProxies{}.DBProxies end,
      function() return #app_s:client("rds", { retry_mode = "adaptive" }):DescribeDBProxies{}.DBProxies end,
    }
    sb.faults(json.array{}) -- no rules (an empty Lua table would encode as one rule: {})
    assert.same({}, errs) -- the client retried the throttled calls
    assert.equal(0, results[1])
    local _, all = buckets_of()
    assert.equal(2, #all, "one bucket per account for rds")
    local slowed, full = 0, 0
    for _, f in ipairs(all) do
      local b = ratelimit.default():bucket(f.key)
      if b.throttles > 0 then
        slowed = slowed + 1
        assert.truthy(b.rate < 20, "throttled bucket rate " .. b.rate)
      else
        full = full + 1
        assert.equal(20, b.rate)
      end
    end
    assert.equal(1, slowed)
    assert.equal(1, full)
  end)

  it("runs waiters in tasks: polls reach the progress reporter, a failure stays in its task", function()
    local rds = rds_s:client("rds")
    local subnets = {}
    for i, s in ipairs(world.rds.subnets) do subnets[i] = s.id end
    local pg = world.rds.databases.postgres
    local names = { "sched-a", "sched-b", "sched-missing" }
    local out = sink()
    local p = progress.new{ mode = "json", out = out }
    local results, errs, tasks = sched.parallel(names, function(name)
      if name ~= "sched-missing" then
        sched.step("create " .. name)
        rds:CreateDBProxy{ DBProxyName = name, EngineFamily = pg.engine_family, RoleArn = role_arn,
          VpcSubnetIds = subnets,
          Auth = { { AuthScheme = "SECRETS", SecretArn = pg.secret_arn, IAMAuth = "DISABLED" } } }
      end
      sched.step("wait for " .. name)
      local o = rds:wait("DBProxyAvailable", { DBProxyName = name }, { delay = 0.2, max_attempts = 10 })
      return o and "available"
    end, { progress = p })
    assert.equal("available", results[1])
    assert.equal("available", results[2])
    assert.truthy(errs[3], "waiting for a missing proxy fails")
    assert.equal("failed", tasks[3].status)
    assert.matches("DBProxyNotFound", tostring(errs[3]))
    local polls, done = {}, {}
    for _, e in ipairs(out:events()) do
      if e.event == "poll" then
        polls[e.task] = polls[e.task] or {}
        table.insert(polls[e.task], e.state)
        assert.equal("DBProxyAvailable", e.waiter)
      elseif e.event == "task_done" then
        done[e.task] = e
      end
    end
    -- the proxy needs 3 describes: creating, creating, available
    assert.same({ "creating", "creating", "available" }, polls["sched-a"])
    assert.is_true(done["sched-a"].ok)
    assert.is_true(done["sched-b"].ok)
    assert.is_false(done["sched-missing"].ok)
  end)
end)
