--- kumo.credentials.session: the credential methods of a kumo session.
--
--     local base = aws.session{ profile = "base" }
--     local rds  = base:assume_role{ role_arn = "arn:aws:iam::222222222222:role/automation",
--                                    external_id = "ext-rds" }
--     print(rds:identity().account)   --> 222222222222
--
-- `kumo.session` looks these up when a method is not its own.
-- @module kumo.credentials.session
local credentials = require "kumo.credentials"
local assume_role = require "kumo.credentials.assume_role"

local M = {}

local KNOWN = {
  role_arn = true, external_id = true, session_name = true, duration = true, policy = true,
  policy_arns = true, tags = true, transitive_tag_keys = true, source_identity = true, mfa = true,
  lazy = true, region = true,
}

local ALIASES = {
  RoleArn = "role_arn", ExternalId = "external_id", RoleSessionName = "session_name",
  DurationSeconds = "duration", Policy = "policy", PolicyArns = "policy_arns", Tags = "tags",
  TransitiveTagKeys = "transitive_tag_keys", SourceIdentity = "source_identity",
}

--- A session acting in another account through AssumeRole.
-- The role is assumed at once (so a wrong external id or trust policy shows
-- here, not at the first call) unless `lazy = true`; the credentials are
-- refreshed before they expire and cached on disk like the AWS CLI's.
-- @param s the base session
-- @param o `{ role_arn=, external_id=, session_name=, duration= (s), policy= (JSON text or table),
-- policy_arns= {arn...}, tags= {Key=Value} or {{Key=,Value=}}, transitive_tag_keys= {...},
-- source_identity=, mfa= serial | {serial=, code=}, region=, lazy= }`
-- @return a new session (fields `role_arn`, `account`)
function M.assume_role(s, o)
  if type(o) ~= "table" then error("session:assume_role: expected a table { role_arn = ... }", 2) end
  -- The AssumeRole API's own names are accepted too (RoleArn, ExternalId, ...).
  local given = o
  o = {}
  for k, v in pairs(given) do o[ALIASES[k] or k] = v end
  if given.SerialNumber or given.TokenCode then
    o.mfa = { serial = given.SerialNumber, code = given.TokenCode }
    o.SerialNumber, o.TokenCode = nil, nil
  end
  for k in pairs(o) do
    if not KNOWN[k] then
      local list = {}
      for n in pairs(KNOWN) do list[#list + 1] = n end
      table.sort(list)
      error(string.format("session:assume_role: unknown option %q; known: %s", tostring(k),
        table.concat(list, ", ")), 2)
    end
  end
  local ctx = credentials.context(s, s:sts_factory())
  local serial, code
  if type(o.mfa) == "table" then serial, code = o.mfa.serial, o.mfa.code
  elseif o.mfa ~= nil then serial = o.mfa end
  local src_what = string.format("the session of profile %q", tostring(s.profile))
  if s.role_arn then src_what = "the session of " .. s.role_arn
  elseif s.options and s.options.credentials then src_what = "the session's credentials" end
  local prov = assume_role.new(ctx, s:credentials(), {
    role_arn = o.role_arn, external_id = o.external_id, session_name = o.session_name,
    duration = o.duration, policy = o.policy, policy_arns = o.policy_arns, tags = o.tags,
    transitive_tag_keys = o.transitive_tag_keys, source_identity = o.source_identity,
    mfa_serial = serial, mfa_code = code,
    what = "assume_role", source_what = src_what,
  })
  local over = { credentials = prov }
  if o.region then over.region = o.region end
  local ns = s:with(over)
  ns.role_arn = o.role_arn
  ns.account = o.role_arn:match("^arn:[^:]+:iam::(%d+):")
  ns.parent = s
  if not o.lazy then
    local ok, err = pcall(prov.get, prov)
    if not ok then error(err, 2) end
  end
  return ns
end

--- Who the session acts as: `{ account=, arn=, user_id= }` (GetCallerIdentity,
-- cached on the session).
function M.identity(s)
  if s._identity then return s._identity end
  -- STS answers in every region: without one, use the global partition's first.
  local client = s.region and s:client("sts") or s:client("sts", { region = "us-east-1" })
  local out = client:GetCallerIdentity{}
  s._identity = { account = out.Account, arn = out.Arn, user_id = out.UserId }
  return s._identity
end

return M
