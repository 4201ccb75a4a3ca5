--- kumo.ratelimit: how many requests kumo sends at once, and how fast.
--
-- Two kinds of limit, both owned by one limiter (kumo.sched uses the
-- process-wide one, `ratelimit.default()`):
--
-- * concurrency slots: at most `max_total` requests in flight overall and
--   `max_host` per host (`try_acquire(host)` / `release(host)`). kumo.sched
--   queues a request that finds no free slot and starts it when one frees.
-- * rate: one token bucket per key, normally `"<account>/<service>"`, so a
--   fleet of tasks working in one account stays under that account's API rate
--   limit (AWS limits per account, per service and region). A request reserves
--   a token (`reserve`); the answer is how long to wait before sending, so
--   waiting callers are served in order without polling.
--
-- A throttling answer (`on_throttle(key)`) halves that key's rate (at most
-- once per `cooldown` seconds, so a burst of throttled answers counts once)
-- and drains its burst; the rate then climbs back linearly to the configured
-- one over `recover` seconds. That is AIMD, as TCP and the AWS SDKs' adaptive
-- retry mode do, but per account and shared by every task of the process.
-- @module kumo.ratelimit
local ratelimit = {}

--- Defaults (see `ratelimit.new`).
ratelimit.DEFAULTS = {
  max_total = 64,   -- requests in flight, all hosts
  max_host = 32,    -- requests in flight to one host
  rate = 20,        -- requests per second per key (a cautious AWS describe rate)
  burst = 40,       -- bucket size: requests that may go at once after a pause
  min_rate = 0.5,   -- throttling never slows a key below this
  cooldown = 1,     -- seconds: throttles closer together count once
  recover = 30,     -- seconds from a throttle back to the full rate
}

local function monotonic()
  return require("kumo.clock").monotonic()
end

local function check_number(opts, field, min)
  local v = opts[field]
  if v == nil then return end
  if type(v) ~= "number" or v ~= v or v < min then
    error(string.format("ratelimit: %s must be a number >= %s (got %s)", field, min, tostring(v)), 3)
  end
end

local function check_opts(opts)
  check_number(opts, "max_total", 1)
  check_number(opts, "max_host", 1)
  check_number(opts, "rate", 0.001)
  check_number(opts, "burst", 1)
  check_number(opts, "min_rate", 0.001)
  check_number(opts, "cooldown", 0)
  check_number(opts, "recover", 0)
  if opts.rates ~= nil and type(opts.rates) ~= "table" then
    error("ratelimit: rates must be a table { [key or pattern] = { rate =, burst = } }", 3)
  end
end

--- A limiter.
-- @type Limiter
local Limiter = {}
Limiter.__index = Limiter

--- Make a limiter.
-- @tparam[opt] table opts `max_total`, `max_host`, `rate`, `burst`, `min_rate`,
--   `cooldown`, `recover` (see `ratelimit.DEFAULTS`); `rates`: per key
--   overrides `{ ["123456789012/rds"] = { rate = 5, burst = 10 } }`, where a
--   key may also be a Lua pattern matched against the whole key
--   (`["^.*/sts$"] = {...}`); `now`: the clock (monotonic seconds), for tests
-- @treturn Limiter
function ratelimit.new(opts)
  opts = opts or {}
  check_opts(opts)
  local self = setmetatable({ now = opts.now or monotonic, buckets = {}, hosts = {},
    in_flight = 0, peak = 0, throttles = 0 }, Limiter)
  for k, v in pairs(ratelimit.DEFAULTS) do self[k] = v end
  self:configure(opts)
  return self
end

--- Change limits (only the fields given). Existing buckets keep their state
-- but take the new rate and burst.
-- @tparam table opts as for `ratelimit.new`
function Limiter:configure(opts)
  check_opts(opts)
  for k in pairs(ratelimit.DEFAULTS) do
    if opts[k] ~= nil then self[k] = opts[k] end
  end
  if opts.rates then self.rates = opts.rates end
  if opts.now then self.now = opts.now end
  for key, b in pairs(self.buckets) do
    b.base, b.burst = self:limits_for(key)
    if not b.throttled_at or b.rate > b.base then b.rate = b.base end
    if b.low > b.base then b.low = b.base end
    if b.tokens > b.burst then b.tokens = b.burst end
  end
end

--- The configured rate and burst of `key`.
-- @tparam string key
-- @treturn number rate (per second)
-- @treturn number burst
function Limiter:limits_for(key)
  local rates = self.rates
  if rates then
    local r = rates[key]
    if not r then
      for pat, v in pairs(rates) do
        if type(pat) == "string" and pat:sub(1, 1) == "^" and key:find(pat) then r = v break end
      end
    end
    if r then return r.rate or self.rate, r.burst or self.burst end
  end
  return self.rate, self.burst
end

-- Concurrency slots ---------------------------------------------------------

