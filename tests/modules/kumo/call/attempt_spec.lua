-- kumo.call.attempt: one attempt — credentials, signature, send — and
-- nothing about what the answer means.
local prepare = require "kumo.call.prepare"
local attempt = require "kumo.call.attempt"
local errors = require "kumo.errors"
local H = require "tests.modules.kumo.call.helpers"

describe("kumo.call.attempt", function()
  it("signs with the provider's credentials and returns the raw answer and rate key", function()
    local t = H.scripted{ { status = 503, body = "busy" } }
    local s = H.session(t)
    local rds = s:client("rds")
    local p = prepare.call(rds, rds:operation("DescribeDBProxies"), {})
    local res, msg, code, key = attempt.send(rds, p, s:credentials(), false)
    assert.are.equal(503, res.status)                  -- not judged here
    assert.is_nil(msg)
    assert.is_nil(code)
    assert.are.equal("AKIAUNITTEST00000001/rds/ap-northeast-1", key)
    local auth = H.header(t.requests[1].headers, "Authorization")
    assert.truthy(auth:find("Credential=AKIAUNITTEST00000001/", 1, true), auth)
    assert.is_nil(H.header(p.headers, "Authorization")) -- the prepared headers stay unsigned
  end)

  it("signs every attempt afresh", function()
    local t = H.scripted{ {}, {} }
    local s = H.session(t)
    local rds = s:client("rds")
    local p = prepare.call(rds, rds:operation("DescribeDBProxies"), {})
    attempt.send(rds, p, s:credentials(), false)
    attempt.send(rds, p, s:credentials(), false)
    assert.are_not.equal(t.requests[1].headers, t.requests[2].headers)
    assert.are.equal(#t.requests[1].headers, #t.requests[2].headers)
  end)

  it("sends unsigned operations without asking for credentials", function()
    local t = H.scripted{ {} }
    local s = H.session(t)
    local sts = s:client("sts")
    local p = prepare.call(sts, sts:operation("AssumeRoleWithWebIdentity"), { RoleArn = "arn:aws:iam::1:role/r",
      RoleSessionName = "pod", WebIdentityToken = "token-0123" })
    local asked = false
    local provider = { get = function() asked = true; return H.CREDS end }
    local _, _, _, key = attempt.send(sts, p, provider, false)
    assert.is_false(asked)
    assert.is_nil(H.header(t.requests[1].headers, "Authorization"))
    assert.is_nil(H.header(t.requests[1].headers, "X-Amz-Date"))
    assert.are.equal("anonymous/sts/ap-northeast-1", key)
  end)

  it("returns transport failures as they came", function()
    local t = H.scripted{ { transport_error = "Connection refused", code = "CURLE_COULDNT_CONNECT" } }
    local s = H.session(t)
    local rds = s:client("rds")
    local p = prepare.call(rds, rds:operation("DescribeDBProxies"), {})
    local res, msg, code = attempt.send(rds, p, s:credentials(), false)
    assert.is_nil(res)
    assert.are.equal("Connection refused", msg)
    assert.are.equal("CURLE_COULDNT_CONNECT", code)
  end)

  it("turns a provider failure into a credentials error naming the call", function()
    local rds = H.session(H.scripted{ {} }):client("rds")
    local p = prepare.call(rds, rds:operation("DescribeDBProxies"), {})
    local ok, e = pcall(attempt.send, rds, p, { get = function() error("no keys here", 0) end }, false)
    assert.is_false(ok)
    assert.is_true(errors.is(e))
    assert.are.equal("credentials", e.kind)
    assert.are.equal("DescribeDBProxies", e.operation)
    assert.truthy(e.message:find("no keys here", 1, true))
  end)
end)
