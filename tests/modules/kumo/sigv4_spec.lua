-- kumo.sigv4 at the Lua boundary: the contract of issue 2 (fields,
-- defaults, results), map vs list headers, and bad arguments.
local sigv4 = require "kumo.sigv4"

local SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
local TOKEN = "FQoGZXIvYXdzEXAMPLE/token+with=odd/chars"

-- The contract's example: an RDS DescribeDBProxies POST.
local function rds(extra)
  local t = {
    method = "POST", url = "https://rds.ap-northeast-1.amazonaws.com/",
    headers = {
      { "Host", "rds.ap-northeast-1.amazonaws.com" },
      { "Content-Type", "application/x-www-form-urlencoded; charset=utf-8" },
    },
    body = "Action=DescribeDBProxies&Version=2014-10-31",
    region = "ap-northeast-1", service = "rds",
    access_key_id = "AKIDEXAMPLE", secret_access_key = SECRET,
    time = 1440938160,
  }
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end

local function names(add)
  local n = {}
  for i, h in ipairs(add) do n[i] = h[1] end
  return table.concat(n, ",")
end

local function value(add, name)
  for _, h in ipairs(add) do
    if h[1] == name then return h[2] end
  end
end

local function raises(fields, fn)
  local ok, msg = pcall(fn or sigv4.sign, fields)
  assert.is_false(ok)
  msg = tostring(msg)
  -- secrets never reach an error message
  assert.is_nil(msg:find(SECRET, 1, true))
  assert.is_nil(msg:find(TOKEN, 1, true))
  return msg
end