--- Take a slot for one request to `host`, if one is free.
-- @tparam string host
-- @treturn boolean taken
function Limiter:try_acquire(host)
  if self.in_flight >= self.max_total then return false end
  local n = self.hosts[host] or 0
  if n >= self.max_host then return false end
  self.hosts[host] = n + 1
  self.in_flight = self.in_flight + 1
  if self.in_flight > self.peak then self.peak = self.in_flight end
  return true
end

--- Give back a slot taken by `try_acquire(host)`.
-- @tparam string host
function Limiter:release(host)
  local n = self.hosts[host]
  if not n or n <= 0 then error("ratelimit: release of host " .. tostring(host) .. " without a slot", 2) end
  self.hosts[host] = n > 1 and n - 1 or nil
  self.in_flight = self.in_flight - 1
end

-- Token buckets ----------------------------------------------------------------

local function bucket(self, key, now)
  local b = self.buckets[key]
  if not b then
    local rate, burst = self:limits_for(key)
    b = { base = rate, rate = rate, burst = burst, tokens = burst, last = now,
      throttled_at = nil, low = rate, throttles = 0, requests = 0 }
    self.buckets[key] = b
  end
  return b
end

-- Bring the bucket to `now`: the rate climbs back after a throttle, tokens refill.
local function refill(self, b, now)
  if b.throttled_at then
    local t = now - b.throttled_at
    if t >= self.recover then
      b.rate, b.throttled_at = b.base, nil
    else
      b.rate = b.low + (b.base - b.low) * (t / self.recover)
    end
  end
  local dt = now - b.last
  if dt > 0 then
    local tokens = b.tokens + dt * b.rate
    b.tokens = tokens < b.burst and tokens or b.burst
    b.last = now
  end
end

--- Reserve one request of `key`: how long the caller must wait before sending.
-- The bucket may go negative: that is the queue of reservations ahead, so
-- concurrent callers are spaced `1/rate` apart in arrival order.
-- @tparam string key e.g. `"123456789012/rds"`
-- @tparam[opt] number now
-- @treturn number seconds to wait (0: send now)
function Limiter:reserve(key, now)
  now = now or self.now()
  local b = bucket(self, key, now)
  refill(self, b, now)
  b.tokens = b.tokens - 1
  b.requests = b.requests + 1
  if b.tokens >= 0 then return 0 end
  return -b.tokens / b.rate
end

--- Record a throttling answer for `key`: halve its rate and drain its burst.
-- @tparam string key
-- @tparam[opt] number now
-- @treturn boolean whether the rate was lowered (false inside the cooldown)
function Limiter:on_throttle(key, now)
  now = now or self.now()
  local b = bucket(self, key, now)
  refill(self, b, now)
  b.throttles = b.throttles + 1
  self.throttles = self.throttles + 1
  if b.throttled_at and now - b.throttled_at < self.cooldown then return false end
  local rate = b.rate / 2
  if rate < self.min_rate then rate = self.min_rate end
  b.rate, b.low, b.throttled_at = rate, rate, now
  if b.tokens > 0 then b.tokens = 0 end
  return true
end

--- The state of `key`'s bucket (nil if never used).
-- @tparam string key
-- @treturn table|nil `{ rate=, base=, burst=, tokens=, throttles=, requests= }`
function Limiter:bucket(key)
  local b = self.buckets[key]
  if not b then return nil end
  refill(self, b, self.now())
  return { rate = b.rate, base = b.base, burst = b.burst, tokens = b.tokens,
    throttles = b.throttles, requests = b.requests }
end

--- Counters: `{ in_flight=, peak=, throttles=, max_total=, max_host= }`.
function Limiter:stats()
  return { in_flight = self.in_flight, peak = self.peak, throttles = self.throttles,
    max_total = self.max_total, max_host = self.max_host }
end

-- The process-wide limiter ------------------------------------------------------

local default

--- The limiter kumo.sched uses.
-- @treturn Limiter
function ratelimit.default()
  if not default then default = ratelimit.new() end
  return default
end

--- Configure the process-wide limiter (see `ratelimit.new` for the fields).
-- @tparam table opts
-- @treturn Limiter
function ratelimit.configure(opts)
  if type(opts) ~= "table" then error("ratelimit.configure: expects a table of limits", 2) end
  local d = ratelimit.default()
  d:configure(opts)
  return d
end

--- Tell the process-wide limiter that `key` was throttled (for the client's
-- retry layer; see docs/architecture.md, kumo.sched).
-- @tparam string key
-- @treturn boolean whether the rate was lowered
function ratelimit.on_throttle(key)
  if type(key) ~= "string" then return false end
  return ratelimit.default():on_throttle(key)
end

--- Replace the process-wide limiter (tests).
-- @tparam[opt] Limiter l nil: a fresh default one on next use
function ratelimit.set_default(l)
  default = l
end

ratelimit.Limiter = Limiter

return ratelimit
