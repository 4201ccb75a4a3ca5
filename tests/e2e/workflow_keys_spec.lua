-- Every key of the workflow's config schema, changed, then converged, end
-- to end on the sandbox (moto with SigV4 and IAM checks on). This file
-- holds the keys the older specs did not change (the table of every key
-- and the test that covers it is docs/config-keys.md): plan names the
-- change (or says `replace (<reason>)`), apply reaches it, boto3 reads it
-- back independently, verify passes and a second apply makes zero
-- changing calls. Local-only keys (timeouts, state_dir) get a behaviour
-- test. Lean: one sandbox, mostly the orders-mysql pair.
local root = os.getenv("KUMO_ROOT") or "."
local sandbox = dofile(root .. "/tests/lib/sandbox.lua")
local json = require "kumo.json"

local h = dofile(root .. "/tests/e2e/workflow_helpers.lua")
local q, run, slurp = h.q, h.run, h.slurp

-- boto3 in the sandbox's accounts, independent of the code under test.
-- (h.boto3 puts `app`, `rds`, `W` and `out(v)` before these helpers)
local PRELUDE = [==[
def proxy(name):
    ps = rds.client("rds").describe_db_proxies()["DBProxies"]
    return ([p for p in ps if p["DBProxyName"] == name] or [None])[0]
def role(name):
    try:
        return rds.client("iam").get_role(RoleName=name)["Role"]["Arn"]
    except rds.client("iam").exceptions.NoSuchEntityException:
        return None
def secret(name):
    ss = rds.client("secretsmanager").list_secrets(Filters=[{"Key": "name", "Values": [name]}])["SecretList"]
    return [s for s in ss if s["Name"] == name and not s.get("DeletedDate")]
def targets(name):
    ts = rds.client("rds").describe_db_proxy_targets(DBProxyName=name)["Targets"]
    return sorted(t.get("RdsResourceId") for t in ts)
]==]

local function py(sb, code) return h.boto3(sb, PRELUDE, code) end

local has = h.has

-- plan (read-only), apply, verify, a second apply with zero changing calls;
-- returns plan's text.
local function converge(sb, cfg, pair, extra)
  extra = extra and (" " .. extra) or ""
  local args = " --quiet --config " .. q(cfg) .. " --pair " .. pair .. extra
  local base = h.mutating(sb)
  local code, plan, err = run(sb, "plan" .. args)
  assert.are.equal(0, code, plan .. err)
  assert.are.equal(base, h.mutating(sb), "plan must not change anything")
  local out
  code, out, err = run(sb, "apply" .. args)
  assert.are.equal(0, code, "apply:\n" .. out .. err)
  code, out, err = run(sb, "verify" .. args)
  assert.are.equal(0, code, "verify after apply:\n" .. out .. err)
  local before = h.mutating(sb)
  code, out, err = run(sb, "apply" .. args)
  assert.are.equal(0, code, out .. err)
  assert.are.equal(before, h.mutating(sb), "a second apply must make zero changing calls:\n" .. out)
  return plan
end

-- Every action of a JSON plan is `unchanged`.
local function all_unchanged(sb, cfg, pair)
  local code, out, err = run(sb, "plan --output json --config " .. q(cfg) .. " --pair " .. pair)
  assert.are.equal(0, code, out .. err)
  for _, a in ipairs(json.decode(out).pairs[1].actions) do
    assert.are.equal("unchanged", a.action, a.resource .. ": " .. json.encode(a))
  end
end

-- The orders-mysql pair of the seeded config with `from` replaced by `to` (once).
local function mysql(t, from, to)
  local a, b = t:match('^(.-)(name = "orders%-mysql".*)$')
  local n
  b, n = b:gsub(from, to, 1)
  assert(n == 1, "pattern " .. from .. " not found in the orders-mysql pair")
  return a .. b
end

