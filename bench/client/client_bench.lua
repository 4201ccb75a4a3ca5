--- kumo's per-call client overhead with the network stubbed out: the
-- session's `transport` returns a canned response, so a call does all the
-- rest (validation, serialization, endpoint, SigV4 signing, parsing, retry
-- bookkeeping). Prints `calls_per_second name` per case, per second of CPU
-- time (os.clock), so other load on the machine does not skew the ratio.
-- Usage: kumo run bench/client/client_bench.lua CASES.json SECONDS
local json = require "kumo.json"
local aws = require "kumo.aws"

local cases_file, seconds = arg[1], tonumber(arg[2] or "1")
local f = assert(io.open(cases_file, "rb"))
local cases = assert(json.decode(f:read("a")))
f:close()

for _, case in ipairs(cases) do
  local res = { status = 200, headers = case.headers, body = case.body }
  local s = aws.session{
    region = "us-east-1", env = {}, config_file = "/nonexistent", credentials_file = "/nonexistent",
    credentials = { access_key_id = "AKIAIOSFODNN7EXAMPLE",
      secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" },
    transport = function() return res end,
  }
  local c = s:client(case.service)
  local op, params = case.op, case.params
  c:call(op, params) -- warm-up: model load and per-operation caches
  local n, start = 0, os.clock()
  local deadline = start + seconds
  local now
  repeat
    for _ = 1, 50 do c:call(op, params) end
    n = n + 50
    now = os.clock()
  until now >= deadline
  if arg[3] ~= "breakdown" then print(string.format("%.0f %s", n / (now - start), case.name)) end
end

-- With a third argument "breakdown": where a call's time goes, per case
-- (validation, serialization, signing, parsing: the protocol and native
-- modules; "client" is the rest: endpoint, headers, retry bookkeeping, hooks).
if arg[3] == "breakdown" then
  local model = require "kumo.model"
  local validate = require "kumo.validate"
  local sigv4 = require "kumo.sigv4"
  local function per_call(fn)
    fn()
    local n, start = 0, os.clock()
    repeat
      for _ = 1, 50 do fn() end
      n = n + 50
    until os.clock() - start >= seconds / 4
    return (os.clock() - start) / n * 1e6
  end
  print(string.format("%-40s %9s %9s %9s %9s %9s %9s", "us per call", "total", "validate",
    "serialize", "sign", "parse", "client"))
  for _, case in ipairs(cases) do
    local res = { status = 200, headers = case.headers, body = case.body }
    local s = aws.session{
      region = "us-east-1", env = {}, config_file = "/nonexistent", credentials_file = "/nonexistent",
      credentials = { access_key_id = "AKIAIOSFODNN7EXAMPLE",
        secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" },
      transport = function() return res end,
    }
    local c = s:client(case.service)
    local svc = model.service(case.service)
    local op = svc.operations[case.op]
    local proto = c._protocol
    local req = proto.serialize(svc, op, case.params, {})
    local ep = c:endpoint()
    local total = per_call(function() c:call(case.op, case.params) end)
    local v = per_call(function() validate.check(svc, op, case.params, {}) end)
    local z = per_call(function() proto.serialize(svc, op, case.params, {}) end)
    local g = per_call(function()
      sigv4.sign{ method = req.method, url = ep.url .. "/", body = req.body,
        headers = { { "Host", ep.host }, { "User-Agent", "kumo" }, table.unpack(req.headers) },
        region = ep.signing_region, service = ep.signing_name, access_key_id = "AKIAIOSFODNN7EXAMPLE",
        secret_access_key = "x", sign_body_hash_header = true }
    end)
    local p = per_call(function() proto.parse(svc, op, res) end)
    print(string.format("%-40s %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f", case.name, total, v, z, g, p,
      math.max(0, total - v - z - g - p)))
  end
end
