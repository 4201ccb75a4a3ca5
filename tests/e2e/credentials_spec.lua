-- Credentials end to end, against the sandbox (real HTTP, SigV4 and IAM
-- checks, trust policies with sts:ExternalId): profile roles, external ids,
-- the helpful AccessDenied, STS endpoint overrides, and the credential cache
-- shared with the AWS CLI in both directions, proved with the sandbox's
-- request statistics.
local aws = require "kumo.aws"
local json = require "cjson"
local assume_role = require "kumo.credentials.assume_role"
local file_cache = require "kumo.credentials.file_cache"

local ROOT = os.getenv("KUMO_ROOT") or "."

local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  assert(os.execute("mkdir -p " .. d))
  return d
end

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  return path
end

-- The sandbox (tests/lib/sandbox.lua: a child process on a free port that
-- stops with this process).
local function start_sandbox()
  local sb = dofile(ROOT .. "/tests/lib/sandbox.lua").start()
  return { dir = sb.dir, endpoint = sb.endpoint, world = sb.world, stop = function() sb.stop() end }
end

local sb, home, env

local function http(method, path)
  local res = assert(require("kumo.http").request{ method = method, url = sb.endpoint .. path })
  assert(res.status < 300, path .. ": HTTP " .. res.status)
  return res.body
end

local function reset_stats() http("DELETE", "/_kumo/stats") end

-- Count of an STS operation across accounts since the last reset.
local function count(op)
  local stats = json.decode(http("GET", "/_kumo/stats"))
  local n = 0
  for _, acct in pairs(stats.accounts or {}) do
    for name, o in pairs(acct.operations or {}) do
      if name == op or name:match(":" .. op .. "$") then n = n + o.count end
    end
  end
  return n
end

local function session(opts)
  local o = { env = env }
  for k, v in pairs(opts or {}) do o[k] = v end
  return aws.session(o)
end

-- The AWS CLI (v1, default python3) with the same files and HOME.
local function aws_cli(args)
  local vars = { "HOME=" .. home, "AWS_CONFIG_FILE=" .. env.AWS_CONFIG_FILE,
    "AWS_SHARED_CREDENTIALS_FILE=" .. env.AWS_SHARED_CREDENTIALS_FILE, "AWS_DEFAULT_REGION=us-east-1",
    "AWS_EC2_METADATA_DISABLED=true", "PATH=" .. os.getenv("PATH") }
  local p = io.popen("env -i " .. table.concat(vars, " ") .. " aws " .. args .. " --output json 2>&1; echo rc=$?")
  local out = p:read("a")
  p:close()
  return tonumber(out:match("rc=(%d+)%s*$")), out
end

