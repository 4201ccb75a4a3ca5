-- kumo.retry: botocore's standard, 2026 and legacy retry rules.
local retry = require "kumo.retry"
local errors = require "kumo.errors"

local function svc_err(code, status)
  return errors.new{ kind = "service", code = code, http_status = status }
end
local function one() return 1 end     -- rand() = 1: the delay is its upper bound

describe("kumo.retry config", function()
  local function env(t) return function(n) return t[n] end end

  it("defaults to standard mode, 3 attempts", function()
    local c = retry.config{ getenv = env{} }
    assert.are.equal("standard", c.mode)
    local p = retry.policy(c)
    assert.are.equal(3, p.max_attempts)
    assert.are.equal(500, p.quota.capacity)
  end)

  it("takes explicit options over AWS_RETRY_MODE/AWS_MAX_ATTEMPTS over the profile", function()
    local e = env{ AWS_RETRY_MODE = "legacy", AWS_MAX_ATTEMPTS = "7" }
    local prof = { retry_mode = "standard", max_attempts = "2" }
    local c = retry.config{ getenv = e, profile = prof }
    assert.are.same({ "legacy", 7 }, { c.mode, c.max_attempts })
    c = retry.config{ getenv = env{}, profile = prof }
    assert.are.same({ "standard", 2 }, { c.mode, c.max_attempts })
    c = retry.config{ explicit = { retry_mode = "standard", max_attempts = 4 }, getenv = e, profile = prof }
    assert.are.same({ "standard", 4 }, { c.mode, c.max_attempts })
  end)

  it("rejects bad values naming where they came from", function()
    local ok, msg = pcall(retry.config, { getenv = env{ AWS_RETRY_MODE = "fast" } })
    assert.is_false(ok)
    assert.truthy(msg:find("AWS_RETRY_MODE", 1, true))
    ok, msg = pcall(retry.config, { getenv = env{}, profile = { max_attempts = "0" } })
    assert.is_false(ok)
    assert.truthy(msg:find("profile key max_attempts", 1, true))
  end)

  it("reads AWS_NEW_RETRIES_2026", function()
    assert.is_true(retry.config{ getenv = env{ AWS_NEW_RETRIES_2026 = "true" } }.new_2026)
    assert.is_false(retry.config{ getenv = env{ AWS_NEW_RETRIES_2026 = "false" } }.new_2026)
  end)
end)

describe("kumo.retry standard mode", function()
  it("retries transient codes, 5xx statuses, throttling codes and transport errors", function()
    local p = retry.policy{ mode = "standard", random = one }
    for _, e in ipairs{ svc_err("RequestTimeout", 400), svc_err("InternalError", 500),
        svc_err("X", 502), svc_err("X", 503), svc_err("X", 504), svc_err("Throttling", 400),
        svc_err("RequestLimitExceeded", 503), svc_err("TooManyRequestsException", 400),
        svc_err("SlowDown", 503), errors.new{ kind = "transport", code = "CURLE_COULDNT_CONNECT" } } do
      p:classify(e)
      assert.is_true(e.retryable, tostring(e))
    end
  end)

  it("does not retry client errors, bare 429, expired tokens", function()
    local p = retry.policy{ mode = "standard", random = one }
    for _, e in ipairs{ svc_err("DBProxyNotFoundFault", 404), svc_err("X", 429),
        svc_err("ExpiredToken", 400), svc_err("AccessDenied", 403), svc_err("ValidationError", 400) } do
      assert.is_nil(p:decide({}, 1, e))
      assert.is_false(e.retryable, tostring(e))
    end
  end)

  it("retries modelled retryable errors and STS IDPCommunicationError", function()
    local p = retry.policy{ mode = "standard", service = "sts", random = one }
    local e = svc_err("IDPCommunicationError", 400)
    assert.is_not_nil(p:decide({}, 1, e))
    local m = svc_err("ConcurrentModification", 409)
    assert.is_not_nil(p:decide({}, 1, m, nil, { ConcurrentModification = { throttling = false } }))
    assert.is_false(m.throttling)
    local t = svc_err("SomeThrottle", 400)
    p:classify(t, { SomeThrottle = { throttling = true } })
    assert.is_true(t.throttling)
  end)

  it("backs off rand × min(2^(attempt-1), 20) and stops at max attempts", function()
    local p = retry.policy{ mode = "standard", random = one, max_attempts = 10 }
    local got = {}
    for a = 1, 7 do got[a] = p:decide({}, a, svc_err("Throttling", 400)) end
    assert.are.same({ 1, 2, 4, 8, 16, 20, 20 }, got)
    local half = retry.policy{ mode = "standard", random = function() return 0.5 end }
    assert.are.equal(1, half:decide({}, 2, svc_err("Throttling", 400)))
    local e = svc_err("Throttling", 400)
    assert.is_nil(half:decide({}, 3, e))
    assert.is_true(e.max_attempts_reached)
  end)

  it("spends the retry quota (5, or 10 for timeouts) and refunds on success", function()
    local q = retry.quota()
    local p = retry.policy{ mode = "standard", random = one, quota = q }
    local st = {}
    p:decide(st, 1, svc_err("InternalError", 500))
    assert.are.equal(495, q.available)
    p:decide(st, 2, errors.new{ kind = "transport", code = "CURLE_OPERATION_TIMEDOUT" })
    assert.are.equal(485, q.available)
    p:finish(st, 200)            -- refunds the last cost (10)
    assert.are.equal(495, q.available)
    p:finish({}, 200)            -- a call with no retry refunds 1
    assert.are.equal(496, q.available)
    p:finish({}, 400)            -- no refund for a failure
    assert.are.equal(496, q.available)
    for _ = 1, 4 do p:finish({}, 200) end
    assert.are.equal(500, q.available) -- never above capacity
  end)

  it("gives up when the quota is exhausted, and says so", function()
    local q = retry.quota(7)
    local p = retry.policy{ mode = "standard", random = one, quota = q }
    assert.are.equal(1, p:decide({}, 1, svc_err("Throttling", 400)))
    local e = svc_err("Throttling", 400)
    assert.is_nil(p:decide({}, 1, e))
    assert.is_true(e.retry_quota_exhausted)
    assert.truthy(tostring(e):find("client-side retry quota exhausted", 1, true))
  end)
end)

