-- kumo.client at unit level: a fake transport function stands in for the
-- network (end-to-end specs in tests/e2e talk real HTTP to the sandbox).
local aws = require "kumo.aws"
local errors = require "kumo.errors"

local CREDS = { access_key_id = "AKIAUNITTEST00000001", secret_access_key = "unit-secret-key" }

local PROXIES = [[<DescribeDBProxiesResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/">
<DescribeDBProxiesResult><DBProxies><member><DBProxyName>p1</DBProxyName><Status>available</Status>
<RequireTLS>true</RequireTLS></member></DBProxies></DescribeDBProxiesResult>
<ResponseMetadata><RequestId>req-ok</RequestId></ResponseMetadata></DescribeDBProxiesResponse>]]

local function query_error(code, msg)
  return "<ErrorResponse><Error><Type>Sender</Type><Code>" .. code .. "</Code><Message>" .. msg
    .. "</Message></Error><RequestId>req-err</RequestId></ErrorResponse>"
end

-- A transport that answers from a list of responses and records requests.
local function scripted(responses)
  local t = { requests = {} }
  t.fn = function(req)
    t.requests[#t.requests + 1] = req
    local r = responses[#t.requests] or responses[#responses]
    if type(r) == "function" then return r(req) end
    if r.transport_error then return nil, r.transport_error, r.code end
    return { status = r.status or 200, headers = r.headers or {}, body = r.body or "" }
  end
  return t
end

local function session(t, extra)
  local o = { region = "ap-northeast-1", credentials = CREDS, env = {},
    config_file = "/nonexistent/config", credentials_file = "/nonexistent/credentials",
    transport = t.fn, random = function() return 0 end }
  for k, v in pairs(extra or {}) do o[k] = v end
  return aws.session(o)
end

local function header(req, name)
  for _, h in ipairs(req.headers) do
    if h[1]:lower() == name:lower() then return h[2] end
  end
end

describe("kumo.client calls", function()
  it("serializes, signs, sends and parses an operation", function()
    local t = scripted{ { body = PROXIES, headers = { ["x-amzn-requestid"] = "req-ok" } } }
    local rds = session(t):client("rds")
    local out = rds:DescribeDBProxies{ DBProxyName = "p1" }
    assert.are.equal("p1", out.DBProxies[1].DBProxyName)
    assert.are.equal(true, out.DBProxies[1].RequireTLS)
    assert.are.equal("req-ok", out.ResponseMetadata.RequestId)
    assert.are.equal(200, out.ResponseMetadata.HTTPStatusCode)
    assert.are.equal(0, out.ResponseMetadata.RetryAttempts)
    local req = t.requests[1]
    assert.are.equal("POST", req.method)
    assert.are.equal("https://rds.ap-northeast-1.amazonaws.com/", req.url)
    assert.are.equal("Action=DescribeDBProxies&Version=2014-10-31&DBProxyName=p1", req.body)
    assert.are.equal("rds.ap-northeast-1.amazonaws.com", header(req, "Host"))
    local auth = header(req, "Authorization")
    assert.truthy(auth:find("^AWS4%-HMAC%-SHA256 Credential=AKIAUNITTEST00000001/%d+/ap%-northeast%-1/rds/aws4_request"))
    assert.is_not_nil(header(req, "X-Amz-Date"))
    for _, h in ipairs(req.headers) do
      assert.is_nil(h[2]:find("unit-secret-key", 1, true))
    end
  end)

  it("applies a JMESPath query option to the result", function()
    local t = scripted{ { body = PROXIES } }
    local names = session(t):client("rds"):DescribeDBProxies({}, { query = "DBProxies[?Status=='available'].DBProxyName" })
    assert.are.same({ "p1" }, names)
  end)

  it("raises a service error object with code, status, request id", function()
    local t = scripted{ { status = 404, body = query_error("DBProxyNotFoundFault", "DBProxy nope not found.") } }
    local rds = session(t):client("rds")
    local ok, e = pcall(rds.DescribeDBProxies, rds, { DBProxyName = "nope" })
    assert.is_false(ok)
    assert.is_true(errors.is(e))
    assert.are.same({ "service", "DBProxyNotFoundFault", 404, "req-err", "rds", "DescribeDBProxies", false, false },
      { e.kind, e.code, e.http_status, e.request_id, e.service, e.operation, e.retryable, e.throttling })
    assert.are.equal("rds DescribeDBProxies: DBProxyNotFoundFault: DBProxy nope not found. "
      .. "(HTTP 404, request id req-err)", tostring(e))
    assert.are.equal(1, #t.requests)
  end)

  it("try returns nil, err instead of raising", function()
    local t = scripted{ { status = 404, body = query_error("DBProxyNotFoundFault", "x") } }
    local out, e = session(t):client("rds"):try("DescribeDBProxies", { DBProxyName = "nope" })
    assert.is_nil(out)
    assert.are.equal("DBProxyNotFoundFault", e.code)
  end)

  it("retries throttling and shows every attempt to the hooks", function()
    local t = scripted{ { status = 400, body = query_error("Throttling", "Rate exceeded") },
      { status = 400, body = query_error("Throttling", "Rate exceeded") }, { body = PROXIES } }
    local seen, per_call = {}, {}
    local s = session(t, { on_attempt = function(i) seen[#seen + 1] = i end, random = function() return 0.5 end,
      sleep = function() end })
    local out = s:client("rds"):DescribeDBProxies({}, { on_attempt = function(i) per_call[#per_call + 1] = i end })
    assert.are.equal(2, out.ResponseMetadata.RetryAttempts)
    assert.are.equal(3, #seen)
    assert.are.equal(3, #per_call)
    assert.are.same({ 1, 400, "Throttling", 0.5, true }, { seen[1].attempt, seen[1].status, seen[1].code, seen[1].delay, seen[1].retrying })
    assert.are.same({ 2, "Throttling", 1.0, true }, { seen[2].attempt, seen[2].code, seen[2].delay, seen[2].retrying })
    assert.are.same({ 3, 200, false }, { seen[3].attempt, seen[3].status, seen[3].retrying })
    assert.are.equal("rds", seen[1].service)
    assert.are.equal("DescribeDBProxies", seen[1].operation)
    -- the same request each time (re-signed, same body)
    assert.are.equal(t.requests[1].body, t.requests[3].body)
  end)

  it("sleeps the backoff through the session's sleep", function()
    local t = scripted{ { status = 503, body = query_error("ServiceUnavailable", "busy") }, { body = PROXIES } }
    local slept = {}
    local s = session(t, { random = function() return 0.25 end, sleep = function(d) slept[#slept + 1] = d end })
    s:client("rds"):DescribeDBProxies{}
    assert.are.same({ 0.25 }, slept)
  end)

  it("follows AWS_NEW_RETRIES_2026 (x-amz-retry-after) and AWS_RETRY_MODE=legacy", function()
    local t = scripted{ { status = 500, headers = { ["x-amz-retry-after"] = "1500" }, body = "" },
      { body = PROXIES } }
    local slept = {}
    local s = session(t, { env = { AWS_NEW_RETRIES_2026 = "true" },
      sleep = function(d) slept[#slept + 1] = d end })
    s:client("rds"):DescribeDBProxies{}
    assert.are.same({ 1.5 }, slept)
    t = scripted{ { status = 429, body = "" } }
    local _, e = session(t, { env = { AWS_RETRY_MODE = "legacy" } }):client("rds"):try("DescribeDBProxies", {})
    assert.are.equal(5, #t.requests)      -- legacy: 5 attempts, 429 retried
    assert.are.equal(5, e.attempts)
    t = scripted{ { status = 429, body = "" } }
    session(t):client("rds"):try("DescribeDBProxies", {})
    assert.are.equal(1, #t.requests)      -- standard: a bare 429 is not retried
  end)

  it("gives up after max_attempts with the count in the error", function()
    local t = scripted{ { status = 400, body = query_error("Throttling", "Rate exceeded") } }
    local _, e = session(t):client("rds"):try("DescribeDBProxies", {})
    assert.are.equal(3, #t.requests)
    assert.are.equal(3, e.attempts)
    assert.is_true(e.throttling)
    assert.is_true(e.retryable)
    assert.truthy(tostring(e):find("3 attempts", 1, true))
    t = scripted{ { status = 400, body = query_error("Throttling", "Rate exceeded") } }
    session(t, { max_attempts = 5 }):client("rds"):try("DescribeDBProxies", {})
    assert.are.equal(5, #t.requests)
    t = scripted{ { status = 400, body = query_error("Throttling", "Rate exceeded") } }
    session(t):client("rds"):try("DescribeDBProxies", {}, { max_attempts = 1 })
    assert.are.equal(1, #t.requests)
  end)

  it("turns transport failures into retryable transport errors", function()
    local t = scripted{ { transport_error = "POST https://x/: Couldn't connect to server", code = "CURLE_COULDNT_CONNECT" } }
    local _, e = session(t):client("rds"):try("DescribeDBProxies", {})
    assert.are.equal(3, #t.requests)
    assert.are.same({ "transport", "CURLE_COULDNT_CONNECT", true }, { e.kind, e.code, e.retryable })
    assert.are.same({ true, true }, { e.retries_exhausted, e.unavailable })
    assert.matches("^rds:DescribeDBProxies: AWS was unavailable %(transport error: POST https://x/: "
      .. "Couldn't connect to server %[CURLE_COULDNT_CONNECT%]%) — 3 attempts over %d%.%d s$", tostring(e))
  end)

  it("reports a malformed success body as a parse error, never a crash", function()
    for _, body in ipairs{ "<DescribeDBProxiesResponse><unclosed>", "not xml at all", "\0\1\2" } do
      local t = scripted{ { body = body } }
      local _, e = session(t):client("rds"):try("DescribeDBProxies", {})
      assert.is_true(errors.is(e), body)
      assert.are.equal("parse", e.kind)
      assert.are.equal("MalformedResponse", e.code)
      assert.truthy(tostring(e):find("^rds DescribeDBProxies: malformed response"), tostring(e))
      assert.are.equal(1, #t.requests) -- a 200 with a bad body is not retried
    end
  end)

  it("reports an unreadable error body by status, and retries 5xx", function()
    local t = scripted{ { status = 500, body = "<html><body>Internal Server Error</body></html>" } }
    local _, e = session(t):client("rds"):try("DescribeDBProxies", {})
    assert.are.equal("500", e.code)
    assert.are.equal(500, e.http_status)
    assert.are.equal(3, #t.requests)
    assert.truthy(tostring(e):find("Internal Server Error", 1, true))
  end)

  it("keeps an idempotency token across retries", function()
    local ok_body = [[<CreateIpamResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><ipam><ipamId>ipam-1</ipamId></ipam></CreateIpamResponse>]]
    local t = scripted{ { status = 503, body = "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>slow</Message></Error></Errors><RequestID>e1</RequestID></Response>" },
      { body = ok_body } }
    local out = session(t):client("ec2"):CreateIpam{}
    assert.are.equal("ipam-1", out.Ipam.IpamId)
    local tok1 = t.requests[1].body:match("ClientToken=([^&]+)")
    local tok2 = t.requests[2].body:match("ClientToken=([^&]+)")
    assert.is_not_nil(tok1)
    assert.are.equal(tok1, tok2)
  end)

  it("refreshes expired credentials once and resends", function()
    local gets, invalidated = 0, 0
    local provider = {
      get = function() gets = gets + 1; return CREDS end,
      invalidate = function() invalidated = invalidated + 1 end,
    }
    local t = scripted{ { status = 400, body = query_error("ExpiredToken", "The security token included in the request is expired") },
      { body = PROXIES } }
    local out = session(t, { credentials = provider }):client("rds"):DescribeDBProxies{}
    assert.are.equal("p1", out.DBProxies[1].DBProxyName)
    assert.are.same({ 2, 1 }, { gets, invalidated })
  end)

  it("long mode: retries a throttled call 6 times in a row, then succeeds; no quota drawn", function()
    local thr = { status = 400, body = query_error("Throttling", "Rate exceeded") }
    local t = scripted{ thr, thr, thr, thr, thr, thr, { body = PROXIES } }
    local slept = {}
    local s = session(t, { retry_mode = "long", random = function() return 1 end,
      sleep = function(d) slept[#slept + 1] = d end })
    local out = s:client("rds"):DescribeDBProxies{}
    assert.are.equal(7, #t.requests)
    assert.are.equal(6, out.ResponseMetadata.RetryAttempts)
    assert.are.same({ 1, 2, 4, 8, 16, 20 }, slept)
    assert.is_nil(s:client("rds"):retry_quota())
  end)

  it("long mode: gives up when the next sleep would pass retry_budget, saying AWS throttled it", function()
    local now = 0
    local t = scripted{ { status = 400, body = query_error("Throttling", "Rate exceeded") } }
    local s = session(t, { retry_mode = "long", retry_budget = 60, random = function() return 1 end,
      clock = function() return now end, sleep = function(d) now = now + d end })
    local _, e = s:client("rds"):try("DescribeDBProxies", {})
    -- sleeps 1 2 4 8 16 20 = 51 s; 51 + 20 > 60
    assert.are.equal(7, #t.requests)
    assert.are.same({ true, true, true, 7, 51 }, { e.retries_exhausted, e.throttled,
      e.retry_budget_exhausted, e.attempts, e.elapsed })
    assert.are.equal("rds:DescribeDBProxies: AWS throttled the call (Throttling: Rate exceeded) "
      .. "— 7 attempts over 51 s; last request id req-err", tostring(e))
    assert.is_true(errors.is_transient(e))
    -- a per-call retry_budget overrides the session's
    t = scripted{ { status = 500, body = "" } }
    now = 0
    s = session(t, { retry_mode = "long", random = function() return 1 end,
      clock = function() return now end, sleep = function(d) now = now + d end })
    _, e = s:client("rds"):try("DescribeDBProxies", {}, { retry_budget = 1 })
    assert.is_true(e.unavailable)
    assert.are.equal(5, #t.requests) -- 0.05 0.1 0.2 0.4 = 0.75; + 0.8 > 1
  end)

  it("adaptive and long modes feed the key's rate limiter with the policy's verdict; standard does not", function()
    local ratelimit = require "kumo.ratelimit"
    local now = 100
    ratelimit.set_default(ratelimit.new{ now = function() return now end })
    local key = CREDS.access_key_id .. "/rds/ap-northeast-1"
    local thr = { status = 400, body = query_error("Throttling", "Rate exceeded") }
    session(scripted{ thr, { body = PROXIES } }):client("rds"):DescribeDBProxies{}
    assert.is_nil(ratelimit.default():bucket(key))
    -- a body naming throttling under a non-throttling code is not throttling
    local other = { status = 400, body = query_error("ValidationError", "Throttling is off") }
    session(scripted{ other }):client("rds", { retry_mode = "adaptive" }):try("DescribeDBProxies", {})
    assert.is_false(ratelimit.default():bucket(key).adaptive)
    session(scripted{ thr, { body = PROXIES } }):client("rds", { retry_mode = "adaptive" }):DescribeDBProxies{}
    local b = ratelimit.default():bucket(key)
    assert.is_true(b.adaptive)
    assert.are.equal(1, b.throttles)
    ratelimit.set_default(nil)
  end)
end)

describe("kumo.client waiters", function()
  it("client:wait runs a model waiter through the client", function()
    local inst = function(status)
      return "<DescribeDBInstancesResponse><DescribeDBInstancesResult><DBInstances><member>"
        .. "<DBInstanceIdentifier>db</DBInstanceIdentifier><DBInstanceStatus>" .. status
        .. "</DBInstanceStatus></member></DBInstances></DescribeDBInstancesResult></DescribeDBInstancesResponse>"
    end
    local t = scripted{ { body = inst("creating") }, { body = inst("available") } }
    local rds = session(t, { sleep = function() end }):client("rds")
    rds:wait("DBInstanceAvailable", { DBInstanceIdentifier = "db" }, { delay = 0.01, max_attempts = 5, sleep = function() end })
    assert.are.equal(2, #t.requests)
    assert.truthy(t.requests[2].body:find("Action=DescribeDBInstances", 1, true))
  end)
end)

describe("kumo.client usage errors", function()
  local t = scripted{ { body = PROXIES } }
  local rds = session(t):client("rds")

  it("names an unknown operation and close matches", function()
    local _, e = rds:try("DescribeDBProxie", {})
    assert.are.equal("UnknownOperation", e.code)
    assert.truthy(tostring(e):find("did you mean DescribeDBProxies", 1, true))
    local ok, e2 = pcall(rds.DescribeDbProxies, rds, {})
    assert.is_false(ok)
    assert.truthy(tostring(e2):find("DescribeDBProxies", 1, true))
  end)

  it("rejects unknown call options and non-table parameters", function()
    local _, e = rds:try("DescribeDBProxies", {}, { querry = "x" })
    assert.truthy(tostring(e):find('unknown call option "querry"; did you mean query', 1, true))
    local _, e2 = rds:try("DescribeDBProxies", "x")
    assert.truthy(tostring(e2):find("parameters must be a table", 1, true))
  end)

  it("says which operations are paginated", function()
    local ok, e = pcall(function() for _ in rds:paginate("DescribeDBProxy", {}) do end end)
    assert.is_false(ok)
    assert.truthy(tostring(e):find("DescribeDBProxies", 1, true))
  end)

  it("lists operations, and hides non-operation keys", function()
    local ops = rds:operations()
    assert.is_true(#ops > 100)
    assert.is_nil(rds.lowercase)
  end)
end)

describe("kumo.client endpoints and configuration", function()
  local dir
  before_each(function()
    dir = os.tmpname()
    os.remove(dir)
    os.execute("mkdir -p " .. dir)
  end)
  after_each(function() os.execute("rm -rf " .. dir) end)

  local function write(name, text)
    local f = assert(io.open(dir .. "/" .. name, "w"))
    f:write(text)
    f:close()
    return dir .. "/" .. name
  end

  it("takes endpoints and retry settings from the profile and its services section", function()
    local cfg = write("config", "[profile dev]\nregion = eu-west-1\nservices = local\nmax_attempts = 2\n"
      .. "endpoint_url = http://127.0.0.1:1999\n"
      .. "[services local]\nrds =\n  endpoint_url = http://127.0.0.1:1888\n")
    local t = scripted{ { status = 503, body = query_error("ServiceUnavailable", "x") } }
    local s = aws.session{ profile = "dev", config_file = cfg, credentials_file = dir .. "/none",
      credentials = CREDS, env = {}, transport = t.fn, random = function() return 0 end }
    assert.are.equal("eu-west-1", s.region)
    local rds = s:client("rds")
    assert.are.equal("http://127.0.0.1:1888", rds:endpoint().url)
    rds:try("DescribeDBProxies", {})
    assert.are.equal(2, #t.requests)
    assert.are.equal("http://127.0.0.1:1888/", t.requests[1].url)
    assert.truthy(header(t.requests[1], "Authorization"):find("/eu%-west%-1/rds/aws4_request"))
    assert.are.equal("http://127.0.0.1:1999", s:client("sts"):endpoint().url)
    local s2 = aws.session{ profile = "dev", config_file = cfg, credentials_file = dir .. "/none",
      credentials = CREDS, env = { AWS_ENDPOINT_URL_RDS = "http://localhost:1777" }, transport = t.fn }
    assert.are.equal("http://localhost:1777", s2:client("rds"):endpoint().url)
    local s3 = aws.session{ profile = "dev", config_file = cfg, credentials_file = dir .. "/none",
      credentials = CREDS, env = {}, endpoint_url = "http://127.0.0.1:1666", transport = t.fn }
    assert.are.equal("http://127.0.0.1:1666", s3:client("rds"):endpoint().url)
    assert.are.equal("http://127.0.0.1:1555",
      s3:client("rds", { endpoint_url = "http://127.0.0.1:1555" }):endpoint().url)
  end)

  it("reads AWS_STS_REGIONAL_ENDPOINTS and AWS_USE_FIPS_ENDPOINT", function()
    local t = scripted{ { body = PROXIES } }
    local s = session(t, { region = "eu-west-1", env = { AWS_STS_REGIONAL_ENDPOINTS = "legacy" } })
    assert.are.equal("https://sts.amazonaws.com", s:client("sts"):endpoint().url)
    assert.are.equal("https://sts.eu-west-1.amazonaws.com", session(t, { region = "eu-west-1" })
      :client("sts"):endpoint().url)
    local f = session(t, { region = "us-east-1", env = { AWS_USE_FIPS_ENDPOINT = "true" } })
    assert.are.equal("https://rds-fips.us-east-1.amazonaws.com", f:client("rds"):endpoint().url)
    local g = session(t, { region = "us-east-1", use_fips_endpoint = false, env = { AWS_USE_FIPS_ENDPOINT = "true" } })
    assert.are.equal("https://rds.us-east-1.amazonaws.com", g:client("rds"):endpoint().url)
  end)

  it("refuses plain http to a remote host with a clear error", function()
    local t = scripted{ { body = PROXIES } }
    local s = session(t, { endpoint_url = "http://rds.example.com" })
    local _, e = s:client("rds"):try("DescribeDBProxies", {})
    assert.are.equal("InvalidEndpoint", e.code)
    assert.truthy(tostring(e):find("allow_http = true", 1, true))
    assert.are.equal(0, #t.requests)
    local ok = session(t, { endpoint_url = "http://rds.example.com", allow_http = true })
      :client("rds"):try("DescribeDBProxies", {})
    assert.is_not_nil(ok)
  end)

  it("reports a missing services section", function()
    local cfg = write("config", "[profile dev]\nregion = eu-west-1\nservices = nowhere\n")
    local s = aws.session{ profile = "dev", config_file = cfg, credentials_file = dir .. "/none",
      credentials = CREDS, env = {}, transport = scripted{ {} }.fn }
    local _, e = s:client("rds"):try("DescribeDBProxies", {})
    assert.truthy(tostring(e):find("[services nowhere]", 1, true))
  end)

  it("shares a retry quota per endpoint and shows it", function()
    local t = scripted{ { status = 500, body = "" }, { body = PROXIES } }
    local s = session(t)
    local rds = s:client("rds")
    rds:DescribeDBProxies{}
    local q = rds:retry_quota()
    assert.are.equal(500, q.available) -- 5 taken, refunded after the success
    assert.are.equal(q, s:client("rds", { timeout = 5 }):retry_quota())
  end)

  it("warns once about a region the partition data does not list, naming close ones", function()
    local told = {}
    local s = session(scripted{ { body = PROXIES } },
      { region = "ap-northeast-9x", warn = function(m) told[#told + 1] = m end })
    assert.are.equal("https://rds.ap-northeast-9x.amazonaws.com", s:client("rds"):endpoint().url)
    s:client("rds", { timeout = 5 }):endpoint()
    assert.are.equal(1, #told)
    assert.matches('rds: region "ap-northeast-9x" is not in kumo\'s partition data', told[1], 1, true)
    assert.matches("did you mean ap-northeast-1", told[1], 1, true)
    local quiet = session(scripted{ {} }, { warn = function(m) told[#told + 1] = m end })
    quiet:client("rds"):endpoint()
    session(scripted{ {} }, { region = "ap-northeast-9y", endpoint_url = "http://127.0.0.1:1",
      warn = function(m) told[#told + 1] = m end }):client("rds"):endpoint()
    assert.are.equal(1, #told, "a listed region, or an endpoint URL, gives no warning")
  end)
end)
