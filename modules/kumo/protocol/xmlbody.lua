--- Shape-driven XML: parse an XML node into a Lua value (query, ec2 and
-- rest-xml responses and errors), and write a value as XML (rest-xml
-- requests).
-- @module kumo.protocol.xmlbody
local common = require "kumo.protocol.common"
local xml = require "kumo.protocol.xmlparse"

local M = {}
local concat = table.concat
local tointeger = math.tointeger
local escape, escape_attr = xml.escape, xml.escape_attr

------------------------------------------------------------------------
-- Parsing
------------------------------------------------------------------------

-- The element name a structure member is read from (botocore's rules).
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

local find, sub = string.find, string.sub

-- The local part of an element name, without a namespace prefix.
local function lname(name)
  local c = find(name, ":", 1, true)
  if c then return sub(name, c + 1) end
  return name
end

-- Per structure, once: element name → how to read it. Smithy names a
-- flattened list's elements after the member; botocore's older models after
-- the list's member (`locationName` of the list member): both are mapped.
local function reader(shapes, shape)
  local r = shape._xr
  if r then return r, shape._xattrs end
  r = {}
  local attrs = {}
  local members = shape.members or {}
  for _, name in ipairs(common.members(shape)) do
    local ref = members[name]
    if not common.out_located(shapes, ref) then
      local ms = shapes[ref.shape]
      if ref.xmlAttribute then
        attrs[#attrs + 1] = { name, ref.locationName or name, ms, ref }
      else
        local t = ms.type
        local flat = (t == "list" or t == "map") and (ref.flattened or ms.flattened) or false
        local e = { name = name, shape = ms, ref = ref, flat = flat }
        local key = ref.locationName or name
        r[key] = e
        if flat and t == "list" and ms.member.locationName and r[ms.member.locationName] == nil then
          r[ms.member.locationName] = e
        end
      end
    end
  end
  shape._xr, shape._xattrs = r, attrs
  return r, attrs
end

-- Lists are marked as JSON arrays, so an empty one stays a list for
-- kumo.json (`[]`) and kumo.jmespath (`X[?...]` gives `[]`, not null).
local ARRAY_MT = getmetatable(require("kumo.json").array())

local function parse_list_items(shapes, shape, node)
  local member = shape.member
  local mshape = shapes[member.shape]
  local out = setmetatable({}, ARRAY_MT)
  local children = node.children
  for i = 1, #children do out[i] = parse(shapes, mshape, children[i], member) end
  return out
end

local function parse_entry(shapes, shape, entry, out)
  local kname = shape.key.locationName or "key"
  local vname = shape.value.locationName or "value"
  local k, v
  for _, c in ipairs(entry.children) do
    local ln = lname(c.name)
    if ln == kname then k = c elseif ln == vname then v = c end
  end
  if k then
    out[parse_scalar(shapes[shape.key.shape], k.text, shape.key)] =
      v and parse(shapes, shapes[shape.value.shape], v, shape.value)
  end
end

-- A union must have one member element set (repeated elements of a
-- flattened list count once, as botocore groups them by name); an element
-- the model does not know is reported by name (common.union_check).
local function union_unknown(shapes, shape, r, node)
  local children = node.children
  local n, tag, seen = 0, nil, {}
  for i = 1, #children do
    local name = lname(children[i].name)
    if not seen[name] then seen[name], n, tag = true, n + 1, name end
  end
  local known = n == 1 and (r[tag] or r[children[1].name]) and true or false
  return common.union_check(shapes, shape, n, tag, known)
end

local function parse_structure(shapes, shape, node)
  local out = {}
  local r, attrs = reader(shapes, shape)
  if shape.union then
    local unknown = union_unknown(shapes, shape, r, node)
    if unknown then return unknown end
  end
  if #attrs > 0 then
    local na = node.attrs
    for i = 1, #attrs do
      local a = attrs[i]
      local v = na and na[a[2]]
      if v ~= nil then out[a[1]] = parse_scalar(a[3], v, a[4]) end
    end
  end
  local children = node.children
  for i = 1, #children do
    local child = children[i]
    local e = r[child.name] or r[lname(child.name)]
    if e then
      local ms = e.shape
      local t = ms.type
      if t == "string" then
        out[e.name] = child.text
      elseif t == "structure" then
        out[e.name] = parse_structure(shapes, ms, child)
      elseif t == "list" then
        if e.flat then
          local l = out[e.name]
          if not l then l = setmetatable({}, ARRAY_MT) out[e.name] = l end
          l[#l + 1] = parse(shapes, shapes[ms.member.shape], child, ms.member)
        else
          out[e.name] = parse_list_items(shapes, ms, child)
        end
      elseif t == "map" then
        local m = out[e.name]
        if not m then m = {} out[e.name] = m end
        if e.flat then
          parse_entry(shapes, ms, child, m)
        else
          for _, entry in ipairs(child.children) do parse_entry(shapes, ms, entry, m) end
        end
      else
        out[e.name] = parse_scalar(ms, child.text, e.ref)
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
  if t == "list" then return parse_list_items(shapes, shape, node) end
  if t == "map" then
    local out = {}
    for _, entry in ipairs(node.children) do parse_entry(shapes, shape, entry, out) end
    return out
  end
  return parse_scalar(shape, node.text, ref)
end

M.parse = parse
M.parse_scalar = parse_scalar

------------------------------------------------------------------------
-- Fast reading: kumo.xml.read builds the output from the XML events by a
-- compiled shape (no node tree). Same values as `parse`; shapes it cannot
-- take (XML attributes, maps with non-string keys, unions) use `parse`.
------------------------------------------------------------------------

local native_read = require("kumo.xml").read  -- the host guarantees kumo.xml

-- Value kinds of src/xmlread.c.
local KIND = { string = 1, structure = 2, list = 3, map = 4, integer = 5, long = 5,
  boolean = 6, float = 7, double = 7, timestamp = 8, blob = 9 }

local compile_value

-- A structure's wire name → compiled member, cached on the shape.
local function compile_structure(shapes, shape, fresh)
  local d = shape._xc
  if d ~= nil then return d end
  local r, attrs = reader(shapes, shape)
  -- unions need parse: the reader skips unknown elements without a trace
  if #attrs > 0 or shape.union then shape._xc = false return false end
  d = {}
  shape._xc = d
  fresh[#fresh + 1] = shape
  local done = {}
  for key, e in pairs(r) do
    local c = done[e]
    if not c then
      c = compile_value(shapes, e.shape, e.name, e.flat and true or false, fresh)
      if not c then return false end
      done[e] = c
    end
    d[key] = c
  end
  return d
end

-- { member name, kind, sub, flattened } (see src/xmlread.c).
function compile_value(shapes, shape, name, flat, fresh)
  local t = shape.type
  local kind = KIND[t] or 1
  local inner
  if t == "structure" then
    inner = compile_structure(shapes, shape, fresh)
  elseif t == "list" then
    inner = compile_value(shapes, shapes[shape.member.shape], false, false, fresh)
  elseif t == "map" then
    if shapes[shape.key.shape].type ~= "string" then return false end
    local v = compile_value(shapes, shapes[shape.value.shape], false, false, fresh)
    inner = v and { shape.key.locationName or "key", shape.value.locationName or "value", v }
  else
    inner = true
  end
  if not inner then return false end
  return { name, kind, inner, flat }
end

local READ_AUX = { ARRAY_MT, common.float_value, common.parse_time, common.b64decode }

--- The compiled form of an output structure, or false when kumo.xml.read
-- cannot read it (cached per shape).
-- @param shapes shape table
-- @param shape a structure shape
function M.compile(shapes, shape)
  local c = shape._xtop
  if c ~= nil then return c end
  local fresh = {}
  local d = compile_structure(shapes, shape, fresh)
  if not d then
    -- a failed compile may leave half-built structures behind: drop them
    for _, s in ipairs(fresh) do s._xc = false end
    c = false
  else
    c = { false, 2, d, false }
  end
  shape._xtop = c
  return c
end

--- Read an XML response body straight into the output of `shape`.
-- @param shapes shape table
-- @param shape output structure shape
-- @param body XML text (not empty)
-- @param wrapper the root's child holding the output (query), or nil
-- @return output and request id (or nil); false when the shape or body
-- needs `parse` (uncompilable shape, malformed XML: `parse` says why)
function M.read(shapes, shape, body, wrapper)
  if not native_read then return false end
  local c = M.compile(shapes, shape)
  if not c then return false end
  local out, rid = native_read(body, c, wrapper, READ_AUX)
  if not out then return false end
  return out, rid
end

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
