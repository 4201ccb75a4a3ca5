--- rds-proxy.select: selectors resolved over a fake account (what the
-- reads return), and their checks in config validation.
local root = os.getenv("KUMO_ROOT") or "."
package.path = root .. "/scripts/?.lua;" .. package.path
local select = require "rds-proxy.select"
local config = require "rds-proxy.config"

local function tags(t)
  local out = {}
  for k, v in pairs(t) do out[#out + 1] = { Key = k, Value = v } end
  return out
end

-- A context whose reads answer from `world[side][op]` (one page), and
-- remember what they were asked.
local function fake_ctx(world)
  local ctx = { pair = { name = "p1" }, asked = {} }
  function ctx.read_all(_, side, service, op, params)
    ctx.asked[#ctx.asked + 1] = { side = side, service = service, op = op, params = params }
    local items = (world[side] or {})[op] or {}
    local vpc = params.Filters and params.Filters[1].Values[1]
    local out = {}
    for _, r in ipairs(items) do
      if not vpc or r.VpcId == vpc then out[#out + 1] = r end
    end
    local field = ({ DescribeVpcs = "Vpcs", DescribeSubnets = "Subnets", DescribeSecurityGroups = "SecurityGroups",
      DescribeDBInstances = "DBInstances", DescribeDBClusters = "DBClusters", ListSecrets = "SecretList" })[op]
    return { { [field] = out } }
  end
  return ctx
end

local WORLD = {
  app = {
    DescribeVpcs = {
      { VpcId = "vpc-1", Tags = tags{ Name = "app" } },
      { VpcId = "vpc-2", Tags = tags{ Name = "other" } },
    },
    DescribeSubnets = {
      { SubnetId = "subnet-a1", VpcId = "vpc-1", AvailabilityZone = "z-a", Tags = tags{ tier = "private" } },
      { SubnetId = "subnet-c1", VpcId = "vpc-1", AvailabilityZone = "z-c", Tags = tags{ tier = "private" } },
      { SubnetId = "subnet-a2", VpcId = "vpc-1", AvailabilityZone = "z-a", Tags = tags{ tier = "public" } },
      { SubnetId = "subnet-x9", VpcId = "vpc-2", AvailabilityZone = "z-a", Tags = tags{ tier = "private" } },
    },
    DescribeSecurityGroups = {
      { GroupId = "sg-1", VpcId = "vpc-1", Tags = tags{ role = "app-clients" } },
      { GroupId = "sg-2", VpcId = "vpc-1", Tags = tags{ role = "app-clients", Name = "more" } },
      { GroupId = "sg-9", VpcId = "vpc-2", Tags = tags{ role = "app-clients" } },
    },
  },
  rds = {
    DescribeDBInstances = {
      { DBInstanceIdentifier = "orders-pg", TagList = tags{ db = "postgres" } },
      { DBInstanceIdentifier = "orders-my", TagList = tags{ db = "mysql" } },
      { DBInstanceIdentifier = "orders-my2", TagList = tags{ db = "mysql" } },
    },
    ListSecrets = { { ARN = "arn:aws:secretsmanager:r:2:secret:pg-abc", Tags = tags{ db = "postgres" } } },
  },
}

local function pair(app, rds)
  return { name = "p1", app = app or {}, rds = rds or {} }
end

describe("rds-proxy.select", function()
  it("resolves every selector of a pair, subnets and groups in the selected VPC only", function()
    local p = pair({ role_arn = "x", vpc_id = { tags = { Name = "app" } },
                     subnet_ids = { tags = { tier = "private" }, per_az = 1 },
                     client_security_group_ids = { tags = { role = "app-clients" } } },
                   { db_instance_identifier = { tags = { db = "postgres" } }, secret_arn = { tags = { db = "postgres" } } })
    local out, list = select.resolve(fake_ctx(WORLD), p)
    assert.equal("vpc-1", out.app.vpc_id)
    assert.same({ "subnet-a1", "subnet-c1" }, out.app.subnet_ids)
    assert.same({ "sg-1", "sg-2" }, out.app.client_security_group_ids)
    assert.equal("orders-pg", out.rds.db_instance_identifier)
    assert.equal("arn:aws:secretsmanager:r:2:secret:pg-abc", out.rds.secret_arn)
    assert.equal("x", out.app.role_arn)
    -- the input is not changed, and the list says what came from where
    assert.same({ tags = { Name = "app" } }, p.app.vpc_id)
    assert.equal(5, #list)
    assert.same({ key = "app.vpc_id", selector = "tags Name=app", id = "vpc-1" }, list[1])
    assert.equal("tags tier=private, 1 per AZ", list[2].selector)
  end)

  it("returns the pair itself when it has no selector", function()
    local p = pair({ vpc_id = "vpc-1" }, { db_instance_identifier = "orders-pg" })
    local out, list = select.resolve(fake_ctx(WORLD), p)
    assert.equal(p, out)
    assert.same({}, list)
  end)

  it("refuses no match, naming the candidates", function()
    local ctx = fake_ctx(WORLD)
    local ok, err = pcall(select.resolve, ctx, pair({ vpc_id = { tags = { Name = "nope" } } }))
    assert.is_false(ok)
    assert.matches("pair p1: app.vpc_id: no VPC in the APP account matches tags Name=nope; candidates: "
      .. "vpc%-1 %(Name=app%), vpc%-2 %(Name=other%)", err)
  end)

  it("refuses an ambiguous single resource, naming the matches", function()
    local ok, err = pcall(select.resolve, fake_ctx(WORLD), pair({}, { db_instance_identifier = { tags = { db = "mysql" } } }))
    assert.is_false(ok)
    assert.matches("rds.db_instance_identifier: 2 DB instances in the RDS account match tags db=mysql: "
      .. "orders%-my, orders%-my2; add a tag", err)
  end)

  it("refuses more subnets in one zone than per_az, naming them", function()
    local ok, err = pcall(select.resolve, fake_ctx(WORLD),
      pair({ vpc_id = "vpc-1", subnet_ids = { tags = { tier = true }, per_az = 1 } }))
    assert.is_false(ok)
    assert.matches("app.subnet_ids: 2 subnets in z%-a match tags tier, 1 per AZ, more than per_az = 1: "
      .. "subnet%-a1, subnet%-a2; tag the ones to use or raise per_az", err)
    -- without per_az every match is taken; `true` asks for the tag only
    local out = select.resolve(fake_ctx(WORLD), pair({ vpc_id = "vpc-1", subnet_ids = { tags = { tier = true } } }))
    assert.same({ "subnet-a1", "subnet-a2", "subnet-c1" }, out.app.subnet_ids)
  end)

  it("looks for subnets and groups in the pair's VPC (a filter on the call)", function()
    local ctx = fake_ctx(WORLD)
    select.resolve(ctx, pair({ vpc_id = "vpc-2", client_security_group_ids = { tags = { role = "app-clients" } } }))
    assert.same({ { Name = "vpc-id", Values = { "vpc-2" } } }, ctx.asked[1].params.Filters)
  end)

  it("checks a selector's form", function()
    assert.is_nil(select.check({ tags = { a = "b" }, per_az = 2 }, "subnets"))
    assert.matches("not per_az", select.check({ tags = { a = "b" }, per_az = 1 }, "vpc"))
    assert.matches("at least one tag", select.check({ tags = {} }, "vpc"))
    assert.matches("per_az must be an integer", select.check({ tags = { a = "b" }, per_az = 0 }, "subnets"))
    assert.matches("must be a string", select.check({ tags = { a = 5 } }, "vpc"))
  end)
end)

describe("config validation of selectors", function()
  local function base(app, rds)
    local a = { role_arn = "arn:aws:iam::111111111111:role/R", vpc_id = "vpc-0abc",
                subnet_ids = { "subnet-01", "subnet-02" }, client_security_group_ids = { "sg-01" } }
    -- false: leave the key out
    for k, v in pairs(app or {}) do a[k] = v or nil end
    local r = { profile = "rds", db_instance_identifier = "orders", engine_family = "POSTGRESQL",
                secret_arn = "arn:aws:secretsmanager:ap-northeast-1:222222222222:secret:x", proxy_name = "p1" }
    for k, v in pairs(rds or {}) do r[k] = v end
    return { region = "ap-northeast-1", pairs = { { name = "p1", app = a, rds = r, endpoint = { name = "e1" } } } }
  end

  it("accepts selectors for every id and the short keys vpc, subnets, client_security_groups", function()
    local cfg, errs = config.check(base({ vpc_id = false, subnet_ids = false, client_security_group_ids = false,
        vpc = { tags = { Name = "app" } }, subnets = { tags = { tier = "private" }, per_az = 1 },
        client_security_groups = { tags = { role = "app" } } },
      { db_instance_identifier = { tags = { db = "pg" } }, secret_arn = { tags = { db = "pg" } } }))
    assert.is_nil(errs and errs[1])
    local p = cfg.pairs[1]
    assert.same({ tags = { Name = "app" } }, p.app.vpc_id)
    assert.same({ tags = { tier = "private" }, per_az = 1 }, p.app.subnet_ids)
    assert.is_nil(p.app.vpc)
    assert.same({ tags = { db = "pg" } }, p.rds.db_instance_identifier)
  end)

  it("names the key of a bad selector and refuses an alias given with its key", function()
    local cfg, errs = config.check(base({ vpc_id = { tags = {} }, subnets = { tags = { a = "b" } } }))
    assert.is_nil(cfg)
    local text = table.concat(errs, "\n")
    assert.matches('pair "p1": app.vpc_id: a selector needs tags', text)
    assert.matches('pair "p1": app.subnets: set subnets or subnet_ids, not both', text)
  end)
end)
