--- Compare kumo.retry's decisions with botocore's (tests/retry/botocore_cases.py).
-- Usage: kumo run tests/retry/compare.lua MODE NEW2026 < cases.jsonl
--   MODE = standard | legacy, NEW2026 = true | false
-- Prints each mismatch (up to 20) and `N passed, N failed`.
local json = require "kumo.json"
local retry = require "kumo.retry"
local errors = require "kumo.errors"

local mode, new_2026 = arg[1], arg[2] == "true"
-- botocore's transport exceptions and the curl codes kumo.http reports for them
local CURL = { connect = "CURLE_COULDNT_CONNECT", connect_timeout = "CURLE_OPERATION_TIMEDOUT",
  read_timeout = "CURLE_OPERATION_TIMEDOUT", closed = "CURLE_RECV_ERROR" }
local function half() return 0.5 end

local passed, failed = 0, 0
for line in io.lines() do
  local c = json.decode(line)
  local function opt(v) if v == json.null then return nil end return v end
  local status, code, exc = opt(c.status), opt(c.code), opt(c.exc)
  local err
  if exc then
    err = errors.new{ kind = "transport", code = CURL[exc], message = exc }
  else
    -- the client names an error without a parsable code by its status
    err = errors.new{ kind = "service", code = code or tostring(status), http_status = status }
  end
  local res = status and { status = status, headers = { ["x-amz-retry-after"] = opt(c.retry_after) } }
  local policy = retry.policy{ mode = mode, new_2026 = new_2026, service = c.service,
    max_attempts = opt(c.max_attempts), random = half }
  local state = {}
  local delay = policy:decide(state, c.attempt, err, res, nil, c.operation)
  local b = c.botocore
  local ok = (delay ~= nil) == b.retry
  if ok and b.retry then
    ok = math.abs(delay - b.delay) < 1e-9 and (mode == "legacy" or state.quota_cost == b.cost)
  end
  if ok then
    passed = passed + 1
  else
    failed = failed + 1
    if failed <= 20 then
      print(string.format("MISMATCH %s attempt=%d max=%s status=%s code=%s exc=%s retry_after=%s: "
        .. "botocore retry=%s delay=%s cost=%s, kumo delay=%s cost=%s", c.service, c.attempt,
        tostring(opt(c.max_attempts)), tostring(status), tostring(code), tostring(exc),
        tostring(opt(c.retry_after)), tostring(b.retry), tostring(opt(b.delay)),
        tostring(opt(b.cost)), tostring(delay), tostring(state.quota_cost)))
    end
  end
end
print(string.format("%s%s: %d passed, %d failed", mode, new_2026 and "+2026" or "", passed, failed))
