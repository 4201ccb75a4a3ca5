-- STS as the credential providers reach it: through a kumo client from the
-- session's factory, so the model's `authtype: none` (unsigned
-- AssumeRoleWithWebIdentity / AssumeRoleWithSAML) and the endpoint rules
-- (regional endpoint, AWS_ENDPOINT_URL_STS) apply. Unsigned requests are
-- checked on the wire at the loopback logging server of fake_endpoints.py.
local aws = require "kumo.aws"
local client = require "kumo.client"
local model = require "kumo.model"
local H = require "tests.modules.kumo.credentials.helpers"

local fake
local dir = H.tmpdir()
local CREDS = { access_key_id = "AKIASTSSPEC000000001", secret_access_key = "sts-spec-secret" }

setup(function() fake = H.start_fake() end)
teardown(function() if fake then fake.stop() end end)
before_each(function() fake.reset() end)

local function session(env, extra)
  local o = { region = "eu-west-1", env = env or {}, config_file = dir .. "/none",
    credentials_file = dir .. "/none", credentials = CREDS, max_attempts = 1 }
  for k, v in pairs(extra or {}) do o[k] = v end
  return aws.session(o)
end

local SAML = { RoleArn = "arn:aws:iam::111111111111:role/saml",
  PrincipalArn = "arn:aws:iam::111111111111:saml-provider/idp", SAMLAssertion = string.rep("PHNhbWw+", 4) }

describe("STS unsigned operations", function()
  it("are the ones the model marks authtype none", function()
    local ops = model.load("sts").operations
    local unsigned = {}
    for name, op in pairs(ops) do
      if client.is_unsigned(op) then unsigned[#unsigned + 1] = name end
    end
    table.sort(unsigned)
    assert.are.same({ "AssumeRoleWithSAML", "AssumeRoleWithWebIdentity" }, unsigned)
  end)

  it("AssumeRoleWithSAML goes out with no Authorization header, GetCallerIdentity signed", function()
    local sts = session{ AWS_ENDPOINT_URL_STS = fake.url }:client("sts")
    local _, err = sts:try("AssumeRoleWithSAML", SAML)
    assert.is_not_nil(err)                     -- the fake knows no SAML; the request is what counts
    sts:try("GetCallerIdentity", {})
    local log = fake.log()
    assert.are.equal(2, #log)
    assert.truthy(log[1].body:find("Action=AssumeRoleWithSAML", 1, true))
    assert.is_nil(log[1].headers["authorization"])
    assert.is_nil(log[1].headers["x-amz-date"])
    assert.truthy(log[2].body:find("Action=GetCallerIdentity", 1, true))
    assert.truthy(log[2].headers["authorization"]:find("Credential=AKIASTSSPEC000000001/", 1, true))
  end)

  it("AssumeRoleWithWebIdentity needs no credentials at all", function()
    local asked = 0
    local provider = { get = function() asked = asked + 1; error("no credentials", 0) end, invalidate = function() end }
    local sts = session({ AWS_ENDPOINT_URL_STS = fake.url }, { credentials = provider }):client("sts")
    local out = assert(sts:AssumeRoleWithWebIdentity{ RoleArn = "arn:aws:iam::444444444444:role/web",
      RoleSessionName = "pod-1", WebIdentityToken = "web-identity-token" })
    assert.truthy(out.Credentials.AccessKeyId:find("^ASIAWEB0"))
    assert.are.equal(0, asked)
    assert.is_nil(fake.log()[1].headers["authorization"])
  end)
end)

describe("STS endpoints for credential providers", function()
  local function capture()
    local t = { urls = {} }
    t.fn = function(req)
      t.urls[#t.urls + 1] = req.url
      return { status = 400, headers = {}, body = "<ErrorResponse><Error><Code>InvalidIdentityToken</Code>"
        .. "<Message>no</Message></Error></ErrorResponse>" }
    end
    return t
  end

  it("web identity calls the regional endpoint of the session's region", function()
    local tf = H.write(dir .. "/token", "web-identity-token\n")
    local t = capture()
    local s = aws.session{ region = "eu-west-1", config_file = dir .. "/none", credentials_file = dir .. "/none",
      env = { AWS_WEB_IDENTITY_TOKEN_FILE = tf, AWS_ROLE_ARN = "arn:aws:iam::444444444444:role/web",
        AWS_EC2_METADATA_DISABLED = "true", HOME = dir }, transport = t.fn, credential_cache = false,
      max_attempts = 1 }
    local ok, e = pcall(s.get_credentials, s)
    assert.is_false(ok)
    assert.truthy(tostring(e):find("InvalidIdentityToken", 1, true), tostring(e))
    assert.are.same({ "https://sts.eu-west-1.amazonaws.com/" }, t.urls)
  end)

  it("roles and MFA sessions use the same factory (AWS_ENDPOINT_URL_STS honoured)", function()
    local t = capture()
    local s = session({ AWS_ENDPOINT_URL_STS = "http://127.0.0.1:9/sts-here" }, { transport = t.fn })
    local ok = pcall(s.assume_role, s, { role_arn = "arn:aws:iam::222222222222:role/x" })
    assert.is_false(ok)
    assert.are.equal("http://127.0.0.1:9/sts-here/", t.urls[1])
  end)

  it("no credentials module loads kumo.aws or kumo.session (no cycle)", function()
    local root = os.getenv("KUMO_ROOT") or "."
    local p = io.popen("ls " .. root .. "/modules/kumo/credentials/*.lua")
    local files = {}
    for f in p:lines() do files[#files + 1] = f end
    p:close()
    assert.is_true(#files > 10)
    for _, f in ipairs(files) do
      local text = H.read(f)
      assert.is_nil(text:find('require%s*%(?%s*"kumo%.aws"'), f)
      assert.is_nil(text:find('require%s*%(?%s*"kumo%.session"'), f)
      assert.is_nil(text:find('require%s*%(?%s*"kumo%.client"'), f)
    end
  end)
end)
