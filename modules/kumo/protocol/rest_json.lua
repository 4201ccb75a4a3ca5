--- The AWS `rest-json` protocol (RAM, Lambda, ...): REST bindings (see
-- kumo.protocol.rest) with a JSON body, or a raw/JSON payload member.
-- @module kumo.protocol.rest_json
local common = require "kumo.protocol.common"
local rest = require "kumo.protocol.rest"
local jsonbody = require "kumo.protocol.jsonbody"

local M = {}
local null = common.null

local function has_header(headers, name)
  name = name:lower()
  for _, h in ipairs(headers) do
    if h[1]:lower() == name then return true end
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
      if ps.type == "blob" then
        req.body = v or ""
        content_type = "application/octet-stream"
      elseif ps.type == "string" then
        if v ~= nil then
          req.body = v
          content_type = "text/plain"
        end
      elseif v ~= nil and v ~= null then
        req.body = ps.document and common.json_any(v) or jsonbody.encode(shapes, ps, v)
        content_type = "application/json"
      elseif ps.type == "structure" and not ps.union and not ps.document then
        req.body = "{}"
        content_type = "application/json"
      end
    elseif rest.bindings(shapes, shape).has_body then
      req.body = jsonbody.encode(shapes, shape, p)
      content_type = "application/json"
    end
  end
  if content_type and not has_header(req.headers, "Content-Type") then
    req.headers[#req.headers + 1] = { "Content-Type", content_type }
  end
  if op.httpChecksumRequired and req.body ~= "" then
    req.headers[#req.headers + 1] = { "Content-MD5", require("kumo.crypto").md5_base64(req.body) }
  end
  return common.compress(op, req, ctx)
end

local function decode_body(res)
  local body = res.body
  if not body or body:match("^%s*$") then return nil end
  return common.json_decode(body)
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
      local ps = shapes[shape.members[payload].shape]
      local body = res.body or ""
      if ps.eventstream then
        out[payload] = require("kumo.protocol.eventstream").events(shapes, ps, body,
          function(es, bytes) return jsonbody.read(shapes, es, common.json_decode(bytes, "event")) end)
      elseif ps.type == "blob" or ps.type == "string" then
        if body ~= "" then out[payload] = body end
      else
        local v = decode_body(res)
        if v ~= nil then
          out[payload] = ps.document and v or jsonbody.read(shapes, ps, v)
        end
      end
    else
      local v = decode_body(res)
      if type(v) == "table" then
        for k, mv in pairs(jsonbody.read(shapes, shape, v) or {}) do out[k] = mv end
      end
    end
  end
  return out, { request_id = h["x-amzn-requestid"] or h["x-amz-request-id"] }
end

--- Parse an error response → `{code, message, request_id, fields}`.
function M.parse_error(service, op, res)
  local ok, body = pcall(decode_body, res)
  if not ok then body = nil end
  local code, message = jsonbody.error_code(res, body)
  local h = res.headers or {}
  local err = { code = code, message = message, fields = {},
                request_id = h["x-amzn-requestid"] or h["x-amz-request-id"] }
  local shape = common.error_shape(service, op, code)
  if shape then
    local fields = {}
    if type(body) == "table" then fields = jsonbody.read(service.shapes, shape, body) or {} end
    rest.parse_headers(service.shapes, shape, res, fields)
    err.fields = fields
  end
  return err
end

return M
