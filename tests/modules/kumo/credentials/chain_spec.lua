-- The resolution chain: explicit credentials, environment, profile static
-- keys, and the report of the sources tried when there are none.
local credentials = require "kumo.credentials"
local config = require "kumo.config"
local H = require "tests.modules.kumo.credentials.helpers"

local dir = H.tmpdir()
local cfg = H.write(dir .. "/config", [[
[default]
region = us-east-1

[profile base]
region = ap-northeast-1

[profile half]
aws_access_key_id = AKIAHALF

[profile nothing]
region = eu-west-1

[profile loop-a]
role_arn = arn:aws:iam::111111111111:role/a
source_profile = loop-b

[profile loop-b]
role_arn = arn:aws:iam::111111111111:role/b
source_profile = loop-a

[profile self]
role_arn = arn:aws:iam::111111111111:role/self
source_profile = self
aws_access_key_id = AKIASELF
aws_secret_access_key = selfsecret

[profile selfnokeys]
role_arn = arn:aws:iam::111111111111:role/self
source_profile = selfnokeys

[profile both]
role_arn = arn:aws:iam::111111111111:role/x
source_profile = base
credential_source = Environment

[profile neither]
role_arn = arn:aws:iam::111111111111:role/x

[profile badsource]
role_arn = arn:aws:iam::111111111111:role/x
credential_source = Laptop

[profile ghost]
role_arn = arn:aws:iam::111111111111:role/x
source_profile = does-not-exist

[profile longchain]
role_arn = arn:aws:iam::222222222222:role/c
source_profile = loop-start
duration_seconds = 7200

[profile loop-start]
role_arn = arn:aws:iam::111111111111:role/s
source_profile = base
]])
local cred = H.write(dir .. "/credentials", [[
[base]
aws_access_key_id = AKIABASE
aws_secret_access_key = basesecret

[default]
aws_access_key_id = AKIADEFAULT
aws_secret_access_key = defaultsecret
aws_session_token = defaulttoken
]])

local BASE_ENV = { AWS_EC2_METADATA_DISABLED = "true", HOME = dir }

local function session(opts, envt)
  local e = {}
  for k, v in pairs(BASE_ENV) do e[k] = v end
  for k, v in pairs(envt or {}) do e[k] = v end
  local getenv = H.getenv(e)
  local view = config.load{ config_file = cfg, credentials_file = cred, env = getenv }
  opts = opts or {}
  opts.env = getenv
  return { options = opts, config = view, profile = view:profile_name(opts.profile), region = "us-east-1" }
end

local function err_of(fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok)
  return tostring(err)
end

