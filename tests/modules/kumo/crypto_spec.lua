-- kumo.crypto: known-answer vectors (FIPS 180, RFC 4231, RFC 4648) and
-- argument checks.
local crypto = require "kumo.crypto"

describe("kumo.crypto", function()
  it("sha256 matches FIPS 180-2 vectors, raw and hex", function()
    assert.equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      crypto.sha256_hex(""))
    assert.equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
      crypto.sha256_hex("abc"))
    assert.equal(32, #crypto.sha256("abc"))
    assert.equal(crypto.sha256_hex("abc"), crypto.hex(crypto.sha256("abc")))
    assert.equal("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
      crypto.sha256_hex(string.rep("a", 1000000)))
  end)

  it("hmac_sha256 matches RFC 4231 test cases 1, 2 and 6", function()
    assert.equal("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
      crypto.hmac_sha256_hex(string.rep("\x0b", 20), "Hi There"))
    assert.equal("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
      crypto.hmac_sha256_hex("Jefe", "what do ya want for nothing?"))
    assert.equal("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
      crypto.hmac_sha256_hex(string.rep("\xaa", 131),
        "Test Using Larger Than Block-Size Key - Hash Key First"))
    local raw = crypto.hmac_sha256("Jefe", "what do ya want for nothing?")
    assert.equal(32, #raw)
    assert.equal(crypto.hmac_sha256_hex("Jefe", "what do ya want for nothing?"), crypto.hex(raw))
    -- binary keys with NULs are used whole (SigV4 chains raw digests)
    assert.are_not.equal(crypto.hmac_sha256_hex("a\0b", "x"), crypto.hmac_sha256_hex("a", "x"))
    assert.equal(64, #crypto.hmac_sha256_hex("", ""))
  end)

  it("sha1_hex and md5_base64 match their references", function()
    assert.equal("a9993e364706816aba3e25717850c26c9cd0d89d", crypto.sha1_hex("abc"))
    assert.equal("1B2M2Y8AsgTpgAmY7PhCfg==", crypto.md5_base64(""))
    assert.equal("kAFQmDzST7DWlj99KOF/cg==", crypto.md5_base64("abc"))
  end)

  it("base64 round-trips RFC 4648 vectors", function()
    local vectors = { [""] = "", f = "Zg==", fo = "Zm8=", foo = "Zm9v",
      foob = "Zm9vYg==", fooba = "Zm9vYmE=", foobar = "Zm9vYmFy" }
    for plain, enc in pairs(vectors) do
      assert.equal(enc, crypto.base64_encode(plain))
      assert.equal(plain, crypto.base64_decode(enc))
    end
    local bytes = {}
    for i = 0, 255 do bytes[#bytes + 1] = string.char(i) end
    local all = table.concat(bytes)
    assert.equal(all, crypto.base64_decode(crypto.base64_encode(all)))
  end)

  it("base64_decode rejects malformed input with nil, message", function()
    for _, bad in ipairs { "Zg=", "Zm9", "Zm9v!A==", "Z===", "Zm=v", "Zh==", " Zm9v", "Zm9v\n" } do
      local v, msg = crypto.base64_decode(bad)
      assert.is_nil(v, bad)
      assert.matches("not valid base64", msg)
    end
  end)

  it("random gives the requested number of distinct bytes", function()
    assert.equal(0, #crypto.random(0))
    assert.equal(4096, #crypto.random(4096))
    assert.are_not.equal(crypto.random(32), crypto.random(32))
    assert.has_error(function() crypto.random(-1) end)
  end)

  it("uuid4 is a version 4, RFC 4122 UUID and unique", function()
    local seen = {}
    for _ = 1, 200 do
      local u = crypto.uuid4()
      assert.matches("^%x%x%x%x%x%x%x%x%-%x%x%x%x%-4%x%x%x%-[89ab]%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$", u)
      assert.is_nil(seen[u])
      seen[u] = true
    end
  end)

  it("raises on wrong argument types, naming the argument", function()
    assert.has_error(function() crypto.sha256({}) end,
      "bad argument #1 to 'sha256' (string expected, got table)")
    assert.has_error(function() crypto.hmac_sha256("k") end,
      "bad argument #2 to 'hmac_sha256' (string expected, got no value)")
    assert.has_error(function() crypto.random("x") end,
      "bad argument #1 to 'random' (number expected, got string)")
  end)

  -- gzip (zlib): python's gzip module must read back what kumo writes.
  local gunzip = require "tests.lib.gunzip"

  it("gzip output is RFC 1952 that python's gzip module decompresses", function()
    local bytes = {}
    for i = 0, 255 do bytes[#bytes + 1] = string.char(i) end
    local inputs = { "", "x", ('{"MetricName":"Latency","Value":1.5},'):rep(2000),
      table.concat(bytes):rep(300), crypto.random(70000) }
    for _, s in ipairs(inputs) do
      local gz = crypto.gzip(s)
      assert.equal("\31\139\8", gz:sub(1, 3))  -- gzip magic, deflate
      assert.equal(s, gunzip(gz))
      assert.equal(s, gunzip(crypto.gzip(s, 1)))
    end
    -- repetitive text shrinks a lot
    assert.is_true(#crypto.gzip(inputs[3]) < #inputs[3] / 20)
  end)

  it("inflate reads python's zlib and gzip output, and refuses damage and excess", function()
    local text = ('{"shape":"ü","n":[1,2,3]},'):rep(5000)
    local path = os.tmpname()
    local f = assert(io.open(path, "wb"))
    f:write(text)
    f:close()
    for _, how in ipairs{ "zlib.compress(d, 9)", "gzip.compress(d)" } do
      local p = assert(io.popen("python3 -c 'import sys, zlib, gzip; d = open(sys.argv[1], \"rb\")"
        .. ".read(); sys.stdout.buffer.write(" .. how .. ")' " .. path))
      local z = p:read("a")
      p:close()
      assert.is_true(#z > 0 and #z < #text / 10, how)
      assert.equal(text, crypto.inflate(z), how)
      local none, msg = crypto.inflate(z:sub(1, #z // 2))
      assert.is_nil(none)
      assert.matches("truncated", msg, 1, true)
      none, msg = crypto.inflate(z, 1000)
      assert.is_nil(none)
      assert.equal("inflate: data expands past 1000 bytes", msg)
    end
    os.remove(path)
    assert.equal("", crypto.inflate(crypto.gzip("")))
    assert.is_nil((crypto.inflate("plain text")))
    assert.has_error(function() crypto.inflate("x", 0) end,
      "bad argument #2 to 'inflate' (the size limit must be positive)")
  end)

  it("gzip refuses a compression level outside 1..9, naming it", function()
    assert.has_error(function() crypto.gzip("x", 10) end,
      "bad argument #2 to 'gzip' (compression level must be 1..9)")
    assert.has_error(function() crypto.gzip({}) end,
      "bad argument #1 to 'gzip' (string expected, got table)")
  end)

  it("crc32 is zlib's CRC-32 (IEEE), as python computes it", function()
    assert.equal(0xCBF43926, crypto.crc32("123456789"))
    assert.equal(0, crypto.crc32(""))
    local p = assert(io.popen("python3 -c 'import zlib; print(zlib.crc32(b\"kumo event stream\"))'"))
    local want = tonumber(p:read("l"))
    p:close()
    assert.equal(want, crypto.crc32("kumo event stream"))
  end)
end)
