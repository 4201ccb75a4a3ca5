-- `kumo call` against the AWS CLI v1 on a sandbox: the same read operations
-- through both, their JSON output parsed and compared value for value
-- (timestamps as the CLI prints them), the same --query results, the same
-- --output text; kebab-case and PascalCase names, key=value and JSON
-- parameters, --cli-input-json, --all, pagination (--page-size, --max-items,
-- --starting-token with the CLI's tokens), --wait, usage errors.
local json = require "kumo.json"
local sandbox = dofile((os.getenv("KUMO_ROOT") or ".") .. "/tests/lib/sandbox.lua")

local root = os.getenv("KUMO_ROOT") or "."
local KUMO = root .. "/bin/kumo"

local q = sandbox.shell_quote
local function slurp(path) return sandbox.read_file(path) or "" end

local sb, env

local function exec(cmd)
  local out, err = os.tmpname(), os.tmpname()
  local _, _, code = os.execute(string.format("%s %s >%s 2>%s </dev/null", env, cmd, out, err))
  local o, e = slurp(out), slurp(err)
  os.remove(out); os.remove(err)
  return code, o, e
end

local function kumo(args) return exec(KUMO .. " call " .. args) end
local function aws(args) return exec("aws " .. args) end

-- values the sandbox computes at each call ("now"), not comparable across two calls
local VOLATILE = { LatestRestorableTime = true, LastUsedDate = true }

-- kumo keeps timestamps as numbers and writes microseconds as AWS writes
-- milliseconds when they are whole: ".250000Z" from Python reads ".250Z"
-- (1 value in 1000 of moto's)
local function same_time(a, b)
  local pa, fa = a:match("^(%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d)%.?(%d*)Z$")
  local pb, fb = b:match("^(%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d)%.?(%d*)Z$")
  return pa ~= nil and pa == pb and (fa:gsub("0+$", "")) == (fb:gsub("0+$", ""))
end

-- the first difference between two decoded JSON values, as a path, or nil
local function diff(a, b, path)
  path = path or "$"
  if type(a) == "string" and type(b) == "string" and same_time(a, b) then return nil end
  if type(a) ~= type(b) then
    return string.format("%s: %s vs %s", path, json.encode(a), json.encode(b))
  end
  if type(a) ~= "table" then
    if a ~= b then return string.format("%s: %s vs %s", path, json.encode(a), json.encode(b)) end
    return nil
  end
  if json.is_array(a) ~= json.is_array(b) then return path .. ": array vs object" end
  for k, v in pairs(a) do
    if VOLATILE[k] then goto continue end
    local d = diff(v, b[k] == nil and json.null or b[k], path .. "." .. tostring(k))
    if b[k] == nil then d = path .. "." .. tostring(k) .. ": only in kumo's" end
    if d then return d end
    ::continue::
  end
  for k in pairs(b) do
    if a[k] == nil then return path .. "." .. tostring(k) .. ": only in the AWS CLI's" end
  end
  return nil
end

local function both(kargs, aargs)
  local kc, ko, ke = kumo(kargs)
  assert.are.equal(0, kc, "kumo call " .. kargs .. ": " .. ke)
  local ac, ao, ae = aws(aargs)
  assert.are.equal(0, ac, "aws " .. aargs .. ": " .. ae)
  return ko, ao
end

local function same_json(kargs, aargs)
  local ko, ao = both(kargs, aargs .. " --output json")
  assert.is_true(ko ~= "", "kumo printed nothing for " .. kargs)
  local kv, av = json.decode(ko), json.decode(ao)
  local d = diff(kv, av)
  assert.is_nil(d, kargs .. ": " .. tostring(d))
  return kv
end

describe("kumo call", function()
  setup(function()
    sb = sandbox.start{}
    local parts = { "env -u AWS_PROFILE -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN"
      .. " -u KUMO_DEBUG AWS_PAGER=" }
    for k, v in pairs(sb.env) do parts[#parts + 1] = k .. "=" .. q(v) end
    env = table.concat(parts, " ")
  end)
  teardown(function() if sb then sb.stop() end end)

  -- ten read operations of five services, as `aws SERVICE OP --output json` prints them
  local cases = {
    { "sts get-caller-identity", "sts get-caller-identity" },
    { "ec2 describe-vpcs --all", "ec2 describe-vpcs" },
    { "ec2 DescribeSubnets --all", "ec2 describe-subnets" },
    { "ec2 describe-security-groups --all", "ec2 describe-security-groups" },
    { "ec2 describe-availability-zones", "ec2 describe-availability-zones" },
    { "rds describe-db-instances --all", "rds describe-db-instances" },
    { "rds describe-db-proxies --all", "rds describe-db-proxies" },
    { "iam list-roles --all", "iam list-roles" },
    { "iam get-role role-name=kumo-deployer", "iam get-role --role-name kumo-deployer" },
    { "secretsmanager list-secrets --all", "secretsmanager list-secrets" },
    { "secretsmanager describe-secret SecretId=kumo/orders-pg",
      "secretsmanager describe-secret --secret-id kumo/orders-pg" },
    { "ram get-resource-shares resource-owner=SELF --all",
      "ram get-resource-shares --resource-owner SELF" },
  }
  for _, c in ipairs(cases) do
    it("prints the same JSON as the AWS CLI: " .. c[2], function()
      same_json("--profile rds " .. c[1], "--profile rds " .. c[2])
    end)
  end

  it("formats timestamps as the CLI: ISO 8601 text (query/XML), epoch numbers (JSON protocols)", function()
    local v = same_json("--profile rds rds describe-db-instances --all", "--profile rds rds describe-db-instances")
    assert.is_string(v.DBInstances[1].InstanceCreateTime)
    assert.truthy(v.DBInstances[1].InstanceCreateTime:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d"))
    local s = same_json("--profile rds secretsmanager list-secrets --all",
      "--profile rds secretsmanager list-secrets")
    assert.is_number(s.SecretList[1].CreatedDate)
  end)

  local queries = {
    { "rds describe-db-instances --all", "rds describe-db-instances",
      "DBInstances[].[DBInstanceIdentifier, Engine, Endpoint.Port]" },
    { "rds describe-db-instances --all", "rds describe-db-instances",
      "DBInstances[?Engine=='postgres'].{id: DBInstanceIdentifier, created: InstanceCreateTime}" },
    { "ec2 describe-subnets --all", "ec2 describe-subnets", "length(Subnets)" },
    { "ec2 describe-subnets --all", "ec2 describe-subnets", "sort_by(Subnets, &CidrBlock)[0].CidrBlock" },
    { "secretsmanager list-secrets --all", "secretsmanager list-secrets", "SecretList[].Name" },
    { "sts get-caller-identity", "sts get-caller-identity", "Account" },
    { "iam list-roles --all", "iam list-roles", "Roles[?RoleName=='no-such-role'] | [0]" },
  }
  for _, c in ipairs(queries) do
    it("gives the same --query result as the AWS CLI: " .. c[3], function()
      same_json("--profile app " .. c[1] .. " --query " .. q(c[3]),
        "--profile app " .. c[2] .. " --query " .. q(c[3]))
    end)
  end

  it("prints the same --output text as the AWS CLI", function()
    for _, c in ipairs{ { "ec2 describe-availability-zones", "ec2 describe-availability-zones" },
                        { "secretsmanager list-secrets --all", "secretsmanager list-secrets" },
                        { "rds describe-db-instances --all --query 'DBInstances[].DBInstanceIdentifier'",
                          "rds describe-db-instances --query 'DBInstances[].DBInstanceIdentifier'" } } do
      local ko, ao = both("--profile rds " .. c[1] .. " --output text",
        "--profile rds " .. c[2] .. " --output text")
      assert.are.equal(ao, ko, c[1])
    end
  end)

  it("takes parameters as JSON, key=value, --cli-input-json and file://", function()
    local id = sb.world.rds.databases.postgres.id
    local want = json.decode(select(2, kumo("--profile rds rds DescribeDBInstances DBInstanceIdentifier=" .. id)))
    assert.are.equal(id, want.DBInstances[1].DBInstanceIdentifier)
    local forms = {
      "rds describe-db-instances " .. q(json.encode{ DBInstanceIdentifier = id }),
      "rds describe-db-instances db-instance-identifier=" .. id,
      "rds describe-db-instances --cli-input-json " .. q(json.encode{ DBInstanceIdentifier = id }),
    }
    local f = os.tmpname()
    local h = io.open(f, "w"); h:write(json.encode{ DBInstanceIdentifier = id }); h:close()
    forms[#forms + 1] = "rds describe-db-instances --cli-input-json file://" .. f
    for _, form in ipairs(forms) do
      local code, out, err = kumo("--profile rds " .. form)
      assert.are.equal(0, code, form .. ": " .. err)
      assert.is_nil(diff(json.decode(out), want), form)
    end
    os.remove(f)
    -- a list of strings as a,b and a number coerced by the model
    local subnets = sb.world.app.subnets
    local code, out, err = kumo("--profile app ec2 describe-subnets subnet-ids="
      .. subnets[1].id .. "," .. subnets[2].id .. " --query 'length(Subnets)'")
    assert.are.equal(0, code, err)
    assert.are.equal("2\n", out)
  end)

  it("--all follows pagination and merges the pages like the CLI", function()
    -- one role a page: the merged list is the whole one, NextToken-free
    local code, out, err = kumo("--profile rds iam list-roles --all max-items=1")
    assert.are.equal(0, code, err)
    local all = json.decode(out)
    local _, ao = both("--profile rds iam list-roles --all", "--profile rds iam list-roles --output json")
    assert.are.equal(#json.decode(ao).Roles, #all.Roles)
    assert.is_true(#all.Roles >= 1)
    assert.is_nil(all.Marker)
    assert.is_nil(all.IsTruncated)
    local code2, _, err2 = kumo("--profile rds sts get-caller-identity --all")
    assert.are.equal(2, code2)
    assert.truthy(err2:find("not paginated", 1, true), err2)
  end)

  it("follows pagination by default and resumes with --max-items / --starting-token as the CLI", function()
    for i = 1, 4 do
      local c, _, e = aws("--profile rds iam create-role --role-name page-r" .. i
        .. [[ --assume-role-policy-document '{"Version":"2012-10-17","Statement":[]}']])
      assert.are.equal(0, c, e)
    end
    -- no option: every page, merged (one role a page through --page-size)
    local all = same_json("--profile rds iam list-roles --page-size 1", "--profile rds iam list-roles --page-size 1")
    assert.is_true(#all.Roles >= 5)
    assert.is_nil(all.IsTruncated)
    -- a cut inside a page and at a page boundary: the same items and the same NextToken
    local tokens = {}
    for _, args in ipairs{ "--page-size 3 --max-items 2", "--page-size 2 --max-items 2" } do
      local v = same_json("--profile rds iam list-roles " .. args, "--profile rds iam list-roles " .. args)
      assert.are.equal(2, #v.Roles)
      assert.is_string(v.NextToken)
      tokens[#tokens + 1] = v.NextToken
    end
    -- resuming from the CLI's token gives what the CLI gives, then the rest
    for _, tok in ipairs(tokens) do
      local rest = same_json("--profile rds iam list-roles --max-items 2 --page-size 2 --starting-token " .. tok,
        "--profile rds iam list-roles --max-items 2 --page-size 2 --starting-token " .. tok)
      assert.are.equal(2, #rest.Roles)
    end
    -- the service's own limit parameter pages by hand: one call, as the CLI
    local code, out, err = kumo("--profile rds iam list-roles max-items=1 --query '[length(Roles), IsTruncated]' --output text")
    assert.are.equal(0, code, err)
    assert.are.equal("1\tTrue\n", out)
    local bad = {
      { "iam list-roles --no-paginate --max-items 2", "--no-paginate cannot go with" },
      { "iam list-roles marker=x --max-items 2", "Marker given: it pages by hand" },
      { "iam list-roles --page-size 0", "--page-size 0: give a whole number" },
      { "sts get-caller-identity --starting-token x", "is not paginated; drop --starting-token" },
    }
    for _, b in ipairs(bad) do
      local c, _, e = kumo("--profile rds " .. b[1])
      assert.are.equal(2, c, b[1])
      assert.truthy(e:find(b[2], 1, true), b[1] .. ": " .. e)
    end
  end)

  it("--wait runs the waiter with the call's parameters", function()
    local id = sb.world.rds.databases.mysql.id
    local code, out, err = kumo("--profile rds rds describe-db-instances db-instance-identifier=" .. id
      .. " --wait db-instance-available --query 'DBInstances[0].DBInstanceStatus'")
    assert.are.equal(0, code, err)
    assert.are.equal('"available"\n', out)
    local code2, _, err2 = kumo("--profile rds rds describe-db-instances --wait db-instance-avialable")
    assert.are.equal(2, code2)
    assert.truthy(err2:find("DBInstanceAvailable", 1, true), err2)
  end)

  it("says what is wrong in one line: unknown service, operation, parameter, option", function()
    local checks = {
      { "rdss describe-db-proxies", "unknown service \"rdss\"; did you mean rds" },
      { "rds describe-db-proxy", "did you mean DescribeDBProxies" },
      { "rds describe-db-proxies db-proxy-nme=x", "did you mean DBProxyName" },
      { "rds describe-db-proxies --ouput text", "did you mean --output" },
      { "rds describe-db-proxies --output yaml", "use json, text or table" },
      { "rds describe-db-proxies 'not json'", "key=value or one JSON object" },
      -- bad JSON says so, with the decoder's place (not "must be an object")
      { "rds describe-db-proxies '{bad'", "the JSON parameters is not valid JSON: json.decode: " },
      { "rds describe-db-proxies --cli-input-json '{\"DBProxyName\": }'", "--cli-input-json is not valid JSON" },
      { "rds describe-db-proxies 'Filters={bad'", "Filters is not valid JSON" },
    }
    for _, c in ipairs(checks) do
      local code, _, err = kumo("--profile rds " .. c[1])
      assert.are.equal(2, code, c[1])
      assert.truthy(err:find(c[2], 1, true), c[1] .. ": " .. err)
    end
  end)

  it("reports an AWS error as one line with the request id, exit 1 (traceback only with --debug)", function()
    local code, out, err = kumo("--profile rds rds describe-db-proxies db-proxy-name=nope")
    assert.are.equal(1, code)
    assert.are.equal("", out)
    assert.truthy(err:match("^kumo call: rds DescribeDBProxies: DBProxyNotFoundFault: .-request id [%w%-]+%)\n$"), err)
    local code2, _, err2 = kumo("--debug --profile rds rds describe-db-proxies db-proxy-name=nope")
    assert.are.equal(1, code2)
    assert.truthy(err2:find("stack traceback", 1, true), err2)
  end)

  it("kumo run - reads the script from stdin", function()
    local code, out = exec("sh -c " .. q("printf 'print(\"from stdin\", ...)' | " .. KUMO .. " run - a b"))
    assert.are.equal(0, code)
    assert.are.equal("from stdin\ta\tb\n", out)
  end)
end)
