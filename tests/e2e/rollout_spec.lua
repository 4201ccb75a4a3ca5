-- An organization-wide rollout on the sandbox (`--accounts 8`): a config of
-- about twenty lines generates one pair per APP account of the OU `apps`
-- and names every id by tags; plan shows what each selector resolved to;
-- three broken accounts and --failure-tolerance 2 stop the rollout; the
-- rerun after the fix finishes the rest and only plans the pairs already
-- done (no changing call in their accounts, per the sandbox's own
-- statistics); two shards cover every pair once. Effects are read back
-- with boto3 (tests/e2e/fleet.py), as the deployer assuming each account's
-- OrganizationAccountAccessRole.
local root = os.getenv("KUMO_ROOT") or "."
local sandbox = dofile(root .. "/tests/lib/sandbox.lua")
local helpers = dofile(root .. "/tests/e2e/workflow_helpers.lua")
local json = require "kumo.json"
package.path = root .. "/scripts/?.lua;" .. package.path

local N = 8  -- accounts: enough for waves and shards, seconds per run
local q = helpers.q

local CONFIG = [[
-- every APP account of the OU "apps" reaches orders-pg through its own proxy endpoint
return {
  region = "ap-northeast-1",
  base_profile = "base",                 -- the management account's deployer
  pairs = function(org)
    local out = {}
    for _, a in ipairs(org:accounts{ ou = "apps", tags = { team = "orders" } }) do
      out[#out + 1] = {
        name = a.name, tags = { wave = a.tags.wave },
        app = { role_arn = a.role_arn,     -- OrganizationAccountAccessRole
                vpc = { tags = { Name = "app" } },
                subnets = { tags = { tier = "private" }, per_az = 1 },
                client_security_groups = { tags = { role = "app-clients" } } },
        rds = { profile = "rds", engine_family = "POSTGRESQL", proxy_name = a.name .. "-orders",
                db_instance_identifier = { tags = { db = "postgres" } },
                secret_arn = { tags = { db = "postgres" } } },
        endpoint = { name = a.name .. "-orders-app" },
      }
    end
    return out
  end,
}
]]

-- More than one RDS account (--rds-accounts 2): each APP account is tagged
-- with the RDS account it uses (rds=rds-01|rds-02); the config maps one to
-- the other in Lua and reaches both sides through OrganizationAccountAccessRole.
local CONFIG_RDS = [[
return {
  region = "ap-northeast-1",
  base_profile = "base",
  pairs = function(org)
    local rds = {}
    for _, r in ipairs(org:accounts{ ou = "databases" }) do rds[r.name] = r end
    local out = {}
    for _, a in ipairs(org:accounts{ ou = "apps", tags = { rds = true } }) do
      out[#out + 1] = {
        name = a.name .. "-b",
        app = { role_arn = a.role_arn, vpc = { tags = { Name = "app" } },
                subnets = { tags = { tier = "private" }, per_az = 1 },
                client_security_groups = { tags = { role = "app-clients" } } },
        rds = { account_role_arn = rds[a.tags.rds].role_arn, engine_family = "POSTGRESQL",
                proxy_name = a.name .. "-b", db_instance_identifier = { tags = { db = "postgres" } },
                secret_arn = { tags = { db = "postgres" } } },
        endpoint = { name = a.name .. "-b-app" },
      }
    end
    return out
  end,
}
]]

