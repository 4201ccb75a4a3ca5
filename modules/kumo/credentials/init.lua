--- kumo.credentials: where a session's credentials come from.
--
-- `credentials.resolve(session)` returns a provider (`:get()` → creds,
-- `:invalidate()`), following the standard chain:
--
-- 1. explicit credentials (`aws.session{ credentials = ... }`);
-- 2. the environment (`AWS_ACCESS_KEY_ID`, ...) — skipped when the caller
--    named a profile (`aws.session{ profile = ... }`), as botocore does;
-- 3. the profile's role (`role_arn` with `source_profile` or `credential_source`);
-- 4. web identity (`AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`, or the profile's
--    `web_identity_token_file`);
-- 5. the profile's SSO settings (`sso_session` or legacy `sso_start_url`);
-- 6. the profile's static keys (credentials file over config file);
-- 7. the profile's `credential_process`;
-- 8. ECS/EKS container credentials; 9. EC2 instance metadata (IMDSv2).
--
-- The session's options that matter here: `credentials`, `profile`,
-- `mfa` (a function(serial) → code, for automation), `credential_cache`
-- (false turns the `~/.aws/cli/cache` file cache off),
-- `credential_cache_dir`, `warn` (function(msg), default: stderr).
-- @module kumo.credentials
local config = require "kumo.config"
local creds = require "kumo.credentials.creds"

local M = {}

local function lazy(name)
  return require("kumo.credentials." .. name)
end

local function default_warn(msg)
  io.stderr:write("kumo: warning: ", msg, "\n")
end

local function window(getenv, name)
  local v = getenv(name)
  if v == nil or v == "" then return nil end
  local n = tonumber(v)
  if not n or n < 0 then
    error(string.format("%s must be a number of seconds >= 0, got %q", name, v), 0)
  end
  return n
end

--- The resolution context shared by the providers of one session.
-- @param session a kumo session (fields `profile`, `region`, `config`, `options`)
-- @param[opt] sts_client the session's STS client factory,
-- `function(provider, region) → client` (provider nil: unsigned calls only);
-- the providers that call STS (roles, MFA, web identity) need it
-- @return ctx `{ session=, view=, getenv=, profile=, explicit_profile=, region=, file_cache=, cache_dir=, mfa=, warn=, sts_client= }`
function M.context(session, sts_client)
  local opts = session.options or {}
  local view = session.config
  if not view then
    view = config.load{ config_file = opts.config_file, credentials_file = opts.credentials_file, env = opts.env }
  end
  local getenv = view.env
  local explicit = opts.profile
  local name = session.profile or view:profile_name(explicit)
  local cache_opt = opts.credential_cache
  local file_cache = cache_opt ~= false
  local off = getenv("KUMO_CREDENTIAL_CACHE")
  if off == "off" or off == "0" or off == "false" then file_cache = false end
  local ctx = {
    session = session,
    view = view,
    getenv = getenv,
    profile = name,
    explicit_profile = explicit ~= nil,
    region = session.region or view:region(name),
    file_cache = file_cache,
    cache_dir = config.expand_home(opts.credential_cache_dir or (type(cache_opt) == "string" and cache_opt)
      or "~/.aws/cli/cache", getenv),
    mfa = opts.mfa,
    warn = opts.warn or default_warn,
    sts_client = sts_client,
    -- Refresh windows (seconds) instead of the lifetime-sized defaults.
    advisory = window(getenv, "KUMO_CREDENTIAL_ADVISORY_WINDOW"),
    mandatory = window(getenv, "KUMO_CREDENTIAL_MANDATORY_WINDOW"),
  }
  for _, w in ipairs(view.warnings) do
    if not view.warned then ctx.warn(w) end
  end
  view.warned = true
  return ctx
end

--- The provider for one profile's own credential settings, in botocore's
-- order (role, web identity, SSO, static keys, process).
-- @param ctx the context
-- @param name profile name
-- @param visited list of profile names already on the source_profile path
-- @param skip_role true to ignore `role_arn` (used by the top-level chain,
-- which puts the role first and the env web identity after it)
-- @return provider or nil, reason
function M.for_profile(ctx, name, visited, skip_role)
  local view = ctx.view
  local p = view:profile(name)
  if not p then
    return nil, string.format("profile %q not found in %s", name, view:where(name))
  end
  if p.role_arn and not p.web_identity_token_file then
    if skip_role then return nil, "role" end
    return lazy("assume_role").from_profile(ctx, name, visited or {})
  end
  if p.role_arn and p.web_identity_token_file then
    return lazy("web_identity").from_profile(ctx, name)
  end
  if p.sso_session or p.sso_start_url or p.sso_account_id then
    return lazy("sso").from_profile(ctx, name)
  end
  if lazy("profile").has_keys(p) then
    return lazy("profile").new(view, name)
  end
  if p.credential_process then
    return lazy("process").from_profile(ctx, name)
  end
  return nil, string.format("profile %q (%s) has no credentials: no aws_access_key_id, role_arn, "
    .. "sso_session, web_identity_token_file or credential_process", name, view:where(name))
end

-- A provider that stands for "this source had nothing", for the chain's report.
local function absent(label, why)
  return { name = label, label = label, load = function() return nil, why end,
    get = function() error(label .. ": " .. why, 0) end, invalidate = function() end }
end

--- The default chain for a context (without explicit credentials).
function M.chain(ctx)
  local view, name = ctx.view, ctx.profile
  local list = {}
  if not ctx.explicit_profile then
    list[#list + 1] = lazy("env").new(ctx.getenv)
  end
  local exists = view:has_profile(name)
  if not exists and name ~= "default" then
    error(string.format("profile %q not found in %s or %s; check the name or AWS_PROFILE",
      name, view.config_file, view.credentials_file), 0)
  end
  local role
  if exists then
    local p = view:profile(name)
    if p.role_arn and not p.web_identity_token_file then
      role = lazy("assume_role").from_profile(ctx, name, {})
      list[#list + 1] = role
    end
  end
  list[#list + 1] = lazy("web_identity").from_env(ctx)
  if exists and not role then
    local prov, why = M.for_profile(ctx, name, {}, true)
    list[#list + 1] = prov or absent(string.format("profile %q", name), why)
  elseif not exists then
    list[#list + 1] = absent(string.format("profile %q", name),
      string.format("not in %s or %s", view.config_file, view.credentials_file))
  end
  list[#list + 1] = lazy("container").new(ctx)
  list[#list + 1] = lazy("imds").new(ctx)
  return lazy("chain").new(list, string.format("profile %q", name))
end

--- The credentials provider of a session.
-- @param session `{ profile=, region=, config=, options = { credentials=, profile=, ... } }`
-- @param[opt] sts_client the session's STS client factory (see `context`)
-- @return provider with `:get()` → creds and `:invalidate()`
function M.resolve(session, sts_client)
  local opts = session.options or {}
  local given = opts.credentials
  if given ~= nil then
    if type(given) == "table" and type(given.get) == "function" then
      return given                                  -- already a provider
    end
    if type(given) ~= "table" then
      error("aws.session: credentials must be a table { access_key_id=, secret_access_key=, "
        .. "session_token= } or a provider with :get(), got " .. type(given), 0)
    end
    return lazy("static").new(given, "explicit credentials (aws.session{credentials=})")
  end
  return M.chain(M.context(session, sts_client))
end

M.new_creds = creds.new
M.is_creds = creds.is

return M
