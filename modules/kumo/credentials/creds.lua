--- kumo.credentials.creds: the credentials value every provider returns,
-- and the time helpers the providers share.
--
-- A creds object has the fields `access_key_id`, `secret_access_key`,
-- `session_token` (or nil), `expiration` (epoch seconds, or nil when the
-- credentials do not expire), `account_id` (or nil) and `source` (a
-- human-readable provider path, e.g. `profile "rds" → assume role`).
-- It prints redacted: `tostring(creds)` never shows a key, secret or token.
-- @module kumo.credentials.creds
local clock = require "kumo.clock"

local M = {}

-- Each creds object is an empty proxy whose metatable holds the fields, so
-- they cannot be assigned (objects are shared by tasks) and generic table
-- dumpers (pairs) see nothing to print.
local function describe(c)
  local parts = { "credentials" }
  local kind = type(c.access_key_id) == "string" and c.access_key_id:sub(1, 4) or "?"
  parts[#parts + 1] = kind .. "…(redacted)"
  if c.session_token then parts[#parts + 1] = "with session token" end
  if c.expiration then parts[#parts + 1] = "expiring " .. M.iso8601(c.expiration) end
  if c.source then parts[#parts + 1] = "from " .. c.source end
  return "<" .. table.concat(parts, " ") .. ">"
end

local function readonly(_, k)
  error("credentials are read-only (field " .. tostring(k) .. ")", 2)
end

local function wrap(fields)
  return setmetatable({}, {
    __index = fields,
    __newindex = readonly,
    __tostring = describe,
    __name = "kumo.credentials",
    __kumo_creds = true,
  })
end

local function check_string(t, field, source)
  local v = t[field]
  if type(v) ~= "string" or v == "" then
    error(string.format("%s: credentials need %s (a non-empty string)%s", source or "credentials",
      field, v == nil and "; it is missing" or ""), 0)
  end
  return v
end

--- Build a creds object, checking the fields.
-- @param t `{ access_key_id=, secret_access_key=, session_token=, expiration=, account_id=, source= }`;
-- `expiration` may be epoch seconds or an ISO 8601 string
-- @return creds; raises naming the missing field
function M.new(t)
  local source = t.source
  local c = {
    access_key_id = check_string(t, "access_key_id", source),
    secret_access_key = check_string(t, "secret_access_key", source),
    source = source,
    account_id = t.account_id ~= "" and t.account_id or nil,
  }
  if t.session_token ~= nil and t.session_token ~= "" then
    if type(t.session_token) ~= "string" then
      error((source or "credentials") .. ": session_token must be a string", 0)
    end
    c.session_token = t.session_token
  end
  local exp = t.expiration
  if type(exp) == "string" then
    local e = M.parse_time(exp)
    if not e then
      error(string.format("%s: expiration %q is not an ISO 8601 time (e.g. 2026-01-02T03:04:05Z)",
        source or "credentials", exp), 0)
    end
    exp = e
  end
  c.expiration = exp
  return wrap(c)
end

--- True when `v` is a creds object.
function M.is(v)
  local mt = type(v) == "table" and getmetatable(v)
  return mt and mt.__kumo_creds == true or false
end

--- Wall-clock seconds (a float, kumo.clock's).
M.now = clock.now

local clock_parse, tointeger = clock.parse, math.tointeger

--- Parse a time as AWS writes it, with kumo.clock: ISO 8601 / RFC 3339
-- (`2026-01-02T03:04:05Z`, fractions, `+00:00` offsets, the AWS CLI
-- cache's `...UTC` suffix), an RFC 822 date, or epoch seconds (a number,
-- or its text).
-- @return epoch seconds (an integer when whole), or nil
function M.parse_time(s)
  local ts = type(s)
  if ts ~= "string" and ts ~= "number" then return nil end
  local t = clock_parse(s)
  return t and (tointeger(t) or t)
end

--- `2026-01-02T03:04:05Z` for epoch seconds (UTC, fractions dropped).
M.iso8601 = clock.iso8601

return M