describe("an organization-wide rollout", function()
  local sb, cfg, state, world

  local function run(args)
    return helpers.run(sb, args .. " --config " .. q(cfg) .. " --state " .. q(state) .. " --quiet")
  end

  local function run_json(args)
    local code, out, err = run(args .. " --output json")
    local ok, doc = pcall(json.decode, out)
    assert(ok and type(doc) == "table", "not JSON (exit " .. tostring(code) .. "): " .. out .. err)
    return code, doc, err
  end

  local function fleet(...)
    local args = {}
    for i, a in ipairs{ ... } do args[i] = q(a) end
    local p = io.popen(string.format("%s python3 %s %s %s 2>&1", helpers.env_prefix(sb),
      q(root .. "/tests/e2e/fleet.py"), q(sb.dir), table.concat(args, " ")))
    local text = p:read("a")
    p:close()
    local ok, doc = pcall(json.decode, text)
    assert(ok and type(doc) == "table", "fleet.py: " .. text)
    return doc
  end

  local function by_pair(doc)
    local m = {}
    for _, p in ipairs(doc.rollout.pairs) do m[p.pair] = p end
    return m
  end

  local function account(name)
    for _, a in ipairs(world.fleet.accounts) do
      if a.name == name then return a end
    end
  end

  setup(function()
    sb = sandbox.start{ accounts = N, rds_accounts = 2, lifecycle = "all=0" }
    sb.env.KUMO_WAITER_DELAY = "0.05"  -- the sandbox answers at once: poll fast
    -- the accounts' roles are assumed by ARN with a fixed session name: the
    -- AWS CLI's file cache would hand out another sandbox's credentials
    sb.env.KUMO_CREDENTIAL_CACHE = "off"
    world = sb.world
    cfg = sb.dir .. "/org-rollout.lua"
    state = sb.dir .. "/state"
    helpers.write(cfg, CONFIG)
  end)

  teardown(function()
    if sb then sb.stop() end
  end)

  it("is a config of about twenty lines with selectors only, and plan shows each resolved id", function()
    local lines = select(2, CONFIG:gsub("\n", "\n"))
    assert.is_true(lines <= 25, "the config has " .. lines .. " lines")
    assert.is_nil(CONFIG:find("vpc%-%x") or CONFIG:find("subnet%-%x") or CONFIG:find("sg%-%x"))
    local code, doc = run_json("plan")
    assert.equal(0, code)
    assert.equal(N, #doc.rollout.pairs)
    local pg = world.rds.databases.postgres
    for _, p in ipairs(doc.rollout.pairs) do
      local a = account(p.pair)
      assert.is_not_nil(a, p.pair)
      local got = {}
      for _, x in ipairs(p.resolved) do got[x.key] = x.id end
      local private = {}
      for _, s in ipairs(a.subnets) do
        if s.tier == "private" then private[#private + 1] = s end
      end
      table.sort(private, function(x, y) return x.az < y.az end)
      assert.same({
        ["app.vpc_id"] = a.vpc_id,
        ["app.subnet_ids"] = { private[1].id, private[2].id },
        ["app.client_security_group_ids"] = { a.security_group_id },
        ["rds.db_instance_identifier"] = pg.id,
        ["rds.secret_arn"] = pg.secret_arn,
      }, got)
    end
    -- the text plan shows them under each pair
    local _, out = run("plan --pair app-01")
    local a1 = account("app-01")
    assert.truthy(out:find("resolved app.vpc_id = " .. a1.vpc_id .. "  (tags Name=app)", 1, true), out)
    assert.truthy(out:find("resolved rds.db_instance_identifier = orders-pg  (tags db=postgres)", 1, true), out)
  end)

  it("stops starting pairs after the third failure with --failure-tolerance 2, and names each", function()
    for _, name in ipairs{ "app-02", "app-04", "app-05" } do fleet("untag", account(name).id, "Name") end
    sb.reset_stats()
    local code, doc = run_json("apply --max-concurrent 1 --failure-tolerance 2")
    assert.equal(1, code)
    local m = by_pair(doc)
    for _, name in ipairs{ "app-01", "app-03" } do assert.equal("ok", m[name].outcome, name) end
    for _, name in ipairs{ "app-02", "app-04", "app-05" } do
      assert.equal("failed", m[name].outcome, name)
      local want = "pair " .. name .. ": app.vpc_id: no VPC in the APP account matches tags Name=app; candidates: "
      assert.equal(want, m[name].error:sub(1, #want))
      -- the candidates: the untagged VPC among them (and the account's default VPC)
      assert.truthy(m[name].error:find(account(name).vpc_id, #want, true), m[name].error)
    end
    for _, name in ipairs{ "app-06", "app-07", "app-08" } do assert.equal("not started", m[name].outcome, name) end
    assert.equal(3, doc.rollout.failed)
    assert.equal(3, doc.rollout.not_started)
    assert.matches("3 pair%(s%) failed, more than the failure tolerance %(2%): no new pair started after app%-05",
      doc.rollout.stopped)
    -- the sandbox's count (before boto3 reads them): no call reached the accounts not started
    local stats = sb.stats()
    for _, name in ipairs{ "app-06", "app-07", "app-08" } do
      local s = stats.accounts[account(name).id]
      assert.equal(0, s and s.total or 0, name .. " was called")
    end
    -- boto3: only the two good pairs exist; the not-started accounts were not touched
    local seen = fleet("inspect")
    assert.same({ "app-01-orders-app", "app-03-orders-app" }, seen.endpoints)
    for i = 1, N do
      local name = string.format("app-%02d", i)
      assert.equal((name == "app-01" or name == "app-03") and 1 or 0, seen.accounts[name].shares, name)
    end
  end)

  it("finishes the rest after the fix, with no changing call on the pairs already done", function()
    for _, name in ipairs{ "app-02", "app-04", "app-05" } do fleet("tag", account(name).id, "Name", "app") end
    sb.reset_stats()
    local code, doc = run_json("apply --max-concurrent 3 --failure-tolerance 2")
    assert.equal(0, code, json.encode(doc.rollout))
    local m = by_pair(doc)
    for _, name in ipairs{ "app-01", "app-03" } do
      assert.equal("checked", m[name].rollout, name)
      assert.equal(0, m[name].changing_calls, name)
      -- the sandbox's own count: nothing changed in those accounts
      local s = sb.stats().accounts[account(name).id]
      assert.equal(0, s and s.mutating or 0, name .. " had changing calls")
    end
    for _, name in ipairs{ "app-02", "app-04", "app-05", "app-06", "app-07", "app-08" } do
      assert.equal("ok", m[name].outcome, name)
      assert.equal("ran", m[name].rollout, name)
    end
    local seen = fleet("inspect")
    assert.equal(N, #seen.endpoints)
    for name, a in pairs(seen.accounts) do assert.equal(1, a.shares, name) end
  end)

  it("splits the pairs into shards that cover each exactly once", function()
    local rollout = require "rds-proxy.rollout"
    local got, seen = {}, {}
    for i = 1, 2 do
      local code, doc = run_json("plan --shard " .. i .. "/2")
      assert.equal(0, code)
      got[i] = {}
      for _, p in ipairs(doc.rollout.pairs) do
        assert.is_nil(seen[p.pair], p.pair .. " is in both shards")
        seen[p.pair] = i
        got[i][#got[i] + 1] = p.pair
        assert.equal(i, rollout.shard_of(p.pair, 2))
      end
    end
    for _, a in ipairs(world.fleet.accounts) do assert.is_not_nil(seen[a.name], a.name) end
    assert.is_true(#got[1] > 0 and #got[2] > 0)
    assert.equal(N, #got[1] + #got[2])
  end)

  it("maps APP accounts to two RDS accounts by tag: each pair's proxy is in its own RDS account", function()
    local cfg2, state2 = sb.dir .. "/org-rds.lua", sb.dir .. "/state-rds"
    helpers.write(cfg2, CONFIG_RDS)
    local code, out, err = helpers.run(sb, "apply --pair app-01-b --pair app-02-b --max-concurrent 2 --quiet"
      .. " --output json --config " .. q(cfg2) .. " --state " .. q(state2))
    local ok, doc = pcall(json.decode, out)
    assert(ok and type(doc) == "table", "not JSON (exit " .. tostring(code) .. "): " .. out .. err)
    assert.equal(0, code, out .. err)
    local rds_of = {}
    for _, r in ipairs(world.rds_fleet.accounts) do rds_of[r.name] = r end
    -- each pair's selectors resolved in its own RDS account: that account's secret
    for _, p in ipairs(doc.rollout.pairs) do
      local got = {}
      for _, x in ipairs(p.resolved) do got[x.key] = x.id end
      local want = p.pair == "app-01-b" and "rds-01" or "rds-02"
      assert.equal(rds_of[want].databases.postgres.secret_arn, got["rds.secret_arn"], p.pair)
    end
    assert.equal(2, #doc.rollout.pairs)
    -- boto3, as the deployer in each RDS account: one proxy and its endpoint each
    local seen = fleet("inspect-rds")
    assert.same({ proxies = { "app-01-b" }, endpoints = { "app-01-b-app" } }, seen["rds-01"])
    assert.same({ proxies = { "app-02-b" }, endpoints = { "app-02-b-app" } }, seen["rds-02"])
    -- and none of them in the usual RDS account
    for _, name in ipairs(fleet("inspect").proxies) do
      assert.is_nil(name:find("%-b$"), name .. " is in the RDS account 222222222222")
    end
  end)

  it("refuses --rds-accounts without --accounts, or past 50, naming the fix", function()
    for _, args in ipairs{ "--rds-accounts 2", "--accounts 2 --rds-accounts 51" } do
      local p = io.popen("cd " .. q(sb.dir) .. " && PYTHONPATH=" .. q(root .. "/sandbox")
        .. " python3 -m kumo_sandbox --port 0 --dir " .. q(sb.dir .. "/refused") .. " " .. args .. " 2>&1; echo \"exit $?\"")
      local text = p:read("a")
      p:close()
      assert.matches("%-%-rds%-accounts takes 0%.%.50 and needs %-%-accounts N", text)
      assert.matches("exit 2", text)
    end
  end)
end)
