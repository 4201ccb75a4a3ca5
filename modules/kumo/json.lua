--- JSON for AWS, over Debian's lua-cjson 2.1.0: kumo's one JSON decoder
-- and encoder (protocols, models, JMESPath literals and `to_string`,
-- credential files and caches, workflow state all use it).
--
-- Debian's lua-cjson 2.1.0 has no `empty_array_mt`, decodes every number as
-- a float and encodes with at most 14 significant digits. AWS needs more,
-- so this module:
--
-- * decodes with cjson, then turns integral numbers into Lua integers and
--   marks arrays (`json.array`), so `decode("[]")` re-encodes as `[]`;
-- * decodes texts with empty arrays (cjson cannot tell `[]` from `{}`)
--   with cjson too, after rewriting each `[]` as `[nan]` (see cjson_nan);
-- * falls back to an exact Lua decoder when cjson's result may be wrong
--   (an integer beyond 2^53, which a double may have rounded; a `[]`
--   inside a string) or the rewrite cannot be trusted ("nan", "inf" or
--   "0x" anywhere in the text), and to report errors in such texts;
-- * offers `decode_fast`, cjson's result as it is, where a schema re-types
--   the value anyway (service models, protocol responses);
-- * encodes in Lua (cjson is used only to configure decoding): integers
--   exactly, floats with the shortest of 14..17 digits that reads back the
--   same, object keys sorted (stable output), `json.null` as `null`.
--
-- Huge integers: a JSON integer that fits in 64 bits decodes to a Lua
-- integer exactly (1700000000123, 2^53+1, up to 2^63-1). One beyond that
-- decodes to the nearest float. A number with a fraction or exponent but
-- an integral value that fits in 64 bits (`1.0`, `1e3`) decodes to an
-- integer too: Lua code cannot observe the difference except through
-- `math.type`.
-- @module kumo.json

local cjson_lib = require "cjson"

local json = {}

local cjson = cjson_lib.new()  -- a private instance: global settings untouched
cjson.decode_invalid_numbers(false)  -- NaN, Infinity, hex are not JSON
cjson.decode_max_depth(1000)

-- For texts with empty arrays: every "[]" (or "[ ]") is rewritten "[nan]"
-- and this instance, which accepts NaN, decodes it; a one-element array
-- holding NaN is then an empty array. Valid JSON has no NaN, and the text
-- is checked to hold no "nan", "inf" or "0x" at all, so no other NaN and
-- no invalid number gets through. When fewer sentinels come back than
-- were written, some "[]" was inside a string: the exact decoder redoes it.
local cjson_nan = cjson_lib.new()
cjson_nan.decode_invalid_numbers(true)
cjson_nan.decode_max_depth(1000)

--- The JSON `null` (a light userdata, shared with cjson).
json.null = cjson_lib.null

local null = json.null
local array_mt = { __name = "kumo.json.array" }

local type, pairs, next, tostring, tonumber = type, pairs, next, tostring, tonumber
local math_type, math_tointeger = math.type, math.tointeger
local string_format, string_byte, string_sub, string_find =
  string.format, string.byte, string.sub, string.find
local table_concat, table_sort = table.concat, table.sort
local getmetatable, setmetatable, rawlen = getmetatable, setmetatable, rawlen

local MAX_DEPTH = 1000

--- Marks a table as a JSON array, so that an empty one encodes as `[]`.
-- @tparam[opt] table t the table (a new one when nil)
-- @treturn table t itself
-- @raise when `t` is not a table or already has another metatable
function json.array(t)
  if t == nil then
    t = {}
  end
  if type(t) ~= "table" then
    error("bad argument #1 to 'array' (table expected, got " .. type(t) .. ")", 2)
  end
  local mt = getmetatable(t)
  if mt ~= nil and mt ~= array_mt then
    error("bad argument #1 to 'array' (table already has a metatable)", 2)
  end
  return setmetatable(t, array_mt)
end

--- True when `t` is a table marked with `json.array` (decoded arrays are).
-- @param t any value
-- @treturn boolean
function json.is_array(t)
  return type(t) == "table" and getmetatable(t) == array_mt
