-- kumo.config: the AWS CLI ini dialect (checked against botocore's own
-- parser in the default python3), profile merging, settings, endpoints.
local config = require "kumo.config"
local json = require "cjson"

local tmpdir = os.tmpname()
os.remove(tmpdir)
os.execute("mkdir -p " .. tmpdir)

local function write(name, text)
  local path = tmpdir .. "/" .. name
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  return path
end

local function env(t)
  return function(name) return t[name] end
end

-- botocore's raw_config_parse(path) as JSON, or "ERROR: ..." when it rejects.
local function botocore_parse(path)
  local py = [[
import json, sys
from botocore.configloader import raw_config_parse
try:
    print(json.dumps(raw_config_parse(sys.argv[1])))
except Exception as e:
    print("ERROR: " + type(e).__name__)
]]
  local p = io.popen("python3 -c '" .. py:gsub("'", "'\\''") .. "' " .. path)
  local out = p:read("a")
  p:close()
  return out
end

local function kumo_parse(path)
  local f = assert(io.open(path))
  local text = f:read("a")
  f:close()
  local ok, sections = pcall(config.parse, text, path)
  if not ok then return nil, sections end
  local out = {}
  for name, sec in pairs(sections) do out[name] = sec.values end
  return out
end

local CASES = {
  basic = "[default]\nregion = us-east-1\noutput=json\n",
  comments = "# top\n; also\n[default]\n  # indented comment\nregion = eu-west-1\n;x = y\n",
  colon = "[profile a]\nendpoint_url: http://localhost:4566\nrole_arn = arn:aws:iam::1:role/x\n",
  continuation = "[default]\nlong = first\n  second\n\n  third\nnext = 1\n",
  nested = "[default]\ns3 =\n  addressing_style = path\n  max_concurrent_requests = 20\nregion = x\n",
  services = "[services local]\nsts =\n  endpoint_url = http://127.0.0.1:1\nrds =\n  endpoint_url = http://127.0.0.1:2\n",
  case = "[Profile Mixed]\nRegion = X\nAWS_ACCESS_KEY_ID = k\n",
  spaces = "[profile  spaced ]\n   key   =   value with  spaces   \n",
  empty_value = "[default]\nkey =\nother = 1\n",
  inline_hash = "[default]\nregion = us-east-1 # not a comment in configparser\n",
  default_section = "[DEFAULT]\nregion = r0\n[profile a]\nx = 1\n[profile b]\nregion = r1\n",
  crlf = "[default]\r\nregion = us-west-2\r\n",
  quoted = "[profile \"with space\"]\nregion = q\n",
}

local REJECTS = {
  no_header = "region = us-east-1\n[default]\n",
  no_delim = "[default]\njust some words\n",
  dup_section = "[default]\na = 1\n[default]\nb = 2\n",
  dup_key = "[default]\na = 1\nA = 2\n",
  bad_nested = "[default]\ns3 =\n  no equals here\n",
}

describe("kumo.config parser", function()
  for name, text in pairs(CASES) do
    it("reads " .. name .. " exactly as botocore does", function()
      local path = write(name .. ".ini", text)
      local expected = json.decode(botocore_parse(path))
      local got = assert(kumo_parse(path))
      assert.are.same(expected, got)
    end)
  end

  for name, text in pairs(REJECTS) do
    it("rejects " .. name .. " like botocore, naming file:line", function()
      local path = write(name .. ".ini", text)
      assert.truthy(botocore_parse(path):find("^ERROR"))
      local got, err = kumo_parse(path)
      assert.is_nil(got)
      assert.truthy(err:find(path .. ":%d+: "), err)
    end)
  end

  it("names the line of each problem", function()
    local ok, err = pcall(config.parse, "[a]\nx = 1\nbogus\n[b]\n= 3\n", "f")
    assert.is_false(ok)
    assert.truthy(err:find("f:3: expected 'key = value' in [a]", 1, true), err)
    assert.truthy(err:find("f:5: missing key name", 1, true), err)
  end)
end)

