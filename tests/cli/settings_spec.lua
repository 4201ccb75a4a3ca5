-- The AWS settings kumo honours as the CLI does, each checked against a
-- loopback server that records the requests it gets (tests/lib/logserver.py):
-- the ca_bundle config key and AWS_CA_BUNDLE (and which wins), upper-case
-- HTTP_PROXY / HTTPS_PROXY and NO_PROXY, parameter_validation = false, the
-- app id (AWS_SDK_UA_APP_ID / sdk_ua_app_id) in the User-Agent, a User-Agent
-- on the calls for credentials (STS web identity, IMDS, container), and the
-- refusal of an endpoint URL with no region (botocore's NoRegionError).
local aws = require "kumo.aws"
local sys = require "kumo.sys"
local clock = require "kumo.clock"
local json = require "kumo.json"
local sandbox = dofile((os.getenv("KUMO_ROOT") or ".") .. "/tests/lib/sandbox.lua")

local root = os.getenv("KUMO_ROOT") or "."
local q = sandbox.shell_quote

local tmp = os.tmpname()
os.remove(tmp)
assert(os.execute("mkdir -p " .. q(tmp)))

local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  return path
end

-- Start a log server (tls: its certificate and key); returns its base URL,
-- a function reading the requests logged so far, and a stop function.
local function start(name, tls)
  local log, portfile = tmp .. "/" .. name .. ".log", tmp .. "/" .. name .. ".port"
  write(log, "")
  local proc = assert(io.popen("exec python3 " .. q(root .. "/tests/lib/logserver.py") .. " "
    .. q(log) .. (tls and (" --tls " .. q(tls[1]) .. " " .. q(tls[2])) or "") .. " > " .. q(portfile), "w"))
  local port
  for _ = 1, 200 do
    port = tonumber((sandbox.read_file(portfile) or ""):match("%d+"))
    if port then break end
    clock.sleep(0.05)
  end
  assert(port, "the log server did not start")
  local function requests()
    local list = {}
    for line in (sandbox.read_file(log) or ""):gmatch("[^\n]+") do list[#list + 1] = json.decode(line) end
    return list
  end
  return (tls and "https" or "http") .. "://127.0.0.1:" .. port, requests, function() proc:close() end
end

-- the proxy and CA variables of this machine would change what is tested
local VARS = { "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
  "no_proxy", "NO_PROXY", "AWS_CA_BUNDLE", "REQUEST_METHOD" }
local saved = {}

-- A session whose environment is exactly `env` (plus fake keys unless
-- `creds = false`) and whose config file holds `config`.
local function session(env, config, opts)
  local e = { AWS_CONFIG_FILE = write(tmp .. "/config", config or "[default]\n"),
    AWS_SHARED_CREDENTIALS_FILE = tmp .. "/no-credentials", AWS_REGION = "us-east-1",
    HOME = tmp }  -- the credential file cache (~/.aws/cli/cache) stays in tmp
  if not (opts and opts.creds == false) then
    e.AWS_ACCESS_KEY_ID, e.AWS_SECRET_ACCESS_KEY = "AKIDLOGTEST", "log-test-secret"
  end
  for k, v in pairs(env or {}) do e[k] = v or nil end
  local o = { env = e, max_attempts = 1 }
  for k, v in pairs(opts or {}) do if k ~= "creds" then o[k] = v end end
  return aws.session(o)
end

local function identity(s, url)
  return s:client("sts", { endpoint_url = url }):GetCallerIdentity{}
end

describe("AWS settings against a logging server", function()
  local url, requests, stop
  local cert, key, other

  setup(function()
    for _, n in ipairs(VARS) do saved[n] = os.getenv(n); sys.setenv(n, nil) end
    cert, key, other = tmp .. "/cert.pem", tmp .. "/key.pem", tmp .. "/other.pem"
    for _, c in ipairs{ { cert, key }, { other, tmp .. "/other-key.pem" } } do
      assert(os.execute("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
        .. "-addext subjectAltName=IP:127.0.0.1 -keyout " .. q(c[2]) .. " -out " .. q(c[1])
        .. " >/dev/null 2>&1"))
    end
    url, requests, stop = start("plain")
  end)

  teardown(function()
    stop()
    for _, n in ipairs(VARS) do sys.setenv(n, saved[n]) end
    os.execute("rm -rf " .. q(tmp))
  end)

  describe("ca_bundle", function()
    local turl, treqs, tstop
    setup(function() turl, treqs, tstop = start("tls", { cert, key }) end)
    teardown(function() tstop() end)

    it("without a bundle the self-signed server is refused (TLS verification on)", function()
      local ok, err = pcall(identity, session(), turl)
      assert.is_false(ok)
      assert.matches("certificate", tostring(err))
      assert.equal(0, #treqs())
    end)

    it("the profile's ca_bundle key is used", function()
      local s = session(nil, "[default]\nca_bundle = " .. cert .. "\n")
      assert.equal("123456789012", identity(s, turl).Account)
      assert.equal(1, #treqs())
    end)

    it("AWS_CA_BUNDLE wins over the ca_bundle key (as the CLI: environment before config)", function()
      local s = session({ AWS_CA_BUNDLE = other }, "[default]\nca_bundle = " .. cert .. "\n")
      local ok, err = pcall(identity, s, turl)
      assert.is_false(ok)
      assert.matches("certificate", tostring(err))
      s = session({ AWS_CA_BUNDLE = cert }, "[default]\nca_bundle = " .. other .. "\n")
      assert.equal("123456789012", identity(s, turl).Account)
    end)

    it("the session option ca_bundle wins over both", function()
      local s = session({ AWS_CA_BUNDLE = other }, "[default]\nca_bundle = " .. other .. "\n",
        { ca_bundle = cert })
      assert.equal("123456789012", identity(s, turl).Account)
    end)
  end)

  describe("proxies from the environment", function()
    local purl, preqs, pstop
    setup(function() purl, preqs, pstop = start("proxy") end)
    teardown(function()
      pstop()
      for _, n in ipairs(VARS) do sys.setenv(n, nil) end
    end)
    local function count() return #requests(), #preqs() end

    it("upper-case HTTP_PROXY sends the call through the proxy (absolute target)", function()
      sys.setenv("HTTP_PROXY", purl)
      local d0, p0 = count()
      assert.equal("123456789012", identity(session(), url).Account)
      local d1, p1 = count()
      sys.setenv("HTTP_PROXY", nil)
      assert.equal(d0, d1)
      assert.equal(p0 + 1, p1)
      assert.equal(url .. "/", preqs()[p1].target)
    end)

    it("lower-case http_proxy wins over HTTP_PROXY (Python's urllib order)", function()
      sys.setenv("HTTP_PROXY", "http://127.0.0.1:9")  -- nothing listens there
      sys.setenv("http_proxy", purl)
      local _, p0 = count()
      assert.equal("123456789012", identity(session(), url).Account)
      local _, p1 = count()
      sys.setenv("HTTP_PROXY", nil); sys.setenv("http_proxy", nil)
      assert.equal(p0 + 1, p1)
    end)

    it("HTTP_PROXY is ignored under CGI (REQUEST_METHOD set), as urllib does", function()
      sys.setenv("HTTP_PROXY", purl)
      sys.setenv("REQUEST_METHOD", "GET")
      local d0, p0 = count()
      assert.equal("123456789012", identity(session(), url).Account)
      local d1, p1 = count()
      sys.setenv("HTTP_PROXY", nil); sys.setenv("REQUEST_METHOD", nil)
      assert.equal(d0 + 1, d1)
      assert.equal(p0, p1)
    end)

    it("NO_PROXY (upper case) sends a listed host direct", function()
      sys.setenv("HTTP_PROXY", purl)
      sys.setenv("NO_PROXY", "127.0.0.1")
      local d0, p0 = count()
      assert.equal("123456789012", identity(session(), url).Account)
      local d1, p1 = count()
      sys.setenv("HTTP_PROXY", nil); sys.setenv("NO_PROXY", nil)
      assert.equal(d0 + 1, d1)
      assert.equal(p0, p1)
    end)

    it("HTTPS_PROXY is used for https URLs (a CONNECT tunnel)", function()
      sys.setenv("HTTPS_PROXY", purl)
      local _, p0 = count()
      -- the log server answers CONNECT with no tunnel: the call fails, the proxy saw it
      pcall(identity, session(), "https://127.0.0.1:1")
      local _, p1 = count()
      sys.setenv("HTTPS_PROXY", nil)
      assert.equal(p0 + 1, p1)
      assert.equal("CONNECT", preqs()[p1].method)
    end)

    it("all_proxy is not used (botocore reads only the scheme's variable)", function()
      sys.setenv("ALL_PROXY", "http://127.0.0.1:9")
      sys.setenv("all_proxy", "http://127.0.0.1:9")
      local d0 = count()
      assert.equal("123456789012", identity(session(), url).Account)
      sys.setenv("ALL_PROXY", nil); sys.setenv("all_proxy", nil)
      assert.equal(d0 + 1, (count()))
    end)
  end)

  describe("parameter_validation", function()
    -- RoleArn is required and at least 20 characters: validation refuses
    -- before sending; with it off the call goes out
    local function assume(s)
      return pcall(function()
        return s:client("sts", { endpoint_url = url }):AssumeRole{ RoleArn = "short", RoleSessionName = "x" }
      end)
    end

    it("on by default: the call is refused before anything is sent", function()
      local n = #requests()
      local ok, err = assume(session())
      assert.is_false(ok)
      assert.matches("RoleArn", tostring(err))
      assert.equal(n, #requests())
    end)

    it("parameter_validation = false in the profile sends the call unchecked", function()
      local n = #requests()
      assume(session(nil, "[default]\nparameter_validation = false\n"))
      assert.equal(n + 1, #requests())
      assert.matches("RoleArn=short", requests()[n + 1].body)
    end)

    it("the session option validate wins over the profile key", function()
      local n = #requests()
      assert.is_false((assume(session(nil, "[default]\nparameter_validation = false\n",
        { validate = true }))))
      assert.equal(n, #requests())
    end)

    it("a value other than true/false is an error naming the key", function()
      local ok, err = pcall(session, nil, "[default]\nparameter_validation = nope\n")
      assert.is_false(ok)
      assert.matches("parameter_validation", tostring(err))
      assert.matches("true or false", tostring(err))
    end)
  end)

  describe("User-Agent", function()
    local function last_ua() local r = requests(); return r[#r].headers["user-agent"] end

    it("is kumo/VERSION lua/5.4 with no app id", function()
      identity(session(), url)
      assert.equal("kumo/" .. sys.version .. " lua/5.4", last_ua())
    end)

    it("carries app/ID from sdk_ua_app_id", function()
      identity(session(nil, "[default]\nsdk_ua_app_id = orders-app\n"), url)
      assert.equal("kumo/" .. sys.version .. " lua/5.4 app/orders-app", last_ua())
    end)

    it("AWS_SDK_UA_APP_ID wins over the config key; characters botocore drops become -", function()
      identity(session({ AWS_SDK_UA_APP_ID = "my app#1/x" }, "[default]\nsdk_ua_app_id = other\n"), url)
      assert.equal("kumo/" .. sys.version .. " lua/5.4 app/my-app#1-x", last_ua())
    end)

    it("the session option user_agent_appid wins over both", function()
      identity(session({ AWS_SDK_UA_APP_ID = "env" }, nil, { user_agent_appid = "opt" }), url)
      assert.matches(" app/opt$", last_ua())
    end)
  end)

  describe("calls for credentials send a User-Agent", function()
    local UA = "^kumo/%S+ lua/5%.4"

    it("STS web identity (AssumeRoleWithWebIdentity, then the call it signs)", function()
      local n = #requests()
      local s = session({ AWS_WEB_IDENTITY_TOKEN_FILE = write(tmp .. "/token", "jwt-token"),
        AWS_ROLE_ARN = "arn:aws:iam::123456789012:role/web", AWS_ROLE_SESSION_NAME = "web-session",
        AWS_ENDPOINT_URL_STS = url }, nil, { creds = false })
      assert.equal("123456789012", s:client("sts"):GetCallerIdentity{}.Account)
      local r = requests()
      assert.equal(n + 2, #r, json.encode(r[n + 1]))
      assert.matches("Action=AssumeRoleWithWebIdentity", r[n + 1].body)
      assert.matches(UA, r[n + 1].headers["user-agent"])
      assert.matches("ASIALOGSERVER", r[n + 2].headers.authorization)
    end)

    it("IMDS (token, role, credentials)", function()
      local n = #requests()
      local s = session({ AWS_EC2_METADATA_SERVICE_ENDPOINT = url }, nil, { creds = false })
      assert.equal("ASIALOGSERVER0000000", s:get_credentials().access_key_id)
      local r = requests()
      assert.equal(n + 3, #r)
      for i = n + 1, n + 3 do assert.matches(UA, r[i].headers["user-agent"]) end
      assert.equal("/latest/api/token", r[n + 1].target)
    end)

    it("container credentials", function()
      local n = #requests()
      local s = session({ AWS_CONTAINER_CREDENTIALS_FULL_URI = url .. "/creds" }, nil, { creds = false })
      assert.equal("ASIALOGSERVER0000000", s:get_credentials().access_key_id)
      local r = requests()
      assert.equal(n + 1, #r)
      assert.equal("/creds", r[n + 1].target)
      assert.matches(UA, r[n + 1].headers["user-agent"])
    end)
  end)

  describe("an endpoint URL and no region", function()
    it("is refused as botocore does (NoRegionError), before anything is sent", function()
      local n = #requests()
      local s = session({ AWS_REGION = false, AWS_DEFAULT_REGION = false })
      local ok, err = pcall(identity, s, url)
      assert.is_false(ok)
      assert.equal("NoRegionError", err.code)
      assert.matches("You must specify a region", tostring(err))
      assert.matches("AWS_REGION", tostring(err))
      assert.equal(n, #requests())
    end)

    it("with a region it is signed for that region", function()
      identity(session({ AWS_REGION = "eu-west-3" }), url)
      local r = requests()
      assert.matches("/eu%-west%-3/sts/aws4_request", r[#r].headers.authorization)
    end)
  end)
end)
