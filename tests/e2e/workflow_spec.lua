-- The rds-proxy-share workflow end to end on the sandbox (moto with SigV4
-- and IAM checks on): PostgreSQL and MySQL, idempotency proven by the
-- sandbox's request statistics, destroy leaving nothing, the
-- no-organization case, ten pairs in parallel, kill -9 during apply, and
-- invalid configs that change nothing.
local root = os.getenv("KUMO_ROOT") or "."
local sandbox = dofile(root .. "/tests/lib/sandbox.lua")
local json = require "kumo.json"

local SCRIPT = root .. "/scripts/rds-proxy-share.lua"
local KUMO = root .. "/bin/kumo"

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function env_prefix(sb)
  local parts = { "env -u AWS_PROFILE -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN" }
  for k, v in pairs(sb.env) do parts[#parts + 1] = k .. "=" .. q(v) end
  return table.concat(parts, " ")
end

-- Run the workflow; returns exit code, stdout, stderr.
local function run(sb, args, opts)
  opts = opts or {}
  local out, err = os.tmpname(), os.tmpname()
  local cmd = string.format("%s %s%s run %s %s >%s 2>%s", env_prefix(sb),
    opts.kill_after and ("timeout -s KILL " .. opts.kill_after .. " ") or "", KUMO, SCRIPT, args, out, err)
  local _, _, code = os.execute(cmd)
  local f = io.open(out); local o = f:read("a"); f:close()
  f = io.open(err); local e = f:read("a"); f:close()
  os.remove(out); os.remove(err)
  return code, o, e
end

local function mutating(sb)
  return sb.stats().mutating
end

local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

-- The seeded world's workflow config with one change applied to its text.
local function config_with(sb, transform, name)
  local f = assert(io.open(sb.dir .. "/workflow.lua"))
  local text = f:read("a")
  f:close()
  local path = sb.dir .. "/" .. (name or "variant") .. ".lua"
  write(path, transform and transform(text) or text)
  return path
end

describe("rds-proxy-share on the sandbox", function()
  local sb, cfg

  setup(function()
    sb = sandbox.start{ lifecycle = "all=1" }
    cfg = sb.dir .. "/workflow.lua"
  end)

  teardown(function()
    if sb then sb.stop() end
  end)

  for _, pair in ipairs{ "orders-pg", "orders-mysql" } do
    it(pair .. ": plan, apply, verify, a second apply changes nothing, destroy leaves nothing", function()
      local base = mutating(sb)
      local code, out, err = run(sb, "plan --config " .. q(cfg) .. " --pair " .. pair)
      assert.are.equal(0, code, err)
      assert.truthy(out:find("+ create     RDS Proxy", 1, true), out)
      assert.are.equal(base, mutating(sb), "plan must not change anything")

      code, out, err = run(sb, "apply --config " .. q(cfg) .. " --pair " .. pair .. " --output json")
      assert.are.equal(0, code, out .. err)
      local doc = json.decode(out)
      local r = doc.pairs[1]
      assert.are.equal("ok", r.outcome)
      assert.are.equal(1, (r.endpoint_address:find(pair .. "-app.endpoint.proxy-", 1, true)), r.endpoint_address)
      assert.truthy(mutating(sb) > base)

      code, out, err = run(sb, "verify --config " .. q(cfg) .. " --pair " .. pair)
      assert.are.equal(0, code, out .. err)
      local client = pair == "orders-pg" and "psql \"host=" or "mysql -h "
      assert.truthy(out:find(client, 1, true), out)
      assert.truthy(out:find(pair == "orders-pg" and "port=5432" or "-P 3306", 1, true), out)

      local before = mutating(sb)
      code, out, err = run(sb, "apply --config " .. q(cfg) .. " --pair " .. pair)
      assert.are.equal(0, code, out .. err)
      assert.are.equal(before, mutating(sb), "a second apply must make zero mutating calls:\n" .. out)
      assert.truthy(out:find("0 changing call(s)", 1, true), out)

      code, out, err = run(sb, "destroy --config " .. q(cfg) .. " --pair " .. pair)
      assert.are.equal(0, code, out .. err)
      -- nothing of the pair is left: a plan wants to create everything again
      code, out = run(sb, "plan --config " .. q(cfg) .. " --pair " .. pair .. " --output json")
      assert.are.equal(0, code)
      for _, a in ipairs(json.decode(out).pairs[1].actions) do
        assert.are.equal("create", a.action, a.resource .. " is still there")
      end
      assert.is_nil(io.open(sb.dir .. "/.kumo-state/" .. pair .. ".json"), "the journal is removed")
    end)
  end

  it("rejects invalid configs with a message and no call that changes anything", function()
    local cases = {
      { function(t) return t:gsub('proxy_name = "orders%-pg%-proxy"', 'proxy_name = "orders--pg"') end,
        'rds.proxy_name: "orders--pg" is not a valid proxy name' },
      { function(t) return t:gsub('engine_family = "POSTGRESQL"', 'engine_family = "POSTGRES"') end,
        "rds.engine_family: must be one of MYSQL, POSTGRESQL, SQLSERVER" },
      { function(t) return t:gsub('target_role = "READ_WRITE"', 'target_role = "READ_ONLY"', 1) end,
        "READ_ONLY (a reader endpoint) needs an Aurora cluster" },
      { function(t) return t:gsub('idle_client_timeout = 1800', 'idle_client_timeout = 0', 1) end,
        "rds.idle_client_timeout: must be from 1 to 28800, got 0" },
      { function(t) return t:gsub('engine_family = "MYSQL",', 'engine_family = "MYSQL", session_pinning_filters = { "EXCLUDE_ALL" },') end,
        "the only filter is EXCLUDE_VARIABLE_SETS" },
      { function(t) return t:gsub('engine_family = "POSTGRESQL",', 'engine_family = "POSTGRESQL", init_query = "SET x=1",') end,
        "initialization queries are not supported for POSTGRESQL" },
      { function(t) return t:gsub('subnet_ids = { "subnet%-[%w]+", ', 'subnet_ids = { ', 1) end,
        "app.subnet_ids: needs at least 2 subnet ids, got 1" },
      { function(t) return t:gsub('region = "[%w-]+"', 'region = "tokyo"') end,
        'region: "tokyo" is not an AWS region' },
    }
    local base = mutating(sb)
    for i, c in ipairs(cases) do
      local path = config_with(sb, function(t) return (c[1](t)) end, "invalid" .. i)
      local code, out, err = run(sb, "apply --config " .. q(path))
      assert.are.equal(2, code, "case " .. i .. ":\n" .. out .. err)
      assert.truthy(err:find(c[2], 1, true), "case " .. i .. ": expected «" .. c[2] .. "» in:\n" .. err)
      assert.truthy(err:find("nothing was changed", 1, true))
    end
    -- a live rule: subnets that do not belong to the VPC fail before any change
    local path = config_with(sb, function(t)
      return (t:gsub('vpc_id = "vpc%-[%w]+"', 'vpc_id = "vpc-0123456789abcdef0"'))
    end, "wrongvpc")
    local code, out, err = run(sb, "apply --config " .. q(path) .. " --pair orders-pg")
    assert.are.equal(1, code, out .. err)
    assert.truthy(out:find("not to app.vpc_id vpc-0123456789abcdef0", 1, true), out)
    assert.are.equal(base, mutating(sb), "invalid configs must change nothing")
  end)

  it("resumes after kill -9 at several points of an apply and converges without duplicates", function()
    sb.faults({}, 60)   -- 60 ms per call, so an apply takes about 4 s
    local killed = 0
    for _, after in ipairs{ "0.8", "1.6", "2.4", "3.2" } do
      local code = run(sb, "apply --quiet --config " .. q(cfg) .. " --pair orders-pg", { kill_after = after })
      if code == 137 then killed = killed + 1 end
    end
    assert.truthy(killed >= 2, "the applies were killed mid-way (" .. killed .. " of 4)")
    local code, out, err = run(sb, "apply --config " .. q(cfg) .. " --pair orders-pg")
    assert.are.equal(0, code, out .. err)
    sb.faults({}, 0)
    code, out, err = run(sb, "verify --config " .. q(cfg) .. " --pair orders-pg")
    assert.are.equal(0, code, out .. err)
    -- exactly one of each: security groups by name, one active share
    sb.apply_env()
    local aws = require "kumo.aws"
    local rds = aws.session{ profile = "rds" }
    local app = aws.session{ profile = "app" }
    for _, name in ipairs{ "kumo-orders-pg-proxy", "kumo-orders-pg-endpoint" } do
      local o = rds:client("ec2"):DescribeSecurityGroups{ Filters = { { Name = "group-name", Values = { name } } } }
      assert.are.equal(1, #o.SecurityGroups, name)
    end
    local shares = app:client("ram"):GetResourceShares{ resourceOwner = "SELF", name = "orders-pg-subnets",
                                                        resourceShareStatus = "ACTIVE" }
    assert.are.equal(1, #shares.resourceShares)
    code, out, err = run(sb, "destroy --config " .. q(cfg) .. " --pair orders-pg")
    assert.are.equal(0, code, out .. err)
    local left = rds:client("ec2"):DescribeSecurityGroups{ Filters = { { Name = "group-name",
      Values = { "kumo-orders-pg-proxy", "kumo-orders-pg-endpoint" } } } }
    assert.are.equal(0, #left.SecurityGroups)
  end)

  it("runs ten pairs in parallel and reports each", function()
    local path = config_with(sb, function(t)
      -- ten pairs on the PostgreSQL database, each with its own names
      local pg = t:match("(%{%s*name = \"orders%-pg\".-endpoint = %b{},%s*%},)")
      assert(pg, "seeded config has the orders-pg pair")
      local list = {}
      for i = 1, 10 do
        list[i] = pg:gsub("orders%-pg%-proxy", "fleet" .. i .. "-proxy")
                    :gsub("orders%-pg%-app", "fleet" .. i .. "-app")
                    :gsub('name = "orders%-pg"', 'name = "fleet' .. i .. '"')
      end
      return (t:gsub("pairs = %b{}", "pairs = {\n" .. table.concat(list, "\n") .. "\n}"))
    end, "fleet")
    local code, out, err = run(sb, "apply --parallel 10 --config " .. q(path) .. " --output json")
    assert.are.equal(0, code, out .. err)
    local doc = json.decode(out)
    assert.are.equal(10, #doc.pairs)
    for _, r in ipairs(doc.pairs) do
      assert.are.equal("ok", r.outcome, r.pair .. ": " .. tostring(r.error))
      assert.truthy(r.endpoint_address:find(r.pair .. "-app.endpoint", 1, true))
    end
    local before = mutating(sb)
    code = run(sb, "apply --parallel 10 --quiet --config " .. q(path))
    assert.are.equal(0, code)
    assert.are.equal(before, mutating(sb))
    code, out, err = run(sb, "destroy --parallel 10 --config " .. q(path) .. " --graph " .. q(sb.dir .. "/fleet.dot"))
    assert.are.equal(0, code, out .. err)
    assert.truthy(out:find("fleet10", 1, true))
  end)

  it("writes the topology as Graphviz DOT", function()
    local code, out, err = run(sb, "plan --config " .. q(cfg) .. " --graph " .. q(sb.dir .. "/topo.dot"))
    assert.are.equal(0, code, out .. err)
    local f = assert(io.open(sb.dir .. "/topo.dot"))
    local dot = f:read("a")
    f:close()
    assert.truthy(dot:find("^digraph kumo"))
    assert.truthy(dot:find("APP VPC", 1, true))
    assert.truthy(dot:find("tcp/5432", 1, true))
    assert.truthy(dot:find("tcp/3306", 1, true))
  end)
end)

describe("rds-proxy-share without an organization", function()
  it("fails before any change and explains why", function()
    local sb = sandbox.start{ org = false, lifecycle = "all=0" }
    local ok, e = pcall(function()
      local code, out, err = run(sb, "apply --config " .. q(sb.dir .. "/workflow.lua"))
      assert.are.equal(1, code, out .. err)
      assert.truthy(out:find("is not in an AWS Organization", 1, true), out)
      assert.truthy(out:find("EnableSharingWithAwsOrganization", 1, true), out)
      assert.are.equal(0, sb.stats().mutating)
    end)
    sb.stop()
    assert(ok, e)
  end)
end)
