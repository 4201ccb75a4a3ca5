-- The rds-proxy-share workflow converges on the sandbox (moto with SigV4
-- and IAM checks on): drift made with boto3 is shown by plan and repaired
-- by one apply, after which verify passes and a second apply makes zero
-- changing calls; security groups kumo owns hold exactly the configured
-- rules; the DB team's group keeps every rule of theirs; each config key,
-- changed and changed back, gives a plan line and converges; pre-checks
-- stop what AWS would refuse later, before any change.
local root = os.getenv("KUMO_ROOT") or "."
local sandbox = dofile(root .. "/tests/lib/sandbox.lua")
local json = require "kumo.json"

local h = dofile(root .. "/tests/e2e/workflow_helpers.lua")
local q, write, run = h.q, h.write, h.run
local slurp = h.slurp

-- boto3 in the sandbox's accounts: `app`, `rds` (sessions), `W` (world.json),
-- `out(v)` prints the result. Independent of the code under test.
-- (h.boto3 puts `app`, `rds`, `W` and `out(v)` before these helpers)
local PRELUDE = [==[
def group(name):
    g = rds.client("ec2").describe_security_groups(Filters=[{"Name": "group-name", "Values": [name]}])
    return g["SecurityGroups"][0]["GroupId"]
def rules(gid):
    rs = rds.client("ec2").describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [gid]}])
    return sorted([[r["SecurityGroupRuleId"], r["IpProtocol"], r.get("FromPort"), r.get("ToPort"),
                    r.get("CidrIpv4"), (r.get("ReferencedGroupInfo") or {}).get("GroupId")]
                   for r in rs["SecurityGroupRules"] if not r["IsEgress"]])
]==]

local function py(sb, code) return h.boto3(sb, PRELUDE, code) end

local mutating = h.mutating

local has = h.has

-- plan (read-only), apply, verify, then a second apply with zero changing calls.
local function converge(sb, cfg, pair)
  local base = mutating(sb)
  local code, plan, err = run(sb, "plan --quiet --config " .. q(cfg) .. " --pair " .. pair)
  assert.are.equal(0, code, plan .. err)
  assert.are.equal(base, mutating(sb), "plan must not change anything")
  local out
  code, out, err = run(sb, "apply --quiet --config " .. q(cfg) .. " --pair " .. pair)
  assert.are.equal(0, code, out .. err)
  code, out, err = run(sb, "verify --quiet --config " .. q(cfg) .. " --pair " .. pair)
  assert.are.equal(0, code, "verify after apply:\n" .. out .. err)
  local before = mutating(sb)
  code, out, err = run(sb, "apply --quiet --config " .. q(cfg) .. " --pair " .. pair)
  assert.are.equal(0, code, out .. err)
  assert.are.equal(before, mutating(sb), "a second apply must make zero changing calls:\n" .. out)
  return plan
end