describe("rds-proxy-share: every config key converges", function()
  local sb, cfg

  setup(function()
    sb = sandbox.start{ lifecycle = "all=0" }
    sb.env.KUMO_CREDENTIAL_CACHE = "off"
    cfg = sb.dir .. "/workflow.lua"
    local code, out, err = run(sb, "apply --quiet --config " .. q(cfg) .. " --pair orders-mysql")
    assert(code == 0, out .. err)
  end)

  teardown(function()
    if sb then sb.stop() end
  end)

  -- app.profile → app.role_arn + app.external_id, rds.profile →
  -- rds.account_role_arn + rds.external_id, base_profile: the same accounts
  -- reached another way change nothing; a wrong external_id is named.
  it("base_profile, role_arn, account_role_arn, external_id: the same accounts, zero changes", function()
    local roles = sb.world.roles
    local path = h.config_with(sb, function(t)
      return (t:gsub('profile = "app",', string.format('role_arn = %q, external_id = %q,', roles.app.arn, roles.app.external_id))
        :gsub('profile = "rds",', string.format('account_role_arn = %q, external_id = %q,', roles.rds.arn, roles.rds.external_id))
        :gsub("region = ", 'base_profile = "base",\n  region = ', 1))
    end, "roles")
    all_unchanged(sb, path, "orders-mysql")
    local base = h.mutating(sb)
    local code, out, err = run(sb, "apply --quiet --config " .. q(path) .. " --pair orders-mysql")
    assert.are.equal(0, code, out .. err)
    assert.are.equal(base, h.mutating(sb), "apply through the roles: zero changing calls")
    code, out, err = run(sb, "verify --quiet --config " .. q(path) .. " --pair orders-mysql")
    assert.are.equal(0, code, out .. err)
    -- the external ID is part of the trust: a wrong one is refused, named
    local wrong = h.config_with(sb, function() return slurp(path):gsub(roles.rds.external_id:gsub("%p", "%%%0"),
      "not-the-external-id") end, "wrong-external-id")
    code, out, err = run(sb, "plan --config " .. q(wrong) .. " --pair orders-mysql")
    assert.are.equal(1, code, out .. err)
    assert.truthy((out .. err):find("external_id", 1, true) or (out .. err):find("account_role_arn", 1, true),
      "the failure names the key:\n" .. out .. err)
    assert.are.equal(base, h.mutating(sb))
  end)

  -- allow_external_principals may only be false (config check); a share
  -- opened outside the organization with boto3 is closed again in place.
  it("app.allow_external_principals: false changes nothing; a share opened with boto3 is closed in place", function()
    local path = h.config_with(sb, function(t)
      return mysql(t, 'profile = "app",', 'profile = "app", allow_external_principals = false,')
    end, "external")
    all_unchanged(sb, path, "orders-mysql")
    local read = [==[ram = app.client("ram")
s = ram.get_resource_shares(resourceOwner="SELF", name="orders-mysql-subnets", resourceShareStatus="ACTIVE")["resourceShares"]
out([x["allowExternalPrincipals"] for x in s])]==]
    py(sb, [==[ram = app.client("ram")
s = ram.get_resource_shares(resourceOwner="SELF", name="orders-mysql-subnets", resourceShareStatus="ACTIVE")["resourceShares"][0]
ram.update_resource_share(resourceShareArn=s["resourceShareArn"], name=s["name"], allowExternalPrincipals=True)
out(1)]==])
    assert.are.same({ true }, py(sb, read))
    local plan = converge(sb, path, "orders-mysql")
    has(plan, "allowExternalPrincipals: true → false")
    assert.are.same({ false }, py(sb, read), "the same share, closed again")
  end)

  -- pairs[].name is the pair's identity (tags, journal, kumo's names): a
  -- renamed pair is a new pair, which must not take over the old one's
  -- proxy; plan and apply say so, and change nothing.
  it("pairs[].name: a renamed pair refuses the old pair's proxy before any change, naming it and the fix", function()
    local path = h.config_with(sb, function(t)
      return mysql(t, 'name = "orders%-mysql",', 'name = "orders-mysql-b",')
    end, "renamed-pair")
    local base = h.mutating(sb)
    for _, action in ipairs{ "plan", "apply" } do
      local code, out, err = run(sb, action .. " --config " .. q(path) .. " --pair orders-mysql-b")
      assert.are.equal(1, code, out .. err)
      has(out, 'belongs to kumo pair "orders-mysql" (its kumo:pair tag), not to "orders-mysql-b"')
      has(out, "destroy --pair orders-mysql")
    end
    -- apply refused before any change (it reads the configured names the
    -- journal does not know first): no share, role or SG of the new name
    assert.are.equal(base, h.mutating(sb), "a refused apply makes no changing call")
    h.assert_count(sb, "orders-mysql-b", 0)
    local doc = h.inspect(sb, "orders-mysql")
    assert.are.same({ "orders-mysql-proxy" }, doc.tagged_proxies)
    local code, out, err = run(sb, "destroy --quiet --config " .. q(path) .. " --pair orders-mysql-b")
    assert.are.equal(0, code, out .. err)
    h.assert_count(sb, "orders-mysql", 1)
    assert.are.equal(base, h.mutating(sb), "nothing of the old pair is deleted")
  end)

  it("state_dir: the journal goes to the configured folder; --state overrides it", function()
    local dir = sb.dir .. "/journal-from-config"
    local path = h.config_with(sb, function(t)
      return (t:gsub("region = ", string.format("state_dir = %q,\n  region = ", dir), 1))
    end, "state-dir")
    all_unchanged(sb, path, "orders-mysql")
    local code, out, err = run(sb, "apply --quiet --config " .. q(path) .. " --pair orders-mysql")
    assert.are.equal(0, code, out .. err)
    -- a fresh journal: the resources are found by their tags, none made twice
    h.assert_count(sb, "orders-mysql", 1)
    local j = h.journal(dir, "orders-mysql")
    assert.truthy(j and j.resources and j.resources.proxy, "journal written in state_dir:\n" .. json.encode(j))
    local other = sb.dir .. "/journal-from-flag"
    code, out, err = run(sb, "apply --quiet --config " .. q(path) .. " --pair orders-mysql --state " .. q(other))
    assert.are.equal(0, code, out .. err)
    assert.truthy(h.journal(other, "orders-mysql"), "--state wins over state_dir")
  end)

  it("region: another region finds nothing of the pair there and says so before any change", function()
    local path = h.config_with(sb, function(t)
      return (t:gsub('region = "ap%-northeast%-1"', 'region = "eu-west-1"', 1))
    end, "region")
    local base = h.mutating(sb)
    local code, out, err = run(sb, "plan --config " .. q(path) .. " --pair orders-mysql")
    assert.are.equal(1, code, out .. err)
    has(out, "app.subnet_ids: cannot describe the subnets in the APP account")
    has(out, "check the ids and that they are in eu-west-1")
    assert.are.equal(base, h.mutating(sb))
  end)

  it("parallel: the number of pairs run at once (one worker with 1, two with 2); --parallel wins", function()
    local function workers(value, flag)
      local path = h.config_with(sb, function(t)
        return (t:gsub("region = ", "parallel = " .. value .. ",\n  region = ", 1))
      end, "parallel-" .. value)
      local code, out, err = run(sb, "plan --config " .. q(path) .. (flag or ""))
      assert.are.equal(0, code, out .. err)
      local n = 0
      for w in err:gmatch("rollout%-(%d+): orders%-") do n = math.max(n, tonumber(w)) end
      return n
    end
    assert.are.equal(1, workers(1))
    assert.are.equal(2, workers(2))
    assert.are.equal(2, workers(1, " --parallel 2"))
  end)

  it("timeouts: a wait longer than timeouts.proxy stops apply naming the key; the rerun converges", function()
    local path = h.config_with(sb, function(t)
      return (t:gsub("region = ", "timeouts = { proxy = 1, call = 30 },\n  region = ", 1))
    end, "timeouts")
    sb.lifecycle{ proxy = 4 }
    local code, out, err = run(sb, "apply --quiet --config " .. q(path) .. " --pair orders-pg")
    sb.lifecycle{ proxy = 0 }
    assert.are.equal(1, code, out .. err)
    has(out .. err, "timeouts.proxy")
    converge(sb, path, "orders-pg")
    code, out, err = run(sb, "destroy --quiet --config " .. q(path) .. " --pair orders-pg")
    assert.are.equal(0, code, out .. err)
  end)

  -- rds.role_arn: the proxy moves to the user's role, kumo's own role
  -- (no longer used) goes; removed again, kumo's role comes back.
  it("rds.role_arn: set, the proxy uses it and kumo's role goes; removed, kumo's role is back", function()
    local arn = py(sb, [==[
iam = rds.client("iam")
trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "rds.amazonaws.com"},
         "Action": "sts:AssumeRole"}]}