describe("kumo.sigv4.sign", function()
  it("signs the contract's example like botocore", function()
    local add, info = sigv4.sign(rds())
    -- botocore 1.43 SigV4Auth on the same request and time
    assert.are.equal("4949eab360c7e5d142debd93af516d5185273f215d3734b200cb1b5ab547ecc7",
                     info.signature)
    assert.are.equal("Authorization,X-Amz-Date", names(add))
    assert.are.equal("20150830T123600Z", value(add, "X-Amz-Date"))
    assert.are.equal("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/ap-northeast-1/rds/"
      .. "aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature="
      .. info.signature, value(add, "Authorization"))
    assert.are.equal(value(add, "Authorization"), info.authorization)
    assert.truthy(info.canonical_request:find("^POST\n/\n\ncontent%-type:"))
    assert.truthy(info.string_to_sign:find(
      "^AWS4%-HMAC%-SHA256\n20150830T123600Z\n20150830/ap%-northeast%-1/rds/aws4_request\n%x+$"))
    for _, h in ipairs(add) do
      assert.are.equal(2, #h)
      assert.are.equal("string", type(h[1]))
      assert.are.equal("string", type(h[2]))
    end
  end)

  it("accepts a name -> value map like the list", function()
    local _, list = sigv4.sign(rds())
    local _, map = sigv4.sign(rds{ headers = {
      Host = "rds.ap-northeast-1.amazonaws.com",
      ["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8",
    } })
    assert.are.equal(list.canonical_request, map.canonical_request)
    assert.are.equal(list.signature, map.signature)
  end)

  it("accepts number header values, as their string form", function()
    local _, n = sigv4.sign(rds{ headers = { { "Content-Length", 43 } } })
    local _, s = sigv4.sign(rds{ headers = { { "Content-Length", "43" } } })
    assert.are.equal(s.signature, n.signature)
    local _, m = sigv4.sign(rds{ headers = { ["Content-Length"] = 43 } })
    assert.are.equal(s.signature, m.signature)
  end)

  it("signs the Host from the URL when headers lack it", function()
    local _, with = sigv4.sign(rds{ headers = { { "Host", "rds.ap-northeast-1.amazonaws.com" } } })
    local _, without = sigv4.sign(rds{ headers = {} })
    local fields = rds()
    fields.headers = nil
    local _, none = sigv4.sign(fields)
    assert.are.equal(with.signature, without.signature)
    assert.are.equal(with.signature, none.signature)
  end)

  it("has the documented defaults", function()
    local base = rds{ url = "https://rds.ap-northeast-1.amazonaws.com/a/./b/../c" }
    local add, info = sigv4.sign(base)
    assert.truthy(info.canonical_request:find("^POST\n/a/c\n"))        -- normalize_path = true
    assert.is_nil(value(add, "x-amz-content-sha256"))                 -- sign_body_hash_header = false
    assert.is_nil(info.canonical_request:find("UNSIGNED-PAYLOAD", 1, true)) -- unsigned_payload = false
    local explicit = {}
    for k, v in pairs(base) do explicit[k] = v end
    explicit.normalize_path, explicit.sign_body_hash_header = true, false
    explicit.unsigned_payload, explicit.omit_session_token = false, false
    local _, info2 = sigv4.sign(explicit)
    assert.are.equal(info.signature, info2.signature)
  end)

  it("defaults time to now", function()
    local fields = rds()
    fields.time = nil
    local before = os.time()
    local add = sigv4.sign(fields)
    local after = os.time()
    local d = value(add, "X-Amz-Date")
    local want = { os.date("!%Y%m%dT%H%M%SZ", before), os.date("!%Y%m%dT%H%M%SZ", after) }
    assert.truthy(d == want[1] or d == want[2], d)
  end)

  it("drops fractions of a second", function()
    local _, a = sigv4.sign(rds{ time = 1440938160.9 })
    local _, b = sigv4.sign(rds())
    assert.are.equal(b.signature, a.signature)
  end)

  it("signs S3 style paths with normalize_path = false", function()
    local _, info = sigv4.sign(rds{ url = "https://b.s3.amazonaws.com//a/../b%20c d",
                                    normalize_path = false, service = "s3" })
    assert.truthy(info.canonical_request:find("^POST\n//a/../b%%20c%%20d\n"))
    local _, norm = sigv4.sign(rds{ url = "https://b.s3.amazonaws.com//a/../b%20c d" })
    assert.truthy(norm.canonical_request:find("^POST\n/b%%2520c%%20d\n"))
  end)

  it("adds the session token (signed, or after signing)", function()
    local add, info = sigv4.sign(rds{ session_token = TOKEN })
    assert.are.equal("Authorization,X-Amz-Date,X-Amz-Security-Token", names(add))
    assert.are.equal(TOKEN, value(add, "X-Amz-Security-Token"))
    assert.truthy(info.canonical_request:find("x-amz-security-token:" .. TOKEN, 1, true))
    add, info = sigv4.sign(rds{ session_token = TOKEN, omit_session_token = true })
    assert.are.equal(TOKEN, value(add, "X-Amz-Security-Token"))
    assert.is_nil(info.canonical_request:find("security-token", 1, true))
  end)

  it("adds x-amz-content-sha256 when asked, UNSIGNED-PAYLOAD when unsigned", function()
    local add = sigv4.sign(rds{ sign_body_hash_header = true, session_token = TOKEN })
    assert.are.equal("Authorization,X-Amz-Date,X-Amz-Security-Token,x-amz-content-sha256",
                     names(add))
    local empty = sigv4.sign(rds{ sign_body_hash_header = true, body = "" })
    assert.are.equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                     value(empty, "x-amz-content-sha256"))
    local unsigned, info = sigv4.sign(rds{ sign_body_hash_header = true, unsigned_payload = true })
    assert.are.equal("UNSIGNED-PAYLOAD", value(unsigned, "x-amz-content-sha256"))
    assert.truthy(info.canonical_request:find("\nUNSIGNED%-PAYLOAD$"))
  end)

  it("uses a carried X-Amz-Date and adds no second one", function()
    local fields = rds()
    fields.headers[#fields.headers + 1] = { "x-amz-date", "20200102T030405Z" }
    fields.time = 0
    local add, info = sigv4.sign(fields)
    assert.are.equal("Authorization", names(add))
    assert.truthy(info.string_to_sign:find("\n20200102T030405Z\n20200102/", 1, true))
  end)

  it("re-signs a signed request to the same signature (Authorization ignored)", function()
    local fields = rds{ session_token = TOKEN }
    local add, info = sigv4.sign(fields)
    for _, h in ipairs(add) do fields.headers[#fields.headers + 1] = h end
    fields.time = fields.time + 1000
    local add2, info2 = sigv4.sign(fields)
    assert.are.equal(info.signature, info2.signature)
    assert.are.equal("Authorization", names(add2))
  end)

  it("keeps working across many calls and collections", function()
    local _, first = sigv4.sign(rds())
    for i = 1, 2000 do
      local _, info = sigv4.sign(rds{ region = "r" .. (i % 20), time = 1440938160 + i * 86400 })
      assert.are.equal(64, #info.signature)
      if i % 500 == 0 then collectgarbage() end
    end
    local _, again = sigv4.sign(rds())
    assert.are.equal(first.signature, again.signature)
  end)
end)

describe("kumo.sigv4.presign", function()
  it("returns a URL carrying the signature, and info", function()
    local url, info = sigv4.presign(rds{ method = "GET", body = "",
      url = "https://rds.ap-northeast-1.amazonaws.com/?Action=Connect&DBUser=admin" })
    assert.are.equal("string", type(url))
    assert.truthy(url:find("^https://rds%.ap%-northeast%-1%.amazonaws%.com/%?Action=Connect&DBUser=admin"
      .. "&X%-Amz%-Algorithm=AWS4%-HMAC%-SHA256&X%-Amz%-Credential=AKIDEXAMPLE%%2F20150830%%2F"))
    assert.truthy(url:find("&X-Amz-Expires=3600&", 1, true))         -- expires = 3600
    assert.truthy(url:find("&X%-Amz%-Signature=" .. info.signature .. "$"))
    assert.is_nil(info.authorization)
    assert.truthy(info.canonical_request:find("\nhost;content%-type\n") == nil)
    assert.truthy(info.canonical_request:find("X-Amz-SignedHeaders=content-type%3Bhost\n", 1, true))
  end)

  it("signs the token in the query, or appends it after the signature", function()
    local url, info = sigv4.presign(rds{ session_token = TOKEN, expires = 60 })
    assert.truthy(url:find("X-Amz-Expires=60&", 1, true))
    assert.truthy(info.canonical_request:find("X-Amz-Security-Token=FQoGZXIvYXdzEXAMPLE%2Ftoken%2Bwith%3Dodd%2Fchars&", 1, true))
    url, info = sigv4.presign(rds{ session_token = TOKEN, omit_session_token = true })
    assert.is_nil(info.canonical_request:find("Token", 1, true))
    assert.truthy(url:find("&X%-Amz%-Signature=%x+&X%-Amz%-Security%-Token=FQoGZXIvYXdzEXAMPLE%%2Ftoken%%2Bwith%%3Dodd%%2Fchars$"))
  end)
end)

describe("kumo.sigv4 bad arguments", function()
  it("wants a table", function()
    assert.truthy(raises(nil):find("bad argument #1 to '[%w.]*sign' %(table expected, got nil%)"))
    assert.truthy(raises("GET", sigv4.presign):find("bad argument #1 to '[%w.]*presign'"))
  end)

  it("names a missing or mistyped field", function()
    for _, field in ipairs({ "method", "url", "region", "service", "access_key_id",
                             "secret_access_key" }) do
      local f = rds{ session_token = TOKEN }
      f[field] = nil
      local msg = raises(f)
      assert.truthy(msg:find("field '" .. field .. "' must be a string (got nil)", 1, true), msg)
      f[field] = 42
      msg = raises(f)
      assert.truthy(msg:find("field '" .. field .. "' must be a string (got number)", 1, true), msg)
    end
    assert.truthy(raises(rds{ body = {} }):find("field 'body' must be a string", 1, true))
    assert.truthy(raises(rds{ session_token = 1 }):find("field 'session_token'", 1, true))
    assert.truthy(raises(rds{ time = "now" }):find("field 'time' must be unix seconds", 1, true))
    for _, flag in ipairs({ "normalize_path", "sign_body_hash_header", "unsigned_payload",
                            "omit_session_token" }) do
      local msg = raises(rds{ [flag] = "yes", secret_access_key = SECRET })
      assert.truthy(msg:find("field '" .. flag .. "' must be a boolean (got string)", 1, true), msg)
    end
  end)

  it("checks the values of fields, naming them", function()
    assert.truthy(raises(rds{ region = "" }):find("bad field 'region'", 1, true))
    assert.truthy(raises(rds{ region = "us east" }):find("bad field 'region'", 1, true))
    assert.truthy(raises(rds{ service = "a/b" }):find("bad field 'service'", 1, true))
    assert.truthy(raises(rds{ access_key_id = "" }):find("bad field 'access_key_id'", 1, true))
    assert.truthy(raises(rds{ secret_access_key = "" }):find("bad field 'secret_access_key'", 1, true))
    assert.truthy(raises(rds{ method = "GE T" }):find("bad field 'method'", 1, true))
    assert.truthy(raises(rds{ url = "rds.amazonaws.com/" }):find("bad field 'url' (url must be scheme://host", 1, true))
    assert.truthy(raises(rds{ time = -1 }):find("bad field 'time'", 1, true))
    assert.truthy(raises(rds{ time = 1e300 }):find("bad field 'time'", 1, true))
    assert.truthy(raises(rds{ time = 0/0 }):find("bad field 'time'", 1, true))
  end)

  it("checks expires (presign only)", function()
    for _, e in ipairs({ 0, -5, 604801, 1.5, "60" }) do
      local msg = raises(rds{ expires = e }, sigv4.presign)
      assert.truthy(msg:find("field 'expires' must be a whole number of seconds from 1 to 604800", 1, true), msg)
    end
    assert.truthy(sigv4.presign(rds{ expires = 604800 }))
    assert.truthy(sigv4.sign(rds{ expires = 0 }))
  end)

  it("names the bad header", function()
    local msg = raises(rds{ headers = "Host: x" })
    assert.truthy(msg:find("field 'headers' must be a list of {name, value} or a name -> value map (got string)", 1, true), msg)
    msg = raises(rds{ headers = { { "Host", "x" }, "Accept: */*" } })
    assert.truthy(msg:find("headers[2] must be a {name, value} pair (got string)", 1, true), msg)
    msg = raises(rds{ headers = { { 1, "x" } } })
    assert.truthy(msg:find("headers[1][1] (the name) must be a string (got number)", 1, true), msg)
    msg = raises(rds{ headers = { { "Accept" } } })
    assert.truthy(msg:find("headers[1][2] (the value of Accept) must be a string (got nil)", 1, true), msg)
    msg = raises(rds{ headers = { { "Host", "x" }, { "Bad Name", "v" } } })
    assert.truthy(msg:find("bad field 'headers[2][1]' (header name must be a non-empty HTTP token", 1, true), msg)
    assert.truthy(msg:find('got "Bad Name"', 1, true), msg)
    msg = raises(rds{ headers = { ["Bad Name"] = "v" } })
    assert.truthy(msg:find("bad header name in 'headers'", 1, true), msg)
    msg = raises(rds{ headers = { Accept = true } })
    assert.truthy(msg:find('headers["Accept"] must be a string (got boolean)', 1, true), msg)
    msg = raises(rds{ headers = { [true] = "x" } })
    assert.truthy(msg:find("its keys must be header names (got a boolean key)", 1, true), msg)
    msg = raises(rds{ headers = { { "X-Amz-Date", "yesterday" } } })
    assert.truthy(msg:find("X-Amz-Date header must be YYYYMMDDTHHMMSSZ", 1, true), msg)
  end)

  it("never shows a secret or token value, even when they are the problem", function()
    -- the secret in a header value, a bad field elsewhere: not echoed back
    raises(rds{ headers = { { "X-Secret", SECRET }, { "Bad Name", TOKEN } },
                session_token = TOKEN })
    raises(rds{ session_token = TOKEN, region = TOKEN .. " " })
    raises(rds{ access_key_id = SECRET .. "," })
  end)
end)
