--- The AWS `json` protocol (awsJson1_0 / awsJson1_1: KMS, Secrets Manager,
-- CloudWatch Logs, Organizations, ...): `POST /` with
-- `X-Amz-Target: <targetPrefix>.<Operation>` and a JSON body; responses and
-- errors are JSON.
-- @module kumo.protocol.json
local common = require "kumo.protocol.common"
local eventstream = require "kumo.protocol.eventstream"
local jsonbody = require "kumo.protocol.jsonbody"
local model = require "kumo.protocol.shape"
local request = require "kumo.protocol.request"

local M = {}

local function content_type(service)
  local meta = service.metadata
  local ct = meta._content_type
  if not ct then
    ct = "application/x-amz-json-" .. (meta.jsonVersion or "1.0")
    meta._content_type = ct
  end
  return ct
end

--- Serialize a request. See the protocol contract in docs/architecture.md.
function M.serialize(service, op, params, ctx)
  local meta = service.metadata
  local shapes = service.shapes
  params = params or {}
  local body = "{}"
  if op.input then
    local shape = shapes[op.input.shape]
    params = model.fill_tokens(shapes, shape, params, ctx)
    body = jsonbody.encode(shapes, shape, params)
  end
  local headers = { { "Content-Type", content_type(service) } }
  if meta.targetPrefix then
    headers[#headers + 1] = { "X-Amz-Target", meta.targetPrefix .. "." .. op.name }
  end
  if meta.awsQueryCompatible then
    headers[#headers + 1] = { "x-amzn-query-mode", "true" }
  end
  return request.compress(op, {
    method = "POST",
    path = "/",
    query = {},
    headers = headers,
    body = body,
    host_prefix = request.host_prefix(op, params),
  }, ctx)
end

local function decode_body(res)
  local body = res.body
  if not body or body:match("^%s*$") then return nil end
  return common.json_decode(body)
end

-- The output member that is an event stream (the whole body is its
-- messages, e.g. Logs StartLiveTail), or false; looked up once per shape.
local function stream_member(shapes, shape)
  local name = shape._stream
  if name == nil then
    name = false
    for n, ref in pairs(shape.members or {}) do
      if shapes[ref.shape].eventstream then name = n break end
    end
    shape._stream = name
  end
  return name
end

-- An output with an event stream: Smithy's event stream spec says "In RPC
-- protocols (AWS JSON 1.0, AWS JSON 1.1, ...) initial messages take the
-- form of message events with the event types initial-request for request
-- streams and initial-response for response streams. Every member of the
-- input or output structure except for the event stream member MUST be
-- serialized into the event payload." So the first message holds the other
-- members, and a stream without it is refused, as botocore's
-- JSONParser._handle_event_stream does ("First event was not of type
-- initial-response"). An exception sent in its place is raised as itself
-- (botocore reports it as a missing initial-response), as it names the cause.
local function stream_output(shapes, shape, stream, body)
  local messages = eventstream.messages(body)
  local first = messages[1]
  if not first then
    error("event stream: the response has no initial-response event (the JSON protocol "
      .. "sends the output's other members in one before any other event)", 0)
  end
  eventstream.check_error(first)
  local etype = first.headers[":event-type"]
  if etype ~= "initial-response" then
    error(string.format("event stream: the first event is %s, not initial-response (the JSON "
      .. "protocol sends the output's other members in one before any other event)",
      etype and string.format("%q", etype) or "untyped"), 0)
  end
  local out
  if first.payload:match("^%s*$") then
    out = {}
  else
    out = jsonbody.read(shapes, shape, common.json_decode(first.payload, "initial-response")) or {}
  end
  out[stream] = eventstream.read_events(shapes, shapes[shape.members[stream].shape], messages, 2,
    function(s, bytes) return jsonbody.read(shapes, s, common.json_decode(bytes, "event")) end)
  return out
end

--- Parse a successful response → output table (and `{request_id=}`).
function M.parse(service, op, res)
  local out = {}
  local shapes = service.shapes
  if op.output then
    local shape = shapes[op.output.shape]
    local stream = stream_member(shapes, shape)
    if stream then
      out = stream_output(shapes, shape, stream, res.body or "")
      return out, { request_id = res.headers and res.headers["x-amzn-requestid"] }
    end
    local body = decode_body(res)
    if body then
      out = jsonbody.read(service.shapes, service.shapes[op.output.shape], body) or {}
    end
  end
  return out, { request_id = res.headers and res.headers["x-amzn-requestid"] }
end

--- The code, message and fields of an error response's JSON body (the
-- `X-Amzn-Errortype` header, or for a query-compatible service
-- `x-amzn-query-error`, names the code); rest-json reads its errors the same
-- way. A body that is not JSON still gives what the headers say.
-- @return `{code, message, fields}`
function M.body_error(service, op, res)
  local ok, body = pcall(decode_body, res)
  if not ok then body = nil end
  local code, message = jsonbody.error_code(res, body)
  local qe = service.metadata.awsQueryCompatible and res.headers and res.headers["x-amzn-query-error"]
  if qe then code = qe:match("^([^;]*)") end
  local err = { code = code, message = message, fields = {} }
  local shape = model.error_shape(service, op, code)
  if shape and type(body) == "table" then
    err.fields = jsonbody.read(service.shapes, shape, body) or {}
  end
  return err
end

--- Parse an error response → `{code, message, request_id, fields}`.
function M.parse_error(service, op, res)
  local err = M.body_error(service, op, res)
  err.request_id = res.headers and res.headers["x-amzn-requestid"]
  return err
end

return M
