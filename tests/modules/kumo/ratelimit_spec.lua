-- kumo.ratelimit: in-flight slots per host and in total, token buckets per
-- account/service, slowing down on throttling and recovering.
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

  it("halves a key's rate on throttling (once per cooldown), then recovers linearly", function()
    local c = clock()
    local l = ratelimit.new{ rate = 8, burst = 8, cooldown = 1, recover = 10, now = c.now }
    assert.is_true(l:on_throttle("111/ec2"))
    assert.equal(4, l:bucket("111/ec2").rate)
    assert.is_false(l:on_throttle("111/ec2")) -- the same burst of throttles
    assert.equal(4, l:bucket("111/ec2").rate)
    -- the burst was drained: the next request waits a token at the lower rate
    assert.near(0.25, l:reserve("111/ec2"), 1e-9)
    c.t = c.t + 2
    assert.is_true(l:on_throttle("111/ec2"))
    -- 2 s into a 10 s recovery from 4 to 8 the rate was 4.8; halved: 2.4
    local low = l:bucket("111/ec2").rate
    assert.near(2.4, low, 1e-9)
    c.t = c.t + 5
    assert.near(low + (8 - low) * 0.5, l:bucket("111/ec2").rate, 1e-9)
    c.t = c.t + 5
    assert.equal(8, l:bucket("111/ec2").rate)
    -- other keys untouched
    assert.equal(0, l:reserve("111/rds"))
    assert.equal(8, l:bucket("111/rds").rate)
    assert.equal(3, l:stats().throttles)
  end)

  it("applies a new rate to buckets already in use, up or down", function()
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
    -- a throttled bucket keeps recovering, towards the new rate
    l:on_throttle("k")
    l:configure{ rate = 10 }
    assert.equal(2, l:bucket("k").rate)
  end)

  it("never slows below min_rate", function()
    local c = clock()
    local l = ratelimit.new{ rate = 1, min_rate = 0.4, cooldown = 0, now = c.now }
    for _ = 1, 10 do l:on_throttle("k") end
    assert.equal(0.4, l:bucket("k").rate)
  end)

  it("has a process-wide limiter that configure() and on_throttle() change", function()
    local c = clock()
    ratelimit.set_default(ratelimit.new{ now = c.now })
    local d = ratelimit.configure{ max_host = 5, rate = 2 }
    assert.equal(d, ratelimit.default())
    assert.equal(5, d:stats().max_host)
    assert.is_true(ratelimit.on_throttle("333/sts"))
    assert.equal(1, d:bucket("333/sts").rate)
    ratelimit.set_default(nil)
  end)

  it("refuses bad limits, naming the field", function()
    assert.has_error(function() ratelimit.new{ max_host = 0 } end,
      "ratelimit: max_host must be a number >= 1 (got 0)")
    assert.has_error(function() ratelimit.new{ rate = "fast" } end)
    assert.has_error(function() ratelimit.configure(5) end)
  end)
end)
