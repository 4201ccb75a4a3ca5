--- What every protocol does to a request besides binding its members: the
-- endpoint host prefix, the request compression and checksum traits, and
-- default headers.
-- @module kumo.protocol.request
local crypto = require "kumo.crypto"

local M = {}

local format, gsub = string.format, string.gsub

--- Expand an endpoint host prefix (`foo.{Label}.`) from the input members.
-- @return the expanded prefix, or nil when the operation has none
function M.host_prefix(op, params)
  local ep = op.endpoint
  local tmpl = ep and ep.hostPrefix
  if not tmpl then return nil end
  return (gsub(tmpl, "{([^}]+)}", function(name)
    local v = params[name]
    if v == nil or v == "" then
      error(format("%s: host label %s is required (it is part of the host name)",
        op.name or "?", name), 0)
    end
    if not tostring(v):match("^[%w%-%.]+$") then
      error(format("%s: %s: %q is not a valid host label (letters, digits, '-')",
        op.name or "?", name, tostring(v)), 0)
    end
    return v
  end))
end

-- The header pair named `name` (any case) in a list of `{name, value}`.
local function find_header(headers, name)
  name = name:lower()
  for _, h in ipairs(headers) do
    if h[1]:lower() == name then return h end
  end
  return nil
end

--- Add a header unless the request already has one of that name (a
-- member bound to it wins).
-- @param req the serialized request (changed in place)
function M.default_header(req, name, value)
  if not find_header(req.headers, name) then
    req.headers[#req.headers + 1] = { name, value }
  end
end

--- Apply the operation's `requestcompression` trait: gzip a body of at
-- least `ctx.min_compression_size` bytes (default 10240, as the SDKs) and
-- add (or append to) Content-Encoding. `ctx.disable_request_compression`
-- turns it off.
-- @param op operation model
-- @param req the serialized request (changed in place)
-- @param ctx serialization context (may be nil)
-- @return req
function M.compress(op, req, ctx)
  local rc = op.requestcompression
  if not rc or (ctx and ctx.disable_request_compression) then return req end
  local body = req.body
  if not body or #body < ((ctx and ctx.min_compression_size) or 10240) then return req end
  for _, enc in ipairs(rc.encodings or {}) do
    if enc == "gzip" then
      req.body = crypto.gzip(body)
      local h = find_header(req.headers, "Content-Encoding")
      if h then
        h[2] = h[2] .. ", gzip"
      else
        req.headers[#req.headers + 1] = { "Content-Encoding", "gzip" }
      end
      return req
    end
  end
  return req
end

--- Apply the operation's `httpChecksumRequired` trait: a Content-MD5 of a
-- non-empty body.
-- @param op operation model
-- @param req the serialized request (changed in place)
function M.checksum(op, req)
  if op.httpChecksumRequired and req.body ~= "" then
    req.headers[#req.headers + 1] = { "Content-MD5", crypto.md5_base64(req.body) }
  end
end

return M
