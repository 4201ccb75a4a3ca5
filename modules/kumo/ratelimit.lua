--- kumo.ratelimit: how many requests kumo sends at once, and how fast.
--
-- Two kinds of limit, both owned by one limiter (kumo.sched uses the
-- process-wide one, `ratelimit.default()`):
--
-- * concurrency slots: at most `max_total` requests in flight overall and
--   `max_host` per host (`try_acquire(host)` / `release(host)`). kumo.sched
--   queues a request that finds no free slot and starts it when one frees.
-- * rate, per key (`"<account>/<service>/<region>"`: AWS throttles per
--   account, service and region), shared by every task of the process:
--   - a ceiling: a token bucket of `rate` per second and `burst` tokens
--     (defaults 100 and 100, EC2's own bucket size, so kumo never starts
--     below AWS's limits); user-settable, per key or pattern with `rates`;
--   - botocore's adaptive limiter (`botocore/retries/adaptive.py`,
--     `throttling.py`, `bucket.py`, mirrored exactly): a CUBIC estimate of
--     the rate AWS allows, a token bucket at that rate, and the measured
--     send rate. It stays off until the key's first throttling answer, and
--     only clients in `adaptive` or `long` retry mode feed it
--     (`on_response(key, throttled)`: the client's retry classification
--     decides what is throttling, nothing here reads response bodies).
--   A request reserves a token of both (`reserve`); the answer is how long
--   to wait before sending, so waiting callers are served in arrival order
--   without polling.
-- @module kumo.ratelimit
local ratelimit = {}

