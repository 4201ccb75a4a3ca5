--- kumo.dynamodb: Lua values to DynamoDB AttributeValues and back, as
-- boto3's TypeSerializer and TypeDeserializer convert Python values.
--
--     local ddb = require "kumo.dynamodb"
--     local item = ddb.marshal{ id = "u1", n = 42, price = ddb.number("19.90"),
--       tags = ddb.set{ "a", "b" }, blob = ddb.binary("\0\1"), gone = ddb.null,
--       ok = true, list = { 1, "two" }, map = { k = "v" } }
--     client:PutItem{ TableName = "t", Item = item }
--     local back = ddb.unmarshal(client:GetItem{ TableName = "t", Key = ddb.marshal{ id = "u1" } }.Item)
--
-- | Lua | AttributeValue | back |
-- | --- | --- | --- |
-- | string | `S` | string |
-- | integer; `ddb.number("1.50")`; a float (its shortest exact text) | `N` (a decimal string, as Python's `Decimal` writes it) | integer when the text is one that fits, else a `ddb.number` keeping the exact text |
-- | `ddb.binary(bytes)` | `B` | `ddb.binary` |
-- | boolean | `BOOL` | boolean |
-- | `ddb.null` (kumo.json's null) | `NULL` | `ddb.null` |
-- | `ddb.set{...}` of strings, numbers or binaries | `SS`, `NS`, `BS` | `ddb.set` |
-- | a sequence 1..n, or a table marked with `kumo.json.array` | `L` | a sequence (marked) |
-- | any other table (string keys) | `M` | a table |
--
-- Numbers follow boto3's DYNAMODB_CONTEXT: 38 significant digits at most,
-- adjusted exponent -128 to 126, no rounding, no NaN or infinity: anything
-- else is an error naming the value, never a silent change.
-- @module kumo.dynamodb
local json = require "kumo.json"

local M = {}

local format, concat = string.format, table.concat
local mtype = math.type

--- NULL (the same value as kumo.json's null).
M.null = json.null

local Number = { __name = "kumo.dynamodb.number" }
Number.__index = Number
local Binary = { __name = "kumo.dynamodb.binary" }
Binary.__index = Binary
local Set = { __name = "kumo.dynamodb.set" }
Set.__index = Set

-- A decimal text as Python's Decimal (DYNAMODB_CONTEXT) normalizes it, or
-- nil and why.
local function decimal_text(s)
  local sign, int, frac, exp = s:match("^%s*([+-]?)(%d*)%.?(%d*)[eE]?([+-]?%d*)%s*$")
  if not sign or (int == "" and frac == "") then return nil, "not a decimal number" end
  if s:find("[eE]") and exp == "" then return nil, "not a decimal number" end
  if not s:find("[eE]") and exp ~= "" then return nil, "not a decimal number" end
  local digits = (int .. frac):gsub("^0+", "")
  local e = (tonumber(exp) or 0) - #frac
  if digits == "" then digits = "0" end
  if #digits > 38 then
    return nil, "more than 38 significant digits (DynamoDB keeps 38; boto3 refuses to round)"
  end
  local adjusted = e + #digits - 1
  -- boto3's DYNAMODB_CONTEXT: Emax 126, Emin -128 with 38 digits, so the
  -- smallest exponent is -165; beyond, Python's decimal raises (Overflow,
  -- Underflow, Clamped) rather than change the number
  if e < -165 or (digits ~= "0" and adjusted > 126) or (digits == "0" and e > 126) then
    return nil, "exponent out of range (boto3's DynamoDB context: up to 9.99...E+126, down to 1E-165)"
  end
  local out
  if e <= 0 and adjusted >= -6 then
    if e == 0 then
      out = digits
    else
      local n = #digits + e  -- digits before the point
      if n > 0 then
        out = digits:sub(1, n) .. "." .. digits:sub(n + 1)
      else
        out = "0." .. ("0"):rep(-n) .. digits
      end
    end
  else
    out = digits:sub(1, 1) .. (#digits > 1 and ("." .. digits:sub(2)) or "")
      .. "E" .. (adjusted >= 0 and "+" or "") .. adjusted
  end
  return (sign == "-" and "-" or "") .. out
end
M.decimal_text = decimal_text

--- An exact decimal number (boto3's `Decimal`), kept as text.
-- @tparam string|number v
-- @treturn table a number object (`.text`, `tostring`, `:tonumber()`, `==`)
function M.number(v)
  local text, why
  if type(v) == "string" then
    text, why = decimal_text(v)
  elseif mtype(v) == "integer" then
    text = tostring(v)
  elseif mtype(v) == "float" then
    if v ~= v or v == math.huge or v == -math.huge then
      why = "NaN and infinity are not DynamoDB numbers"
    else
      local s = format("%.15g", v)
      if tonumber(s) ~= v then s = format("%.17g", v) end
      text, why = decimal_text(s)
    end
  elseif getmetatable(v) == Number then
    return v
  else
    why = "a " .. type(v) .. " is not a number"
  end
  if not text then error(format("dynamodb: number %s: %s", tostring(v), why), 2) end
  return setmetatable({ text = text }, Number)
end

function Number.__tostring(n) return n.text end
function Number.__eq(a, b) return a.text == b.text end
--- The number as a Lua number (may lose digits: the text is exact).
function Number:tonumber() return tonumber(self.text) end

--- Bytes to send as binary (`B`): Lua strings are bytes, so binary is marked.
-- @tparam string bytes
-- @treturn table a binary object (`.bytes`)
function M.binary(bytes)
  if type(bytes) ~= "string" then error("dynamodb.binary: bytes must be a string, got " .. type(bytes), 2) end
  return setmetatable({ bytes = bytes }, Binary)
end
function Binary.__tostring(b) return b.bytes end
function Binary.__eq(a, b) return a.bytes == b.bytes end

--- A set of strings, numbers or binaries (`SS`, `NS`, `BS`).
-- @tparam table items a sequence (duplicates are dropped)
-- @treturn table a set object (`.items`, `.kind` = "SS"|"NS"|"BS")
function M.set(items)
  if type(items) ~= "table" then error("dynamodb.set: give a sequence of values", 2) end
  local kind
  local list, seen = {}, {}
  for i, v in ipairs(items) do
    local k, key
    if type(v) == "string" then k, key = "SS", "s" .. v
    elseif type(v) == "number" or getmetatable(v) == Number then
      v = M.number(v)
      k, key = "NS", "n" .. v.text
    elseif getmetatable(v) == Binary then k, key = "BS", "b" .. v.bytes
    else
      error(format("dynamodb.set: item %d is a %s; a set holds strings, numbers or binaries", i, type(v)), 2)
    end
    if kind and k ~= kind then
      error(format("dynamodb.set: item %d makes a mixed set (%s and %s); a set holds one type", i, kind, k), 2)
    end
    kind = k
    if not seen[key] then seen[key] = true list[#list + 1] = v end
  end
  return setmetatable({ items = list, kind = kind or "SS" }, Set)
end

local function is_sequence(t)
  if json.is_array(t) then return true end
  local mt = getmetatable(t)
  if mt and mt.__jsontype == "array" then return true end
  local n = #t
  if n == 0 then return false end
  local count = 0
  for k in pairs(t) do
    if mtype(k) ~= "integer" or k < 1 or k > n then return false end
    count = count + 1
  end
  return count == n
end

--- A Lua value as an AttributeValue (boto3's TypeSerializer.serialize).
-- @param v the value
-- @tparam[opt] string where the path for error messages
-- @treturn table `{ S = ... }`, `{ N = ... }`, ...
function M.serialize(v, where)
  where = where or "value"
  local t = type(v)
  if v == json.null then return { NULL = true } end
  if t == "string" then return { S = v } end
  if t == "boolean" then return { BOOL = v } end
  if t == "number" then
    local ok, n = pcall(M.number, v)
    if not ok then error(format("dynamodb: %s: %s", where, tostring(n):gsub("^dynamodb: ", "")), 0) end
    return { N = n.text }
  end
  local mt = getmetatable(v)
  if mt == Number then return { N = v.text } end
  if mt == Binary then return { B = v.bytes } end
  if mt == Set then
    local out = {}
    for i, item in ipairs(v.items) do
      out[i] = v.kind == "NS" and item.text or (v.kind == "BS" and item.bytes or item)
    end
    return { [v.kind] = json.array(out) }
  end
  if t == "table" then
    if is_sequence(v) then
      local out = {}
      for i, item in ipairs(v) do out[i] = M.serialize(item, format("%s[%d]", where, i)) end
      return { L = json.array(out) }
    end
    local out = {}
    for k, item in pairs(v) do
      if type(k) ~= "string" then
        error(format("dynamodb: %s: a map's keys must be strings, found a %s key (a list "
          .. "must be a sequence 1..n)", where, type(k)), 0)
      end
      out[k] = M.serialize(item, where .. "." .. k)
    end
    return { M = out }
  end
  error(format("dynamodb: %s: a %s has no DynamoDB type (use strings, numbers, booleans, "
    .. "dynamodb.null, dynamodb.binary, dynamodb.set, lists and maps)", where, t), 0)
end

-- N text to a Lua value: an integer when the text is one and fits.
local function number_value(text)
  if text:find("^%-?%d+$") then
    local i = math.tointeger(tonumber(text))
    if i and tostring(i) == text:gsub("^(%-?)0+(%d)", "%1%2") then return i end
  end
  return M.number(text)
end

--- An AttributeValue as a Lua value (boto3's TypeDeserializer.deserialize).
-- @tparam table av `{ S = ... }`, ...
-- @tparam[opt] string where the path for error messages
-- @return the value
function M.deserialize(av, where)
  where = where or "value"
  if type(av) ~= "table" then
    error(format("dynamodb: %s: an AttributeValue is a table such as { S = \"x\" }, got %s", where, type(av)), 0)
  end
  local tag, v = next(av)
  if tag == nil or next(av, tag) ~= nil then
    error(format("dynamodb: %s: an AttributeValue has exactly one type key (S, N, B, SS, NS, BS, "
      .. "M, L, NULL, BOOL)", where), 0)
  end
  if tag == "S" then return v end
  if tag == "N" then return number_value(v) end
  if tag == "B" then return M.binary(v) end
  if tag == "BOOL" then return v end
  if tag == "NULL" then return json.null end
  if tag == "SS" then return M.set(v) end
  if tag == "NS" then
    local items = {}
    for i, text in ipairs(v) do items[i] = M.number(text) end
    return M.set(items)
  end
  if tag == "BS" then
    local items = {}
    for i, b in ipairs(v) do items[i] = M.binary(b) end
    return M.set(items)
  end
  if tag == "L" then
    local out = {}
    for i, item in ipairs(v) do out[i] = M.deserialize(item, format("%s[%d]", where, i)) end
    return json.array(out)
  end
  if tag == "M" then
    local out = {}
    for k, item in pairs(v) do out[k] = M.deserialize(item, where .. "." .. k) end
    return out
  end
  error(format("dynamodb: %s: unknown AttributeValue type %q", where, tostring(tag)), 0)
end

--- A table of Lua values as an item (`{ name = AttributeValue }`).
-- @tparam table item
-- @treturn table
function M.marshal(item)
  if type(item) ~= "table" then error("dynamodb.marshal: an item is a table of attributes", 2) end
  local out = {}
  for k, v in pairs(item) do
    if type(k) ~= "string" then error("dynamodb.marshal: attribute names must be strings", 2) end
    out[k] = M.serialize(v, k)
  end
  return out
end

--- An item (`{ name = AttributeValue }`) as a table of Lua values.
-- @tparam table item
-- @treturn table
function M.unmarshal(item)
  if type(item) ~= "table" then error("dynamodb.unmarshal: an item is a table of AttributeValues", 2) end
  local out = {}
  for k, av in pairs(item) do out[k] = M.deserialize(av, k) end
  return out
end

--- A set's items as a sorted list of texts (for comparisons and printing).
function Set:sorted()
  local list = {}
  for i, v in ipairs(self.items) do list[i] = type(v) == "string" and v or (v.text or v.bytes) end
  table.sort(list)
  return list
end
function Set.__eq(a, b)
  if a.kind ~= b.kind or #a.items ~= #b.items then return false end
  return concat(a:sorted(), "\0") == concat(b:sorted(), "\0")
end

return M
