-- The sandbox through kumo itself: tests/lib/sandbox.lua starts one, kumo.aws
-- talks to it with the written profiles (real HTTP, SigV4 and IAM checked).
local sandbox = dofile((os.getenv("KUMO_ROOT") or ".") .. "/tests/lib/sandbox.lua")
local aws = require("kumo.aws")

describe("kumo against the sandbox", function()
  local sb

  setup(function()
    sb = sandbox.start{ lifecycle = "proxy=2,endpoint=2,target=0,db=0" }
    sb.apply_env()
  end)

  teardown(function()
    if sb then sb.stop() end
  end)

  local function code_of(fn)
    local ok, e = pcall(fn)
    if ok then return "OK" end
    return type(e) == "table" and e.code or tostring(e)
  end

  it("writes env lines that point at it", function()
    assert.are.equal(sb.endpoint, sb.env.AWS_ENDPOINT_URL)
    assert.are.equal(sb.dir .. "/config", sb.env.AWS_CONFIG_FILE)
    assert.truthy(sb.port > 0)
  end)

  it("answers GetCallerIdentity for the three profiles", function()
    local want = { base = "arn:aws:iam::123456789012:user/deployer",
                   app = "^arn:aws:sts::111111111111:assumed%-role/kumo%-deployer/",
                   rds = "^arn:aws:sts::222222222222:assumed%-role/kumo%-deployer/" }
    for profile, pattern in pairs(want) do
      local out = aws.session{ profile = profile }:client("sts"):GetCallerIdentity{}
      assert.truthy(out.Arn:find(pattern), profile .. ": " .. out.Arn)
    end
  end)

  it("refuses a missing permission and a wrong external ID", function()
    local base = aws.session{ profile = "base" }
    assert.are.equal("AccessDenied", code_of(function() return base:client("rds"):DescribeDBProxies{} end))
    local sts = base:client("sts")
    local role = sb.world.roles.app
    assert.are.equal("AccessDenied", code_of(function()
      return sts:AssumeRole{ RoleArn = role.arn, RoleSessionName = "spec", ExternalId = "wrong" }
    end))
    assert.are.equal("OK", code_of(function()
      return sts:AssumeRole{ RoleArn = role.arn, RoleSessionName = "spec", ExternalId = role.external_id }
    end))
  end)

  it("sees the seeded databases and counts calls per account", function()
    sb.reset_stats()
    local rds = aws.session{ profile = "rds" }:client("rds")
    local out = rds:DescribeDBInstances{}
    local ids = {}
    for _, d in ipairs(out.DBInstances) do ids[#ids + 1] = d.DBInstanceIdentifier .. "/" .. d.DBInstanceStatus end
    table.sort(ids)
    assert.are.same({ "orders-mysql/available", "orders-pg/available" }, ids)
    local st = sb.stats()
    local ops = st.accounts["222222222222"].operations["rds:DescribeDBInstances"]
    assert.are.equal(1, ops.count)
    assert.are.equal(false, ops.mutating)
    assert.are.equal(0, st.mutating)
  end)

  it("shows a proxy creating, then available", function()
    local w = sb.world
    local s = aws.session{ profile = "rds" }
    local iam, rds = s:client("iam"), s:client("rds")
    local role = iam:CreateRole{ RoleName = "spec-proxy", AssumeRolePolicyDocument =
      '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"rds.amazonaws.com"},"Action":"sts:AssumeRole"}]}' }
    local px = rds:CreateDBProxy{ DBProxyName = "spec-proxy", EngineFamily = "POSTGRESQL",
      RoleArn = role.Role.Arn, VpcSubnetIds = { w.rds.subnets[1].id, w.rds.subnets[2].id },
      Auth = { { AuthScheme = "SECRETS", SecretArn = w.rds.databases.postgres.secret_arn } } }
    assert.are.equal("creating", px.DBProxy.Status)
    local seen = {}
    for _ = 1, 3 do
      seen[#seen + 1] = rds:DescribeDBProxies{ DBProxyName = "spec-proxy" }.DBProxies[1].Status
    end
    assert.are.same({ "creating", "available", "available" }, seen)
    assert.are.equal("deleting", rds:DeleteDBProxy{ DBProxyName = "spec-proxy" }.DBProxy.Status)
  end)

  it("injects a fault kumo sees", function()
    sb.faults({ { op = "GetCallerIdentity", kind = "5xx", times = -1 } })
    local sts = aws.session{ profile = "base" }:client("sts")
    local ok, e = pcall(function() return sts:GetCallerIdentity{} end)
    sb.faults({})
    assert.is_false(ok)
    assert.are.equal("InternalFailure", e.code)
    assert.are.equal("OK", code_of(function() return sts:GetCallerIdentity{} end))
  end)

  it("takes method calls too, and an empty rule list clears the faults", function()
    sb:faults({ { op = "ListSecrets", kind = "throttle", times = 5 } })
    assert.are.equal(1, #sb:control("GET", "/_kumo/faults").rules)
    sb:faults{}
    assert.are.equal(0, #sb.control("GET", "/_kumo/faults").rules)
    assert.are.equal("number", type(sb:stats().total))
  end)

  it("takes stacked rate rules with a seed, and a lost answer", function()
    local rules = { { op = "*", kind = "throttle", rate = 0.25 }, { op = "*", kind = "503", rate = 0.10 },
                    { op = "*", kind = "drop", rate = 0.05 } }
    local snap = sb.faults(rules, nil, 42)
    assert.are.equal(42, snap.seed)
    assert.are.same({ 0.25, 0.10, 0.05 }, { snap.rules[1].rate, snap.rules[2].rate, snap.rules[3].rate })
    assert.are.equal(-1, snap.rules[1].times)  -- a rate rule has no limit
    rules.seed = 9  -- the seed as a field of the rules table
    snap = sb.faults(rules)
    assert.are.equal(9, snap.seed)
    assert.are.equal(3, #snap.rules)
    sb.faults({ { op = "CreateSecurityGroup", kind = "lose", times = 1 } })
    local ec2 = aws.session{ profile = "rds" }:client("ec2")
    pcall(function()
      return ec2:CreateSecurityGroup{ GroupName = "spec-lost", Description = "x", VpcId = sb.world.rds.vpc_id }
    end)
    sb.faults({})
    local found = ec2:DescribeSecurityGroups{ Filters = { { Name = "group-name", Values = { "spec-lost" } } } }
    assert.are.equal(1, #found.SecurityGroups)  -- carried out although the answer was lost
    assert.are.equal(1, sb.stats().faults.lose)
  end)
end)
