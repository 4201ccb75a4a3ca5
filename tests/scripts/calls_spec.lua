-- The workflow's call economy (scripts/rds-proxy/context.lua, sg.lua): the
-- per-run read memo shared by pairs and steps, its invalidation by the
-- mutations that name a resource, fresh reads for proofs, one fetch for
-- concurrent askers; and that the security-group paths reach AWS only
-- through ctx (a plan makes no mutating call through them).
-- The clients are stand-ins counting calls: the end-to-end figures over
-- HTTP are bench/parts.d/80-workflow.sh and 81-workflow-calls.sh, the
-- trust proofs suites 91-95 and `make chaos`.
local root = os.getenv("KUMO_ROOT") or "."
package.path = root .. "/scripts/?.lua;" .. package.path
local sys = require "kumo.sys"
local sched = require "kumo.sched"
local context = require "rds-proxy.context"
local sg = require "rds-proxy.sg"

local dir = os.tmpname()
os.remove(dir)
dir = dir .. "-calls"

local function setup_profiles()
  assert(sys.mkdir(dir, 448))
  local f = assert(io.open(dir .. "/config", "w"))
  f:write("[profile app]\nregion = us-east-1\n[profile rds]\nregion = us-east-1\n")
  f:close()
  sys.setenv("AWS_CONFIG_FILE", dir .. "/config")
end

local MUTATING = "^[A-Z][a-z]+"  -- the verb; reads are Describe/Get/List
local function is_read(op)
  local verb = op:match(MUTATING)
  return verb == "Describe" or verb == "Get" or verb == "List"
end

