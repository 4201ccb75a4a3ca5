-- kumo.sched's semantics on a virtual clock: a fake curl multi whose requests
-- complete after a given latency, so timings are exact. (The same scheduler
-- against the real kumo.http on loopback: sched_spec.lua.)
local sched = require "kumo.sched"
local ratelimit = require "kumo.ratelimit"
local errors = require "kumo.errors"

-- A fake backend: virtual time; a request's latency comes from its url
-- (`http://host/?latency=0.1&status=500`), default 0.1 s.
local function fake()
  local f = { t = 0, next_id = 0, pending = {}, started = {}, polls = 0 }
  function f.now() return f.t end
  function f.sleep(s) f.t = f.t + s end
  function f.start(req)
    f.next_id = f.next_id + 1
    local lat = tonumber(req.url:match("latency=([%d.]+)")) or 0.1
    local status = tonumber(req.url:match("status=(%d+)")) or 200
    local body = req.url:match("body=([^&]+)") or "ok"
    f.pending[f.next_id] = { at = f.t + lat, res = { status = status, body = body, headers = {} } }
    f.started[#f.started + 1] = { id = f.next_id, at = f.t, url = req.url }
    return f.next_id
  end
  function f.poll(timeout)
    f.polls = f.polls + 1
    local first
    for _, p in pairs(f.pending) do
      if not first or p.at < first then first = p.at end
    end
    if not first or first > f.t + timeout then
      f.t = f.t + timeout
      return {}
    end
    if first > f.t then f.t = first end
    local out = {}
    for id, p in pairs(f.pending) do
      if p.at <= f.t then
        out[#out + 1] = { id = id, res = p.res }
        f.pending[id] = nil
      end
    end
    table.sort(out, function(a, b) return a.id < b.id end)
    return out
  end
  function f.request() error("the fake has no blocking request") end
  return f
end

local function near(expected, actual, tol)
  assert(math.abs(expected - actual) <= (tol or 1e-6),
    string.format("expected %.4f, got %.4f", expected, actual))
end

describe("kumo.sched (virtual clock)", function()
  local f
  before_each(function()
    f = fake()
    sched._set_backend(f)
    ratelimit.set_default(ratelimit.new{ now = f.now, max_total = 64, max_host = 32 })
  end)
  after_each(function()
    sched._set_backend(nil)
    ratelimit.set_default(nil)
  end)

  it("runs 20 requests at once: they take one latency, not twenty", function()
    local results, errs = sched.parallel({}, nil) -- empty is fine
    assert.same({}, results); assert.same({}, errs)
    local items = {}
    for i = 1, 20 do items[i] = i end
    results, errs = sched.parallel(items, function(i)
      local res = sched.request{ method = "GET", url = "http://h1/?latency=0.1&body=r" .. i }
      return res.body
    end)
    near(0.1, f.t)
    assert.same({}, errs)
    for i = 1, 20 do assert.equal("r" .. i, results[i]) end
    assert.equal(20, sched.stats().peak_in_flight)
  end)

  it("blocks outside tasks and yields inside them", function()
    local res = sched.request{ method = "GET", url = "http://h/?latency=0.25&body=x" }
    assert.equal("x", res.body)
    near(0.25, f.t)
    sched.sleep(1)
    near(1.25, f.t)
    local order = {}
    sched.run(function()
      local a = sched.spawn(function() sched.sleep(2); order[#order + 1] = "a" end)
      local b = sched.spawn(function() sched.sleep(1); order[#order + 1] = "b" end)
      a:wait(); b:wait()
    end)
    assert.same({ "b", "a" }, order)
    near(3.25, f.t)
  end)

  it("keeps each task's error object; one failure does not stop the others", function()
    local e = errors.new{ code = "DBProxyNotFoundFault", message = "DB proxy x not found",
      service = "rds", operation = "DescribeDBProxies", http_status = 404 }
    local results, errs, tasks = sched.parallel{
      function() sched.sleep(0.5); return "one" end,
      function() sched.sleep(0.1); error(e, 0) end,
      function() error("plain failure") end,
      function() sched.sleep(1); return "four", 4 end,
    }
    assert.equal("one", results[1]); assert.equal("four", results[4])
    assert.is_nil(results[2]); assert.is_nil(results[3])
    assert.equal(e, errs[2]) -- the very object, metatable and fields intact
    assert.truthy(errors.is(errs[2]))
    assert.matches("rds DescribeDBProxies: DBProxyNotFoundFault", tostring(errs[2]))
    assert.matches("plain failure", errs[3])
    assert.equal("failed", tasks[2].status)
    assert.matches("sched_fake_spec", tasks[3].traceback)
    assert.same({ true, "four", 4 }, { tasks[4]:result() })
    near(1, f.t)
  end)

  it("lets tasks spawn tasks, and sched.run waits for all of them", function()
    local seen = {}
    sched.run(function()
      for i = 1, 3 do
        sched.spawn(function()
          sched.spawn(function() sched.sleep(i); seen[#seen + 1] = "grandchild" .. i end)
          seen[#seen + 1] = "child" .. i
        end, { name = "child" .. i })
      end
    end)
    assert.equal(6, #seen)
    near(3, f.t)
  end)

  it("cancels a task at its current wait with a TaskCancelled error, and its children", function()
    local cleaned, child
    local t = sched.spawn(function()
      child = sched.spawn(function() sched.sleep(100) end, { name = "child" })
      local ok, err = pcall(sched.request, { method = "GET", url = "http://h/?latency=50" })
      cleaned = not ok and err
      sched.sleep(1) -- waits after a cancellation work (clean-up)
      error(err, 0)
    end, { name = "victim" })
    sched.run(function()
      sched.sleep(2)
      assert.is_true(t:cancel())
      assert.is_false(t:cancel())
    end)
    assert.equal("cancelled", t.status)
    assert.equal("TaskCancelled", t.error.code)
    assert.equal("cancelled", t.error.kind)
    assert.equal(t.error, cleaned)
    assert.equal("cancelled", child.status)
    near(3, f.t) -- 2 s until the cancel, 1 s of clean-up; not the 50 s request
  end)

  it("a task cancelled before it ran never runs", function()
    local ran = false
    local t = sched.spawn(function() ran = true end)
    t:cancel()
    sched.run()
    assert.is_false(ran)
    assert.equal("cancelled", t.status)
  end)

  it("stops everything at the global deadline with DeadlineExceeded", function()
    local t_fast, t_slow
    assert.has_error(function()
      sched.run(function()
        t_fast = sched.spawn(function() sched.sleep(1); return "fast" end)
        t_slow = sched.spawn(function() sched.sleep(10) end)
        t_slow:wait()
      end, { deadline = 3 })
    end)
    assert.equal("done", t_fast.status)
    assert.equal("cancelled", t_slow.status)
    assert.equal("DeadlineExceeded", t_slow.error.code)
    near(3, f.t)
  end)

  it("parallel's deadline covers its group; errors name the deadline", function()
    local results, errs = sched.parallel({ 1, 5, 2 }, function(s)
      sched.sleep(s); return s
    end, { deadline = 3 })
    assert.equal(1, results[1]); assert.equal(2, results[3])
    assert.equal("DeadlineExceeded", errs[2].code)
    assert.matches("deadline of 3 s passed", tostring(errs[2]))
    near(3, f.t)
  end)

  it("limits the tasks running at once", function()
    local running, peak = 0, 0
    sched.parallel({ 1, 2, 3, 4, 5, 6 }, function()
      running = running + 1
      if running > peak then peak = running end
      sched.sleep(1)
      running = running - 1
    end, { limit = 2 })
    assert.equal(2, peak)
    near(3, f.t)
  end)

  it("respects the in-flight limits, per host and in total", function()
    ratelimit.default():configure{ max_total = 6, max_host = 2 }
    local items = {}
    for i = 1, 8 do items[i] = "http://a/?latency=1" end
    for i = 9, 10 do items[i] = "http://b/?latency=1" end
    sched.parallel(items, function(u) return sched.request{ method = "GET", url = u } end)
    -- 8 to host a, 2 at a time: 4 rounds; host b's two go in the first round
    near(4, f.t)
    local at = {}
    for _, s in ipairs(f.started) do
      local h = s.url:match("//(%w)")
      at[h] = at[h] or {}
      at[h][#at[h] + 1] = s.at
    end
    assert.same({ 0, 0 }, at.b)
    assert.same({ 0, 0, 1, 1, 2, 2, 3, 3 }, at.a)
  end)

  it("spaces requests of one account by its token bucket; only the client's verdict slows it", function()
    ratelimit.default():configure{ rate = 10, burst = 2 }
    local items = {}
    for i = 1, 6 do items[i] = i end
    sched.parallel(items, function()
      return sched.request({ method = "GET", url = "http://h/?latency=0" }, { limit_key = "111/rds" })
    end)
    local at = {}
    for i, s in ipairs(f.started) do at[i] = s.at end
    -- 2 from the burst at once, then one every 0.1 s
    near(0, at[1]); near(0, at[2]); near(0.1, at[3]); near(0.2, at[4]); near(0.4, at[6])
    -- a body that reads like throttling is not judged here (the client classifies)
    local lim = ratelimit.default()
    sched.request({ method = "GET", url = "http://h/?latency=0&status=400&body=<Code>Throttling</Code>" },
      { limit_key = "111/rds" })
    assert.equal(0, lim:bucket("111/rds").throttles)
    assert.equal(10, lim:bucket("111/rds").rate)
    -- the client's verdict turns that key's adaptive limiter on; others untouched
    ratelimit.on_response("111/rds", true)
    assert.is_true(lim:bucket("111/rds").adaptive)
    assert.truthy(lim:bucket("111/rds").rate < 10)
    assert.is_nil(lim:bucket("222/rds"))
    assert.equal(1, lim:bucket("111/rds").throttles)
  end)

  it("fails deadlocked tasks with a Deadlock error instead of hanging", function()
    local a, b
    local ok, err = pcall(sched.run, function()
      b = sched.spawn(function() a:wait() end, { name = "b" })
      a = sched.spawn(function() b:wait() end, { name = "a" })
      b:wait()
    end)
    assert.is_false(ok)
    assert.equal("Deadlock", err.code)
    assert.matches("waiting on each other: a, b, main", err.message)
    assert.equal("Deadlock", a.error.code)
    assert.is_true(b:done())
    -- the scheduler is usable afterwards
    assert.equal(42, sched.run(function() sched.sleep(1); return 42 end))
  end)

  it("works from a coroutine inside a task (e.g. an iterator)", function()
    local out = {}
    sched.parallel({ 1, 2 }, function(i)
      local it = coroutine.wrap(function()
        for k = 1, 2 do
          local res = sched.request{ method = "GET", url = "http://h/?latency=1&body=" .. i .. k }
          coroutine.yield(res.body)
        end
      end)
      for v in it do out[#out + 1] = v end
    end)
    table.sort(out)
    assert.same({ "11", "12", "21", "22" }, out)
  end)

  it("passes args to a task, nils included, and sched.yield lets others run", function()
    local order = {}
    local t = sched.spawn(function(a, b, c)
      order[#order + 1] = "t1"
      sched.yield()
      order[#order + 1] = "t1 again"
      return a, b, c
    end, { args = table.pack(1, nil, 3) })
    sched.spawn(function() order[#order + 1] = "t2" end)
    sched.run()
    assert.same({ true, 1, nil, 3, n = 4 }, table.pack(t:result()))
    assert.equal(4, select("#", t:result()))
    assert.same({ "t1", "t2", "t1 again" }, order)
  end)

  it("refuses bad arguments with messages naming them", function()
    assert.has_error(function() sched.spawn("x") end, "sched.spawn: expects a function (got string)")
    assert.has_error(function() sched.sleep(-1) end)
    assert.has_error(function() sched.parallel({ 1 }) end)
    assert.has_error(function() sched.run(nil, { deadline = "soon" }) end)
  end)
end)
