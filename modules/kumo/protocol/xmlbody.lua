--- Shape-driven XML: read an XML response body into a Lua value by its
-- output shape (query, ec2 and rest-xml outputs, their errors and rest-xml
-- event payloads), all through the one compiled reader `kumo.xml.read`
-- (src/l_xmlread.c), and write a value as XML (rest-xml requests).
-- @module kumo.protocol.xmlbody
local common = require "kumo.protocol.common"
local model = require "kumo.protocol.shape"
local wire = require "kumo.protocol.wire"
local native_read = require("kumo.xml").read

local M = {}
local concat = table.concat
local gsub = string.gsub

------------------------------------------------------------------------
-- Reading: a shape is compiled once into the description kumo.xml.read
-- takes (cached on the shape); the reader builds the output from the XML
-- events with it, no node tree.
------------------------------------------------------------------------

-- Per structure, once: element name → how to read it. Smithy names a
-- flattened list's elements after the member; botocore's older models after
-- the list's member (`locationName` of the list member): both are mapped.
-- Members bound to XML attributes are listed apart.
local function reader(shapes, shape)
  local r = shape._xr
  if r then return r, shape._xattrs end
  r = {}
  local attrs = {}
  local members = shape.members or {}
  for _, name in ipairs(model.members(shape)) do
    local ref = members[name]
    if not model.out_located(shapes, ref) then
      local ms = shapes[ref.shape]
      if ref.xmlAttribute then
        attrs[#attrs + 1] = { name, ref.locationName or name, ms }
      else
        local t = ms.type
        local flat = (t == "list" or t == "map") and (ref.flattened or ms.flattened) or false
        local e = { name = name, shape = ms, flat = flat }
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

-- Value kinds of src/l_xmlread.c.
local KIND = { string = 1, structure = 2, list = 3, map = 4, integer = 5, long = 5,
  boolean = 6, float = 7, double = 7, timestamp = 8, blob = 9 }

local compile_value

-- A structure's wire name → compiled member, its attributes (XML attribute
-- name → compiled scalar, or nil) and its union check (or nil), cached on
-- the shape; cached before its members are, so recursive shapes end.
local function compile_structure(shapes, shape)
  local d = shape._xc
  if d ~= nil then return d, shape._xca, shape._xcu end
  local r, attrs = reader(shapes, shape)
  d = {}
  local a, u
  if #attrs > 0 then
    a = {}
    for _, at in ipairs(attrs) do a[at[2]] = { at[1], KIND[at[3].type] or 1, true, false } end
  end
  if shape.union then
    -- a union must have one member element set; one the model does not
    -- know is SDK_UNKNOWN_MEMBER (model.union_check, as botocore)
    u = function(n, tag, known) return model.union_check(shapes, shape, n, tag, known) end
  end
  shape._xc, shape._xca, shape._xcu = d, a, u
  local done = {}
  for key, e in pairs(r) do
    local c = done[e]
    if not c then
      c = compile_value(shapes, e.shape, e.name, e.flat and true or false)
      done[e] = c
    end
    d[key] = c
  end
  return d, a, u
end

-- { member name, kind, sub, flattened, attributes, union check } (see
-- src/l_xmlread.c).
function compile_value(shapes, shape, name, flat)
  local t = shape.type
  if t == "structure" then
    local d, a, u = compile_structure(shapes, shape)
    return { name, 2, d, flat, a, u }
  elseif t == "list" then
    return { name, 3, compile_value(shapes, shapes[shape.member.shape], false, false), flat }
  elseif t == "map" then
    local kshape = shapes[shape.key.shape]
    local key = kshape.type ~= "string" and compile_value(shapes, kshape, false, false) or nil
    return { name, 4, { shape.key.locationName or "key", shape.value.locationName or "value",
      compile_value(shapes, shapes[shape.value.shape], false, false), key }, flat }
  end
  return { name, KIND[t] or 1, true, flat }
end

local READ_AUX = { ARRAY_MT, wire.float_value, wire.parse_time, wire.b64decode }

--- The compiled form of a shape as a whole document (cached per shape).
-- @param shapes shape table
-- @param shape the shape (a structure, for outputs)
function M.compile(shapes, shape)
  local c = shape._xtop
  if c == nil then
    c = compile_value(shapes, shape, false, false)
    shape._xtop = c
  end
  return c
end

local NOTHING = { false, 2, {}, false }

