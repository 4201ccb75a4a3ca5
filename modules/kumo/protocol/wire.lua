--- Wire text of scalar values, shared by the protocol serializers and
-- parsers: percent-encoding, numbers and booleans, base64, timestamps
-- (epoch seconds ↔ ISO 8601 / RFC 822 / epoch text), and error codes as
-- services decorate them. No model knowledge: the callers pick the format.
-- @module kumo.protocol.wire
local crypto = require "kumo.crypto"

local M = {}

local char, format, gsub = string.char, string.format, string.gsub
local floor, huge, mtype, tointeger = math.floor, math.huge, math.type, math.tointeger

------------------------------------------------------------------------
-- Percent-encoding (RFC 3986 unreserved kept)
------------------------------------------------------------------------

local pct = {}
for i = 0, 255 do pct[char(i)] = format("%%%02X", i) end

--- Percent-encode everything except `A-Z a-z 0-9 - _ . ~`.
-- @param s string
-- @param keep_slash also keep `/` (greedy labels)
function M.urlencode(s, keep_slash)
  if keep_slash then
    return (gsub(s, "[^%w%-%._~/]", pct))
  end
  return (gsub(s, "[^%w%-%._~]", pct))
end

------------------------------------------------------------------------
-- Numbers and booleans as text
------------------------------------------------------------------------

--- A float as the shortest text that reads back to the same value;
-- NaN and infinities as AWS writes them.
function M.float_text(v)
  if type(v) == "string" then return v end  -- "NaN", "Infinity", "-Infinity"
  if v ~= v then return "NaN" end
  if v == huge then return "Infinity" end
  if v == -huge then return "-Infinity" end
  local i = tointeger(v)
  if i and mtype(v) == "integer" then return format("%d", i) end
  for digits = 15, 17 do
    local s = format("%." .. digits .. "g", v)
    if tonumber(s) == v then return s end
  end
  return format("%.17g", v)
end

--- An integer value as text (accepts integral floats).
function M.int_text(v)
  local i = tointeger(v)
  if i then return format("%d", i) end
  return tostring(v)
end

--- A float from wire text, keeping NaN/Infinity as numbers.
function M.float_value(s)
  if type(s) == "number" then return s end
  if s == "NaN" then return 0 / 0 end
  if s == "Infinity" then return huge end
  if s == "-Infinity" then return -huge end
  return tonumber(s)
end

--- A scalar value as text for query strings, headers and form bodies.
-- @param shape the value's shape
-- @param v the value
-- @param tsfmt timestamp format to use
function M.scalar_text(shape, v, tsfmt)
  local t = shape.type
  if t == "string" then return v end
  if t == "boolean" then return v and "true" or "false" end
  if t == "integer" or t == "long" then return M.int_text(v) end
  if t == "float" or t == "double" then return M.float_text(v) end
  if t == "timestamp" then return M.format_time(v, tsfmt) end
  if t == "blob" then return M.b64encode(v) end
  return tostring(v)
end

------------------------------------------------------------------------
-- Base64 (the C crypto binding; the host always has it)
------------------------------------------------------------------------

--- Base64-encode raw bytes.
M.b64encode = crypto.base64_encode
--- Base64-decode text → bytes, or nil and a message.
M.b64decode = crypto.base64_decode

------------------------------------------------------------------------
-- Timestamps (epoch seconds ↔ ISO 8601 / RFC 822 / epoch text)
------------------------------------------------------------------------

-- Days from 1970-01-01 to a civil date (proleptic Gregorian).
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

local MONTHS = { Jan = 1, Feb = 2, Mar = 3, Apr = 4, May = 5, Jun = 6,
                 Jul = 7, Aug = 8, Sep = 9, Oct = 10, Nov = 11, Dec = 12 }

--- Parse a timestamp in any AWS format → epoch seconds (may be fractional).
-- @return number, or nil and a message
function M.parse_time(s)
  if type(s) == "number" then return s end
  local n = tonumber(s)
  if n then return n end
  -- ISO 8601: 2015-01-25T08:00:00.123Z or with an offset
  local y, mo, d, h, mi, sec, rest = s:match(
    "^%s*(%d%d%d%d)%-(%d%d)%-(%d%d)[Tt ](%d%d):(%d%d):(%d%d%.?%d*)(.-)%s*$")
  if y then
    local t = days_from_civil(tonumber(y), tonumber(mo), tonumber(d)) * 86400
      + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(sec)
    if rest == "" or rest == "Z" or rest == "z" then return t end
    local sign, oh, om = rest:match("^([%+%-])(%d%d):?(%d%d)$")
    if not sign then return nil, "timestamp: bad zone in " .. s end
    local off = tonumber(oh) * 3600 + tonumber(om) * 60
    return sign == "+" and t - off or t + off
  end
  -- RFC 822 / HTTP-date: Sun, 30 Aug 2015 12:36:00 GMT
  local dd, mon, yy, hh, mm, ss = s:match(
    "^%s*%a*,?%s*(%d%d?)[%s%-](%a%a%a)[%s%-](%d%d%d?%d?)%s+(%d%d):(%d%d):(%d%d%.?%d*)")
  if dd and MONTHS[mon] then
    yy = tonumber(yy)
    if yy < 100 then yy = yy + (yy < 70 and 2000 or 1900) end
    return days_from_civil(yy, MONTHS[mon], tonumber(dd)) * 86400
      + tonumber(hh) * 3600 + tonumber(mm) * 60 + tonumber(ss)
  end
  return nil, "timestamp: cannot parse " .. format("%q", s)
end

--- ISO 8601 in UTC: `2015-01-25T08:00:00Z`, with `.123Z` when fractional.
function M.iso8601(t)
  local whole = floor(t)
  local frac = t - whole
  local s = os.date("!%Y-%m-%dT%H:%M:%S", whole)
  if frac > 0 then
    local ms = floor(frac * 1000 + 0.5)
    if ms >= 1000 then ms = 999 end
    if ms > 0 then return s .. format(".%03dZ", ms) end
  end
  return s .. "Z"
end

--- RFC 822 / HTTP-date: `Sun, 30 Aug 2015 12:36:00 GMT` (fractions dropped).
function M.rfc822(t)
  return os.date("!%a, %d %b %Y %H:%M:%S GMT", floor(t))
end

--- Epoch seconds as text: an integer when whole, else up to milliseconds.
function M.epoch_text(t)
  local i = tointeger(t)
  if i then return format("%d", i) end
  local s = format("%.3f", t):gsub("0+$", "")
  return s
end

--- A timestamp value (epoch number, or text in any AWS format) in a format.
-- @param v value
-- @param fmt "iso8601", "rfc822" or "unixTimestamp"
function M.format_time(v, fmt)
  local t = v
  if type(v) ~= "number" then
    local err
    t, err = M.parse_time(v)
    if not t then error(err, 0) end
  end
  if fmt == "rfc822" then return M.rfc822(t) end
  if fmt == "unixTimestamp" then return M.epoch_text(t) end
  return M.iso8601(t)
end

------------------------------------------------------------------------
-- Error codes
------------------------------------------------------------------------

--- An error code as services send it, bare: `ns#Code:http://...` → `Code`.
function M.clean_code(code)
  if not code then return nil end
  code = code:match("^[^:]*") or code
  code = code:match("#(.*)$") or code
  code = code:gsub("^%s+", ""):gsub("%s+$", "")
  return code
end

return M
