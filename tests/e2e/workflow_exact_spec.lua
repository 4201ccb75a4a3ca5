-- The rds-proxy-share workflow, exact (issue 12), end to end on the
-- sandbox (moto with SigV4 and IAM checks on), every effect read back with
-- boto3 (tests/e2e/inspect_pair.py and the PRELUDE below), independent of
-- the code under test:
-- * the docs' custom step (docs/workflow.md, "Writing a custom step"), run
--   as written: plan, apply (the alarm exists, tagged), verify, a second
--   apply with zero changing calls, drift repaired, destroy (gone);
-- * a step table in the config: plan and apply through its confined ctx;
--   one that reaches for io fails without touching a file;
-- * `needs` errors: exit 2 and no AWS call;
-- * InitQuery: set, drifted with boto3, cleared; each converges;
-- * share_name and proxy_name renamed: plan shows replace, apply leaves only
--   the new ones; destroy after a rename removes both when both exist;
-- * --graph shows the VPC CIDR blocks on the right VPC node.
local root = os.getenv("KUMO_ROOT") or "."
local sandbox = dofile(root .. "/tests/lib/sandbox.lua")

local h = dofile(root .. "/tests/e2e/workflow_helpers.lua")
local q, write, run, slurp = h.q, h.write, h.run, h.slurp

-- (h.boto3 puts `app`, `rds`, `W` and `out(v)` before these helpers)
local PRELUDE = [==[
def alarm(name):
    cw = rds.client("cloudwatch")
    a = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    if not a:
        return None
    a = a[0]
    tags = {t["Key"]: t["Value"] for t in cw.list_tags_for_resource(ResourceARN=a["AlarmArn"])["Tags"]}
    return {"threshold": a["Threshold"], "dims": {d["Name"]: d["Value"] for d in a["Dimensions"]},
            "metric": a["MetricName"], "tags": tags}
def init_query(proxy):
    tg = rds.client("rds").describe_db_proxy_target_groups(DBProxyName=proxy)["TargetGroups"][0]
    return tg["ConnectionPoolConfig"].get("InitQuery", "")
]==]

local function py(sb, code) return h.boto3(sb, PRELUDE, code) end

local has = h.has

local DEFAULT_STEPS = '"share", "secret", "role", "proxy_sg", "db_ingress", "proxy", "target_group", '
  .. '"target", "endpoint_sg", "endpoint_ingress", "endpoint"'

-- The seeded config with `steps = { ... }` at the top level.
local function with_steps(text, steps)
  return (text:gsub('(region = "[^"]+",)', "%1\n  steps = { " .. steps:gsub("%%", "%%%%") .. " },", 1))
end

-- The second pair (orders-mysql) of the seeded config with its rds/app keys changed.
local function mysql_with(text, rds_extra, app_extra)
  local i = text:find('name = "orders-mysql"', 1, true)
  local head, tail = text:sub(1, i - 1), text:sub(i)
  if rds_extra then tail = tail:gsub('(profile = "rds",)', "%1 " .. rds_extra, 1) end
  if app_extra then tail = tail:gsub('(profile = "app",)', "%1 " .. app_extra, 1) end
  return head .. tail
end