--- Read an XML body as a value of `shape`.
-- @param shapes shape table
-- @param shape the shape of the document's root element (or of the
-- wrapper's, with `wrapper`); nil checks the XML and reads the request id only
-- @param body XML text (not empty)
-- @param wrapper the root's child holding the output (query), or nil
-- @return the value ({} when the wrapper is absent), the request id in the
-- body (or nil) and the root element's local name; or nil and an
-- "xml: line L, column C: ..." message for malformed XML
-- @raise a union with other than one member set
function M.read(shapes, shape, body, wrapper)
  return native_read(body, shape and M.compile(shapes, shape) or NOTHING, wrapper, READ_AUX)
end

-- The error envelopes: `<ErrorResponse><Error>` (query), `<Response><Errors>
-- <Error>` (ec2) or a root `<Error>` (S3). Error elements are read as a
-- flattened list, so the first one counts, whichever envelope.
local function envelope(edesc)
  return { false, 2, { Error = edesc, Errors = { "Errors", 2, { Error = edesc }, false } }, false }
end

local function str(name) return { name, 1, true, false } end
-- Region: S3's redirect answers name the bucket's region there.
local ERROR_FIELDS = { Code = str("Code"), Message = str("Message"), Type = str("Type"),
  Region = str("Region") }
local BASE_ENV = envelope({ "Error", 3, { false, 2, ERROR_FIELDS, false }, true })
local BASE_ROOT = { false, 2, ERROR_FIELDS, false }

-- The first Error element's value in an envelope read, or nil.
local function first_error(out)
  local l = out.Error or (out.Errors and out.Errors.Error)
  return l and l[1]
end

--- Read an XML error body: its Code, Message, Type (and Region, S3's).
-- @param body XML text (not empty)
-- @return `{Code=, Message=, Type=, Region=}` (false when the body has no error
-- element), the request id in the body (or nil), and whether the error
-- element is the root; or nil, "xml: ..." message
function M.read_error(body)
  local out, rid, root = native_read(body, BASE_ENV, nil, READ_AUX)
  if not out then return nil, rid end
  local e = first_error(out)
  if e then return e, rid, false end
  if root == "Error" then
    out = native_read(body, BASE_ROOT, nil, READ_AUX)
    return out, rid, true
  end
  return false, rid, false
end

--- Read the modeled fields of an error body (see `M.read_error`).
-- @param shapes shape table
-- @param shape the error's structure shape
-- @param body XML text
-- @param at_root the error element is the root (`M.read_error`'s third result)
-- @return the fields ({} when there is no error element)
function M.read_error_fields(shapes, shape, body, at_root)
  if at_root then return (M.read(shapes, shape, body)) or {} end
  local env = shape._xenv
  if not env then
    local c = M.compile(shapes, shape)
    env = envelope({ "Error", 3, { false, 2, c[3], false, c[5], c[6] }, true })
    shape._xenv = env
  end
  local out = native_read(body, env, nil, READ_AUX)
  return out and first_error(out) or {}
end

------------------------------------------------------------------------
-- Writing (rest-xml bodies)
------------------------------------------------------------------------

local TEXT_ESC = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ["\r"] = "&#xD;" }
local ATTR_ESC = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;",
                   ["\n"] = "&#xA;", ["\r"] = "&#xD;", ["\t"] = "&#x9;" }

-- Text content: CR as a reference, since parsers turn a raw CR into LF.
local function escape(s)
  return (gsub(s, "[&<>\r]", TEXT_ESC))
end

-- A double-quoted attribute value: also the white space a parser would
-- normalise to spaces.
local function escape_attr(s)
  return (gsub(s, '[&<>"\n\r\t]', ATTR_ESC))
end

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
    return wire.format_time(v, ref and ref.timestampFormat or shape.timestampFormat or "iso8601")
  end
  return wire.scalar_text(shape, v)
end

local function write_structure(shapes, shape, v, name, ns, out)
  local members = shape.members or {}
  local order = model.members(shape)
  out[#out + 1] = "<" .. name .. ns_attr(ns)
  for _, mname in ipairs(order) do
    local ref = members[mname]
    local mv = v[mname]
    if ref.xmlAttribute and mv ~= nil and not model.location(shapes, ref) then
      out[#out + 1] = " " .. (ref.locationName or mname) .. '="'
        .. escape_attr(scalar_text(shapes[ref.shape], mv, ref)) .. '"'
    end
  end
  out[#out + 1] = ">"
  for _, mname in ipairs(order) do
    local ref = members[mname]
    local mv = v[mname]
    if mv ~= nil and mv ~= common.null and not ref.xmlAttribute and not model.location(shapes, ref) then
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
    for _, k in ipairs(model.keys(v)) do
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