--- Defaults (see `ratelimit.new`).
ratelimit.DEFAULTS = {
  max_total = 64,   -- requests in flight, all hosts
  max_host = 32,    -- requests in flight to one host
  rate = 100,       -- ceiling: requests per second per key
  burst = 100,      -- ceiling: requests that may go at once after a pause
  min_rate = 0.5,   -- the adaptive bucket never fills slower (botocore's _MIN_RATE)
}

local floor = math.floor

local function monotonic()
  return require("kumo.clock").monotonic()
end

-- botocore's adaptive parts --------------------------------------------------

--- CUBIC rate estimator (botocore `throttling.CubicCalculator`).
-- @type Cubic
local Cubic = {}
Cubic.__index = Cubic
local SCALE_CONSTANT, BETA = 0.4, 0.7

--- Make one.
-- @tparam number starting_max_rate
-- @tparam number start_time
-- @treturn Cubic
function ratelimit.cubic(starting_max_rate, start_time)
  local c = setmetatable({ w_max = starting_max_rate, last_fail = start_time }, Cubic)
  c.k = c:zero_point()
  return c
end

--- The time after a failure when the rate is back at `w_max`.
function Cubic:zero_point()
  return ((self.w_max * (1 - BETA)) / SCALE_CONSTANT) ^ (1 / 3)
end

--- The rate allowed at `t` after no throttling since the last one.
function Cubic:success_received(t)
  return SCALE_CONSTANT * (t - self.last_fail - self.k) ^ 3 + self.w_max
end

--- A throttle at `t` while sending at `rate`: the new rate (`rate` x 0.7).
function Cubic:error_received(rate, t)
  self.w_max = rate
  self.k = self:zero_point()
  self.last_fail = t
  return rate * BETA
end

--- Measured rate of answers (botocore `adaptive.RateClocker`): counted
-- in half-second buckets, smoothed 0.8.
-- @type RateClocker
local RateClocker = {}
RateClocker.__index = RateClocker
local SMOOTHING, BUCKET_SCALE = 0.8, 2 -- 1 / _TIME_BUCKET_RANGE (0.5 s)

--- Make one.
-- @tparam number now
-- @treturn RateClocker
function ratelimit.rate_clocker(now)
  return setmetatable({ measured_rate = 0, last_bucket = floor(now), count = 0 }, RateClocker)
end

--- Count one answer at `t`; the measured rate.
-- @tparam number t
-- @treturn number
function RateClocker:record(t)
  local b = floor(t * BUCKET_SCALE) / BUCKET_SCALE
  self.count = self.count + 1
  if b > self.last_bucket then
    local current = self.count / (b - self.last_bucket)
    self.measured_rate = current * SMOOTHING + self.measured_rate * (1 - SMOOTHING)
    self.count = 0
    self.last_bucket = b
  end
  return self.measured_rate
end

--- Token bucket (botocore `bucket.TokenBucket`); `capacity` may go below
-- zero through `reserve` (the queue of reservations ahead).
-- @type TokenBucket
local TokenBucket = {}
TokenBucket.__index = TokenBucket

--- Make one (empty, as botocore's).
-- @tparam number max_rate
-- @tparam number now
-- @tparam[opt=0.5] number min_rate
-- @treturn TokenBucket
function ratelimit.token_bucket(max_rate, now, min_rate)
  local b = setmetatable({ capacity = 0, min_rate = min_rate or 0.5 }, TokenBucket)
  b:set_max_rate(max_rate, now)
  return b
end

function TokenBucket:refill(t)
  local last = self.last
  if last == nil then self.last = t return end
  local c = self.capacity + (t - last) * self.fill_rate
  self.capacity = c < self.max_capacity and c or self.max_capacity
  self.last = t
end

--- botocore's `max_rate` setter: refill at the old rate, then change.
function TokenBucket:set_max_rate(v, t)
  self:refill(t)
  self.fill_rate = v > self.min_rate and v or self.min_rate
  self.max_capacity = v >= 1 and v or 1
  if self.capacity > self.max_capacity then self.capacity = self.max_capacity end
end

--- Take one token if there is one (botocore's `acquire(block=False)`).
-- @treturn boolean
function TokenBucket:try_take(t)
  self:refill(t)
  if self.capacity >= 1 then
    self.capacity = self.capacity - 1
    return true
  end
  return false
end

--- Take one token now and say how long to wait for it (botocore's blocking
-- `acquire`, without blocking).
-- @treturn number seconds
function TokenBucket:reserve(t)
  self:refill(t)
  self.capacity = self.capacity - 1
  if self.capacity >= 0 then return 0 end
  return -self.capacity / self.fill_rate
end

--- botocore's `ClientRateLimiter` for one key.
-- @type Adaptive
local Adaptive = {}
Adaptive.__index = Adaptive
local MAX_RATE_ADJUST_SCALE = 2

--- Make one (off until its first throttle).
-- @tparam number now
-- @tparam[opt] number min_rate
-- @treturn Adaptive
function ratelimit.adaptive(now, min_rate)
  return setmetatable({ cubic = ratelimit.cubic(0, now), clocker = ratelimit.rate_clocker(now),
    bucket = ratelimit.token_bucket(1, now, min_rate), enabled = false }, Adaptive)
end

--- Before sending (botocore's `on_sending_request`): seconds to wait.
function Adaptive:on_sending(t)
  if self.enabled then return self.bucket:reserve(t) end
  return 0
end

--- After an answer (botocore's `on_receiving_response`).
-- @tparam boolean throttled as the client classified it
-- @tparam number t
-- @treturn number the bucket's new max rate
function Adaptive:on_response(throttled, t)
  local measured = self.clocker:record(t)
  local new_rate
  if not throttled then
    new_rate = self.cubic:success_received(t)
  else
    local rate = measured
    if self.enabled and self.bucket.fill_rate < rate then rate = self.bucket.fill_rate end
    new_rate = self.cubic:error_received(rate, t)
    self.enabled = true
  end
  local cap = MAX_RATE_ADJUST_SCALE * measured
  self.bucket:set_max_rate(new_rate < cap and new_rate or cap, t)
  return self.bucket.fill_rate
end

-- The limiter ------------------------------------------------------------------

local KNOWN = { max_total = 1, max_host = 1, rate = 0.001, burst = 1, min_rate = 0.001 }

local function check_opts(opts)
  for k, v in pairs(opts) do
    local min = KNOWN[k]
    if min then
      if type(v) ~= "number" or v ~= v or v < min then
        error(string.format("ratelimit: %s must be a number >= %s (got %s)", k, min, tostring(v)), 3)
      end
    elseif k == "rates" then
      if type(v) ~= "table" then
        error("ratelimit: rates must be a table { [key or pattern] = { rate =, burst = } }", 3)
      end
      for key, r in pairs(v) do
        if type(r) ~= "table" or (r.rate ~= nil and (type(r.rate) ~= "number" or r.rate < 0.001))
            or (r.burst ~= nil and (type(r.burst) ~= "number" or r.burst < 1)) then
          error(string.format("ratelimit: rates[%q] must be { rate = n >= 0.001, burst = n >= 1 }",
            tostring(key)), 3)
        end
      end
    elseif k ~= "now" then
      error(string.format("ratelimit: unknown limit %q (known: burst, max_host, max_total, "
        .. "min_rate, now, rate, rates)", tostring(k)), 3)
    end
  end
end

--- A limiter.
-- @type Limiter
local Limiter = {}
Limiter.__index = Limiter

--- Make a limiter.
-- @tparam[opt] table opts `max_total`, `max_host`, `rate`, `burst`, `min_rate`
--   (see `ratelimit.DEFAULTS`); `rates`: per key ceilings
--   `{ ["123456789012/rds/us-east-1"] = { rate = 5, burst = 10 } }`, where a
--   key may also be a Lua pattern matched against the whole key
--   (`["^.*/sts/"] = {...}`); `now`: the clock (monotonic seconds), for tests
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

--- Change limits (only the fields given). Existing keys keep their state
-- (and what the adaptive limiter learnt) but take the new ceiling.
-- @tparam table opts as for `ratelimit.new`
function Limiter:configure(opts)
  check_opts(opts)
  for k in pairs(ratelimit.DEFAULTS) do
    if opts[k] ~= nil then self[k] = opts[k] end
  end
  if opts.rates then self.rates = opts.rates end
  if opts.now then self.now = opts.now end
  for key, b in pairs(self.buckets) do
    b.rate, b.burst = self:limits_for(key)
    if b.tokens > b.burst then b.tokens = b.burst end
    b.adaptive.bucket.min_rate = self.min_rate
  end
end

--- The configured ceiling of `key`.
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

-- Per-key rates ----------------------------------------------------------------

local function bucket(self, key, now)
  local b = self.buckets[key]
  if not b then
    local rate, burst = self:limits_for(key)
    b = { rate = rate, burst = burst, tokens = burst, last = now, throttles = 0, requests = 0,
      delayed = 0, waited = 0, second = floor(now), in_second = 0, peak_per_second = 0,
      adaptive = ratelimit.adaptive(now, self.min_rate) }
    self.buckets[key] = b
  end
  return b
end

local function refill(b, now)
  local dt = now - b.last
  if dt > 0 then
    local tokens = b.tokens + dt * b.rate
    b.tokens = tokens < b.burst and tokens or b.burst
    b.last = now
  end
end

--- Reserve one request of `key`: how long the caller must wait before
-- sending (the later of the ceiling's and the adaptive bucket's answers).
-- Buckets may go negative: that is the queue of reservations ahead, so
-- concurrent callers are spaced `1/rate` apart in arrival order.
-- @tparam string key e.g. `"123456789012/rds/us-east-1"`
-- @tparam[opt] number now
-- @treturn number seconds to wait (0: send now)
function Limiter:reserve(key, now)
  now = now or self.now()
  local b = bucket(self, key, now)
  refill(b, now)
  b.tokens = b.tokens - 1
  b.requests = b.requests + 1
  local wait = b.tokens >= 0 and 0 or -b.tokens / b.rate
  local aw = b.adaptive:on_sending(now)
  if aw > wait then wait = aw end
  -- what the limiter itself cost: requests it held back, and for how long;
  -- and the most requests reserved within one second (of the clock)
  if wait > 0 then
    b.delayed = b.delayed + 1
    b.waited = b.waited + wait
  end
  local sec = floor(now + wait)
  if sec ~= b.second then b.second, b.in_second = sec, 0 end
  b.in_second = b.in_second + 1
  if b.in_second > b.peak_per_second then b.peak_per_second = b.in_second end
  return wait
end

--- Record an answer for `key` (clients in adaptive or long retry mode call
-- this after every attempt that got an answer).
--
-- With `sent_at` (long mode), a throttle of a request sent before the key's
-- last rate cut is counted but does not cut again: it reports the rate that
-- was already cut (TCP's one reduction per round trip). Without it every
-- throttle cuts, as botocore does; with many requests in flight that
-- compounds (0.7, 0.49, 0.34... of the measured rate) down to `min_rate`.
-- @tparam string key
-- @tparam boolean throttled whether the client classified it as throttling
-- @tparam[opt] number now
-- @tparam[opt] number sent_at when the request was sent (this limiter's clock)
-- @treturn number the adaptive bucket's rate now
function Limiter:on_response(key, throttled, now, sent_at)
  now = now or self.now()
  local b = bucket(self, key, now)
  local a = b.adaptive
  if throttled then
    b.throttles = b.throttles + 1
    self.throttles = self.throttles + 1
    if sent_at and b.cut_at and sent_at < b.cut_at then
      a.clocker:record(now)
      return a.bucket.fill_rate
    end
    b.cut_at = now
  end
  return a:on_response(throttled and true or false, now)
end

--- Record a throttling answer for `key` (`on_response(key, true)`).
-- @tparam string key
-- @tparam[opt] number now
-- @treturn boolean true
function Limiter:on_throttle(key, now)
  self:on_response(key, true, now)
  return true
end

--- The state of `key` (nil if never used).
-- @tparam string key
-- @treturn table|nil `{ rate=, ceiling=, burst=, tokens=, adaptive=, measured_rate=,
--   throttles=, requests=, delayed=, waited=, peak_per_second= }` where `rate` is
--   the effective rate (the adaptive one when it is on and lower than the
--   ceiling), `delayed` the requests the limiter held back, `waited` their
--   seconds held back in all, `peak_per_second` the most sent in one second
function Limiter:bucket(key)
  local b = self.buckets[key]
  if not b then return nil end
  refill(b, self.now())
  local a = b.adaptive
  local rate = b.rate
  if a.enabled and a.bucket.fill_rate < rate then rate = a.bucket.fill_rate end
  return { rate = rate, ceiling = b.rate, burst = b.burst, tokens = b.tokens,
    adaptive = a.enabled, adaptive_rate = a.bucket.fill_rate,
    measured_rate = a.clocker.measured_rate, throttles = b.throttles, requests = b.requests,
    delayed = b.delayed, waited = b.waited, peak_per_second = b.peak_per_second }
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

--- Tell the process-wide limiter about an answer for `key`.
-- @tparam string key
-- @tparam boolean throttled
-- @tparam[opt] number sent_at `ratelimit.now()` before the request (see `Limiter:on_response`)
-- @treturn number|nil the key's adaptive rate
function ratelimit.on_response(key, throttled, sent_at)
  if type(key) ~= "string" then return nil end
  return ratelimit.default():on_response(key, throttled, nil, sent_at)
end

--- The process-wide limiter's clock (monotonic seconds).
-- @treturn number
function ratelimit.now()
  return ratelimit.default().now()
end

--- Tell the process-wide limiter that `key` was throttled.
-- @tparam string key
-- @treturn boolean whether it was recorded
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
ratelimit.Cubic = Cubic
ratelimit.RateClocker = RateClocker
ratelimit.TokenBucket = TokenBucket
ratelimit.Adaptive = Adaptive

return ratelimit
