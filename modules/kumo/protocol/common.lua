--- JSON text of the protocols: the decoder responses go through, and the
-- writer of plain Lua values (documents, jsonvalue members).
-- The shape and wire helpers that used to live here are in
-- kumo.protocol.shape, kumo.protocol.wire and kumo.protocol.request; the
-- end of this file still hands them on, under their old names, to the
-- modules not yet moved to them (query, xmlbody, jsonbody, validate).
-- @module kumo.protocol.common
local M = {}

local char, format, gsub = string.char, string.format, string.gsub
local concat = table.concat
local huge, mtype, tointeger = math.huge, math.type, math.tointeger

local shape = require "kumo.protocol.shape"
local wire = require "kumo.protocol.wire"

-- Responses are decoded with lua-cjson directly (a private instance, fast);
-- the shapes then give integers back their type. kumo.json's exact decoder
-- is ~5x slower on typical responses.
local cjson = require("cjson")
local json = cjson.new()
json.null = cjson.null

--- The JSON module used for parsing (kumo.json when present, else cjson).
M.json = json
--- Sentinel for a JSON null kept in sparse lists and maps.
M.null = json.null

------------------------------------------------------------------------
-- JSON text writing (shape-driven callers build the value; this writes it)
------------------------------------------------------------------------

local jesc = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
               ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }
for i = 0, 31 do
  local c = char(i)
  if not jesc[c] then jesc[c] = format("\\u%04x", i) end
end
jesc[char(127)] = "\\u007f"

--- A string as a JSON string literal.
function M.json_string(s)
  return '"' .. gsub(s, '[%c"\\]', jesc) .. '"'
end

--- A JSON number (special floats as the strings AWS uses).
function M.json_number(v, is_float)
  if type(v) == "string" then return M.json_string(v) end
  if v ~= v then return '"NaN"' end
  if v == huge then return '"Infinity"' end
  if v == -huge then return '"-Infinity"' end
  if not is_float then
    local i = tointeger(v)
    if i then return format("%d", i) end
  end
  return wire.float_text(v)
end

--- Any plain Lua value (a `document` or a jsonvalue) as JSON text.
-- Tables that are lists (or marked by json.array) become arrays.
function M.json_any(v, out)
  local top = out == nil
  out = out or {}
  local tv = type(v)
  if v == nil or v == M.null then
    out[#out + 1] = "null"
  elseif tv == "boolean" then
    out[#out + 1] = v and "true" or "false"
  elseif tv == "number" then
    out[#out + 1] = M.json_number(v, mtype(v) == "float")
  elseif tv == "string" then
    out[#out + 1] = M.json_string(v)
  elseif tv == "table" then
    local mt = getmetatable(v)
    local as_object = mt and mt.__order ~= nil
    if not as_object and (v[1] ~= nil or (next(v) == nil and not (mt and mt.__jsontype == "object"))) then
      out[#out + 1] = "["
      for i = 1, #v do
        if i > 1 then out[#out + 1] = "," end
        M.json_any(v[i], out)
      end
      out[#out + 1] = "]"
    else
      out[#out + 1] = "{"
      local first = true
      for _, k in ipairs(shape.keys(v)) do
        if not first then out[#out + 1] = "," end
        first = false
        out[#out + 1] = M.json_string(tostring(k))
        out[#out + 1] = ":"
        M.json_any(v[k], out)
      end
      out[#out + 1] = "}"
    end
  else
    error("cannot encode a " .. tv .. " as JSON", 0)
  end
  if top then return concat(out) end
end

--- Decode JSON text; raises a clear error on bad input.
function M.json_decode(s, what)
  local ok, v = pcall(json.decode, s)
  if not ok or v == nil then
    error((what or "response") .. ": invalid JSON: " .. tostring(v), 0)
  end
  return v
end

------------------------------------------------------------------------
-- Moved: the old names of what the split modules now hold, for the
-- modules still reading them here. New code requires the module itself.
------------------------------------------------------------------------

local request = require "kumo.protocol.request"

M.members, M.location, M.out_located, M.keys = shape.members, shape.location, shape.out_located, shape.keys
M.fill_tokens, M.union_check, M.error_shape = shape.fill_tokens, shape.union_check, shape.error_shape
M.urlencode, M.scalar_text, M.float_value = wire.urlencode, wire.scalar_text, wire.float_value
M.parse_time, M.format_time, M.clean_code = wire.parse_time, wire.format_time, wire.clean_code
M.b64encode, M.b64decode = wire.b64encode, wire.b64decode
M.host_prefix, M.compress = request.host_prefix, request.compress

return M
