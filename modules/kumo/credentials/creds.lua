--- kumo.credentials.creds: the credentials value every provider returns,
-- and the time helpers the providers share.
--
-- A creds object has the fields `access_key_id`, `secret_access_key`,
-- `session_token` (or nil), `expiration` (epoch seconds, or nil when the
-- credentials do not expire), `account_id` (or nil) and `source` (a
-- human-readable provider path, e.g. `profile "rds" → assume role`).
-- It prints redacted: `tostring(creds)` never shows a key, secret or token.
-- @module kumo.credentials.creds
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

--- Wall-clock seconds (float when kumo.clock is there).
function M.now()
  local ok, clock = pcall(require, "kumo.clock")
  if ok and type(clock) == "table" and clock.now then
    M.now = clock.now
    return clock.now()
  end
  return os.time()
end

-- Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm), so
-- parsing never depends on the local time zone.
local function days_from_civil(y, m, d)
  y = m <= 2 and y - 1 or y
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = (153 * mp + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end

--- Parse an ISO 8601 / RFC 3339 time as AWS writes it: `2026-01-02T03:04:05Z`,
-- with fractions, `+00:00` offsets, or the AWS CLI cache's `...UTC` suffix;
-- also a plain epoch number.
-- @return epoch seconds, or nil
function M.parse_time(s)
  if type(s) == "number" then return s end
  if type(s) ~= "string" then return nil end
  if s:match("^%d+%.?%d*$") then return tonumber(s) end
  local y, mo, d, h, mi, sec, rest = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)[Tt ](%d%d):(%d%d):(%d%d)(.*)$")
  if not y then return nil end
  local frac = 0
  local f = rest:match("^%.(%d+)")
  if f then
    frac = tonumber("0." .. f)
    rest = rest:sub(#f + 2)
  end
  local offset
  if rest == "Z" or rest == "z" or rest == "UTC" or rest == "" or rest == "GMT" then
    offset = 0
  else
    local sign, oh, om = rest:match("^([+-])(%d%d):?(%d%d)$")
    if not sign then return nil end
    offset = (tonumber(oh) * 3600 + tonumber(om) * 60) * (sign == "-" and -1 or 1)
  end
  local days = days_from_civil(tonumber(y), tonumber(mo), tonumber(d))
  return days * 86400 + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(sec) + frac - offset
end

--- `2026-01-02T03:04:05Z` for epoch seconds (UTC).
function M.iso8601(t)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(t))
end

return M
