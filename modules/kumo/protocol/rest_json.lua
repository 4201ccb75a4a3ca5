--- The AWS `rest-json` protocol (RAM, Lambda, ...): the REST driver
-- (kumo.protocol.rest) with a JSON body codec.
-- @module kumo.protocol.rest_json
local common = require "kumo.protocol.common"
local jsonbody = require "kumo.protocol.jsonbody"
local model = require "kumo.protocol.shape"
local rest = require "kumo.protocol.rest"

-- The one place a rest-json body's text is decoded.
local function decode(bytes, what)
  return common.json_decode(bytes, what)
end

local codec = {
  content_type = "application/json",
  -- a structure with no member set is still sent, as `{}`
  empty_body = "{}",
  -- and a blob payload left out as an empty application/octet-stream
  typed_empty_blob = true,
  request_id = { "x-amzn-requestid", "x-amz-request-id" },
}

function codec.encode(shapes, shape, v)
  return jsonbody.encode(shapes, shape, v)
end

function codec.read(shapes, shape, bytes, what)
  return jsonbody.read(shapes, shape, decode(bytes, what))
end

-- Code and message from the `X-Amzn-Errortype` header or the body; the
-- fields from the body (a body that is not JSON still gives the code).
function codec.error(service, op, res)
  local body = res.body
  if body and not body:find("^%s*$") then
    local ok, v = pcall(decode, body)
    body = ok and v or nil
  else
    body = nil
  end
  local code, message = jsonbody.error_code(res, body)
  local err = { code = code, message = message, fields = {} }
  local shape = model.error_shape(service, op, code)
  if shape and type(body) == "table" then
    err.fields = jsonbody.read(service.shapes, shape, body) or {}
  end
  return err
end

local M = rest.protocol(codec)
--- The body codec (see kumo.protocol.rest).
M.codec = codec
return M