describe("rds-proxy-share, exact", function()
  local sb, cfg

  setup(function()
    sb = sandbox.start{ lifecycle = "all=0" }
    cfg = sb.dir .. "/workflow.lua"
  end)

  teardown(function()
    if sb then sb.stop() end
  end)

  it("--graph shows each VPC's CIDR blocks on its own VPC node", function()
    -- a second block on the RDS VPC tells the two VPCs apart (the seed gives both 10.0.0.0/16)
    local v = py(sb, [==[
ec2 = rds.client("ec2")
ec2.associate_vpc_cidr_block(VpcId=W["rds"]["vpc_id"], CidrBlock="10.1.0.0/16")
a = app.client("ec2").describe_vpcs(VpcIds=[W["app"]["vpc_id"]])["Vpcs"][0]
r = ec2.describe_vpcs(VpcIds=[W["rds"]["vpc_id"]])["Vpcs"][0]
out({"app": [c["CidrBlock"] for c in a["CidrBlockAssociationSet"]],
     "rds": [c["CidrBlock"] for c in r["CidrBlockAssociationSet"]]})
]==])
    assert.are.same({ "10.0.0.0/16" }, v.app)
    assert.are.same({ "10.0.0.0/16", "10.1.0.0/16" }, v.rds)
    local dot = sb.dir .. "/cidr.dot"
    local code, out, err = run(sb, "plan --quiet --config " .. q(cfg) .. " --pair orders-pg --graph " .. q(dot))
    assert.are.equal(0, code, out .. err)
    local g = slurp(dot)
    local app_label = g:match('subgraph "cluster_appvpc_orders%-pg" {%s*label="([^"]*)"')
    local rds_label = g:match('subgraph "cluster_rdsvpc_orders%-pg" {%s*label="([^"]*)"')
    assert.are.equal("APP VPC " .. sb.world.app.vpc_id .. "\\nCIDR " .. table.concat(v.app, ", "), app_label)
    assert.are.equal("RDS VPC " .. sb.world.rds.vpc_id .. "\\nCIDR " .. table.concat(v.rds, ", "), rds_label)
  end)

  it("a list whose needs are wrong is a config error: exit 2, the step and the fix, no AWS call", function()
    local cases = {
      { steps = DEFAULT_STEPS .. ', { name = "x", account = "rds", needs = { "proxi" }, read = function() end, '
          .. "create = function() end, id = function() end }",
        want = 'step "x": needs "proxi", which is not a step of this workflow (did you mean "proxy"?)' },
      { steps = '"share", "secret", "role", "proxy_sg", "db_ingress", { name = "x", account = "rds", needs = '
          .. '{ "proxy" }, read = function() end, create = function() end, id = function() end }, "proxy", '
          .. '"target_group", "target", "endpoint_sg", "endpoint_ingress", "endpoint"',
        want = 'step "x": needs "proxy", which comes after it (steps[7] > steps[6]); list "proxy" before "x"' },
      { steps = DEFAULT_STEPS .. ', { name = "x", account = "rds", needs = { "y" }, read = function() end, '
          .. 'create = function() end, id = function() end }, { name = "y", account = "rds", needs = { "x" }, '
          .. "read = function() end, create = function() end, id = function() end }",
        want = "its needs form a cycle (x -> y -> x)" },
    }
    for i, c in ipairs(cases) do
      local path = h.config_with(sb, function(t) return with_steps(t, c.steps) end, "needs" .. i)
      local before = sb.stats().total
      local code, out, err = run(sb, "apply --quiet --config " .. q(path))
      assert.are.equal(2, code, out .. err)
      has(err, c.want)
      has(err, "nothing was changed")
      assert.are.equal(before, sb.stats().total, "refused before any AWS call")
    end
  end)

  it("runs the docs' custom step as written: plan, apply, verify, apply again, drift, destroy", function()
    local doc = slurp(root .. "/docs/workflow.md")
    local code_text = doc:match("```lua\n(%-%- proxy_alarm%.lua:.-)```")
    assert.truthy(code_text, "docs/workflow.md has the proxy_alarm.lua example")
    write(sb.dir .. "/proxy_alarm.lua", code_text)
    local steps = doc:match("and add it after the proxy in the config:%s*```lua\nsteps = { (.-) },\n```")
    assert.truthy(steps, "docs/workflow.md lists the steps with proxy_alarm")
    local path = h.config_with(sb, function(t) return with_steps(t, steps) end, "alarm")
    local ALARM = "kumo-orders-pg-client-connections"
    local get = function() return py(sb, "out(alarm(" .. string.format("%q", ALARM) .. ") or 0)") end

    local base = h.mutating(sb)
    local code, out, err = run(sb, "plan --quiet --config " .. q(path) .. " --pair orders-pg")
    assert.are.equal(0, code, out .. err)
    has(out, "+ create     client connections alarm")
    assert.are.equal(base, h.mutating(sb), "plan changes nothing")

    code, out, err = run(sb, "apply --quiet --config " .. q(path) .. " --pair orders-pg")
    assert.are.equal(0, code, out .. err)
    local a = get()
    assert.are.same({ threshold = 500, metric = "ClientConnections", dims = { ProxyName = "orders-pg-proxy" } },
      { threshold = a.threshold, metric = a.metric, dims = a.dims })
    assert.are.equal("orders-pg", a.tags["kumo:pair"])
    assert.are.equal("kumo-sandbox", a.tags.Project)
    h.assert_count(sb, "orders-pg", 1)

    code, out, err = run(sb, "verify --quiet --config " .. q(path) .. " --pair orders-pg")
    assert.are.equal(0, code, out .. err)
    has(out, "client connections alarm")

    base = h.mutating(sb)
    code, out, err = run(sb, "apply --quiet --config " .. q(path) .. " --pair orders-pg")
    assert.are.equal(0, code, out .. err)
    assert.are.equal(base, h.mutating(sb), "a second apply makes zero changing calls:\n" .. out)

    -- drift made with boto3: plan and verify show it, apply repairs it
    py(sb, [[
rds.client("cloudwatch").put_metric_alarm(AlarmName="]] .. ALARM .. [[", Namespace="AWS/RDS",
    MetricName="ClientConnections", Dimensions=[{"Name": "ProxyName", "Value": "orders-pg-proxy"}],
    Statistic="Maximum", Period=300, EvaluationPeriods=1, Threshold=9, ComparisonOperator="GreaterThanThreshold")
out(1)
]])
    code, out, err = run(sb, "plan --quiet --config " .. q(path) .. " --pair orders-pg")
    assert.are.equal(0, code, out .. err)
    has(out, "~ update     client connections alarm")
    has(out, "Threshold")
    code, out, err = run(sb, "verify --quiet --config " .. q(path) .. " --pair orders-pg")
    assert.are.equal(1, code, out .. err)
    has(out, "Threshold is 9")
    code, out, err = run(sb, "apply --quiet --config " .. q(path) .. " --pair orders-pg")
    assert.are.equal(0, code, out .. err)
    assert.are.equal(500, get().threshold)

    code, out, err = run(sb, "destroy --quiet --config " .. q(path) .. " --pair orders-pg")
    assert.are.equal(0, code, out .. err)
    assert.are.equal(0, get(), "the alarm is gone")
    h.assert_count(sb, "orders-pg", 0)
  end)

  it("runs a step table written in the config, confined: plan, apply, destroy; io is refused", function()
    local doc = slurp(root .. "/docs/workflow.md")
    -- the docs' step, written inline: its body becomes a table in the steps list
    local body = doc:match("```lua\n%-%- proxy_alarm%.lua:[^\n]*\n(.-)\nreturn step\n```")
    body = body:gsub('"kumo%-" %.%. ctx%.pair%.name %.%. "%-client%-connections"',
      '"kumo-" .. ctx.pair.name .. "-inline-alarm"')
    local inline = "(function()\n" .. body .. "\nreturn step\nend)()"
    local path = h.config_with(sb, function(t) return with_steps(t, DEFAULT_STEPS .. ", " .. inline) end, "inline")
    local ALARM = "kumo-orders-pg-inline-alarm"
    local code, out, err = run(sb, "plan --quiet --config " .. q(path) .. " --pair orders-pg")
    assert.are.equal(0, code, out .. err)
    has(out, "+ create     client connections alarm")
    code, out, err = run(sb, "apply --quiet --config " .. q(path) .. " --pair orders-pg")
    assert.are.equal(0, code, out .. err)
    local a = py(sb, "out(alarm(" .. string.format("%q", ALARM) .. ") or 0)")
    assert.are.equal(500, a.threshold)
    assert.are.equal("orders-pg", a.tags["kumo:pair"])
    local base = h.mutating(sb)
    code, out, err = run(sb, "apply --quiet --config " .. q(path) .. " --pair orders-pg")
    assert.are.equal(0, code, out .. err)
    assert.are.equal(base, h.mutating(sb), "a second apply makes zero changing calls")

    -- a table step reaching for io or for the context's sessions fails, naming why
    local touched = sb.dir .. "/touched-by-step"
    local evil = h.config_with(sb, function(t)
      return with_steps(t, DEFAULT_STEPS .. ', { name = "evil", account = "rds", id = function(l) return l end, '
        .. "create = function() end, read = function(ctx) io.open(" .. string.format("%q", touched)
        .. ', "w") end }')
    end, "evil")
    code, out, err = run(sb, "plan --quiet --config " .. q(evil) .. " --pair orders-pg")
    assert.are.equal(1, code, out .. err)
    has(out .. err, "io is not available: a config cannot read or write files")
    assert.is_nil(io.open(touched), "the step created a file")
    local sessions = h.config_with(sb, function(t)
      return with_steps(t, DEFAULT_STEPS .. ', { name = "evil", account = "rds", id = function(l) return l end, '
        .. 'create = function() end, read = function(ctx) return ctx.sessions.rds end }')
    end, "sessions")
    code, out, err = run(sb, "plan --quiet --config " .. q(sessions) .. " --pair orders-pg")
    assert.are.equal(1, code, out .. err)
    has(out .. err, "sessions")

    code, out, err = run(sb, "destroy --quiet --config " .. q(path) .. " --pair orders-pg")
    assert.are.equal(0, code, out .. err)
    assert.are.equal(0, py(sb, "out(alarm(" .. string.format("%q", ALARM) .. ") or 0)"))
    h.assert_count(sb, "orders-pg", 0)
  end)

  it("converges InitQuery: set, drifted with boto3, cleared", function()
    local path = h.config_with(sb, function(t) return mysql_with(t, 'init_query = "SET x=1",') end, "iq")
    local code, out, err = run(sb, "apply --quiet --config " .. q(path) .. " --pair orders-mysql")
    assert.are.equal(0, code, out .. err)
    local get = function() return py(sb, 'out(init_query("orders-mysql-proxy"))') end
    assert.are.equal("SET x=1", get())

    py(sb, [[
rds.client("rds").modify_db_proxy_target_group(DBProxyName="orders-mysql-proxy", TargetGroupName="default",
    ConnectionPoolConfig={"InitQuery": "SET y=2"})
out(1)
]])
    assert.are.equal("SET y=2", get())
    local base = h.mutating(sb)
    code, out, err = run(sb, "plan --quiet --config " .. q(path) .. " --pair orders-mysql")
    assert.are.equal(0, code, out .. err)
    has(out, "~ update     target group connection pool")
    has(out, "InitQuery: SET y=2 → SET x=1")
    assert.are.equal(base, h.mutating(sb))
    code, out, err = run(sb, "apply --quiet --config " .. q(path) .. " --pair orders-mysql")
    assert.are.equal(0, code, out .. err)
    assert.are.equal("SET x=1", get())
    base = h.mutating(sb)
    code, out, err = run(sb, "apply --quiet --config " .. q(path) .. " --pair orders-mysql")
    assert.are.equal(0, code, out .. err)
    assert.are.equal(base, h.mutating(sb), "converged: zero changing calls")

    -- the key removed from the config: converges to no init query
    code, out, err = run(sb, "plan --quiet --config " .. q(cfg) .. " --pair orders-mysql")
    assert.are.equal(0, code, out .. err)
    has(out, "InitQuery")
    code, out, err = run(sb, "apply --quiet --config " .. q(cfg) .. " --pair orders-mysql")
    assert.are.equal(0, code, out .. err)
    assert.are.equal("", get())
    code, out, err = run(sb, "verify --quiet --config " .. q(cfg) .. " --pair orders-mysql")
    assert.are.equal(0, code, out .. err)
  end)

  it("renames share_name and proxy_name: plan shows replace, apply leaves only the new ones", function()
    -- orders-mysql is applied with the seeded names (the test above)
    local doc = h.inspect(sb, "orders-mysql")
    assert.are.same({ "orders-mysql-subnets" }, doc.tagged_shares)
    assert.are.same({ "orders-mysql-proxy" }, doc.tagged_proxies)
    local renamed = h.config_with(sb, function(t)
      return mysql_with(t:gsub("orders%-mysql%-proxy", "orders-mysql-px2"), nil, 'share_name = "orders-mysql-shared",')
    end, "renamed")
    local base = h.mutating(sb)
    local code, out, err = run(sb, "plan --quiet --config " .. q(renamed) .. " --pair orders-mysql")
    assert.are.equal(0, code, out .. err)
    has(out, 'replace (share_name changed: "orders-mysql-subnets" -> "orders-mysql-shared"; apply deletes the '
      .. "old one and creates the new one)")
    has(out, 'replace (proxy_name changed: "orders-mysql-proxy" -> "orders-mysql-px2"; apply deletes the old '
      .. "one and creates the new one)")
    assert.are.equal(base, h.mutating(sb), "plan changes nothing")

    code, out, err = run(sb, "apply --quiet --config " .. q(renamed) .. " --pair orders-mysql")
    assert.are.equal(0, code, out .. err)
    has(out, "delete (renamed) RAM resource share")
    has(out, "delete (renamed) RDS Proxy")
    doc = h.inspect(sb, "orders-mysql")
    assert.are.same({ "orders-mysql-shared" }, doc.tagged_shares)
    assert.are.same({ "orders-mysql-px2" }, doc.tagged_proxies)
    assert.are.equal(1, doc.endpoint, "the endpoint is back, on the new proxy")
    local ep = py(sb, [==[
e = rds.client("rds").describe_db_proxy_endpoints(DBProxyEndpointName="orders-mysql-app")["DBProxyEndpoints"][0]
out(e["DBProxyName"])
]==])
    assert.are.equal("orders-mysql-px2", ep)
    code, out, err = run(sb, "verify --quiet --config " .. q(renamed) .. " --pair orders-mysql")
    assert.are.equal(0, code, out .. err)
    base = h.mutating(sb)
    code, out, err = run(sb, "apply --quiet --config " .. q(renamed) .. " --pair orders-mysql")
    assert.are.equal(0, code, out .. err)
    assert.are.equal(base, h.mutating(sb), "a second apply makes zero changing calls:\n" .. out)
  end)

  it("destroy after a rename removes the old and the new when both exist", function()
    -- the seeded names again, applied through another journal: refused before
    -- any change, since the endpoint name belongs to the renamed proxy
    local other = sb.dir .. "/state-other"
    local base = h.mutating(sb)
    local code, out, err = run(sb, "apply --quiet --config " .. q(cfg) .. " --pair orders-mysql --state " .. q(other))
    assert.are.equal(1, code, out .. err)
    has(out, "already belongs to proxy orders-mysql-px2")
    assert.are.equal(base, h.mutating(sb), "the refused apply makes zero changing calls:\n" .. out)
    local doc = h.inspect(sb, "orders-mysql")
    assert.are.same({ "orders-mysql-shared" }, doc.tagged_shares)
    assert.are.same({ "orders-mysql-px2" }, doc.tagged_proxies)
    -- the pair's share and proxy under the seeded names beside the renamed
    -- ones, made with boto3 (as an operator's earlier run would have left them)
    py(sb, [==[
app.client("ram").create_resource_share(name="orders-mysql-subnets", principals=[W["accounts"]["rds"]],
    allowExternalPrincipals=False, tags=[{"key": "kumo:pair", "value": "orders-mysql"}])
r = rds.client("rds")
p = r.describe_db_proxies(DBProxyName="orders-mysql-px2")["DBProxies"][0]
a = p["Auth"][0]
r.create_db_proxy(DBProxyName="orders-mysql-proxy", EngineFamily=p["EngineFamily"], RoleArn=p["RoleArn"],
    Auth=[{"AuthScheme": "SECRETS", "SecretArn": a["SecretArn"], "IAMAuth": a["IAMAuth"]}],
    VpcSubnetIds=p["VpcSubnetIds"], VpcSecurityGroupIds=p["VpcSecurityGroupIds"],
    Tags=[{"Key": "kumo:pair", "Value": "orders-mysql"}])
out(1)
]==])
    doc = h.inspect(sb, "orders-mysql")
    assert.are.same({ "orders-mysql-shared", "orders-mysql-subnets" }, doc.tagged_shares)
    assert.are.same({ "orders-mysql-proxy", "orders-mysql-px2" }, doc.tagged_proxies)

    -- destroy with the seeded config and the first journal (which knows px2)
    code, out, err = run(sb, "destroy --quiet --config " .. q(cfg) .. " --pair orders-mysql")
    assert.are.equal(0, code, out .. err)
    doc = h.inspect(sb, "orders-mysql")
    assert.are.same({}, doc.tagged_shares)
    assert.are.same({}, doc.tagged_proxies)
    h.assert_count(sb, "orders-mysql", 0)
  end)
end)
