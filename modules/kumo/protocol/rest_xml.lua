--- The AWS `rest-xml` protocol (S3, Route 53, CloudFront): the REST driver
-- (kumo.protocol.rest) with an XML body codec.
-- @module kumo.protocol.rest_xml
local query = require "kumo.protocol.query"
local rest = require "kumo.protocol.rest"
local xmlbody = require "kumo.protocol.xmlbody"

local codec = {
  content_type = "application/xml",
  request_id = { "x-amz-request-id", "x-amzn-requestid" },
}

-- The root element: for a payload member, a name the member gives on
-- purpose wins, then the target shape's own name (Smithy xmlName), else the
-- member's locationName, which S3's models rely on (LifecycleConfiguration
-- → shape BucketLifecycleConfiguration); for the whole input, the input's
-- name.
function codec.encode(shapes, shape, v, ref, name)
  local root = ref.locationName
  if not name then
    root = root or shape.locationName or ref.shape
  elseif not root or root == name then
    root = shape.locationName or root or ref.shape
  end
  return xmlbody.document(shapes, shape, v,
    { locationName = root, xmlNamespace = ref.xmlNamespace or shape.xmlNamespace }, root)
end

function codec.read(shapes, shape, bytes, what)
  local v, err = xmlbody.read(shapes, shape, bytes)
  if v == nil then error(what .. ": " .. err, 0) end
  return v
end

-- The body's <Error> as the query protocol reads it; S3 HEAD errors carry
-- no body, so then the status says what happened.
function codec.error(service, op, res)
  local err = query.parse_error(service, op, res)
  if not err.code then
    local s = res.status
    err.code = (s == 404 and "NotFound") or (s == 403 and "Forbidden")
      or (s == 400 and "BadRequest") or (s and tostring(s)) or nil
  end
  return err
end

return rest.protocol(codec)
