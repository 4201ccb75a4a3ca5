-- kumo's S3 customizations at unit level (a session transport stands in
-- for the network; the end-to-end specs use the sandbox): settings, the
-- region redirect, 200-with-error bodies, response checksums, the
-- streaming options' checks, and the request differential against botocore
-- (tests/modules/kumo/s3/sign_diff.{lua,py}).
local aws = require "kumo.aws"
local crypto = require "kumo.crypto"
local settings = require "kumo.s3.settings"
local checksum = require "kumo.s3.checksum"

local ROOT = os.getenv("KUMO_ROOT") or "."
local CREDS = { access_key_id = "AKIDEXAMPLE", secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" }

local function header(h, name)
  for _, kv in ipairs(h) do if kv[1]:lower() == name then return kv[2] end end
  return nil
end

-- a client whose requests go to `answer(req, n)` (n: the request's number)
local function client_with(answer, extra)
  local sent = {}
  local opts = { region = "us-west-2", credentials = CREDS, env = {}, retry_mode = "standard",
    sleep = function() end,
    transport = function(req)
      sent[#sent + 1] = req
      local res = answer(req, #sent)
      res.headers = res.headers or {}
      res.header_list = res.header_list or {}
      res.body = res.body or ""
      return res
    end }
  for k, v in pairs(extra or {}) do opts[k] = v end
  return aws.session(opts):client("s3"), sent
end

local function b64crc32(s) return crypto.base64_encode(string.pack(">I4", crypto.crc32(s))) end

describe("kumo.s3 settings", function()
  it("reads the profile's s3 sub-section, the environment and the options in botocore's order", function()
    local dir = os.tmpname()
    local f = assert(io.open(dir, "w"))
    f:write("[default]\nregion = eu-west-1\nrequest_checksum_calculation = when_required\n",
      "s3 =\n  addressing_style = path\n  use_arn_region = false\n")
    f:close()
    local s = aws.session{ config_file = dir, credentials_file = "/nonexistent", env = {}, credentials = CREDS }
    local st = settings.of(s:client("s3"))
    assert.are.equal("path", st.addressing_style)
    assert.is_false(st.use_arn_region)
    assert.are.equal("when_required", st.request_checksum_calculation)
    assert.are.equal("when_supported", st.response_checksum_validation)
    local s2 = aws.session{ config_file = dir, credentials_file = "/nonexistent", credentials = CREDS,
      env = { AWS_REQUEST_CHECKSUM_CALCULATION = "WHEN_SUPPORTED" }, s3 = { addressing_style = "virtual" } }
    local st2 = settings.of(s2:client("s3"))
    assert.are.equal("virtual", st2.addressing_style)
    assert.are.equal("when_supported", st2.request_checksum_calculation)
    local ok, err = pcall(settings.of, aws.session{ config_file = dir, credentials_file = "/nonexistent",
      env = {}, credentials = CREDS, s3 = { addressing_style = "sideways" } }:client("s3"))
    assert.is_false(ok)
    assert.matches("addressing_style = \"sideways\": use one of auto, path, virtual", err)
    os.remove(dir)
  end)

  it("sends path style for an IP endpoint and virtual hosts for AWS", function()
    local s3, sent = client_with(function() return { status = 200 } end)
    s3:GetObject{ Bucket = "kumo-bucket", Key = "a b" }
    assert.are.equal("https://kumo-bucket.s3.us-west-2.amazonaws.com/a%20b", sent[1].url)
    s3:GetBucketLocation{ Bucket = "kumo-bucket" }  -- botocore: always path style
    assert.are.equal("https://s3.us-west-2.amazonaws.com/kumo-bucket?location", sent[2].url)
    local s3b, sentb = client_with(function() return { status = 200 } end,
      { endpoint_url = "http://127.0.0.1:9000" })
    s3b:GetObject{ Bucket = "kumo-bucket", Key = "k" }
    assert.are.equal("http://127.0.0.1:9000/kumo-bucket/k", sentb[1].url)
  end)
end)

describe("kumo.s3 answers", function()
  it("follows a 301 with x-amz-bucket-region once, re-signed for that region, and remembers it", function()
    local s3, sent = client_with(function(req, n)
      if n == 1 then
        return { status = 301, headers = { ["x-amz-bucket-region"] = "eu-central-1" },
          body = "<Error><Code>PermanentRedirect</Code><Message>moved</Message></Error>" }
      end
      return { status = 200, body = "" }
    end)
    s3:HeadObject{ Bucket = "kumo-bucket", Key = "k" }
    assert.are.equal(2, #sent)
    assert.are.equal("https://kumo-bucket.s3.eu-central-1.amazonaws.com/k", sent[2].url)
    assert.matches("/eu%-central%-1/s3/aws4_request", header(sent[2].headers, "authorization"))
    s3:GetObject{ Bucket = "kumo-bucket", Key = "k2" }
    assert.are.equal("https://kumo-bucket.s3.eu-central-1.amazonaws.com/k2", sent[3].url)
  end)

  it("follows AuthorizationHeaderMalformed's <Region> and stops after one redirect", function()
    local s3, sent = client_with(function(_, n)
      local region = n == 1 and "ap-south-1" or "sa-east-1"
      return { status = 400, body = "<Error><Code>AuthorizationHeaderMalformed</Code><Message>wrong region"
        .. "</Message><Region>" .. region .. "</Region></Error>" }
    end, { max_attempts = 1 })
    local _, e = s3:try("GetObject", { Bucket = "kumo-bucket", Key = "k" })
    assert.are.equal("AuthorizationHeaderMalformed", e.code)
    assert.are.equal(2, #sent)
    assert.matches("ap%-south%-1", sent[2].url)
  end)

  it("takes the error's own <Region> as XML reads it (a commented or nested one is not it)", function()
    local s3, sent = client_with(function(_, n)
      if n == 1 then
        return { status = 400, body = "<Error><Code>AuthorizationHeaderMalformed</Code>"
          .. "<!-- <Region>us-west-2</Region> --><Detail><Region>eu-west-1</Region></Detail>"
          .. "<Message>wrong region</Message><Region>ap-south-1</Region></Error>" }
      end
      return { status = 200, body = "" }
    end)
    s3:HeadObject{ Bucket = "kumo-bucket", Key = "k" }
    assert.are.equal(2, #sent)
    assert.matches("ap%-south%-1", sent[2].url)
  end)

  it("treats CompleteMultipartUpload's 200 with an <Error> body as a retried server error", function()
    local s3, sent = client_with(function(_, n)
      if n == 1 then
        return { status = 200, body = "<?xml version=\"1.0\"?>\n<Error><Code>InternalError</Code>"
          .. "<Message>try again</Message></Error>" }
      end
      return { status = 200, body = "<CompleteMultipartUploadResult><ETag>\"e\"</ETag>"
        .. "</CompleteMultipartUploadResult>" }
    end)
    local out = s3:CompleteMultipartUpload{ Bucket = "kumo-bucket", Key = "k", UploadId = "u",
      MultipartUpload = { Parts = { { ETag = "\"p\"", PartNumber = 1 } } } }
    assert.are.equal(2, #sent)
    assert.are.equal("\"e\"", out.ETag)
  end)

  it("reads GetBucketLocation's bare root (empty for us-east-1)", function()
    local body = "<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">eu-west-1</LocationConstraint>"
    local s3 = client_with(function() return { status = 200, body = body } end)
    assert.are.equal("eu-west-1", s3:GetBucketLocation{ Bucket = "kumo-bucket" }.LocationConstraint)
    body = "<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>"
    assert.is_nil(s3:GetBucketLocation{ Bucket = "kumo-bucket" }.LocationConstraint)
  end)

  it("checks a body against its checksum: a mismatch is ChecksumMismatch; composite ones are skipped", function()
    local body, sum = "the body", b64crc32("the body")
    local s3, sent = client_with(function(_, n)
      if n == 1 then return { status = 200, body = body, headers = { ["x-amz-checksum-crc32"] = sum } } end
      if n == 2 then return { status = 200, body = body .. "!", headers = { ["x-amz-checksum-crc32"] = sum } } end
      return { status = 200, body = body .. "!", headers = { ["x-amz-checksum-crc32"] = sum .. "-3",
        etag = "\"abc-3\"" } }
    end)
    local out = s3:GetObject{ Bucket = "kumo-bucket", Key = "k" }
    assert.are.equal("CRC32", out.ChecksumValidated)
    assert.are.equal("ENABLED", header(sent[1].headers, "x-amz-checksum-mode"))
    local _, e = s3:try("GetObject", { Bucket = "kumo-bucket", Key = "k" })
    assert.are.equal("ChecksumMismatch", e.code)
    assert.matches("CRC32", e.message)
    assert.is_nil(s3:GetObject{ Bucket = "kumo-bucket", Key = "k" }.ChecksumValidated)
  end)

  it("with when_required, sends no checksum it is not asked for and checks none", function()
    local s3, sent = client_with(function(req)
      if req.method ~= "GET" then return { status = 200 } end
      return { status = 200, body = "x", headers = { ["x-amz-checksum-crc32"] = "AAAAAA==" } }
    end, { request_checksum_calculation = "when_required", response_checksum_validation = "when_required" })
    s3:PutObject{ Bucket = "kumo-bucket", Key = "k", Body = "data" }
    assert.is_nil(header(sent[1].headers, "x-amz-checksum-crc32"))
    assert.is_nil(s3:GetObject{ Bucket = "kumo-bucket", Key = "k" }.ChecksumValidated)
    s3:DeleteObjects{ Bucket = "kumo-bucket", Delete = { Objects = { { Key = "a" } } } }  -- required
    assert.is_string(header(sent[3].headers, "x-amz-checksum-crc32"))
  end)

  it("computes CRC32C, SHA1 and SHA256 request checksums", function()
    local s3, sent = client_with(function() return { status = 200 } end)
    for _, alg in ipairs{ "CRC32C", "SHA1", "SHA256" } do
      s3:PutObject{ Bucket = "kumo-bucket", Key = "k", Body = "123456789", ChecksumAlgorithm = alg }
    end
    assert.are.equal(crypto.base64_encode(string.pack(">I4", 0xE3069283)), header(sent[1].headers, "x-amz-checksum-crc32c"))
    assert.are.equal(crypto.base64_encode(crypto.sha1("123456789")), header(sent[2].headers, "x-amz-checksum-sha1"))
    assert.are.equal(crypto.base64_encode(crypto.sha256("123456789")), header(sent[3].headers, "x-amz-checksum-sha256"))
    local _, e = s3:try("PutObject", { Bucket = "kumo-bucket", Key = "k", Body = "x", ChecksumAlgorithm = "CRC64NVME" })
    assert.matches("CRC64NVME", e.message)
  end)

  it("checks the streaming options and signs UNSIGNED-PAYLOAD only over TLS with a checksum", function()
    local path = os.tmpname()
    local f = assert(io.open(path, "wb"))
    f:write(("z"):rep(1000))
    f:close()
    local s3, sent = client_with(function() return { status = 200 } end)
    s3:PutObject({ Bucket = "kumo-bucket", Key = "k" }, { upload = { path = path, offset = 10, length = 100 } })
    assert.are.same({ path = path, offset = 10, length = 100 }, sent[1].upload)
    assert.are.equal("UNSIGNED-PAYLOAD", header(sent[1].headers, "x-amz-content-sha256"))
    assert.are.equal(b64crc32(("z"):rep(100)), header(sent[1].headers, "x-amz-checksum-crc32"))
    local s3h, senth = client_with(function() return { status = 200 } end, { endpoint_url = "http://127.0.0.1:1" })
    s3h:PutObject({ Bucket = "kumo-bucket", Key = "k" }, { upload = { path = path } })
    assert.are.equal(crypto.sha256_hex(("z"):rep(1000)), header(senth[1].headers, "x-amz-content-sha256"))
    local _, e = s3:try("ListBuckets", {}, { upload = { path = path } })
    assert.matches("streaming body", e.message)
    _, e = s3:try("PutObject", { Bucket = "b12", Key = "k", Body = "x" }, { upload = { path = path } })
    assert.matches("not both", e.message)
    _, e = s3:try("PutObject", { Bucket = "b12", Key = "k" }, { upload = { path = path, length = 2000 } })
    assert.matches("do not fit", e.message)
    local iam = aws.session{ region = "us-east-1", credentials = CREDS, env = {} }:client("iam")
    _, e = iam:try("ListUsers", {}, { download = "/tmp/x" })
    assert.matches("for S3 calls", e.message)
    os.remove(path)
  end)

  it("picks the response checksum in botocore's priority order", function()
    local op = { httpChecksum = { responseAlgorithms = { "CRC32", "CRC32C", "SHA256", "SHA1" } } }
    assert.are.equal("crc32c", (checksum.response_algorithm(op, { ["x-amz-checksum-crc32"] = "a",
      ["x-amz-checksum-crc32c"] = "b" })))
    assert.are.equal("sha1", (checksum.response_algorithm(op, { ["x-amz-checksum-sha256"] = "a",
      ["x-amz-checksum-sha1"] = "b" })))
    assert.is_nil(checksum.response_algorithm(op, { ["x-amz-checksum-crc32"] = "a",
      ["x-amz-checksum-type"] = "COMPOSITE" }))
  end)
end)

describe("kumo.s3 against botocore", function()
  it("builds and signs every request and presigned URL of the differential as botocore does", function()
    local cmd = string.format("%s/bin/kumo run %s/tests/modules/kumo/s3/sign_diff.lua | python3 "
      .. "%s/tests/modules/kumo/s3/sign_diff.py 2>&1", ROOT, ROOT, ROOT)
    local p = assert(io.popen(cmd))
    local out = p:read("a")
    p:close()
    local ok_n = select(2, out:gsub("\nok ", "\nok "))
    local bad = {}
    for line in out:gmatch("not ok [^\n]*\n#[^\n]*") do bad[#bad + 1] = line end
    print("# " .. (out:match("# (%d+ of %d+ S3 requests agree[^\n]*)") or "no summary"))
    assert.are.same({}, bad)
    assert.is_true(ok_n >= 1900, "the differential ran (" .. ok_n .. " cases)")
  end)
end)
