--- JSON text of the protocols: the decoder responses go through, and the
-- writer of plain Lua values (documents, jsonvalue members).
-- The shape and wire helpers that used to live here are in
-- kumo.protocol.shape, kumo.protocol.wire and kumo.protocol.request.
-- @module kumo.protocol.common
local M = {}

local format = string.format
local huge, tointeger = math.huge, math.tointeger

local wire = require "kumo.protocol.wire"

-- Responses are decoded on kumo.json's fast path (lua-cjson as it is): the
-- shapes then give integers back their type and empty lists their marker.
local json = require "kumo.json"

--- The JSON module (kumo.json).
M.json = json
--- Sentinel for a JSON null kept in sparse lists and maps.
M.null = json.null

------------------------------------------------------------------------
-- JSON text writing (shape-driven callers build the value; this writes it)
------------------------------------------------------------------------

--- A string as a JSON string literal (kumo.json's).
M.json_string = json.encode_string

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

-- Documents and jsonvalues as AWS writes them: special floats by name, an
-- empty table as `[]` (unless marked an object), keys in `__order` order.
local DOCUMENT = { nonfinite = "string", empty_array = true }

--- Any plain Lua value (a `document` or a jsonvalue) as JSON text, by
-- kumo.json; appended to the buffer `out` when given.
function M.json_any(v, out)
  local text = json.encode(v, DOCUMENT)
  if not out then return text end
  out[#out + 1] = text
end

--- Decode JSON text; raises a clear error on bad input.
function M.json_decode(s, what)
  local v, err = json.decode_fast(s)
  if v == nil then
    error((what or "response") .. ": invalid JSON: " .. tostring(err), 0)
  end
  return v
end

return M
