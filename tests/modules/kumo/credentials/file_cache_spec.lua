-- kumo.credentials.file_cache: the AWS CLI's ~/.aws/cli/cache format and key
-- derivation, checked against botocore itself in the default python3.
local file_cache = require "kumo.credentials.file_cache"
local creds = require "kumo.credentials.creds"
local H = require "tests.modules.kumo.credentials.helpers"

-- botocore's cache key for an AssumeRole provider with these extra args.
local function botocore_key(role_arn, extra_json)
  local py = [[
import json, sys
from botocore.credentials import AssumeRoleCredentialFetcher
f = AssumeRoleCredentialFetcher(client_creator=None, source_credentials=None,
                                role_arn=sys.argv[1], extra_args=json.loads(sys.argv[2]))
print(f._cache_key)
]]
  local cmd = string.format("python3 -c '%s' '%s' '%s'", py:gsub("'", "'\\''"), role_arn,
    extra_json:gsub("'", "'\\''"))
  local p = io.popen(cmd)
  local out = p:read("a")
  p:close()
  return out:match("^(%S+)")
end

local CASES = {
  { "arn:aws:iam::222222222222:role/automation", {}, "{}" },
  { "arn:aws:iam::222222222222:role/automation", { ExternalId = "ext-rds" }, '{"ExternalId": "ext-rds"}' },
  { "arn:aws:iam::111111111111:role/a", { ExternalId = "x", DurationSeconds = 3600, RoleSessionName = "me",
    SerialNumber = "arn:aws:iam::123456789012:mfa/u" },
    '{"ExternalId": "x", "DurationSeconds": 3600, "RoleSessionName": "me", "SerialNumber": "arn:aws:iam::123456789012:mfa/u"}' },
  { "arn:aws:iam::111111111111:role/unicode", { ExternalId = "é\"/\\\tü😀" },
    '{"ExternalId": "é\\"/\\\\\\tü😀"}' },
  { "arn:aws:iam::111111111111:role/p",
    { Policy = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:Get*","ec2:Describe*"],"Resource":"*"}]}' },
    '{"Policy": "{\\"Version\\":\\"2012-10-17\\",\\"Statement\\":[{\\"Effect\\":\\"Allow\\",\\"Action\\":[\\"s3:Get*\\",\\"ec2:Describe*\\"],\\"Resource\\":\\"*\\"}]}"}' },
}

describe("AWS CLI credential cache", function()
  for i, case in ipairs(CASES) do
    it("derives the same key as botocore (case " .. i .. ")", function()
      local args = { RoleArn = case[1] }
      for k, v in pairs(case[2]) do args[k] = v end
      assert.are.equal(botocore_key(case[1], case[3]), file_cache.cache_key(args))
    end)
  end

  it("leaves out a default session name, as botocore does", function()
    -- botocore drops its generated RoleSessionName from the key; kumo never adds its own.
    assert.are.equal(botocore_key("arn:aws:iam::1:role/r", "{}"), file_cache.cache_key{ RoleArn = "arn:aws:iam::1:role/r" })
  end)

  it("writes files botocore's JSONFileCache reads, mode 0600, and reads botocore's", function()
    local dir = H.tmpdir() .. "/cli/cache"
    local fc = file_cache.new(dir)
    local key = file_cache.cache_key{ RoleArn = "arn:aws:iam::1:role/r" }
    local exp = creds.now() + 3600
    assert.is_true(fc:store(key, { Credentials = { AccessKeyId = "ASIAKUMO", SecretAccessKey = "s",
      SessionToken = "t", Expiration = creds.iso8601(exp) },
      AssumedRoleUser = { Arn = "arn:aws:sts::1:assumed-role/r/x", AssumedRoleId = "AROA:x" } }))
    local mode = io.popen("stat -c %a " .. fc:path(key)):read("l")
    assert.are.equal("600", mode)
    local py = [==[
import sys
from botocore.utils import JSONFileCache
from botocore.credentials import _parse_if_needed
c = JSONFileCache(sys.argv[1])
e = c[sys.argv[2]]
print(e["Credentials"]["AccessKeyId"], _parse_if_needed(e["Credentials"]["Expiration"]).isoformat())
c["from-botocore"] = {"Credentials": {"AccessKeyId": "ASIABOTO", "SecretAccessKey": "s", "SessionToken": "t",
    "Expiration": __import__("datetime").datetime.now(__import__("dateutil.tz").tz.tzutc()) + __import__("datetime").timedelta(hours=1)}}
]==]
    local p = io.popen(string.format("python3 -c '%s' %s %s", py:gsub("'", "'\\''"), dir, key))
    local out = p:read("a")
    p:close()
    assert.truthy(out:find("ASIAKUMO " .. os.date("!%Y-%m-%dT%H:%M:%S", math.floor(exp)) .. "+00:00", 1, true), out)
    -- botocore writes "...UTC" style expirations: kumo reads them.
    local resp, e = fc:load("from-botocore")
    assert.truthy(resp, "botocore entry not read")
    assert.are.equal("ASIABOTO", resp.Credentials.AccessKeyId)
    assert.truthy(math.abs(e - (creds.now() + 3600)) < 120)
  end)

  it("ignores entries expiring within the window", function()
    local dir = H.tmpdir()
    local fc = file_cache.new(dir)
    fc:store("k", { Credentials = { AccessKeyId = "A", SecretAccessKey = "s",
      Expiration = creds.iso8601(creds.now() + 600) } })
    assert.is_nil(fc:load("k"))                 -- 10 min left < 15 min
    assert.truthy(fc:load("k", 300))
    H.write(dir .. "/bad.json", "{not json")
    assert.is_nil(fc:load("bad"))
  end)

  it("round-trips JSON with Python's formatting", function()
    local v = file_cache.decode('{"b": [1, 2.5, "x"], "a": {"z": true, "y": []}}')
    assert.are.equal('{"a": {"y": [], "z": true}, "b": [1, 2.5, "x"]}', file_cache.pydumps(v))
  end)
end)
