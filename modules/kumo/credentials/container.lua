--- kumo.credentials.container: ECS task / EKS Pod Identity credentials.
-- `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (fetched from
-- http://169.254.170.2) or `AWS_CONTAINER_CREDENTIALS_FULL_URI` (https
-- anywhere; http only to loopback or the container hosts 169.254.170.2,
-- 169.254.170.23, fd00:ec2::23, localhost — botocore's list), with
-- `Authorization` from `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` (wins) or
-- `AWS_CONTAINER_AUTHORIZATION_TOKEN`. 2 s timeout, 3 attempts, 1 s apart.
-- @module kumo.credentials.container
local creds = require "kumo.credentials.creds"
local cache = require "kumo.credentials.cache"
local fetch = require "kumo.credentials.fetch"

local M = {
  HOST = "169.254.170.2",
  ALLOWED_HOSTS = { ["169.254.170.2"] = true, ["169.254.170.23"] = true,
    ["fd00:ec2::23"] = true, ["localhost"] = true },
  TIMEOUT = 2, ATTEMPTS = 3, DELAY = 1,
}

local Container = {}
Container.__index = Container

local function is_loopback(host)
  return host == "::1" or host:match("^127%.%d+%.%d+%.%d+$") ~= nil
end

--- Check a full URI against the allow-list.
-- @return true, or nil and the reason
function M.allowed(url)
  local scheme, host = fetch.parse_url(url)
  if not scheme then return nil, string.format("%q is not a URL", url) end
  if scheme == "https" then return true end
  if scheme ~= "http" then return nil, "scheme must be http or https" end
  if is_loopback(host) or M.ALLOWED_HOSTS[host] then return true end
  return nil, string.format("host %q is not allowed over http: use https, a loopback address "
    .. "or one of 169.254.170.2, 169.254.170.23, fd00:ec2::23, localhost", host)
end

--- @param ctx a credentials context (uses `ctx.getenv`, `ctx.warn`)
function M.new(ctx)
  local self = setmetatable({ name = "container", label = "container credentials (ECS/EKS)",
    getenv = ctx.getenv }, Container)
  self.cache = cache.new{ name = "container credentials", warn = ctx.warn,
    advisory = ctx.advisory, mandatory = ctx.mandatory,
    fetch = function() return self:fetch() end }
  return self
end

local function env(g, name)
  local v = g(name)
  if v == "" then return nil end
  return v
end

--- URL and headers from the environment, or nil and a reason.
function Container:target()
  local g = self.getenv
  local rel, full = env(g, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"), env(g, "AWS_CONTAINER_CREDENTIALS_FULL_URI")
  local url, what
  if rel then
    url, what = "http://" .. M.HOST .. rel, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
  elseif full then
    local ok, why = M.allowed(full)
    if not ok then
      error("container credentials: AWS_CONTAINER_CREDENTIALS_FULL_URI: " .. why, 0)
    end
    url, what = full, "AWS_CONTAINER_CREDENTIALS_FULL_URI"
  else
    return nil, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI not set"
  end
  local headers = { { "Accept", "application/json" } }
  local token
  local file = env(g, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
  if file then
    local t, err = fetch.read_file(file)
    if not t then
      error("container credentials: cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: " .. tostring(err), 0)
    end
    token = t:gsub("%s+$", "")
  else
    token = env(g, "AWS_CONTAINER_AUTHORIZATION_TOKEN")
  end
  if token then
    if token:find("[\r\n]") then
      error("container credentials: the authorization token contains a line break; fix the token"
        .. (file and " file" or ""), 0)
    end
    headers[#headers + 1] = { "Authorization", token }
  end
  return url, what, headers
end

function Container:fetch()
  local url, what, headers = self:target()
  local res, why = fetch.request({ method = "GET", url = url, headers = headers,
    timeout = M.TIMEOUT, connect_timeout = M.TIMEOUT },
    { attempts = M.ATTEMPTS, delay = M.DELAY })
  if not res then
    error(string.format("container credentials: GET %s (from %s) failed: %s", url, what, why), 0)
  end
  local t = fetch.decode(res.body, "container credentials response from " .. url)
  return creds.new{
    access_key_id = t.AccessKeyId, secret_access_key = t.SecretAccessKey,
    session_token = t.Token, expiration = t.Expiration, account_id = t.AccountId,
    source = "container credentials (" .. what .. ")",
  }
end

--- Credentials, or nil and a reason when no container endpoint is set.
function Container:load()
  local url, why = self:target()
  if not url then return nil, why end
  return self.cache:get()
end

function Container:get()
  local c, why = self:load()
  if not c then error("container credentials: " .. why, 0) end
  return c
end

function Container:invalidate() self.cache:invalidate() end

return M
