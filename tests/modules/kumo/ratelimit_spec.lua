-- kumo.ratelimit: in-flight slots per host and in total, token buckets per
-- account/service/region with a ceiling, and botocore's adaptive limiter per key
-- (its differential test against botocore: ratelimit_botocore_spec.lua).
local ratelimit = require "kumo.ratelimit"

local function clock()
  local c = { t = 100 }
  c.now = function() return c.t end
  return c
end

describe("kumo.ratelimit", function()
  it("caps requests in flight per host and in total", function()
    local l = ratelimit.new{ max_total = 3, max_host = 2, now = clock().now }
    assert.is_true(l:try_acquire("a"))
    assert.is_true(l:try_acquire("a"))
    assert.is_false(l:try_acquire("a")) -- host a full
    assert.is_true(l:try_acquire("b"))
    assert.is_false(l:try_acquire("c")) -- total full
    l:release("a")
    assert.is_false(l:try_acquire("a") and l:try_acquire("a"))
    assert.equal(3, l:stats().in_flight)
    assert.equal(3, l:stats().peak)
    assert.has_error(function() l:release("zzz") end)
  end)

  it("lets a burst through, then spaces requests at the rate, in arrival order", function()
    local c = clock()
    local l = ratelimit.new{ rate = 4, burst = 2, now = c.now }
    assert.equal(0, l:reserve("111/rds"))
    assert.equal(0, l:reserve("111/rds"))
    assert.near(0.25, l:reserve("111/rds"), 1e-9)
    assert.near(0.50, l:reserve("111/rds"), 1e-9)
    -- another account has its own bucket
    assert.equal(0, l:reserve("222/rds"))
    -- after a pause the bucket refills, but never above the burst
    c.t = c.t + 100
    assert.equal(0, l:reserve("111/rds"))
    assert.equal(0, l:reserve("111/rds"))
    assert.near(0.25, l:reserve("111/rds"), 1e-9)
  end)

  it("takes per-key rates, exact or by pattern", function()
    local l = ratelimit.new{ rate = 10, burst = 10, now = clock().now,
      rates = { ["111/rds"] = { rate = 1, burst = 1 }, ["^.*/sts$"] = { rate = 100, burst = 50 } } }
    assert.same({ 1, 1 }, { l:limits_for("111/rds") })
    assert.same({ 100, 50 }, { l:limits_for("222/sts") })
    assert.same({ 10, 10 }, { l:limits_for("222/rds") })
    assert.equal(0, l:reserve("111/rds"))
    assert.near(1, l:reserve("111/rds"), 1e-9)
  end)

  it("starts at the ceiling (AWS's own EC2 bucket: 100/s, burst 100), not below it", function()
    local c = clock()
    local l = ratelimit.new{ now = c.now }
    for _ = 1, 100 do assert.equal(0, l:reserve("111/ec2/us-east-1")) end
    assert.near(0.01, l:reserve("111/ec2/us-east-1"), 1e-9)
    local b = l:bucket("111/ec2/us-east-1")
    assert.equal(100, b.rate)
    assert.is_false(b.adaptive)
  end)

  it("learns a key's rate from throttling answers (CUBIC) and climbs back without them", function()
    local c = clock()
    local l = ratelimit.new{ rate = 1000, burst = 1000, now = c.now }
    local key = "111/ec2/us-east-1"
    -- 20 answers a second for 3 s: the measured rate settles near 20/s
    for _ = 1, 60 do
      assert.equal(0, l:reserve(key))
      l:on_response(key, false)
      c.t = c.t + 0.05
    end
    local before = l:bucket(key)
    assert.is_false(before.adaptive)
    assert.equal(1000, before.rate)
    assert.truthy(before.measured_rate > 15 and before.measured_rate < 21, before.measured_rate)
    -- a throttle: the key now sends at 0.7 x the measured rate
    l:on_response(key, true)
    local after = l:bucket(key)
    assert.is_true(after.adaptive)
    assert.near(0.7 * before.measured_rate, after.rate, 1e-9)
    assert.equal(1, after.throttles)
    -- once the tokens it kept are used, reservations are spaced by the learnt rate
    local w1 = 0
    for _ = 1, 100 do w1 = l:reserve(key); if w1 > 0 then break end end
    assert.truthy(w1 > 0)
    local w2 = l:reserve(key)
    assert.near(1 / after.rate, w2 - w1, 1e-9)
    -- without throttles, CUBIC raises the allowed rate again (capped at 2 x measured)
    for _ = 1, 100 do
      l:reserve(key)
      l:on_response(key, false)
      c.t = c.t + 0.05
    end
    assert.truthy(l:bucket(key).rate > after.rate, "recovered to " .. l:bucket(key).rate)
    -- other keys untouched
    assert.equal(0, l:reserve("111/rds/us-east-1"))
    assert.is_false(l:bucket("111/rds/us-east-1").adaptive)
    assert.equal(1, l:stats().throttles)
  end)

  it("long mode's throttles of requests sent before the last cut do not cut again", function()
    local c = clock()
    local function run(with_sent_at)
      local l = ratelimit.new{ now = c.now }
      local key = "111/ec2/us-east-1"
      for _ = 1, 40 do l:reserve(key); l:on_response(key, false); c.t = c.t + 0.05 end
      local sent = c.t
      c.t = c.t + 0.05
      -- ten requests sent at once all come back throttled
      for _ = 1, 10 do l:on_response(key, true, nil, with_sent_at and sent or nil) end
      return l:bucket(key)
    end
    local botocore, long = run(false), run(true)
    assert.equal(10, long.throttles)
    assert.near(0.7 * long.measured_rate, long.rate, 1e-6)  -- cut once
    assert.truthy(botocore.rate < 0.1 * long.rate, botocore.rate) -- about 0.7^10 of it
  end)

  it("never lets the adaptive bucket fill slower than min_rate", function()
    local c = clock()
    local l = ratelimit.new{ min_rate = 0.4, now = c.now }
    for _ = 1, 10 do l:on_throttle("k"); c.t = c.t + 1 end
    assert.equal(0.4, l:bucket("k").rate)
    local w1 = l:reserve("k")
    assert.near(2.5, l:reserve("k") - w1, 1e-9)
  end)

  it("applies a new ceiling to keys already in use, up or down", function()
    local c = clock()
    local l = ratelimit.new{ rate = 2, burst = 1, now = c.now }
    assert.equal(0, l:reserve("k"))
    assert.near(0.5, l:reserve("k"), 1e-9)
    l:configure{ rate = 100, burst = 50 }
    assert.equal(100, l:bucket("k").rate)
    c.t = c.t + 1
    assert.equal(0, l:reserve("k"))
    l:configure{ rate = 4 }
    assert.equal(4, l:bucket("k").rate)
  end)

  it("has a process-wide limiter that configure() and on_throttle() change", function()
    local c = clock()
    ratelimit.set_default(ratelimit.new{ now = c.now })
    local d = ratelimit.configure{ max_host = 5, rate = 2 }
    assert.equal(d, ratelimit.default())
    assert.equal(5, d:stats().max_host)
    assert.is_true(ratelimit.on_throttle("333/sts"))
    assert.is_true(d:bucket("333/sts").adaptive)
    assert.equal(0.5, d:bucket("333/sts").rate) -- nothing measured yet: the minimum
    ratelimit.set_default(nil)
  end)

  it("refuses bad limits, naming the field", function()
    assert.has_error(function() ratelimit.new{ max_host = 0 } end,
      "ratelimit: max_host must be a number >= 1 (got 0)")
    assert.has_error(function() ratelimit.new{ rate = "fast" } end)
    assert.has_error(function() ratelimit.configure(5) end)
    assert.has_error(function() ratelimit.new{ recover = 30 } end,
      'ratelimit: unknown limit "recover" (known: burst, max_host, max_total, min_rate, now, rate, rates)')
    assert.has_error(function() ratelimit.new{ rates = { k = { rate = 0 } } } end,
      'ratelimit: rates["k"] must be { rate = n >= 0.001, burst = n >= 1 }')
  end)
end)
