--- Wire text of scalar values, shared by the protocol serializers and
-- parsers: percent-encoding, numbers and booleans, base64, timestamps
-- (epoch seconds ↔ ISO 8601 / RFC 822 / epoch text), and error codes as
-- services decorate them. No model knowledge: the callers pick the format.
-- @module kumo.protocol.wire
local clock = require "kumo.clock"
local crypto = require "kumo.crypto"

local M = {}

local char, format, gsub = string.char, string.format, string.gsub
local huge, mtype, tointeger = math.huge, math.type, math.tointeger

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

local clock_parse = clock.parse

--- Parse a timestamp in any AWS format → epoch seconds (an integer when
-- whole, as the shapes' other integers), or nil and a message.
function M.parse_time(s)
  if type(s) == "number" then return s end  -- JSON's epoch numbers: no C call
  local t, err = clock_parse(s)
  return t and (tointeger(t) or t), err
end

--- ISO 8601 in UTC: `2015-01-25T08:00:00Z`, with `.123Z` when fractional.
function M.iso8601(t)
  return clock.iso8601(t, true)
end

--- RFC 822 / HTTP-date: `Sun, 30 Aug 2015 12:36:00 GMT` (fractions dropped).
M.rfc822 = clock.rfc822

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
