-- kumo.call.decide: after an attempt, retry or give up; the one place the
-- outcome is judged as throttling (through kumo.retry) and fed to the limiter.
local prepare = require "kumo.call.prepare"
local decide = require "kumo.call.decide"
local errors = require "kumo.errors"
local H = require "tests.modules.kumo.call.helpers"

local function prepared(extra, opts)
  local rds = H.session(nil, extra):client("rds")
  return prepare.call(rds, rds:operation("DescribeDBProxies"), {}, opts), rds
end

local function service_error(code, status)
  return errors.new{ kind = "service", code = code, http_status = status or 400,
    service = "rds", operation = "DescribeDBProxies" }
end

describe("kumo.call.decide", function()
  it("retries throttling with a delay and marks it as throttling", function()
    local p = prepared()
    local err = service_error("Throttling")
    local delay = decide.failed(p, {}, 1, err, nil, nil, "k/rds/r")
    assert.is_number(delay)
    assert.is_true(err.retryable)
    assert.is_true(err.throttling)
  end)

  it("gives up on a client error at once", function()
    local p = prepared()
    local err = service_error("DBProxyNotFoundFault", 404)
    assert.is_nil(decide.failed(p, {}, 1, err, nil, nil, "k/rds/r"))
    assert.is_false(err.retryable)
    assert.is_nil(err.retries_exhausted)
  end)

  it("gives up after max attempts, saying AWS throttled", function()
    local p = prepared(nil, { max_attempts = 2 })
    local err = service_error("Throttling")
    assert.is_nil(decide.failed(p, {}, 2, err, nil, nil, "k/rds/r"))
    assert.is_true(err.retries_exhausted)
    assert.is_true(err.throttled)
  end)

  it("refreshes expired credentials once and resends at once", function()
    local p = prepared()
    local invalidated = 0
    local provider = { get = function() return H.CREDS end, invalidate = function() invalidated = invalidated + 1 end }
    local state = {}
    assert.are.equal(0, decide.failed(p, state, 1, service_error("ExpiredToken", 403), nil, provider, "k"))
    assert.are.equal(1, invalidated)
    assert.is_nil(decide.failed(p, state, 2, service_error("ExpiredToken", 403), nil, provider, "k"))
    assert.are.equal(1, invalidated)
    -- unsigned calls have no provider: nothing to refresh
    assert.is_nil(decide.failed(p, {}, 1, service_error("ExpiredToken", 403), nil, nil, "k"))
  end)

  it("feeds the adaptive limiter with the classification, success included", function()
    local ratelimit = require "kumo.ratelimit"
    local seen = {}
    local orig = ratelimit.on_response
    ratelimit.on_response = function(key, throttled) seen[#seen + 1] = { key, throttled } end
    local ok, e = pcall(function()
      local p = prepared({ retry_mode = "adaptive" })
      decide.failed(p, {}, 1, service_error("ThrottlingException"), nil, nil, "a/rds/r")
      decide.failed(p, {}, 1, service_error("InternalFailure", 500), nil, nil, "a/rds/r")
      decide.succeeded(p, {}, 200, "a/rds/r")
      local p2 = prepared()        -- standard mode: no limiter
      decide.failed(p2, {}, 1, service_error("Throttling"), nil, nil, "a/rds/r")
    end)
    ratelimit.on_response = orig
    assert(ok, e)
    assert.are.same({ { "a/rds/r", true }, { "a/rds/r", false }, { "a/rds/r", false } }, seen)
  end)

  it("refunds the retry quota on success after a retry", function()
    local p = prepared()
    local quota = p.policy.quota
    local before = quota.available
    local state = {}
    assert.is_number(decide.failed(p, state, 1, service_error("InternalFailure", 500), nil, nil, "k"))
    assert.is_true(quota.available < before)
    decide.succeeded(p, state, 200, "k")
    assert.are.equal(before, quota.available)
  end)
end)
