--- kumo.retry: when to retry a failed AWS call, and how long to wait.
--
-- Three modes, with botocore 1.43's exact rules (`botocore/retries/standard.py`,
-- `quota.py`, `special.py`, `retryhandler.py` + `data/_retry.json`):
--
-- * `standard` (kumo's default, as in the AWS CLI v2): 3 attempts; retries
--   transient codes, HTTP 500/502/503/504, transport errors, throttling codes,
--   errors modelled `retryable`, STS `IDPCommunicationError`; delay
--   `rand × min(2^(attempt-1), 20)` s; a retry quota of 500 (a retry costs 5,
--   a timeout retry 10; a success refunds 1, or the last cost after retries).
-- * `standard` with `AWS_NEW_RETRIES_2026=true`: delay
--   `rand × min(base × 2^(attempt-1), 20)` with base 1 s for throttling and
--   50 ms otherwise (25 ms DynamoDB), `x-amz-retry-after` (ms) honoured within
--   `[t, t + 5 s]`, quota cost 5 (throttling) / 14 (other), DynamoDB 4 attempts,
--   long-polling operations still sleep `t` when the quota is empty.
-- * `legacy` (botocore's `_retry.json`): 5 attempts, no quota, delay
--   `rand × 2^(attempt-1)` with no cap, its own status/code table.
--
-- * `adaptive`: standard's decisions, and the client feeds every answer to
--   its key's adaptive rate limiter (kumo.ratelimit: botocore's CUBIC
--   limiter, per account/service/region, shared by the whole process).
-- * `long` (kumo's own, for long runs; option only): adaptive's limiter and
--   standard's classification (plus a bare HTTP 429 as throttling), but no
--   attempt count and no retry quota: a call is retried until its
--   `retry_budget` (default 120 s from its first attempt) would be passed;
--   delay `rand × min(base × 2^(attempt-1), 20)`, base 1 s for throttling and
--   50 ms otherwise, `x-amz-retry-after` honoured as in 2026 mode.
--
-- When a retryable error is given up on (attempts, quota or budget), it is
-- marked `retries_exhausted = true` and `throttled = true` or
-- `unavailable = true` (kumo.errors words it as AWS's doing).
--
-- Configuration, first found wins: explicit `retry_mode` / `max_attempts`
-- (call, client or session option) → `AWS_RETRY_MODE` / `AWS_MAX_ATTEMPTS` →
-- profile keys `retry_mode` / `max_attempts` → defaults. `long` and
-- `retry_budget` are options only (the AWS CLI reads the same variables and
-- profile keys and would refuse `long`); in long mode only an explicit
-- `max_attempts` option caps the attempts.
-- @module kumo.retry
local retry = {}

local function set(list)
  local t = {}
  for _, v in ipairs(list) do t[v] = true end
  return t
end

--- Transient error codes (standard mode).
retry.TRANSIENT_CODES = set{ "RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete" }
--- Transient HTTP statuses (standard mode).
retry.TRANSIENT_STATUS = set{ 500, 502, 503, 504 }
--- Throttling error codes (standard mode; the union botocore knows).
retry.THROTTLING_CODES = set{
  "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
  "TooManyRequestsException", "ProvisionedThroughputExceededException",
  "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
  "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
  "EC2ThrottledException",
}
--- Transport failures that are timeouts (a standard-mode retry of one costs 10).
retry.TIMEOUT_CODES = set{ "CURLE_OPERATION_TIMEDOUT" }

-- Legacy mode (`_retry.json`): named policies, a status alone or a (code,
-- status) pair; a service's policies replace the default ones of the same
-- name (organizations' too_many_requests is TooManyRequestsException/400,
-- so a bare 429 is not retried there), as botocore's merge does.
local LEGACY_DEFAULT = {
  general_server_error = { 500 }, bad_gateway = { 502 }, service_unavailable = { 503 },
  gateway_timeout = { 504 }, limit_exceeded = { 509 }, too_many_requests = { 429 },
  throttling_exception = { 400, "ThrottlingException" }, throttled_exception = { 400, "ThrottledException" },
  request_throttled_exception = { 400, "RequestThrottledException" }, throttling = { 400, "Throttling" },
  throughput_exceeded = { 400, "ProvisionedThroughputExceededException" },
}
local LEGACY_SERVICE = {
  organizations = { too_many_requests = { 400, "TooManyRequestsException" } },
  dynamodb = { write_conflict = { 409, "ReplicatedWriteConflictException" },
    still_processing = { 400, "TransactionInProgressException" } },
  ec2 = { request_limit_exceeded = { 503, "RequestLimitExceeded" },
    ec2_throttled_exception = { 503, "EC2ThrottledException" } },
  cloudsearch = { request_limit_exceeded = { 509, "BandwidthLimitExceeded" } },
  kinesis = { request_limit_exceeded = { 400, "LimitExceededException" } },
  sqs = { request_limit_exceeded = { 403, "RequestThrottled" } },
  s3 = { timeouts = { 400, "RequestTimeout" }, contentmd5 = { 400, "BadDigest" } },
  glacier = { timeouts = { 408, "RequestTimeoutException" } },
  route53 = { request_limit_exceeded = { 400, "Throttling" }, still_processing = { 400, "PriorRequestNotComplete" } },
  sts = { idp_unreachable_error = { 400, "IDPCommunicationError" } },
}

-- The legacy rules of one service: `status → true` and `status → { code → true }`.
local legacy_rules_cache = {}
local function legacy_rules(service)
  local key = service or ""
  local r = legacy_rules_cache[key]
  if r then return r end
  local merged = {}
  for name, rule in pairs(LEGACY_DEFAULT) do merged[name] = rule end
  for name, rule in pairs(LEGACY_SERVICE[service] or {}) do merged[name] = rule end
  r = { status = {}, pairs = {} }
  for _, rule in pairs(merged) do
    local status, code = rule[1], rule[2]
    if code then
      r.pairs[status] = r.pairs[status] or {}
      r.pairs[status][code] = true
    else
      r.status[status] = true
    end
  end
  legacy_rules_cache[key] = r
  return r
end
local LEGACY_SERVICE_CONFIG = { dynamodb = { max_attempts = 10, base = 0.05 } }

local SERVICE_MAX_ATTEMPTS_2026 = { dynamodb = 4, ["dynamodb-streams"] = 4 }
local SERVICE_BASE_2026 = { dynamodb = 0.025, ["dynamodb-streams"] = 0.025 }
local LONG_POLLING = {
  sqs = set{ "ReceiveMessage" }, sfn = set{ "GetActivityTask" },
  swf = set{ "PollForActivityTask", "PollForDecisionTask" },
}

local MAX_BACKOFF = 20
local RETRY_AFTER_MAX_ADDITIONAL = 5
local QUOTA_CAPACITY = 500
local RETRY_COST, RETRY_COST_2026, THROTTLING_RETRY_COST = 5, 14, 5
local TIMEOUT_RETRY_COST, NO_RETRY_INCREMENT = 10, 1

--- A retry quota (token bucket of retry capacity).
-- @type Quota
local Quota = {}
Quota.__index = Quota

--- Make a quota.
-- @tparam[opt=500] number capacity
-- @treturn Quota
function retry.quota(capacity)
  capacity = capacity or QUOTA_CAPACITY
  return setmetatable({ capacity = capacity, available = capacity }, Quota)
end

--- Take `amount` if available.
-- @treturn boolean
function Quota:acquire(amount)
  if amount > self.available then return false end
  self.available = self.available - amount
  return true
end

--- Give back up to `amount` (never above the capacity).
function Quota:release(amount)
  local room = self.capacity - self.available
  if room > 0 then self.available = self.available + (amount < room and amount or room) end
end

local function truthy(v)
  if v == nil then return nil end
  if type(v) == "boolean" then return v end
  return tostring(v):lower() == "true"
end

--- The default time budget of a call in long mode (seconds).
retry.LONG_BUDGET = 120

--- Resolve the retry configuration.
-- @tparam table sources `{ explicit = {retry_mode=, max_attempts=, retry_budget=},
--   getenv = fn, profile = table }`
-- @treturn table `{ mode=, max_attempts= (nil = mode default), new_2026=, budget= }`
-- @raise a clear message naming the source of a bad value
function retry.config(sources)
  local explicit = sources.explicit or {}
  local getenv = sources.getenv or os.getenv
  local profile = sources.profile or {}
  local function pick(key, env)
    if explicit[key] ~= nil then return explicit[key], key .. " option" end
    local v = getenv(env)
    if v ~= nil and v ~= "" then return v, env end
    if profile[key] ~= nil then return profile[key], "profile key " .. key end
    return nil
  end
  local new_2026 = truthy(explicit.new_retries_2026)
  if new_2026 == nil then new_2026 = truthy(getenv("AWS_NEW_RETRIES_2026")) or false end
  local mode, msrc = pick("retry_mode", "AWS_RETRY_MODE")
  mode = mode and tostring(mode):lower() or "standard"
  if mode == "long" and msrc ~= "retry_mode option" then
    error(string.format("retry mode \"long\" (from %s) is kumo's own: set it with the retry_mode "
      .. "option (aws.session{ retry_mode = \"long\" }); the AWS CLI reads %s too and refuses it",
      msrc, msrc), 0)
  end
  if mode ~= "standard" and mode ~= "legacy" and mode ~= "adaptive" and mode ~= "long" then
    error(string.format("retry mode %q (from %s) is not one of standard, legacy, adaptive, long",
      mode, msrc), 0)
  end
  local max, asrc
  if mode == "long" then
    max, asrc = explicit.max_attempts, "max_attempts option"
  else
    max, asrc = pick("max_attempts", "AWS_MAX_ATTEMPTS")
  end
  if max ~= nil then
    local n = tonumber(max)
    if not n or n < 1 or n ~= math.floor(n) then
      error(string.format("max_attempts %q (from %s) must be an integer >= 1", tostring(max), asrc), 0)
    end
    max = n
  end
  local budget = explicit.retry_budget
  if budget ~= nil and (type(budget) ~= "number" or budget ~= budget or budget <= 0) then
    error(string.format("retry_budget %q (option) must be seconds > 0, e.g. retry_budget = 300",
      tostring(budget)), 0)
  end
  if mode == "long" and budget == nil then budget = retry.LONG_BUDGET end
  return { mode = mode, max_attempts = max, new_2026 = new_2026, budget = budget }
end

--- A retry policy for one client.
-- @type Policy
local Policy = {}
Policy.__index = Policy

--- Make a policy.
-- @tparam table cfg from `retry.config`, plus `service` (endpoint prefix,
--   e.g. `"rds"`), `quota` (shared `Quota`; made when absent), `random`
--   (a function returning [0,1), for tests)
-- @treturn Policy with fields `mode`, `max_attempts`, `budget` (seconds or
--   nil), `adaptive` (whether answers feed the rate limiter), `quota`
function retry.policy(cfg)
  local p = setmetatable({
    mode = cfg.mode or "standard",
    new_2026 = cfg.new_2026 and true or false,
    service = cfg.service,
    random = cfg.random or math.random,
    budget = cfg.budget,
  }, Policy)
  p.adaptive = p.mode == "adaptive" or p.mode == "long"
  if p.mode == "long" then
    p.max_attempts = cfg.max_attempts or math.huge
    p.budget = p.budget or retry.LONG_BUDGET
  elseif p.mode == "legacy" then
    local sc = LEGACY_SERVICE_CONFIG[p.service] or {}
    p.max_attempts = cfg.max_attempts or sc.max_attempts or 5
    p.legacy_base = sc.base
    p.legacy = legacy_rules(p.service)
  else
    p.max_attempts = cfg.max_attempts
      or (p.new_2026 and SERVICE_MAX_ATTEMPTS_2026[p.service]) or 3
    p.quota = cfg.quota or retry.quota()
  end
  return p
end

--- Is this a throttling error (code list, or modelled `retryable.throttling`)?
-- @tparam table err a kumo error
-- @tparam[opt] table modeled map code → `{throttling=bool}` of the operation's retryable errors
-- @treturn boolean
function retry.is_throttling(err, modeled)
  local code = err.code
  if code == nil or err.kind ~= "service" then return false end
  if retry.THROTTLING_CODES[code] then return true end
  local m = modeled and modeled[code]
  return m ~= nil and m.throttling == true
end

-- standard mode's "is retryable" (without the attempt count).
local function standard_retryable(self, err, modeled)
  if err.kind == "transport" then return true end
  if err.kind ~= "service" and err.kind ~= "parse" then return false end
  local code = err.code
  if code and retry.TRANSIENT_CODES[code] then return true end
  if err.http_status and retry.TRANSIENT_STATUS[err.http_status] then return true end
  if err.kind ~= "service" then return false end
  if retry.THROTTLING_CODES[code] then return true end
  if modeled and modeled[code] then return true end
  if self.service == "sts" and code == "IDPCommunicationError" then return true end
  return false
end

local function legacy_retryable(self, err)
  if err.kind == "transport" then return true end
  local status = err.http_status
  if not status then return false end
  local rules = self.legacy
  if rules.status[status] then return true end
  local codes = rules.pairs[status]
  return codes ~= nil and err.kind == "service" and err.code ~= nil and codes[err.code] == true
end

--- Mark `err.retryable` and `err.throttling` as this policy sees them
-- (independent of the attempt count).
-- @tparam table err
-- @tparam[opt] table modeled see `retry.is_throttling`
function Policy:classify(err, modeled)
  if self.mode == "legacy" then
    err.retryable = legacy_retryable(self, err)
  else
    err.retryable = standard_retryable(self, err, modeled)
  end
  err.throttling = retry.is_throttling(err, modeled)
  -- long mode: "429 Too Many Requests" is throttling whatever the code says
  if self.mode == "long" and err.kind == "service" and err.http_status == 429 then
    err.retryable, err.throttling = true, true
  end
end

local function retry_after(res)
  local h = res and res.headers
  local v = h and h["x-amz-retry-after"]
  if not v then return nil end
  local n = tonumber(v)
  if not n or n < 0 or n ~= math.floor(n) then return nil end
  return n / 1000
end

--- The backoff before retry number `attempt` (1-based attempt that failed).
-- @tparam number attempt
-- @tparam table err (classified)
-- @tparam[opt] table res the HTTP response, for `x-amz-retry-after`
-- @treturn number seconds
function Policy:delay(attempt, err, res)
  local r = self.random()
  if self.mode == "legacy" then
    return (self.legacy_base or r) * 2 ^ (attempt - 1)
  end
  if not self.new_2026 and self.mode ~= "long" then
    local cap = 2 ^ (attempt - 1)
    return r * (cap < MAX_BACKOFF and cap or MAX_BACKOFF)
  end
  local base = err.throttling and 1 or (SERVICE_BASE_2026[self.service] or 0.05)
  local cap = base * 2 ^ (attempt - 1)
  local t = r * (cap < MAX_BACKOFF and cap or MAX_BACKOFF)
  local ra = retry_after(res)
  if ra then
    local hi = t + RETRY_AFTER_MAX_ADDITIONAL
    if ra > hi then ra = hi end
    if ra > t then return ra end
  end
  return t
end

--- Decide what to do after attempt `attempt` failed with `err`.
-- Classifies `err` first. Takes retry quota when retrying.
-- @tparam table state the call's retry state (a fresh `{}` per call; the
--   caller keeps `state.elapsed` = seconds since the first attempt began)
-- @tparam number attempt 1-based attempt that failed
-- @tparam table err
-- @tparam[opt] table res the HTTP response (nil on transport errors)
-- @tparam[opt] table modeled see `retry.is_throttling`
-- @tparam[opt] string operation the operation name (long-polling rule)
-- @treturn number|nil the delay before the next attempt, or nil: give up
-- @treturn number|nil when giving up, a delay to sleep anyway (2026 long polling)
-- Mark a retryable error given up on: AWS throttled the call, or was unavailable.
local function exhausted(err)
  err.retries_exhausted = true
  if err.throttling then err.throttled = true else err.unavailable = true end
end

function Policy:decide(state, attempt, err, res, modeled, operation)
  self:classify(err, modeled)
  if not err.retryable then return nil end
  if attempt >= self.max_attempts then
    err.max_attempts_reached = true
    exhausted(err)
    return nil
  end
  if self.budget then
    local d = self:delay(attempt, err, res)
    if (state.elapsed or 0) + d > self.budget then
      err.retry_budget_exhausted = true
      exhausted(err)
      return nil
    end
    if self.mode == "long" then return d end
    state.budget_delay = d
  end
  local quota = self.quota
  if quota then
    local cost
    if self.new_2026 then
      cost = err.throttling and THROTTLING_RETRY_COST or RETRY_COST_2026
    elseif err.kind == "transport" and retry.TIMEOUT_CODES[err.code] then
      cost = TIMEOUT_RETRY_COST
    else
      cost = RETRY_COST
    end
    if not quota:acquire(cost) then
      err.retry_quota_exhausted = true
      exhausted(err)
      if self.new_2026 then
        local lp = LONG_POLLING[self.service]
        if lp and operation and lp[operation] then
          return nil, self:delay(attempt, err, res)
        end
      end
      return nil
    end
    state.quota_cost = cost
  end
  local d = state.budget_delay
  if d then state.budget_delay = nil return d end
  return self:delay(attempt, err, res)
end

--- Record a finished call (botocore's `after-call` refund): a 2xx after no
-- retry refunds 1, after retries refunds the last cost.
-- @tparam table state
-- @tparam number status the final HTTP status
function Policy:finish(state, status)
  local quota = self.quota
  if not quota or not status or status < 200 or status >= 300 then return end
  quota:release(state.quota_cost or NO_RETRY_INCREMENT)
end

retry.Policy = Policy
retry.Quota = Quota

return retry
