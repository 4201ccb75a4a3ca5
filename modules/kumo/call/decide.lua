--- kumo.call.decide: the retry decision after an attempt of a call.
--
-- After a failed attempt: the retry policy (kumo.retry) classifies the
-- error — retryable or not, throttling or not; this is the one place kumo
-- decides what throttling is — and answers with a delay or "give up";
-- expired credentials are refreshed once and the call resent (the SDKs'
-- InvalidateCredentials). Either way, in `adaptive` and `long` modes the
-- outcome feeds the rate limiter of the attempt's key (kumo.ratelimit).
-- @module kumo.call.decide
local ratelimit = require "kumo.ratelimit"

local decide = {}

--- Error codes that mean "these credentials expired": refresh and resend.
decide.EXPIRED = { ExpiredToken = true, ExpiredTokenException = true, RequestExpired = true }

--- Codes of credentials the service does not know. Credentials read from the
-- disk cache (~/.aws/cli/cache) can be refused so: a session revoked, or made
-- by another endpoint under the same cache key (the key holds the role and
-- session name, not the endpoint, as the AWS CLI's). Then the provider drops
-- the cache entry and the call is tried once more with a fresh session.
decide.REFUSED = { InvalidClientTokenId = true, UnrecognizedClientException = true,
  AuthFailure = true, InvalidAccessKeyId = true }

--- A call succeeded: refund the retry quota, tell the limiter.
-- @tparam table p the prepared call (kumo.call.prepare)
-- @tparam table state the call's retry state (`{}` at the first attempt)
-- @tparam number status the final HTTP status
-- @tparam string limit_key the attempt's rate key
-- @tparam[opt] number sent_at (long mode) when the attempt was sent
function decide.succeeded(p, state, status, limit_key, sent_at)
  local policy = p.policy
  policy:finish(state, status)
  if policy.adaptive then ratelimit.on_response(limit_key, false, sent_at) end
end

--- An attempt failed: when to try again, if at all.
-- Classifies `err` (sets `retryable`, `throttling`, and on giving up
-- `retries_exhausted` with `throttled` or `unavailable`) and takes retry quota
-- when retrying.
-- @tparam table p the prepared call
-- @tparam table state the call's retry state (`state.elapsed` kept by the caller)
-- @tparam number n the attempt that failed (1-based)
-- @tparam table err the attempt's error (kumo.call.classify)
-- @tparam[opt] table res the HTTP response (nil on transport errors)
-- @tparam[opt] table provider the credentials provider (nil for unsigned calls)
-- @tparam string limit_key the attempt's rate key
-- @tparam[opt] number sent_at (long mode) when the attempt was sent
-- @treturn number|nil delay before the next attempt, or nil: give up
-- @treturn number|nil when giving up, a delay to sleep anyway (2026 long polling)
function decide.failed(p, state, n, err, res, provider, limit_key, sent_at)
  local policy = p.policy
  local delay, sleep_anyway = policy:decide(state, n, err, res, p.entry.modeled, p.op)
  if policy.adaptive then ratelimit.on_response(limit_key, err.throttling, sent_at) end
  if not delay and not state.refreshed and err.kind == "service" and decide.EXPIRED[err.code]
      and provider and provider.invalidate then
    state.refreshed = true
    provider:invalidate()
    delay = 0
  elseif not delay and not state.refreshed and err.kind == "service" and decide.REFUSED[err.code]
      and provider and provider.invalidate then
    state.refreshed = true
    if provider:invalidate("refused") == "from disk cache" then delay = 0 end
  end
  return delay, sleep_anyway
end

return decide
