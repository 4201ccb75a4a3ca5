--- kumo.s3.settings: the S3 settings of a call, from the places botocore
-- reads them, in botocore's order: the client's options, the session's,
-- the environment, then the profile (its `s3 =` sub-section for the S3 keys).
--
-- S3 keys (`s3 = { ... }` as a client or session option, or the profile's
-- `s3` sub-section): `addressing_style` (`auto`, `virtual`, `path`),
-- `use_accelerate_endpoint`, `use_dualstack_endpoint`, `use_arn_region`
-- (also `AWS_S3_USE_ARN_REGION`, profile `s3_use_arn_region`),
-- `us_east_1_regional_endpoint` (`legacy`, `regional`; also
-- `AWS_S3_US_EAST_1_REGIONAL_ENDPOINT`), `payload_signing_enabled`,
-- `s3_disable_multiregion_access_points`.
--
-- Checksum keys (client or session options, `AWS_REQUEST_CHECKSUM_CALCULATION`
-- / `AWS_RESPONSE_CHECKSUM_VALIDATION`, profile keys of the same names):
-- `request_checksum_calculation` and `response_checksum_validation`, each
-- `when_supported` (default) or `when_required`.
-- @module kumo.s3.settings
local M = {}

local format = string.format

local S3_KEYS = {
  addressing_style = "choice", use_accelerate_endpoint = "bool", use_dualstack_endpoint = "bool",
  use_arn_region = "bool", us_east_1_regional_endpoint = "choice", payload_signing_enabled = "bool",
  s3_disable_multiregion_access_points = "bool",
}
local CHOICES = {
  addressing_style = { auto = true, virtual = true, path = true },
  us_east_1_regional_endpoint = { legacy = true, regional = true },
  request_checksum_calculation = { when_supported = true, when_required = true },
  response_checksum_validation = { when_supported = true, when_required = true },
}

local function bool(v, what)
  if type(v) == "boolean" then return v end
  local s = tostring(v):lower()
  if s == "true" then return true elseif s == "false" then return false end
  error(format("s3 setting %s = %q: use true or false", what, tostring(v)), 0)
end

local function choice(v, what)
  local s = tostring(v):lower()
  if not CHOICES[what][s] then
    local names = {}
    for k in pairs(CHOICES[what]) do names[#names + 1] = k end
    table.sort(names)
    error(format("s3 setting %s = %q: use one of %s", what, tostring(v), table.concat(names, ", ")), 0)
  end
  return s
end

local function nonempty(v)
  if v == nil or v == "" then return nil end
  return v
end

-- The session's profile table (merged), or {}.
local function profile_of(session)
  local view = session.config
  return view and view:profile(session.profile) or {}
end

--- The S3 and checksum settings of a client (cached on it: settings are
-- fixed when the client is made, as botocore's are).
-- @tparam table c the client
-- @treturn table `{ addressing_style=, use_accelerate_endpoint=, ..., request_checksum_calculation=,
--   response_checksum_validation= }`
function M.of(c)
  local st = c._s3_settings
  if st then return st end
  local s = c.session
  local copts, sopts = c.options or {}, s.options or {}
  local getenv = s.getenv or os.getenv
  local profile = profile_of(s)
  local ps3 = type(profile.s3) == "table" and profile.s3 or {}
  st = {}
  for key, kind in pairs(S3_KEYS) do
    local v = (copts.s3 or {})[key]
    if v == nil then v = (sopts.s3 or {})[key] end
    if v == nil and key == "use_arn_region" then
      v = nonempty(getenv("AWS_S3_USE_ARN_REGION")) or profile.s3_use_arn_region
    elseif v == nil and key == "us_east_1_regional_endpoint" then
      v = nonempty(getenv("AWS_S3_US_EAST_1_REGIONAL_ENDPOINT")) or profile.s3_us_east_1_regional_endpoint
    end
    if v == nil then v = ps3[key] end
    if v ~= nil then
      if kind == "bool" then st[key] = bool(v, key) else st[key] = choice(v, key) end
    end
  end
  for _, key in ipairs{ "request_checksum_calculation", "response_checksum_validation" } do
    local v = copts[key]
    if v == nil then v = sopts[key] end
    if v == nil then v = nonempty(getenv("AWS_" .. key:upper())) end
    if v == nil then v = profile[key] end
    st[key] = v ~= nil and choice(v, key) or "when_supported"
  end
  c._s3_settings = st
  return st
end

return M
