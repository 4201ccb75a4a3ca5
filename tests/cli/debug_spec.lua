-- --debug / KUMO_DEBUG=1: the wire log on stderr holds method, URL,
-- headers, status, timing, retries and bodies, but no secret: not the
-- signature, the session token, a secret's value, the credentials of an
-- STS answer, nor the deployer's secret key. And server text never reaches
-- the terminal with its control characters: a hostile local server answers
-- with escape sequences in its error message.
local json = require "kumo.json"
local sandbox = dofile((os.getenv("KUMO_ROOT") or ".") .. "/tests/lib/sandbox.lua")

local root = os.getenv("KUMO_ROOT") or "."
local KUMO = root .. "/bin/kumo"

local q = sandbox.shell_quote
local function slurp(path) return sandbox.read_file(path) or "" end

local function exec(env, cmd)
  local out, err = os.tmpname(), os.tmpname()
  local _, _, code = os.execute(string.format("%s %s >%s 2>%s </dev/null", env, cmd, out, err))
  local o, e = slurp(out), slurp(err)
  os.remove(out); os.remove(err)
  return code, o, e
end

local CLEAN = "env -u AWS_PROFILE -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN"
  .. " -u KUMO_DEBUG KUMO_CREDENTIAL_CACHE=off"

-- no byte a terminal acts on, but tab and newline
local function assert_inert(s, what)
  local bad = s:find("[%z\1-\8\11-\31\127]") or s:find("\194[\128-\159]")
  assert.is_nil(bad, what .. " holds a control character at " .. tostring(bad) .. ": " .. s)
end

