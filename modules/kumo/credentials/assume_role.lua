--- kumo.credentials.assume_role: credentials of an assumed IAM role.
--
-- From a profile: `role_arn` with `source_profile` (chains of any length,
-- loops reported with their path; a profile may name itself when it holds
-- static keys) or `credential_source` (`Environment`, `Ec2InstanceMetadata`,
-- `EcsContainer`, any case); `external_id`, `role_session_name`,
-- `duration_seconds` (clamped to 3600 with a warning when the source
-- credentials are themselves temporary, as AWS requires for role chaining),
-- `mfa_serial` (see mfa.lua).
-- Programmatically: `assume_role.new(ctx, source_provider, params)` with the
-- session method's parameters (`role_arn`, `external_id`, `session_name`,
-- `duration`, `policy`, `policy_arns`, `tags`, `transitive_tag_keys`,
-- `source_identity`, `mfa`).
--
-- Credentials are cached in memory (shared by every provider for the same
-- source and arguments, so one refresh happens at a time) and on disk in
-- the AWS CLI's `~/.aws/cli/cache` (file_cache.lua), unless turned off.
-- @module kumo.credentials.assume_role
local creds = require "kumo.credentials.creds"
local cache = require "kumo.credentials.cache"
local file_cache = require "kumo.credentials.file_cache"
local sts = require "kumo.credentials.sts"
local mfa = require "kumo.credentials.mfa"

local M = { CHAIN_LIMIT = 3600 }

local AssumeRole = {}
AssumeRole.__index = AssumeRole

-- Process-wide: refreshable caches by (source, arguments), and MFA sessions
-- by (device, source key): the "one refresh per credential" and "one MFA
-- prompt per run" rules hold across sessions.
local shared = {}
local mfa_sessions = {}

-- A unique name per source provider object (tostring may be overridden).
local ids = setmetatable({}, { __mode = "k" })
local next_id = 0
local function identity_of(p)
  local id = ids[p]
  if not id then
    next_id = next_id + 1
    id = "provider#" .. next_id
    ids[p] = id
  end
  return id
end

--- Forget the process-wide caches (tests).
function M.reset()
  shared = {}
  mfa_sessions = {}
end

local HINTS = {
  AccessDenied = "check the role's trust policy and external_id",
  InvalidClientTokenId = "the source credentials are not valid (wrong or deleted key)",
  SignatureDoesNotMatch = "the source secret key is wrong",
  ExpiredToken = "the source credentials expired; refresh them",
  RegionDisabledException = "activate STS in this region or use another STS endpoint",
  MalformedPolicyDocument = "fix the session policy",
  PackedPolicyTooLarge = "shorten the session policy or tags",
}

local function hint(code, msg)
  if code == "ValidationError" and msg and msg:find("DurationSeconds", 1, true) then
    return "lower duration_seconds (role chaining allows at most 3600; the role's MaxSessionDuration caps the rest)"
  end
  if code == "AccessDenied" and msg and msg:find("MultiFactorAuthentication", 1, true) then
    return "check mfa_serial and the MFA code"
  end
  return HINTS[code]
end

--- Build a provider.
-- @param ctx the credentials context
-- @param source the provider of the source credentials
-- @param t `{ role_arn=, external_id=, session_name=, duration=, policy=, policy_arns=, tags=,
-- transitive_tag_keys=, source_identity=, mfa_serial=, mfa=, what=, source_what=, where=, chained= }`
-- (`what`: e.g. `profile "rds"`; `source_what`: e.g. `profile "base"`; `chained`:
-- true/false when known, nil to decide from the source credentials)
function M.new(ctx, source, t)
  if type(t.role_arn) ~= "string" or not t.role_arn:match("^arn:[%w%-]+:iam::%d+:role/.+") then
    error(string.format("%s: role_arn must be an IAM role ARN like arn:aws:iam::123456789012:role/Name, got %s",
      t.what or "assume_role", t.role_arn == nil and "nothing" or string.format("%q", tostring(t.role_arn))), 0)
  end
  local duration = t.duration
  if duration ~= nil then
    duration = math.tointeger(tonumber(duration))
    if not duration or duration < 900 or duration > 43200 then
      error(string.format("%s: duration must be whole seconds between 900 and 43200, got %s%s",
        t.what or "assume_role", tostring(t.duration), t.where and (" (" .. t.where .. ")") or ""), 0)
    end
  end
  local self = setmetatable({
    name = "assume_role",
    ctx = ctx, source = source,
    role_arn = t.role_arn, external_id = t.external_id, session_name = t.session_name,
    duration = duration, policy = t.policy, policy_arns = t.policy_arns, tags = t.tags,
    transitive_tag_keys = t.transitive_tag_keys, source_identity = t.source_identity,
    mfa_serial = t.mfa_serial, mfa_code = t.mfa_code,
    what = t.what or "assume_role", source_what = t.source_what or "the session's credentials",
    where = t.where, chained = t.chained,
  }, AssumeRole)
  self.label = string.format("%s → role %s", self.what, self.role_arn)
  self.default_session_name = "kumo-" .. os.time() .. "-" .. math.random(100000, 999999)
  return self
