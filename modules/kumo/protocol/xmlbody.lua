--- Shape-driven XML: parse an XML node into a Lua value (query, ec2 and
-- rest-xml responses and errors), and write a value as XML (rest-xml
-- requests).
-- @module kumo.protocol.xmlbody
local common = require "kumo.protocol.common"
local xml = require "kumo.protocol.xmlparse"

local M = {}
local concat = table.concat
local tointeger = math.tointeger
local index, escape, escape_attr = xml.index, xml.escape, xml.escape_attr

------------------------------------------------------------------------
-- Parsing
------------------------------------------------------------------------

-- The element name a structure member is read from (botocore's rules).
-- Smithy names a flattened list's elements after the member; botocore's
-- older models name them after the list's member (`locationName` of the
-- list member), so that is the fallback.
local function member_key(shapes, name, ref)
  local key = ref._xmlkey
  if key then return key, ref._xmlkey2 end
  local s = shapes[ref.shape]
  key = ref.locationName or name
  if s.type == "list" and (ref.flattened or s.flattened) and s.member.locationName
      and s.member.locationName ~= key then
    ref._xmlkey2 = s.member.locationName
  end
  ref._xmlkey = key
  return key, ref._xmlkey2
end

local parse

local function parse_scalar(shape, text, ref)
  local t = shape.type
  if t == "string" then return text end
  if t == "integer" or t == "long" then
    local v = tonumber(text)
    return v and (tointeger(v) or v)
  end
  if t == "boolean" then return text == "true" end
  if t == "float" or t == "double" then return common.float_value(text) end
  if t == "timestamp" then
    if text == "" then return nil end
    return (common.parse_time(text))
  end
  if t == "blob" then return (common.b64decode(text)) end
  return text
end

local function parse_list(shapes, shape, nodes, flattened)
  local member = shape.member
  local mshape = shapes[member.shape]
  local out = {}
  if flattened then
    for i, node in ipairs(nodes) do out[i] = parse(shapes, mshape, node, member) end
  else
    local items = index(nodes[1])[member.locationName or "member"] or {}
    for i, node in ipairs(items) do out[i] = parse(shapes, mshape, node, member) end
  end
  return out
end

local function parse_map(shapes, shape, nodes, flattened)
  local kname = shape.key.locationName or "key"
  local vname = shape.value.locationName or "value"
  local kshape, vshape = shapes[shape.key.shape], shapes[shape.value.shape]
  local entries = flattened and nodes or (index(nodes[1]).entry or {})
  local out = {}
  for _, entry in ipairs(entries) do
    local idx = index(entry)
    local k, v = idx[kname], idx[vname]
    if k then
      out[parse(shapes, kshape, k[1], shape.key)] = v and parse(shapes, vshape, v[1], shape.value)
    end
  end
  return out
end

local function parse_structure(shapes, shape, node)
  local out = {}
  local idx = index(node)
  local members = shape.members or {}
  for _, name in ipairs(common.members(shape)) do
    local ref = members[name]
    if not common.out_located(shapes, ref) then
      local mshape = shapes[ref.shape]
      if ref.xmlAttribute then
        local v = node.attrs[ref.locationName or name]
        if v ~= nil then out[name] = parse_scalar(mshape, v, ref) end
      else
        local key, alt = member_key(shapes, name, ref)
        local nodes = idx[key] or (alt and idx[alt])
        if nodes then
          local t = mshape.type
          if t == "list" then
            out[name] = parse_list(shapes, mshape, nodes, ref.flattened or mshape.flattened)
          elseif t == "map" then
            out[name] = parse_map(shapes, mshape, nodes, ref.flattened or mshape.flattened)
          else
            out[name] = parse(shapes, mshape, nodes[1], ref)
          end
        end
      end
    end
  end
  return out
end

--- Parse one XML node as a value of `shape`.
-- @param shapes the service's shape table
-- @param shape the shape
-- @param node an XML node (kumo.xml format)
-- @param ref the member reference (optional)
function parse(shapes, shape, node, ref)
  local t = shape.type
  if t == "structure" then return parse_structure(shapes, shape, node) end
  if t == "list" then return parse_list(shapes, shape, { node }, false) end
  if t == "map" then return parse_map(shapes, shape, { node }, false) end
  return parse_scalar(shape, node.text, ref)