describe("kumo.config profiles", function()
  local cfg = write("config", [[
[default]
region = us-east-1

[profile base]
region = ap-northeast-1
output = json

[profile app]
role_arn = arn:aws:iam::111111111111:role/automation
source_profile = base
services = local
retry_mode = standard
max_attempts = 5

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = eu-west-1

[services local]
sts =
  endpoint_url = http://127.0.0.1:1111
rds =
  endpoint_url = http://127.0.0.1:2222

[stray]
region = nowhere
]])
  local cred = write("credentials", [[
[base]
aws_access_key_id = AKIABASE
aws_secret_access_key = basesecret
region = from-credentials

[profile odd]
aws_access_key_id = AKIAODD
aws_secret_access_key = oddsecret
]])

  it("merges the credentials file over the config file", function()
    local v = config.load{ config_file = cfg, credentials_file = cred, env = env{} }
    local p = v:profile("base")
    assert.are.equal("AKIABASE", p.aws_access_key_id)
    assert.are.equal("from-credentials", p.region)
    assert.are.equal("json", p.output)
    assert.truthy(v:where("base", "aws_access_key_id"):find(cred .. ":2", 1, true))
    assert.truthy(v:where("base", "output"):find(cfg .. ":6", 1, true))
  end)

  it("keeps [profile x] and [x] apart as the AWS CLI does", function()
    local v = config.load{ config_file = cfg, credentials_file = cred, env = env{} }
    assert.is_nil(v:profile("stray"))                -- [stray] in the config file is not a profile
    assert.truthy(v:profile("profile odd"))          -- the credentials file takes names literally
    assert.is_nil(v:profile("odd"))
    local warned = table.concat(v.warnings, "\n")
    assert.truthy(warned:find("[stray]", 1, true))
  end)

  it("reads sso-session and services sections", function()
    local v = config.load{ config_file = cfg, credentials_file = cred, env = env{} }
    assert.are.equal("eu-west-1", v:sso_session("corp").sso_region)
    assert.are.equal("http://127.0.0.1:2222", v:services("local").rds.endpoint_url)
  end)

  it("chooses the profile: explicit, AWS_PROFILE, AWS_DEFAULT_PROFILE, default", function()
    local v = config.load{ config_file = cfg, credentials_file = cred,
      env = env{ AWS_PROFILE = "app", AWS_DEFAULT_PROFILE = "base" } }
    assert.are.equal("x", (v:profile_name("x")))
    assert.are.same({ "app", "AWS_PROFILE" }, { v:profile_name() })
    assert.truthy(table.concat(v.warnings, "\n"):find("differ", 1, true))
    v = config.load{ config_file = cfg, credentials_file = cred, env = env{ AWS_DEFAULT_PROFILE = "base" } }
    assert.are.same({ "base", "AWS_DEFAULT_PROFILE" }, { v:profile_name() })
    v = config.load{ config_file = cfg, credentials_file = cred, env = env{} }
    assert.are.same({ "default", "default" }, { v:profile_name() })
  end)

  it("finds the files through AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE and ~", function()
    local v = config.load{ env = env{ AWS_CONFIG_FILE = cfg, AWS_SHARED_CREDENTIALS_FILE = cred } }
    assert.are.equal(cfg, v.config_file)
    assert.truthy(v:profile("app"))
    os.execute("mkdir -p " .. tmpdir .. "/home/.aws && cp " .. cfg .. " " .. tmpdir .. "/home/.aws/config")
    v = config.load{ env = env{ HOME = tmpdir .. "/home" } }
    assert.are.equal(tmpdir .. "/home/.aws/config", v.config_file)
    assert.truthy(v:profile("app"))
    assert.is_nil(v:profile("base").aws_access_key_id)   -- no credentials file there: empty
  end)

  it("region: AWS_REGION, then AWS_DEFAULT_REGION, then the profile", function()
    local v = config.load{ config_file = cfg, credentials_file = cred,
      env = env{ AWS_REGION = "r1", AWS_DEFAULT_REGION = "r2" } }
    assert.are.equal("r1", v:region("base"))
    v = config.load{ config_file = cfg, credentials_file = cred, env = env{ AWS_DEFAULT_REGION = "r2" } }
    assert.are.equal("r2", v:region("base"))
    v = config.load{ config_file = cfg, credentials_file = cred, env = env{} }
    assert.are.equal("from-credentials", v:region("base"))
    assert.is_nil(v:region("app"))
  end)

  it("exposes retry_mode, max_attempts and the client settings", function()
    local v = config.load{ config_file = cfg, credentials_file = cred, env = env{} }
    local s = v:client_settings("app")
    assert.are.equal("standard", s.retry_mode)
    assert.are.equal(5, s.max_attempts)
    assert.are.equal("http://127.0.0.1:1111", s.services.sts.endpoint_url)
    v = config.load{ config_file = cfg, credentials_file = cred, env = env{ AWS_MAX_ATTEMPTS = "two" } }
    local ok, err = pcall(v.max_attempts, v, "app")
    assert.is_false(ok)
    assert.truthy(err:find("AWS_MAX_ATTEMPTS", 1, true))
  end)

  it("resolves configured endpoints in the SDKs' order", function()
    local v = config.load{ config_file = cfg, credentials_file = cred, env = env{} }
    assert.are.equal("http://127.0.0.1:1111", v:endpoint_url("app", "sts"))
    assert.is_nil(v:endpoint_url("app", "ec2"))
    v = config.load{ config_file = cfg, credentials_file = cred, env = env{ AWS_ENDPOINT_URL = "http://g" } }
    assert.are.equal("http://g", v:endpoint_url("app", "sts"))
    v = config.load{ config_file = cfg, credentials_file = cred,
      env = env{ AWS_ENDPOINT_URL = "http://g", AWS_ENDPOINT_URL_STS = "http://s" } }
    assert.are.same({ "http://s", "AWS_ENDPOINT_URL_STS" }, { v:endpoint_url("app", "sts") })
    assert.are.equal("http://g", v:endpoint_url("app", "Secrets Manager"))
    v = config.load{ config_file = cfg, credentials_file = cred,
      env = env{ AWS_ENDPOINT_URL_STS = "http://s", AWS_IGNORE_CONFIGURED_ENDPOINT_URLS = "true" } }
    assert.is_nil(v:endpoint_url("app", "sts"))
  end)

  it("reports a malformed file with its path and line", function()
    local bad = write("bad-config", "[default]\nregion = x\noops\n")
    local ok, err = pcall(config.load, { config_file = bad, credentials_file = cred, env = env{} })
    assert.is_false(ok)
    assert.truthy(err:find(bad .. ":3:", 1, true), err)
  end)
end)
