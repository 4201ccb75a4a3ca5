-- Waiters against the sandbox: real HTTP, SigV4 and IAM checks on, resources
-- moving through creating -> available as the sandbox's lifecycles say.
local aws = require "kumo.aws"
local json = require "kumo.json"
local clock = require "kumo.clock"
local errors = require "kumo.errors"
local waiter = require "kumo.waiter"
local cache = require "kumo.credentials.cache"
local creds = require "kumo.credentials.creds"
local sandbox = dofile((os.getenv("KUMO_ROOT") or ".") .. "/tests/lib/sandbox.lua")

local FAST = { delay = 0.2 }

local function opts(extra)
  local o = {}
  for k, v in pairs(FAST) do o[k] = v end
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end

local function recorder()
  local polls = {}
  return polls, function(s) polls[#polls + 1] = s end
end

describe("waiters against the sandbox", function()
  local sb, world, rds_s, app_s, base_s
  local rds, ec2, iam, sm
  local n = 0
  local function uniq(prefix)
    n = n + 1
    return string.format("%s-%d-%d", prefix, os.time() % 100000, n)
  end

  setup(function()
    sb = sandbox.start{ lifecycle = "all=3" }
    world = sb.world
    local function session(profile)
      return aws.session{ profile = profile, config_file = sb.dir .. "/config",
        credentials_file = sb.dir .. "/credentials" }
    end
    base_s = session("base")
    rds_s = session("rds")
    app_s = session("app")
    rds, ec2, iam, sm = rds_s:client("rds"), rds_s:client("ec2"), rds_s:client("iam"),
      rds_s:client("secretsmanager")
  end)

  teardown(function()
    if sb then sb.stop() end
  end)

  -- A role RDS Proxy can assume, allowed to read `secret_arns`.
  local function proxy_role(secret_arns)
    local name = uniq("proxy-role")
    local arn = iam:CreateRole{ RoleName = name, AssumeRolePolicyDocument = json.encode{
      Version = "2012-10-17", Statement = { { Effect = "Allow",
        Principal = { Service = "rds.amazonaws.com" }, Action = "sts:AssumeRole" } } } }.Role.Arn
    iam:PutRolePolicy{ RoleName = name, PolicyName = "secrets", PolicyDocument = json.encode{
      Version = "2012-10-17", Statement = { { Effect = "Allow",
        Action = "secretsmanager:GetSecretValue", Resource = secret_arns } } } }
    return arn
  end

  -- A proxy security group the DB's security group admits on the DB port.
  local function proxy_sg(db)
    local sg = ec2:CreateSecurityGroup{ GroupName = uniq("proxy-sg"), Description = "proxy",
      VpcId = world.rds.vpc_id }.GroupId
    ec2:AuthorizeSecurityGroupIngress{ GroupId = world.rds.db_security_group_id, IpPermissions = {
      { IpProtocol = "tcp", FromPort = db.port, ToPort = db.port, UserIdGroupPairs = { { GroupId = sg } } } } }
    return sg
  end

  local function subnet_ids(side)
    local ids = {}
    for i, s in ipairs(world[side].subnets) do ids[i] = s.id end
    return ids
  end

  local function create_proxy(db, secret_arn)
    local name = uniq("proxy")
    rds:CreateDBProxy{ DBProxyName = name, EngineFamily = db.engine_family,
      RoleArn = proxy_role({ secret_arn }), VpcSubnetIds = subnet_ids("rds"),
      VpcSecurityGroupIds = { proxy_sg(db) },
      Auth = { { AuthScheme = "SECRETS", SecretArn = secret_arn, IAMAuth = "DISABLED" } } }
    return name
  end

  it("DBInstanceAvailable (official model) waits through creating", function()
    local id = uniq("db")
    rds:CreateDBInstance{ DBInstanceIdentifier = id, DBInstanceClass = "db.t3.micro", Engine = "mysql",
      MasterUsername = "admin", MasterUserPassword = "secret-password-1", AllocatedStorage = 20,
      DBSubnetGroupName = world.rds.db_subnet_group }
    local polls, on_poll = recorder()
    local out = rds:wait("DBInstanceAvailable", { DBInstanceIdentifier = id }, opts{ on_poll = on_poll })
    assert.equal("available", out.DBInstances[1].DBInstanceStatus)
    assert.equal("model", waiter.get(rds, "DBInstanceAvailable").origin)
    assert.is_true(#polls >= 2, "polls: " .. #polls)
    assert.equal('["creating"]', polls[1].observed)
    assert.equal("success", polls[#polls].state)
  end)

  it("a proxy, its targets and an endpoint become available through kumo's waiters", function()
    local db = world.rds.databases.mysql
    local name = create_proxy(db, db.secret_arn)
    local polls, on_poll = recorder()
    rds:wait("DBProxyAvailable", { DBProxyName = name }, opts{ on_poll = on_poll })
    assert.is_true(#polls >= 2)
    assert.equal("creating", json.decode(polls[1].observed)[1])

    rds:RegisterDBProxyTargets{ DBProxyName = name, TargetGroupName = "default",
      DBInstanceIdentifiers = { db.id } }
    local tpolls, on_tpoll = recorder()
    local out = rds:wait("DBProxyTargetsAvailable", { DBProxyName = name, TargetGroupName = "default" },
      opts{ on_poll = on_tpoll })
    assert.is_true(#tpolls >= 2)
    local healthy = 0
    for _, t in ipairs(out.Targets) do
      if t.Type == "RDS_INSTANCE" then
        assert.equal("AVAILABLE", t.TargetHealth.State)
        healthy = healthy + 1
      end
    end
    assert.equal(1, healthy)

    local avail = rds:DescribeDBProxies({}, { query = "DBProxies[?Status=='available'].DBProxyName" })
    local listed = false
    for _, nm in ipairs(avail) do listed = listed or nm == name end
    assert.is_true(listed, name .. " not in " .. json.encode(avail))

    local ep = uniq("ep")
    rds:CreateDBProxyEndpoint{ DBProxyName = name, DBProxyEndpointName = ep,
      VpcSubnetIds = subnet_ids("rds") }
    local epolls, on_epoll = recorder()
    out = rds:wait("DBProxyEndpointAvailable", { DBProxyName = name, DBProxyEndpointName = ep },
      opts{ on_poll = on_epoll })
    assert.equal("available", out.DBProxyEndpoints[1].Status)
    assert.is_true(#epolls >= 2)

    rds:DeleteDBProxyEndpoint{ DBProxyEndpointName = ep }
    rds:wait("DBProxyEndpointDeleted", { DBProxyName = name, DBProxyEndpointName = ep }, FAST)
    rds:DeleteDBProxy{ DBProxyName = name }
    rds:wait("DBProxyDeleted", { DBProxyName = name }, FAST)
    -- JMESPath on a call: the query option of the client
    local names = rds:DescribeDBProxies({}, { query = "DBProxies[?Status=='available'].DBProxyName" })
    local found = false
    for _, nm in ipairs(names) do found = found or nm == name end
    assert.is_false(found, "a deleted proxy is still listed as available")
    local _, err = rds:try("DescribeDBProxies", { DBProxyName = name })
    assert.equal("DBProxyNotFoundFault", err and err.code)
  end)

  it("fails a target whose secret has the wrong username, once AUTH_FAILURE persists", function()
    local db = world.rds.databases.mysql
    local secret = sm:CreateSecret{ Name = uniq("wrong-user"),
      SecretString = json.encode{ username = "not_the_admin", password = "x-password-1" } }.ARN
    local name = create_proxy(db, secret)
    rds:wait("DBProxyAvailable", { DBProxyName = name }, FAST)
    rds:RegisterDBProxyTargets{ DBProxyName = name, TargetGroupName = "default",
      DBInstanceIdentifiers = { db.id } }
    local polls, on_poll = recorder()
    local out, err = waiter.try_wait(rds, "DBProxyTargetsAvailable",
      { DBProxyName = name, TargetGroupName = "default" },
      opts{ persist = 1, on_poll = on_poll })
    assert.is_nil(out)
    assert.is_true(errors.is(err), tostring(err))
    assert.equal("WaiterFailure", err.code)
    local msg = tostring(err)
    assert.matches('"AUTH_FAILURE" -> failure', msg, 1, true)
    assert.matches("This RDS proxy has no credentials for the role 'orders_admin'", msg, 1, true)
    assert.matches(secret, msg, 1, true)
    assert.matches("username", msg, 1, true)
    assert.matches('"reason":"AUTH_FAILURE"', err.last_state, 1, true)
    -- the persisting failure was pending (retry) before it failed
    local pending = 0
    for _, p in ipairs(polls) do if p.pending then pending = pending + 1 end end
    assert.is_true(pending >= 1)
    assert.is_nil(msg:find("x-password-1", 1, true))
  end)

  it("fails at once on a failure acceptor or an unexpected error, and times out", function()
    local _, err = waiter.try_wait(rds, "DBProxyEndpointAvailable",
      { DBProxyName = "no-such-proxy", DBProxyEndpointName = "x" }, FAST)
    assert.equal("WaiterFailure", err.code)
    assert.equal(1, err.polls)
    assert.matches("error DBProxyNotFoundFault -> failure", tostring(err), 1, true)

    _, err = waiter.try_wait(rds, "DBInstanceAvailable", { DBInstanceIdentifier = "no-such-db" }, FAST)
    assert.equal("WaiterUnexpectedError", err.code)
    assert.equal("DBInstanceNotFound", err.last_error.code)

    local db = world.rds.databases.postgres
    local name = create_proxy(db, db.secret_arn)
    _, err = waiter.try_wait(rds, "DBProxyAvailable", { DBProxyName = name },
      { timeout = 0.3, min_delay = 0.2, max_delay = 0.2 })
    assert.equal("WaiterTimeout", err.code)
    assert.matches("timeout", tostring(err), 1, true)
    assert.matches('last state: ["creating"]', tostring(err), 1, true)
  end)

  it("keeps polling across credential refreshes when the wait outlives the credentials", function()
    -- Credentials that live 3 s, fetched by a real AssumeRole each time.
    local sts = base_s:client("sts")
    local fetches = 0
    local provider = cache.new{ name = "short-lived", advisory = 1, mandatory = 0.5,
      fetch = function()
        fetches = fetches + 1
        local c = sts:AssumeRole{ RoleArn = world.roles.rds.arn, RoleSessionName = "short-" .. fetches,
          ExternalId = world.roles.rds.external_id }.Credentials
        return creds.new{ access_key_id = c.AccessKeyId, secret_access_key = c.SecretAccessKey,
          session_token = c.SessionToken, expiration = clock.now() + 3, source = "short-lived" }
      end }
    local short = base_s:with{ credentials = provider }
    local srds = short:client("rds")
    sb.lifecycle{ proxy = "7s" }
    local db = world.rds.databases.postgres
    local name = create_proxy(db, db.secret_arn)
    local t0 = clock.monotonic()
    local polls, on_poll = recorder()
    local ok, out = pcall(srds.wait, srds, "DBProxyAvailable", { DBProxyName = name },
      { delay = 0.5, on_poll = on_poll })
    sb.lifecycle{ proxy = 3 }
    assert.is_true(ok, tostring(out))
    local elapsed = clock.monotonic() - t0
    assert.equal("available", out.DBProxies[1].Status)
    assert.is_true(elapsed > 6, "waited only " .. elapsed .. " s")
    assert.is_true(fetches >= 3, "fetched credentials " .. fetches .. " times in " .. elapsed .. " s")
    assert.is_true(#polls >= 10)
  end)

  it("RAM and EC2 waiters follow a subnet share to the participant account", function()
    local ram = app_s:client("ram")
    local arns = {}
    for i, s in ipairs(world.app.subnets) do arns[i] = s.arn end
    local share = ram:CreateResourceShare{ name = uniq("share"), resourceArns = arns,
      principals = { world.accounts.rds }, allowExternalPrincipals = false }.resourceShare
    local a = ram:wait("ResourceShareActive",
      { resourceOwner = "SELF", resourceShareArns = { share.resourceShareArn } }, FAST)
    assert.equal("ACTIVE", a.resourceShares[1].status)
    for _, kind in ipairs({ "RESOURCE", "PRINCIPAL" }) do
      local out = ram:wait("ResourceShareAssociated",
        { associationType = kind, resourceShareArns = { share.resourceShareArn } }, FAST)
      assert.is_true(#out.resourceShareAssociations >= 1)
    end
    local ids = {}
    for i, s in ipairs(world.app.subnets) do ids[i] = s.id end
    local visible = rds_s:client("ec2"):wait("SharedSubnetsVisible", { SubnetIds = ids }, FAST)
    assert.equal(#ids, #visible.Subnets)
    rds_s:client("ram"):wait("SharedResourcesAvailable", { resourceOwner = "OTHER-ACCOUNTS",
      resourceShareArns = { share.resourceShareArn }, resourceType = "ec2:Subnet" }, FAST)
  end)
end)
