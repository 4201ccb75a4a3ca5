--- Shape-driven JSON for the `json` and `rest-json` protocols: write a Lua
-- value as JSON text, and turn a decoded JSON value into the Lua value of a
-- shape (timestamps → epoch numbers, blobs → bytes, integers → integers).
-- @module kumo.protocol.jsonbody
local common = require "kumo.protocol.common"
local model = require "kumo.protocol.shape"
local wire = require "kumo.protocol.wire"
local ARRAY_MT = getmetatable(require("kumo.json").array())

local M = {}
local concat = table.concat
local tointeger = math.tointeger
local json_string, json_number = common.json_string, common.json_number
local null = common.null

local write

local function write_structure(shapes, shape, v, out)
  local members = shape.members or {}
  out[#out + 1] = "{"
  local first = true
  for _, name in ipairs(model.members(shape)) do
    local mv = v[name]
    local ref = members[name]
    if mv ~= nil and mv ~= null and not (ref.location or (not ref._noloc and model.location(shapes, ref))) then
      local key = ref._jkey
      if not key then
        key = json_string(ref.locationName or name) .. ":"
        ref._jkey = key
      end
      if not first then out[#out + 1] = "," end
      first = false
      out[#out + 1] = key
      write(shapes, shapes[ref.shape], mv, ref, out)
    end
  end
  out[#out + 1] = "}"
end

--- Write `v` (a value of `shape`) as JSON into `out`.
-- @param shapes shape table
-- @param shape the shape
-- @param v the value
-- @param ref member reference (for a per-member timestampFormat), may be nil
-- @param out buffer (list of strings)
function write(shapes, shape, v, ref, out)
  local t = shape.type
  if shape.document then
    common.json_any(v, out)
  elseif t == "structure" then
    write_structure(shapes, shape, v, out)
  elseif t == "list" then
    local member = shape.member
    local mshape = shapes[member.shape]
    out[#out + 1] = "["
    local n = 0
    for i = 1, #v do
      local item = v[i]
      if item == null then
        if shape.sparse then
          if n > 0 then out[#out + 1] = "," end
          n = n + 1
          out[#out + 1] = "null"
        end
      else
        if n > 0 then out[#out + 1] = "," end
        n = n + 1
        write(shapes, mshape, item, member, out)
      end
    end
    out[#out + 1] = "]"
  elseif t == "map" then
    local vref = shape.value
    local vshape = shapes[vref.shape]
    out[#out + 1] = "{"
    local first = true
    for _, k in ipairs(model.keys(v)) do
      local item = v[k]
      if item ~= null or shape.sparse then
        if not first then out[#out + 1] = "," end
        first = false
        out[#out + 1] = json_string(k) .. ":"
        if item == null then out[#out + 1] = "null"
        else write(shapes, vshape, item, vref, out) end
      end
    end
    out[#out + 1] = "}"
  elseif t == "string" then
    out[#out + 1] = json_string(v)
  elseif t == "boolean" then
    out[#out + 1] = v and "true" or "false"
  elseif t == "integer" or t == "long" then
    out[#out + 1] = json_number(v, false)
  elseif t == "float" or t == "double" then
    out[#out + 1] = json_number(v, true)
  elseif t == "timestamp" then
    local fmt = ref and ref.timestampFormat or shape.timestampFormat or "unixTimestamp"
    local s = wire.format_time(v, fmt)
    out[#out + 1] = fmt == "unixTimestamp" and s or json_string(s)
  elseif t == "blob" then
    out[#out + 1] = json_string(wire.b64encode(v))
  else
    common.json_any(v, out)
  end
end

M.write = write

--- A value of `shape` as JSON text.
function M.encode(shapes, shape, v)
  local out = {}
  write(shapes, shape, v, nil, out)
  return concat(out)
end

local read

-- A document as decoded, with integral numbers as Lua integers (lua-cjson
-- gives every number as a float).
local function document(v)
  local tv = type(v)
  if tv == "number" then
    if v == v and v ~= math.huge and v ~= -math.huge and v % 1 == 0 and math.abs(v) < 2 ^ 53 then
      return tointeger(v)
    end
    return v
  end
  if tv == "table" and v ~= null then
    for k, item in pairs(v) do v[k] = document(item) end
  end
  return v
end

-- Per structure, once: JSON key → {member name, shape}; output members bound
-- to headers or the status code are not read from the body. `shape._jsame`
-- tells that every key is its member's name (no locationName), so the
-- decoded object can become the output in place.
local function reader(shapes, shape)
  local r = shape._jr
  if r then return r end
  r = {}
  local same = not shape.union
  for name, ref in pairs(shape.members or {}) do
    if not model.out_located(shapes, ref) then
      local ms = shapes[ref.shape]
      -- kind: 1 value as decoded, 2 structure, 3 anything else
      local t = ms.type
      local kind = 3
      if t == "string" or t == "boolean" then kind = 1
      elseif t == "structure" and not ms.document then kind = 2 end
      r[ref.locationName or name] = { name, ms, kind }
      if ref.locationName and ref.locationName ~= name then same = false end
    end
  end
  shape._jr, shape._jsame = r, same
  return r
end

local read_union

-- The decoded objects are the caller's to consume: read in place when the
-- keys are the member names (unknown keys and nulls dropped), copied
-- otherwise.
local function read_structure(shapes, shape, v)
  if type(v) ~= "table" then return nil end
  if shape.union then return read_union(shapes, shape, v) end
  local r = shape._jr or reader(shapes, shape)
  local out = shape._jsame and getmetatable(v) == nil and v or {}
  for k, mv in pairs(v) do
    local e = r[k]
    if e and mv ~= null then
      local kind = e[3]
      if kind == 2 then
        out[e[1]] = read_structure(shapes, e[2], mv)
      elseif kind == 3 then
        out[e[1]] = read(shapes, e[2], mv)
      elseif out ~= v then
        out[e[1]] = mv
      end
    elseif out == v then
      v[k] = nil
    end
  end
  return out
end

-- A union: one member set (`__type`, which Smithy's JSON protocols tell
-- clients to ignore, and nulls not counted), else see model.union_check.
function read_union(shapes, shape, v)
  local r = shape._jr or reader(shapes, shape)
  local n, tag = 0, nil
  for k, mv in pairs(v) do
    if mv ~= null and k ~= "__type" then n, tag = n + 1, k end
  end
  local e = n == 1 and r[tag]
  local unknown = model.union_check(shapes, shape, n, tag, e)
  if unknown then return unknown end
  local mv = v[tag]
  local kind = e[3]
  if kind == 2 then mv = read_structure(shapes, e[2], mv)
  elseif kind == 3 then mv = read(shapes, e[2], mv) end
  return { [e[1]] = mv }
end

--- Turn a decoded JSON value `v` into the Lua value of `shape`.
function read(shapes, shape, v)
  local t = shape.type
  if shape.document then return document(v) end
  if t == "structure" then
    return read_structure(shapes, shape, v)
  elseif t == "list" then
    if type(v) ~= "table" then return nil end
    local mshape = shapes[shape.member.shape]
    local mt = mshape.type
    -- marked as a JSON array: an empty list stays `[]` (kumo.json, kumo.jmespath)
    local out, n = setmetatable({}, ARRAY_MT), 0
    for i = 1, #v do
      local item = v[i]
      n = n + 1
      if item == null then
        -- kept even in dense lists (botocore does; a hole would end the list)
        out[n] = null
      elseif mt == "string" then
        out[n] = item
      elseif mt == "structure" and not mshape.document then
        out[n] = read_structure(shapes, mshape, item)
      else
        out[n] = read(shapes, mshape, item)
      end
    end
    return out
  elseif t == "map" then
    if type(v) ~= "table" then return nil end
    local vshape = shapes[shape.value.shape]
    local out = {}
    for k, item in pairs(v) do
      if item == null then
        if shape.sparse then out[k] = null end
      else
        out[k] = read(shapes, vshape, item)
      end
    end
    return out
  elseif t == "integer" or t == "long" then
    return tointeger(v) or v
  elseif t == "float" or t == "double" then
    return wire.float_value(v)
  elseif t == "timestamp" then
    return (wire.parse_time(v))
  elseif t == "blob" then
    return (wire.b64decode(v))
  end
  return v
end

M.read = read

--- Common error code/message extraction for JSON bodies and headers.
-- @param res response
-- @param body decoded body (table) or nil
function M.error_code(res, body)
  local h = res.headers or {}
  local code = h["x-amzn-errortype"]
  if code == "" then code = nil end
  if not code and type(body) == "table" then
    code = body.__type or body.code or body.Code
    if type(code) ~= "string" then code = nil end
  end
  local message
  if type(body) == "table" then
    message = body.message or body.Message or body.errorMessage
    if type(message) ~= "string" then message = nil end
  end
  return wire.clean_code(code), message
end

return M
