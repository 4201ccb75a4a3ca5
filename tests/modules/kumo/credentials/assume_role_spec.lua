-- Role profiles, programmatic roles, MFA, the shared cache and concurrent
-- refresh, through the real kumo client (signing, query protocol) with an
-- in-process fake STS as the session's transport. (The sandbox runs the
-- same flows over HTTP with real IAM checks: tests/e2e/credentials_spec.lua.)
local aws = require "kumo.aws"
local creds = require "kumo.credentials.creds"
local assume_role = require "kumo.credentials.assume_role"
local file_cache = require "kumo.credentials.file_cache"
local H = require "tests.modules.kumo.credentials.helpers"

local dir = H.tmpdir()
local cfg = H.write(dir .. "/config", [[
[profile base]
region = us-east-1

[profile app]
role_arn = arn:aws:iam::111111111111:role/automation
source_profile = base
external_id = ext-app

[profile rds]
role_arn = arn:aws:iam::222222222222:role/automation
source_profile = app
external_id = ext-rds
duration_seconds = 7200

[profile wrong]
role_arn = arn:aws:iam::222222222222:role/automation
source_profile = base
external_id = not-the-one

[profile mfa1]
role_arn = arn:aws:iam::111111111111:role/admin
source_profile = base
mfa_serial = arn:aws:iam::123456789012:mfa/me

[profile mfa2]
role_arn = arn:aws:iam::222222222222:role/admin
source_profile = base
mfa_serial = arn:aws:iam::123456789012:mfa/me
duration_seconds = 7200

[profile mfa-temp]
role_arn = arn:aws:iam::111111111111:role/admin
source_profile = basetmp
mfa_serial = arn:aws:iam::123456789012:mfa/me

[profile local-sts]
role_arn = arn:aws:iam::111111111111:role/automation
source_profile = base
external_id = ext-app
services = here

[services here]
sts =
  endpoint_url = http://127.0.0.1:1/via-services
]])
local cred = H.write(dir .. "/credentials", "[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = basesecret\n"
  .. "[basetmp]\naws_access_key_id = ASIATEMP\naws_secret_access_key = tmpsecret\naws_session_token = tmptoken\n")

-- The fake STS: AssumeRole (external ids per role), GetSessionToken, GetCallerIdentity.
local EXTERNAL = { ["arn:aws:iam::111111111111:role/automation"] = "ext-app",
  ["arn:aws:iam::222222222222:role/automation"] = "ext-rds" }
local calls, n = {}, 0

local function form(body)
  local t = {}
  for k, v in body:gmatch("([^&=]+)=([^&]*)") do
    t[k] = v:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
  end
  return t
end

local function xml(action, inner)
  return string.format('<%sResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><%sResult>%s</%sResult>'
    .. '<ResponseMetadata><RequestId>req-%d</RequestId></ResponseMetadata></%sResponse>', action, action, inner,
    action, n, action)
end

local function creds_xml(prefix, lifetime)
  n = n + 1
  return string.format("<Credentials><AccessKeyId>%s%012d</AccessKeyId><SecretAccessKey>secret%d</SecretAccessKey>"
    .. "<SessionToken>token%d</SessionToken><Expiration>%s</Expiration></Credentials>", prefix, n, n, n,
    creds.iso8601(creds.now() + (lifetime or 3600))), string.format("%s%012d", prefix, n)
end

local function fail(code, msg, status)
  return { status = status or 403, headers = {}, header_list = {}, body = string.format(
    "<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error>"
    .. "<RequestId>r</RequestId></ErrorResponse>", code, msg) }
end

