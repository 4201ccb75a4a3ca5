-- kumo.validate: parameter checks before a request is sent.
local model = require "kumo.model"
local validate = require "kumo.validate"

local function problems(svc, op, params, opts)
  local s = model.service(svc)
  local ok, err = validate.try(s, model.operation(s, op), params, opts)
  if ok then return nil end
  return err
end

local PROXY = { DBProxyName = "orders-proxy", EngineFamily = "MYSQL",
  RoleArn = "arn:aws:iam::111122223333:role/proxy", VpcSubnetIds = { "subnet-0a", "subnet-0b" },
  Auth = { { AuthScheme = "SECRETS", IAMAuth = "REQUIRED",
             SecretArn = "arn:aws:secretsmanager:ap-northeast-1:111122223333:secret:db-AbCdEf" } } }

local function with(base, changes)
  local t = {}
  for k, v in pairs(base) do t[k] = v end
  for k, v in pairs(changes) do t[k] = v end
  return t
end

describe("kumo.validate", function()
  it("accepts a correct input", function()
    assert.is_nil(problems("rds", "CreateDBProxy", PROXY))
    assert.is_nil(problems("ec2", "DescribeSubnets",
      { Filters = { { Name = "vpc-id", Values = { "vpc-1" } } }, MaxResults = 5 }))
  end)

  it("names the operation and the path of an enum mismatch (strict)", function()
    local p = with(PROXY, { Auth = { { AuthScheme = "SECRETS", IAMAuth = "NOPE" } } })
    local err = problems("rds", "CreateDBProxy", p, { strict = true })
    assert.are.equal('CreateDBProxy: Auth[1].IAMAuth: expected one of DISABLED, REQUIRED, '
      .. 'ENABLED, got "NOPE"', err)
  end)

  it("only warns about an enum mismatch unless strict", function()
    local warnings = {}
    local p = with(PROXY, { EngineFamily = "ORACLE" })
    assert.is_nil(problems("rds", "CreateDBProxy", p, { warn = function(m) warnings[#warnings + 1] = m end }))
    assert.are.equal(1, #warnings)
    assert.matches('CreateDBProxy: EngineFamily: expected one of MYSQL, POSTGRESQL, SQLSERVER, got "ORACLE"',
      warnings[1], 1, true)
    -- said once per value, not on every call
    assert.is_nil(problems("rds", "CreateDBProxy", p, { warn = function(m) warnings[#warnings + 1] = m end }))
    assert.are.equal(1, #warnings)
    -- and still an error when strict
    assert.matches('EngineFamily: expected one of', problems("rds", "CreateDBProxy", p, { strict = true }), 1, true)
  end)

  it("rejects unknown members and suggests the close one", function()
    local err = problems("rds", "CreateDBProxy", with(PROXY, { Tagz = {} }))
    assert.are.equal("CreateDBProxy: Tagz: unknown parameter; did you mean Tags?", err)
    err = problems("rds", "DescribeDBProxies", { Filters = { { Name = "a", Values = {}, Vals = {} } } })
    assert.matches("DescribeDBProxies: Filters[1].Vals: unknown parameter; did you mean Values?", err, 1, true)
  end)

  it("reports missing required members with their path", function()
    local p = with(PROXY, {})
    p.RoleArn = nil
    assert.are.equal("CreateDBProxy: RoleArn: required parameter is missing",
      problems("rds", "CreateDBProxy", p))
    assert.are.equal("DescribeDBProxies: Filters[2].Values: required parameter is missing",
      problems("rds", "DescribeDBProxies", { Filters = { { Name = "a", Values = { "b" } }, { Name = "c" } } }))
  end)

  it("checks types", function()
    assert.matches("MaxRecords: expected an integer, got string \"20\"",
      problems("rds", "DescribeDBProxies", { MaxRecords = "20" }), 1, true)
    assert.matches("MaxRecords: expected an integer, got number 2.5",
      problems("rds", "DescribeDBProxies", { MaxRecords = 2.5 }), 1, true)
    assert.matches("RequireTLS: expected a boolean",
      problems("rds", "CreateDBProxy", with(PROXY, { RequireTLS = "yes" })), 1, true)
    assert.matches("VpcSubnetIds: expected a list, got string",
      problems("rds", "CreateDBProxy", with(PROXY, { VpcSubnetIds = "subnet-0a" })), 1, true)
    assert.matches("Auth[1]: expected a table, got string",
      problems("rds", "CreateDBProxy", with(PROXY, { Auth = { "SECRETS" } })), 1, true)
    assert.matches("Auth: expected a list (keys 1..n), found key \"x\"",
      problems("rds", "CreateDBProxy", with(PROXY, { Auth = { x = 1 } })), 1, true)
    assert.matches("expected a table of named members, got a list",
      problems("rds", "CreateDBProxy", with(PROXY, { Auth = { { "x" } } })), 1, true)
  end)

  it("checks timestamps: epoch numbers or ISO 8601 text", function()
    local op = { StartTime = 1700000000, EndTime = "2024-01-31T12:00:00Z", MetricName = "CPU",
      Namespace = "AWS/RDS", Period = 60, Statistics = { "Average" } }
    assert.is_nil(problems("cloudwatch", "GetMetricStatistics", op))
    op.EndTime = "yesterday"
    assert.matches('EndTime: "yesterday" is not a timestamp', problems("cloudwatch", "GetMetricStatistics", op), 1, true)
  end)

  it("checks lengths and ranges", function()
    assert.matches('RoleArn: "arn" has length 3, below the minimum 20',
      problems("rds", "CreateDBProxy", with(PROXY, { RoleArn = "arn" })), 1, true)
    assert.matches("MaxRecords: 101 is above the maximum 100",
      problems("rds", "DescribeDBProxies", { MaxRecords = 101 }), 1, true)
    assert.matches("MaxRecords: 19 is below the minimum 20",
      problems("rds", "DescribeDBProxies", { MaxRecords = 19 }), 1, true)
    -- lengths count characters, not bytes
    assert.is_nil(problems("secretsmanager", "CreateSecret", { Name = ("é"):rep(512) }))
    assert.matches("Name: .* has length 513, above the maximum 512",
      problems("secretsmanager", "CreateSecret", { Name = ("é"):rep(513) }))
  end)

  it("checks patterns against the whole value", function()
    assert.matches('RoleName: "bad name!" does not match the pattern [\\w+=,.@-]+',
      problems("iam", "CreateRole", { RoleName = "bad name!", AssumeRolePolicyDocument = "{}" }), 1, true)
    assert.is_nil(problems("iam", "CreateRole", { RoleName = "app-role", AssumeRolePolicyDocument = "{}" }))
    assert.matches("does not match the pattern",
      problems("organizations", "DescribeOrganizationalUnit", { OrganizationalUnitId = "ou-abc" }), 1, true)
    assert.is_nil(problems("organizations", "DescribeOrganizationalUnit",
      { OrganizationalUnitId = "ou-ab12-abcd1234" }))
  end)

  it("checks map keys and values with their path", function()
    local err = problems("secretsmanager", "CreateSecret", { Name = "n", Tags = { { Key = 5 } } })
    assert.matches("CreateSecret: Tags[1].Key: expected a string, got number 5", err, 1, true)
    err = problems("logs", "CreateLogGroup", { logGroupName = "g", tags = { ["bad key!"] = "v" } })
    assert.matches('CreateLogGroup: tags["bad key!"]: "bad key!" does not match the pattern', err, 1, true)
  end)

  it("does not require an idempotency token (it is generated)", function()
    assert.is_nil(problems("ec2", "RunInstances", { MinCount = 1, MaxCount = 1, ImageId = "ami-1" }))
    local shapes = {
      In = { type = "structure", required = { "Token", "Name" },
             members = { Token = { shape = "S", idempotencyToken = true }, Name = { shape = "S" } } },
      S = { type = "string" },
    }
    local _, err = validate.try({ shapes = shapes }, { name = "Op", input = { shape = "In" } }, {})
    assert.are.equal("Op: Name: required parameter is missing", err)
  end)

  it("never shows a sensitive value", function()
    local err = problems("secretsmanager", "CreateSecret", { Name = "n", SecretString = ("s3cr3t"):rep(11000) })
    assert.matches("SecretString: (sensitive value, not shown) has length 66000, above the maximum 65536",
      err, 1, true)
    assert.is_nil(err:find("s3cr3t", 1, true))
    err = problems("secretsmanager", "CreateSecret", { Name = "n", SecretString = 42 })
    assert.matches("SecretString: expected a string, got number (sensitive value, not shown)", err, 1, true)
  end)

  it("reports several problems at once, one per line", function()
    local err = problems("rds", "CreateDBProxy", { DBProxyName = 1, Bogus = true })
    local lines = {}
    for l in err:gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.is_true(#lines >= 5, err)
    for _, l in ipairs(lines) do assert.matches("^CreateDBProxy: ", l) end
  end)

  it("rejects parameters for an operation without input, and non-tables", function()
    local svc = { shapes = {} }
    local ok, err = validate.try(svc, { name = "Ping" }, { X = 1 })
    assert.is_nil(ok)
    assert.matches("Ping: takes no parameters", err, 1, true)
    ok, err = validate.try(model.service("sts"), model.operation("sts", "GetCallerIdentity"), "x")
    assert.is_nil(ok)
    assert.matches("GetCallerIdentity: parameters must be a table, got string", err, 1, true)
  end)

  it("lets a jsonvalue member take a table", function()
    local shapes = {
      In = { type = "structure", members = { Attr = { shape = "S", jsonvalue = true,
        location = "header", locationName = "X-Attr" }, Name = { shape = "S" } } },
      S = { type = "string" },
    }
    local svc, op = { shapes = shapes }, { name = "Op", input = { shape = "In" } }
    assert.is_true(validate.try(svc, op, { Attr = { a = 1 } }))
    local _, err = validate.try(svc, op, { Name = { a = 1 } })
    assert.matches("Op: Name: expected a string, got table", err, 1, true)
  end)

  it("requires exactly one member of a union", function()
    local shapes = {
      In = { type = "structure", members = { U = { shape = "U" } } },
      U = { type = "structure", union = true, members = { A = { shape = "S" }, B = { shape = "S" } } },
      S = { type = "string" },
    }
    local svc, op = { shapes = shapes }, { name = "Op", input = { shape = "In" } }
    assert.is_true(validate.try(svc, op, { U = { A = "x" } }))
    local _, err = validate.try(svc, op, { U = { A = "x", B = "y" } })
    assert.are.equal("Op: U: a union takes exactly one member, got A, B", err)
    _, err = validate.try(svc, op, { U = {} })
    assert.are.equal("Op: U: a union needs exactly one member, got none", err)
  end)
end)
