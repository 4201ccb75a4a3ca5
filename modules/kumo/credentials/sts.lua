--- kumo.credentials.sts: how the credential providers reach STS.
-- Signed calls (AssumeRole, GetSessionToken, GetCallerIdentity) go through
-- a kumo client (`session:client("sts")`), so the endpoint overrides
-- (`AWS_ENDPOINT_URL_STS`, the profile's `[services]` section,
-- `AWS_ENDPOINT_URL`, `endpoint_url`) and retries apply. The unsigned
-- AssumeRoleWithWebIdentity is a plain query-protocol POST to the same
-- resolved endpoint.
-- @module kumo.credentials.sts
local M = {}

--- The STS endpoint URL for a context: the session's `endpoint_url`, the
-- configured endpoints (`AWS_ENDPOINT_URL_STS`, ...), else the regional
-- endpoint, else the global one.
function M.endpoint(ctx)
  if ctx.endpoint_url then return ctx.endpoint_url end
  local url = ctx.view:endpoint_url(ctx.profile, "sts")
  if url then return url end
  if ctx.region then return string.format("https://sts.%s.amazonaws.com", ctx.region) end
  return "https://sts.amazonaws.com"
end

--- A kumo STS client that signs with `provider` (a credentials provider),
-- with the session's profile, region, endpoint and retry settings (so the
-- endpoint overrides apply to STS too).
function M.client(ctx, provider)
  local s = ctx.session
  if s and s.with then
    local over = { credentials = provider }
    if not s.region then over.region = ctx.region or "us-east-1" end
    return s:with(over):client("sts")
  end
  return require("kumo.aws").session{
    region = ctx.region or "us-east-1",
    env = ctx.getenv,
    config_file = ctx.view.config_file,
    credentials_file = ctx.view.credentials_file,
    endpoint_url = ctx.endpoint_url,
    credentials = provider,
  }:client("sts")
end

local function urlencode(s)
  return (tostring(s):gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

local function xml_text(body, tag)
  local v = body:match("<" .. tag .. ">(.-)</" .. tag .. ">")
  if v then
    v = v:gsub("&lt;", "<"):gsub("&gt;", ">"):gsub("&quot;", '"'):gsub("&apos;", "'"):gsub("&amp;", "&")
  end
  return v
end

--- An unsigned query-protocol call (AssumeRoleWithWebIdentity).
-- @param ctx the context
-- @param action e.g. "AssumeRoleWithWebIdentity"
-- @param params list of `{name, value}`
-- @param fields the result elements to return (e.g. {"AccessKeyId", ...})
-- @return table of the fields; raises `code: message` from STS
function M.unsigned_call(ctx, action, params, fields)
  local body = { "Action=" .. action, "Version=2011-06-15" }
  for _, kv in ipairs(params) do body[#body + 1] = kv[1] .. "=" .. urlencode(kv[2]) end
  local url = M.endpoint(ctx)
  local sched = require "kumo.sched"
  local res, msg = sched.request{ method = "POST", url = url:gsub("/*$", "/"),
    headers = { { "Content-Type", "application/x-www-form-urlencoded; charset=utf-8" } },
    body = table.concat(body, "&"), timeout = 30, connect_timeout = 10 }
  if not res then
    error(string.format("STS %s at %s: %s", action, url, tostring(msg)), 0)
  end
  if res.status >= 300 then
    local code = xml_text(res.body, "Code") or ("HTTP " .. res.status)
    local message = xml_text(res.body, "Message") or ""
    local e = { code = code, message = message, status = res.status }
    error(setmetatable(e, { __tostring = function(x) return x.code .. ": " .. x.message end }), 0)
  end
  local out = {}
  for _, f in ipairs(fields) do out[f] = xml_text(res.body, f) end
  return out
end

M.urlencode = urlencode
return M