local who = {}   -- access key → arn
local fake_sts = {}   -- settings: delay (s) of AssumeRole
local function transport(req)
  local p = form(req.body or "")
  local auth
  for _, h in ipairs(req.headers) do if h[1]:lower() == "authorization" then auth = h[2] end end
  local key = auth and auth:match("Credential=([^/]+)/")
  local call = { action = p.Action, params = p, key = key, url = req.url }
  calls[#calls + 1] = call
  local function ok(body) return { status = 200, headers = {}, header_list = {}, body = body } end
  if p.Action == "AssumeRole" then
    if fake_sts.delay then require("kumo.sched").sleep(fake_sts.delay) end
    if EXTERNAL[p.RoleArn] and EXTERNAL[p.RoleArn] ~= p.ExternalId then
      return fail("AccessDenied", string.format("User: %s is not authorized to perform: sts:AssumeRole on resource: %s",
        who[key] or key, p.RoleArn))
    end
    if p.DurationSeconds and tonumber(p.DurationSeconds) > 3600 and key:find("^ASIA") then
      return fail("ValidationError", "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.", 400)
    end
    local cx, ak = creds_xml("ASIA", tonumber(p.DurationSeconds))
    local account = p.RoleArn:match("::(%d+):")
    local arn = string.format("arn:aws:sts::%s:assumed-role/%s/%s", account, p.RoleArn:match("role/(.+)$"), p.RoleSessionName)
    who[ak] = arn
    return ok(xml("AssumeRole", cx .. string.format("<AssumedRoleUser><Arn>%s</Arn><AssumedRoleId>AROA:%s</AssumedRoleId></AssumedRoleUser>",
      arn, p.RoleSessionName)))
  elseif p.Action == "GetSessionToken" then
    local cx, ak = creds_xml("ASIA", 43200)
    who[ak] = "arn:aws:iam::123456789012:user/me"
    return ok(xml("GetSessionToken", cx))
  elseif p.Action == "GetCallerIdentity" then
    local arn = who[key] or "arn:aws:iam::123456789012:user/me"
    return ok(xml("GetCallerIdentity", string.format("<Arn>%s</Arn><UserId>U:%s</UserId><Account>%s</Account>",
      arn, key, arn:match("::(%d+):"))))
  end
  return fail("InvalidAction", "no " .. tostring(p.Action), 400)
end

local warnings
local function session(o)
  o = o or {}
  warnings = {}
  local opts = { config_file = cfg, credentials_file = cred, transport = transport,
    env = { HOME = dir, AWS_EC2_METADATA_DISABLED = "true" }, credential_cache_dir = dir .. "/cache",
    warn = function(m) warnings[#warnings + 1] = m end, region = "us-east-1" }
  for k, v in pairs(o) do opts[k] = v end
  return aws.session(opts)
end

local function actions(name)
  local out = {}
  for _, c in ipairs(calls) do if c.action == name then out[#out + 1] = c end end
  return out
end

local function err_of(fn)
  local ok, err = pcall(fn)
  assert.is_false(ok)
  return tostring(err)
end

before_each(function()
  calls = {}
  assume_role.reset()
  os.execute("rm -rf " .. dir .. "/cache")
end)

describe("role profiles", function()
  it("follows base → app → rds, each hop signed with the previous one's credentials", function()
    local c = session{ profile = "rds" }:get_credentials()
    local ar = actions("AssumeRole")
    assert.are.equal(2, #ar)
    assert.are.equal("arn:aws:iam::111111111111:role/automation", ar[1].params.RoleArn)
    assert.are.equal("ext-app", ar[1].params.ExternalId)
    assert.are.equal("AKIABASE", ar[1].key)
    assert.are.equal("arn:aws:iam::222222222222:role/automation", ar[2].params.RoleArn)
    assert.truthy(ar[2].key:find("^ASIA"))
    assert.are.equal("3600", ar[2].params.DurationSeconds)      -- 7200 clamped: chained hop
    assert.truthy(table.concat(warnings, "\n"):find("7200 lowered to 3600", 1, true))
    assert.are.equal("222222222222", c.account_id)
  end)

  it("writes the AWS CLI cache and a new run reuses it without AssumeRole", function()
    session{ profile = "app" }:get_credentials()
    assert.are.equal(1, #actions("AssumeRole"))
    local key = file_cache.cache_key{ RoleArn = "arn:aws:iam::111111111111:role/automation", ExternalId = "ext-app" }
    assert.truthy(H.read(dir .. "/cache/" .. key .. ".json"))
    assume_role.reset()                                   -- a new run: memory is empty
    local c = session{ profile = "app" }:get_credentials()
    assert.are.equal(1, #actions("AssumeRole"))
    assert.truthy(c.source:find("cached in", 1, true))
  end)

  it("can run without the file cache", function()
    session{ profile = "app", credential_cache = false }:get_credentials()
    assume_role.reset()
    session{ profile = "app", credential_cache = false }:get_credentials()
    assert.are.equal(2, #actions("AssumeRole"))
    assert.is_nil(io.open(dir .. "/cache"))
  end)

  it("explains a refused AssumeRole: profile, file, step, code and hint", function()
    local e = err_of(function() return session{ profile = "wrong" }:get_credentials() end)
    assert.truthy(e:find('profile "wrong" (' .. cfg .. ":", 1, true), e)
    assert.truthy(e:find("assuming arn:aws:iam::222222222222:role/automation from profile \"base\": AccessDenied", 1, true), e)
    assert.truthy(e:find("check the role's trust policy and external_id", 1, true), e)
    assert.falsy(e:find("basesecret", 1, true))
  end)

  it("sends STS calls to the profile's services endpoint", function()
    session{ profile = "local-sts" }:get_credentials()
    assert.truthy(actions("AssumeRole")[1].url:find("^http://127.0.0.1:1/via%-services"))
  end)

  it("sends STS calls to AWS_ENDPOINT_URL_STS", function()
    session{ profile = "app", env = { HOME = dir, AWS_ENDPOINT_URL_STS = "http://127.0.0.1:2/sts-env" } }:get_credentials()
    assert.truthy(actions("AssumeRole")[1].url:find("^http://127.0.0.1:2/sts%-env"))
  end)

  it("invalidate drops the memory and disk copies", function()
    local s = session{ profile = "app" }
    local first = s:get_credentials().access_key_id
    s:credentials():invalidate()
    local second = s:get_credentials().access_key_id
    assert.are_not.equal(first, second)
    assert.are.equal(2, #actions("AssumeRole"))
  end)
end)

describe("MFA", function()
  it("asks once per run: one GetSessionToken serves every role of the device", function()
    local asked = 0
    local mfa = function(serial) asked = asked + 1; assert.are.equal("arn:aws:iam::123456789012:mfa/me", serial); return "123456" end
    session{ profile = "mfa1", mfa = mfa }:get_credentials()
    session{ profile = "mfa2", mfa = mfa }:get_credentials()
    assert.are.equal(1, asked)
    local gst = actions("GetSessionToken")
    assert.are.equal(1, #gst)
    assert.are.equal("123456", gst[1].params.TokenCode)
    assert.are.equal("AKIABASE", gst[1].key)
    local ar = actions("AssumeRole")
    assert.are.equal(2, #ar)
    for _, c in ipairs(ar) do
      assert.is_nil(c.params.TokenCode)
      assert.truthy(c.key:find("^ASIA"))                  -- from the MFA session
    end
    assert.are.equal("3600", ar[2].params.DurationSeconds)
  end)

  it("puts the code on AssumeRole itself when the source keys are temporary", function()
    session{ profile = "mfa-temp", mfa = "112233" }:get_credentials()
    assert.are.equal(0, #actions("GetSessionToken"))
    local p = actions("AssumeRole")[1].params
    assert.are.equal("arn:aws:iam::123456789012:mfa/me", p.SerialNumber)
    assert.are.equal("112233", p.TokenCode)
    assert.are.equal("ASIATEMP", actions("AssumeRole")[1].key)
  end)

  it("takes the code from KUMO_MFA_CODE", function()
    session{ profile = "mfa1", env = { HOME = dir, KUMO_MFA_CODE = "654321" } }:get_credentials()
    assert.are.equal("654321", actions("GetSessionToken")[1].params.TokenCode)
  end)
  it("prompts on the terminal, and says how to automate when there is none", function()
    local mfa = require "kumo.credentials.mfa"
    local tty = H.write(dir .. "/tty", "778899\n")
    assert.are.equal("778899", mfa.code({ getenv = H.getenv{}, tty = tty }, "arn:mfa", 'profile "p"'))
    local ok, e = pcall(mfa.code, { getenv = H.getenv{}, tty = dir .. "/no/tty" }, "arn:mfa", 'profile "p"')
    assert.is_false(ok)
    assert.truthy(e:find("KUMO_MFA_CODE", 1, true), e)
    assert.truthy(e:find("mfa = function", 1, true), e)
  end)
end)

describe("session:assume_role and identity", function()
  it("passes every AssumeRole parameter and acts in the role's account", function()
    local base = session{ profile = "base" }
    local s = base:assume_role{ role_arn = "arn:aws:iam::333333333333:role/ops", session_name = "deploy-42",
      duration = 1800, policy = { Version = "2012-10-17" }, policy_arns = { "arn:aws:iam::aws:policy/ReadOnlyAccess" },
      tags = { run = "42" }, transitive_tag_keys = { "run" }, source_identity = "alice" }
    local p = actions("AssumeRole")[1].params
    assert.are.equal("deploy-42", p.RoleSessionName)
    assert.are.equal("1800", p.DurationSeconds)
    assert.are.equal('{"Version": "2012-10-17"}', p.Policy)
    assert.are.equal("arn:aws:iam::aws:policy/ReadOnlyAccess", p["PolicyArns.member.1.arn"])
    assert.are.equal("run", p["Tags.member.1.Key"])
    assert.are.equal("42", p["Tags.member.1.Value"])
    assert.are.equal("run", p["TransitiveTagKeys.member.1"])
    assert.are.equal("alice", p.SourceIdentity)
    assert.are.equal("333333333333", s.account)
    local id = s:identity()
    assert.are.equal("333333333333", id.account)
    assert.are.equal("arn:aws:sts::333333333333:assumed-role/ops/deploy-42", id.arn)
    s:identity()
    assert.are.equal(1, #actions("GetCallerIdentity"))     -- cached
    assert.are.equal("123456789012", base:identity().account)
  end)

  it("accepts the API's names and fails at once with a clear message", function()
    local base = session{ profile = "base" }
    local e = err_of(function()
      return base:assume_role{ RoleArn = "arn:aws:iam::222222222222:role/automation", ExternalId = "nope" }
    end)
    assert.truthy(e:find("AccessDenied", 1, true), e)
    assert.truthy(e:find("external_id", 1, true), e)
    e = err_of(function() return base:assume_role{ role_arn = "automation" } end)
    assert.truthy(e:find("role_arn must be an IAM role ARN", 1, true), e)
    e = err_of(function() return base:assume_role{ role_arn = "arn:aws:iam::1:role/x", duraton = 5 } end)
    assert.truthy(e:find('unknown option "duraton"', 1, true), e)
  end)

  it("fans out from many tasks with one AssumeRole per role", function()
    local sched = require "kumo.sched"
    local base = session{ profile = "base" }
    fake_sts.delay = 0.01                               -- AssumeRole takes a while: tasks overlap
    local roles = {}
    for i = 1, 12 do roles[i] = "arn:aws:iam::11111111111" .. (i % 3) .. ":role/fan" end
    local results, errs = sched.parallel(roles, function(arn)
      return base:assume_role{ role_arn = arn, session_name = "fan" }:get_credentials().account_id
    end)
    fake_sts.delay = nil
    for i = 1, 12 do
      assert.is_nil(errs[i])
      assert.are.equal(roles[i]:match("::(%d+):"), results[i])
    end
    assert.are.equal(3, #actions("AssumeRole"))
  end)
end)

describe("sources are never mixed up", function()
  it("two sessions with different keys and the same role get their own credentials", function()
    local a = session{ credentials = { access_key_id = "AKIAONE", secret_access_key = "one" } }
    local b = session{ credentials = { access_key_id = "AKIATWO", secret_access_key = "two" } }
    local role = { role_arn = "arn:aws:iam::333333333333:role/same" }
    a:assume_role{ role_arn = role.role_arn }
    b:assume_role{ role_arn = role.role_arn }
    local ar = actions("AssumeRole")
    assert.are.equal(2, #ar)
    assert.are.equal("AKIAONE", ar[1].key)
    assert.are.equal("AKIATWO", ar[2].key)
  end)
end)
