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
  local deadline, now = start + seconds, start
  repeat
    for _ = 1, 50 do c:call(op, params) end
    n = n + 50
    now = os.clock()
  until now >= deadline
  print(string.format("%.0f %s", n / (now - start), case.name))
end
