-- kumo.credentials.cache: refresh windows sized to the lifetime, advisory
-- failures keep the old credentials, one refresh at a time across tasks.
local cache = require "kumo.credentials.cache"
local creds = require "kumo.credentials.creds"

local function make(opts)
  local clock = { t = 1000000 }
  local n = 0
  local c
  c = cache.new{
    now = function() return clock.t end,
    sleep = opts.sleep or function() end,
    warn = function(m) clock.warned = m end,
    fetch = function()
      n = n + 1
      clock.fetches = n
      if opts.fetch then return opts.fetch(n, clock) end
      return creds.new{ access_key_id = "ASIA" .. n, secret_access_key = "s",
        expiration = clock.t + (opts.lifetime or 3600) }
    end,
  }
  return c, clock
end

describe("credential refresh windows", function()
  it("sizes the windows to the lifetime", function()
    assert.are.same({ 300, 60 }, { cache.windows(900) })
    assert.are.same({ 300, 60 }, { cache.windows(1200) })
    assert.are.same({ 900, 60 }, { cache.windows(3600) })
    assert.are.same({ 3600, 60 }, { cache.windows(12 * 3600) })
  end)

  it("fetches once, then serves from memory until the advisory window", function()
    local c, clock = make{ lifetime = 3600 }
    assert.are.equal("ASIA1", c:get().access_key_id)
    clock.t = clock.t + 3600 - 901
    assert.are.equal("ASIA1", c:get().access_key_id)
    assert.are.equal(1, clock.fetches)
    clock.t = clock.t + 2                               -- inside the 15 min advisory window
    assert.are.equal("ASIA2", c:get().access_key_id)
  end)

  it("15-minute credentials are not refreshed on every call", function()
    local c, clock = make{ lifetime = 900 }
    c:get()
    clock.t = clock.t + 500                            -- 400 s left: outside the 5 min window
    c:get()
    assert.are.equal(1, clock.fetches)
  end)

  it("keeps the old credentials when an advisory refresh fails, and retries later", function()
    local fail = false
    local c, clock = make{ fetch = function(n, ck)
      if fail then error("sts is down") end
      return creds.new{ access_key_id = "ASIA" .. n, secret_access_key = "s", expiration = ck.t + 3600 }
    end }
    c:get()
    fail = true
    clock.t = clock.t + 3600 - 600                     -- advisory window
    assert.are.equal("ASIA1", c:get().access_key_id)
    assert.truthy(clock.warned:find("sts is down", 1, true))
    local tries = clock.fetches
    assert.are.equal("ASIA1", c:get().access_key_id)   -- backs off: no new attempt at once
    assert.are.equal(tries, clock.fetches)
    clock.t = clock.t + 600 - 30                       -- mandatory window: the failure is raised
    assert.has_error(function() c:get() end, "sts is down")
    fail = false
    assert.are.equal("ASIA" .. clock.fetches + 1, c:get().access_key_id)
  end)

  it("refuses a refresh that returns expired credentials", function()
    local c = make{ fetch = function(_, ck)
      return creds.new{ access_key_id = "A", secret_access_key = "s", expiration = ck.t - 1 }
    end }
    local ok, err = pcall(c.get, c)
    assert.is_false(ok)
    assert.truthy(err:find("expired", 1, true))
  end)

  it("invalidate forces a new fetch", function()
    local c, clock = make{}
    c:get()
    c:invalidate()
    c:get()
    assert.are.equal(2, clock.fetches)
  end)

  it("runs one refresh at a time for many coroutine tasks", function()
    -- fetch yields (as an HTTP call inside a kumo.sched task does); sleep yields too.
    local c, clock = make{ sleep = coroutine.yield, fetch = function(n, ck)
      coroutine.yield()
      coroutine.yield()
      return creds.new{ access_key_id = "ASIA" .. n, secret_access_key = "s", expiration = ck.t + 3600 }
    end }
    local tasks, results = {}, {}
    for i = 1, 10 do
      tasks[i] = coroutine.create(function() results[i] = c:get().access_key_id end)
    end
    local alive = true
    while alive do
      alive = false
      for _, co in ipairs(tasks) do
        if coroutine.status(co) ~= "dead" then
          assert(coroutine.resume(co))
          alive = true
        end
      end
    end
    assert.are.equal(1, clock.fetches)
    for i = 1, 10 do assert.are.equal("ASIA1", results[i]) end
  end)

  it("lets other tasks use the current credentials during an advisory refresh", function()
    local c, clock = make{ sleep = coroutine.yield, fetch = function(n, ck)
      if n > 1 then coroutine.yield() end
      return creds.new{ access_key_id = "ASIA" .. n, secret_access_key = "s", expiration = ck.t + 3600 }
    end }
    c:get()
    clock.t = clock.t + 3600 - 600
    local refresher = coroutine.create(function() return c:get().access_key_id end)
    assert(coroutine.resume(refresher))                -- now refreshing, suspended in fetch
    assert.are.equal("ASIA1", c:get().access_key_id)   -- not blocked
    local _, id = coroutine.resume(refresher)
    assert.are.equal("ASIA2", id)
  end)
end)
