--- kumo.s3.transfer: upload and download files of any size, as boto3's
-- S3Transfer does, without holding their bodies in memory.
--
--     local transfer = require "kumo.s3.transfer"
--     transfer.upload_file(s3, "/tmp/big.bin", "bucket", "key", { part_size = 16 * 2^20 })
--     transfer.download_file(s3, "bucket", "key", "/tmp/copy.bin")
--
-- A file below `multipart_threshold` goes in one PutObject (or one
-- GetObject); a larger one in parts of `part_size` bytes, `concurrency` of
-- them at once on the scheduler (kumo.sched). Bodies stream between the file
-- and the socket (kumo.http's upload/download), so memory stays flat
-- whatever the size. A part that fails (after the client's own retries) is
-- tried again up to `part_attempts` times; when one still fails, the
-- multipart upload is aborted (no orphan parts are left to bill) and the
-- error raised. A download is written to `<path>.kumo-<random>` and renamed
-- into place only when complete and checked: a failed or corrupt download
-- never replaces the file.
--
-- Checksums (botocore 1.43 / s3transfer with `when_supported`): uploads
-- send a CRC32 per part (or per object) and the part checksums at
-- completion; downloads are checked against the object's full checksum
-- when S3 gives one (single-part objects; a multipart object's composite
-- `...-N` checksum cannot be recomputed from the bytes and is skipped, as
-- botocore skips it).
-- @module kumo.s3.transfer
local sched = require "kumo.sched"
local sys = require "kumo.sys"
local crypto = require "kumo.crypto"
local errors = require "kumo.errors"
local checksum = require "kumo.s3.checksum"

local M = {}

local format = string.format

local MiB = 1024 * 1024

--- Defaults (boto3's TransferConfig: 8 MiB threshold and parts, 10 threads).
M.DEFAULTS = {
  multipart_threshold = 8 * MiB,
  part_size = 8 * MiB,
  concurrency = 10,
  part_attempts = 3,
}
M.MIN_PART = 5 * MiB      -- S3: every part but the last is at least 5 MiB
M.MAX_PARTS = 10000       -- S3: at most 10,000 parts

local OPTS = { multipart_threshold = true, part_size = true, concurrency = true,
  part_attempts = true, extra = true, on_progress = true, checksum_algorithm = true }

local function settings(opts, what)
  opts = opts or {}
  local st = {}
  for k, v in pairs(M.DEFAULTS) do st[k] = v end
  for k, v in pairs(opts) do
    if not OPTS[k] then
      error(format("%s: unknown option %q (use %s)", what, tostring(k),
        "multipart_threshold, part_size, concurrency, part_attempts, extra, on_progress, "
        .. "checksum_algorithm"), 3)
    end
    st[k] = v
  end
  for _, k in ipairs{ "multipart_threshold", "part_size", "concurrency", "part_attempts" } do
    st[k] = math.tointeger(st[k]) or st[k]  -- 8 * 2^20 is a float in Lua
    if math.type(st[k]) ~= "integer" or st[k] < 1 then
      error(format("%s: %s must be a positive integer, got %s", what, k, tostring(st[k])), 3)
    end
  end
  st.extra = st.extra or {}
  return st
end

-- The part size for a file: at least the asked one and 5 MiB, and large
-- enough that the file fits in 10,000 parts (s3transfer's ChunksizeAdjuster).
local function part_size_for(size, asked)
  local ps = math.max(asked, M.MIN_PART)
  while (size + ps - 1) // ps > M.MAX_PARTS do ps = ps * 2 end
  return ps
end

local function merge(a, b)
  local t = {}
  for k, v in pairs(a) do t[k] = v end
  for k, v in pairs(b or {}) do t[k] = v end
  return t
end

-- Call fn up to n times; the last error is raised. Usage errors (bad
-- input) are not worth another try.
local function with_attempts(n, fn)
  local err
  for _ = 1, n do
    local ok, res = pcall(fn)
    if ok then return res end
    err = res
    if errors.is(err) and (err.kind == "usage" or err.kind == "validation") then break end
  end
  error(err, 0)
end

local function progress(st, done, total)
  if st.on_progress then st.on_progress(done, total) end
end

--- Upload a file to `bucket`/`key`.
-- @tparam table client an S3 client (`session:client("s3")`)
-- @tparam string path the file
-- @tparam string bucket
-- @tparam string key
-- @tparam[opt] table opts `multipart_threshold`, `part_size`, `concurrency`,
--   `part_attempts`, `extra` (more PutObject / CreateMultipartUpload
--   parameters, e.g. `ContentType`), `on_progress(bytes_done, total)`,
--   `checksum_algorithm` (`CRC32` default, `CRC32C`, `SHA1`, `SHA256`)
-- @treturn table `{ ETag=, parts=, size=, UploadId= (multipart) }`
function M.upload_file(client, path, bucket, key, opts)
  local st = settings(opts, "upload_file")
  local info = sys.stat(path)
  if not info then error(format("upload_file: cannot read %s", path), 2) end
  local size = info.size
  local alg = (st.checksum_algorithm or "CRC32"):upper()
  local base = merge({ Bucket = bucket, Key = key }, st.extra)
  if size < st.multipart_threshold then
    local out = with_attempts(st.part_attempts, function()
      return client:PutObject(merge(base, { ChecksumAlgorithm = alg }), { upload = { path = path } })
    end)
    progress(st, size, size)
    return { ETag = out.ETag, parts = 1, size = size }
  end
  local ps = part_size_for(size, st.part_size)
  local created = client:CreateMultipartUpload(merge(base, { ChecksumAlgorithm = alg }))
  local upload_id = created.UploadId
  local parts = {}
  for i = 1, (size + ps - 1) // ps do
    local offset = (i - 1) * ps
    parts[i] = { number = i, offset = offset, length = math.min(ps, size - offset) }
  end
  local failed = false
  local done = 0
  local results, errs = sched.parallel(parts, function(part)
    if failed then return nil end  -- another part failed for good: stop early
    local ok, out = pcall(with_attempts, st.part_attempts, function()
      return client:UploadPart({ Bucket = bucket, Key = key, UploadId = upload_id,
        PartNumber = part.number, ChecksumAlgorithm = alg },
        { upload = { path = path, offset = part.offset, length = part.length } })
    end)
    if not ok then failed = true error(out, 0) end
    done = done + part.length
    progress(st, done, size)
    local entry = { ETag = out.ETag, PartNumber = part.number }
    entry["Checksum" .. alg] = out["Checksum" .. alg]
    return entry
  end, { limit = st.concurrency, name = "s3-part" })
  local first_err
  for i = 1, #parts do
    if errs[i] or not results[i] then first_err = first_err or errs[i] end
  end
  if failed or first_err then
    -- abort: S3 keeps (and bills) the parts of an upload neither completed nor aborted
    pcall(client.AbortMultipartUpload, client, { Bucket = bucket, Key = key, UploadId = upload_id })
    if errors.is(first_err) then
      first_err.message = format("%s (upload_file %s: multipart upload %s aborted)",
        tostring(first_err.message), path, upload_id)
      error(first_err, 0)
    end
    error(format("upload_file %s: a part failed (%s); multipart upload %s aborted", path,
      tostring(first_err), upload_id), 0)
  end
  local out = client:CompleteMultipartUpload{ Bucket = bucket, Key = key, UploadId = upload_id,
    MultipartUpload = { Parts = results } }
  return { ETag = out.ETag, parts = #parts, size = size, UploadId = upload_id }
end

local function temp_path(path)
  return path .. ".kumo-" .. crypto.hex(crypto.random(6))
end

--- Download `bucket`/`key` to a file.
-- @tparam table client an S3 client
-- @tparam string bucket
-- @tparam string key
-- @tparam string path where to write (replaced only once the download is complete and checked)
-- @tparam[opt] table opts `multipart_threshold`, `part_size`, `concurrency`,
--   `part_attempts`, `extra` (more GetObject parameters, e.g. `VersionId`),
--   `on_progress(bytes_done, total)`
-- @treturn table `{ size=, parts=, ETag=, checksum= (the algorithm checked, or nil) }`
function M.download_file(client, bucket, key, path, opts)
  local st = settings(opts, "download_file")
  local base = merge({ Bucket = bucket, Key = key }, st.extra)
  local head = client:HeadObject(merge(base, { ChecksumMode = "ENABLED" }))
  local size = head.ContentLength or 0
  local tmp = temp_path(path)
  local ok, res = pcall(function()
    local nparts, checked = 1, nil
    if size < st.multipart_threshold then
      local out = with_attempts(st.part_attempts, function()
        return client:GetObject(merge(base, { IfMatch = head.ETag }), { download = tmp })
      end)
      checked = out.ChecksumValidated
    else
      local ps = math.max(st.part_size, 1)
      local ranges = {}
      for i = 1, (size + ps - 1) // ps do
        local a = (i - 1) * ps
        ranges[i] = { a = a, b = math.min(a + ps, size) - 1 }
      end
      nparts = #ranges
      assert(io.open(tmp, "wb")):close()  -- the parts write into it in place
      local done, failed = 0, false
      local _, errs = sched.parallel(ranges, function(r)
        if failed then return nil end
        local okp, e = pcall(with_attempts, st.part_attempts, function()
          return client:GetObject(merge(base, { Range = format("bytes=%d-%d", r.a, r.b),
            IfMatch = head.ETag }), { download = { path = tmp, offset = r.a } })
        end)
        if not okp then failed = true error(e, 0) end
        done = done + (r.b - r.a + 1)
        progress(st, done, size)
        return true
      end, { limit = st.concurrency, name = "s3-range" })
      for i = 1, #ranges do
        if errs[i] then error(errs[i], 0) end
      end
      -- the whole object's checksum, when S3 has one for it (not `...-N`)
      local alg, expected = checksum.response_algorithm(
        { httpChecksum = { responseAlgorithms = { "CRC32C", "CRC32", "SHA1", "SHA256" } } },
        head.ResponseMetadata and head.ResponseMetadata.HTTPHeaders or {})
      if alg then
        local good, got = checksum.check(alg, expected, nil, tmp)
        if not good then
          errors.raise{ kind = "parse", code = "ChecksumMismatch", service = "s3", operation = "GetObject",
            message = format("download_file %s/%s: the file's %s checksum is %s, S3 says %s",
              bucket, key, alg:upper(), got, expected) }
        end
        checked = alg:upper()
      end
    end
    local info = sys.stat(tmp)
    if not info or info.size ~= size then
      error(format("download_file %s/%s: got %s bytes, expected %d", bucket, key,
        tostring(info and info.size), size), 0)
    end
    local renamed, why = os.rename(tmp, path)
    if not renamed then error(format("download_file: cannot move %s to %s: %s", tmp, path, why), 0) end
    return { size = size, parts = nparts, ETag = head.ETag, checksum = checked }
  end)
  if not ok then
    os.remove(tmp)
    error(res, 0)
  end
  progress(st, size, size)
  return res
end

return M
