-- S3 through kumo's client against a sandbox (moto's S3; SigV4 verified,
-- IAM checked, upload checksums verified as AWS does): round trips with
-- awkward keys read back with boto3, flexible checksums (a wrong one refused,
-- CRC32C accepted), streaming and multipart transfers in parallel with a
-- failed part retried and a failing upload aborted, presigned GET/PUT URLs
-- used by plain curl, and corrupted downloads caught by their checksum.
local aws = require "kumo.aws"
local errors = require "kumo.errors"
local crypto = require "kumo.crypto"
local sys = require "kumo.sys"
local transfer = require "kumo.s3.transfer"
local s3mod = require "kumo.s3"
local sandbox = dofile((os.getenv("KUMO_ROOT") or ".") .. "/tests/lib/sandbox.lua")

local MiB = 1024 * 1024
local BUCKET = "kumo-e2e-bucket"
local KEYS = { "plain.txt", "a b c", "a+b=c&d", "tilde~/x", "ünïcødé/ファイル.txt", "a//double",
  "./dot", "../dotdot", "a/./b/../c", "semi;colon,comma", "star*(paren)", "emoji-😀" }

local function shell_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function read_all(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

-- A file of n pseudo-random bytes (written in pieces, never whole in memory).
local function make_file(path, n, seed)
  local f = assert(io.open(path, "wb"))
  local block = {}
  local x = seed
  for i = 1, 4096 do x = (x * 1103515245 + 12345) % 2147483648 block[i] = string.char(x % 256) end
  local chunk = table.concat(block):rep(16)  -- 64 KiB
  local left = n
  while left > 0 do
    local piece = left >= #chunk and chunk or chunk:sub(1, left)
    f:write(piece)
    left = left - #piece
  end
  f:close()
end

local function file_sha256(path)
  return crypto.hex(assert(crypto.file_sums(path, { "sha256" })).sha256)
end

describe("S3 against the sandbox", function()
  local sb, s3, tmp

  -- boto3 (the independent reader) in the sandbox's `app` account; prints JSON
  local function boto3(script)
    local path = tmp .. "/reader.py"
    local f = assert(io.open(path, "w"))
    f:write("import boto3, json, sys, hashlib\n",
      "s3 = boto3.Session(profile_name='app').client('s3')\n", script, "\n")
    f:close()
    local cmd = string.format("AWS_CONFIG_FILE=%s AWS_SHARED_CREDENTIALS_FILE=%s AWS_EC2_METADATA_DISABLED=true "
      .. "python3 %s", shell_quote(sb.dir .. "/config"), shell_quote(sb.dir .. "/credentials"), shell_quote(path))
    local p = assert(io.popen(cmd))
    local out = p:read("a")
    assert(p:close(), "boto3 reader failed: " .. out)
    return require("kumo.json").decode(out)
  end

  setup(function()
    sb = sandbox.start{}
    tmp = os.tmpname()
    os.remove(tmp)
    sys.mkdir(tmp)
    s3 = aws.session{ profile = "app", config_file = sb.dir .. "/config",
      credentials_file = sb.dir .. "/credentials", env = {}, credential_cache = false }:client("s3")
    s3:CreateBucket{ Bucket = BUCKET, CreateBucketConfiguration = { LocationConstraint = "ap-northeast-1" } }
  end)

  teardown(function()
    if sb then sb.stop() end
    if tmp then os.execute("rm -rf " .. shell_quote(tmp)) end
  end)

  before_each(function()
    if sb then sb.control("DELETE", "/_kumo/faults") end
  end)

  it("puts, gets, lists and deletes objects with awkward keys (boto3 reads them back)", function()
    for i, key in ipairs(KEYS) do
      s3:PutObject{ Bucket = BUCKET, Key = "rt/" .. key, Body = "body " .. i, ContentType = "text/plain" }
    end
    local seen = boto3(string.format([[
keys = [o["Key"] for p in s3.get_paginator("list_objects_v2").paginate(Bucket=%q, Prefix="rt/") for o in p.get("Contents", [])]
print(json.dumps({k: s3.get_object(Bucket=%q, Key=k)["Body"].read().decode() for k in keys}))]], BUCKET, BUCKET))
    for i, key in ipairs(KEYS) do
      assert.are.equal("body " .. i, seen["rt/" .. key], key)
      assert.are.equal("body " .. i, s3:GetObject{ Bucket = BUCKET, Key = "rt/" .. key }.Body)
    end
    -- kumo's own listing decodes the url-encoded keys it asked for
    local listed = {}
    for page in s3:paginate("ListObjectsV2", { Bucket = BUCKET, Prefix = "rt/", MaxKeys = 5 }) do
      for _, o in ipairs(page.Contents or {}) do listed[o.Key] = true end
    end
    for _, key in ipairs(KEYS) do assert.is_true(listed["rt/" .. key], key) end
    local objs = {}
    for i = 2, #KEYS do objs[#objs + 1] = { Key = "rt/" .. KEYS[i] } end
    local del = s3:DeleteObjects{ Bucket = BUCKET, Delete = { Objects = objs } }
    assert.are.equal(#KEYS - 1, #del.Deleted)
    s3:DeleteObject{ Bucket = BUCKET, Key = "rt/" .. KEYS[1] }
    local left = boto3(string.format([[print(json.dumps(s3.list_objects_v2(Bucket=%q, Prefix="rt/").get("KeyCount")))]], BUCKET))
    assert.are.equal(0, left)
  end)

  it("reads GetBucketLocation's bare root and names S3's errors", function()
    assert.are.equal("ap-northeast-1", s3:GetBucketLocation{ Bucket = BUCKET }.LocationConstraint)
    local _, e = s3:try("GetObject", { Bucket = BUCKET, Key = "missing" })
    assert.are.equal("NoSuchKey", e.code)
    assert.are.equal(404, e.http_status)
    _, e = s3:try("HeadObject", { Bucket = BUCKET, Key = "missing" })
    assert.are.equal("NotFound", e.code)
    _, e = s3:try("ListObjectsV2", { Bucket = "kumo-no-such-bucket" })
    assert.are.equal("NoSuchBucket", e.code)
  end)

  it("sends flexible checksums the sandbox verifies; a wrong one is refused (BadDigest)", function()
    local out = s3:PutObject{ Bucket = BUCKET, Key = "sum/default", Body = "checksummed" }
    assert.are.equal(crypto.base64_encode(string.pack(">I4", crypto.crc32("checksummed"))), out.ChecksumCRC32)
    for _, alg in ipairs{ "CRC32C", "SHA1", "SHA256" } do
      local o = s3:PutObject{ Bucket = BUCKET, Key = "sum/" .. alg, Body = "with " .. alg, ChecksumAlgorithm = alg }
      assert.is_string(o["Checksum" .. alg], alg)
    end
    local _, e = s3:try("PutObject", { Bucket = BUCKET, Key = "sum/wrong", Body = "x",
      ChecksumCRC32 = "AAAAAA==" })
    assert.are.equal("BadDigest", e.code)
    local stored = boto3(string.format([[
r = s3.head_object(Bucket=%q, Key="sum/CRC32C", ChecksumMode="ENABLED")
print(json.dumps(r.get("ChecksumCRC32C")))]], BUCKET))
    assert.are.equal(crypto.base64_encode(string.pack(">I4", crypto.crc32c("with CRC32C"))), stored)
  end)

  it("streams a multipart upload and a ranged download in parallel; a failed part is retried", function()
    local src, back = tmp .. "/src.bin", tmp .. "/back.bin"
    make_file(src, 12 * MiB + 12345, 7)
    sb.faults({ { op = "UploadPart", kind = "503", times = 2 } })
    local progress = 0
    local r = transfer.upload_file(s3, src, BUCKET, "big/one", { part_size = 5 * MiB, concurrency = 3,
      multipart_threshold = 5 * MiB, on_progress = function(done) progress = done end })
    assert.are.equal(3, r.parts)
    assert.are.equal(12 * MiB + 12345, progress)
    local st = sb.stats().accounts["111111111111"].operations["s3:UploadPart"]
    assert.is_true(st.count >= 5, "the failed parts were sent again")
    local remote = boto3(string.format([[
print(json.dumps(hashlib.sha256(s3.get_object(Bucket=%q, Key="big/one")["Body"].read()).hexdigest()))]], BUCKET))
    assert.are.equal(file_sha256(src), remote)
    local d = transfer.download_file(s3, BUCKET, "big/one", back, { part_size = 5 * MiB,
      multipart_threshold = 5 * MiB, concurrency = 3 })
    assert.are.equal(3, d.parts)
    assert.are.equal(file_sha256(src), file_sha256(back))
  end)

  it("aborts a multipart upload whose part keeps failing, leaving no upload behind", function()
    local src = tmp .. "/src2.bin"
    make_file(src, 11 * MiB, 3)
    sb.faults({ { op = "UploadPart", kind = "error", status = 400, code = "InvalidRequest", times = -1 } })
    local ok, e = pcall(transfer.upload_file, s3, src, BUCKET, "big/aborted", { part_size = 5 * MiB,
      multipart_threshold = 5 * MiB, part_attempts = 2 })
    assert.is_false(ok)
    assert.are.equal("InvalidRequest", e.code)
    assert.matches("aborted", e.message)
    sb.control("DELETE", "/_kumo/faults")
    local pending = boto3(string.format([[print(json.dumps(len(s3.list_multipart_uploads(Bucket=%q).get("Uploads", []))))]], BUCKET))
    assert.are.equal(0, pending)
  end)

  it("makes presigned GET and PUT URLs that plain curl uses; expired or altered ones are refused", function()
    s3:PutObject{ Bucket = BUCKET, Key = "pre/a b+c~é", Body = "presigned body" }
    local url = s3mod.presign{ client = s3, params = { Bucket = BUCKET, Key = "pre/a b+c~é" }, expires = 300 }
    local function curl(args)
      local p = assert(io.popen("curl -sS -o " .. shell_quote(tmp .. "/curl.out") .. " -w '%{http_code}' " .. args))
      local code = p:read("a")
      p:close()
      return tonumber(code), read_all(tmp .. "/curl.out")
    end
    local code, body = curl(shell_quote(url))
    assert.are.equal(200, code)
    assert.are.equal("presigned body", body)
    code = curl(shell_quote((url:gsub("X%-Amz%-Expires=300", "X-Amz-Expires=301"))))
    assert.are.equal(403, code)
    local old = s3mod.presign{ client = s3, params = { Bucket = BUCKET, Key = "pre/a b+c~é" }, expires = 5,
      time = os.time() - 60 }
    code, body = curl(shell_quote(old))
    assert.are.equal(403, code)
    assert.matches("expired", body)
    local put = s3mod.presign{ client = s3, operation = "PutObject", params = { Bucket = BUCKET, Key = "pre/up" } }
    local f = assert(io.open(tmp .. "/put.txt", "wb"))
    f:write("uploaded with curl")
    f:close()
    code = curl("-T " .. shell_quote(tmp .. "/put.txt") .. " " .. shell_quote(put))
    assert.are.equal(200, code)
    assert.are.equal("uploaded with curl", boto3(string.format(
      [[print(json.dumps(s3.get_object(Bucket=%q, Key="pre/up")["Body"].read().decode()))]], BUCKET)))
  end)

  it("catches a corrupted download by its checksum, in memory and in a file", function()
    s3:PutObject{ Bucket = BUCKET, Key = "corrupt/me", Body = ("0123456789"):rep(1000) }
    sb.faults({ { op = "GetObject", kind = "corrupt", times = 1 } })
    local _, e = s3:try("GetObject", { Bucket = BUCKET, Key = "corrupt/me" })
    assert.is_true(errors.is(e))
    assert.are.equal("ChecksumMismatch", e.code)
    -- a file download: never left in place when corrupt; a retry repairs it
    local dest = tmp .. "/corrupt.out"
    sb.faults({ { op = "GetObject", kind = "corrupt", times = 5 } })
    local ok, e2 = pcall(transfer.download_file, s3, BUCKET, "corrupt/me", dest, { part_attempts = 2 })
    assert.is_false(ok)
    assert.are.equal("ChecksumMismatch", e2.code)
    assert.is_nil(sys.stat(dest))
    sb.faults({ { op = "GetObject", kind = "corrupt", times = 1 } })
    local d = transfer.download_file(s3, BUCKET, "corrupt/me", dest)
    assert.are.equal("CRC32", d.checksum)
    assert.are.equal(("0123456789"):rep(1000), read_all(dest))
  end)
end)
