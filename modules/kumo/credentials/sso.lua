--- kumo.credentials.sso: IAM Identity Center (SSO) role credentials.
--
-- A profile with `sso_session` (pointing at an `[sso-session NAME]` with
-- `sso_start_url`, `sso_region`) or the legacy `sso_start_url` /
-- `sso_region` keys, plus `sso_account_id` and `sso_role_name`. The access
-- token comes from the AWS CLI's SSO token cache (`~/.aws/sso/cache/<sha1>.json`,
-- keyed by the session name, or by the start URL for legacy profiles), as
-- written by `aws sso login`; an expired token of an `sso-session` is
-- refreshed with its refresh token (SSO OIDC CreateToken) and written back.
-- The role credentials come from the portal's GetRoleCredentials
-- (`AWS_ENDPOINT_URL_SSO` / `[services]` `sso` override the portal URL,
-- `sso-oidc` the OIDC one).
-- @module kumo.credentials.sso
local creds = require "kumo.credentials.creds"
local cache = require "kumo.credentials.cache"
local fetch = require "kumo.credentials.fetch"

local M = {}

local Sso = {}
Sso.__index = Sso

local sha1_hex = require("kumo.crypto").sha1_hex
local json = require "kumo.json"
local urlencode = require("kumo.protocol.wire").urlencode

local function login_hint(name)
  return string.format("run `aws sso login --profile %s`", name)
end

