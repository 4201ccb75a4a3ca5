--- kumo.credentials.imds: EC2 instance metadata credentials (IMDSv2).
-- A session token (`PUT /latest/api/token`, TTL 21600 s) is fetched first
-- and sent as `x-aws-ec2-metadata-token`; an IMDS that answers 403/404/405
-- to the PUT is used without a token (IMDSv1) unless
-- `AWS_EC2_METADATA_V1_DISABLED` / `ec2_metadata_v1_disabled` is true.
-- Settings (environment over profile): `AWS_EC2_METADATA_DISABLED`,
-- `AWS_EC2_METADATA_SERVICE_ENDPOINT` / `ec2_metadata_service_endpoint`,
-- `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE` / `ec2_metadata_service_endpoint_mode`
-- (IPv4 | IPv6), `AWS_METADATA_SERVICE_TIMEOUT` / `metadata_service_timeout`
-- (1 s), `AWS_METADATA_SERVICE_NUM_ATTEMPTS` / `metadata_service_num_attempts` (1).
-- Credentials IMDS hands out already inside the refresh window are used a
-- while longer ("static stability", as botocore does).
-- @module kumo.credentials.imds
local creds = require "kumo.credentials.creds"
local cache = require "kumo.credentials.cache"
local fetch = require "kumo.credentials.fetch"

local M = {
  ENDPOINT_IPV4 = "http://169.254.169.254",
  ENDPOINT_IPV6 = "http://[fd00:ec2::254]",
  TOKEN_TTL = 21600,
  CREDS_PATH = "/latest/meta-data/iam/security-credentials/",
}

local Imds = {}
Imds.__index = Imds

local function truthy(v)
  return type(v) == "string" and v:lower() == "true"
end

--- @param ctx a credentials context (uses `ctx.view`, `ctx.profile`, `ctx.warn`)
function M.new(ctx)
  local view, p = ctx.view, ctx.profile
  local function setting(key, envvar) return view:get(p, key, envvar) end
  local mode = setting("ec2_metadata_service_endpoint_mode", "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE")
  local endpoint = setting("ec2_metadata_service_endpoint", "AWS_EC2_METADATA_SERVICE_ENDPOINT")
  if not endpoint then
    if (mode and mode:lower() == "ipv6") or truthy(setting("imds_use_ipv6", "AWS_IMDS_USE_IPV6")) then
      endpoint = M.ENDPOINT_IPV6
    else
      endpoint = M.ENDPOINT_IPV4
    end
  end
  endpoint = endpoint:gsub("/+$", "")
  local timeout = tonumber(setting("metadata_service_timeout", "AWS_METADATA_SERVICE_TIMEOUT") or 1)
  local attempts = math.tointeger(tonumber(setting("metadata_service_num_attempts",
    "AWS_METADATA_SERVICE_NUM_ATTEMPTS") or 1))
  if not timeout or timeout <= 0 then
    error("metadata_service_timeout / AWS_METADATA_SERVICE_TIMEOUT must be a positive number of seconds", 0)
  end
  if not attempts or attempts < 1 then
    error("metadata_service_num_attempts / AWS_METADATA_SERVICE_NUM_ATTEMPTS must be a positive integer", 0)
  end
  local self = setmetatable({
    name = "imds", label = "EC2 instance metadata (" .. endpoint .. ")",
    endpoint = endpoint, timeout = timeout, attempts = attempts,
    disabled = truthy(ctx.getenv("AWS_EC2_METADATA_DISABLED")),
    v1_disabled = truthy(setting("ec2_metadata_v1_disabled", "AWS_EC2_METADATA_V1_DISABLED")),
    now = creds.now,
    requests = 0,
  }, Imds)
  self.cache = cache.new{ name = "instance metadata credentials", warn = ctx.warn,
    advisory = ctx.advisory, mandatory = ctx.mandatory,
    fetch = function() return self:fetch() end }
  return self
end

function Imds:request(method, path, headers)
  self.requests = self.requests + 1
  return fetch.request({ method = method, url = self.endpoint .. path, headers = headers or {},
    timeout = self.timeout, connect_timeout = self.timeout },
    { attempts = self.attempts, retry_status = function(s) return s >= 500 end })
end

--- The IMDSv2 token, or nil for IMDSv1; raises when unreachable.
function Imds:token()
  local res, why, errres = self:request("PUT", "/latest/api/token",
    { { "x-aws-ec2-metadata-token-ttl-seconds", tostring(M.TOKEN_TTL) } })
  if res then return res.body end
  local status = errres and errres.status
  if (status == 403 or status == 404 or status == 405) and not self.v1_disabled then
    return nil          -- an IMDSv1-only service
  end
  if status and self.v1_disabled then
    error(string.format("instance metadata: token request failed (%s) and IMDSv1 is disabled "
      .. "(ec2_metadata_v1_disabled)", why), 0)
  end
  return false, why
end

--- Fetch credentials, or nil and a reason when IMDS is unreachable.
function Imds:try_fetch()
  local token, why = self:token()
  if token == false then
    return nil, string.format("%s not reachable: %s", self.endpoint, why)
  end
  local headers = token and { { "x-aws-ec2-metadata-token", token } } or {}
  local res, why2 = self:request("GET", M.CREDS_PATH, headers)
  if not res then
    return nil, string.format("no instance role at %s%s (%s)", self.endpoint, M.CREDS_PATH, why2)
  end
  local role = res.body:match("^%s*([^\r\n]+)")
  if not role then return nil, "the instance has no IAM role attached" end
  local res2, why3 = self:request("GET", M.CREDS_PATH .. role, headers)
  if not res2 then
    error(string.format("instance metadata: GET %s%s%s failed: %s", self.endpoint, M.CREDS_PATH, role, why3), 0)
  end
  local t = fetch.decode(res2.body, "instance metadata credentials for role " .. role)
  if t.Code and t.Code ~= "Success" then
    error(string.format("instance metadata: role %s: %s", role, tostring(t.Code)), 0)
  end
  local c = creds.new{
    access_key_id = t.AccessKeyId, secret_access_key = t.SecretAccessKey, session_token = t.Token,
    expiration = t.Expiration, account_id = t.AccountId,
    source = string.format("instance metadata (role %s)", role),
  }
  -- Static stability: IMDS may hand out credentials about to expire (or
  -- expired) during an outage; use them a while longer rather than fail.
  local now = self.now()
  if c.expiration and c.expiration - now < 15 * 60 then
    local extended = now + 15 * 60 + math.random(120, 600)
    c = creds.new{ access_key_id = c.access_key_id, secret_access_key = c.secret_access_key,
      session_token = c.session_token, account_id = c.account_id, expiration = extended,
      source = c.source .. ", expiry extended" }
  end
  return c
end

function Imds:fetch()
  local c, why = self:try_fetch()
  if not c then error("instance metadata: " .. why, 0) end
  return c
end

--- Credentials, or nil and a reason (disabled, unreachable, no role).
function Imds:load()
  if self.disabled then return nil, "disabled by AWS_EC2_METADATA_DISABLED" end
  if self.cache.creds then return self.cache:get() end
  local c, why = self:try_fetch()
  if not c then return nil, why end
  self.cache.creds = c
  self.cache.lifetime = c.expiration and (c.expiration - self.now()) or nil
  return self.cache:get()
end

function Imds:get()
  local c, why = self:load()
  if not c then error("instance metadata: " .. why, 0) end
  return c
end

function Imds:invalidate() self.cache:invalidate() end

return M
