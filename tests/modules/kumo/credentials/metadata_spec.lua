-- The providers that fetch credentials over HTTP, each against the loopback
-- fakes of fake_endpoints.py: EC2 instance metadata (IMDSv2), ECS/EKS
-- container credentials, the SSO portal (+ OIDC refresh) and STS web identity.
local credentials = require "kumo.credentials"
local aws = require "kumo.aws"
local config = require "kumo.config"
local creds = require "kumo.credentials.creds"
local H = require "tests.modules.kumo.credentials.helpers"

local fake
local dir = H.tmpdir()

local function resolve(envt, cfg_text, opts)
  local e = { HOME = dir }
  for k, v in pairs(envt) do e[k] = v end
  local getenv = H.getenv(e)
  local cfg = H.write(dir .. "/config", cfg_text or "[default]\nregion = us-east-1\n")
  local view = config.load{ config_file = cfg, credentials_file = dir .. "/none", env = getenv }
  opts = opts or {}
  opts.env = getenv
  local warnings = {}
  opts.warn = function(m) warnings[#warnings + 1] = m end
  -- STS clients (web identity) come from a real session's factory, as a
  -- kumo session hands it to credentials.resolve
  local sts_client = aws.session{ env = getenv, config_file = cfg, credentials_file = dir .. "/none",
    region = "us-east-1" }:sts_factory()
  return credentials.resolve({ options = opts, config = view, profile = view:profile_name(opts.profile),
    region = "us-east-1" }, sts_client), warnings
end

local function err_of(fn)
  local ok, err = pcall(fn)
  assert.is_false(ok)
  return tostring(err)
end

setup(function() fake = H.start_fake() end)
teardown(function() if fake then fake.stop() end end)
before_each(function() fake.reset() end)

describe("EC2 instance metadata", function()
  it("uses an IMDSv2 token for every metadata request", function()
    local p = resolve{ AWS_EC2_METADATA_SERVICE_ENDPOINT = fake.url }
    local c = p:get()
    assert.truthy(c.access_key_id:find("^ASIAIMDS"))
    assert.truthy(c.source:find("kumo-instance-role", 1, true))
    local log = fake.log()
    assert.are.equal("PUT", log[1].method)
    assert.are.equal("/latest/api/token", log[1].path)
    assert.are.equal("21600", log[1].headers["x-aws-ec2-metadata-token-ttl-seconds"])
    for i = 2, #log do assert.are.equal("imds-token-abc", log[i].headers["x-aws-ec2-metadata-token"]) end
    p:get()
    assert.are.equal(3, #fake.log())                    -- cached: no new requests
  end)

  it("falls back to IMDSv1 when the token call is not supported", function()
    fake.config{ imds_disabled_v2 = true }
    local c = resolve{ AWS_EC2_METADATA_SERVICE_ENDPOINT = fake.url }:get()
    assert.truthy(c.access_key_id:find("^ASIAIMDS"))
    assert.is_nil(fake.log()[2].headers["x-aws-ec2-metadata-token"])
  end)

  it("refuses IMDSv1 when AWS_EC2_METADATA_V1_DISABLED is set", function()
    fake.config{ imds_disabled_v2 = true }
    local e = err_of(function()
      return resolve{ AWS_EC2_METADATA_SERVICE_ENDPOINT = fake.url, AWS_EC2_METADATA_V1_DISABLED = "true" }:get()
    end)
    assert.truthy(e:find("IMDSv1 is disabled", 1, true), e)
  end)

  it("retries as many times as AWS_METADATA_SERVICE_NUM_ATTEMPTS says", function()
    fake.config{ imds_fail = 2 }
    local c = resolve{ AWS_EC2_METADATA_SERVICE_ENDPOINT = fake.url, AWS_METADATA_SERVICE_NUM_ATTEMPTS = "3" }:get()
    assert.truthy(c.access_key_id:find("^ASIAIMDS"))
    fake.reset()
    fake.config{ imds_fail = 2 }
    local e = err_of(function() return resolve{ AWS_EC2_METADATA_SERVICE_ENDPOINT = fake.url }:get() end)
    assert.truthy(e:find("no AWS credentials found", 1, true), e)  -- 1 attempt: IMDS counts as absent
  end)

  it("keeps using credentials IMDS hands out about to expire (static stability)", function()
    fake.config{ lifetime = 60 }
    local c = resolve{ AWS_EC2_METADATA_SERVICE_ENDPOINT = fake.url }:get()
    local left = c.expiration - creds.now()
    assert.truthy(left > 15 * 60 + 100 and left < 15 * 60 + 610, left)
    assert.truthy(c.source:find("expiry extended", 1, true))
  end)

  it("is skipped when AWS_EC2_METADATA_DISABLED=true", function()
    local e = err_of(function()
      return resolve{ AWS_EC2_METADATA_SERVICE_ENDPOINT = fake.url, AWS_EC2_METADATA_DISABLED = "true" }:get()
    end)
    assert.truthy(e:find("disabled by AWS_EC2_METADATA_DISABLED", 1, true), e)
    assert.are.equal(0, #fake.log())
  end)

  it("gives up on an unreachable endpoint within the timeout", function()
    local t0 = creds.now()
    local e = err_of(function()
      -- a port nothing listens on: refused at once; the list names the endpoint
      return resolve{ AWS_EC2_METADATA_SERVICE_ENDPOINT = "http://127.0.0.1:9", AWS_METADATA_SERVICE_TIMEOUT = "0.5" }:get()
    end)
    assert.truthy(e:find("127.0.0.1:9 not reachable", 1, true), e)
    assert.truthy(creds.now() - t0 < 3)
  end)

  it("serves as a role's credential_source", function()
    local p = resolve({ AWS_EC2_METADATA_SERVICE_ENDPOINT = fake.url },
      "[profile r]\nrole_arn = arn:aws:iam::111111111111:role/x\ncredential_source = ec2instancemetadata\n",
      { profile = "r" })
    local role = p.providers[1]
    assert.are.equal("imds", role.source.name)
    assert.is_true(role.chained)
  end)
end)

describe("container credentials", function()
  it("fetches from a full URI with the authorization token", function()
    fake.config{ ecs_token = "Bearer abc" }
    local c = resolve{ AWS_CONTAINER_CREDENTIALS_FULL_URI = fake.url .. "/ecs/creds",
      AWS_CONTAINER_AUTHORIZATION_TOKEN = "Bearer abc", AWS_EC2_METADATA_DISABLED = "true" }:get()
    assert.truthy(c.access_key_id:find("^ASIAECS0"))
    assert.are.equal("123456789012", c.account_id)
    assert.are.equal("Bearer abc", fake.log()[1].headers["authorization"])
  end)

  it("prefers the token file over the token variable", function()
    fake.config{ ecs_token = "from-file" }
    local tf = H.write(dir .. "/token", "from-file\n")
    local c = resolve{ AWS_CONTAINER_CREDENTIALS_FULL_URI = fake.url .. "/ecs/creds",
      AWS_CONTAINER_AUTHORIZATION_TOKEN = "from-env", AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE = tf }:get()
    assert.truthy(c.access_key_id:find("^ASIAECS0"))
    assert.are.equal("from-file", fake.log()[1].headers["authorization"])
  end)

  it("retries a failing endpoint (3 attempts)", function()
    fake.config{ ecs_fail = 2 }
    local c = resolve{ AWS_CONTAINER_CREDENTIALS_FULL_URI = fake.url .. "/ecs/creds" }:get()
    assert.truthy(c.access_key_id:find("^ASIAECS0"))
    assert.are.equal(3, #fake.log())
  end)

  it("refuses http to hosts outside the allow-list", function()
    local e = err_of(function()
      return resolve{ AWS_CONTAINER_CREDENTIALS_FULL_URI = "http://example.com/creds" }:get()
    end)
    assert.truthy(e:find('host "example.com" is not allowed', 1, true), e)
    local container = require "kumo.credentials.container"
    assert.is_true(container.allowed("https://example.com/creds"))
    assert.is_true(container.allowed("http://169.254.170.23/v1/credentials"))
    assert.is_true(container.allowed("http://[fd00:ec2::23]/v1/credentials"))
    assert.is_true(container.allowed("http://127.0.0.2:8080/x"))
    assert.is_nil(container.allowed("http://169.254.169.254/"))
  end)

  it("reports a refused token", function()
    fake.config{ ecs_token = "right" }
    local e = err_of(function()
      return resolve{ AWS_CONTAINER_CREDENTIALS_FULL_URI = fake.url .. "/ecs/creds",
        AWS_CONTAINER_AUTHORIZATION_TOKEN = "wrong" }:get()
    end)
    assert.truthy(e:find("HTTP 401", 1, true), e)
    assert.falsy(e:find("wrong", 1, true), e)
  end)
end)

describe("SSO", function()
  local sha1 = require("kumo.crypto").sha1_hex
  local SSO_CFG = [[
[profile dev]
sso_session = corp
sso_account_id = 333333333333
sso_role_name = ReadOnly
region = us-east-1

[profile legacy]
sso_start_url = https://legacy.awsapps.com/start
sso_region = us-east-1
sso_account_id = 333333333333
sso_role_name = ReadOnly

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = us-east-1
]]

  local function token_file(key, t)
    os.execute("mkdir -p " .. dir .. "/.aws/sso/cache")
    return H.write(dir .. "/.aws/sso/cache/" .. sha1(key) .. ".json", require("cjson").encode(t))
  end

  it("reads the sso-session token cache and calls GetRoleCredentials", function()
    token_file("corp", { accessToken = "sso-access-token", expiresAt = creds.iso8601(creds.now() + 3600) })
    local c = resolve({ AWS_ENDPOINT_URL_SSO = fake.url }, SSO_CFG, { profile = "dev" }):get()
    assert.truthy(c.access_key_id:find("^ASIASSO0"))
    assert.are.equal("333333333333", c.account_id)
    local req = fake.log()[1]
    assert.are.equal("/federation/credentials?account_id=333333333333&role_name=ReadOnly", req.path)
    assert.are.equal("sso-access-token", req.headers["x-amz-sso_bearer_token"])
  end)

  it("keys legacy profiles by start URL", function()
    token_file("https://legacy.awsapps.com/start", { accessToken = "sso-access-token",
      expiresAt = creds.iso8601(creds.now() + 3600) })
    local c = resolve({ AWS_ENDPOINT_URL_SSO = fake.url }, SSO_CFG, { profile = "legacy" }):get()
    assert.truthy(c.access_key_id:find("^ASIASSO0"))
  end)

  it("refreshes an expired sso-session token with its refresh token", function()
    local f = token_file("corp", { accessToken = "old", expiresAt = "2001-01-01T00:00:00Z",
      refreshToken = "refresh-1", clientId = "cid", clientSecret = "csecret", region = "us-east-1" })
    local c = resolve({ AWS_ENDPOINT_URL_SSO = fake.url, AWS_ENDPOINT_URL_SSO_OIDC = fake.url }, SSO_CFG,
      { profile = "dev" }):get()
    assert.truthy(c.access_key_id:find("^ASIASSO0"))
    local saved = require("cjson").decode(H.read(f))
    assert.are.equal("sso-refreshed-token", saved.accessToken)
    assert.are.equal("refresh-2", saved.refreshToken)
  end)

  it("tells how to log in when the token is missing or expired", function()
    os.execute("rm -rf " .. dir .. "/.aws/sso")
    local e = err_of(function() return resolve({ AWS_ENDPOINT_URL_SSO = fake.url }, SSO_CFG, { profile = "dev" }):get() end)
    assert.truthy(e:find("aws sso login --profile dev", 1, true), e)
    token_file("https://legacy.awsapps.com/start", { accessToken = "x", expiresAt = "2001-01-01T00:00:00Z" })
    e = err_of(function() return resolve({ AWS_ENDPOINT_URL_SSO = fake.url }, SSO_CFG, { profile = "legacy" }):get() end)
    assert.truthy(e:find("expired", 1, true), e)
    assert.truthy(e:find("aws sso login --profile legacy", 1, true), e)
  end)

  it("names missing SSO keys", function()
    local e = err_of(function()
      return resolve({}, "[profile s]\nsso_session = nope\n", { profile = "s" }):get()
    end)
    assert.truthy(e:find("[sso-session nope]", 1, true), e)
    e = err_of(function()
      return resolve({}, "[profile s]\nsso_start_url = https://x\nsso_region = us-east-1\n", { profile = "s" }):get()
    end)
    assert.truthy(e:find("sso_account_id, sso_role_name", 1, true), e)
  end)
end)

describe("web identity", function()
  it("assumes the role from AWS_WEB_IDENTITY_TOKEN_FILE at the STS endpoint override", function()
    local tf = H.write(dir .. "/web-token", "web-identity-token\n")
    local p = resolve({ AWS_WEB_IDENTITY_TOKEN_FILE = tf, AWS_ROLE_ARN = "arn:aws:iam::444444444444:role/web",
      AWS_ROLE_SESSION_NAME = "pod-1", AWS_ENDPOINT_URL_STS = fake.url, AWS_EC2_METADATA_DISABLED = "true" },
      nil, { credential_cache = false })
    local c = p:get()
    assert.truthy(c.access_key_id:find("^ASIAWEB0"))
    assert.are.equal("444444444444", c.account_id)
    local body = fake.log()[1].body
    assert.truthy(body:find("Action=AssumeRoleWithWebIdentity", 1, true))
    assert.truthy(body:find("RoleSessionName=pod%-1"))
    assert.is_nil(fake.log()[1].headers["authorization"])       -- unsigned
  end)

  it("reads a profile's web_identity_token_file and reports a refused token", function()
    local tf = H.write(dir .. "/web-token", "stale-token\n")
    local e = err_of(function()
      return resolve({ AWS_ENDPOINT_URL_STS = fake.url },
        "[profile w]\nrole_arn = arn:aws:iam::444444444444:role/web\nweb_identity_token_file = " .. tf .. "\n",
        { profile = "w", credential_cache = false }):get()
    end)
    assert.truthy(e:find('profile "w"', 1, true), e)
    assert.truthy(e:find("InvalidIdentityToken", 1, true), e)
    assert.falsy(e:find("stale-token", 1, true), e)
  end)

  it("reports half a configuration", function()
    local e = err_of(function() return resolve({ AWS_ROLE_ARN = "arn:aws:iam::1:role/x" }):get() end)
    assert.truthy(e:find("AWS_WEB_IDENTITY_TOKEN_FILE is not", 1, true), e)
  end)
end)
