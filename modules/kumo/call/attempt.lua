--- kumo.call.attempt: one attempt of a prepared call (kumo.call.prepare) —
-- credentials, signature, and the HTTP exchange; nothing about what the
-- answer means (kumo.call.classify) or what to do next (kumo.call.decide).
--
-- Operations the model marks unsigned (`authtype: none`, or `auth` naming
-- only `smithy.api#noAuth`, as STS AssumeRoleWithWebIdentity and
-- AssumeRoleWithSAML) are sent without asking the credentials provider
-- and without an Authorization header, as botocore sends them.
-- @module kumo.call.attempt
local errors = require "kumo.errors"
local sched = require "kumo.sched"
local ratelimit = require "kumo.ratelimit"

local attempt = {}

local unpack = table.unpack

--- The credentials for an attempt, or a `credentials` error naming the call.
-- @tparam table c the client
-- @tparam string op
-- @tparam table provider a credentials provider (`:get()`)
-- @treturn table creds
function attempt.credentials(c, op, provider)
  local ok, creds = pcall(provider.get, provider)
  if ok then return creds end
  if errors.is(creds) then error(creds, 0) end
  errors.raise{ kind = "credentials", code = "NoCredentials", service = c.service_name,
    operation = op, message = tostring(creds) }
end

--- The headers of one attempt: the prepared ones, plus the SigV4 ones
-- unless the operation is unsigned.
-- @tparam table s the session (`sign`, `sign_body_hash`)
-- @tparam table p the prepared call
-- @tparam[opt] table creds nil for unsigned operations
-- @treturn table headers (a fresh list: the signature is per attempt)
function attempt.headers(s, p, creds)
  local base = p.headers
  local n = #base
  local headers = { unpack(base, 1, n) }
  if not creds then return headers end
  local ep = p.endpoint
  local req = {
    method = p.method, url = p.url, headers = headers, body = p.body or "",
    region = ep.signing_region, service = ep.signing_name,
    access_key_id = creds.access_key_id, secret_access_key = creds.secret_access_key,
    session_token = creds.session_token, sign_body_hash_header = s.sign_body_hash,
  }
  local extra = p.sign_opts  -- a service's signing rules (S3: no normalization)
  if extra then for k, v in pairs(extra) do req[k] = v end end
  local add = s.sign(req)
  for i = 1, #add do headers[n + i] = add[i] end
  return headers
end

-- --debug / KUMO_DEBUG=1: the wire log of kumo.cli.wirelog wraps sched.request
local function debug_transport()
  local v = os.getenv("KUMO_DEBUG")
  if v == nil or v == "" or v == "0" then return nil end
  return require("kumo.cli.wirelog").transport
end

--- Send one attempt.
-- @tparam table c the client
-- @tparam table p the prepared call
-- @tparam[opt] table provider the credentials provider (unused when `p.unsigned`)
-- @tparam boolean long long retry mode (the send time is kept for the limiter)
-- @tparam[opt] integer n the attempt's number (for the --debug wire log)
-- @treturn table|nil res the HTTP response
-- @treturn string|nil msg the transport failure
-- @treturn string|nil code curl's error name
-- @treturn string limit_key `"<account>/<service>/<region>"` (kumo.ratelimit's key)
-- @treturn number|nil sent_at (long mode) when the request left
function attempt.send(c, p, provider, long, n)
  local s = c.session
  local creds = not p.unsigned and attempt.credentials(c, p.op, provider) or nil
  local hreq = { method = p.method, url = p.url, headers = attempt.headers(s, p, creds),
    body = p.body, timeout = p.timeout, connect_timeout = p.connect_timeout,
    upload = p.upload, download = p.download,
    ca_bundle = s.ca_bundle }
  local ep = p.endpoint
  -- the rate buckets of kumo.sched: per account (or key), service and region
  local who = creds and (creds.account_id or creds.access_key_id) or "anonymous"
  local limit_key = who .. "/" .. ep.signing_name .. "/" .. ep.signing_region
  -- long mode: a throttle of a request sent before the key's last rate cut
  -- does not cut again (kumo.ratelimit, Limiter:on_response)
  local sent_at = long and ratelimit.now() or nil
  local transport = s.transport or debug_transport()
  local res, msg, code
  if transport then
    res, msg, code = transport(hreq, { limit_key = limit_key, service = c.service_name,
      operation = p.op, attempt = n })
  else
    res, msg, code = sched.request(hreq, { limit_key = limit_key })
  end
  -- a redirect the customization follows at once (S3's region redirect)
  if res and p.redirect and p.redirect(res) then
    return attempt.send(c, p, provider, long, n)
  end
  return res, msg, code, limit_key, sent_at
end

return attempt