describe("credentials.resolve", function()
  it("uses explicit credentials first", function()
    local p = credentials.resolve(session({ credentials = { access_key_id = "AKIAEXPL", secret_access_key = "s" } },
      { AWS_ACCESS_KEY_ID = "AKIAENV", AWS_SECRET_ACCESS_KEY = "e" }))
    assert.are.equal("AKIAEXPL", p:get().access_key_id)
  end)

  it("passes a provider through", function()
    local prov = { get = function() return "x" end, invalidate = function() end }
    assert.are.equal(prov, credentials.resolve(session({ credentials = prov })))
  end)

  it("rejects explicit credentials missing a field, naming it", function()
    local e = err_of(credentials.resolve, session({ credentials = { access_key_id = "AKIA" } }))
    assert.truthy(e:find("secret_access_key", 1, true), e)
  end)

  it("takes the environment before the profile (AWS_PROFILE does not suppress env keys)", function()
    local p = credentials.resolve(session({}, { AWS_ACCESS_KEY_ID = "AKIAENV", AWS_SECRET_ACCESS_KEY = "e",
      AWS_SESSION_TOKEN = "t", AWS_PROFILE = "base" }))
    local c = p:get()
    assert.are.equal("AKIAENV", c.access_key_id)
    assert.are.equal("t", c.session_token)
  end)

  it("an explicitly named profile suppresses the environment keys", function()
    local p = credentials.resolve(session({ profile = "base" }, { AWS_ACCESS_KEY_ID = "AKIAENV",
      AWS_SECRET_ACCESS_KEY = "e" }))
    assert.are.equal("AKIABASE", p:get().access_key_id)
  end)

  it("reads the default profile's keys from the credentials file", function()
    local c = credentials.resolve(session({})):get()
    assert.are.equal("AKIADEFAULT", c.access_key_id)
    assert.are.equal("defaulttoken", c.session_token)
    assert.truthy(c.source:find(cred, 1, true))
  end)

  it("reports half a key pair, naming the profile and file", function()
    local e = err_of(function() return credentials.resolve(session({ profile = "half" })):get() end)
    assert.truthy(e:find('profile "half"', 1, true), e)
    assert.truthy(e:find(cfg, 1, true), e)
    assert.truthy(e:find("aws_secret_access_key is missing", 1, true), e)
  end)

  it("reports half an environment pair", function()
    local e = err_of(function() return credentials.resolve(session({}, { AWS_ACCESS_KEY_ID = "AKIA" })):get() end)
    assert.truthy(e:find("AWS_SECRET_ACCESS_KEY is not", 1, true), e)
  end)

  it("refuses expired environment credentials", function()
    local e = err_of(function()
      return credentials.resolve(session({}, { AWS_ACCESS_KEY_ID = "AKIA", AWS_SECRET_ACCESS_KEY = "s",
        AWS_CREDENTIAL_EXPIRATION = "2001-01-01T00:00:00Z" })):get()
    end)
    assert.truthy(e:find("AWS_CREDENTIAL_EXPIRATION", 1, true), e)
  end)

  it("lists every source tried when there are no credentials", function()
    local e = err_of(function() return credentials.resolve(session({ profile = "nothing" })):get() end)
    assert.truthy(e:find('no AWS credentials found for profile "nothing"', 1, true), e)
    assert.truthy(e:find("web identity", 1, true), e)
    assert.truthy(e:find('profile "nothing"', 1, true), e)
    assert.truthy(e:find("container", 1, true), e)
    assert.truthy(e:find("AWS_EC2_METADATA_DISABLED", 1, true), e)
    -- without an explicit profile, the environment is tried (and listed) first
    e = err_of(function()
      return credentials.resolve(session({}, { AWS_PROFILE = "nothing" })):get()
    end)
    assert.truthy(e:find("environment: AWS_ACCESS_KEY_ID", 1, true), e)
  end)

  it("reports an unknown profile with the files searched", function()
    local e = err_of(credentials.resolve, session({ profile = "nope" }))
    assert.truthy(e:find('profile "nope" not found in ' .. cfg, 1, true), e)
  end)
end)

describe("role profiles (checked before any call)", function()
  it("detects source_profile loops and prints the path", function()
    local e = err_of(credentials.resolve, session({ profile = "loop-a" }))
    assert.truthy(e:find("loop-a → loop-b → loop-a", 1, true), e)
    assert.truthy(e:find(cfg, 1, true), e)
  end)

  it("lets a profile name itself when it holds static keys", function()
    local p = credentials.resolve(session({ profile = "self" }))
    assert.are.equal("assume_role", p.providers[1].name)
    assert.are.equal("profile", p.providers[1].source.name)
    local e = err_of(credentials.resolve, session({ profile = "selfnokeys" }))
    assert.truthy(e:find("selfnokeys → selfnokeys", 1, true), e)
  end)

  it("rejects source_profile together with credential_source", function()
    local e = err_of(credentials.resolve, session({ profile = "both" }))
    assert.truthy(e:find("either source_profile or credential_source", 1, true), e)
  end)

  it("asks for a source when there is none", function()
    local e = err_of(credentials.resolve, session({ profile = "neither" }))
    assert.truthy(e:find("role_arn needs source_profile or credential_source", 1, true), e)
  end)

  it("names an unknown credential_source", function()
    local e = err_of(credentials.resolve, session({ profile = "badsource" }))
    assert.truthy(e:find('credential_source "Laptop"', 1, true), e)
  end)

  it("names a missing source_profile", function()
    local e = err_of(credentials.resolve, session({ profile = "ghost" }))
    assert.truthy(e:find('source_profile "does-not-exist" does not exist', 1, true), e)
  end)

  it("knows a hop from a role is chained (1 h cap applies)", function()
    local p = credentials.resolve(session({ profile = "longchain" }))
    local role = p.providers[1]
    assert.are.equal(7200, role.duration)
    assert.is_true(role.chained)
    assert.are.equal("assume_role", role.source.name)
    assert.is_false(role.source.chained)
    local warned = {}
    role.ctx.warn = function(m) warned[#warned + 1] = m end
    assert.are.equal(3600, role:effective_duration())
    assert.are.equal(3600, role:effective_duration())
    assert.are.equal(1, #warned)                       -- warned once
    assert.truthy(warned[1]:find("7200 lowered to 3600", 1, true))
  end)
end)
