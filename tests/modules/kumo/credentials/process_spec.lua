-- kumo.credentials.process: credential_process (JSON Version 1).
local credentials = require "kumo.credentials"
local config = require "kumo.config"
local creds = require "kumo.credentials.creds"
local H = require "tests.modules.kumo.credentials.helpers"

local dir = H.tmpdir()
-- A credential process: prints Version 1 JSON; behaviour from its arguments.
local script = H.write(dir .. "/cred-proc.sh", [[
#!/bin/sh
echo run >> "$(dirname "$0")/runs"
case "$1" in
  ok)      printf '{"Version": 1, "AccessKeyId": "ASIAPROC", "SecretAccessKey": "procsecret", "SessionToken": "proctoken", "Expiration": "%s"}\n' "$2" ;;
  static)  echo '{"Version": 1, "AccessKeyId": "AKIAPROC", "SecretAccessKey": "procsecret"}' ;;
  v2)      echo '{"Version": 2, "AccessKeyId": "A", "SecretAccessKey": "B"}' ;;
  nokey)   echo '{"Version": 1, "SecretAccessKey": "B"}' ;;
  garbage) echo 'Password: hunter2' ;;
  fail)    echo "token for SSO expired" >&2; exit 3 ;;
esac
]], "755")

local function resolve(proc_args, extra_env)
  local cfg = H.write(dir .. "/config", "[profile p]\ncredential_process = " .. script .. " " .. proc_args .. "\n")
  local e = { AWS_EC2_METADATA_DISABLED = "true", HOME = dir }
  for k, v in pairs(extra_env or {}) do e[k] = v end
  local getenv = H.getenv(e)
  local view = config.load{ config_file = cfg, credentials_file = dir .. "/none", env = getenv }
  return credentials.resolve{ options = { profile = "p", env = getenv }, config = view, profile = "p" }
end

local function runs()
  local s = H.read(dir .. "/runs") or ""
  local n = 0
  for _ in s:gmatch("run") do n = n + 1 end
  return n
end

describe("credential_process", function()
  it("reads Version 1 JSON with an expiration", function()
    os.remove(dir .. "/runs")
    local exp = creds.iso8601(creds.now() + 3600)
    local p = resolve("ok " .. exp)
    local c = p:get()
    assert.are.equal("ASIAPROC", c.access_key_id)
    assert.are.equal("proctoken", c.session_token)
    assert.are.equal(creds.parse_time(exp), c.expiration)
    p:get()
    assert.are.equal(1, runs())                    -- cached until the refresh window
  end)

  it("runs the command again when the credentials near their expiry", function()
    os.remove(dir .. "/runs")
    -- 90 s of lifetime: inside the 5 min advisory window from the start,
    -- outside the 1 min mandatory one.
    local p = resolve("ok " .. creds.iso8601(creds.now() + 90))
    assert.are.equal("ASIAPROC", p:get().access_key_id)
    assert.are.equal(1, runs())
    p:get()
    assert.are.equal(2, runs())
  end)

  it("follows KUMO_CREDENTIAL_ADVISORY_WINDOW / _MANDATORY_WINDOW", function()
    os.remove(dir .. "/runs")
    local p = resolve("ok " .. creds.iso8601(creds.now() + 90),
      { KUMO_CREDENTIAL_ADVISORY_WINDOW = "30", KUMO_CREDENTIAL_MANDATORY_WINDOW = "10" })
    p:get()
    p:get()
    assert.are.equal(1, runs())                     -- 90 s left is outside a 30 s window
    local ok, err = pcall(resolve, "static", { KUMO_CREDENTIAL_ADVISORY_WINDOW = "soon" })
    assert.is_false(ok)
    assert.truthy(err:find("KUMO_CREDENTIAL_ADVISORY_WINDOW must be a number", 1, true), err)
  end)

  it("refuses credentials that are already expired", function()
    local ok, err = pcall(function() return resolve("ok 2001-01-01T00:00:00Z"):get() end)
    assert.is_false(ok)
    assert.truthy(err:find("expired", 1, true), err)
  end)

  it("accepts credentials without expiration", function()
    local c = resolve("static"):get()
    assert.are.equal("AKIAPROC", c.access_key_id)
    assert.is_nil(c.expiration)
  end)

  it("reports a failing command with its exit status and stderr", function()
    local ok, err = pcall(function() return resolve("fail"):get() end)
    assert.is_false(ok)
    assert.truthy(err:find('profile "p"', 1, true), err)
    assert.truthy(err:find("exited with status 3", 1, true), err)
    assert.truthy(err:find("token for SSO expired", 1, true), err)
  end)

  it("refuses other versions and missing keys", function()
    local ok, err = pcall(function() return resolve("v2"):get() end)
    assert.is_false(ok)
    assert.truthy(err:find("only Version 1", 1, true), err)
    ok, err = pcall(function() return resolve("nokey"):get() end)
    assert.is_false(ok)
    assert.truthy(err:find("no AccessKeyId", 1, true), err)
  end)

  it("does not echo non-JSON output (it may hold secrets)", function()
    local ok, err = pcall(function() return resolve("garbage"):get() end)
    assert.is_false(ok)
    assert.truthy(err:find("not a JSON object", 1, true), err)
    assert.falsy(err:find("hunter2", 1, true), err)
  end)
end)
