--- kumo.s3.customize: what makes an S3 call different from other rest-xml
-- calls, applied by kumo.call.prepare to every call of an `s3` client
-- (botocore does the same in its S3 handlers and `S3SigV4Auth`).
--
-- - Addressing: the endpoint is resolved per call from S3's rule set with
--   the call's `Bucket` (and the operation's context parameters), so the
--   rule set decides virtual-hosted or path style; `/{Bucket}` is taken out
--   of the operation's URI as botocore's `remove_bucket_from_url_paths`
--   does. `addressing_style` maps to `ForcePathStyle` as botocore's
--   `_compute_endpoint_config` maps it: with an endpoint override path style
--   unless `virtual` is asked; GetBucketLocation always path style.
-- - Signing: no path normalization and one URI encoding; the payload hash
--   in `x-amz-content-sha256`, or `UNSIGNED-PAYLOAD` over TLS for a
--   streaming body that carries a checksum header (S3SigV4Auth).
-- - Checksums (kumo.s3.checksum), `Expect: 100-continue` for bodies of
--   1 MiB and more (botocore's `add_expect_header`).
-- - Answers: a 200 whose body is an `<Error>` (CompleteMultipartUpload,
--   CopyObject, UploadPartCopy) is an error, as botocore's `_handle_200_error`
--   makes it; GetBucketLocation's bare `<LocationConstraint>` root is read;
--   the 301/400 region redirect (`x-amz-bucket-region`) is followed once, and
--   the bucket's region remembered by the client (S3RegionRedirectorv2).
-- - Streaming: the call options `upload = { path=, offset=, length= }` (the
--   body read from a file) and `download = path` (a 2xx body written to a
--   file, checked against its checksum there).
-- @module kumo.s3.customize
local endpoints = require "kumo.endpoints"
local rules = require "kumo.endpoint_rules"
local model = require "kumo.model"
local errors = require "kumo.errors"
local checksum = require "kumo.s3.checksum"
local xmlbody = require "kumo.protocol.xmlbody"
local settings = require "kumo.s3.settings"
local crypto = require "kumo.crypto"
local sys = require "kumo.sys"
local wire = require "kumo.protocol.wire"

local M = {}

local format, concat = string.format, table.concat

M.EXPECT_MIN = 1024 * 1024
local ERROR_200 = { CompleteMultipartUpload = true, CopyObject = true, UploadPartCopy = true }

-- botocore's set_list_objects_encoding_type_url and decode_list_object*:
-- ask for url-encoded keys (XML cannot carry every key) and decode them.
local URL_ENCODED = {
  ListObjects = { top = { "Delimiter", "Marker", "NextMarker", "Prefix" },
    lists = { { "Contents", "Key" }, { "CommonPrefixes", "Prefix" } } },
  ListObjectsV2 = { top = { "Delimiter", "Prefix", "StartAfter" },
    lists = { { "Contents", "Key" }, { "CommonPrefixes", "Prefix" } } },
  ListObjectVersions = { top = { "KeyMarker", "NextKeyMarker", "Prefix", "Delimiter" },
    lists = { { "Versions", "Key" }, { "DeleteMarkers", "Key" }, { "CommonPrefixes", "Prefix" } } },
}

local function url_decode(s)
  return (s:gsub("+", " "):gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

local function decode_listing(spec, out)
  for _, k in ipairs(spec.top) do
    if type(out[k]) == "string" then out[k] = url_decode(out[k]) end
  end
  for _, l in ipairs(spec.lists) do
    for _, item in ipairs(type(out[l[1]]) == "table" and out[l[1]] or {}) do
      if type(item[l[2]]) == "string" then item[l[2]] = url_decode(item[l[2]]) end
    end
  end
end

--- The operation model to serialize: `/{Bucket}` out of the URI (the
-- endpoint carries the bucket), a copy kept on the client.
-- @tparam table c the client
-- @tparam table entry the operation entry
-- @treturn table op model
function M.op_model(c, entry)
  local cache = c._s3_ops
  if not cache then cache = {} c._s3_ops = cache end
  local op = cache[entry.name]
  if op then return op end
  op = entry.model
  local uri = op.http and op.http.requestUri or "/"
  if uri:sub(1, 9) == "/{Bucket}" then
    local rest = uri:sub(10)
    if rest == "" or rest:find("^[?#]") then rest = "/" .. rest end
    local http = {}
    for k, v in pairs(op.http) do if k:sub(1, 1) ~= "_" then http[k] = v end end
    http.requestUri = rest
    local copy = {}
    for k, v in pairs(op) do copy[k] = v end
    copy.http = http
    op = copy
  end
  cache[entry.name] = op
  return op
end

local function truthy(v)
  if type(v) == "boolean" then return v end
  return v ~= nil and tostring(v):lower() == "true"
end

-- The endpoint override the client resolved (nil when the rule set chose).
local function configured_url(base)
  if base.source and base.source:find("^endpoint rule set") then return nil end
  return base.url
end

local function is_arn(s)
  return type(s) == "string" and s:find("^arn:[^:]*:[^:]*:[^:]*:[^:]*:.") ~= nil
end

-- The rule set's input for one call (botocore's builtins, then the
-- operation's static and dynamic context parameters).
local function rule_input(c, op, params, region, global)
  local s = c.session
  local st = settings.of(c)
  local base = c._endpoint or c:endpoint()
  local url = configured_url(base)
  local so = s.options
  local getenv = s.getenv or os.getenv
  local profile = s.config and s.config:profile(s.profile) or {}
  local fips = so.use_fips_endpoint
  if fips == nil then fips = truthy(getenv("AWS_USE_FIPS_ENDPOINT") or profile.use_fips_endpoint) end
  local dual = so.use_dualstack_endpoint
  if dual == nil then dual = st.use_dualstack_endpoint end
  if dual == nil then dual = truthy(getenv("AWS_USE_DUALSTACK_ENDPOINT") or profile.use_dualstack_endpoint) end
  region = region or c.region
  -- botocore's S3 builtIns (kumo.endpoints.s3_builtins), then its per-operation
  -- handlers: GetBucketLocation path style, an ARN bucket never
  local b = endpoints.s3_builtins(st, region, url)
  local force_path = b.ForcePathStyle
  if op.name == "GetBucketLocation" then force_path = true
  elseif is_arn(params.Bucket) then force_path = false end
  local input = {
    Region = region, UseFIPS = (not url) and fips and true or false,
    UseDualStack = (not url) and dual and true or false, Endpoint = url,
    ForcePathStyle = force_path, Accelerate = b.Accelerate,
    UseGlobalEndpoint = b.UseGlobalEndpoint, UseArnRegion = b.UseArnRegion,
    DisableMultiRegionAccessPoints = b.DisableMultiRegionAccessPoints,
  }
  -- the operation's static and dynamic context parameters (Bucket, Key, ...)
  for name, v in pairs(endpoints.operation_context(c.model, op, params) or {}) do input[name] = v end
  -- presigned URLs: botocore's customize_endpoint_resolver_builtins with
  -- use_global_endpoint (aws partition, no dual-stack, not virtual by
  -- choice, not us-east-1 made regional) puts a bucket that is a plain
  -- host label on s3.amazonaws.com, signed for the client's region
  if global and not force_path and not is_arn(params.Bucket) and not dual
    and type(params.Bucket) == "string" and params.Bucket:find("^[%w][%w-]*$")
    and #params.Bucket <= 63 and not params.Bucket:find("-$") and not params.Bucket:find("%-%-x%-s3$")
    and st.addressing_style ~= "virtual"
    and not (st.us_east_1_regional_endpoint == "regional" and region == "us-east-1")
    and rules.functions["aws.partition"](model.partitions(), region or "us-east-1").name == "aws" then
    input.Region, input.UseGlobalEndpoint = "aws-global", true
  end
  return input, url
end

--- Resolve the endpoint of one call.
-- @tparam table c the client
-- @tparam table op the operation model (the model's, with `/{Bucket}`)
-- @tparam table params
-- @tparam[opt] string region another region (a redirect)
-- @tparam[opt] boolean global a presigned URL (botocore's use_global_endpoint)
-- @treturn table `{ url=, scheme=, authority=, path=, signing_region=, signing_name=, headers= }`
function M.endpoint(c, op, params, region, global)
  local input, url = rule_input(c, op, params, region, global)
  local ruleset = model.endpoint_ruleset("s3")
  local ep, msg = rules.resolve(ruleset, input, model.partitions())
  if not ep then
    error(format("s3 %s: endpoint rules (region %s%s): %s", op.name or "?", tostring(input.Region),
      params.Bucket and (", bucket " .. tostring(params.Bucket)) or "", msg), 0)
  end
  local so = c.session.options
  local parsed = endpoints.parse_url(ep.url, url and "the endpoint override" or "the S3 rule set",
    (url and (c.options.allow_http or so.allow_http)) or not url)
  local auth = endpoints.auth_scheme(ep.properties and ep.properties.authSchemes)
  if auth and auth.name ~= "v4" and auth.name ~= "s3v4" then
    error(format("s3 %s: the endpoint asks for signature %s, which kumo does not speak "
      .. "(S3 Express and multi-region access points need it); use a plain bucket",
      op.name or "?", auth.name), 0)
  end
  parsed.signing_region = auth and auth.region or input.Region or "us-east-1"
  if input.Region == "aws-global" and region ~= "aws-global" then
    parsed.signing_region = region or c.region or parsed.signing_region  -- the bucket's region
  end
  parsed.signing_name = auth and auth.service or "s3"
  parsed.headers = ep.headers
  return parsed
end

-- botocore's _urljoin: the endpoint's path, then the operation's.
local function join(ep_path, path)
  if path == "" or path == "/" then
    return ep_path ~= "" and ep_path or "/"
  end
  if ep_path:sub(-1) == "/" and path:sub(1, 1) == "/" then return ep_path:sub(1, -2) .. path end
  return ep_path .. path
end

--- The URL and Host of a serialized request at a resolved endpoint.
-- @tparam table ep M.endpoint's result
-- @tparam table req the serialized request (`path`, `query`)
-- @treturn string url
-- @treturn string host
local function url_of(ep, req)
  local path = join(ep.path, req.path or "/")
  local url = ep.scheme .. "://" .. ep.authority .. path
  local q = req.query
  if q and #q > 0 then
    local parts = {}
    for i, kv in ipairs(q) do
      parts[i] = kv[2] == nil and wire.urlencode(kv[1])
        or (wire.urlencode(kv[1]) .. "=" .. wire.urlencode(tostring(kv[2])))
    end
    url = url .. (path:find("?", 1, true) and "&" or "?") .. concat(parts, "&")
  end
  return url, ep.authority
end

M.url_of = url_of

local function header_index(headers, name)
  local lname = name:lower()
  for i, h in ipairs(headers) do
    if h[1]:lower() == lname then return i end
  end
  return nil
end

local function remove_header(headers, name)
  local i = header_index(headers, name)
  if i then table.remove(headers, i) end
end

local function streaming_input(service, op)
  local shape = op.input and service.shapes[op.input.shape]
  local payload = shape and (op.input.payload or shape.payload)
  local ref = payload and shape.members[payload]
  return ref ~= nil and (ref.streaming or service.shapes[ref.shape].streaming) == true
end

-- The `upload` call option, checked, with its length settled.
local function upload_of(op_name, up)
  if type(up) ~= "table" or type(up.path) ~= "string" then
    error(format("%s: the upload option must be { path = \"file\", offset = n, length = n }", op_name), 0)
  end
  local st = sys.stat(up.path)
  if not st then error(format("%s: upload: cannot read %s", op_name, up.path), 0) end
  local offset = up.offset or 0
  local length = up.length or (st.size - offset)
  if math.type(offset) ~= "integer" or offset < 0 or math.type(length) ~= "integer" or length < 0
    or offset + length > st.size then
    error(format("%s: upload: offset %s and length %s do not fit in %s (%d bytes)", op_name,
      tostring(up.offset), tostring(up.length), up.path, st.size), 0)
  end
  return { path = up.path, offset = offset, length = length }
end

-- Checksums, payload hash and Expect of the request (in p.headers).
local function body_headers(c, op, params, p, st)
  local headers, service = p.headers, c.model
  local https = p.url:sub(1, 8) == "https://"
  local alg, member_header
  if not checksum.has_header(headers) then
    alg, member_header = checksum.request_algorithm(service, op, params, st.request_checksum_calculation)
  end
  if alg then
    -- botocore 1.43 sends a flexible checksum instead of Content-MD5
    remove_header(headers, "Content-MD5")
    if member_header then checksum.set_header(headers, member_header, alg:upper()) end
  end
  local has_sum = alg ~= nil or checksum.has_header(headers)
  local sign_payload = st.payload_signing_enabled
  if sign_payload == nil then
    sign_payload = not (https and has_sum and streaming_input(service, op))
  end
  local size
  if p.upload then
    local want = {}
    if alg then want[1] = alg end
    if sign_payload and alg ~= "sha256" then want[#want + 1] = "sha256" end
    local d = #want > 0 and checksum.file_digests(p.upload, want) or {}
    if alg then checksum.set_header(headers, "x-amz-checksum-" .. alg, crypto.base64_encode(d[alg])) end
    if sign_payload then checksum.set_header(headers, "x-amz-content-sha256", crypto.hex(d.sha256)) end
    checksum.set_header(headers, "Content-Length", tostring(p.upload.length))
    size = p.upload.length
  else
    if alg then
      checksum.set_header(headers, "x-amz-checksum-" .. alg,
        crypto.base64_encode(checksum.digest(alg, p.body)))
    end
    size = #p.body
  end
  p.sign_opts = { normalize_path = false, unsigned_payload = not sign_payload }
  if size >= M.EXPECT_MIN and streaming_input(service, op) then
    checksum.set_header(headers, "Expect", "100-continue")
  end
end

-- Read a bare `<LocationConstraint>` root (botocore's parse_get_bucket_location).
local function bucket_location(body)
  local root = require("kumo.xml").decode(body or "")
  if root and root.name:gsub("^.*:", "") == "LocationConstraint" and root.text ~= "" then
    return root.text
  end
  return nil
end

-- The answer's hooks (kumo.call.classify calls them).
local function response_hooks(c, op, p, st)
  p.on_response = function(res)
    if res.status == 200 and ERROR_200[op.name] and not res.downloaded then
      local b = res.body or ""
      if b:find("^%s*<%?xml[^>]*>%s*<Error>") or b:find("^%s*<Error>") then
        res.status = 500  -- botocore: a 200 with an error body is a 500 (retried)
      end
    end
    return res
  end
  p.on_output = function(out, res)
    if op.name == "GetBucketLocation" then out.LocationConstraint = bucket_location(res.body) end
    if p.decode_listing and out.EncodingType == "url" then decode_listing(p.decode_listing, out) end
    if p.download and res.downloaded then
      out.Body = nil
      out.Downloaded = { path = p.download_path, size = res.downloaded }
    end
    if p.validate_response then
      local alg, expected = checksum.response_algorithm(op, res.headers or {})
      if alg then
        local ok, got = checksum.check(alg, expected, not res.downloaded and (out.Body or "") or nil,
          res.downloaded and p.download_path or nil)
        if not ok then
          errors.raise{ kind = "parse", code = "ChecksumMismatch", service = "s3", operation = op.name,
            http_status = res.status,
            message = format("%s: the body's %s checksum is %s, the answer says %s: the data was "
              .. "corrupted on the way; nothing was kept as good", op.name, alg:upper(), got, expected) }
        end
        out.ChecksumValidated = alg:upper()
      end
    end
    return out
  end
end

-- The region an error response points to, or nil (S3RegionRedirectorv2).
local function redirect_region(op, res)
  local status, h = res.status, res.headers or {}
  local region = h["x-amz-bucket-region"]
  local code, body_region = nil, nil
  local body = res.body or ""
  if body ~= "" then  -- the one XML reader; a body it cannot read names nothing
    local e = xmlbody.read_error(body)
    if e then code, body_region = e.Code, e.Region end
  end
  local head = op.name == "HeadObject" or op.name == "HeadBucket"
  local redirect = status == 301 or status == 302 or status == 307
    or code == "PermanentRedirect"
    or (code == "AuthorizationHeaderMalformed" and body_region ~= nil)
    or (code == "IllegalLocationConstraintException" and op.name ~= "CreateBucket")
    or (head and (status == 301 or status == 400) and region ~= nil)
    or (status == 400 and region ~= nil)
  if not redirect then return nil end
  return region or body_region
end

--- Customize a prepared call (kumo.call.prepare calls this).
-- @tparam table c the client
-- @tparam table entry the operation entry
-- @tparam table params
-- @tparam table opts the call options
-- @tparam table p the prepared call (changed in place)
-- @tparam table req the serialized request
function M.prepare(c, entry, params, opts, p, req)
  local op = entry.model
  local st = settings.of(c)
  local regions = c._s3_regions
  if not regions then regions = {} c._s3_regions = regions end
  local bucket = params.Bucket
  local ep = M.endpoint(c, op, params, bucket and regions[bucket] or nil)
  p.endpoint = ep
  local listing = URL_ENCODED[op.name]
  if listing and params.EncodingType == nil then
    req.query = req.query or {}
    req.query[#req.query + 1] = { "encoding-type", "url" }
    p.decode_listing = listing
  end
  -- botocore sends no Content-Type the caller did not give (rest-xml
  -- bodies and raw bodies alike); the signature covers it, so neither does kumo
  if params.ContentType == nil then remove_header(p.headers, "Content-Type") end
  local url, host = url_of(ep, req)
  p.url = url
  p.headers[1] = { "Host", host }
  for name, values in pairs(ep.headers or {}) do
    p.headers[#p.headers + 1] = { name, concat(values, ",") }
  end
  if opts.upload ~= nil then
    if not streaming_input(c.model, op) then
      error(format("%s: the upload option is for operations with a streaming body (PutObject, "
        .. "UploadPart)", op.name), 0)
    end
    if params.Body ~= nil then error(format("%s: give Body or the upload option, not both", op.name), 0) end
    p.upload = upload_of(op.name, opts.upload)
    p.body = nil
  end
  if opts.download ~= nil then
    local d = opts.download
    local path = type(d) == "table" and d.path or d
    if type(path) ~= "string" or path == "" then
      error(format("%s: the download option must be a file path, or { path =, offset = } "
        .. "to write into an existing file from offset", op.name), 0)
    end
    p.download = d
    p.download_path = path
  end
  -- the response checksum: ChecksumMode = ENABLED when supported
  local hc = op.httpChecksum or {}
  local mode = hc.requestValidationModeMember
  if mode then
    local ref = c.model.shapes[op.input.shape].members[mode]
    if params[mode] == nil and st.response_checksum_validation == "when_supported" and ref then
      checksum.set_header(p.headers, ref.locationName, "ENABLED")
    end
    -- a range's body cannot be checked against the object's checksum
    p.validate_response = params.Range == nil
      and (params[mode] ~= nil or st.response_checksum_validation == "when_supported")
  end
  body_headers(c, op, params, p, st)
  response_hooks(c, op, p, st)
  -- the region redirect: once per call; the client remembers the bucket's region
  p.redirect = function(res)
    if p.redirected or not bucket then return false end
    local region = redirect_region(op, res)
    if not region or region == p.endpoint.signing_region then return false end
    p.redirected = true
    regions[bucket] = region
    local nep = M.endpoint(c, op, params, region)
    p.endpoint = nep
    p.url, p.headers[1] = url_of(nep, req), { "Host", nep.authority }
    return true
  end
end

return M
