--- kumo.credentials.env: credentials from the environment:
-- `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`
-- (`AWS_SECURITY_TOKEN` legacy), `AWS_CREDENTIAL_EXPIRATION`, `AWS_ACCOUNT_ID`.
-- The variables are read again on every `get()` (cheap), so a process that
-- updates them (e.g. with `kumo.sys.setenv`) is followed, like botocore's
-- refreshable environment credentials.
-- @module kumo.credentials.env
local creds = require "kumo.credentials.creds"

local M = {}

local Env = {}
Env.__index = Env

--- @param getenv a getenv function (default `os.getenv`)
function M.new(getenv)
  return setmetatable({ name = "env", label = "environment", getenv = getenv or os.getenv }, Env)
end

local function var(getenv, name)
  local v = getenv(name)
  if v == "" then return nil end
  return v
end

--- Credentials from the environment, or nil and a reason when not set.
function Env:load()
  local g = self.getenv
  local key, secret = var(g, "AWS_ACCESS_KEY_ID"), var(g, "AWS_SECRET_ACCESS_KEY")
  if not key and not secret then
    return nil, "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY not set"
  end
  if not key or not secret then
    error(string.format("environment: %s is set but %s is not; set both or neither",
      key and "AWS_ACCESS_KEY_ID" or "AWS_SECRET_ACCESS_KEY",
      key and "AWS_SECRET_ACCESS_KEY" or "AWS_ACCESS_KEY_ID"), 0)
  end
  local exp = var(g, "AWS_CREDENTIAL_EXPIRATION")
  local c = creds.new{
    access_key_id = key, secret_access_key = secret,
    session_token = var(g, "AWS_SESSION_TOKEN") or var(g, "AWS_SECURITY_TOKEN"),
    account_id = var(g, "AWS_ACCOUNT_ID"),
    expiration = exp,
    source = "environment (AWS_ACCESS_KEY_ID)",
  }
  if c.expiration and c.expiration <= creds.now() then
    error("environment: the credentials expired at " .. exp
      .. " (AWS_CREDENTIAL_EXPIRATION); export fresh ones", 0)
  end
  return c
end

--- Credentials from the environment; raises when not set.
function Env:get()
  local c, why = self:load()
  if not c then error("environment: " .. why, 0) end
  return c
end

function Env:invalidate() end

return M