describe("kumo --debug", function()
  local sb, env
  setup(function()
    sb = sandbox.start{}
    local parts = { CLEAN }
    for k, v in pairs(sb.env) do parts[#parts + 1] = k .. "=" .. q(v) end
    env = table.concat(parts, " ")
  end)
  teardown(function() if sb then sb.stop() end end)

  local function base_secret()
    return slurp(sb.dir .. "/credentials"):match("aws_secret_access_key%s*=%s*(%S+)")
  end

  it("logs a secret's call (role assumed on the way) with no secret in it", function()
    local code, out, err = exec(env, KUMO .. " call --debug --profile rds secretsmanager get-secret-value"
      .. " secret-id=kumo/orders-pg")
    assert.are.equal(0, code, err)
    local secret = json.decode(out).SecretString
    local password = json.decode(secret).password
    assert.is_true(#password >= 8)
    -- what the log must hold
    for _, want in ipairs{ ">>> POST http", "(secretsmanager GetSecretValue, attempt 1)",
                           "(sts AssumeRole, attempt 1)", "<<< 200 in ", "Authorization: <redacted>",
                           "X-Amz-Security-Token: <redacted>", '"SecretString": "<redacted>"',
                           "<SecretAccessKey><redacted></SecretAccessKey>",
                           "<SessionToken><redacted></SessionToken>" } do
      assert.truthy(err:find(want, 1, true), "missing " .. want .. " in\n" .. err)
    end
    -- what it must not
    assert.is_nil(err:find(password, 1, true), "the password leaked")
    assert.is_nil(err:find("Signature=%x"), "a signature leaked")
    assert.is_nil(err:find(base_secret(), 1, true), "the deployer's secret key leaked")
    assert_inert(err, "the wire log")
  end)

  it("logs an STS AssumeRole whose answer's credentials appear nowhere in it (KUMO_DEBUG=1)", function()
    local role = sb.world.roles.app
    local code, out, err = exec(env .. " KUMO_DEBUG=1", KUMO .. " call --profile base sts assume-role"
      .. " role-arn=" .. role.arn .. " role-session-name=debug-test external-id=" .. role.external_id)
    assert.are.equal(0, code, err)
    local creds = json.decode(out).Credentials
    assert.truthy(creds.SecretAccessKey and creds.SessionToken)
    assert.truthy(err:find("(sts AssumeRole, attempt 1)", 1, true), err)
    assert.is_nil(err:find(creds.SecretAccessKey, 1, true), "SecretAccessKey leaked")
    assert.is_nil(err:find(creds.SessionToken, 1, true), "SessionToken leaked")
    assert.is_nil(err:find(base_secret(), 1, true), "the deployer's secret key leaked")
  end)

  it("logs retries with their timing (an injected throttle)", function()
    sb.faults{ { op = "GetCallerIdentity", kind = "throttle", times = 1 } }
    local code, _, err = exec(env, KUMO .. " --debug call --profile base sts get-caller-identity")
    sb.faults{}
    assert.are.equal(0, code, err)
    assert.truthy(err:find("attempt 2)", 1, true), err)
    assert.truthy(err:find("kumo debug: retry: sts GetCallerIdentity attempt 1 got Throttling", 1, true), err)
  end)

  it("cuts bodies at 2 KB", function()
    local code, _, err = exec(env, KUMO .. " call --debug --profile rds rds describe-db-instances")
    assert.are.equal(0, code, err)
    local body = err:match("<<< body: ([^\n]*%.%.%. %[%d+ bytes, cut at 2048%])")
    assert.truthy(body, err)
  end)
end)

describe("server text on the terminal", function()
  local port, server_pid, dir
  -- a local HTTP server answering every request with a hostile error message
  setup(function()
    dir = os.tmpname()
    os.remove(dir)
    os.execute("mkdir -p " .. q(dir))
    local py = [[
import http.server, json, sys
MSG = "bad \x1b]0;pwned\x07 title \x1b[2J cleared \x1b[31mred\r\nfake: line \x9b1m \u009b2m"
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"__type": "ValidationException", "message": MSG}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("x-amzn-RequestId", "req-\x1b[5m-id")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        sys.stderr.write("logged %s\n" % self.path)
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
]]
    local f = io.open(dir .. "/server.py", "w"); f:write(py); f:close()
    os.execute(string.format("cd %s && (python3 server.py > port 2> log & echo $! > pid)", q(dir)))
    for _ = 1, 200 do
      port = tonumber(slurp(dir .. "/port"):match("%d+"))
      if port then break end
      os.execute("sleep 0.05")
    end
    server_pid = tonumber(slurp(dir .. "/pid"):match("%d+"))
    assert.truthy(port, "the hostile server did not start: " .. slurp(dir .. "/log"))
  end)
  teardown(function()
    if server_pid then os.execute("kill " .. server_pid .. " 2>/dev/null") end
    if dir then os.execute("rm -rf " .. q(dir)) end
  end)

  local function env()
    return CLEAN .. " AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=example-secret"
      .. " AWS_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null"
  end

  it("kumo call prints the error as one inert line with the request id", function()
    local code, out, err = exec(env(), KUMO .. " call secretsmanager list-secrets --endpoint-url http://127.0.0.1:"
      .. port)
    assert.are.equal(1, code, err)
    assert.are.equal("", out)
    assert_inert(err, "the error")
    assert.truthy(err:find("ValidationException: bad \\x1b]0;pwned\\x07 title \\x1b[2J", 1, true), err)
    assert.are.equal(1, select(2, err:gsub("\n", "")), "one line: " .. err)
    assert.truthy(slurp(dir .. "/log"):find("logged", 1, true))
  end)

  it("the --debug wire log of the same answer is inert too", function()
    local code, _, err = exec(env(), KUMO .. " --debug call secretsmanager list-secrets --endpoint-url http://127.0.0.1:"
      .. port)
    assert.are.equal(1, code, err)
    assert.truthy(err:find("<<< 400 in", 1, true), err)
    assert_inert(err, "the wire log")
  end)

  it("an uncaught error of a script is inert and one line", function()
    local script = "local s = require('kumo.aws').session{ endpoint_url = 'http://127.0.0.1:" .. port .. "' }\n"
      .. "s:client('secretsmanager'):ListSecrets{}\n"
    local f = os.tmpname()
    local h = io.open(f, "w"); h:write(script); h:close()
    local code, _, err = exec(env(), KUMO .. " run " .. f)
    os.remove(f)
    assert.are.equal(1, code, err)
    assert_inert(err, "the script's error")
    assert.truthy(err:find("^kumo: secretsmanager ListSecrets: ValidationException: bad \\x1b"), err)
    assert.is_nil(err:find("stack traceback", 1, true), err)
  end)
end)
