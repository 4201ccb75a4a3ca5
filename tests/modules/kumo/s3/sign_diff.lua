--- The kumo side of the S3 request differential (sign_diff.py is botocore's):
-- S3 calls through the normal client, captured by a session transport (no
-- network), printed as JSON lines { case, op, params, settings, method, url, headers }.
-- Usage: kumo run tests/modules/kumo/s3/sign_diff.lua | python3 tests/modules/kumo/s3/sign_diff.py
local aws = require "kumo.aws"
local json = require "kumo.json"

local KEYS = {
  "plain.txt", "a b c", "a+b", "tilde~key", "ünïcødé/ファイル", "a//b", "./x", "../y",
  "a/./b/../c", "/leading", "trailing/", "%41%2F", "x?y#z&w=v", "semi;colon,comma", "star*(paren)",
  "quote'\"", "sp ace/+plus/~tilde", ".", "..", "a/..", "emoji-😀",
}
local BUCKETS = { "kumo-bucket", "my.dotted.bucket" }
local SETUPS = {
  { name = "aws-us-west-2-auto", region = "us-west-2" },
  { name = "aws-us-east-1-auto", region = "us-east-1" },
  { name = "aws-path", region = "eu-west-1", s3 = { addressing_style = "path" } },
  { name = "aws-virtual", region = "ap-northeast-1", s3 = { addressing_style = "virtual" } },
  { name = "local-auto", region = "us-west-2", endpoint_url = "http://localhost:9000" },
  { name = "local-virtual", region = "us-west-2", endpoint_url = "http://localhost:9000",
    s3 = { addressing_style = "virtual" } },
  { name = "local-ip", region = "us-west-2", endpoint_url = "http://127.0.0.1:9000" },
}

local captured
local function transport(hreq)
  captured = hreq
  return { status = 200, headers = {}, header_list = {}, body = "" }
end

local creds = { access_key_id = "AKIDEXAMPLE", secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" }
for _, setup in ipairs(SETUPS) do
  for _, calc in ipairs{ "when_required", "when_supported" } do
    -- over https botocore sends a streaming body's checksum in an aws-chunked
    -- trailer (kumo sends it in a header): compare when_supported over http only
    if calc == "when_required" or setup.endpoint_url then
      local s = aws.session{ region = setup.region, credentials = creds, endpoint_url = setup.endpoint_url,
        s3 = setup.s3, transport = transport, request_checksum_calculation = calc,
        response_checksum_validation = calc, retry_mode = "standard", max_attempts = 1,
        env = {} }
      local s3 = s:client("s3")
      for _, bucket in ipairs(BUCKETS) do
        for _, key in ipairs(KEYS) do
          local calls = {
            { "PutObject", { Bucket = bucket, Key = key, Body = "hello " .. key } },
            { "GetObject", { Bucket = bucket, Key = key } },
            { "DeleteObject", { Bucket = bucket, Key = key, VersionId = "v 1+2" } },
          }
          if key == KEYS[1] then
            calls[#calls + 1] = { "ListObjectsV2", { Bucket = bucket, Prefix = "a b/+~ü", Delimiter = "/" } }
            calls[#calls + 1] = { "GetBucketLocation", { Bucket = bucket } }
            calls[#calls + 1] = { "DeleteObjects", { Bucket = bucket,
              Delete = { Objects = { { Key = "k1" }, { Key = "k 2" } } } } }
          end
          for _, call in ipairs(calls) do
            captured = nil
            local ok, err = pcall(s3.call, s3, call[1], call[2])
            print(json.encode{ case = setup.name .. "/" .. calc .. "/" .. bucket .. "/" .. key .. "/" .. call[1],
              op = call[1], params = call[2], region = setup.region, endpoint_url = setup.endpoint_url or json.null,
              s3 = setup.s3 or json.null, calc = calc,
              error = (not ok) and tostring(err) or json.null,
              method = captured and captured.method or json.null, url = captured and captured.url or json.null,
              headers = captured and captured.headers or json.null, body = captured and captured.body or json.null })
          end
        end
      end
    end
  end
end

-- presigned URLs at a fixed time (botocore's generate_presigned_url)
local presign = require "kumo.s3.presign"
local T = 1700000000
for _, setup in ipairs(SETUPS) do
  local s = aws.session{ region = setup.region, credentials = creds, endpoint_url = setup.endpoint_url,
    s3 = setup.s3, env = {} }
  local s3 = s:client("s3")
  for _, bucket in ipairs(BUCKETS) do
    for _, key in ipairs(KEYS) do
      for _, op in ipairs{ "GetObject", "PutObject" } do
        local params = { Bucket = bucket, Key = key }
        local ok, url = pcall(presign.url, s3, op, params, { expires = 900, time = T })
        print(json.encode{ case = "presign/" .. setup.name .. "/" .. bucket .. "/" .. key .. "/" .. op,
          presign = true, op = op, params = params, region = setup.region,
          endpoint_url = setup.endpoint_url or json.null, s3 = setup.s3 or json.null, calc = "when_supported",
          time = T, error = (not ok) and tostring(url) or json.null, url = ok and url or json.null })
      end
    end
  end
end
