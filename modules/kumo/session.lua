--- kumo.session: a profile, a region and credentials, from which clients are made.
--
--     local s = require("kumo.aws").session{ profile = "rds", region = "ap-northeast-1" }
--     local rds = s:client("rds")
--
-- Options of `aws.session{...}` (all optional; an unknown key is an error,
-- so a typo is never silently ignored):
--
-- * `profile`, `region`, `config_file`, `credentials_file`;
-- * `credentials` (`{access_key_id=, secret_access_key=, session_token=}` or a
--   provider with `:get()`), `mfa`, `credential_cache`, `credential_cache_dir`
--   (see `kumo.credentials`);
-- * `endpoint_url`, `allow_http`, `ignore_configured_endpoint_urls`,
--   `sts_regional_endpoints`, `use_fips_endpoint`, `use_dualstack_endpoint`
--   (see `kumo.endpoints`);
-- * `retry_mode` (also kumo's `"long"`), `max_attempts`, `retry_budget`,
--   `new_retries_2026` (see `kumo.retry`);
-- * `on_attempt` (function(info) called after each attempt of every call:
--   `service, operation, attempt, status, code, error, delay, retrying, elapsed, quota`);
-- * `timeout`, `connect_timeout` (seconds, per HTTP request);
-- * `ca_bundle` (CA file for TLS; else `AWS_CA_BUNDLE`, else the profile's
--   `ca_bundle`, else the system store), `user_agent_appid` (else
--   `AWS_SDK_UA_APP_ID`, else the profile's `sdk_ua_app_id`: `app/ID` in the
--   User-Agent);
-- * `validate` (false: no parameter validation; else the profile's
--   `parameter_validation`), `strict` (enum mismatches
--   are errors), `sign_body_hash` (default true: sign `x-amz-content-sha256`);
-- * `warn` (function(msg)); `env` (a table or function replacing `os.getenv`);
-- * for tests: `transport` (function(req) → res | nil, msg, code, replacing
--   `kumo.sched.request`), `sleep`, `random`, `clock`.
--
-- Session fields other modules read: `options`, `profile` (name), `region`,
-- `config` (the `kumo.config` view), `getenv`.
-- @module kumo.session
require "kumo.api"                -- the native API check (raises when stale)
local errors = require "kumo.errors"
local suggest = require "kumo.suggest"
local useragent = require "kumo.useragent"

local session = {}

local Session = {}

local KNOWN = {}
for _, k in ipairs{ "profile", "region", "config_file", "credentials_file", "credentials", "mfa",
  "credential_cache", "credential_cache_dir", "endpoint_url", "allow_http",
  "ignore_configured_endpoint_urls", "sts_regional_endpoints", "use_fips_endpoint",
  "use_dualstack_endpoint", "retry_mode", "max_attempts", "retry_budget", "new_retries_2026", "on_attempt",
  "timeout", "connect_timeout", "validate", "strict", "sign_body_hash", "warn", "env",
  "ca_bundle", "user_agent_appid",
  "transport", "sleep", "random", "clock", "uuid",
  "s3", "request_checksum_calculation", "response_checksum_validation" } do
  KNOWN[k] = true
end

local CLIENT_KNOWN = {}
for _, k in ipairs{ "endpoint_url", "region", "allow_http", "retry_mode", "max_attempts",
  "retry_budget", "on_attempt", "timeout", "connect_timeout", "validate", "strict",
  "s3", "request_checksum_calculation", "response_checksum_validation" } do
  CLIENT_KNOWN[k] = true
end

local function check_keys(opts, known, what)
  for k in pairs(opts) do
    if not known[k] then
      local list = {}
      for name in pairs(known) do list[#list + 1] = name end
      table.sort(list)
      local near = suggest.close_matches(tostring(k), list, 3)
      error(string.format("%s: unknown option %q%s", what, tostring(k),
        #near > 0 and ("; did you mean " .. table.concat(near, ", ") .. "?")
          or ("; known options: " .. table.concat(list, ", "))), 3)
    end
  end
end

-- Methods first, then the credential helpers of kumo.credentials.session
-- (`assume_role`, `identity`), loaded on first use.
-- Only those names load it: an unset field (`user_agent`, `_profile_settings`)
-- must stay a plain nil.
local cred_methods
local CRED_METHODS = { assume_role = true, identity = true }
function Session.__index(_, key)
  local m = Session[key]
  if m ~= nil or not CRED_METHODS[key] then return m end
  if cred_methods == nil then cred_methods = require "kumo.credentials.session" end
  return cred_methods[key]
end

function Session.__tostring(self)
  return string.format("<kumo session profile=%s region=%s>", tostring(self.profile),
    tostring(self.region))
end

-- A string setting: the option, else the environment, else the profile's
-- key (botocore's config chain; an empty value counts as unset).
local function setting(opt, env, key, getenv, prof)
  for _, v in ipairs{ opt or false, env and getenv(env) or false, prof[key] or false } do
    if type(v) == "string" and v ~= "" then return v end
  end
  return nil
end

-- The settings a session reads once from its option, environment and
-- profile: the CA bundle, the User-Agent (with the app id) and whether
-- parameters are validated (botocore's `parameter_validation`, a config key
-- only: no environment variable).
local function resolve_settings(self, opts)
  local prof = self:profile_settings()
  for _, k in ipairs{ "ca_bundle", "user_agent_appid" } do
    if opts[k] ~= nil and (type(opts[k]) ~= "string" or opts[k] == "") then
      error(string.format("aws.session: %s must be a non-empty string", k), 4)
    end
  end
  self.ca_bundle = setting(opts.ca_bundle, "AWS_CA_BUNDLE", "ca_bundle", self.getenv, prof)
  local app = setting(opts.user_agent_appid, "AWS_SDK_UA_APP_ID", "sdk_ua_app_id", self.getenv, prof)
  self.app_id = app and useragent.app_id(app)
  self.user_agent = useragent.with_app(app)
  local pv = prof.parameter_validation
  if opts.validate == nil and type(pv) == "string" then
    local v = pv:lower()
    if v ~= "true" and v ~= "false" then
      error(string.format("aws.session: parameter_validation = %q in profile %s (%s) must be "
        .. "true or false", pv, self.profile, self.config:where(self.profile, "parameter_validation")), 4)
    end
    self.validate = v == "true"
  end
end

--- kumo's User-Agent without an app id (kumo.useragent).
session.USER_AGENT = useragent.BASE

local function getenv_of(env)
  if env == nil then return os.getenv end
  if type(env) == "function" then return env end
  if type(env) == "table" then return function(name) return env[name] end end
  error("aws.session: env must be a table or a function", 3)
end

--- Make a session (see the module doc for the options).
-- @tparam[opt] table opts
-- @treturn table session
function session.new(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("aws.session: options must be a table", 2) end
  check_keys(opts, KNOWN, "aws.session")
  local getenv = getenv_of(opts.env)
  local view = require("kumo.config").load{ config_file = opts.config_file,
    credentials_file = opts.credentials_file, env = getenv }
  local profile, how = view:profile_name(opts.profile)
  if profile ~= "default" and not view:has_profile(profile) then
    -- as botocore's ProfileNotFound: a named profile must exist
    error(string.format("aws.session: profile %q (%s) not found in %s or %s; check the name%s",
      profile, how == "explicit" and "the profile option" or how, view.config_file,
      view.credentials_file, how == "explicit" and "" or (" or unset " .. how)), 2)
  end
  if opts.on_attempt ~= nil and type(opts.on_attempt) ~= "function" then
    error("aws.session: on_attempt must be a function(info)", 2)
  end
  local self = {
    options = opts,
    getenv = getenv,
    config = view,
    profile = profile,
    region = opts.region or view:region(profile),
    hooks = { opts.on_attempt },
    transport = opts.transport,
    sign_body_hash = opts.sign_body_hash ~= false,
    serialize_ctx = opts.uuid and { uuid = opts.uuid } or {},
    warn = opts.warn,
    _clients = {},
    _quotas = {},
  }
  if opts.transport ~= nil and type(opts.transport) ~= "function" then
    error("aws.session: transport must be a function(req)", 2)
  end
  self.sign = require("kumo.sigv4").sign   -- the host guarantees it (kumo.api)
  local sched = require "kumo.sched"
  self.sleep = opts.sleep or function(s) return sched.sleep(s) end
  -- elapsed times are wall time (monotonic), never CPU time
  self.clock = opts.clock or require("kumo.clock").monotonic
  setmetatable(self, Session)
  resolve_settings(self, opts)
  return self
end

--- A client for a service (cached per service when made without options).
-- @tparam string name the service (`"rds"`, `"ec2"`, `"sts"`, ...)
-- @tparam[opt] table opts `endpoint_url`, `region`, `allow_http`, `retry_mode`,
--   `max_attempts`, `on_attempt`, `timeout`, `connect_timeout`, `validate`, `strict`
-- @treturn table client
function Session:client(name, opts)
  if type(name) ~= "string" then error("session:client: service name must be a string", 2) end
  if opts == nil then
    local c = self._clients[name]
    if c then return c end
    c = require("kumo.client").new(self, name)
    self._clients[name] = c
    return c
  end
  check_keys(opts, CLIENT_KNOWN, "session:client")
  return require("kumo.client").new(self, name, opts)
end

--- The credentials provider (resolved once; `:get()` refreshes as needed).
-- @treturn table provider
function Session:credentials()
  local p = self._provider
  if p then return p end
  p = require("kumo.credentials").resolve(self, self:sts_factory())
  self._provider = p
  return p
end

-- The provider of an STS client made for unsigned operations only: asking
-- it is a bug, said as such.
local UNSIGNED_ONLY = { name = "none", label = "no credentials (unsigned STS client)",
  get = function()
    error("this STS client is for unsigned operations (AssumeRoleWithWebIdentity, "
      .. "AssumeRoleWithSAML) only: it has no credentials", 0)
  end,
  invalidate = function() end }

--- The STS client factory this session hands to kumo.credentials: a
-- `function(provider, region) → client` making an STS client that signs
-- with `provider` (nil: for unsigned operations only), with this session's
-- profile, endpoint settings and retries (`region` when the session has none).
-- @treturn function
function Session:sts_factory()
  return function(provider, region)
    local over = { credentials = provider or UNSIGNED_ONLY }
    if not self.region then over.region = region or "us-east-1" end
    return self:with(over):client("sts")
  end
end

--- The current credentials (`access_key_id, secret_access_key, session_token, expiration`).
-- @treturn table creds (prints redacted)
function Session:get_credentials()
  return self:credentials():get()
end

--- The merged settings of the session's profile (`{}` when it has none).
-- @treturn table
function Session:profile_settings()
  local p = self._profile_settings
  if p then return p end
  p = self.config:profile(self.profile) or {}
  self._profile_settings = p
  return p
end

--- The retry quota for an endpoint host (shared by this session's clients).
-- @tparam string host
-- @treturn table quota `{ capacity=, available= }`
function Session:retry_quota(host)
  local q = self._quotas[host]
  if not q then
    q = require("kumo.retry").quota()
    self._quotas[host] = q
  end
  return q
end

--- Add a function called after every attempt of every call of this session.
-- @tparam function fn receives the attempt info (see the module doc)
-- @treturn function fn (to pass to `remove_hook`)
function Session:add_hook(fn)
  if type(fn) ~= "function" then error("session:add_hook: expected a function", 2) end
  self.hooks[#self.hooks + 1] = fn
  return fn
end

--- Remove a hook added with `add_hook`.
-- @tparam function fn
function Session:remove_hook(fn)
  for i = #self.hooks, 1, -1 do
    if self.hooks[i] == fn then table.remove(self.hooks, i) end
  end
end

--- A new session with some options changed (the others copied), sharing this
-- one's configuration files and hooks. It has retry quotas of its own, so one
-- account's throttling cannot drain another's (botocore keeps one per
-- client). Used for per-account sessions:
-- `s:with{ credentials = provider, region = "eu-west-1" }`.
-- @tparam table overrides
-- @treturn table session
function Session:with(overrides)
  check_keys(overrides, KNOWN, "session:with")
  local opts = {}
  for k, v in pairs(self.options) do opts[k] = v end
  for k, v in pairs(overrides) do opts[k] = v end
  if overrides.credentials == nil and overrides.profile == nil then
    opts.credentials = self:credentials()
  end
  local s = session.new(opts)
  if overrides.config_file == nil and overrides.credentials_file == nil then
    s.config = self.config
    if overrides.profile == nil then s.profile = self.profile end
    if overrides.region == nil then s.region = self.region end
  end
  s.hooks = self.hooks
  if overrides.on_attempt then
    s.hooks = { table.unpack(self.hooks) }
    s.hooks[#s.hooks + 1] = overrides.on_attempt
  end
  return s
end

session.Session = Session
session.errors = errors

return session
