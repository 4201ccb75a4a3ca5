--- The AWS `query` protocol (IAM, STS, RDS, CloudWatch, ...): requests are
-- form bodies `Action=Op&Version=...&Member.member.1=...`, responses and
-- errors are XML. The ec2 protocol shares this module with other naming.
-- @module kumo.protocol.query
local common = require "kumo.protocol.common"
local model = require "kumo.protocol.shape"
local wire = require "kumo.protocol.wire"
local request = require "kumo.protocol.request"
local xmlbody = require "kumo.protocol.xmlbody"

local M = {}
local concat = table.concat
local urlencode = wire.urlencode
local scalar_text = wire.scalar_text

local CONTENT_TYPE = "application/x-www-form-urlencoded; charset=utf-8"

------------------------------------------------------------------------
-- Form serialization, parameterized by the naming rules of query or ec2
------------------------------------------------------------------------

local function query_name(name, ref)
  return ref.locationName or name
end

local function ec2_name(name, ref)
  if ref.queryName then return ref.queryName end
  local n = ref.locationName or name
  return (n:gsub("^%l", string.upper))
end

local serialize_value

local function serialize_structure(shapes, shape, v, prefix, out, ec2)
  local members = shape.members or {}
  for _, name in ipairs(model.members(shape)) do
    local mv = v[name]
    if mv ~= nil and mv ~= common.null then
      local ref = members[name]
      local qname = ref._qname
      if not qname then
        qname = ec2 and ec2_name(name, ref) or query_name(name, ref)
        ref._qname = qname
      end
      serialize_value(shapes, shapes[ref.shape], mv, prefix == "" and qname or (prefix .. "." .. qname),
        out, ec2, ref)
    end
  end
end

local function serialize_list(shapes, shape, v, prefix, out, ec2, ref)
  local member = shape.member
  local mshape = shapes[member.shape]
  if #v == 0 then
    if not ec2 then out[#out + 1] = { prefix, "" } end
    return
  end
  local list_prefix
  if ec2 then
    list_prefix = prefix
  elseif ref and (ref.flattened or shape.flattened) or shape.flattened then
    list_prefix = prefix
    if member.locationName then
      list_prefix = (prefix:match("^(.*)%.[^.]*$") and (prefix:match("^(.*)%.[^.]*$") .. ".") or "")
        .. member.locationName
    end
  else
    list_prefix = prefix .. "." .. (member.locationName or "member")
  end
  for i = 1, #v do
    serialize_value(shapes, mshape, v[i], list_prefix .. "." .. i, out, ec2, member)
  end
end

local function serialize_map(shapes, shape, v, prefix, out, ec2, ref)
  local flat = (ref and ref.flattened) or shape.flattened
  local base = flat and prefix or (prefix .. ".entry")
  local kref, vref = shape.key, shape.value
  local kname, vname = kref.locationName or "key", vref.locationName or "value"
  local kshape, vshape = shapes[kref.shape], shapes[vref.shape]
  for i, k in ipairs(model.keys(v)) do
    local p = base .. "." .. i .. "."
    serialize_value(shapes, kshape, k, p .. kname, out, ec2, kref)
    serialize_value(shapes, vshape, v[k], p .. vname, out, ec2, vref)
  end
end

function serialize_value(shapes, shape, v, prefix, out, ec2, ref)
  local t = shape.type
  if t == "structure" then
    serialize_structure(shapes, shape, v, prefix, out, ec2)
  elseif t == "list" then
    serialize_list(shapes, shape, v, prefix, out, ec2, ref)
  elseif t == "map" then
    serialize_map(shapes, shape, v, prefix, out, ec2, ref)
  else
    local fmt = t == "timestamp" and (ref and ref.timestampFormat or shape.timestampFormat or "iso8601")
    out[#out + 1] = { prefix, scalar_text(shape, v, fmt) }
  end
end

--- Serialize a request as a form body (shared with the ec2 protocol).
-- @param service service model
-- @param op operation model
-- @param params input table (member names)
-- @param ctx `{uuid = fn}` and others
-- @param ec2 true for ec2 naming and list rules
function M.form_request(service, op, params, ctx, ec2)
  local shapes = service.shapes
  local fields = { { "Action", op.name }, { "Version", service.metadata.apiVersion } }
  params = params or {}
  if op.input then
    local shape = shapes[op.input.shape]
    params = model.fill_tokens(shapes, shape, params, ctx)
    serialize_structure(shapes, shape, params, "", fields, ec2)
  end
  local parts = {}
  for i, f in ipairs(fields) do parts[i] = urlencode(f[1]) .. "=" .. urlencode(f[2]) end
  local headers = { { "Content-Type", CONTENT_TYPE } }
  return request.compress(op, {
    method = "POST",
    path = "/",
    query = {},
    headers = headers,
    body = concat(parts, "&"),
    host_prefix = request.host_prefix(op, params),
  }, ctx)
end

--- Serialize a request. See the protocol contract in docs/architecture.md.
function M.serialize(service, op, params, ctx)
  return M.form_request(service, op, params, ctx, false)
end

------------------------------------------------------------------------
-- Responses: read by kumo.protocol.xmlbody (the one XML reader)
------------------------------------------------------------------------

local function header_id(res)
  local h = res.headers or {}
  return h["x-amzn-requestid"] or h["x-amz-request-id"]
end

--- Parse a successful response → output table (and `{request_id=}`).
-- The request id is the header's, else the body's (ResponseMetadata/RequestId,
-- RequestId, RequestID or ec2's requestId under the root).
function M.parse(service, op, res)
  local body = res.body
  if not body or body == "" then return {}, { request_id = header_id(res) } end
  local shape = op.output and service.shapes[op.output.shape]
  local out, rid = xmlbody.read(service.shapes, shape, body,
    shape and (op.output.resultWrapper or shape.resultWrapper))
  if not out then error("response: " .. rid, 0) end
  return out, { request_id = header_id(res) or rid }
end

--- Parse an error response → `{code, message, request_id, fields}`.
function M.parse_error(service, op, res)
  local body = res.body or ""
  local e, rid, at_root
  if body ~= "" then
    e, rid, at_root = xmlbody.read_error(body)
    if e == nil then rid = nil end  -- malformed: no code, no id from the body
  end
  local err = { fields = {} }
  if e then
    err.code, err.message, err.type = e.Code, e.Message, e.Type
  end
  local qe = res.headers and res.headers["x-amzn-query-error"]
  if qe then err.code = qe:match("^([^;]*)") end
  err.code = wire.clean_code(err.code)
  err.request_id = header_id(res) or rid
  local shape = model.error_shape(service, op, err.code)
  if shape and e then err.fields = xmlbody.read_error_fields(service.shapes, shape, body, at_root) end
  return err
end

return M
