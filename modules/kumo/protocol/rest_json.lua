--- The AWS `rest-json` protocol (RAM, Lambda, ...): the REST driver
-- (kumo.protocol.rest) with a JSON body codec.
-- @module kumo.protocol.rest_json
local common = require "kumo.protocol.common"
local json = require "kumo.protocol.json"
local jsonbody = require "kumo.protocol.jsonbody"
local rest = require "kumo.protocol.rest"

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
  return jsonbody.read(shapes, shape, common.json_decode(bytes, what))
end

-- Errors are read as the JSON protocol reads them.
codec.error = json.body_error

return rest.protocol(codec)