end

M.parse = parse
M.parse_scalar = parse_scalar

------------------------------------------------------------------------
-- Writing (rest-xml bodies)
------------------------------------------------------------------------

local write

local function ns_attr(ns)
  if not ns then return "" end
  if type(ns) == "string" then return ' xmlns="' .. escape_attr(ns) .. '"' end
  if ns.prefix then
    return ' xmlns:' .. ns.prefix .. '="' .. escape_attr(ns.uri) .. '"'
  end
  return ' xmlns="' .. escape_attr(ns.uri) .. '"'
end

local function scalar_text(shape, v, ref)
  local t = shape.type
  if t == "string" then return v end
  if t == "timestamp" then
    return common.format_time(v, ref and ref.timestampFormat or shape.timestampFormat or "iso8601")
  end
  return common.scalar_text(shape, v)
end

local function write_structure(shapes, shape, v, name, ns, out)
  local members = shape.members or {}
  local order = common.members(shape)
  out[#out + 1] = "<" .. name .. ns_attr(ns)
  for _, mname in ipairs(order) do
    local ref = members[mname]
    local mv = v[mname]
    if ref.xmlAttribute and mv ~= nil and not common.location(shapes, ref) then
      out[#out + 1] = " " .. (ref.locationName or mname) .. '="'
        .. escape_attr(scalar_text(shapes[ref.shape], mv, ref)) .. '"'
    end
  end
  out[#out + 1] = ">"
  for _, mname in ipairs(order) do
    local ref = members[mname]
    local mv = v[mname]
    if mv ~= nil and mv ~= common.null and not ref.xmlAttribute and not common.location(shapes, ref) then
      write(shapes, shapes[ref.shape], mv, ref, mname, out)
    end
  end
  out[#out + 1] = "</" .. name .. ">"
end

--- Write a value as XML elements.
-- @param shapes shape table
-- @param shape the value's shape
-- @param v the value
-- @param ref the member reference (names, namespaces, flattening)
-- @param default_name the element name when the model gives none
-- @param out output buffer (list of strings)
function write(shapes, shape, v, ref, default_name, out)
  local name = ref.locationName or default_name
  local ns = ref.xmlNamespace or shape.xmlNamespace
  local t = shape.type
  if t == "structure" then
    write_structure(shapes, shape, v, name, ns, out)
  elseif t == "list" then
    local member = shape.member
    local mshape = shapes[member.shape]
    if ref.flattened or shape.flattened then
      -- flattened items are named after the member (Smithy and botocore agree)
      for _, item in ipairs(v) do write(shapes, mshape, item, { locationName = name,
        xmlNamespace = member.xmlNamespace }, name, out) end
    else
      out[#out + 1] = "<" .. name .. ns_attr(ns) .. ">"
      for _, item in ipairs(v) do write(shapes, mshape, item, member, "member", out) end
      out[#out + 1] = "</" .. name .. ">"
    end
  elseif t == "map" then
    local kref, vref = shape.key, shape.value
    local kshape, vshape = shapes[kref.shape], shapes[vref.shape]
    local flat = ref.flattened or shape.flattened
    if not flat then out[#out + 1] = "<" .. name .. ns_attr(ns) .. ">" end
    for _, k in ipairs(common.keys(v)) do
      out[#out + 1] = flat and ("<" .. name .. ">") or "<entry>"
      write(shapes, kshape, k, kref, "key", out)
      write(shapes, vshape, v[k], vref, "value", out)
      out[#out + 1] = flat and ("</" .. name .. ">") or "</entry>"
    end
    if not flat then out[#out + 1] = "</" .. name .. ">" end
  else
    out[#out + 1] = "<" .. name .. ns_attr(ns) .. ">" .. escape(scalar_text(shape, v, ref))
      .. "</" .. name .. ">"
  end
end

M.write = write

--- A value as an XML document string.
function M.document(shapes, shape, v, ref, default_name)
  local out = {}
  write(shapes, shape, v, ref, default_name, out)
  return concat(out)
end

return M