describe("kumo.retry 2026 behaviour", function()
  local function res(ms) return { headers = { ["x-amz-retry-after"] = ms } } end

  it("uses base 1 s for throttling and 50 ms otherwise", function()
    local p = retry.policy{ mode = "standard", new_2026 = true, random = one, max_attempts = 9 }
    assert.are.equal(1, p:decide({}, 1, svc_err("Throttling", 400)))
    assert.are.equal(4, p:decide({}, 3, svc_err("Throttling", 400)))
    assert.are.equal(0.05, p:decide({}, 1, svc_err("InternalError", 500)))
    assert.are.equal(0.2, p:decide({}, 3, svc_err("InternalError", 500)))
    assert.are.equal(20, p:decide({}, 8, svc_err("Throttling", 400)))
    local d = retry.policy{ mode = "standard", new_2026 = true, random = one, service = "dynamodb" }
    assert.are.equal(4, d.max_attempts)
    assert.are.equal(0.025, d:decide({}, 1, svc_err("InternalError", 500)))
  end)

  it("honours x-amz-retry-after within [t, t + 5 s] and ignores bad values", function()
    local p = retry.policy{ mode = "standard", new_2026 = true, random = one }
    local e = function() return svc_err("InternalError", 500) end
    assert.are.equal(1.5, p:decide({}, 1, e(), res("1500")))
    assert.are.equal(5.05, p:decide({}, 1, e(), res("60000")))
    assert.are.equal(0.05, p:decide({}, 1, e(), res("10")))
    assert.are.equal(0.05, p:decide({}, 1, e(), res("-5")))
    assert.are.equal(0.05, p:decide({}, 1, e(), res("abc")))
  end)

  it("charges 5 for throttling and 14 for other retries", function()
    local q = retry.quota()
    local p = retry.policy{ mode = "standard", new_2026 = true, random = one, quota = q }
    p:decide({}, 1, svc_err("Throttling", 400))
    assert.are.equal(495, q.available)
    p:decide({}, 1, svc_err("InternalError", 500))
    assert.are.equal(481, q.available)
  end)

  it("still sleeps for long-polling operations when the quota is empty", function()
    local p = retry.policy{ mode = "standard", new_2026 = true, random = one, service = "sqs",
      quota = retry.quota(0) }
    local d, anyway = p:decide({}, 1, svc_err("InternalError", 500), nil, nil, "ReceiveMessage")
    assert.is_nil(d)
    assert.are.equal(0.05, anyway)
  end)
end)

describe("kumo.retry legacy mode", function()
  it("has 5 attempts, an uncapped backoff and _retry.json's table", function()
    local p = retry.policy{ mode = "legacy", service = "ec2", random = one }
    assert.are.equal(5, p.max_attempts)
    assert.is_nil(p.quota)
    assert.are.equal(1, p:decide({}, 1, svc_err("X", 429)))     -- 429 retried in legacy
    assert.are.equal(8, p:decide({}, 4, svc_err("X", 509)))
    assert.is_nil(p:decide({}, 5, svc_err("X", 500)))
    assert.is_not_nil(p:decide({}, 1, svc_err("RequestLimitExceeded", 503)))
    assert.is_nil(p:decide({}, 1, svc_err("RequestLimitExceeded", 400)))   -- code + status must match
    assert.is_nil(p:decide({}, 1, svc_err("TooManyRequestsException", 400))) -- organizations only
    local o = retry.policy{ mode = "legacy", service = "organizations", random = one }
    assert.is_not_nil(o:decide({}, 1, svc_err("TooManyRequestsException", 400)))
    local big = retry.policy{ mode = "legacy", random = one, max_attempts = 30 }
    assert.are.equal(2 ^ 24, big:decide({}, 25, svc_err("Throttling", 400)))
  end)
end)

