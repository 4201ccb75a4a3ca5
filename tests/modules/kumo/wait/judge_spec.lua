-- kumo.wait.judge: one poll's answer against the acceptors, persist
-- streaks, and transient polls.
local judge = require "kumo.wait.judge"
local waiter = require "kumo.waiter"
local errors = require "kumo.errors"
local jmespath = require "kumo.jmespath"

local function def(acceptors)
  return waiter.check({ operation = "DescribeThings", delay = 1, maxAttempts = 5, acceptors = acceptors }, "T")
end

local function out(status)
  return { Things = jmespath.array({ { Status = status } }), ResponseMetadata = { HTTPStatusCode = 200 } }
end

local function aws_error(code, status, extra)
  local e = { kind = "service", code = code, http_status = status }
  for k, v in pairs(extra or {}) do e[k] = v end
  return errors.new(e)
end

local BASIC = {
  { state = "success", matcher = "pathAll", argument = "Things[].Status", expected = "ready" },
  { state = "failure", matcher = "pathAny", argument = "Things[].Status", expected = "failed" },
  { state = "retry", matcher = "error", expected = "NotYet" },
}

describe("kumo.wait.judge", function()
  it("the first matching acceptor decides; no match is retry", function()
    local d = def(BASIC)
    assert.are.equal("success", judge.poll(d, {}, out("ready"), nil, {}, 0).state)
    local v = judge.poll(d, {}, out("failed"), nil, {}, 0)
    assert.are.equal("failure", v.state)
    assert.are.equal(2, v.index)
    v = judge.poll(d, {}, out("creating"), nil, {}, 0)
    assert.are.equal("retry", v.state)
    assert.is_nil(v.matched)
    v = judge.poll(d, {}, nil, aws_error("NotYet", 400), {}, 0)
    assert.are.equal("retry", v.state)
    assert.are.equal(3, v.index)
  end)

  it("a persisting acceptor matches only after its time and polls", function()
    local d = def{
      { state = "success", matcher = "pathAll", argument = "Things[].Status", expected = "ready" },
      { state = "failure", matcher = "pathAny", argument = "Things[].Status", expected = "UNAVAILABLE",
        persist = 60 },
    }
    local streaks = {}
    local v = judge.poll(d, streaks, out("UNAVAILABLE"), nil, {}, 0)
    assert.are.equal("retry", v.state)
    assert.are.same({ acceptor = 2, since = 0, polls = 1, persist = 60 }, v.pending)
    v = judge.poll(d, streaks, out("UNAVAILABLE"), nil, {}, 30)
    assert.are.equal("retry", v.state)
    v = judge.poll(d, streaks, out("UNAVAILABLE"), nil, {}, 61)
    assert.are.equal("failure", v.state)
    -- a different answer breaks the streak
    streaks = {}
    judge.poll(d, streaks, out("UNAVAILABLE"), nil, {}, 0)
    judge.poll(d, streaks, out("creating"), nil, {}, 30)
    assert.is_nil(streaks[2])
    -- the wait's own persist overrides the acceptor's
    streaks = {}
    judge.poll(d, streaks, out("UNAVAILABLE"), nil, {}, 0, 5)
    assert.are.equal("failure", judge.poll(d, streaks, out("UNAVAILABLE"), nil, {}, 6, 5).state)
  end)

  it("a throttled poll is transient: ends nothing, keeps the streak pending", function()
    local d = def{
      { state = "failure", matcher = "pathAny", argument = "Things[].Status", expected = "UNAVAILABLE",
        persist = 60 },
      { state = "failure", matcher = "error", expected = true },
    }
    local streaks = {}
    judge.poll(d, streaks, out("UNAVAILABLE"), nil, {}, 0)
    local throttled = aws_error("Throttling", 400, { throttling = true, retries_exhausted = true, throttled = true })
    local v = judge.poll(d, streaks, nil, throttled, {}, 100)
    assert.is_true(v.transient)
    assert.are.equal("retry", v.state)                -- `error = true` does not claim it
    assert.are.equal(1, v.pending.acceptor)
    assert.are.equal(1, streaks[1].polls)             -- neither counted nor broken
  end)

  it("an acceptor naming the error's code still decides", function()
    local d = def{ { state = "retry", matcher = "error", expected = "Throttling" } }
    local e = aws_error("Throttling", 400, { throttling = true, retries_exhausted = true, throttled = true })
    assert.is_false(judge.transient(d, e, nil, {}))
    assert.are.equal(1, judge.poll(d, {}, nil, e, {}, 0).index)
  end)

  it("matches status and inputOutput acceptors", function()
    local d = def{
      { state = "success", matcher = "path", argument = "input.Name == output.Things[0].Status",
        expected = true, inputOutput = true },
      { state = "retry", matcher = "status", expected = 404 },
    }
    assert.are.equal("success", judge.poll(d, {}, out("x"), nil, { Name = "x" }, 0).state)
    assert.are.equal("retry", judge.poll(d, {}, out("x"), nil, { Name = "y" }, 0).state)
    assert.are.equal(2, judge.poll(d, {}, nil, aws_error("NotFound", 404), {}, 0).index)
  end)
end)
