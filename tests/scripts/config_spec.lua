-- The workflow's static config validation: every rule names the pair,
-- the key and the fix.
local root = os.getenv("KUMO_ROOT") or "."
package.path = root .. "/scripts/?.lua;" .. package.path
local config = require "rds-proxy.config"

local function base()
  return {
    region = "ap-northeast-1",
    tags = { Project = "orders" },
    pairs = {
      { name = "orders",
        app = { profile = "app", vpc_id = "vpc-0a1b2c3d",
                subnet_ids = { "subnet-0a", "subnet-0b" },
                client_security_group_ids = { "sg-0c" } },
        rds = { profile = "rds", db_instance_identifier = "orders-db",
                engine_family = "POSTGRESQL",
                secret_arn = "arn:aws:secretsmanager:ap-northeast-1:222222222222:secret:orders-AbCdEf",
                proxy_name = "orders-proxy" },
        endpoint = { name = "orders-app", target_role = "READ_WRITE" } },
    },
  }
end

local function with(mut)
  local c = base()
  mut(c, c.pairs[1])
  return c
end

describe("workflow config", function()
  it("accepts the documented example and fills the defaults", function()
    local cfg, warnings = config.check(base())
    assert.is_table(cfg)
    assert.are.same({}, warnings)
    local p = cfg.pairs[1]
    assert.are.equal(1800, p.rds.idle_client_timeout)
    assert.are.equal(true, p.rds.require_tls)
    assert.are.equal(50, p.rds.max_idle_connections_percent)
    assert.are.equal("orders-subnets", p.app.share_name)
    assert.are.equal(5432, p.listener_port)
    assert.are.equal("orders", p.tags["kumo:pair"])
    assert.are.equal("orders", p.tags.Project)
  end)

  it("lowercases proxy names with a warning", function()
    local cfg, warnings = config.check(with(function(_, p) p.rds.proxy_name = "Orders-Proxy" end))
    assert.are.equal("orders-proxy", cfg.pairs[1].rds.proxy_name)
    assert.truthy(warnings[1]:find("lower case", 1, true))
  end)

  local invalid = {
    { "region", function(c) c.region = "tokyo" end, 'config: region: "tokyo" is not an AWS region' },
    { "no pairs", function(c) c.pairs = {} end, "config: pairs: must list at least one" },
    { "pair name", function(_, p) p.name = "Orders_1" end, "pair 1: name: must be 1-40 characters" },
    { "one subnet", function(_, p) p.app.subnet_ids = { "subnet-0a" } end,
      'pair "orders": app.subnet_ids: needs at least 2 subnet ids, got 1' },
    { "bad subnet id", function(_, p) p.app.subnet_ids = { "subnet-0a", "sn-1" } end,
      'app.subnet_ids[2]: "sn-1" is not a subnet id' },
    { "duplicate subnet", function(_, p) p.app.subnet_ids = { "subnet-0a", "subnet-0a" } end,
      "subnet-0a is listed twice" },
    { "proxy name", function(_, p) p.rds.proxy_name = "orders--proxy" end,
      'rds.proxy_name: "orders--proxy" is not a valid proxy name' },
    { "proxy name trailing hyphen", function(_, p) p.rds.proxy_name = "orders-" end, "no trailing hyphen" },
    { "endpoint name", function(_, p) p.endpoint.name = "1app" end, 'endpoint.name: "1app" is not a valid endpoint name' },
    { "engine", function(_, p) p.rds.engine_family = "ORACLE" end,
      "rds.engine_family: must be one of MYSQL, POSTGRESQL, SQLSERVER, got ORACLE" },
    { "pinning on postgres", function(_, p) p.rds.session_pinning_filters = { "EXCLUDE_VARIABLE_SETS" } end,
      "session pinning filters exist only for MYSQL" },
    { "unknown pinning filter", function(_, p) p.rds.engine_family = "MYSQL"; p.rds.session_pinning_filters = { "X" } end,
      "rds.session_pinning_filters[1]: the only filter is EXCLUDE_VARIABLE_SETS" },
    { "init query on postgres", function(_, p) p.rds.init_query = "SET x=1" end,
      "initialization queries are not supported for POSTGRESQL" },
    { "reader endpoint on an instance", function(_, p) p.endpoint.target_role = "READ_ONLY" end,
      "READ_ONLY (a reader endpoint) needs an Aurora cluster" },
    { "percent range", function(_, p) p.rds.max_connections_percent = 0 end,
      "rds.max_connections_percent: must be from 1 to 100, got 0" },
    { "idle above max", function(_, p) p.rds.max_connections_percent = 40; p.rds.max_idle_connections_percent = 60 end,
      "60 exceeds max_connections_percent (40)" },
    { "idle timeout", function(_, p) p.rds.idle_client_timeout = 30000 end,
      "rds.idle_client_timeout: must be from 1 to 28800" },
    { "borrow timeout", function(_, p) p.rds.connection_borrow_timeout = 301 end,
      "rds.connection_borrow_timeout: must be from 0 to 300" },
    { "auth type for engine", function(_, p) p.rds.client_password_auth_type = "MYSQL_NATIVE_PASSWORD" end,
      "MYSQL_NATIVE_PASSWORD is for MYSQL proxies, this one is POSTGRESQL" },
    { "iam ENABLED", function(_, p) p.rds.iam_auth = "ENABLED" end, "ENABLED is only for SQLSERVER" },
    { "iam without tls", function(_, p) p.rds.iam_auth = "REQUIRED"; p.rds.require_tls = false end,
      "IAM authentication needs TLS" },
    { "no secret", function(_, p) p.rds.secret_arn = nil end, "rds.secret_arn: set secret_arn" },
    { "both secrets", function(_, p) p.rds.secret = { name = "x", username = "u", password = "p4ssw0rd!" } end,
      "set either secret_arn (existing) or secret (to create), not both" },
    { "no account", function(_, p) p.app.profile = nil end, 'app.profile: set profile = "NAME"' },
    { "typo key", function(_, p) p.rds.idle_client_timout = 5 end,
      'rds.idle_client_timout: unknown key (did you mean "idle_client_timeout"?)' },
    { "both targets", function(_, p) p.rds.db_cluster_identifier = "c1" end,
      "set db_instance_identifier or db_cluster_identifier, not both" },
    { "external principals", function(_, p) p.app.allow_external_principals = true end,
      "subnets can only be shared inside the organization" },
    { "reserved tag", function(c) c.tags = { ["aws:x"] = "y" } end, "reserved by AWS" },
  }
  for _, case in ipairs(invalid) do
    it("rejects: " .. case[1], function()
      local cfg, errs = config.check(with(case[2]))
      assert.is_nil(cfg)
      local all = table.concat(errs, "\n")
      assert.truthy(all:find(case[3], 1, true), "expected «" .. case[3] .. "» in:\n" .. all)
    end)
  end

  it("rejects duplicate proxy and endpoint names in one RDS account", function()
    local c = base()
    local p2 = with(function() end).pairs[1]
    p2.name = "billing"
    p2.app.share_name = "billing-subnets"
    c.pairs[2] = p2
    local cfg, errs = config.check(c)
    assert.is_nil(cfg)
    local all = table.concat(errs, "\n")
    assert.truthy(all:find('"orders-proxy" is also used by pair "orders"', 1, true), all)
    assert.truthy(all:find("endpoint names are unique per account and region", 1, true), all)
  end)

  it("never echoes a password", function()
    local cfg, errs = config.check(with(function(_, p)
      p.rds.secret_arn = nil
      p.rds.secret = { name = "orders-db", username = "app", password = "short" }
    end))
    assert.is_nil(cfg)
    local all = table.concat(errs, "\n")
    assert.truthy(all:find("rds.secret.password", 1, true))
    assert.falsy(all:find("short", 1, true))
  end)

  it("filters pairs with --pair and rejects unknown names", function()
    local cfg = config.check(base(), { orders = true })
    assert.are.equal(1, #cfg.pairs)
    local bad, errs = config.check(base(), { nope = true })
    assert.is_nil(bad)
    assert.truthy(errs[1]:find("no pair has this name", 1, true))
  end)
end)

describe("hostile and invalid config files", function()
  local hostile = dofile(root .. "/tests/scripts/hostile_configs.lua")
  local dir = os.tmpname()
  os.remove(dir)
  os.execute("mkdir -p '" .. dir .. "'")
  teardown(function() os.execute("rm -rf '" .. dir .. "'") end)

  it("has at least 40 cases, each with a message", function()
    assert.truthy(#hostile.cases >= 40, #hostile.cases)
    for _, c in ipairs(hostile.cases) do assert.is_string(c.message, c.name) end
  end)

  for i, case in ipairs(hostile.cases) do
    it("refuses with one exact message: " .. case.name, function()
      local path = string.format("%s/case%d.lua", dir, i)
      local out = string.format("%s/touched%d", dir, i)
      local f = assert(io.open(path, "w"))
      f:write((case.text:gsub("%%BASE%%", function() return hostile.base end)
                        :gsub("%%OUT%%", function() return out end)))
      f:close()
      local want = case.message:gsub("%%FILE%%", function() return path end)
      local raw, err = config.load(path)
      if case.phase == "load" then
        assert.is_nil(raw)
        assert.are.equal("config: " .. want, err)
      else
        assert.is_table(raw, err)
        local cfg, errs = config.check(raw)
        assert.is_nil(cfg)
        assert.are.same({ want }, errs)
      end
      assert.is_nil(io.open(out), "the config created " .. out)
      -- kumo's own string library is intact after any case
      assert.are.equal("x=1", string.format("%s=%d", "x", 1))
      assert.are.equal("aa", ("a"):rep(2))
      assert.is_nil(getmetatable("").__newindex)
    end)
  end

  it("passes base_profile, state_dir, timeouts and steps through to the resolved config", function()
    local raw = assert(load("return " .. hostile.base, "base", "t", {}))()
    raw.base_profile = "deployer"
    raw.state_dir = "/var/lib/kumo"
    raw.timeouts = { wait = 60 }
    raw.steps = { "share", "proxy", "endpoint_sg", "endpoint" }  -- the endpoint needs the other three
    raw.replace = { "endpoint" }
    raw.pairs[1].app = { role_arn = "arn:aws:iam::111111111111:role/Deployer", vpc_id = "vpc-f8c87004dc62cf3f7",
                         subnet_ids = { "subnet-d586394639a02df88", "subnet-35d5955801289aa1e" },
                         client_security_group_ids = { "sg-bcac441490da75e43" } }
    local cfg = assert(config.check(raw))
    assert.are.equal("deployer", cfg.base_profile)
    assert.are.equal("/var/lib/kumo", cfg.state_dir)
    assert.are.same({ wait = 60 }, cfg.timeouts)
    assert.are.same({ "share", "proxy", "endpoint_sg", "endpoint" }, cfg.steps)
    assert.are.same({ "endpoint" }, cfg.replace)
  end)

  it("lets a config read an environment variable and keep its own helpers", function()
    local path = dir .. "/env.lua"
    local f = assert(io.open(path, "w"))
    f:write('local function id(n) return string.format("subnet-%04x", n) end\n'
      .. 'return { region = getenv("HOME") and "eu-west-1", ids = { id(1), id(2) } }\n')
    f:close()
    local raw = assert(config.load(path))
    assert.are.same({ region = "eu-west-1", ids = { "subnet-0001", "subnet-0002" } }, raw)
  end)
end)