end

-- {======================================================================
-- Decoding
-- =======================================================================

local string_gsub, string_lower = string.gsub, string.lower

-- A decoded integral number this large may have lost digits in a double.
local BIG = 2 ^ 53

-- Integral floats to integers and arrays marked, in place, in cjson's
-- output (its objects never have integer keys, its arrays always have
-- [1]). With 'nan', a one-element array holding NaN is the sentinel of an
-- empty array (see cjson_nan). Returns the number of such arrays and true
-- when some integer is beyond 2^53 (so the text must be decoded exactly).
local function fixup(t, nan)
  local found, big = 0, false
  if t[1] ~= nil then
    local n = #t
    if nan and n == 1 and t[1] ~= t[1] then
      t[1] = nil
      setmetatable(t, array_mt)
      return 1, false
    end
    for i = 1, n do
      local x = t[i]
      local tx = type(x)
      if tx == "number" then
        local v = math_tointeger(x)
        if v then
          t[i] = v
          big = big or v >= BIG or v <= -BIG
        end
      elseif tx == "table" then
        local f, b = fixup(x, nan)
        found, big = found + f, big or b
      end
    end
    setmetatable(t, array_mt)
    return found, big
  end
  for k, x in next, t do
    local tx = type(x)
    if tx == "number" then
      local v = math_tointeger(x)
      if v then
        t[k] = v
        big = big or v >= BIG or v <= -BIG
      end
    elseif tx == "table" then
      local f, b = fixup(x, nan)
      found, big = found + f, big or b
    end
  end
  return found, big
end

local escapes = {
  ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f",
  n = "\n", r = "\r", t = "\t",
}

-- The exact decoder: a recursive descent over `s`. Each function takes a
-- position and returns the value and the next position, or raises a
-- message (caught by json.decode).
local decode_value

local function fail(s, i, what)
  if i > #s then
    error({ "unexpected end of input, expected " .. what }, 0)
  end
  error({ string_format("unexpected %q at character %d, expected %s",
    string_sub(s, i, i), i, what) }, 0)
end

local function skip(s, i)
  local _, e = string_find(s, "^[ \t\r\n]*", i)
  return e + 1
end

local function decode_string(s, i)
  local parts, n = {}, 0
  local j = i + 1
  while true do
    local a = string_find(s, '["\\%c]', j)
    if a == nil then
      fail(s, #s + 1, "'\"' closing the string")
    end
    local c = string_sub(s, a, a)
    if c ~= '"' and c ~= "\\" then
      fail(s, a, "no control character inside a string")
    end
    n = n + 1
    parts[n] = string_sub(s, j, a - 1)
    if c == '"' then
      return table_concat(parts), a + 1
    end
    local e = string_sub(s, a + 1, a + 1)
    if escapes[e] then
      n = n + 1
      parts[n] = escapes[e]
      j = a + 2
    elseif e == "u" then
      local hex = string_sub(s, a + 2, a + 5)
      if not string_find(hex, "^%x%x%x%x$") then
        fail(s, a, "four hex digits after \\u")
      end
      local cp = tonumber(hex, 16)
      j = a + 6
      if cp >= 0xD800 and cp <= 0xDBFF then  -- high surrogate: pair it
        local lo = string_find(s, "^\\u[dD][c-fC-F]%x%x", j)
          and tonumber(string_sub(s, j + 2, j + 5), 16)
        if lo then
          cp = 0x10000 + (cp - 0xD800) * 0x400 + (lo - 0xDC00)
          j = j + 6
        end
      end
      n = n + 1
      parts[n] = utf8.char(cp)
    else
      fail(s, a + 1, "a valid escape after '\\'")
    end
  end
end

local function decode_number(s, i)
  local _, e = string_find(s, "^-?0", i)
  if not e then
    _, e = string_find(s, "^-?[1-9]%d*", i)
  end
  if not e then
    fail(s, i, "a number")
  end
  local integral = true
  local _, f = string_find(s, "^%.%d+", e + 1)
  if f then
    e, integral = f, false
  end
  _, f = string_find(s, "^[eE][-+]?%d+", e + 1)
  if f then
    e, integral = f, false
  end
  local v = tonumber(string_sub(s, i, e))
  if not integral then
    v = math_tointeger(v) or v
  end
  return v, e + 1
end

local function decode_array(s, i, depth)
  local t, n = setmetatable({}, array_mt), 0
  i = skip(s, i + 1)
  if string_byte(s, i) == 93 then  -- ]
    return t, i + 1
  end
  while true do
    local v
    v, i = decode_value(s, i, depth)
    n = n + 1
    t[n] = v
    i = skip(s, i)
    local c = string_byte(s, i)
    if c == 93 then
      return t, i + 1
    elseif c ~= 44 then  -- ,
      fail(s, i, "',' or ']'")
    end
    i = skip(s, i + 1)
  end
end

local function decode_object(s, i, depth)
  local t = {}
  i = skip(s, i + 1)
  if string_byte(s, i) == 125 then  -- }
    return t, i + 1
  end
  while true do
    if string_byte(s, i) ~= 34 then
      fail(s, i, "a string key")
    end
    local k, v
    k, i = decode_string(s, i)
    i = skip(s, i)
    if string_byte(s, i) ~= 58 then  -- :
      fail(s, i, "':'")
    end
    v, i = decode_value(s, skip(s, i + 1), depth)
    t[k] = v
    i = skip(s, i)
    local c = string_byte(s, i)
    if c == 125 then
      return t, i + 1
    elseif c ~= 44 then
      fail(s, i, "',' or '}'")
    end
    i = skip(s, i + 1)
  end
