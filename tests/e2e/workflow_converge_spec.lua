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

local SCRIPT = root .. "/scripts/rds-proxy-share.lua"
local KUMO = root .. "/bin/kumo"

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function env_prefix(sb)
  local parts = { "env -u AWS_PROFILE -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN" }
  for k, v in pairs(sb.env) do parts[#parts + 1] = k .. "=" .. q(v) end
  return table.concat(parts, " ")
end

local function slurp(path)
  local f = assert(io.open(path))
  local s = f:read("a")
  f:close()
  return s
end

local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

-- Run the workflow; returns exit code, stdout, stderr.
local function run(sb, args)
  local out, err = os.tmpname(), os.tmpname()
  local _, _, code = os.execute(string.format("%s %s run %s %s >%s 2>%s", env_prefix(sb), KUMO, SCRIPT,
    args, out, err))
  local o, e = slurp(out), slurp(err)
  os.remove(out); os.remove(err)
  return code, o, e
end

-- boto3 in the sandbox's accounts: `app`, `rds` (sessions), `W` (world.json),
-- `out(v)` prints the result. Independent of the code under test.
local PRELUDE = [==[
import boto3, json, sys
app = boto3.Session(profile_name="app")
rds = boto3.Session(profile_name="rds")
W = json.load(open(sys.argv[1]))
def out(v):
    print(json.dumps(v, default=str))
def group(name):
    g = rds.client("ec2").describe_security_groups(Filters=[{"Name": "group-name", "Values": [name]}])
    return g["SecurityGroups"][0]["GroupId"]
def rules(gid):
    rs = rds.client("ec2").describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [gid]}])
    return sorted([[r["SecurityGroupRuleId"], r["IpProtocol"], r.get("FromPort"), r.get("ToPort"),
                    r.get("CidrIpv4"), (r.get("ReferencedGroupInfo") or {}).get("GroupId")]
                   for r in rs["SecurityGroupRules"] if not r["IsEgress"]])
]==]

local function py(sb, code)
  local file = os.tmpname()
  write(file, PRELUDE .. code)
  local p = io.popen(env_prefix(sb) .. " python3 " .. file .. " " .. q(sb.dir .. "/world.json") .. " 2>&1")
  local text = p:read("a")
  p:close()
  os.remove(file)
  local last = text:match("([^\n]*)\n?$")
  local ok, v = pcall(json.decode, last)
  assert(ok and v ~= nil, "boto3 helper failed:\n" .. text)
  return v
end

local function mutating(sb) return sb.stats().mutating end

local function has(text, needle)
  assert(text:find(needle, 1, true), "expected «" .. needle .. "» in:\n" .. text)
end

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
end)
