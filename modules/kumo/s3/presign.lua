--- kumo.s3.presign: presigned S3 URLs (SigV4 query form) that plain HTTP
-- clients (curl, a browser) can use without credentials until they expire,
-- as botocore's `generate_presigned_url` makes them.
--
--     local presign = require("kumo.s3.presign")
--     local url = presign.url(s3, "GetObject", { Bucket = "b", Key = "k" }, { expires = 600 })
--     -- curl "$url";  for PutObject: curl -X PUT --data-binary @file "$url"
--
-- The URL's endpoint, addressing style and path are the ones the call would
-- use (kumo.s3.customize); the payload is `UNSIGNED-PAYLOAD`; no default
-- checksum is added (botocore adds none to presigned requests), and the
-- headers the parameters make (say `x-amz-acl`) are signed, so the user of
-- the URL must send them as they are.
-- @module kumo.s3.presign
local sigv4 = require "kumo.sigv4"
local customize = require "kumo.s3.customize"
local errors = require "kumo.errors"

local M = {}

local format = string.format

M.MAX_EXPIRES = 604800  -- SigV4: seven days at most

--- A presigned URL for an S3 operation.
-- @tparam table client an S3 client
-- @tparam string op the operation (`GetObject`, `PutObject`, ...)
-- @tparam table params its parameters
-- @tparam[opt] table opts `expires` (seconds, 1 to 604800, default 3600),
--   `time` (unix seconds to sign at; default now)
-- @treturn string url
-- @treturn table headers the signed headers besides Host ({name, value} list)
--   that the request must carry
function M.url(client, op, params, opts)
  opts = opts or {}
  if client.service_name ~= "s3" then
    error(format("presign: needs an S3 client, got %s", tostring(client.service_name)), 2)
  end
  local expires = opts.expires or 3600
  if math.type(expires) ~= "integer" or expires < 1 or expires > M.MAX_EXPIRES then
    error(format("presign: expires must be 1 to %d seconds, got %s", M.MAX_EXPIRES, tostring(expires)), 2)
  end
  params = params or {}
  local entry = client:operation(op)
  local s = client.session
  local okv, verr = pcall(require("kumo.validate").check, client.model, entry.model, params, {})
  if not okv then
    errors.raise{ kind = "validation", code = "ValidationError", service = "s3", operation = op,
      message = tostring(verr) }
  end
  local req = client._protocol.serialize(client.model, customize.op_model(client, entry), params,
    s.serialize_ctx)
  local ep = customize.endpoint(client, entry.model, params, nil, true)
  local url, host = customize.url_of(ep, req)
  local headers = { { "Host", host } }
  local extra = {}
  for _, h in ipairs(req.headers or {}) do
    local n = h[1]:lower()
    -- botocore drops an untyped Content-Type and the body's checksum when presigning
    if not (n == "content-type" and params.ContentType == nil) and not n:find("^x%-amz%-checksum")
      and n ~= "content-md5" and n ~= "x-amz-sdk-checksum-algorithm" then
      headers[#headers + 1] = h
      extra[#extra + 1] = h
    end
  end
  local creds = s:credentials():get()
  local signed = sigv4.presign{
    method = req.method or "GET", url = url, headers = headers,
    region = ep.signing_region, service = ep.signing_name,
    access_key_id = creds.access_key_id, secret_access_key = creds.secret_access_key,
    session_token = creds.session_token, expires = expires, time = opts.time,
    unsigned_payload = true, normalize_path = false,
  }
  return signed, extra
end

return M