end

--- The AssumeRole arguments, as the AWS CLI hashes them for its cache.
function AssumeRole:args(duration)
  local a = { RoleArn = self.role_arn }
  if self.session_name then a.RoleSessionName = self.session_name end
  if self.external_id then a.ExternalId = self.external_id end
  if self.mfa_serial then a.SerialNumber = self.mfa_serial end
  if duration then a.DurationSeconds = duration end
  if self.policy then
    a.Policy = type(self.policy) == "table" and file_cache.pydumps(self.policy) or self.policy
  end
  if self.policy_arns then
    local l = {}
    for i, arn in ipairs(self.policy_arns) do l[i] = { arn = type(arn) == "table" and arn.arn or arn } end
    a.PolicyArns = l
  end
  if self.tags then
    local l = {}
    if #self.tags > 0 then
      for i, tag in ipairs(self.tags) do l[i] = { Key = tag.Key or tag.key or tag[1], Value = tag.Value or tag.value or tag[2] } end
    else
      local keys = {}
      for k in pairs(self.tags) do keys[#keys + 1] = k end
      table.sort(keys)
      for i, k in ipairs(keys) do l[i] = { Key = k, Value = tostring(self.tags[k]) } end
    end
    a.Tags = l
  end
  if self.transitive_tag_keys then a.TransitiveTagKeys = self.transitive_tag_keys end
  if self.source_identity then a.SourceIdentity = self.source_identity end
  return a
end

--- Whether the source credentials are temporary (role chaining, 1 h cap).
function AssumeRole:is_chained()
  if self.chained ~= nil then return self.chained end
  local c = self.source:get()
  return c.session_token ~= nil
end

--- The duration to request (clamped on chained hops, with one warning).
function AssumeRole:effective_duration()
  local d = self.duration
  if d and d > M.CHAIN_LIMIT and self:is_chained() then
    if not self.clamp_warned then
      self.clamp_warned = true
      self.ctx.warn(string.format("%s: duration_seconds %d lowered to %d: %s gives temporary credentials and "
        .. "AWS limits role chaining to 1 hour (kumo refreshes them before they expire)",
        self.what, d, M.CHAIN_LIMIT, self.source_what))
    end
    return M.CHAIN_LIMIT
  end
  return d
end

local function from_response(resp, source)
  local c = resp.Credentials
  local arn = resp.AssumedRoleUser and resp.AssumedRoleUser.Arn
  return creds.new{
    access_key_id = c.AccessKeyId, secret_access_key = c.SecretAccessKey,
    session_token = c.SessionToken, expiration = c.Expiration,
    account_id = c.AccountId or (arn and arn:match("^arn:[^:]+:sts::(%d+):")),
    source = source,
  }
end

function AssumeRole:fail(stage, err)
  local code = type(err) == "table" and err.code or nil
  local msg = type(err) == "table" and err.message or tostring(err)
  local h = code and hint(code, msg)
  local head = string.format("%s%s: %s", self.what, self.where and (" (" .. self.where .. ")") or "", stage)
  if code then
    error(string.format("%s: %s%s%s", head, code, (msg and msg ~= "") and (": " .. msg) or "",
      h and (" — " .. h) or ""), 0)
  end
  error(head .. ": " .. tostring(msg), 0)
end

--- Source credentials for the call: an MFA session when the role needs MFA
-- and the source keys are long-term (one prompt per run), else the source.
function AssumeRole:call_source()
  if not self.mfa_serial then return self.source, nil end
  local ok, c = pcall(self.source.get, self.source)
  if not ok then self:fail("getting source credentials from " .. self.source_what, c) end
  if c.session_token then
    return self.source, self.mfa_code or mfa.code(self.ctx, self.mfa_serial, self.what)
  end
  local key = self.mfa_serial .. "\0" .. c.access_key_id
  local session = mfa_sessions[key]
  if not session then
    local ctx, serial, what, source = self.ctx, self.mfa_serial, self.what, self.source
    local fixed = self.mfa_code
    session = cache.new{ name = "MFA session for " .. serial, warn = ctx.warn,
      advisory = ctx.advisory, mandatory = ctx.mandatory, fetch = function()
      local code = fixed or mfa.code(ctx, serial, what)
      fixed = nil                                   -- a code works once
      local client = sts.client(ctx, source)
      local out, err = client:try("GetSessionToken", { SerialNumber = serial, TokenCode = code })
      if not out then self:fail("getting an MFA session for " .. serial, err) end
      return from_response(out, "MFA session (" .. serial .. ")")
    end }
    mfa_sessions[key] = session
  end
  return session, nil, true
end

--- Call AssumeRole (or use the file cache).
function AssumeRole:fetch()
  local ctx = self.ctx
  local duration = self:effective_duration()
  local args = self:args(duration)
  local fc = ctx.file_cache and file_cache.new(ctx.cache_dir)
  local key_args = args
  if not self.profile_based then
    -- The AWS CLI's key ignores the source identity: right for profiles (the
    -- CLI looks them up), wrong for roles a script assumes from arbitrary
    -- credentials. Those get the source key id in their key, so two sources
    -- never share an entry.
    local oks, sc = pcall(self.source.get, self.source)
    if not oks then
      error(string.format("%s: getting the source credentials (%s) failed: %s", self.what,
        self.source_what, tostring(sc)), 0)
    end
    key_args = {}
    for k, v in pairs(args) do key_args[k] = v end
    key_args.KumoSourceAccessKeyId = sc.access_key_id
  end
  local key = file_cache.cache_key(key_args)
  self.cache_key = key
  if fc then
    -- Reuse a cached entry while it is outside the advisory window of a
    -- credential of the requested lifetime (15 min for the default 1 h).
    local min = (cache.windows(duration or 3600))
    local resp = fc:load(key, min)
    if resp then
      self.from_file = fc:path(key)
      return from_response(resp, string.format("%s (cached in %s)", self.label, fc:path(key)))
    end
  end
  local source, code, via_mfa_session = self:call_source()
  if via_mfa_session and duration and duration > M.CHAIN_LIMIT then
    ctx.warn(string.format("%s: duration_seconds %d lowered to %d: roles assumed from an MFA session "
      .. "are limited to 1 hour", self.what, duration, M.CHAIN_LIMIT))
    duration = M.CHAIN_LIMIT
  end
  local params = self:args(duration)
  params.RoleSessionName = params.RoleSessionName or self.default_session_name
  if via_mfa_session then params.SerialNumber = nil end
  if code then params.TokenCode = code end
  local stage = string.format("assuming %s from %s", self.role_arn, self.source_what)
  -- Source first, so its own failure reads as such (it names its profile).
  local oks, serr = pcall(source.get, source)
  if not oks then
    error(string.format("%s%s: getting the source credentials (%s) failed: %s", self.what,
      self.where and (" (" .. self.where .. ")") or "", self.source_what, tostring(serr)), 0)
  end
  local ok, client = pcall(sts.client, ctx, source)
  if not ok then self:fail("creating the STS client", client) end
  local okc, out, err = pcall(client.try, client, "AssumeRole", params)
  if not okc then
    -- Getting the source credentials failed (the client asked the provider).
    local e = out
    if type(e) == "table" and e.kind == "credentials" then e = e.message end
    self:fail(stage, e)
  end
  if not out then self:fail(stage, err) end
  local c = out.Credentials
  if type(c) ~= "table" then self:fail(stage, "the AssumeRole response has no Credentials") end
  local account = out.AssumedRoleUser and out.AssumedRoleUser.Arn
    and out.AssumedRoleUser.Arn:match("^arn:[^:]+:sts::(%d+):")
  local result = creds.new{
    access_key_id = c.AccessKeyId, secret_access_key = c.SecretAccessKey,
    session_token = c.SessionToken, expiration = c.Expiration, account_id = account,
    source = self.label,
  }
  self.from_file = nil
  self.assumed_role_user = out.AssumedRoleUser
  if fc then
    fc:store(key, {
      Credentials = { AccessKeyId = result.access_key_id, SecretAccessKey = result.secret_access_key,
        SessionToken = result.session_token, Expiration = creds.iso8601(result.expiration),
        AccountId = account },
      AssumedRoleUser = out.AssumedRoleUser and { Arn = out.AssumedRoleUser.Arn,
        AssumedRoleId = out.AssumedRoleUser.AssumedRoleId } or nil,
    }, ctx.warn)
  end
  return result
