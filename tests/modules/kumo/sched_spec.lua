-- kumo.sched against the real kumo.http (one curl multi handle) and a
-- loopback server the spec starts itself (sched_spec_server.py), which
-- answers after a requested delay and counts connections and concurrency.
local sched = require "kumo.sched"
local ratelimit = require "kumo.ratelimit"
local http = require "kumo.http"
local clock = require "kumo.clock"
local json = require "kumo.json"

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."

local function start_server()
  local portfile = os.tmpname()
  local proc = assert(io.popen("exec python3 " .. here .. "/sched_spec_server.py > " .. portfile, "w"))
  local port
  for _ = 1, 200 do
    local f = io.open(portfile)
    local line = f and f:read("l")
    if f then f:close() end
    port = line and tonumber(line)
    if port then break end
    clock.sleep(0.05)
  end
  os.remove(portfile)
  assert(port, "the test server did not start")
  return "http://127.0.0.1:" .. port, function() proc:close() end
end

local function closed_port()
  local p = io.popen([[python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"]])
  local port = tonumber(p:read("l"))
  p:close()
  return port
end

describe("kumo.sched over kumo.http", function()
  local base, stop

  local function server_stats()
    return json.decode(assert(http.request{ method = "GET", url = base .. "/_stats" }).body)
  end

  local function get(q, opts)
    return sched.request({ method = "GET", url = base .. "/?" .. q }, opts)
  end

  setup(function() base, stop = start_server() end)
  teardown(function() stop() end)
  before_each(function()
    sched._set_backend(nil)
    ratelimit.set_default(nil)
    assert(http.request{ method = "GET", url = base .. "/_reset" })
  end)

  it("runs 30 requests of 0.4 s in flight at once: about one latency in all", function()
    local items = {}
    for i = 1, 30 do items[i] = i end
    local t0 = clock.monotonic()
    local results, errs = sched.parallel(items, function(i)
      return get("delay=0.4&body=r" .. i).body
    end)
    local elapsed = clock.monotonic() - t0
    assert.same({}, errs)
    for i = 1, 30 do assert.equal("r" .. i, results[i]) end
    assert.truthy(elapsed < 1.2, "30 requests took " .. elapsed .. " s (sequential: 12 s)")
    assert.equal(30, server_stats().max_concurrent)
  end)

  it("keeps to the per-host limit and reuses connections across rounds", function()
    ratelimit.configure{ max_host = 4 }
    local before = http.stats()
    local items = {}
    for i = 1, 12 do items[i] = i end
    local t0 = clock.monotonic()
    sched.parallel(items, function() return get("delay=0.2") end)
    local elapsed = clock.monotonic() - t0
    local st = server_stats()
    assert.equal(4, st.max_concurrent) -- never more than 4 at once
    assert.equal(12, st.requests)
    assert.truthy(elapsed >= 0.55 and elapsed < 1.5, "12 requests, 4 at a time, took " .. elapsed)
    local after = http.stats()
    -- 12 requests over at most 4 connections (kept alive between rounds)
    assert.truthy(after.connections_opened - before.connections_opened <= 4,
      "opened " .. (after.connections_opened - before.connections_opened))
    assert.equal(4, sched.stats().peak_in_flight)
  end)

  it("one failing task does not stop the others (refused connection, raised error)", function()
    local dead = "http://127.0.0.1:" .. closed_port() .. "/"
    local results, errs = sched.parallel{
      function() return get("delay=0.3&body=a").body end,
      function()
        local res, msg, code = sched.request{ method = "GET", url = dead }
        assert(res == nil and code == "CURLE_COULDNT_CONNECT", msg)
        error({ code = code, message = msg }, 0)
      end,
      function() return get("delay=0.3&body=c").body end,
    }
    assert.equal("a", results[1]); assert.equal("c", results[3])
    assert.equal("CURLE_COULDNT_CONNECT", errs[2].code)
    assert.matches("127.0.0.1", errs[2].message)
  end)

  it("cancels a task in the middle of a request: the transfer is dropped, the slot freed", function()
    local t0 = clock.monotonic()
    local slow = sched.spawn(function() return get("delay=5") end, { name = "slow" })
    sched.run(function()
      sched.sleep(0.3)
      slow:cancel()
    end)
    local elapsed = clock.monotonic() - t0
    assert.equal("cancelled", slow.status)
    assert.equal("TaskCancelled", slow.error.code)
    assert.truthy(elapsed < 1.5, "cancel took " .. elapsed)
    assert.equal(0, ratelimit.default():stats().in_flight)
    assert.equal(0, http.pending())
  end)

  it("stops every task at the global deadline", function()
    local t0 = clock.monotonic()
    local quick, slow
    local ok, err = pcall(sched.run, function()
      quick = sched.spawn(function() return get("delay=0.1&body=q").body end)
      slow = sched.spawn(function() return get("delay=5") end)
      return slow:wait()
    end, { deadline = 0.6 })
    local elapsed = clock.monotonic() - t0
    assert.is_false(ok)
    assert.equal("DeadlineExceeded", err.code)
    assert.same({ true, "q" }, { quick:result() })
    assert.equal("DeadlineExceeded", slow.error.code)
    assert.truthy(elapsed < 2, "deadline took " .. elapsed)
  end)

  it("blocks outside tasks, with the same results as http.request", function()
    local res = get("delay=0&status=404&body=nope")
    assert.equal(404, res.status)
    assert.equal("nope", res.body)
    local t0 = clock.monotonic()
    sched.sleep(0.2)
    assert.truthy(clock.monotonic() - t0 >= 0.19)
  end)

  it("spaces one account's requests by its token bucket", function()
    ratelimit.configure{ rate = 10, burst = 1 }
    local items = {}
    for i = 1, 6 do items[i] = i end
    local t0 = clock.monotonic()
    sched.parallel(items, function() return get("delay=0", { limit_key = "111111111111/rds" }) end)
    local elapsed = clock.monotonic() - t0
    assert.truthy(elapsed >= 0.45 and elapsed < 1.2, "6 requests at 10/s took " .. elapsed)
    assert.equal(1, server_stats().max_concurrent)
  end)
end)