describe("kumo.retry long mode (kumo's own, for long runs)", function()
  local function env(t) return function(n) return t[n] end end

  it("is set by the retry_mode option only, with a 120 s budget and no attempt count", function()
    local c = retry.config{ explicit = { retry_mode = "long" },
      getenv = env{ AWS_MAX_ATTEMPTS = "3" }, profile = { max_attempts = "2" } }
    assert.are.same({ "long", nil, 120 }, { c.mode, c.max_attempts, c.budget })
    local p = retry.policy(c)
    assert.are.equal(math.huge, p.max_attempts)
    assert.is_nil(p.quota)
    assert.is_true(p.adaptive)
    c = retry.config{ explicit = { retry_mode = "long", max_attempts = 9, retry_budget = 600 }, getenv = env{} }
    assert.are.same({ 9, 600 }, { c.max_attempts, c.budget })
    local ok, msg = pcall(retry.config, { getenv = env{ AWS_RETRY_MODE = "long" } })
    assert.is_false(ok)
    assert.are.equal('retry mode "long" (from AWS_RETRY_MODE) is kumo\'s own: set it with the retry_mode '
      .. 'option (aws.session{ retry_mode = "long" }); the AWS CLI reads AWS_RETRY_MODE too and refuses it', msg)
    ok, msg = pcall(retry.config, { explicit = { retry_budget = -1 }, getenv = env{} })
    assert.is_false(ok)
    assert.are.equal('retry_budget "-1" (option) must be seconds > 0, e.g. retry_budget = 300', msg)
    assert.is_true(retry.policy(retry.config{ explicit = { retry_mode = "adaptive" }, getenv = env{} }).adaptive)
    assert.is_false(retry.policy(retry.config{ getenv = env{} }).adaptive)
  end)

  it("retries throttling and transient errors with capped backoff until the budget is spent", function()
    local p = retry.policy{ mode = "long", random = one }
    local state, elapsed, delays = {}, 0, {}
    local attempt = 0
    while true do
      attempt = attempt + 1
      state.elapsed = elapsed
      local e = svc_err("Throttling", 400)
      local d = p:decide(state, attempt, e)
      if not d then
        assert.are.same({ true, true, true }, { e.retries_exhausted, e.throttled, e.retry_budget_exhausted })
        assert.is_nil(e.unavailable)
        break
      end
      delays[#delays + 1] = d
      elapsed = elapsed + d
    end
    -- throttling: base 1 s, doubling, capped at 20 s; the next 20 s would pass 120 s
    assert.are.same({ 1, 2, 4, 8, 16, 20, 20, 20, 20 }, delays)
    assert.are.equal(10, attempt)
    -- transient errors start at 50 ms; a bare 429 counts as throttling; 4xx is a real answer
    assert.are.equal(0.05, p:decide({ elapsed = 0 }, 1, svc_err("InternalFailure", 500)))
    assert.are.equal(0.1, p:decide({ elapsed = 0 }, 2, errors.new{ kind = "transport", code = "CURLE_RECV_ERROR" }))
    local e429 = svc_err("Weird", 429)
    assert.are.equal(1, p:decide({ elapsed = 0 }, 1, e429))
    assert.is_true(e429.throttling)
    local bad = svc_err("ValidationError", 400)
    assert.is_nil(p:decide({ elapsed = 0 }, 1, bad))
    assert.is_nil(bad.retries_exhausted)
    -- an explicit max_attempts still caps it
    local capped = retry.policy{ mode = "long", random = one, max_attempts = 2 }
    local e = svc_err("InternalFailure", 500)
    assert.is_nil(capped:decide({ elapsed = 0 }, 2, e))
    assert.are.same({ true, true }, { e.retries_exhausted, e.unavailable })
  end)

  it("gives a budget to standard mode too, and marks every give-up as exhausted", function()
    local p = retry.policy{ mode = "standard", random = one, budget = 2.5, max_attempts = 10 }
    assert.are.equal(1, p:decide({ elapsed = 0 }, 1, svc_err("Throttling", 400)))
    local e = svc_err("Throttling", 400)
    assert.is_nil(p:decide({ elapsed = 1 }, 2, e))  -- 1 + 2 > 2.5
    assert.is_true(e.retry_budget_exhausted)
    local q = retry.policy{ mode = "standard", random = one }
    e = svc_err("ServiceUnavailable", 503)
    assert.is_nil(q:decide({}, 3, e))
    assert.are.same({ true, true, true }, { e.retries_exhausted, e.unavailable, e.max_attempts_reached })
  end)
end)