local function cache_files()
  local p = io.popen("ls " .. home .. "/.aws/cli/cache 2>/dev/null")
  local list = {}
  for line in p:lines() do list[#list + 1] = line end
  p:close()
  return list
end

setup(function()
  sb = start_sandbox()
  home = tmpdir()
  env = { HOME = home, AWS_CONFIG_FILE = sb.dir .. "/config", AWS_SHARED_CREDENTIALS_FILE = sb.dir .. "/credentials",
    AWS_EC2_METADATA_DISABLED = "true" }
end)

teardown(function() if sb then sb.stop() end end)

before_each(function()
  assume_role.reset()
  os.execute("rm -rf " .. home .. "/.aws/cli/cache")
  reset_stats()
end)

describe("profiles with roles and external ids", function()
  it("act in the role's account", function()
    local w = sb.world
    assert.are.equal(w.accounts.base, session{ profile = "base" }:identity().account)
    local app = session{ profile = "app" }:identity()
    assert.are.equal(w.accounts.app, app.account)
    assert.truthy(app.arn:find("assumed%-role/kumo%-deployer/kumo%-app", 1))
    assert.are.equal(w.accounts.rds, session{ profile = "rds" }:identity().account)
    assert.are.equal(2, count("AssumeRole"))
  end)

  it("a wrong external id gives AccessDenied with the profile, file, step and hint", function()
    local cfg = read(env.AWS_CONFIG_FILE):gsub("external_id = kumo%-sandbox%-rds", "external_id = not-the-right-one")
    local e2 = {}
    for k, v in pairs(env) do e2[k] = v end
    e2.AWS_CONFIG_FILE = write(home .. "/config-wrong", cfg)
    local s = aws.session{ profile = "rds", env = e2 }
    local ok, err = pcall(s.identity, s)
    assert.is_false(ok)
    err = tostring(err)
    assert.truthy(err:find('profile "rds" (' .. e2.AWS_CONFIG_FILE .. ":", 1, true), err)
    assert.truthy(err:find("assuming " .. sb.world.roles.rds.arn .. ' from profile "base": AccessDenied', 1, true), err)
    assert.truthy(err:find("check the role's trust policy and external_id", 1, true), err)
    assert.falsy(err:find(read(env.AWS_SHARED_CREDENTIALS_FILE):match("aws_secret_access_key = (%S+)"), 1, true))
  end)

  it("session:assume_role with and without the external id", function()
    local base = session{ profile = "base" }
    local rds = base:assume_role{ role_arn = sb.world.roles.rds.arn, external_id = sb.world.roles.rds.external_id,
      session_name = "e2e" }
    local id = rds:identity()
    assert.are.equal(sb.world.accounts.rds, id.account)
    assert.truthy(id.arn:find("/e2e$"))
    local ok, err = pcall(base.assume_role, base, { role_arn = sb.world.roles.rds.arn })
    assert.is_false(ok)
    assert.truthy(tostring(err):find("AccessDenied", 1, true))
    assert.truthy(tostring(err):find("external_id", 1, true))
  end)

  it("a base session fans out to both accounts from many tasks, one AssumeRole per role", function()
    local sched = require "kumo.sched"
    local base = session{ profile = "base", credential_cache = false }
    local jobs = {}
    for i = 1, 16 do jobs[i] = (i % 2 == 0) and "app" or "rds" end
    local results, errs = sched.parallel(jobs, function(name)
      local r = sb.world.roles[name]
      return base:assume_role{ role_arn = r.arn, external_id = r.external_id, session_name = "fan" }:identity().account
    end)
    for i, name in ipairs(jobs) do
      assert.is_nil(errs[i])
      assert.are.equal(sb.world.accounts[name], results[i])
    end
    assert.are.equal(2, count("AssumeRole"))
    assert.are.equal(16, count("GetCallerIdentity"))
  end)

  it("STS calls follow AWS_ENDPOINT_URL_STS when the profile has no endpoint", function()
    local cfg = read(env.AWS_CONFIG_FILE):gsub("endpoint_url = [^\n]*\n", "")
    local e2 = {}
    for k, v in pairs(env) do e2[k] = v end
    e2.AWS_CONFIG_FILE = write(home .. "/config-noendpoint", cfg)
    e2.AWS_ENDPOINT_URL_STS = sb.endpoint
    assert.are.equal(sb.world.accounts.app, aws.session{ profile = "app", env = e2 }:identity().account)
    assert.are.equal(1, count("AssumeRole"))
  end)
end)

describe("a two-hop role chain", function()
  it("base → app → a role in rds that trusts app's role, with the 1 h chaining limit applied", function()
    -- The target role: created in the RDS account, trusting the APP role, with an external id.
    local rds = session{ profile = "rds" }
    local trust = json.encode{ Version = "2012-10-17", Statement = { {
      Effect = "Allow", Principal = { AWS = sb.world.roles.app.arn }, Action = "sts:AssumeRole",
      Condition = { StringEquals = { ["sts:ExternalId"] = "chain-ext" } } } } }
    rds:client("iam"):CreateRole{ RoleName = "e2e-chain-target", AssumeRolePolicyDocument = trust,
      MaxSessionDuration = 43200 }
    local cfg = read(env.AWS_CONFIG_FILE) .. string.format([[

[profile chained]
role_arn = arn:aws:iam::%s:role/e2e-chain-target
source_profile = app
external_id = chain-ext
duration_seconds = 7200
]], sb.world.accounts.rds)
    local e2 = {}
    for k, v in pairs(env) do e2[k] = v end
    e2.AWS_CONFIG_FILE = write(home .. "/config-chain", cfg)
    e2.AWS_ENDPOINT_URL = sb.endpoint
    assume_role.reset()
    reset_stats()
    local warned = {}
    local s = aws.session{ profile = "chained", env = e2, warn = function(m) warned[#warned + 1] = m end }
    local id = s:identity()
    assert.are.equal(sb.world.accounts.rds, id.account)
    assert.truthy(id.arn:find("assumed%-role/e2e%-chain%-target/"), id.arn)
    assert.are.equal(2, count("AssumeRole"))
    assert.truthy(table.concat(warned, "\n"):find("duration_seconds 7200 lowered to 3600", 1, true))
    local c = s:get_credentials()
    local left = c.expiration - require("kumo.credentials.creds").now()
    assert.truthy(left > 3000 and left <= 3600, "lifetime " .. left)
    -- the app hop's external id is checked too: a chain with a wrong one fails at that hop
    e2.AWS_CONFIG_FILE = write(home .. "/config-chain-bad", (cfg:gsub("external_id = kumo%-sandbox%-app", "external_id = wrong")))
    assume_role.reset()
    os.execute("rm -rf " .. home .. "/.aws/cli/cache")
    local bad = aws.session{ profile = "chained", env = e2, warn = function() end }
    local ok, err = pcall(bad.identity, bad)
    assert.is_false(ok)
    err = tostring(err)
    assert.truthy(err:find('profile "chained"', 1, true), err)
    assert.truthy(err:find('profile "app" (' .. e2.AWS_CONFIG_FILE, 1, true), err)
    assert.truthy(err:find("AccessDenied", 1, true), err)
  end)
end)

describe("the credential cache shared with the AWS CLI", function()
  it("kumo writes, then `aws sts get-caller-identity --profile app` uses it without AssumeRole", function()
    session{ profile = "app" }:get_credentials()
    assert.are.equal(1, count("AssumeRole"))
    local app = require("kumo.config").load{ env = env }:profile("app")
    local key = file_cache.cache_key{ RoleArn = app.role_arn, ExternalId = app.external_id,
      RoleSessionName = app.role_session_name }
    assert.are.same({ key .. ".json" }, cache_files())
    reset_stats()
    local rc, out = aws_cli("sts get-caller-identity --profile app")
    assert.are.equal(0, rc, out)
    assert.are.equal(sb.world.accounts.app, json.decode((out:gsub("rc=%d+%s*$", ""))).Account)
    assert.are.equal(0, count("AssumeRole"))
    assert.are.equal(1, count("GetCallerIdentity"))
  end)

  it("the AWS CLI writes, then kumo uses it without AssumeRole", function()
    local rc, out = aws_cli("sts get-caller-identity --profile rds")
    assert.are.equal(0, rc, out)
    assert.are.equal(1, count("AssumeRole"))
    assert.are.equal(1, #cache_files())
    reset_stats()
    local s = session{ profile = "rds" }
    local c = s:get_credentials()
    assert.truthy(c.source:find("cached in", 1, true))
    assert.are.equal(sb.world.accounts.rds, s:identity().account)
    assert.are.equal(0, count("AssumeRole"))
    assert.are.equal(1, count("GetCallerIdentity"))
  end)

  it("a cached session the service refuses (revoked, another endpoint's) is dropped and assumed again once", function()
    session{ profile = "rds" }:get_credentials()
    assert.are.equal(1, count("AssumeRole"))
    local path = home .. "/.aws/cli/cache/" .. cache_files()[1]
    local cached = json.decode(read(path))
    -- the same shape and expiry, keys the sandbox never issued
    cached.Credentials.AccessKeyId = "ASIAREVOKED000000001"
    cached.Credentials.SessionToken = "revoked-session-token"
    write(path, json.encode(cached))
    assume_role.reset()
    reset_stats()
    local s = session{ profile = "rds" }
    assert.are.equal(sb.world.accounts.rds, s:identity().account)
    assert.are.equal(1, count("AssumeRole"))
    local now = json.decode(read(path))
    assert.are_not.equal("ASIAREVOKED000000001", now.Credentials.AccessKeyId)
    -- keys that are not the cache's are not retried: one refused call, the error
    reset_stats()
    local bad = session{ credentials = { access_key_id = "AKIANOTKNOWN00000001", secret_access_key = "x" },
      region = "us-east-1", endpoint_url = sb.endpoint }
    local ok, e = pcall(function() return bad:identity() end)
    assert.is_false(ok)
    assert.truthy(tostring(e):find("InvalidClientTokenId", 1, true), tostring(e))
    assert.are.equal(0, count("AssumeRole"))
  end)

  it("can be turned off", function()
    session{ profile = "app", credential_cache = false }:get_credentials()
    assume_role.reset()
    session{ profile = "app", credential_cache = false }:get_credentials()
    assert.are.equal(2, count("AssumeRole"))
    assert.are.same({}, cache_files())
  end)

  it("cache files are private (mode 0600)", function()
    session{ profile = "app" }:get_credentials()
    local f = cache_files()[1]
    assert.are.equal("600", io.popen("stat -c %a " .. home .. "/.aws/cli/cache/" .. f):read("l"))
  end)
end)