describe("rds-proxy-share converges", function()
  local sb, cfg, text

  setup(function()
    sb = sandbox.start{ lifecycle = "all=0" }
    cfg = sb.dir .. "/workflow.lua"
    text = slurp(cfg)
  end)

  teardown(function()
    if sb then sb.stop() end
  end)

  local function variant(name, transform)
    local path = sb.dir .. "/" .. name .. ".lua"
    local t = transform(text)
    assert(t ~= text, name .. ": the transform changed nothing")
    write(path, t)
    return path
  end

  it("leaves every rule of the DB team's security group as it was over three apply/destroy cycles", function()
    -- the DB team's own rules, two of them on the DB port like kumo's
    local before = py(sb, [==[
ec2 = rds.client("ec2")
db = W["rds"]["db_security_group_id"]
ec2.authorize_security_group_ingress(GroupId=db, IpPermissions=[
  {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "IpRanges": [{"CidrIp": "10.9.0.0/16", "Description": "db team"}]},
  {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "UserIdGroupPairs": [{"GroupId": db, "Description": "db team"}]}])
out(rules(db))
]==])
    assert.is_true(#before >= 2)
    for cycle = 1, 3 do
      local code, out, err = run(sb, "apply --quiet --config " .. q(cfg) .. " --pair orders-pg")
      assert.are.equal(0, code, out .. err)
      local during = py(sb, [==[out(rules(W["rds"]["db_security_group_id"]))]==])
      assert.are.equal(#before + 1, #during, "cycle " .. cycle .. ": kumo adds exactly its one rule")
      code, out, err = run(sb, "destroy --quiet --config " .. q(cfg) .. " --pair orders-pg")
      assert.are.equal(0, code, out .. err)
      assert.are.same(before, py(sb, [==[out(rules(W["rds"]["db_security_group_id"]))]==]),
        "cycle " .. cycle .. ": the DB team's group is exactly as it was (rule IDs included)")
    end
  end)

  it("shows drift made with boto3 in plan and repairs it with one apply", function()
    local code, out, err = run(sb, "apply --quiet --config " .. q(cfg) .. " --pair orders-pg")
    assert.are.equal(0, code, out .. err)
    local ids = py(sb, [==[
ec2 = rds.client("ec2")
ep, px, db = group("kumo-orders-pg-endpoint"), group("kumo-orders-pg-proxy"), W["rds"]["db_security_group_id"]
client = W["app"]["security_group_id"]
# an extra rule on each group kumo owns, one of them on the listener port
ec2.authorize_security_group_ingress(GroupId=ep, IpPermissions=[
  {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
  {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
   "UserIdGroupPairs": [{"GroupId": client, "UserId": W["accounts"]["app"]}]}])
ec2.authorize_security_group_ingress(GroupId=px, IpPermissions=[
  {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}])
# kumo's rule on the DB team's group deleted
for r in rules(db):
    if r[5] == px:
        ec2.revoke_security_group_ingress(GroupId=db, SecurityGroupRuleIds=[r[0]])
# a setting changed, a subnet taken out of the share, the endpoint deleted
rds.client("rds").modify_db_proxy(DBProxyName="orders-pg-proxy", IdleClientTimeout=900)
ram = app.client("ram")
share = ram.get_resource_shares(resourceOwner="SELF", name="orders-pg-subnets",
                                resourceShareStatus="ACTIVE")["resourceShares"][0]
gone = W["app"]["subnets"][1]["arn"]
ram.disassociate_resource_share(resourceShareArn=share["resourceShareArn"], resourceArns=[gone])
rds.client("rds").delete_db_proxy_endpoint(DBProxyEndpointName="orders-pg-app")
out({"ep": ep, "px": px, "db": db, "client": client, "gone": gone})
]==])
    code, out, err = run(sb, "verify --quiet --config " .. q(cfg) .. " --pair orders-pg")
    assert.are.equal(1, code, "verify sees the drift:\n" .. out .. err)
    has(out, "tcp/5432 from 0.0.0.0/0")
    local plan = converge(sb, cfg, "orders-pg")
    has(plan, "- remove rule: tcp/5432 from 0.0.0.0/0")
    has(plan, "- remove rule: tcp/22 from 10.0.0.0/8")
    has(plan, "- remove rule: tcp/22 from " .. sb.world.accounts.app .. "/" .. ids.client)
    has(plan, "+ create     DB SG rule: DB port from proxy SG")
    has(plan, "IdleClientTimeout: 900 → 1800")
    has(plan, "resources (add): — → " .. ids.gone)
    has(plan, "+ create     proxy endpoint (in APP VPC)")
    -- read back independently
    local live = py(sb, string.format([==[
ep, px, db = %q, %q, %q
ram = app.client("ram")
share = ram.get_resource_shares(resourceOwner="SELF", name="orders-pg-subnets",
                                resourceShareStatus="ACTIVE")["resourceShares"][0]
assoc = ram.get_resource_share_associations(associationType="RESOURCE",
                                            resourceShareArns=[share["resourceShareArn"]])
out({"ep": [r[1:] for r in rules(ep)], "px": rules(px), "db": [r[1:] for r in rules(db) if r[5] == px],
     "idle": rds.client("rds").describe_db_proxies(DBProxyName="orders-pg-proxy")["DBProxies"][0]["IdleClientTimeout"],
     "shared": sorted(a["associatedEntity"] for a in assoc["resourceShareAssociations"] if a["status"] == "ASSOCIATED"),
     "endpoint": rds.client("rds").describe_db_proxy_endpoints(DBProxyEndpointName="orders-pg-app")["DBProxyEndpoints"][0]["Status"]})
]==], ids.ep, ids.px, ids.db))
    assert.are.same({ { "tcp", 5432, 5432, json.null, ids.client } }, live.ep)
    assert.are.same({}, live.px)
    assert.are.same({ { "tcp", 5432, 5432, json.null, ids.px } }, live.db)
    assert.are.equal(1800, live.idle)
    local want = { sb.world.app.subnets[1].arn, sb.world.app.subnets[2].arn }
    table.sort(want)
    assert.are.same(want, live.shared)
    assert.are.equal("available", live.endpoint)
  end)

  it("revokes the rule of a client security group dropped from the config", function()
    local extra = py(sb, [==[
ec2 = app.client("ec2")
g = ec2.create_security_group(GroupName="reports", Description="reporting jobs", VpcId=W["app"]["vpc_id"])
out(g["GroupId"])
]==])
    local two = variant("two-clients", function(t)
      return (t:gsub('client_security_group_ids = { "(sg%-%x+)" }',
        'client_security_group_ids = { "%1", "' .. extra .. '" }', 1))
    end)
    local plan = converge(sb, two, "orders-pg")
    has(plan, "+ add rule: (none) → tcp/5432 from " .. sb.world.accounts.app .. "/" .. extra)
    plan = converge(sb, cfg, "orders-pg")
    has(plan, "- remove rule: tcp/5432 from " .. sb.world.accounts.app .. "/" .. extra)
    local left = py(sb, [==[out([r[5] for r in rules(group("kumo-orders-pg-endpoint"))])]==])
    assert.are.same({ sb.world.app.security_group_id }, left)
  end)

  -- Every key of the config schema that has a live effect, changed, then
  -- changed back by the next case: plan names it, apply reaches it (read
  -- back with boto3), verify passes, a second apply makes no call.
  it("converges each config key, added, changed and removed", function()
    local W = sb.world
    local function mysql(t, from, to)
      local a, b = t:match('^(.-)(name = "orders%-mysql".*)$')
      local n
      b, n = b:gsub(from, to, 1)
      assert(n == 1, "pattern " .. from .. " not found in the orders-mysql pair")
      return a .. b
    end
    local function add(keys) return function(t) return mysql(t, 'engine_family = "MYSQL",', 'engine_family = "MYSQL", ' .. keys) end end
    local PROXY = [==[p = rds.client("rds").describe_db_proxies(DBProxyName="orders-mysql-proxy")["DBProxies"][0]
]==]
    local TG = [==[tg = rds.client("rds").describe_db_proxy_target_groups(DBProxyName="orders-mysql-proxy",
    TargetGroupName="default")["TargetGroups"][0]["ConnectionPoolConfig"]
]==]
    -- a copy of the MySQL credentials (the sandbox's target logs in with them)
    local creds = py(sb, [==[sm = rds.client("secretsmanager")
v = sm.get_secret_value(SecretId=W["rds"]["databases"]["mysql"]["secret_arn"])["SecretString"]
copy = sm.create_secret(Name="kumo/orders-mysql-copy", SecretString=v)["ARN"]
out({"copy": copy, "password": json.loads(v)["password"]})]==])
    local function made(t)
      return mysql(t, 'secret_arn = "[^"]+",', string.format('secret = { name = "kumo/orders-mysql-made", '
        .. 'username = %q, password = %q },', W.rds.databases.mysql.username, creds.password))
    end
    local cases = {
      { key = "rds.idle_client_timeout", edit = function(t) return mysql(t, "idle_client_timeout = 1800", "idle_client_timeout = 600") end,
        plan = { "IdleClientTimeout: 1800 → 600" }, read = PROXY .. 'out(p["IdleClientTimeout"])', want = 600 },
      { key = "rds.require_tls", edit = function(t) return mysql(t, "require_tls = true", "require_tls = false") end,
        plan = { "RequireTLS: true → false" }, read = PROXY .. 'out(p["RequireTLS"])', want = false },
      { key = "rds.debug_logging", edit = add("debug_logging = true,"),
        plan = { "DebugLogging: false → true" }, read = PROXY .. 'out(p["DebugLogging"])', want = true },
      { key = "rds.iam_auth", edit = add('iam_auth = "REQUIRED",'),
        plan = { "IAMAuth: DISABLED → REQUIRED" }, read = PROXY .. 'out(p["Auth"][0]["IAMAuth"])', want = "REQUIRED" },
      { key = "rds.client_password_auth_type", edit = add('client_password_auth_type = "MYSQL_NATIVE_PASSWORD",'),
        plan = { "ClientPasswordAuthType: MYSQL_CACHING_SHA2_PASSWORD → MYSQL_NATIVE_PASSWORD" },
        read = PROXY .. 'out(p["Auth"][0].get("ClientPasswordAuthType"))', want = "MYSQL_NATIVE_PASSWORD" },
      { key = "rds.max_connections_percent, max_idle_connections_percent, connection_borrow_timeout",
        edit = add("max_connections_percent = 80, max_idle_connections_percent = 40, connection_borrow_timeout = 60,"),
        plan = { "MaxConnectionsPercent: 100 → 80", "MaxIdleConnectionsPercent: 50 → 40", "ConnectionBorrowTimeout: 120 → 60" },
        read = TG .. 'out([tg["MaxConnectionsPercent"], tg["MaxIdleConnectionsPercent"], tg["ConnectionBorrowTimeout"]])',
        want = { 80, 40, 60 } },
      { key = "rds.session_pinning_filters", edit = add('session_pinning_filters = { "EXCLUDE_VARIABLE_SETS" },'),
        plan = { "SessionPinningFilters: (none) → EXCLUDE_VARIABLE_SETS" },
        read = TG .. 'out(tg.get("SessionPinningFilters", []))', want = { "EXCLUDE_VARIABLE_SETS" } },
      { key = "tags", edit = function(t) return (t:gsub('Project = "kumo%-sandbox",', 'Project = "orders", Team = "db",', 1)) end,
        plan = { "tags: Project=kumo-sandbox, kumo:pair=orders-mysql", "→ Project=orders, Team=db, kumo:pair=orders-mysql" },
        read = PROXY .. [==[ram = app.client("ram")
s = ram.get_resource_shares(resourceOwner="SELF", name="orders-mysql-subnets", resourceShareStatus="ACTIVE")["resourceShares"][0]
tl = rds.client("rds").list_tags_for_resource(ResourceName=p["DBProxyArn"])["TagList"]
g = rds.client("ec2").describe_security_groups(GroupIds=[group("kumo-orders-mysql-proxy")])["SecurityGroups"][0]
role = rds.client("iam").get_role(RoleName="kumo-orders-mysql-proxy-secret")["Role"]
out([sorted(t["key"] + "=" + t["value"] for t in s["tags"] if t["key"] in ("Project", "Team")),
     sorted(t["Key"] + "=" + t["Value"] for t in tl if t["Key"] in ("Project", "Team")),
     sorted(t["Key"] + "=" + t["Value"] for t in g["Tags"] if t["Key"] in ("Project", "Team")),
     sorted(t["Key"] + "=" + t["Value"] for t in role.get("Tags", []) if t["Key"] in ("Project", "Team"))])]==],
        want = { { "Project=orders", "Team=db" }, { "Project=orders", "Team=db" }, { "Project=orders", "Team=db" },
                 { "Project=orders", "Team=db" } } },
      { key = "pairs[].tags", edit = function(t) return mysql(t, 'name = "orders%-mysql",', 'name = "orders-mysql", tags = { Owner = "team-a" },') end,
        plan = { "Owner=team-a" },
        read = PROXY .. [==[tl = rds.client("rds").list_tags_for_resource(ResourceName=p["DBProxyArn"])["TagList"]
out([t["Value"] for t in tl if t["Key"] == "Owner"])]==], want = { "team-a" } },
      { key = "endpoint.name", edit = function(t) return mysql(t, 'name = "orders%-mysql%-app"', 'name = "orders-mysql-reports"') end,
        plan = { "DBProxyEndpointName: orders-mysql-app → orders-mysql-reports" },
        read = [==[eps = rds.client("rds").describe_db_proxy_endpoints(DBProxyName="orders-mysql-proxy")["DBProxyEndpoints"]
out(sorted(e["DBProxyEndpointName"] for e in eps if not e.get("IsDefault")))]==], want = { "orders-mysql-reports" } },
      { key = "rds.secret_arn", edit = function(t) return mysql(t, 'secret_arn = "[^"]+"', 'secret_arn = "' .. creds.copy .. '"') end,
        plan = { "SecretArn: " .. W.rds.databases.mysql.secret_arn .. " → " .. creds.copy, "policy:" },
        read = PROXY .. 'out(p["Auth"][0]["SecretArn"])', want = creds.copy },
      { key = "rds.secret (name, username, password)", edit = made,
        plan = { "+ create     Secrets Manager secret" },
        read = [==[v = rds.client("secretsmanager").get_secret_value(SecretId="kumo/orders-mysql-made")
out(json.loads(v["SecretString"])["username"])]==], want = W.rds.databases.mysql.username },
      { key = "rds.secret.password (drifted)", edit = made,
        drift = [==[rds.client("secretsmanager").put_secret_value(SecretId="kumo/orders-mysql-made",
    SecretString=json.dumps({"username": "orders_admin", "password": "not-the-one"}))
out(True)]==],
        plan = { "password: (hidden) → (hidden, differs)" },
        read = [==[v = json.loads(rds.client("secretsmanager").get_secret_value(SecretId="kumo/orders-mysql-made")["SecretString"])
m = json.loads(rds.client("secretsmanager").get_secret_value(SecretId=W["rds"]["databases"]["mysql"]["secret_arn"])["SecretString"])
out(v["password"] == m["password"])]==], want = true },
    }
    converge(sb, cfg, "orders-mysql")
    for _, c in ipairs(cases) do
      local path = variant("key-" .. c.key:gsub("[^%w]", "_"), c.edit)
      local ok, e = pcall(function()
        if c.drift then py(sb, c.drift) end
        local plan = converge(sb, path, "orders-mysql")
        for _, line in ipairs(c.plan) do has(plan, line) end
        assert.are.same(c.want, py(sb, c.read))
        assert.is_nil(plan:find(creds.password, 1, true), "a password reached the output")
      end)
      assert(ok, c.key .. ": " .. tostring(e))
    end
    -- back to the seeded config: every key removed or restored converges
    converge(sb, cfg, "orders-mysql")
    assert.are.same({ 1800, true, false, "DISABLED", { 100, 50, 120 }, {} }, py(sb, PROXY .. TG .. [==[
out([p["IdleClientTimeout"], p["RequireTLS"], p["DebugLogging"], p["Auth"][0]["IAMAuth"],
     [tg["MaxConnectionsPercent"], tg["MaxIdleConnectionsPercent"], tg["ConnectionBorrowTimeout"]],
     tg.get("SessionPinningFilters", [])])]==]))
  end)

  it("plans a subnet added to the pair as a share update and an endpoint replacement, and removes it again", function()
    local third = sb.world.app.subnets[3].id
    local path = variant("three-subnets", function(t)
      return (t:gsub('(name = "orders%-pg".-subnet_ids = { "subnet%-%x+", "subnet%-%x+")', '%1, "' .. third .. '"', 1))
    end)
    local code, plan, err = run(sb, "plan --quiet --config " .. q(path) .. " --pair orders-pg")
    assert.are.equal(0, code, plan .. err)
    has(plan, "resources (add): — → " .. sb.world.app.subnets[3].arn)
    has(plan, "VpcSubnetIds: ")
    local out
    code, out, err = run(sb, "apply --quiet --config " .. q(path) .. " --pair orders-pg")
    assert.are.equal(1, code, out .. err)
    has(out, "--replace endpoint")
    -- the subnet leaves the share again; apply waits only on what remains
    converge(sb, cfg, "orders-pg")
    local shared = py(sb, [==[ram = app.client("ram")
s = ram.get_resource_shares(resourceOwner="SELF", name="orders-pg-subnets", resourceShareStatus="ACTIVE")["resourceShares"][0]
a = ram.get_resource_share_associations(associationType="RESOURCE", resourceShareArns=[s["resourceShareArn"]])
out(sorted(x["associatedEntity"] for x in a["resourceShareAssociations"] if x["status"] == "ASSOCIATED"))]==])
    local want = { sb.world.app.subnets[1].arn, sb.world.app.subnets[2].arn }
    table.sort(want)
    assert.are.same(want, shared)
  end)
end)

describe("rds-proxy-share pre-checks", function()
  local sb, text

  setup(function()
    sb = sandbox.start{ lifecycle = "all=0" }
    text = slurp(sb.dir .. "/workflow.lua")
  end)

  teardown(function()
    if sb then sb.stop() end
  end)

  -- the orders-pg pair with its rds block edited
  local function pg(name, from, to)
    local path = sb.dir .. "/" .. name .. ".lua"
    local a, b = text:match('^(.-)(name = "orders%-pg".*)$')
    local n
    b, n = b:gsub(from, to, 1)
    assert(n == 1, name .. ": pattern not found")
    write(path, a .. b)
    return path
  end

  it("stops what AWS would refuse later, before any change, naming the key", function()
    local made = py(sb, [==[
iam = rds.client("iam")
def role(name, service):
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": service},
           "Action": "sts:AssumeRole"}]}
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(doc))["Role"]["Arn"]
sm = rds.client("secretsmanager")
nouser = sm.create_secret(Name="kumo/no-user", SecretString=json.dumps({"password": "only-a-password"}))["ARN"]
out({"blind": role("proxy-blind", "rds.amazonaws.com"), "ec2": role("proxy-ec2", "ec2.amazonaws.com"),
     "nouser": nouser})
]==])
    local secret = 'secret_arn = "[^"]+",'
    local cases = {
      { "foreign-role", secret, '%0 role_arn = "arn:aws:iam::' .. sb.world.accounts.app .. ':role/kumo-deployer",',
        "rds.role_arn: the role is in account " .. sb.world.accounts.app .. ", not in the RDS account "
          .. sb.world.accounts.rds },
      { "missing-role", secret, '%0 role_arn = "arn:aws:iam::' .. sb.world.accounts.rds .. ':role/nope",',
        "rds.role_arn: no role nope in the RDS account" },
      { "blind-role", secret, '%0 role_arn = "' .. made.blind .. '",',
        "rds.role_arn: proxy-blind may not read the secret" },
      { "untrusted-role", secret, '%0 role_arn = "' .. made.ec2 .. '",',
        "rds.role_arn: proxy-ec2 does not trust rds.amazonaws.com" },
      { "huge-password", secret, 'secret = { name = "kumo/huge", username = "u", password = string.rep("p", 70000) },',
        "rds.secret.password: the secret would be 70" },
      { "no-username", secret, 'secret_arn = "' .. made.nouser .. '",', 'rds.secret_arn: the secret holds no "username"' },
    }
    local base = mutating(sb)
    for _, c in ipairs(cases) do
      local code, out, err = run(sb, "apply --quiet --config " .. q(pg(c[1], c[2], c[3])) .. " --pair orders-pg")
      assert.are.equal(1, code, c[1] .. ":\n" .. out .. err)
      assert(out:find(c[4], 1, true), c[1] .. ": expected «" .. c[4] .. "» in:\n" .. out)
      assert.is_nil(out:find("pppppppppp", 1, true), "the password reached the output")
    end
    assert.are.equal(base, mutating(sb), "failed pre-checks must change nothing")
  end)

  it("reports a throttled pre-check as AWS's, not as the config key's", function()
    -- every call retries through throttling for timeouts.call seconds (the
    -- long retry mode): a short budget, so the fault outlasts it
    local f = assert(io.open(sb.dir .. "/workflow.lua")); local src = f:read("a"); f:close()
    local path = sb.dir .. "/workflow-short-budget.lua"
    f = assert(io.open(path, "w"))
    f:write((src:gsub("return {", "return {\n  timeouts = { call = 3 },", 1))); f:close()
    sb.faults({ { op = "DescribeDBInstances", kind = "throttle", times = -1 } })
    local code, out, err = run(sb, "plan --quiet --config " .. q(path) .. " --pair orders-pg")
    sb.faults({})
    assert.are.equal(1, code, out .. err)
    has(out, "AWS throttled/unavailable while checking rds.db_instance_identifier")
    has(out, "the config is fine; rerun")
    assert.is_nil(out:find("check the identifier", 1, true), out)
  end)
end)

describe("rds-proxy-share with RAM sharing off in the organization", function()
  it("fails in plan, before any change, and says how to turn it on", function()
    local sb = sandbox.start{ org_sharing = false, lifecycle = "all=0" }
    local ok, e = pcall(function()
      local code, out, err = run(sb, "plan --quiet --config " .. q(sb.dir .. "/workflow.lua") .. " --pair orders-pg")
      assert.are.equal(1, code, out .. err)
      has(out, "RAM sharing with the organization")
      has(out, "EnableSharingWithAwsOrganization")
      assert.are.equal(0, sb.stats().mutating)
    end)
    sb.stop()
    assert(ok, e)
  end)
end)
