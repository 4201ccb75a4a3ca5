--- kumo.credentials.web_identity: AssumeRoleWithWebIdentity with a token
-- file: from the environment (`AWS_WEB_IDENTITY_TOKEN_FILE`, `AWS_ROLE_ARN`,
-- `AWS_ROLE_SESSION_NAME`) or a profile (`web_identity_token_file`,
-- `role_arn`, `role_session_name`). The token file is read again on every
-- refresh (Kubernetes rotates it). The call goes through a kumo STS client
-- (kumo.credentials.sts): unsigned, as the model says, at the endpoint the
-- endpoint rules give. Results are cached like assumed roles.
-- @module kumo.credentials.web_identity
local creds = require "kumo.credentials.creds"
local cache = require "kumo.credentials.cache"
local fetch = require "kumo.credentials.fetch"
local sts = require "kumo.credentials.sts"
local file_cache = require "kumo.credentials.file_cache"

local M = {}

local WebIdentity = {}
WebIdentity.__index = WebIdentity

local function new(ctx, t)
  local self = setmetatable(t, WebIdentity)
  self.name = "web_identity"
  self.ctx = ctx
  self.cache = cache.new{ name = self.label, warn = ctx.warn,
    advisory = ctx.advisory, mandatory = ctx.mandatory, fetch = function() return self:fetch() end }
  return self
end

--- The environment's web identity, or a provider that reports why not.
function M.from_env(ctx)
  local g = ctx.getenv
  local file, arn = g("AWS_WEB_IDENTITY_TOKEN_FILE"), g("AWS_ROLE_ARN")
  if file == "" then file = nil end
  if arn == "" then arn = nil end
  return new(ctx, {
    label = "web identity (AWS_WEB_IDENTITY_TOKEN_FILE)",
    token_file = file, role_arn = arn,
    session_name = g("AWS_ROLE_SESSION_NAME") ~= "" and g("AWS_ROLE_SESSION_NAME") or nil,
    missing = (not file and not arn) and "AWS_WEB_IDENTITY_TOKEN_FILE / AWS_ROLE_ARN not set"
      or (not file and "AWS_ROLE_ARN is set but AWS_WEB_IDENTITY_TOKEN_FILE is not")
      or (not arn and "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not") or nil,
    partial = (file ~= nil) ~= (arn ~= nil),
    where = "environment",
  })
end

--- A profile with `role_arn` and `web_identity_token_file`.
function M.from_profile(ctx, name)
  local p = ctx.view:profile(name)
  return new(ctx, {
    label = string.format("profile %q web identity", name),
    token_file = p.web_identity_token_file, role_arn = p.role_arn,
    session_name = p.role_session_name,
    where = string.format("profile %q (%s)", name, ctx.view:where(name, "web_identity_token_file")),
  })
end

-- The cache key arguments, as botocore's web identity fetcher has them
-- (no duration: botocore does not send one either).
function WebIdentity:args()
  local args = { RoleArn = self.role_arn }
  if self.session_name then args.RoleSessionName = self.session_name end
  return args
end

function WebIdentity:fetch()
  local ctx = self.ctx
  local args = self:args()
  local fc = ctx.file_cache and file_cache.new(ctx.cache_dir)
  local key = fc and file_cache.cache_key(args)
  if fc then
    local resp = fc:load(key)
    if resp then
      local c = resp.Credentials
      return creds.new{ access_key_id = c.AccessKeyId, secret_access_key = c.SecretAccessKey,
        session_token = c.SessionToken, expiration = c.Expiration, account_id = c.AccountId,
        source = self.label .. " (cached in " .. fc:path(key) .. ")" }
    end
  end
  local token, terr = fetch.read_file(self.token_file)
  if not token then
    error(string.format("%s: cannot read the web identity token file: %s", self.where, tostring(terr)), 0)
  end
  token = token:gsub("%s+$", "")
  local params = { RoleArn = self.role_arn,
    RoleSessionName = self.session_name or ("kumo-session-" .. os.time()),
    WebIdentityToken = token }
  -- unsigned: the model says authtype none, and the client honours it
  local okc, client = pcall(sts.client, ctx, nil)
  local out, err
  if okc then
    local okt
    okt, out, err = pcall(client.try, client, "AssumeRoleWithWebIdentity", params)
    if not okt then out, err = nil, out end
  else
    err = client
  end
  if not out then
    error(string.format("%s: AssumeRoleWithWebIdentity for %s failed: %s — check the role's trust "
      .. "policy for the token's issuer and audience", self.where, self.role_arn, tostring(err)), 0)
  end
  local cr, user = out.Credentials or {}, out.AssumedRoleUser or {}
  local account = user.Arn and user.Arn:match("^arn:[^:]+:[^:]+::(%d+):")
  local c = creds.new{ access_key_id = cr.AccessKeyId, secret_access_key = cr.SecretAccessKey,
    session_token = cr.SessionToken, expiration = cr.Expiration, account_id = account,
    source = self.label .. " → " .. self.role_arn }
  if fc then
    fc:store(key, { Credentials = { AccessKeyId = c.access_key_id, SecretAccessKey = c.secret_access_key,
      SessionToken = c.session_token, Expiration = creds.iso8601(c.expiration), AccountId = account },
      AssumedRoleUser = { Arn = user.Arn, AssumedRoleId = user.AssumedRoleId } }, ctx.warn)
  end
  return c
end

--- Credentials, or nil and a reason when not configured.
function WebIdentity:load()
  if self.missing and not self.partial then return nil, self.missing end
  if self.partial then error(self.label .. ": " .. self.missing, 0) end
  return self.cache:get()
end

function WebIdentity:get()
  local c, why = self:load()
  if not c then error(self.label .. ": " .. why, 0) end
  return c
end

function WebIdentity:invalidate() self.cache:invalidate() end

return M
