-- kumo.errors: the error objects of AWS calls.
local errors = require "kumo.errors"

describe("kumo.errors", function()
  it("formats a service error with service, operation, code, status and request id", function()
    local e = errors.new{ code = "DBProxyNotFoundFault", message = "DBProxy orders not found.",
      http_status = 404, request_id = "8f1c-22", service = "rds", operation = "DescribeDBProxies" }
    assert.are.equal("rds DescribeDBProxies: DBProxyNotFoundFault: DBProxy orders not found. "
      .. "(HTTP 404, request id 8f1c-22)", tostring(e))
    assert.is_true(errors.is(e))
    assert.is_true(errors.has_code(e, "DBProxyNotFoundFault"))
    assert.is_false(errors.has_code(e, "Other"))
    assert.is_false(errors.is({ code = "x" }))
  end)

  it("formats transport and malformed-response errors", function()
    local t = errors.new{ kind = "transport", code = "CURLE_COULDNT_CONNECT",
      message = "POST http://127.0.0.1:1/: Couldn't connect", service = "sts",
      operation = "GetCallerIdentity", attempts = 3 }
    assert.are.equal("sts GetCallerIdentity: transport error: POST http://127.0.0.1:1/: "
      .. "Couldn't connect [CURLE_COULDNT_CONNECT] (3 attempts)", tostring(t))
    local p = errors.new{ kind = "parse", code = "MalformedResponse", message = "xml: line 1, column 4: bad",
      http_status = 200, service = "rds", operation = "DescribeDBProxies" }
    assert.are.equal("rds DescribeDBProxies: malformed response: xml: line 1, column 4: bad (HTTP 200)",
      tostring(p))
  end)

  it("does not repeat the operation in validation messages", function()
    local v = errors.new{ kind = "validation", service = "rds", operation = "CreateDBProxy",
      message = "CreateDBProxy: Auth[1].IAMAuth: expected one of REQUIRED, DISABLED, ENABLED" }
    assert.are.equal("rds CreateDBProxy: Auth[1].IAMAuth: expected one of REQUIRED, DISABLED, ENABLED",
      tostring(v))
  end)

  it("redacts signatures, tokens and secrets echoed in messages", function()
    local e = errors.new{ code = "SignatureDoesNotMatch", service = "sts", operation = "X",
      message = "Authorization: AWS4-HMAC-SHA256 Credential=AKIA/x, SignedHeaders=host, "
        .. "Signature=0123456789abcdef0123456789abcdef X-Amz-Security-Token: FQoGZXIvYXdzEBAaDK+/= "
        .. "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG" }
    local s = tostring(e)
    assert.is_nil(s:find("0123456789abcdef", 1, true))
    assert.is_nil(s:find("FQoGZXIvYXdzEBAaDK", 1, true))
    assert.is_nil(s:find("wJalrXUtnFEMI", 1, true))
    assert.truthy(s:find("Signature=<redacted>", 1, true))
  end)

  it("finds the request id in headers or in an XML error body", function()
    assert.are.equal("h-1", errors.request_id{ headers = { ["x-amzn-requestid"] = "h-1" } })
    assert.are.equal("b-2", errors.request_id{ headers = {},
      body = "<Response><Errors/><RequestID>b-2</RequestID></Response>" })
    assert.is_nil(errors.request_id{ headers = {}, body = "{}" })
  end)

  it("reads a body's request id as XML (the one reader), not as text that looks like it", function()
    -- entities decoded, as any XML reader gives the value
    assert.are.equal("a&b", errors.request_id{ headers = {},
      body = "<ErrorResponse><RequestId>a&amp;b</RequestId></ErrorResponse>" })
    -- a commented-out element is no element
    assert.are.equal("real", errors.request_id{ headers = {},
      body = "<Response><!-- <RequestID>fake</RequestID> --><RequestID>real</RequestID></Response>" })
    -- malformed XML names no request id
    assert.is_nil(errors.request_id{ headers = {}, body = "<Response><RequestID>x</RequestID>" })
  end)

  it("raises error objects as values with errors.raise", function()
    local ok, e = pcall(errors.raise, { code = "X", message = "m" })
    assert.is_false(ok)
    assert.is_true(errors.is(e))
    assert.are.equal("service", e.kind)
  end)

  it("words retries that ran out as AWS's doing, with attempts and time", function()
    local e = errors.new{ code = "Throttling", message = "Rate exceeded", http_status = 400,
      service = "ram", operation = "GetResourceShares", attempts = 8, elapsed = 61.2,
      retries_exhausted = true, throttled = true, throttling = true, retryable = true }
    assert.are.equal("ram:GetResourceShares: AWS throttled the call (Throttling: Rate exceeded) "
      .. "— 8 attempts over 61 s", tostring(e))
    local u = errors.new{ kind = "transport", code = "CURLE_RECV_ERROR", message = "connection reset",
      service = "ec2", operation = "DescribeSubnets", attempts = 3, elapsed = 2.25,
      retries_exhausted = true, unavailable = true, retry_quota_exhausted = true, request_id = "r-9" }
    assert.are.equal("ec2:DescribeSubnets: AWS was unavailable (transport error: connection reset "
      .. "[CURLE_RECV_ERROR]) — 3 attempts over 2.2 s (client-side retry quota exhausted); last request id r-9",
      tostring(u))
  end)

  it("tells transient failures from real answers (errors.is_transient)", function()
    assert.is_true(errors.is_transient(errors.new{ code = "Throttling", throttling = true }))
    assert.is_true(errors.is_transient(errors.new{ code = "X", retries_exhausted = true, unavailable = true }))
    assert.is_true(errors.is_transient(errors.new{ kind = "transport", code = "CURLE_COULDNT_CONNECT" }))
    assert.is_true(errors.is_transient(errors.new{ code = "InternalFailure", http_status = 500, retryable = true }))
    assert.is_false(errors.is_transient(errors.new{ code = "DBProxyNotFoundFault", http_status = 404,
      retryable = false, throttling = false }))
    assert.is_false(errors.is_transient(errors.new{ kind = "validation", code = "ValidationError" }))
    assert.is_false(errors.is_transient({ throttling = true })) -- not a kumo error
    assert.is_false(errors.is_transient("Throttling"))
  end)
end)