--- The provider for an SSO profile.
function M.from_profile(ctx, name)
  local view = ctx.view
  local p = view:profile(name)
  local what = string.format("profile %q (%s)", name, view:where(name))
  local start_url, region, key, session
  if p.sso_session then
    session = view:sso_session(p.sso_session)
    if not session then
      error(string.format("%s: sso_session %q has no [sso-session %s] section in %s", what,
        p.sso_session, p.sso_session, view.config_file), 0)
    end
    start_url, region = session.sso_start_url, session.sso_region
    for _, k in ipairs{ "sso_start_url", "sso_region" } do
      if p[k] and session[k] and p[k] ~= session[k] then
        error(string.format("%s: %s %q differs from the one of [sso-session %s]; remove it from the profile",
          what, k, p[k], p.sso_session), 0)
      end
    end
    key = p.sso_session
  else
    start_url, region = p.sso_start_url, p.sso_region
    key = start_url
  end
  local missing = {}
  if not start_url then missing[#missing + 1] = "sso_start_url" end
  if not region then missing[#missing + 1] = "sso_region" end
  if not p.sso_account_id then missing[#missing + 1] = "sso_account_id" end
  if not p.sso_role_name then missing[#missing + 1] = "sso_role_name" end
  if #missing > 0 then
    error(string.format("%s: SSO profile needs %s", what, table.concat(missing, ", ")), 0)
  end
  local self = setmetatable({
    name = "sso", label = string.format("profile %q SSO (%s, role %s)", name, p.sso_account_id, p.sso_role_name),
    ctx = ctx, profile = name, what = what, start_url = start_url, region = region,
    account_id = p.sso_account_id, role_name = p.sso_role_name, session_name = p.sso_session,
    token_file = require("kumo.config").expand_home(
      (ctx.sso_cache_dir or "~/.aws/sso/cache") .. "/" .. sha1_hex(key) .. ".json", ctx.getenv),
  }, Sso)
  self.cache = cache.new{ name = self.label, warn = ctx.warn,
    advisory = ctx.advisory, mandatory = ctx.mandatory, fetch = function() return self:fetch() end }
  return self
end

function Sso:portal_url()
  local url = self.ctx.view:endpoint_url(self.ctx.profile, "sso")
  return (url or string.format("https://portal.sso.%s.amazonaws.com", self.region)):gsub("/+$", "")
end

function Sso:oidc_url()
  local url = self.ctx.view:endpoint_url(self.ctx.profile, "sso-oidc")
  return (url or string.format("https://oidc.%s.amazonaws.com", self.region)):gsub("/+$", "")
end

--- Refresh an expired sso-session token with its refresh token.
function Sso:refresh_token(tok)
  local body = json.encode{ grantType = "refresh_token", clientId = tok.clientId,
    clientSecret = tok.clientSecret, refreshToken = tok.refreshToken }
  local res, why = fetch.request({ method = "POST", url = self:oidc_url() .. "/token",
    headers = { { "Content-Type", "application/json" } }, body = body, timeout = 10 }, { attempts = 2 })
  if not res then return nil, why end
  local t = fetch.decode(res.body, "SSO OIDC token response")
  if type(t.accessToken) ~= "string" then return nil, "no accessToken in the response" end
  tok.accessToken = t.accessToken
  tok.expiresAt = creds.iso8601(creds.now() + (tonumber(t.expiresIn) or 3600))
  if t.refreshToken then tok.refreshToken = t.refreshToken end
  local sys = require "kumo.sys"
  pcall(sys.write_atomic, self.token_file, json.encode(tok), tonumber("600", 8))
  return tok
end

--- The cached SSO access token; raises telling how to log in.
function Sso:token()
  local text = fetch.read_file(self.token_file)
  if not text then
    error(string.format("%s: no SSO token in %s — %s", self.what, self.token_file, login_hint(self.profile)), 0)
  end
  local ok, tok = pcall(fetch.decode, text, "the SSO token cache " .. self.token_file)
  if not ok or type(tok.accessToken) ~= "string" then
    error(string.format("%s: the SSO token cache %s has no accessToken — %s", self.what, self.token_file,
      login_hint(self.profile)), 0)
  end
  local exp = creds.parse_time(tok.expiresAt)
  if not exp or exp - creds.now() < 60 then
    if self.session_name and tok.refreshToken and tok.clientId and tok.clientSecret then
      local fresh, why = self:refresh_token(tok)
      if fresh then return fresh.accessToken end
      error(string.format("%s: the SSO token expired and refreshing it failed (%s) — %s", self.what,
        tostring(why), login_hint(self.profile)), 0)
    end
    error(string.format("%s: the SSO token in %s expired%s — %s", self.what, self.token_file,
      exp and (" at " .. creds.iso8601(exp)) or "", login_hint(self.profile)), 0)
  end
  return tok.accessToken
end

-- percent-encoded as every query string (kumo.protocol.wire's, RFC 3986)
local function q(s)
  return urlencode(tostring(s))
end

function Sso:fetch()
  local token = self:token()
  local url = string.format("%s/federation/credentials?account_id=%s&role_name=%s", self:portal_url(),
    q(self.account_id), q(self.role_name))
  local res, why = fetch.request({ method = "GET", url = url,
    headers = { { "x-amz-sso_bearer_token", token }, { "Accept", "application/json" } }, timeout = 10 },
    { attempts = 3, delay = 0.5, retry_status = function(s) return s >= 500 or s == 429 end })
  if not res then
    local hint = (why == "HTTP 401" or why == "HTTP 403") and (" — the token was refused; " .. login_hint(self.profile))
      or ""
    error(string.format("%s: GetRoleCredentials for account %s role %s failed: %s%s", self.what,
      self.account_id, self.role_name, tostring(why), hint), 0)
  end
  local t = fetch.decode(res.body, "the SSO GetRoleCredentials response")
  local rc = t.roleCredentials
  if type(rc) ~= "table" then error(self.what .. ": the SSO response has no roleCredentials", 0) end
  return creds.new{ access_key_id = rc.accessKeyId, secret_access_key = rc.secretAccessKey,
    session_token = rc.sessionToken, expiration = rc.expiration and (tonumber(rc.expiration) / 1000) or nil,
    account_id = self.account_id, source = self.label }
end

function Sso:get() return self.cache:get() end
Sso.load = Sso.get
function Sso:invalidate() self.cache:invalidate() end

return M