end

-- The refreshable cache for this provider, shared with identical providers.
function AssumeRole:refresher()
  if self.refresh_cache then return self.refresh_cache end
  local id = (self.source_id or identity_of(self.source)) .. "\0" .. file_cache.pydumps(self:args(self.duration))
  local rc = shared[id]
  if not rc then
    local me = self
    rc = cache.new{ name = self.label, warn = self.ctx.warn, advisory = self.ctx.advisory,
      mandatory = self.ctx.mandatory, fetch = function() return me:fetch() end }
    shared[id] = rc
  end
  self.refresh_cache = rc
  return rc
end

--- Credentials of the role (cached; refreshed before they expire).
function AssumeRole:get()
  return self:refresher():get()
end

AssumeRole.load = AssumeRole.get

--- Drop the cached credentials (memory and, when they came from it, disk).
-- @treturn string|nil "from disk cache" when the dropped credentials were
-- the disk cache's (a fresh AssumeRole may then succeed where they failed)
function AssumeRole:invalidate()
  local rc = self:refresher()
  local c = rc.creds
  rc:invalidate()
  if c and self.ctx.file_cache and self.cache_key then
    local fc = file_cache.new(self.ctx.cache_dir)
    local resp = fc:load(self.cache_key, 0)
    if resp and resp.Credentials.AccessKeyId == c.access_key_id then
      fc:remove(self.cache_key)
      return "from disk cache"
    end
  end
  return nil
