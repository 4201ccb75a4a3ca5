-- A large file through kumo.s3.transfer against the sandbox: uploaded by
-- multipart (parts in parallel), downloaded back by ranges, the same SHA-256
-- at both ends, while kumo's peak resident memory (VmHWM of this process:
-- busted and the Lua state included) stays under 64 MiB. Prints the figures.
-- KUMO_S3_BIG_MB sets the size (default 200).
local aws = require "kumo.aws"
local crypto = require "kumo.crypto"
local clock = require "kumo.clock"
local transfer = require "kumo.s3.transfer"
local sandbox = dofile((os.getenv("KUMO_ROOT") or ".") .. "/tests/lib/sandbox.lua")

local MiB = 1024 * 1024
local SIZE_MB = tonumber(os.getenv("KUMO_S3_BIG_MB") or "200")
local LIMIT = 64 * MiB

-- This process's peak resident set (kB in /proc/self/status), in bytes.
local function peak_rss()
  local f = assert(io.open("/proc/self/status"))
  local s = f:read("a")
  f:close()
  return tonumber(s:match("VmHWM:%s*(%d+)%s*kB")) * 1024
end

local function sha256(path)
  return crypto.hex(assert(crypto.file_sums(path, { "sha256" })).sha256)
end

describe("a " .. SIZE_MB .. " MB file through S3", function()
  local sb, dir

  setup(function()
    sb = sandbox.start{}
    dir = os.tmpname()
    os.remove(dir)
    require("kumo.sys").mkdir(dir)
  end)

  teardown(function()
    if sb then sb.stop() end
    if dir then os.execute("rm -rf '" .. dir .. "'") end
  end)

  it("uploads by multipart and downloads back with the same SHA-256 in under 64 MiB of RSS", function()
    local src, back = dir .. "/big.bin", dir .. "/back.bin"
    -- the file, written with dd (not through this process's memory)
    assert(os.execute(string.format("dd if=/dev/urandom of='%s' bs=1M count=%d status=none", src, SIZE_MB)))
    local before = peak_rss()
    local s3 = aws.session{ profile = "app", config_file = sb.dir .. "/config",
      credentials_file = sb.dir .. "/credentials", env = {}, credential_cache = false }:client("s3")
    s3:CreateBucket{ Bucket = "kumo-big", CreateBucketConfiguration = { LocationConstraint = "ap-northeast-1" } }
    local t0 = clock.monotonic()
    local up = transfer.upload_file(s3, src, "kumo-big", "big.bin", { part_size = 8 * MiB, concurrency = 4 })
    local t1 = clock.monotonic()
    local down = transfer.download_file(s3, "kumo-big", "big.bin", back, { part_size = 8 * MiB, concurrency = 4 })
    local t2 = clock.monotonic()
    local peak = peak_rss()
    local a, b = sha256(src), sha256(back)
    print(string.format("# s3 transfer: %d MB up in %d parts %.1f s (%.0f MB/s), down in %d parts %.1f s "
      .. "(%.0f MB/s); kumo peak RSS %.1f MiB (%.1f MiB before the transfers); sha256 %s %s",
      SIZE_MB, up.parts, t1 - t0, SIZE_MB / (t1 - t0), down.parts, t2 - t1, SIZE_MB / (t2 - t1),
      peak / MiB, before / MiB, a:sub(1, 16), a == b and "equal" or ("differs: " .. b:sub(1, 16))))
    assert.are.equal(SIZE_MB * MiB, down.size)
    assert.are.equal(a, b)
    assert.is_true(peak < LIMIT, string.format("peak RSS %.1f MiB is not under 64 MiB", peak / MiB))
  end)
end)
