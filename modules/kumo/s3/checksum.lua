--- kumo.s3.checksum: S3's flexible checksums as botocore 1.43 computes and
-- checks them (botocore/httpchecksum.py).
--
-- Request: an algorithm the caller names (`ChecksumAlgorithm`), else CRC32
-- when the operation requires a checksum or, with
-- `request_checksum_calculation = when_supported` (the default), when it
-- supports one; the `x-amz-checksum-<alg>` header carries the base64 digest
-- of the body (or of the file range streamed as the body). A checksum header
-- the caller set is left alone.
--
-- Response: with `response_checksum_validation = when_supported` (default)
-- the validation mode member (`ChecksumMode`) is set to ENABLED; the first
-- of the answer's `x-amz-checksum-*` headers in botocore's priority order
-- (CRC32C, CRC32, SHA1, SHA256) is checked against the body or the
-- downloaded file; composite checksums of multipart objects (`...-N`)
-- cannot be checked from the body and are skipped, as botocore skips them.
--
-- botocore needs the AWS CRT for CRC32C; kumo computes it natively
-- (`kumo.crypto.crc32c`).
-- @module kumo.s3.checksum
local crypto = require "kumo.crypto"

local M = {}

local format, char = string.format, string.char

--- The algorithms kumo computes, in botocore's response priority order
-- (CRC64NVME, which only the CRT has, is not among them).
M.PRIORITY = { "crc32c", "crc32", "sha1", "sha256" }
local SUPPORTED = { crc32c = true, crc32 = true, sha1 = true, sha256 = true }

local function be32(n)
  return char((n >> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff)
end

--- The raw digest of a string.
-- @tparam string alg crc32, crc32c, sha1 or sha256
-- @tparam string s
-- @treturn string raw bytes
function M.digest(alg, s)
  if alg == "crc32" then return be32(crypto.crc32(s)) end
  if alg == "crc32c" then return be32(crypto.crc32c(s)) end
  if alg == "sha1" then return crypto.sha1(s) end
  if alg == "sha256" then return crypto.sha256(s) end
  error(format("checksum: unsupported algorithm %q (use CRC32, CRC32C, SHA1 or SHA256)", alg), 0)
end

--- The raw digests of a file's byte range, in one pass.
-- @tparam table file `{ path=, offset=, length= }`
-- @tparam table algs list of algorithm names (and "sha256" for the payload hash)
-- @treturn table alg -> raw digest, plus `size`
function M.file_digests(file, algs)
  local want = { offset = file.offset or 0, length = file.length }
  for i, a in ipairs(algs) do want[i] = a end
  local sums, err = crypto.file_sums(file.path, want)
  if not sums then error("checksum: " .. err, 0) end
  local out = { size = sums.size }
  for _, a in ipairs(algs) do
    local v = sums[a]
    out[a] = math.type(v) == "integer" and be32(v) or v
  end
  return out
end

--- Whether a header list already carries a checksum.
-- @tparam table headers list of `{name, value}`
-- @treturn boolean
function M.has_header(headers)
  for _, h in ipairs(headers) do
    if h[1]:lower():find("^x%-amz%-checksum%-") and h[1]:lower() ~= "x-amz-checksum-mode" then
      return true
    end
  end
  return false
end

local function set_header(headers, name, value)
  local lname = name:lower()
  for _, h in ipairs(headers) do
    if h[1]:lower() == lname then h[2] = value return end
  end
  headers[#headers + 1] = { name, value }
end
M.set_header = set_header

--- The request algorithm of a call, as botocore resolves it.
-- @tparam table service the service model
-- @tparam table op the operation model
-- @tparam table params the call's parameters
-- @tparam string calculation `when_supported` or `when_required`
-- @treturn string|nil algorithm (lower case), or nil for none
-- @treturn string|nil the algorithm member's header to set (the default's name) or nil
function M.request_algorithm(service, op, params, calculation)
  local hc = op.httpChecksum or {}
  local required = op.httpChecksumRequired or hc.requestChecksumRequired
  local member = hc.requestAlgorithmMember
  if member and params[member] ~= nil then
    local alg = tostring(params[member]):lower()
    if not SUPPORTED[alg] then
      error(format("%s: ChecksumAlgorithm %q is not supported by kumo: use CRC32, CRC32C, "
        .. "SHA1 or SHA256", op.name or "?", tostring(params[member])), 0)
    end
    return alg, nil
  end
  if required or (member and calculation == "when_supported") then
    local header
    if member then
      local shape = service.shapes[op.input.shape]
      local ref = shape.members[member]
      header = ref and ref.locationName
    end
    return "crc32", header
  end
  return nil
end

--- The response checksum to check, or nil: the first of the answer's
-- headers in priority order among the operation's response algorithms.
-- @tparam table op the operation model
-- @tparam table headers the response's lower-case header map
-- @treturn string|nil algorithm
-- @treturn string|nil expected base64 digest
function M.response_algorithm(op, headers)
  local hc = op.httpChecksum or {}
  local allowed = {}
  for _, a in ipairs(hc.responseAlgorithms or {}) do allowed[a:lower()] = true end
  -- a multipart object's checksum is of its parts' checksums (COMPOSITE),
  -- not of its bytes: AWS marks it with x-amz-checksum-type and a "-N"
  -- suffix; moto 5.2 gives neither, but its ETag still ends in "-N"
  local ctype = headers["x-amz-checksum-type"]
  if ctype == "COMPOSITE" then return nil end
  if ctype ~= "FULL_OBJECT" and (headers.etag or ""):find("%-%d+\"?$") then return nil end
  for _, alg in ipairs(M.PRIORITY) do
    local v = allowed[alg] and headers["x-amz-checksum-" .. alg]
    if v and not v:find("-", 1, true) then return alg, v end
  end
  return nil
end

--- Check a body or a downloaded file against the answer's checksum.
-- @tparam string alg
-- @tparam string expected base64 digest
-- @tparam[opt] string body the body in memory
-- @tparam[opt] string path the downloaded file
-- @treturn boolean ok
-- @treturn string the computed digest (base64)
function M.check(alg, expected, body, path)
  local raw
  if path then
    raw = M.file_digests({ path = path }, { alg })[alg]
  else
    raw = M.digest(alg, body or "")
  end
  local got = crypto.base64_encode(raw)
  return got == expected, got
end

return M