r = iam.create_role(RoleName="orders-mysql-own-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
iam.put_role_policy(RoleName="orders-mysql-own-role", PolicyName="read", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
     "Resource": W["rds"]["databases"]["mysql"]["secret_arn"]}]}))
out(r["Arn"])]==])
    local kumo_role = py(sb, 'out(role("kumo-orders-mysql-proxy-secret"))')
    assert.truthy(kumo_role ~= json.null, "kumo's role exists before")
    local path = h.config_with(sb, function(t)
      return mysql(t, 'proxy_name = "orders%-mysql%-proxy",', 'proxy_name = "orders-mysql-proxy", role_arn = "' .. arn .. '",')
    end, "own-role")
    local plan = converge(sb, path, "orders-mysql")
    has(plan, "RoleArn: " .. kumo_role .. " → " .. arn)
    assert.are.equal(arn, py(sb, 'out(proxy("orders-mysql-proxy")["RoleArn"])'))
    assert.are.equal(json.null, py(sb, 'out(role("kumo-orders-mysql-proxy-secret"))'),
      "kumo's role is no longer used: apply deletes it")
    plan = converge(sb, cfg, "orders-mysql")
    has(plan, "RoleArn: " .. arn .. " →")
    local back = py(sb, 'out([role("kumo-orders-mysql-proxy-secret"), proxy("orders-mysql-proxy")["RoleArn"]])')
    assert.are.equal(back[1], back[2])
    assert.truthy(back[1] ~= json.null)
  end)

  -- rds.secret → rds.secret_arn: the secret kumo made is no longer used and goes.
  it("rds.secret then secret_arn: the secret kumo made goes when the config stops using it", function()
    local creds = py(sb, [==[sm = rds.client("secretsmanager")
v = json.loads(sm.get_secret_value(SecretId=W["rds"]["databases"]["mysql"]["secret_arn"])["SecretString"])
out(v)]==])
    local path = h.config_with(sb, function(t)
      return mysql(t, 'secret_arn = "[^"]+",', string.format('secret = { name = "kumo/orders-mysql-keys", '
        .. 'username = %q, password = %q },', creds.username, creds.password))
    end, "made-secret")
    local plan = converge(sb, path, "orders-mysql")
    has(plan, "+ create     Secrets Manager secret")
    assert.are.equal(1, #py(sb, 'out(secret("kumo/orders-mysql-keys"))'))
    plan = converge(sb, cfg, "orders-mysql")
    has(plan, "SecretArn: ")
    assert.are.same({}, py(sb, 'out(secret("kumo/orders-mysql-keys"))'), "the secret kumo made is deleted")
  end)

  -- rds.secret.kms_key_id: set, the secret is re-encrypted with the key and
  -- kumo's role may decrypt with it; rds.secret.name renamed: replace, the
  -- old secret goes; rds.secret.username: plan shows it, verify then says
  -- the proxy cannot log in (the database has no such user).
  it("rds.secret.kms_key_id, name and username converge; the old secret goes", function()
    local creds = py(sb, [==[sm = rds.client("secretsmanager")
v = json.loads(sm.get_secret_value(SecretId=W["rds"]["databases"]["mysql"]["secret_arn"])["SecretString"])
v["key"] = rds.client("kms").create_key(Description="orders secrets")["KeyMetadata"]["Arn"]
out(v)]==])
    local function made(name, extra)
      return h.config_with(sb, function(t)
        return mysql(t, 'secret_arn = "[^"]+",', string.format('secret = { name = %q, username = %q, password = %q%s },',
          name, creds.username, creds.password, extra or ""))
      end, name:gsub("%W", "_"))
    end
    converge(sb, made("kumo/orders-mysql-k1"), "orders-mysql")
    local plan = converge(sb, made("kumo/orders-mysql-k1", ", kms_key_id = " .. string.format("%q", creds.key)),
      "orders-mysql")
    has(plan, "KmsKeyId: alias/aws/secretsmanager → " .. creds.key)
    has(plan, "kms:Decrypt on " .. creds.key)
    assert.are.equal(creds.key, py(sb, [==[out(secret("kumo/orders-mysql-k1")[0]["KmsKeyId"])]==]))
    plan = converge(sb, made("kumo/orders-mysql-k2"), "orders-mysql")
    has(plan, 'replace (secret.name changed: "kumo/orders-mysql-k1" -> "kumo/orders-mysql-k2"')
    local live = py(sb, [==[out([len(secret("kumo/orders-mysql-k1")), secret("kumo/orders-mysql-k2")[0]["ARN"],
     proxy("orders-mysql-proxy")["Auth"][0]["SecretArn"]])]==])
    assert.are.equal(0, live[1], "the secret under the former name is deleted")
    assert.are.equal(live[2], live[3], "the proxy uses the renamed secret")
    -- another user: plan shows it; the sandbox's database has no such user
    local path = h.config_with(sb, function(t)
      return (slurp(made("kumo/orders-mysql-k2")):gsub('username = "' .. creds.username .. '"', 'username = "reports"', 1))
    end, "username")
    local code, out, err = run(sb, "plan --quiet --config " .. q(path) .. " --pair orders-mysql")
    assert.are.equal(0, code, out .. err)
    has(out, "username: " .. creds.username .. " → reports")
    code, out, err = run(sb, "apply --quiet --config " .. q(path) .. " --pair orders-mysql")
    assert.are.equal(0, code, out .. err)
    assert.are.equal("reports", h.secret_json(sb, live[2]).username)
    -- back to the seeded secret_arn: kumo's secret goes
    converge(sb, cfg, "orders-mysql")
    assert.are.same({}, py(sb, 'out(secret("kumo/orders-mysql-k2"))'))
  end)

  -- proxy_subnet_ids cannot change in place: plan says replace with the
  -- reason, apply stops and advises, the config's `replace` flag lets it.
  it("rds.proxy_subnet_ids and replace: plan shows replace (reason), replace = { \"proxy\" } converges", function()
    local W = sb.world
    local third = py(sb, [==[
ec2 = rds.client("ec2")
s = ec2.create_subnet(VpcId=W["rds"]["vpc_id"], CidrBlock="10.0.9.0/24", AvailabilityZone=W["rds"]["subnets"][1]["az"])
out(s["Subnet"]["SubnetId"])]==])
    local list = string.format('proxy_subnet_ids = { %q, %q },', W.rds.subnets[1].id, third)
    local path = h.config_with(sb, function(t)
      return mysql(t, 'proxy_name = "orders%-mysql%-proxy",', 'proxy_name = "orders-mysql-proxy", ' .. list)
    end, "proxy-subnets")
    local base = h.mutating(sb)
    local code, out, err = run(sb, "plan --config " .. q(path) .. " --pair orders-mysql")
    assert.are.equal(0, code, out .. err)
    has(out, "replace (a proxy's subnets cannot change in place)")
    assert.are.equal(base, h.mutating(sb))
    code, out, err = run(sb, "apply --config " .. q(path) .. " --pair orders-mysql")
    assert.are.equal(1, code, out .. err)
    has(out .. err, "rerun with --replace proxy")
    -- the config flag instead of --replace
    local flagged = h.config_with(sb, function(t)
      return (slurp(path):gsub("region = ", 'replace = { "proxy" },\n  region = ', 1))
    end, "proxy-subnets-replace")
    converge(sb, flagged, "orders-mysql")
    local want = { W.rds.subnets[1].id, third }
    table.sort(want)
    assert.are.same(want, py(sb, 'out(sorted(proxy("orders-mysql-proxy")["VpcSubnetIds"]))'))
    assert.are.same({ "orders-mysql" }, py(sb, 'out(targets("orders-mysql-proxy"))'), "the target is registered again")
    h.assert_count(sb, "orders-mysql", 1)
    -- removed: back to the database's subnets, with --replace proxy
    converge(sb, cfg, "orders-mysql", "--replace proxy")
    want = { W.rds.subnets[1].id, W.rds.subnets[2].id }
    table.sort(want)
    assert.are.same(want, py(sb, 'out(sorted(proxy("orders-mysql-proxy")["VpcSubnetIds"]))'))
  end)

  -- app.vpc_id (with the subnets and client SG of another APP VPC): the
  -- share moves to the new subnets, the endpoint SG is made in the new VPC,
  -- the endpoint is replaced, and only then is the old VPC's endpoint SG
  -- deleted (the old endpoint used it until then); and back.
  it("app.vpc_id: the endpoint and its SG move to another APP VPC; the old SG goes after the endpoint", function()
    local W = sb.world
    local new = py(sb, [==[
ec2 = app.client("ec2")
vpc = ec2.create_vpc(CidrBlock="10.2.0.0/16")["Vpc"]["VpcId"]
subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock="10.2.%d.0/24" % (i + 1),
                             AvailabilityZone=W["app"]["subnets"][i]["az"])["Subnet"]["SubnetId"] for i in range(2)]
client = ec2.create_security_group(GroupName="app-clients-2", Description="clients in the second VPC", VpcId=vpc)["GroupId"]
out({"vpc": vpc, "subnets": subnets, "client": client})]==])
    local path = h.config_with(sb, function(t)
      t = mysql(t, 'vpc_id = "[^"]+"', 'vpc_id = "' .. new.vpc .. '"')
      t = mysql(t, 'subnet_ids = {[^}]*}', string.format('subnet_ids = { %q, %q }', new.subnets[1], new.subnets[2]))
      return mysql(t, 'client_security_group_ids = {[^}]*}', string.format('client_security_group_ids = { %q }', new.client))
    end, "vpc2")
    -- the pair's endpoint SGs (by name, any VPC) and its endpoint, read with boto3
    local function live()
      return py(sb, [==[
ec2 = rds.client("ec2")
gs = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["kumo-orders-mysql-endpoint"]}])["SecurityGroups"]
ep = rds.client("rds").describe_db_proxy_endpoints(DBProxyEndpointName="orders-mysql-app")["DBProxyEndpoints"][0]
g = gs[0] if len(gs) == 1 else None
ports = sorted("%d %s" % (p["FromPort"], u["GroupId"]) for p in (g or {}).get("IpPermissions", [])
               for u in p.get("UserIdGroupPairs", []))
