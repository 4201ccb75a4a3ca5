-- kumo.wait.decide: after a poll nothing ended, the sleep or the reason to stop.
local decide = require "kumo.wait.decide"
local settings = require "kumo.wait.settings"
local waiter = require "kumo.waiter"

local DEF = { delay = 15, maxAttempts = 3 }
local fmt = waiter.format_duration

describe("kumo.wait.decide", function()
  it("botocore mode: the fixed delay until the attempts run out", function()
    local st = settings.new(DEF, {})
    assert.are.equal(15, decide.next(st, 1, 0, nil, fmt))
    assert.are.equal(15, decide.next(st, 2, 30, nil, fmt))
    local sleep, why = decide.next(st, 3, 45, nil, fmt)
    assert.is_nil(sleep)
    assert.are.equal("max attempts (3) exceeded", why)
  end)

  it("Smithy mode: jittered growing delays, never sleeping past the deadline", function()
    local st = settings.new(DEF, { timeout = 100, min_delay = 2, max_delay = 120, random = function() return 1 end })
    assert.are.equal(2, decide.next(st, 1, 0, 100, fmt))
    assert.near(8, decide.next(st, 3, 0, 100, fmt), 1e-9)
    assert.are.equal(8, decide.next(st, 9, 90, 100, fmt))      -- cut to end min_delay before it
    local sleep, why = decide.next(st, 10, 98, 100, fmt)
    assert.is_nil(sleep)
    assert.are.equal("timeout (1m40s) exceeded", why)
  end)

  it("keeps waiter.smithy_delay as the public name of the delay", function()
    assert.are.equal(decide.smithy_delay, waiter.smithy_delay)
  end)
end)