end

local literals = { t = { "true", true }, f = { "false", false }, n = { "null", null } }

function decode_value(s, i, depth)
  i = skip(s, i)
  local c = string_sub(s, i, i)
  if c == "{" or c == "[" then
    if depth >= MAX_DEPTH then
      fail(s, i, "nesting at most " .. MAX_DEPTH .. " deep")
    end
    if c == "{" then
      return decode_object(s, i, depth + 1)
    end
    return decode_array(s, i, depth + 1)
  elseif c == '"' then
    return decode_string(s, i)
  elseif c == "-" or string_find(c, "^%d") then
    return decode_number(s, i)
  end
  local lit = literals[c]
  if lit and string_sub(s, i, i + #lit[1] - 1) == lit[1] then
    return lit[2], i + #lit[1]
  end
  fail(s, i, "a JSON value")
end

local function exact_decode(s)
  local ok, v, i = pcall(decode_value, s, 1, 0)
  if not ok then
    if type(v) == "table" then
      return nil, "json.decode: " .. v[1]
    end
    error(v, 0)
  end
  i = skip(s, i)
  if i <= #s then
    return nil, "json.decode: " .. string_format(
      "unexpected %q at character %d after the value", string_sub(s, i, i), i)
  end
  return v
end

--- Decodes a JSON text.
-- Objects become tables, arrays tables marked with `json.array`, `null`
-- becomes `json.null`, integers Lua integers (see the module notes).
-- @tparam string s the JSON text
-- @return[1] the value
-- @treturn[2] nil
-- @treturn[2] string message "json.decode: ..."
-- @raise when `s` is not a string
function json.decode(s)
  if type(s) ~= "string" then
    error("bad argument #1 to 'decode' (string expected, got " .. type(s) .. ")", 2)
  end
  local rewritten, count = string_gsub(s, "%[%s*%]", "[nan]")
  local ok, v
  if count == 0 then
    ok, v = pcall(cjson.decode, s)
    if not ok then
      return nil, "json.decode: " .. tostring(v)
    end
  else
    local lower = string_lower(s)
    if string_find(lower, "nan", 1, true) or string_find(lower, "inf", 1, true)
        or string_find(lower, "0x", 1, true) then
      return exact_decode(s)
    end
    ok, v = pcall(cjson_nan.decode, rewritten)
    if not ok then  -- the exact decoder reports against the text as given
      return exact_decode(s)
    end
  end
  if type(v) == "table" then
    local found, big = fixup(v, count > 0)
    if found ~= count or big then  -- a "[]" inside a string, or a big number
      return exact_decode(s)
    end
    return v
  elseif type(v) == "number" then
    local i = math_tointeger(v)
    if i and (i >= BIG or i <= -BIG) then
      return exact_decode(s)
    end
    return i or v
  elseif count > 0 then  -- a lone string holding "[]"
    return exact_decode(s)
  end
  return v
end

--- Decodes a JSON text on the fast path: lua-cjson's result as it is.
-- Safe only where a schema re-types the result (service models, protocol
-- responses read through their shapes): every number is a float (one
-- beyond 2^53 may have been rounded), arrays are unmarked (an empty one is
-- `{}`), `null` is `json.null`. About 5x faster than `json.decode` on
-- typical responses and 9x on ec2's 1.3 MB model.
-- @tparam string s the JSON text
-- @return[1] the value
-- @treturn[2] nil
-- @treturn[2] string message "json.decode: ..."
-- @raise when `s` is not a string
function json.decode_fast(s)
  if type(s) ~= "string" then
    error("bad argument #1 to 'decode_fast' (string expected, got " .. type(s) .. ")", 2)
  end
  local ok, v = pcall(cjson.decode, s)
  if not ok then
    return nil, "json.decode: " .. tostring(v)
  end
  return v
end

-- }======================================================================

