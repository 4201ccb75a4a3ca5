-- kumo.waiter: engine semantics against a scripted fake client and a fake
-- clock (no sleeping, no HTTP). The sandbox runs are in tests/e2e/waiter_spec.lua.
local waiter = require "kumo.waiter"
local errors = require "kumo.errors"
local jmespath = require "kumo.jmespath"

-- A client answering from a script: each entry is an output table, or
-- { err = {code=, http_status=, kind=} }, or a function(op, params).
local function fake_client(script, extra)
  local c = { service_name = "rds", calls = {} }
  local i = 0
  function c:try(op, params)
    self.calls[#self.calls + 1] = { op = op, params = params }
    if extra and extra[op] then return extra[op](params) end
    i = math.min(i + 1, #script)
    local r = script[i]
    if type(r) == "function" then r = r(op, params) end
    if r.err then
      local e = r.err
      e.kind = e.kind or "service"
      e.http_status = e.http_status or 400
      e.message = e.message or (e.code .. " message")
      return nil, errors.new(e)
    end
    return r
  end
  return c
end

-- A fake clock: sleep advances time.
local function fake_time()
  local t = { now = 1000, sleeps = {} }
  t.opts = {
    now = function() return t.now end,
    sleep = function(s) t.sleeps[#t.sleeps + 1] = s; t.now = t.now + s end,
  }
  return t
end

local function proxies(...)
  local list = {}
  for i, s in ipairs({ ... }) do list[i] = { DBProxyName = "p" .. i, Status = s } end
  return { DBProxies = list }
end

local function opts_with(t, more)
  local o = {}
  for k, v in pairs(t.opts) do o[k] = v end
  for k, v in pairs(more or {}) do o[k] = v end
  return o
end

local function wait_err(...)
  local out, err = waiter.try_wait(...)
  assert.is_nil(out)
  assert.is_true(errors.is(err), tostring(err))
  assert.equal("waiter", err.kind)
  return err
end

describe("kumo.waiter engine", function()
  it("polls until pathAll matches, sleeping the definition's delay", function()
    local c = fake_client({ { err = { code = "DBProxyNotFoundFault", http_status = 404 } },
      proxies("creating"), proxies("creating"), proxies("available") })
    local t = fake_time()
    local out = waiter.wait(c, "DBProxyAvailable", { DBProxyName = "p1" }, t.opts)
    assert.equal("available", out.DBProxies[1].Status)
    assert.equal(4, #c.calls)
    assert.equal("DescribeDBProxies", c.calls[1].op)
    assert.same({ DBProxyName = "p1" }, c.calls[4].params)
    assert.same({ 15, 15, 15 }, t.sleeps)
  end)

  it("fails when a failure acceptor matches, naming it, the last state and a hint", function()
    local c = fake_client({ proxies("creating"), proxies("incompatible-network") })
    local t = fake_time()
    local err = wait_err(c, "DBProxyAvailable", { DBProxyName = "p1" }, t.opts)
    assert.equal("WaiterFailure", err.code)
    assert.equal(2, err.acceptor)
    assert.equal(2, err.polls)
    assert.equal('["incompatible-network"]', err.last_state)
    local msg = tostring(err)
    assert.matches("DBProxyAvailable failed on poll 2", msg, 1, true)
    assert.matches('acceptor 2 (pathAny DBProxies[].Status == "incompatible-network" -> failure)', msg, 1, true)
    assert.matches("two Availability Zones", msg, 1, true)
  end)

  it("fails at once on an error no acceptor matches", function()
    local c = fake_client({ { err = { code = "AccessDenied", http_status = 403 } }, proxies("available") })
    local err = wait_err(c, "DBProxyAvailable", { DBProxyName = "p1" }, fake_time().opts)
    assert.equal("WaiterUnexpectedError", err.code)
    assert.equal(1, #c.calls)
    assert.equal("AccessDenied", err.last_error.code)
    assert.matches("AccessDenied", tostring(err))
  end)

  it("lets a task cancellation through unchanged", function()
    local c = fake_client({ { err = { kind = "cancelled", code = "TaskCancelled" } } })
    local ok, e = pcall(waiter.wait, c, "DBProxyAvailable", {}, fake_time().opts)
    assert.is_false(ok)
    assert.equal("TaskCancelled", e.code)
    assert.equal("cancelled", e.kind)
  end)

  it("fails at once on a non-AWS error that is not transient (validation)", function()
    local c = fake_client({ { err = { kind = "validation", code = "ValidationError" } }, proxies("available") })
    local err = wait_err(c, "DBProxyAvailable", {}, fake_time().opts)
    assert.equal("WaiterUnexpectedError", err.code)
    assert.equal(1, #c.calls)
  end)

  it("keeps polling through throttled, 5xx and dropped polls, counting them in progress", function()
    local throttled = { code = "Throttling", http_status = 400, throttling = true, retryable = true,
      retries_exhausted = true, throttled = true }
    local c = fake_client({ proxies("creating"), { err = throttled },
      { err = { code = "Throttling", http_status = 400, throttling = true, retryable = true } },
      { err = { code = "InternalFailure", http_status = 500, retryable = true } },
      { err = { kind = "transport", code = "CURLE_RECV_ERROR" } }, proxies("available") })
    local t = fake_time()
    local reported, infos = {}, {}
    local real = package.loaded["kumo.sched"]
    package.loaded["kumo.sched"] = { poll = function(w, state) reported[#reported + 1] = w .. ": " .. state end }
    local ok, out = pcall(waiter.wait, c, "DBProxyAvailable", {}, opts_with(t,
      { on_poll = function(i) infos[#infos + 1] = i end }))
    package.loaded["kumo.sched"] = real
    assert.is_true(ok, tostring(out))
    assert.equal("available", out.DBProxies[1].Status)
    assert.equal(6, #c.calls)
    assert.same({ "DBProxyAvailable: creating", "DBProxyAvailable: creating (1 poll throttled)",
      "DBProxyAvailable: creating (2 polls throttled)",
      "DBProxyAvailable: creating (2 polls throttled, 1 unavailable)",
      "DBProxyAvailable: creating (2 polls throttled, 2 unavailable)",
      "DBProxyAvailable: available (2 polls throttled, 2 unavailable)" }, reported)
    assert.same({ false, true, true, true, true, false }, { infos[1].transient, infos[2].transient,
      infos[3].transient, infos[4].transient, infos[5].transient, infos[6].transient })
    assert.same({ 2, 2 }, { infos[6].throttled_polls, infos[6].unavailable_polls })
  end)

  it("times out counting transient polls; never answered, the timeout is transient too", function()
    local thr = { err = { code = "Throttling", http_status = 400, throttling = true, retryable = true } }
    local t = fake_time()
    local err = wait_err(fake_client({ proxies("creating"), thr }), "DBProxyAvailable", {},
      opts_with(t, { max_attempts = 4 }))
    assert.equal("WaiterTimeout", err.code)
    assert.equal(3, err.throttled_polls)
    assert.equal('["creating"]', err.last_state)
    assert.matches("max attempts (4) exceeded after 4 polls", tostring(err), 1, true)
    assert.matches("; 3 polls throttled (AWS's doing, not the resource's); last poll: Throttling: Throttling message",
      tostring(err), 1, true)
    assert.is_false(errors.is_transient(err)) -- AWS did answer once: creating
    err = wait_err(fake_client({ thr }), "DBProxyAvailable", {}, opts_with(fake_time(), { max_attempts = 3 }))
    assert.is_true(err.throttled)
    assert.is_true(errors.is_transient(err))
  end)

  it("lets an acceptor that names the transient error decide, and keeps persist streaks across it", function()
    local def = { operation = "DescribeDBProxies", delay = 1, maxAttempts = 10, acceptors = {
      { matcher = "error", expected = "Throttling", state = "failure" },
    } }
    local thr = { err = { code = "Throttling", http_status = 400, throttling = true, retryable = true } }
    local err = wait_err(fake_client({ thr }), def, {}, fake_time().opts)
    assert.equal("WaiterFailure", err.code)
    -- a persisting failure: the throttled poll in the middle neither breaks nor completes it
    def = { operation = "DescribeDBProxies", delay = 1, maxAttempts = 10, acceptors = {
      { matcher = "pathAll", argument = "DBProxies[].Status", expected = "available", state = "success" },
      { matcher = "pathAny", argument = "DBProxies[].Status", expected = "error", state = "failure",
        persist = 2, persistPolls = 2 },
    } }
    local t = fake_time()
    local c = fake_client({ proxies("error"), thr, proxies("error") })
    err = wait_err(c, def, {}, t.opts)
    assert.equal("WaiterFailure", err.code)
    assert.equal(3, #c.calls) -- the streak began on poll 1 and was ready on poll 3 (2 s, 2 matches)
  end)

  it("gives up after maxAttempts with the previously matched acceptor", function()
    local def = { operation = "DescribeDBProxies", delay = 2, maxAttempts = 3, acceptors = {
      { matcher = "pathAll", argument = "DBProxies[].Status", expected = "available", state = "success" },
      { matcher = "pathAny", argument = "DBProxies[].Status", expected = "creating", state = "retry" },
    } }
    local c = fake_client({ proxies("creating") })
    local t = fake_time()
    local err = wait_err(c, def, {}, t.opts)
    assert.equal("WaiterTimeout", err.code)
    assert.equal(3, #c.calls)
    assert.same({ 2, 2 }, t.sleeps)
    assert.matches("max attempts (3) exceeded after 3 polls", tostring(err), 1, true)
    assert.matches("previously matched acceptor 2", tostring(err), 1, true)
    assert.matches('last state: ["creating"]', tostring(err), 1, true)
  end)

  it("honours delay and max_attempts overrides", function()
    local c = fake_client({ proxies("creating") })
    local t = fake_time()
    wait_err(c, "DBProxyAvailable", {}, opts_with(t, { delay = 1, max_attempts = 4 }))
    assert.equal(4, #c.calls)
    assert.same({ 1, 1, 1 }, t.sleeps)
  end)

  it("uses waiter.defaults.delay in both modes unless the call passes one", function()
    waiter.defaults.delay = 0.5
    local ok, e = pcall(function()
      local t = fake_time()
      waiter.wait(fake_client({ proxies("creating"), proxies("available") }), "DBProxyAvailable", {}, t.opts)
      assert.same({ 0.5 }, t.sleeps)
      t = fake_time()
      waiter.wait(fake_client({ proxies("creating"), proxies("creating"), proxies("available") }),
        "DBProxyAvailable", {}, opts_with(t, { timeout = 60 }))
      assert.same({ 0.5, 0.5 }, t.sleeps)
      t = fake_time()
      waiter.wait(fake_client({ proxies("creating"), proxies("available") }), "DBProxyAvailable", {},
        opts_with(t, { delay = 2 }))
      assert.same({ 2 }, t.sleeps)
    end)
    waiter.defaults.delay = nil
    assert.is_true(ok, tostring(e))
  end)

  it("does not match pathAll/pathAny on an empty list or a scalar", function()
    local def = { operation = "X", delay = 1, maxAttempts = 2, acceptors = {
      { matcher = "pathAll", argument = "L", expected = "ok", state = "success" },
      { matcher = "pathAny", argument = "L", expected = "bad", state = "failure" },
    } }
    for _, out in ipairs({ { L = jmespath.array({}) }, { L = {} }, { L = "ok" }, {} }) do
      local err = wait_err(fake_client({ out }), def, {}, fake_time().opts)
      assert.equal("WaiterTimeout", err.code)
    end
  end)

  it("matches pathAny on one element and path on a whole value", function()
    local def = { operation = "X", delay = 1, maxAttempts = 5, acceptors = {
      { matcher = "path", argument = "length(L) == `0`", expected = true, state = "success" },
      { matcher = "pathAny", argument = "L", expected = "bad", state = "failure" },
    } }
    local err = wait_err(fake_client({ { L = { "ok", "bad" } } }), def, {}, fake_time().opts)
    assert.equal(2, err.acceptor)
    local out = waiter.wait(fake_client({ { L = { "ok" } }, { L = jmespath.array({}) } }), def, {},
      fake_time().opts)
    assert.equal(0, #out.L)
  end)

  it("matches status on outputs and errors, and error true/false/code", function()
    local def = { operation = "GetRole", delay = 1, maxAttempts = 5, acceptors = {
      { matcher = "status", expected = 404, state = "retry" },
      { matcher = "error", expected = "Throttled", state = "retry" },
      { matcher = "error", expected = false, state = "success" },
    } }
    local c = fake_client({ { err = { code = "NoSuchEntity", http_status = 404 } },
      { err = { code = "Throttled", http_status = 400 } }, { Role = {} } })
    waiter.wait(c, def, {}, fake_time().opts)
    assert.equal(3, #c.calls)
    local any = { operation = "GetRole", delay = 1, maxAttempts = 5, acceptors = {
      { matcher = "error", expected = true, state = "failure" },
      { matcher = "status", expected = 200, state = "success" },
    } }
    assert.equal("WaiterFailure", wait_err(fake_client({ { err = { code = "Boom" } } }), any, {},
      fake_time().opts).code)
    waiter.wait(fake_client({ { ResponseMetadata = { HTTPStatusCode = 200 } } }), any, {}, fake_time().opts)
  end)

  it("a path acceptor never matches an error response", function()
    local def = { operation = "X", delay = 1, maxAttempts = 2, acceptors = {
      { matcher = "path", argument = "`true`", expected = true, state = "success" },
      { matcher = "error", expected = "E", state = "retry" },
    } }
    local err = wait_err(fake_client({ { err = { code = "E" } } }), def, {}, fake_time().opts)
    assert.equal("WaiterTimeout", err.code)
  end)

  it("calls on_poll once per poll with the state seen", function()
    local c = fake_client({ proxies("creating"), proxies("modifying"), proxies("available") })
    local t = fake_time()
    local seen = {}
    waiter.wait(c, "DBProxyAvailable", {}, opts_with(t, { on_poll = function(s) seen[#seen + 1] = s end }))
    assert.equal(3, #seen)
    assert.equal(1, seen[1].attempt)
    assert.equal("retry", seen[1].state)
    assert.equal('["creating"]', seen[1].observed)
    assert.equal(15, seen[1].next_delay)
    assert.equal(15, seen[2].elapsed)
    assert.equal("success", seen[3].state)
    assert.equal(1, seen[3].acceptor)
    assert.equal("DBProxyAvailable", seen[3].waiter)
  end)

  describe("time budget (Smithy semantics)", function()
    it("computes jittered exponential delays capped by max_delay", function()
      local lo, hi = function() return 0 end, function() return 0.9999999 end
      assert.equal(2, waiter.smithy_delay(1, 2, 120, 1000, hi))
      assert.near(8, waiter.smithy_delay(3, 2, 120, 1000, hi), 1e-5)
      assert.equal(2, waiter.smithy_delay(3, 2, 120, 1000, lo))
      assert.near(120, waiter.smithy_delay(9, 2, 120, 1000, hi), 1e-4) -- past the ceiling: max
      assert.equal(2, waiter.smithy_delay(9, 2, 120, 1000, lo))     -- jitter down to min
      assert.near(64, waiter.smithy_delay(6, 2, 120, 1000, hi), 1e-4)
      assert.equal(8, waiter.smithy_delay(9, 2, 120, 10, hi))       -- never past deadline - min
    end)

    it("polls at once, then stays inside the budget and reports the timeout", function()
      local c = fake_client({ proxies("creating") })
      local t = fake_time()
      local seen = {}
      local err = wait_err(c, "DBProxyAvailable", {}, opts_with(t, {
        timeout = 100, min_delay = 2, max_delay = 20,
        random = function() return 0.5 end,
        on_poll = function(s) seen[#seen + 1] = s end }))
      assert.equal("WaiterTimeout", err.code)
      assert.matches("timeout (1m40s) exceeded", tostring(err), 1, true)
      local total = 0
      for i, s in ipairs(t.sleeps) do
        assert.is_true(s > 0 and s <= 20, "sleep " .. i .. " = " .. s)
        total = total + s
      end
      assert.is_true(total <= 100 - 2 + 1e-9)
      assert.is_true(total >= 100 - 2 * 2 - 1e-9, "used only " .. total .. " s of the budget")
      assert.equal(#t.sleeps + 1, #c.calls)
      assert.is_true(#c.calls > 100 // 20)   -- not fixed 15 s delays
      assert.is_nil(seen[#seen].next_delay)
    end)

    it("succeeds inside the budget and ignores maxAttempts of the definition", function()
      local script = {}
      for i = 1, 140 do script[i] = proxies("creating") end
      script[141] = proxies("available")
      local t = fake_time()
      local out = waiter.wait(fake_client(script), "DBProxyAvailable", {},
        opts_with(t, { timeout = 100000, min_delay = 1, max_delay = 1 }))
      assert.equal("available", out.DBProxies[1].Status)
      assert.equal(140, #t.sleeps)   -- more than the definition's 120 attempts
    end)

    it("rejects unknown or mistyped options, naming them", function()
      local c = fake_client({ proxies("available") })
      local ok, e = pcall(waiter.wait, c, "DBProxyAvailable", {}, { max_attempt = 3 })
      assert.is_false(ok)
      assert.matches('unknown waiter option "max_attempt"', tostring(e), 1, true)
      assert.matches("max_attempts", tostring(e), 1, true)
      ok, e = pcall(waiter.wait, c, "DBProxyAvailable", {}, { timeout = "30m" })
      assert.is_false(ok)
      assert.matches("waiter option 'timeout' must be a number, got string", tostring(e), 1, true)
      assert.equal(0, #c.calls)
    end)

    it("rejects a bad timeout", function()
      local ok, e = pcall(waiter.wait, fake_client({ proxies("available") }), "DBProxyAvailable", {},
        { timeout = -1 })
      assert.is_false(ok)
      assert.matches("'timeout' must be seconds > 0", tostring(e), 1, true)
    end)
  end)

  describe("persist (sticky failure) extension", function()
    local function targets(state, reason, desc)
      return { Targets = {
        { Type = "TRACKED_CLUSTER" },
        { Type = "RDS_INSTANCE", RdsResourceId = "db1",
          TargetHealth = { State = state, Reason = reason, Description = desc } },
      } }
    end
    local proxy_info = {
      DescribeDBProxies = function()
        return { DBProxies = { { DBProxyName = "p", RoleArn = "arn:aws:iam::1:role/proxy",
          Auth = { { SecretArn = "arn:aws:secretsmanager:us-east-1:1:secret:db-abc" } } } } }
      end,
      DescribeDBInstances = function()
        return { DBInstances = { { DBInstanceIdentifier = "db1", MasterUsername = "admin" } } }
      end,
    }

    it("treats UNAVAILABLE after registration as normal and a short AUTH_FAILURE as transient", function()
      local script = { targets("REGISTERING"), targets("UNAVAILABLE", "PENDING_PROXY_CAPACITY") }
      for _ = 1, 10 do script[#script + 1] = targets("UNAVAILABLE", "AUTH_FAILURE") end
      script[#script + 1] = targets("AVAILABLE")
      local t = fake_time()
      local out = waiter.wait(fake_client(script, proxy_info), "DBProxyTargetsAvailable",
        { DBProxyName = "p", TargetGroupName = "default" }, t.opts)
      assert.equal("AVAILABLE", out.Targets[2].TargetHealth.State)
    end)

    it("fails when the same reason persists, explaining the secret's username", function()
      local script = { targets("UNAVAILABLE", "PENDING_PROXY_CAPACITY") }
      for _ = 1, 40 do
        script[#script + 1] = targets("UNAVAILABLE", "AUTH_FAILURE",
          "This RDS Proxy has no credentials for the role admin. Check the credentials for this role and try again.")
      end
      local t = fake_time()
      local c = fake_client(script, proxy_info)
      local err = wait_err(c, "DBProxyTargetsAvailable", { DBProxyName = "p" }, t.opts)
      assert.equal("WaiterFailure", err.code)
      -- first AUTH_FAILURE on poll 2; 300 s at 15 s per poll is 20 polls later
      assert.equal(22, err.polls)
      local msg = tostring(err)
      assert.matches("persisting 5m00s over 21 polls", msg, 1, true)
      assert.matches("This RDS proxy has no credentials for the role 'admin'", msg, 1, true)
      assert.matches("arn:aws:secretsmanager:us-east-1:1:secret:db-abc", msg, 1, true)
      assert.matches("username", msg, 1, true)
      assert.matches("arn:aws:iam::1:role/proxy", msg, 1, true)
      assert.matches('"reason":"AUTH_FAILURE"', err.last_state, 1, true)
    end)

    it("finds the user from the DB when the description does not name it", function()
      local script = {}
      for i = 1, 30 do script[i] = targets("UNAVAILABLE", "AUTH_FAILURE") end
      local err = wait_err(fake_client(script, proxy_info), "DBProxyTargetsAvailable",
        { DBProxyName = "p" }, opts_with(fake_time(), { persist = 30 }))
      assert.matches("no credentials for the role 'admin'", tostring(err), 1, true)
      assert.equal(3, err.polls)  -- persist overridden to 30 s, 3 polls minimum
    end)

    it("lets an error acceptor persist instead of failing at once", function()
      local def = { operation = "GetThing", delay = 10, maxAttempts = 100, acceptors = {
        { matcher = "path", argument = "ok", expected = true, state = "success" },
        { matcher = "error", expected = "NotVisibleYet", state = "failure", persist = 60 },
      } }
      local script = {}
      for i = 1, 4 do script[i] = { err = { code = "NotVisibleYet" } } end
      script[5] = { ok = true }
      local c = fake_client(script)
      waiter.wait(c, def, {}, fake_time().opts)
      assert.equal(5, #c.calls)
      script = { { err = { code = "NotVisibleYet" } } }
      local err = wait_err(fake_client(script), def, {}, fake_time().opts)
      assert.equal("WaiterFailure", err.code)
      assert.equal(7, err.polls)   -- 60 s at 10 s per poll
    end)

    it("restarts the clock when the reason changes", function()
      local script = {}
      for i = 1, 60 do
        script[i] = targets("UNAVAILABLE", (i // 10) % 2 == 0 and "AUTH_FAILURE" or "UNREACHABLE")
      end
      local err = wait_err(fake_client(script, proxy_info), "DBProxyTargetsAvailable",
        { DBProxyName = "p" }, opts_with(fake_time(), { max_attempts = 60 }))
      assert.equal("WaiterTimeout", err.code)
      assert.matches("has matched for", tostring(err), 1, true)
    end)
  end)

  describe("definitions", function()
    it("validates definitions, naming the field and the fix", function()
      local function bad(def, pattern)
        local ok, e = pcall(waiter.check, def, "W")
        assert.is_false(ok)
        assert.matches(pattern, tostring(e), 1, true)
      end
      bad({ delay = 1, maxAttempts = 1, acceptors = {} }, "'operation' must be the operation name")
      bad({ operation = "X", maxAttempts = 1, acceptors = {} }, "'delay' must be")
      bad({ operation = "X", delay = 1, maxAttempts = 0, acceptors = {} }, "'maxAttempts' must be")
      bad({ operation = "X", delay = 1, maxAttempts = 1, acceptors = {} }, "'acceptors' must be")
      bad({ operation = "X", delay = 1, maxAttempts = 1, acceptors = { { matcher = "pth", state = "success", expected = 1 } } },
        "W acceptor 1: 'matcher' must be one of")
      bad({ operation = "X", delay = 1, maxAttempts = 1, acceptors = { { matcher = "path", argument = "a[", state = "success", expected = 1 } } },
        "bad 'argument'")
      bad({ operation = "X", delay = 1, maxAttempts = 1, acceptors = { { matcher = "error", state = "done", expected = "E" } } },
        "'state' must be success, failure or retry")
      bad({ operation = "X", delay = 1, maxAttempts = 1, acceptors = { { matcher = "error", state = "retry", expected = "E", persist = "5m" } } },
        "'persist' must be seconds")
    end)

    it("checks every waiter of every shipped model and of kumo's own files", function()
      local sys = require "kumo.sys"
      local n = 0
      local services = require("kumo.model").services()
      local p = io.popen('ls "' .. sys.moddir .. '/kumo/waiters/"*.lua')
      for path in p:lines() do services[#services + 1] = path:match("([%w%-]+)%.%a+$") end
      p:close()
      for _, service in ipairs(services) do
        for _, name in ipairs(waiter.list(service)) do
          local d, e = waiter.get(service, name)
          assert.is_table(d, e)
          n = n + 1
        end
      end
      assert.is_true(n > 400, "only " .. n .. " waiters")
    end)

    it("documents every one of kumo's own waiters in docs/waiters.md", function()
      local sys = require "kumo.sys"
      local f = assert(io.open(sys.datadir .. "/docs/waiters.md"))
      local doc = f:read("a")
      f:close()
      local p = io.popen('ls "' .. sys.moddir .. '/kumo/waiters/"*.lua')
      local n = 0
      for path in p:lines() do
        local t = dofile(path)
        for name in pairs(t.waiters) do
          n = n + 1
          assert.truthy(doc:find("`" .. name .. "`", 1, true), name .. " is not in docs/waiters.md")
        end
      end
      p:close()
      assert.is_true(n >= 19, n .. " waiters")
    end)

    it("finds model waiters and kumo's own by name, and lists names on a miss", function()
      local d = assert(waiter.get("rds", "DBInstanceAvailable"))
      assert.equal("model", d.origin)
      assert.equal("DescribeDBInstances", d.operation)
      assert.equal("kumo", assert(waiter.get("rds", "DBProxyAvailable")).origin)
      local none, msg = waiter.get("rds", "DBProxyAvaliable")
      assert.is_nil(none)
      assert.matches('rds has no waiter "DBProxyAvaliable"', msg, 1, true)
      assert.matches("DBProxyAvailable", msg, 1, true)
      local ok, e = pcall(waiter.wait, fake_client({}), "Nope", {})
      assert.is_false(ok)
      assert.equal("UnknownWaiter", e.code)
    end)

    it("registers waiters at run time", function()
      waiter.register("rds", "MyProxyModifying", { operation = "DescribeDBProxies", delay = 1, maxAttempts = 3,
        acceptors = { { matcher = "pathAny", argument = "DBProxies[].Status", expected = "modifying", state = "success" } } })
      local out = waiter.wait(fake_client({ proxies("available"), proxies("modifying") }), "MyProxyModifying", {},
        fake_time().opts)
      assert.equal("modifying", out.DBProxies[1].Status)
    end)

    it("evaluates inputOutput acceptors against the request too", function()
      local subnets = function(n)
        local l = {}
        for i = 1, n do l[i] = { SubnetId = "s" .. i, State = "available" } end
        return { Subnets = l }
      end
      local c = fake_client({ { err = { code = "InvalidSubnetID.NotFound" } }, subnets(1), subnets(2) })
      c.service_name = "ec2"
      waiter.wait(c, "SharedSubnetsVisible", { SubnetIds = { "s1", "s2" } }, fake_time().opts)
      assert.equal(3, #c.calls)
    end)

    it("reads every page when the waiter paginates", function()
      local c = fake_client({})
      c.service_name = "ram"
      function c:paginate(op, params)
        self.calls[#self.calls + 1] = { op = op, params = params }
        local pages = { { resourceShareAssociations = { { status = "ASSOCIATED" } }, nextToken = "t" },
                        { resourceShareAssociations = { { status = "ASSOCIATING" } } } }
        if #self.calls > 1 then pages[2].resourceShareAssociations[1].status = "ASSOCIATED" end
        local i = 0
        return function() i = i + 1; return pages[i] end
      end
      local out = waiter.wait(c, "ResourceShareAssociated", { associationType = "RESOURCE" }, fake_time().opts)
      assert.equal(2, #c.calls)
      assert.equal(2, #out.resourceShareAssociations)
    end)
  end)
end)

describe("kumo.waiter with kumo.sched", function()
  local sched = require "kumo.sched"

  it("sleeps through kumo.sched, so waits in parallel tasks interleave", function()
    local log = {}
    local function client(tag, n)
      local polls = 0
      return { service_name = "rds", try = function()
        polls = polls + 1
        log[#log + 1] = tag .. polls
        return proxies(polls >= n and "available" or "creating")
      end }
    end
    local results, errs = sched.parallel({
      function() return waiter.wait(client("a", 3), "DBProxyAvailable", {}, { delay = 0.05 }) end,
      function() return waiter.wait(client("b", 3), "DBProxyAvailable", {}, { delay = 0.05 }) end,
    })
    assert.is_nil(errs[1]); assert.is_nil(errs[2])
    assert.equal("available", results[1].DBProxies[1].Status)
    -- b polls before a's waits are over: the sleeps yielded
    assert.same({ "a1", "b1", "a2", "b2", "a3", "b3" }, log)
  end)

  it("stops a wait when its task is cancelled during the delay", function()
    local c = fake_client({ proxies("creating") })
    local ok, e = pcall(sched.run, function()
      local t = sched.spawn(function()
        return waiter.wait(c, "DBProxyAvailable", {}, { delay = 30 })
      end, { name = "w" })
      sched.sleep(0.05)
      t:cancel()
      return t:wait()
    end)
    assert.is_false(ok)
    assert.equal("cancelled", e.kind, tostring(e))
    assert.equal(1, #c.calls)
  end)

  it("reports each poll to the task's progress", function()
    local polls = 0
    local c = { service_name = "rds", try = function()
      polls = polls + 1
      return proxies(polls >= 2 and "available" or "creating")
    end }
    local reported = {}
    local orig = sched.poll
    sched.poll = function(w, st) reported[#reported + 1] = w .. ":" .. tostring(st) end
    local ok, e = pcall(sched.run, function()
      return waiter.wait(c, "DBProxyAvailable", {}, { delay = 0.01 })
    end)
    sched.poll = orig
    assert.is_true(ok, tostring(e))
    assert.same({ "DBProxyAvailable:creating", "DBProxyAvailable:available" }, reported)
  end)
end)
