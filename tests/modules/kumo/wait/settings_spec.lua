-- kumo.wait.settings: a wait's options checked and its timing settled.
local settings = require "kumo.wait.settings"
local errors = require "kumo.errors"

local DEF = { delay = 15, maxAttempts = 40 }

local function raised(fn)
  local ok, e = pcall(fn)
  assert.is_false(ok)
  assert.is_true(errors.is(e), tostring(e))
  assert.are.equal("InvalidWaiterOption", e.code)
  return e.message
end

describe("kumo.wait.settings", function()
  it("botocore mode: the definition's delay and attempts", function()
    local st = settings.new(DEF, {})
    assert.are.equal(15, st.delay)
    assert.are.equal(40, st.max_attempts)
    assert.is_nil(st.budget)
    assert.is_function(st.now)
    assert.is_function(st.sleep)
  end)

  it("Smithy mode: a budget, no attempt count, min/max delays", function()
    local st = settings.new(DEF, { timeout = 600 })
    assert.are.equal(600, st.budget)
    assert.is_nil(st.max_attempts)
    assert.are.equal(15, st.min_delay)
    assert.are.equal(120, st.max_delay)
    st = settings.new({ delay = 0, maxAttempts = 3 }, { timeout = 10, max_attempts = 5 })
    assert.are.equal(1, st.min_delay)                 -- a zero delay would spin
    assert.are.equal(5, st.max_attempts)
  end)

  it("a fixed delay (option, else the process default) wins in both modes", function()
    assert.are.equal(2, settings.new(DEF, { delay = 2 }).delay)
    assert.are.equal(0.5, settings.new(DEF, {}, 0.5).delay)
    local st = settings.new(DEF, { timeout = 60 }, 0.5)
    assert.are.equal(0.5, st.fixed)
    assert.are.equal(0.5, st.min_delay)
  end)

  it("names unknown options, wrong types and impossible values", function()
    assert.truthy(raised(function() settings.new(DEF, { timout = 5 }) end):find('unknown waiter option "timout"', 1, true))
    assert.truthy(raised(function() settings.new(DEF, { delay = "5" }) end):find("'delay' must be a number", 1, true))
    assert.truthy(raised(function() settings.new(DEF, { timeout = 0 }) end):find("seconds > 0", 1, true))
    assert.truthy(raised(function() settings.new(DEF, { min_delay = 10, max_delay = 5 }) end)
      :find("'min_delay' must not exceed 'max_delay'", 1, true))
  end)
end)