end

local SOURCES = {
  environment = function(ctx) return require("kumo.credentials.env").new(ctx.getenv), false end,
  ec2instancemetadata = function(ctx) return require("kumo.credentials.imds").new(ctx), true end,
  ecscontainer = function(ctx) return require("kumo.credentials.container").new(ctx), true end,
}

--- The provider for a profile with `role_arn` (and no web identity file).
-- @param ctx the context
-- @param name the profile name
-- @param visited profile names already on this source_profile path
function M.from_profile(ctx, name, visited)
  local view = ctx.view
  local p = view:profile(name)
  local where = view:where(name, "role_arn")
  local what = string.format("profile %q", name)
  local src, cs = p.source_profile, p.credential_source
  if src and cs then
    error(string.format("%s (%s): set either source_profile or credential_source, not both", what, where), 0)
  end
  if not src and not cs then
    error(string.format("%s (%s): role_arn needs source_profile or credential_source "
      .. "(Environment, Ec2InstanceMetadata or EcsContainer)", what, where), 0)
  end
  local source, source_what, chained
  if cs then
    local make = SOURCES[cs:lower()]
    if not make then
      error(string.format("%s (%s): credential_source %q is not one of Environment, "
        .. "Ec2InstanceMetadata, EcsContainer", what, view:where(name, "credential_source"), cs), 0)
    end
    source, chained = make(ctx)
    source_what = "credential_source " .. cs
    if cs:lower() == "environment" then chained = nil end
  else
    local path = {}
    for i, v in ipairs(visited) do path[i] = v end
    path[#path + 1] = name
    local sp = view:profile(src)
    if not sp then
      error(string.format("%s (%s): source_profile %q does not exist in %s or %s", what,
        view:where(name, "source_profile"), src, view.config_file, view.credentials_file), 0)
    end
    local profile_mod = require "kumo.credentials.profile"
    local seen = false
    for _, v in ipairs(path) do if v == src then seen = true end end
    if seen and not (src == name and profile_mod.has_keys(sp)) then
      path[#path + 1] = src
      error(string.format("%s (%s): source_profile loop: %s — break the cycle (a profile may name "
        .. "itself only when it holds aws_access_key_id)", what, view:where(name, "source_profile"),
        table.concat(path, " → ")), 0)
    end
    source_what = string.format("profile %q", src)
    if src == name or profile_mod.has_keys(sp) then
      source = profile_mod.new(view, src)
      chained = (sp.aws_session_token or sp.aws_security_token) ~= nil
    elseif sp.role_arn and not sp.web_identity_token_file then
      source = M.from_profile(ctx, src, path)
      chained = true
    else
      local why
      source, why = require("kumo.credentials").for_profile(ctx, src, path)
      if not source then error(string.format("%s: source_profile %s", what, why), 0) end
      chained = source.name ~= "process" and true or nil
    end
  end
  local dur = p.duration_seconds
  if dur ~= nil and not math.tointeger(tonumber(dur)) then
    error(string.format("%s (%s): duration_seconds must be a whole number of seconds, got %q",
      what, view:where(name, "duration_seconds"), dur), 0)
  end
  local prov = M.new(ctx, source, {
    role_arn = p.role_arn, external_id = p.external_id, session_name = p.role_session_name,
    duration = dur, mfa_serial = p.mfa_serial, what = what, source_what = source_what,
    where = where, chained = chained,
  })
  prov.profile_based = true
  prov.source_id = "profile-source:" .. (src or ("cs:" .. cs)) .. "@" .. view.config_file .. "+" .. view.credentials_file
  return prov
end

return M