ram = app.client("ram")
share = ram.get_resource_shares(resourceOwner="SELF", name="orders-mysql-subnets", resourceShareStatus="ACTIVE")["resourceShares"][0]
res = ram.list_resources(resourceOwner="SELF", resourceShareArns=[share["resourceShareArn"]])["resources"]
out({"groups": sorted(x["VpcId"] for x in gs), "sg_id": g and g["GroupId"], "ep_vpc": ep["VpcId"],
     "ep_subnets": sorted(ep["VpcSubnetIds"]), "ep_sgs": ep["VpcSecurityGroupIds"], "rules": ports,
     "shared": sorted(r["arn"].split("/")[-1] for r in res)})]==])
    end
    local old = live()
    assert.are.same({ W.app.vpc_id }, old.groups)
    local base = h.mutating(sb)
    local code, out, err = run(sb, "plan --config " .. q(path) .. " --pair orders-mysql")
    assert.are.equal(0, code, out .. err)
    has(out, "replace (an endpoint's VPC cannot change in place)")
    has(out, "in " .. W.app.vpc_id .. ", not in the configured VPC " .. new.vpc)
    assert.are.equal(base, h.mutating(sb), "plan changes nothing")
    -- without --replace apply stops at the endpoint, naming the fix; the
    -- old VPC's group is still the endpoint's, and verify says it is left
    code, out, err = run(sb, "apply --config " .. q(path) .. " --pair orders-mysql")
    assert.are.equal(1, code, out .. err)
    has(out .. err, "rerun with --replace endpoint")
    local mid = live()
    assert.are.equal(old.sg_id, (py(sb, [==[
ep = rds.client("rds").describe_db_proxy_endpoints(DBProxyEndpointName="orders-mysql-app")["DBProxyEndpoints"][0]
out(ep["VpcSecurityGroupIds"][0])]==])), "the old endpoint keeps its group until it is replaced")
    assert.are.equal(2, #mid.groups, "the new VPC's group is made beside the old one")
    code, out, err = run(sb, "verify --config " .. q(path) .. " --pair orders-mysql")
    assert.are.equal(1, code, out .. err)
    has(out .. err, old.sg_id)
    -- destroyed half-moved: the group in each VPC goes with the rest
    code, out, err = run(sb, "destroy --config " .. q(path) .. " --pair orders-mysql")
    assert.are.equal(0, code, out .. err)
    assert.are.same({}, py(sb, [==[
gs = rds.client("ec2").describe_security_groups(Filters=[{"Name": "group-name", "Values": ["kumo-orders-mysql-endpoint"]}])
out([g["GroupId"] for g in gs["SecurityGroups"]])]==]))
    h.assert_count(sb, "orders-mysql", 0)
    -- from the old VPC to the new, in one apply
    code, out, err = run(sb, "apply --quiet --config " .. q(cfg) .. " --pair orders-mysql")
    assert.are.equal(0, code, out .. err)
    converge(sb, path, "orders-mysql", "--replace endpoint")
    local now = live()
    assert.are.same({ new.vpc }, now.groups, "exactly one endpoint SG, in the new VPC")
    assert.are_not.equal(old.sg_id, now.sg_id)
    assert.are.equal(new.vpc, now.ep_vpc)
    table.sort(new.subnets)
    assert.are.same(new.subnets, now.ep_subnets)
    assert.are.same({ now.sg_id }, now.ep_sgs)
    assert.are.same({ "3306 " .. new.client }, now.rules, "the listener port from the new VPC's clients only")
    assert.are.same(new.subnets, now.shared, "the share holds the new VPC's subnets only")
    h.assert_count(sb, "orders-mysql", 1)
    -- and back: the group in the second VPC goes the same way
    converge(sb, cfg, "orders-mysql", "--replace endpoint")
    local back = live()
    assert.are.same({ W.app.vpc_id }, back.groups)
    assert.are.equal(W.app.vpc_id, back.ep_vpc)
    h.assert_count(sb, "orders-mysql", 1)
  end)

  -- engine_family + db_instance_identifier + secret_arn: the pair moves
  -- to the other database; the engine family needs a new proxy; the DB
  -- and endpoint rules move to the new port.
  it("engine_family, db_instance_identifier: replace (reason), --replace proxy, rules on the new port", function()
    local W = sb.world
    local pg = W.rds.databases.postgres
    local path = h.config_with(sb, function(t)
      t = mysql(t, 'db_instance_identifier = "orders%-mysql"', 'db_instance_identifier = "orders-pg"')
      t = mysql(t, 'engine_family = "MYSQL"', 'engine_family = "POSTGRESQL"')
      return mysql(t, 'secret_arn = "[^"]+"', 'secret_arn = "' .. pg.secret_arn .. '"')
    end, "to-pg")
    local code, out, err = run(sb, "plan --config " .. q(path) .. " --pair orders-mysql")
    assert.are.equal(0, code, out .. err)
    has(out, "replace (a proxy's engine family cannot change in place)")
    converge(sb, path, "orders-mysql", "--replace proxy")
    local live = py(sb, [==[
p = proxy("orders-mysql-proxy")
ec2 = rds.client("ec2")
px = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["kumo-orders-mysql-proxy"]}])["SecurityGroups"][0]["GroupId"]
db = ec2.describe_security_groups(GroupIds=[W["rds"]["db_security_group_id"]])["SecurityGroups"][0]
ports = sorted(perm["FromPort"] for perm in db["IpPermissions"] for g in perm.get("UserIdGroupPairs", []) if g["GroupId"] == px)
ep = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["kumo-orders-mysql-endpoint"]}])["SecurityGroups"][0]
out({"family": p["EngineFamily"], "targets": targets("orders-mysql-proxy"), "db_ports": ports,
     "ep_ports": sorted(perm["FromPort"] for perm in ep["IpPermissions"])})]==])
    assert.are.same({ family = "POSTGRESQL", targets = { "orders-pg" }, db_ports = { 5432 }, ep_ports = { 5432 } }, live)
    -- and back
    converge(sb, cfg, "orders-mysql", "--replace proxy")
    assert.are.same({ "orders-mysql" }, py(sb, 'out(targets("orders-mysql-proxy"))'))
  end)

  -- db_instance_identifier → db_cluster_identifier on the same engine: the
  -- proxy stays, its one target moves; endpoint.target_role READ_ONLY (a
  -- reader endpoint needs the cluster): replace (reason), --replace endpoint.
  it("db_cluster_identifier and endpoint.target_role: the target moves, the endpoint is replaced", function()
    local function pg(t, from, to)
      local a, b, c = t:match('^(.-)(name = "orders%-pg".-)(name = "orders%-mysql".*)$')
      local n
      b, n = b:gsub(from, to, 1)
      assert(n == 1, "pattern " .. from .. " not found in the orders-pg pair")
      return a .. b .. c
    end
    local made = py(sb, [==[
r = rds.client("rds")
db = W["rds"]["databases"]["postgres"]
pw = "aurora-orders-pw-1"
r.create_db_cluster(DBClusterIdentifier="orders-aurora", Engine="aurora-postgresql", MasterUsername=db["username"],
    MasterUserPassword=pw, DBSubnetGroupName=W["rds"]["db_subnet_group"], Port=5432, DatabaseName="orders",
    VpcSecurityGroupIds=[W["rds"]["db_security_group_id"]])
r.create_db_instance(DBInstanceIdentifier="orders-aurora-1", DBClusterIdentifier="orders-aurora",
    Engine="aurora-postgresql", DBInstanceClass="db.r6g.large")
arn = rds.client("secretsmanager").create_secret(Name="kumo/orders-aurora",
    SecretString=json.dumps({"username": db["username"], "password": pw}))["ARN"]
out({"secret": arn})]==])
    converge(sb, cfg, "orders-pg")
    local path = h.config_with(sb, function(t)
      t = pg(t, 'db_instance_identifier = "orders%-pg"', 'db_cluster_identifier = "orders-aurora"')
      return pg(t, 'secret_arn = "[^"]+"', 'secret_arn = "' .. made.secret .. '"')
    end, "aurora")
    local plan = converge(sb, path, "orders-pg")
    has(plan, "DBClusterIdentifier: orders-pg → orders-aurora")
    local tracked = [==[ts = rds.client("rds").describe_db_proxy_targets(DBProxyName="orders-pg-proxy")["Targets"]
out([sorted(t.get("TrackedClusterId") or t["RdsResourceId"] for t in ts if t["Type"] == "TRACKED_CLUSTER"),
     sorted(t["RdsResourceId"] for t in ts if t["Type"] == "RDS_INSTANCE")])]==]
    -- the cluster is tracked, its instance is the target
    assert.are.same({ { "orders-aurora" }, { "orders-aurora-1" } }, py(sb, tracked))
    local reader = h.config_with(sb, function() return pg(slurp(path), 'target_role = "READ_WRITE"', 'target_role = "READ_ONLY"') end,
      "aurora-reader")
    local code, out, err = run(sb, "plan --config " .. q(reader) .. " --pair orders-pg")
    assert.are.equal(0, code, out .. err)
    has(out, "replace (an endpoint's target role cannot change in place)")
    converge(sb, reader, "orders-pg", "--replace endpoint")
    assert.are.equal("READ_ONLY", py(sb, [==[
out(rds.client("rds").describe_db_proxy_endpoints(DBProxyEndpointName="orders-pg-app")["DBProxyEndpoints"][0]["TargetRole"])]==]))
    -- back to the seeded instance and a read/write endpoint
    plan = converge(sb, cfg, "orders-pg", "--replace endpoint")
    has(plan, "DBInstanceIdentifier: orders-aurora → orders-pg")
    assert.are.same({ {}, { "orders-pg" } }, py(sb, tracked))
  end)
end)
