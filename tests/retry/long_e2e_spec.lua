-- Retries sized for long runs, end to end against the sandbox (real HTTP,
-- SigV4 and IAM checks on) with injected faults: kumo's `long` retry mode
-- keeps a call going through throttling, 5xx and dropped connections until
-- its time budget; waiters keep polling through throttled polls; retries
-- that run out say AWS throttled the call. Effects are read back through the
-- sandbox's own request counters (GET /_kumo/stats) and independent reads.
local aws = require "kumo.aws"
local json = require "kumo.json"
local errors = require "kumo.errors"
local ratelimit = require "kumo.ratelimit"
local sandbox = dofile((os.getenv("KUMO_ROOT") or ".") .. "/tests/lib/sandbox.lua")

describe("long-run retries against the sandbox", function()
  local sb, world, acct

  local function session(extra)
    local o = { profile = "rds", config_file = sb.dir .. "/config",
      credentials_file = sb.dir .. "/credentials" }
    for k, v in pairs(extra or {}) do o[k] = v end
    return aws.session(o)
  end

  -- calls of `op` the sandbox received for the rds account since the last reset
  local function served(service_op)
    local a = sb.stats().accounts[acct]
    local o = a and a.operations[service_op]
    return o and o.count or 0, o and o.errors or 0
  end

  local function faults(rules)
    sb.faults(rules)
    sb.reset_stats()
  end

  setup(function()
    sb = sandbox.start{ lifecycle = "all=2" }
    world = sb.world
    acct = world.accounts.rds
  end)

  teardown(function() if sb then sb.stop() end end)

  before_each(function() ratelimit.set_default(nil) end)
  after_each(function() sb.faults(json.array{}) end)

  it("a call throttled 6 times in a row succeeds in long mode (standard gives up after 3)", function()
    faults{ { op = "DescribeDBProxies", kind = "throttle", times = 6 } }
    local attempts = {}
    local s = session{ retry_mode = "long", random = function() return 0.05 end,
      on_attempt = function(i)
        if i.operation == "DescribeDBProxies" then attempts[#attempts + 1] = i end
      end }
    local out = s:client("rds"):DescribeDBProxies{}
    assert.equal(6, out.ResponseMetadata.RetryAttempts)
    assert.same({ 7, 6 }, { served("rds:DescribeDBProxies") })
    assert.equal(7, #attempts)
    for i = 1, 6 do assert.equal("Throttling", attempts[i].code) end
    assert.is_false(attempts[7].retrying)
    -- the throttles taught the account's rds limiter (adaptive, shared by the process)
    local b = ratelimit.default():bucket(acct .. "/rds/" .. world.region)
    assert.is_true(b.adaptive)
    assert.equal(6, b.throttles)

    -- the same faults in standard mode: 3 attempts, then an error that blames AWS
    faults{ { op = "DescribeDBProxies", kind = "throttle", times = 6 } }
    local _, err = session{ random = function() return 0.05 end }:client("rds"):try("DescribeDBProxies", {})
    assert.same({ 3, 3 }, { served("rds:DescribeDBProxies") })
    assert.same({ true, true, 3 }, { err.retries_exhausted, err.throttled, err.attempts })
    assert.matches("^rds:DescribeDBProxies: AWS throttled the call %(Throttling: Rate exceeded%) — 3 attempts over",
      tostring(err))
  end)

  it("retries 5xx, 503 and dropped connections, creates included, without duplicates", function()
    local name = "long-retry-sg"
    faults{ { op = "CreateSecurityGroup", kind = "5xx", times = 2 },
      { op = "DescribeSecurityGroups", kind = "503", times = 2 },
      { op = "DescribeDBProxies", kind = "drop", times = 3 } }
    local s = session{ retry_mode = "long", random = function() return 0.1 end }
    local ec2 = s:client("ec2")
    local id = ec2:CreateSecurityGroup{ GroupName = name, Description = "long retries",
      VpcId = world.rds.vpc_id }.GroupId
    assert.same({ 3, 2 }, { served("ec2:CreateSecurityGroup") })
    local out = ec2:DescribeSecurityGroups{ Filters = { { Name = "group-name", Values = { name } } } }
    assert.same({ 3, 2 }, { served("ec2:DescribeSecurityGroups") })
    assert.equal(1, #out.SecurityGroups)
    assert.equal(id, out.SecurityGroups[1].GroupId)
    -- (libcurl itself resends once when a reused connection dies before any
    -- answer, so kumo may see 2 of the 3 drops)
    local retried = s:client("rds"):DescribeDBProxies{}.ResponseMetadata.RetryAttempts
    assert.truthy(retried == 2 or retried == 3, retried)
    assert.equal(4, (served("rds:DescribeDBProxies")))
    -- read back with a plain standard session, no faults: exactly one group
    local again = session():client("ec2"):DescribeSecurityGroups{
      Filters = { { Name = "group-name", Values = { name } } } }
    assert.equal(1, #again.SecurityGroups)
  end)

  it("retries that run out of budget say AWS throttled the call, with attempts and time", function()
    faults{ { op = "DescribeDBProxies", kind = "throttle", times = -1 } }
    local s = session{ retry_mode = "long", retry_budget = 4, random = function() return 0.5 end }
    local _, err = s:client("rds"):try("DescribeDBProxies", {})
    -- backoff 0.5, 1, 2 s..., and the account's adaptive limiter, taught by the
    -- throttles, spaces the attempts too; the next delay would pass the 4 s
    assert.same({ err.attempts, err.attempts }, { served("rds:DescribeDBProxies") })
    assert.truthy(err.attempts >= 3 and err.attempts <= 4, err.attempts)
    assert.same({ true, true, true }, { err.retries_exhausted, err.throttled, err.retry_budget_exhausted })
    -- a retry starts only if its backoff ends within the budget; the attempt
    -- itself and its wait for the adaptive bucket (at least 0.5/s) may end after
    assert.truthy(err.elapsed >= 1.5 and err.elapsed < 4 + 2.5, err.elapsed)
    assert.is_true(errors.is_transient(err))
    assert.matches("^rds:DescribeDBProxies: AWS throttled the call %(Throttling: Rate exceeded%) "
      .. "— " .. err.attempts .. " attempts over %d%.%d s; last request id %S+$", tostring(err))
    -- a real answer is not transient
    sb.faults(json.array{})
    local _, nf = s:client("rds"):try("DescribeDBProxies", { DBProxyName = "no-such-proxy" })
    assert.equal("DBProxyNotFoundFault", nf.code)
    assert.is_false(errors.is_transient(nf))
    assert.is_nil(nf.retries_exhausted)
  end)

  it("a waiter whose polls are throttled 5 times still reaches success, counting them", function()
    local rds = session():client("rds")
    local id = "long-retry-db"
    rds:CreateDBInstance{ DBInstanceIdentifier = id, DBInstanceClass = "db.t3.micro", Engine = "mysql",
      MasterUsername = "admin", MasterUserPassword = "secret-password-1", AllocatedStorage = 20,
      DBSubnetGroupName = world.rds.db_subnet_group }
    faults{ { op = "DescribeDBInstances", kind = "throttle", times = 5 } }
    -- one attempt per call: every throttle reaches the waiter as a failed poll
    local polls = {}
    local out = session{ max_attempts = 1 }:client("rds"):wait("DBInstanceAvailable",
      { DBInstanceIdentifier = id }, { delay = 0.1, max_attempts = 12,
        on_poll = function(i) polls[#polls + 1] = i end })
    assert.equal("available", out.DBInstances[1].DBInstanceStatus)
    assert.equal(5, polls[#polls].throttled_polls)
    assert.equal("success", polls[#polls].state)
    local count, errs = served("rds:DescribeDBInstances")
    assert.equal(5, errs)
    assert.equal(#polls, count) -- every call the sandbox saw was one poll
    assert.is_true(#polls >= 6)
    for i = 1, 5 do assert.is_true(polls[i].transient) end
  end)
end)