-- A client answering from `answers[op]` (a table, or a function(params)
-- returning out, err) and recording every call as "Op".
local function fake_client(calls, answers, opts)
  opts = opts or {}
  local c = {}
  local function answer(op, params)
    calls[#calls + 1] = op
    if opts.sleep then sched.sleep(opts.sleep) end
    local a = answers[op]
    if type(a) == "function" then return a(params) end
    if a == nil then return {} end
    return a
  end
  function c.try(_, op, params) return answer(op, params) end
  function c.paginate(_, op, params)
    local out, done = answer(op, params), false
    return function()
      if done then return nil end
      done = true
      return out
    end
  end
  return c
end

local function new_ctx(top, name, action, state)
  local pair = { name = name, region = "us-east-1", tags = { ["kumo:pair"] = name },
                 app = { profile = "app" }, rds = { profile = "rds" } }
  return context.new(pair, top, { action = action or "apply", state = state or {} })
end

describe("workflow call memo", function()
  before_each(setup_profiles)
  after_each(function()
    os.execute("rm -rf '" .. dir .. "'")
    sys.setenv("AWS_CONFIG_FILE", nil)
  end)

  it("answers a read once per run for every pair of the run, not across runs", function()
    local calls = {}
    local sts = fake_client(calls, { GetCallerIdentity = { Account = "222222222222" } })
    local top = { region = "us-east-1" }
    local a, b = new_ctx(top, "p1"), new_ctx(top, "p2")
    a.clients["rds:sts"], b.clients["rds:sts"] = sts, sts
    assert.are.equal("222222222222", a:read("rds", "sts", "GetCallerIdentity").Account)
    assert.are.equal("222222222222", b:read("rds", "sts", "GetCallerIdentity").Account)
    assert.are.equal(1, #calls)
    -- other parameters are another read
    b:read("rds", "sts", "GetCallerIdentity", { x = "y" })
    assert.are.equal(2, #calls)
    -- another run (another resolved config) asks again
    local c = new_ctx({ region = "us-east-1" }, "p1")
    c.clients["rds:sts"] = sts
    c:read("rds", "sts", "GetCallerIdentity")
    assert.are.equal(3, #calls)
  end)

  it("hands each caller its own copy (a step adding fields changes nothing for the next)", function()
    local calls = {}
    local top = { region = "us-east-1" }
    local a = new_ctx(top, "p1")
    a.clients["rds:iam"] = fake_client(calls, { GetRole = { Role = { Arn = "arn:r" } } })
    local one = a:read("rds", "iam", "GetRole", { RoleName = "r" })
    one.Role.policy = "added by a step"
    local two = a:read("rds", "iam", "GetRole", { RoleName = "r" })
    assert.is_nil(two.Role.policy)
    assert.are.equal(1, #calls)
  end)

  it("forgets the reads a mutation names (sent or answered), in its account and service only", function()
    local calls = {}
    local top = { region = "us-east-1" }
    local ctx = new_ctx(top, "p1")
    ctx.clients["rds:ec2"] = fake_client(calls, {
      DescribeSecurityGroupRules = function(p)
        return { SecurityGroupRules = { { SecurityGroupRuleId = "sgr-" .. p.Filters[1].Values[1], IsEgress = false } } }
      end,
      AuthorizeSecurityGroupIngress = { Return = true },
    })
    ctx.clients["app:ec2"] = fake_client(calls, { DescribeSecurityGroupRules = {} })
    local function rules(side, id)
      return ctx:read_all(side, "ec2", "DescribeSecurityGroupRules", { Filters = { { Name = "group-id", Values = { id } } } })
    end
    rules("rds", "sg-1"); rules("rds", "sg-2"); rules("app", "sg-1")
    assert.are.equal(3, #calls)
    rules("rds", "sg-1"); rules("rds", "sg-2"); rules("app", "sg-1")
    assert.are.equal(3, #calls, "all three from the memo")
    ctx:mutate("rds", "ec2", "AuthorizeSecurityGroupIngress", { GroupId = "sg-1" })
    assert.are.equal(4, #calls)
    rules("rds", "sg-1")
    assert.are.equal(5, #calls, "the group the mutation named is read again")
    rules("rds", "sg-2"); rules("app", "sg-1")
    assert.are.equal(5, #calls, "another group, another account: still remembered")
  end)

  it("forgets a read whose answer names what a mutation sends (a delete by ARN of a share found by name)", function()
    local calls = {}
    local ctx = new_ctx({ region = "us-east-1" }, "p1")
    ctx.clients["app:ram"] = fake_client(calls, {
      GetResourceShares = { resourceShares = { { name = "s", resourceShareArn = "arn:share/1" } } },
      DeleteResourceShare = { returnValue = true },
    })
    ctx:read("app", "ram", "GetResourceShares", { name = "s" })
    ctx:read("app", "ram", "GetResourceShares", { name = "s" })
    assert.are.equal(1, #calls)
    ctx:mutate("app", "ram", "DeleteResourceShare", { resourceShareArn = "arn:share/1" })
    ctx:read("app", "ram", "GetResourceShares", { name = "s" })
    assert.are.same({ "GetResourceShares", "DeleteResourceShare", "GetResourceShares" }, calls)
  end)

  it("makes a fresh read ask AWS (the proof of a mutation), and shares reads made inside it", function()
    local calls = {}
    local ctx = new_ctx({ region = "us-east-1" }, "p1")
    ctx.clients["rds:rds"] = fake_client(calls, { DescribeDBProxies = { DBProxies = {} } })
    ctx:read("rds", "rds", "DescribeDBProxies", { DBProxyName = "x" })
    ctx:read("rds", "rds", "DescribeDBProxies", { DBProxyName = "x" }, { fresh = true })
    assert.are.equal(2, #calls)
    ctx:fresh(function()
      ctx:read("rds", "rds", "DescribeDBProxies", { DBProxyName = "x" })
      ctx:read("rds", "rds", "DescribeDBProxies", { DBProxyName = "x" })
    end)
    assert.are.equal(3, #calls, "one new read inside the fresh window, the second from it")
  end)

  it("remembers AWS's 'not found' but never throttling or a 5xx", function()
    local calls = {}
    local n = 0
    local ctx = new_ctx({ region = "us-east-1" }, "p1")
    ctx.clients["rds:iam"] = fake_client(calls, { GetRole = function(p)
      if p.RoleName == "gone" then return nil, { code = "NoSuchEntity", http_status = 404 } end
      n = n + 1
      return nil, { code = "Throttling", http_status = 400, throttling = true }
    end })
    for _ = 1, 2 do
      local out, err = ctx:read("rds", "iam", "GetRole", { RoleName = "gone" })
      assert.is_nil(out)
      assert.are.equal("NoSuchEntity", err.code)
    end
    ctx:read("rds", "iam", "GetRole", { RoleName = "busy" })
    ctx:read("rds", "iam", "GetRole", { RoleName = "busy" })
    assert.are.equal(2, n)
    assert.are.equal(3, #calls)
  end)

  it("makes one call for pairs asking the same at once (the others wait for its answer)", function()
    local calls = {}
    local top = { region = "us-east-1" }
    local client = fake_client(calls, { DescribeOrganization = { Organization = { Id = "o-1" } } }, { sleep = 0.05 })
    local got = {}
    sched.run(function()
      local tasks = {}
      for i = 1, 4 do
        tasks[i] = sched.spawn(function()
          local ctx = new_ctx(top, "p" .. i)
          ctx.clients["app:organizations"] = client
          got[i] = ctx:read("app", "organizations", "DescribeOrganization").Organization.Id
        end)
      end
      for _, t in ipairs(tasks) do t:wait() end
    end)
    assert.are.same({ "o-1", "o-1", "o-1", "o-1" }, got)
    assert.are.equal(1, #calls)
  end)

  it("works a run-wide fact out once, and again after a transient answer", function()
    local ctx = new_ctx({ region = "us-east-1" }, "p1")
    local n = 0
    local function work() n = n + 1 return { state = n == 1 and "transient" or "on" } end
    local function keep(r) return r.state ~= "transient" end
    assert.are.equal("transient", ctx:once("k", work, keep).state)
    assert.are.equal("on", ctx:once("k", work, keep).state)
    assert.are.equal("on", ctx:once("k", work, keep).state)
    assert.are.equal(2, n)
  end)
end)

describe("workflow surveys (one read for every pair of the run)", function()
  before_each(setup_profiles)
  after_each(function()
    os.execute("rm -rf '" .. dir .. "'")
    sys.setenv("AWS_CONFIG_FILE", nil)
  end)

  local function run_pairs(top, names, fn)
    local ctxs = {}
    for i, name in ipairs(names) do
      ctxs[i] = new_ctx(top, name)
      top.pairs[i] = ctxs[i].pair
    end
    return ctxs, fn
  end

  -- a survey of every proxy: what a pair's step asks it
  local function proxies(ctx, calls, answer)
    ctx.clients["rds:rds"] = ctx.clients["rds:rds"] or fake_client(calls, { DescribeDBProxies = answer })
    return ctx:survey("rds", "rds", "proxies", function(peers, r)
      local out = r:read("rds", "rds", "DescribeDBProxies", {})
      return { n = #peers, names = out and out.names }
    end)
  end

  it("reads once for all the run's pairs in an account, each pair getting its own copy", function()
    local calls = {}
    local top = { region = "us-east-1", pairs = {} }
    local ctxs = run_pairs(top, { "p1", "p2", "p3" })
    local client = fake_client(calls, { DescribeDBProxies = { names = { "a" } } })
    for _, c in ipairs(ctxs) do c.clients["rds:rds"] = client end
    local a = proxies(ctxs[1], calls)
    a.names[1] = "changed by p1"
    local b = proxies(ctxs[2], calls)
    local c = proxies(ctxs[3], calls)
    assert.are.equal(1, #calls)
    assert.are.equal(3, a.n, "the fetch saw the three pairs")
    assert.are.same({ "a" }, b.names)
    assert.are.same({ "a" }, c.names)
  end)

  it("serves a pair only when read after its lock, and not after its own change (others keep it)", function()
    local calls = {}
    local top = { region = "us-east-1", pairs = {} }
    local ctxs = run_pairs(top, { "p1", "p2" })
    local client = fake_client(calls, { DescribeDBProxies = { names = {} }, CreateDBProxy = {},
                                        RegisterDBProxyTargets = {} })
    for _, c in ipairs(ctxs) do c.clients["rds:rds"] = client end
    assert.truthy(proxies(ctxs[1], calls))
    assert.are.equal(1, #calls)
    -- p2 takes its lock after that read: another apply may have changed its resources
    ctxs[2]:locked()
    assert.truthy(proxies(ctxs[2], calls))
    assert.are.equal(2, #calls, "read again for p2")
    assert.truthy(proxies(ctxs[1], calls), "p1 may use the newer read")
    assert.are.equal(2, #calls)
    -- a change that does not touch the proxies leaves the survey serving p1
    ctxs[1]:mutate("rds", "rds", "RegisterDBProxyTargets", { DBProxyName = "x" })
    assert.truthy(proxies(ctxs[1], calls))
    -- p1 creates a proxy: the survey no longer describes p1's proxies
    ctxs[1]:mutate("rds", "rds", "CreateDBProxy", { DBProxyName = "x" })
    assert.is_nil(proxies(ctxs[1], calls))
    assert.truthy(proxies(ctxs[2], calls), "p2's proxies did not change")
    -- a fresh read never comes from a survey
    assert.is_nil(ctxs[2]:fresh(proxies, ctxs[2], calls))
    -- an operation the table does not know makes every survey of its service stale
    ctxs[2]:mutate("rds", "rds", "SomethingNew", {})
    assert.is_nil(proxies(ctxs[2], calls))
  end)

  it("reads a survey fresh without making the pair's other tasks read fresh meanwhile", function()
    local calls = {}
    local top = { region = "us-east-1", pairs = {} }
    local ctx = run_pairs(top, { "p1" })[1]
    ctx.clients["rds:rds"] = fake_client(calls, { DescribeDBProxies = { names = {} } }, { sleep = 0.05 })
    ctx.clients["rds:iam"] = fake_client(calls, { ListRoles = { Roles = {} } })
    ctx:read("rds", "rds", "DescribeDBProxies", {})  -- remembered: the survey must not use it
    local other
    sched.run(function()
      local t = sched.spawn(function() return proxies(ctx, calls) end)
      sched.sleep(0.01)  -- the survey's read is in flight
      other = ctx:survey("rds", "iam", "roles", function(_, r) return r:read("rds", "iam", "ListRoles", {}) end)
      t:wait()
    end)
    assert.truthy(other, "a concurrent task of the pair was served a survey")
    assert.are.same({ "DescribeDBProxies", "DescribeDBProxies", "ListRoles" }, calls)
  end)

  it("leaves a failed survey to each pair's own read", function()
    local ctx = new_ctx({ region = "us-east-1", pairs = {} }, "p1")
    assert.is_nil(ctx:survey("rds", "rds", "proxies", function() return nil end))
    local ok, err = pcall(ctx.survey, ctx, "rds", "rds", "proxies", function() error("a bug", 0) end)
    assert.is_false(ok)
    assert.are.equal("a bug", err)
  end)

  it("serves every pair when more than two wait for one survey (no waiter is lost)", function()
    local calls = {}
    local top = { region = "us-east-1", pairs = {} }
    local ctxs = run_pairs(top, { "p1", "p2", "p3" })
    local client = fake_client(calls, { DescribeDBProxies = { names = {} } }, { sleep = 0.02 })
    for _, c in ipairs(ctxs) do c.clients["rds:rds"] = client end
    local got = {}
    sched.run(function()
      local tasks = {}
      for i, c in ipairs(ctxs) do
        tasks[i] = sched.spawn(function()
          -- each pair asks twice, the second time while others queue
          got[i] = proxies(c, calls) ~= nil
          sched.sleep(0.001)
          c.staled = nil
          got[i] = got[i] and proxies(c, calls) ~= nil
        end)
      end
      for _, t in ipairs(tasks) do t:wait() end
    end)
    assert.are.same({ true, true, true }, got)
    assert.are.equal(1, #calls)
  end)

  it("knows an assumed role's account from its ARN (no GetCallerIdentity)", function()
    local f = assert(io.open(dir .. "/config", "w"))
    -- profiles of their own: sessions are shared per access description
    f:write("[profile app-role]\nregion = us-east-1\nrole_arn = arn:aws:iam::111111111111:role/deployer\n"
      .. "source_profile = base\n[profile rds-keys]\nregion = us-east-1\n[profile base]\nregion = us-east-1\n")
    f:close()
    local pair = { name = "p1", region = "us-east-1", tags = {}, app = { profile = "app-role" },
                   rds = { profile = "rds-keys" } }
    local ctx = context.new(pair, { region = "us-east-1" }, { action = "plan", state = {} })
    assert.are.equal("111111111111", ctx:known_account("app"))
    assert.is_nil(ctx:known_account("rds"), "a profile without a role: ask")
    ctx.pair.rds.account_role_arn = "arn:aws-cn:iam::333333333333:role/x"
    assert.are.equal("333333333333", ctx:known_account("rds"))
  end)
end)

describe("workflow security groups reach AWS only through ctx", function()
  before_each(setup_profiles)
  after_each(function()
    os.execute("rm -rf '" .. dir .. "'")
    sys.setenv("AWS_CONFIG_FILE", nil)
  end)

  local RULES = {
    { SecurityGroupRuleId = "sgr-db", GroupId = "sg-db", IsEgress = false, IpProtocol = "tcp", FromPort = 5432,
      ToPort = 5432, ReferencedGroupInfo = { GroupId = "sg-proxy" } },
    { SecurityGroupRuleId = "sgr-x", GroupId = "sg-proxy", IsEgress = false, IpProtocol = "tcp", FromPort = 22,
      ToPort = 22, CidrIpv4 = "0.0.0.0/0" },
    { SecurityGroupRuleId = "sgr-ep", GroupId = "sg-ep", IsEgress = false, IpProtocol = "tcp", FromPort = 5432,
      ToPort = 5432, ReferencedGroupInfo = { GroupId = "sg-client", UserId = "111111111111" } },
  }

  local function plan_ctx(calls)
    local top = { region = "us-east-1" }
    local ctx = new_ctx(top, "p1", "plan", {
      get = function() return nil end,
      intend = function() error("plan wrote an intent to the journal") end,
      created = function() error("plan wrote to the journal") end,
    })
    ctx.pair.names = { proxy_sg = "p1-proxy", endpoint_sg = "p1-endpoint" }
    ctx.pair.app.vpc_id, ctx.pair.app.client_security_group_ids = "vpc-app", { "sg-client" }
    ctx.pair.listener_port = 5432
    ctx.pair.rds.proxy_name = "p1"
    ctx.pair.endpoint = { name = "p1-ep" }
    ctx.facts = { rds_account = "222222222222", app_account = "111111111111",
                  db = { vpc_id = "vpc-db", port = 5432, security_group_ids = { "sg-db" } } }
    ctx.allowed_rules = {}
    ctx.clients["rds:ec2"] = fake_client(calls, {
      DescribeSecurityGroups = { SecurityGroups = {
        { GroupId = "sg-proxy", GroupName = "p1-proxy", VpcId = "vpc-db", Tags = {} },
        { GroupId = "sg-ep", GroupName = "p1-endpoint", VpcId = "vpc-app", Tags = {} },
      } },
      DescribeSecurityGroupRules = { SecurityGroupRules = RULES },
    })
    return ctx
  end

  it("plans the SG steps with one group read and one rule read for the pair, and no mutating call", function()
    local calls = {}
    local ctx = plan_ctx(calls)
    local proxy_sg = require "rds-proxy.steps.proxy_sg"
    local endpoint_sg = require "rds-proxy.steps.endpoint_sg"
    local db_ingress = require "rds-proxy.steps.db_ingress"
    local endpoint_ingress = require "rds-proxy.steps.endpoint_ingress"
    local live = proxy_sg.read(ctx)
    ctx.ids.proxy_sg = live.GroupId
    local d = proxy_sg.diff(ctx, live)
    assert.are.equal("sgr-x", d[1].rule_id, "the open SSH rule on kumo's proxy SG is to be removed")
    live = endpoint_sg.read(ctx)
    ctx.ids.endpoint_sg = live.GroupId
    endpoint_sg.diff(ctx, live)
    local dbl = db_ingress.read(ctx)
    assert.are.equal("sgr-db", dbl.rule.id)
    assert.are.same({}, db_ingress.diff(ctx, dbl))
    local epl = endpoint_ingress.read(ctx)
    assert.are.same({}, endpoint_ingress.diff(ctx, epl))
    assert.are.same({ "DescribeSecurityGroups", "DescribeSecurityGroupRules" }, calls)
  end)

  it("refuses every sg.lua mutation during a plan before it reaches the client", function()
    local calls = {}
    local ctx = plan_ctx(calls)
    local attempts = {
      function() sg.delete(ctx, "sg-proxy") end,
      function() sg.authorize(ctx, "sg-db", 5432, "sg-proxy", nil, "d") end,
      function() sg.revoke_ids(ctx, "sg-proxy", { "sgr-x" }) end,
      function() ctx:mutate("rds", "ec2", "CreateSecurityGroup", { GroupName = "x" }) end,
    }
    for i, f in ipairs(attempts) do
      local ok, err = pcall(f)
      assert.is_false(ok, "attempt " .. i)
      assert.truthy(tostring(err):find("attempted during plan", 1, true), tostring(err))
    end
    local proxy_sg = require "rds-proxy.steps.proxy_sg"
    local live = proxy_sg.read(ctx)
    local ok = pcall(proxy_sg.delete, ctx, live)
    assert.is_false(ok)
    ok = pcall(proxy_sg.update, ctx, live, proxy_sg.diff(ctx, live))
    assert.is_false(ok)
    for _, op in ipairs(calls) do
      assert.is_true(is_read(op), op .. " reached the client during a plan")
    end
    assert.are.same({}, ctx.actions)
  end)
end)