-- {======================================================================
-- Encoding
-- =======================================================================

local string_escapes = {
  ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r",
  ["\t"] = "\\t", ["\b"] = "\\b", ["\f"] = "\\f",
}
for b = 0, 31 do
  local c = string.char(b)
  string_escapes[c] = string_escapes[c] or string_format("\\u%04x", b)
end
string_escapes["\127"] = "\\u007f"

local function encode_string(s)
  if not string_find(s, '[%c"\\]') then
    return '"' .. s .. '"'
  end
  return '"' .. string.gsub(s, '[%c"\\]', string_escapes) .. '"'
end

--- A string as a JSON string literal (control characters escaped).
-- @tparam string s
-- @treturn string
json.encode_string = encode_string

local function where(path)
  local parts = { "$" }
  local first = 1
  if #path > 12 then  -- a cycle: the tail says enough
    first = #path - 9
    parts[1] = "$..."
  end
  for i = first, #path do
    local k = path[i]
    parts[#parts + 1] = math_type(k) == "integer" and "[" .. k .. "]" or "." .. tostring(k)
  end
  return table_concat(parts)
end

local function encode_error(path, msg)
  error("json.encode: " .. msg .. " at " .. where(path), 0)
end

-- The options of the current json.encode call (set at each entry, so an
-- error part-way leaves nothing stale): see json.encode.
local opt_nonfinite, opt_python_floats, opt_empty_array, opt_lenient = "error", false, false, false

local NONFINITE_TEXT = { [true] = '"NaN"', [math.huge] = '"Infinity"', [-math.huge] = '"-Infinity"' }

local function encode_number(v, path)
  if math_type(v) == "integer" then
    return string_format("%d", v)
  end
  if v ~= v or v == math.huge or v == -math.huge then
    if opt_nonfinite == "null" then
      return "null"
    elseif opt_nonfinite == "string" then
      return NONFINITE_TEXT[v ~= v or v]
    end
    encode_error(path, "cannot encode " .. tostring(v) .. " (not a JSON number)")
  end
  local i = math_tointeger(v)  -- integral: its exact value, as an integer
  if i then
    if opt_python_floats and v > -1e16 and v < 1e16 then
      return string_format("%.1f", v)  -- Python's repr: 1.0
    end
    return string_format("%d", i)
  end
  for digits = 14, 16 do
    local s = string_format("%." .. digits .. "g", v)
    if tonumber(s) == v then
      return s
    end
  end
  return string_format("%.17g", v)
end

local encode_value

local function key_string(k, path)
  local tk = type(k)
  if tk == "string" then
    return k
  elseif tk == "number" then
    return encode_number(k, path)
  end
  encode_error(path, "object key of type " .. tk .. " (use strings)")
end

local function encode_array(t, n, buf, path, depth)
  buf[#buf + 1] = "["
  for i = 1, n do
    if i > 1 then
      buf[#buf + 1] = ","
    end
    path[depth] = i
    encode_value(t[i], buf, path, depth)
  end
  path[depth] = nil
  buf[#buf + 1] = "]"
end

local function key_less(a, b)
  return a[1] < b[1]
end

-- Objects are written with their keys sorted, so output is stable, or in
-- the order a metatable's `__order` lists (a decoder that kept the text's).
local function encode_object(t, buf, path, depth, order)
  local keys, n, all_strings = {}, 0, true
  if order then  -- as listed: the key strings, and the real keys for lookup
    n, all_strings = #order, false
    for i = 1, n do
      keys[i] = { tostring(order[i]), order[i] }
    end
  else
    for k in next, t do
      n = n + 1
      keys[n] = k
      if type(k) ~= "string" then
        all_strings = false
      end
    end
  end
  if all_strings then
    table_sort(keys)
  elseif not order then  -- sort on the key strings, keep the real keys for lookup
    for i = 1, n do
      path[depth] = keys[i]
      keys[i] = { key_string(keys[i], path), keys[i] }
    end
    table_sort(keys, key_less)
  end
  buf[#buf + 1] = "{"
  for i = 1, n do
    local name, k = keys[i], keys[i]
    if not all_strings then
      name, k = k[1], k[2]
    end
    if i > 1 then
      buf[#buf + 1] = ","
    end
    path[depth] = name
    buf[#buf + 1] = encode_string(name)
    buf[#buf + 1] = ":"
    encode_value(t[k], buf, path, depth)
  end
  path[depth] = nil
  buf[#buf + 1] = "}"
end

-- Array length of a plain table whose keys are all positive integers (and
-- not too sparse, as cjson's default rule), or nil for an object.
local function array_length(t, path)
  local n, max = 0, 0
  for k in pairs(t) do
    if math_type(k) ~= "integer" or k < 1 then
      return nil
    end
    n = n + 1
    if k > max then
      max = k
    end
  end
  if max > 10 and max > 2 * n then
    encode_error(path, "excessively sparse array (" .. n .. " values up to index "
      .. max .. "); use an object with string keys")
  end
  return max
end

function encode_value(v, buf, path, depth)
  local tv = type(v)
  if tv == "string" then
    buf[#buf + 1] = encode_string(v)
  elseif tv == "number" then
    buf[#buf + 1] = encode_number(v, path)
  elseif tv == "boolean" then
    buf[#buf + 1] = v and "true" or "false"
  elseif v == nil or v == null then
    buf[#buf + 1] = "null"
  elseif tv == "table" then
    if depth >= MAX_DEPTH then
      encode_error(path, "nesting deeper than " .. MAX_DEPTH .. " (a cycle?)")
    end
    local mt = getmetatable(v)
    local kind = mt and (mt == array_mt and "array" or mt.__jsontype)
    local order = mt and mt.__order
    if kind == "array" then
      encode_array(v, rawlen(v), buf, path, depth + 1)
    elseif next(v) == nil and not order then
      buf[#buf + 1] = (opt_empty_array and kind ~= "object") and "[]" or "{}"
    else
      local n = kind ~= "object" and not order and array_length(v, path)
      if n then
        encode_array(v, n, buf, path, depth + 1)
      else
        encode_object(v, buf, path, depth + 1, order)
      end
    end
  elseif opt_lenient then
    buf[#buf + 1] = "null"
  else
    encode_error(path, "cannot encode a " .. tv)
  end
end

--- Encodes a Lua value as JSON text.
-- Tables with keys 1..n are arrays, other tables objects (keys sorted, or
-- in the order their metatable's `__order` lists); an empty table is `{}`
-- unless marked with `json.array`. A metatable's `__jsontype` ("array" or
-- "object") also says which a table is.
-- @param v the value
-- @tparam[opt] table opts how to write what JSON has no single answer for:
--
-- * `nonfinite`: NaN and infinities raise (`"error"`, the default), are
--   `null` (`"null"`), or the strings AWS uses (`"string"`: `"NaN"`,
--   `"Infinity"`, `"-Infinity"`);
-- * `python_floats`: an integral float as Python writes it (`1.0`), not `1`;
-- * `empty_array`: an unmarked empty table is `[]` (AWS documents);
-- * `lenient`: functions, userdata and threads become `null`, no error.
-- @treturn string the JSON text
-- @raise "json.encode: <what> at $.path" for functions, NaN, cycles...
function json.encode(v, opts)
  if opts then
    opt_nonfinite, opt_python_floats = opts.nonfinite or "error", opts.python_floats or false
    opt_empty_array, opt_lenient = opts.empty_array or false, opts.lenient or false
  else
    opt_nonfinite, opt_python_floats, opt_empty_array, opt_lenient = "error", false, false, false
  end
  local buf = {}
  encode_value(v, buf, {}, 0)
  return table_concat(buf)
end

-- }======================================================================

-- {======================================================================
-- Python's json.dumps text: what the AWS CLI prints (`indent = 4`) and what
-- botocore hashes for its credential cache keys (`ascii = true`). One
-- writer for both, here with the rest of kumo's JSON.

local PY_ESCAPES = {
  ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r",
  ["\t"] = "\\t", ["\b"] = "\\b", ["\f"] = "\\f",
}

local function u_escape(cp)
  if cp > 0xFFFF then  -- a surrogate pair, as Python writes it
    cp = cp - 0x10000
    return string_format("\\u%04x\\u%04x", 0xD800 | (cp >> 10), 0xDC00 | (cp & 0x3FF))
  end
  return string_format("\\u%04x", cp)
end

-- ensure_ascii=True: every code point outside " ".."~" escaped (UTF-8
-- decoded; a stray byte is U+FFFD, as Python's surrogateescape is not used).
local function py_string_ascii(s)
  if not string_find(s, '[^ -~]') and not string_find(s, '["\\]') then
    return '"' .. s .. '"'
  end
  local out, i, n = { '"' }, 1, #s
  while i <= n do
    local b = string_byte(s, i)
    local cp, len
    if b < 0x80 then cp, len = b, 1
    elseif b >= 0xF0 then cp, len = b & 0x07, 4
    elseif b >= 0xE0 then cp, len = b & 0x0F, 3
    elseif b >= 0xC0 then cp, len = b & 0x1F, 2
    else cp, len = 0xFFFD, 1 end
    for j = i + 1, i + len - 1 do cp = (cp << 6) | ((string_byte(s, j) or 0x80) & 0x3F) end
    i = i + len
    local c = cp < 0x80 and string.char(cp)
    out[#out + 1] = c and (PY_ESCAPES[c] or ((cp < 0x20 or cp == 0x7F) and u_escape(cp)) or c)
      or u_escape(cp)
  end
  out[#out + 1] = '"'
  return table_concat(out)
end

-- ensure_ascii=False, except that DEL and the C0 and C1 controls are
-- escaped (Python keeps some raw): the text reaches terminals.
local function py_string_raw(s)
  s = string.gsub(s, '[%c"\\]', function(c) return PY_ESCAPES[c] or string_format("\\u%04x", string_byte(c)) end)
  s = string.gsub(s, "\194([\128-\159])", function(c) return string_format("\\u%04x", string_byte(c)) end)
  return '"' .. s .. '"'
end

--- A number as Python's `repr` writes it: integers as they are, floats
-- with the shortest text that reads back (`1.0` for integral ones below
-- 1e16), `NaN`, `Infinity`, `-Infinity`.
-- @tparam number v
-- @treturn string
function json.pynumber(v)
  if math_type(v) == "integer" then return string_format("%d", v) end
  if v ~= v then return "NaN" end
  if v == math.huge then return "Infinity" end
  if v == -math.huge then return "-Infinity" end
  if v == math.floor(v) and math.abs(v) < 1e16 then return string_format("%.1f", v) end
  for digits = 15, 16 do
    local t = string_format("%." .. digits .. "g", v)
    if tonumber(t) == v then return t end
  end
  return string_format("%.17g", v)
end
local pynumber = json.pynumber

-- an array: marked, typed, or keys exactly 1..n (n > 0)
local function py_is_array(t)
  local mt = getmetatable(t)
  if mt == array_mt or (mt and mt.__jsontype == "array") then return true end
  local n = rawlen(t)
  if n == 0 then return false end
  local count = 0
  for _ in next, t do count = count + 1 end
  return count == n
end

local function sorted_keys(t)
  local keys = {}
  for k in next, t do keys[#keys + 1] = tostring(k) end
  table_sort(keys)
  return keys
end

local function dumps_value(v, buf, o, indent, depth)
  local tv = type(v)
  if tv == "string" then
    buf[#buf + 1] = o.str(v)
  elseif tv == "number" then
    buf[#buf + 1] = pynumber(v)
  elseif tv == "boolean" then
    buf[#buf + 1] = v and "true" or "false"
  elseif v == nil or v == null then
    buf[#buf + 1] = "null"
  elseif tv == "table" then
    if depth >= MAX_DEPTH then error("json.dumps: nesting deeper than " .. MAX_DEPTH .. " (a cycle?)", 0) end
    local inner = o.step and indent .. o.step
    local open_sep = inner and "\n" .. inner or ""
    local sep = inner and ",\n" .. inner or ", "
    local close = inner and "\n" .. indent or ""
    if py_is_array(v) then
      if rawlen(v) == 0 then buf[#buf + 1] = "[]"; return end
      buf[#buf + 1] = "[" .. open_sep
      for i = 1, rawlen(v) do
        if i > 1 then buf[#buf + 1] = sep end
        dumps_value(v[i], buf, o, inner, depth + 1)
      end
      buf[#buf + 1] = close .. "]"
    else
      local keys = o.keys and o.keys(v) or sorted_keys(v)
      if #keys == 0 then buf[#buf + 1] = "{}"; return end
      buf[#buf + 1] = "{" .. open_sep
      for i, k in ipairs(keys) do
        if i > 1 then buf[#buf + 1] = sep end
        buf[#buf + 1] = o.str(tostring(k)) .. ": "
        local val = v[k]
        if val == nil and type(k) == "string" then val = v[tonumber(k)] end
        dumps_value(val, buf, o, inner, depth + 1)
      end
      buf[#buf + 1] = close .. "}"
    end
  elseif o.other_as_text then
    buf[#buf + 1] = o.str(tostring(v))
  else
    error("json.dumps: cannot write a " .. tv, 0)
  end
end

--- Python's `json.dumps(v, sort_keys=True)` text: `", "` and `": "`
-- between items, or with `indent` one item a line (`",\n"`, `": "`); an
-- empty list `[]` even with an indent, as Python.
-- @param v the value
-- @tparam[opt] table opts
--
-- * `indent`: spaces per level (none: one line);
-- * `ascii`: `ensure_ascii=True` (every code point outside `" ".."~"` as
--   `\uXXXX`); otherwise text is written as UTF-8 with the controls (C0,
--   DEL, C1) escaped;
-- * `keys`: `function(t)` → the keys of an object in the order to write
--   (default: sorted);
-- * `other_as_text`: functions and userdata as the string of `tostring`
--   (default: an error).
-- @treturn string
function json.dumps(v, opts)
  opts = opts or {}
  local o = {
    str = opts.ascii and py_string_ascii or py_string_raw,
    step = opts.indent and string.rep(" ", opts.indent) or nil,
    keys = opts.keys, other_as_text = opts.other_as_text,
  }
  local buf = {}
  dumps_value(v, buf, o, "", 0)
  return table_concat(buf)
end

-- }======================================================================

return json
