--- The AWS `rest-xml` protocol (S3, Route 53, CloudFront): REST bindings
-- (see kumo.protocol.rest) with an XML body, or a raw/XML payload member.
-- @module kumo.protocol.rest_xml
local common = require "kumo.protocol.common"
local rest = require "kumo.protocol.rest"
local xmlbody = require "kumo.protocol.xmlbody"
local query = require "kumo.protocol.query"

local M = {}
local null = common.null

local function has_header(headers, name)
  name = name:lower()
  for _, h in ipairs(headers) do
    if h[1]:lower() == name then return true end
  end
  return false
end

local function any_body_value(shapes, shape, params)
  for _, name in ipairs(rest.bindings(shapes, shape).body) do
    local v = params[name]
    if v ~= nil and v ~= null then return true end
  end
  return false
end

--- Serialize a request. See the protocol contract in docs/architecture.md.
function M.serialize(service, op, params, ctx)
  local shapes = service.shapes
  local req, shape, p = rest.serialize(service, op, params, ctx)
  local content_type
  if shape then
    local payload = op.input.payload or shape.payload
    if payload then
      local ref = shape.members[payload]
      local ps = shapes[ref.shape]
      local v = p[payload]
      if ps.type == "blob" or ps.type == "string" then
        if v ~= nil then
          req.body = v
          content_type = ps.type == "blob" and "application/octet-stream" or "text/plain"
        end
      elseif v ~= nil and v ~= null then
        -- A member renamed on purpose wins, then the target shape's own name
        -- (Smithy xmlName); else the member's locationName, which S3's models
        -- rely on (LifecycleConfiguration → shape BucketLifecycleConfiguration).
        local root = ref.locationName
        if not root or root == payload then root = ps.locationName or root or ref.shape end
        req.body = xmlbody.document(shapes, ps, v,
          { locationName = root, xmlNamespace = ref.xmlNamespace or ps.xmlNamespace }, root)
        content_type = "application/xml"
      end
    elseif any_body_value(shapes, shape, p) then
      local root = op.input.locationName or shape.locationName or op.input.shape
      req.body = xmlbody.document(shapes, shape, p,
        { locationName = root, xmlNamespace = op.input.xmlNamespace or shape.xmlNamespace }, root)
      content_type = "application/xml"
    end
  end
  if content_type and not has_header(req.headers, "Content-Type") then
    req.headers[#req.headers + 1] = { "Content-Type", content_type }
  end
  return common.compress(op, req, ctx)
end

-- The body read as a value of `shape` (nil for an empty body).
local function read(shapes, shape, res)
  local body = res.body or ""
  if body:match("^%s*$") then return nil end
  local v, err = xmlbody.read(shapes, shape, body)
  if v == nil then error("response: " .. err, 0) end
  return v
end

--- Parse a successful response → output table (and `{request_id=}`).
function M.parse(service, op, res)
  local shapes = service.shapes
  local out = {}
  local h = res.headers or {}
  if op.output then
    local shape = shapes[op.output.shape]
    rest.parse_headers(shapes, shape, res, out)
    local payload = op.output.payload or shape.payload
    if payload then
      local ref = shape.members[payload]
      local ps = shapes[ref.shape]
      local body = res.body or ""
      if ps.eventstream then
        out[payload] = require("kumo.protocol.eventstream").events(shapes, ps, body,
          function(es, bytes)
            local v, err = xmlbody.read(shapes, es, bytes)
            if v == nil then error("event: " .. err, 0) end
            return v
          end)
      elseif ps.type == "blob" or ps.type == "string" then
        if body ~= "" then out[payload] = body end
      else
        local v = read(shapes, ps, res)
        if v ~= nil then out[payload] = v end
      end
    else
      for k, v in pairs(read(shapes, shape, res) or {}) do out[k] = v end
    end
  end
  return out, { request_id = h["x-amz-request-id"] or h["x-amzn-requestid"] }
end

--- Parse an error response → `{code, message, request_id, fields}`.
function M.parse_error(service, op, res)
  local err = query.parse_error(service, op, res)
  local h = res.headers or {}
  err.request_id = err.request_id or h["x-amz-request-id"]
  if not err.code then
    -- S3 HEAD errors carry no body; the status says what happened
    local s = res.status
    err.code = (s == 404 and "NotFound") or (s == 403 and "Forbidden")
      or (s == 400 and "BadRequest") or (s and tostring(s)) or nil
  end
  local shape = common.error_shape(service, op, err.code)
  if shape then rest.parse_headers(service.shapes, shape, res, err.fields) end
  return err
end

return M
