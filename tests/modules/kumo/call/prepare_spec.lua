-- kumo.call.prepare: the once-per-call stage (options, validation,
-- serialization, URL, settings), no attempt made.
local prepare = require "kumo.call.prepare"
local errors = require "kumo.errors"
local H = require "tests.modules.kumo.call.helpers"

local function raised(fn)
  local ok, e = pcall(fn)
  assert.is_false(ok)
  assert.is_true(errors.is(e), tostring(e))
  return e
end

describe("kumo.call.prepare", function()
  it("serializes once into the URL, body and unsigned headers", function()
    local rds = H.session():client("rds")
    local p = prepare.call(rds, rds:operation("DescribeDBProxies"), { DBProxyName = "p1" })
    assert.are.equal("DescribeDBProxies", p.op)
    assert.are.equal("POST", p.method)
    assert.are.equal("https://rds.ap-northeast-1.amazonaws.com/", p.url)
    assert.are.equal("Action=DescribeDBProxies&Version=2014-10-31&DBProxyName=p1", p.body)
    assert.are.equal("rds.ap-northeast-1.amazonaws.com", H.header(p.headers, "Host"))
    assert.truthy(H.header(p.headers, "User-Agent"):match("^kumo/%S+ lua/5%.4$"))
    assert.is_nil(H.header(p.headers, "Authorization"))   -- signing is per attempt
    assert.is_false(p.unsigned)
    assert.are.equal(rds:retry_policy(), p.policy)
  end)

  it("layers timeouts: call over client over session", function()
    local s = H.session(nil, { timeout = 30, connect_timeout = 5 })
    local c = s:client("rds", { timeout = 20 })
    local p = prepare.call(c, c:operation("DescribeDBProxies"), {}, { timeout = 10 })
    assert.are.equal(10, p.timeout)
    assert.are.equal(5, p.connect_timeout)
    p = prepare.call(c, c:operation("DescribeDBProxies"), {})
    assert.are.equal(20, p.timeout)
  end)

  it("builds a per-call policy only when the call overrides retries", function()
    local rds = H.session():client("rds")
    local p = prepare.call(rds, rds:operation("DescribeDBProxies"), {}, { max_attempts = 7 })
    assert.are.equal(7, p.policy.max_attempts)
    assert.are_not.equal(rds:retry_policy(), p.policy)
    assert.are.equal(rds:retry_policy().quota, p.policy.quota)   -- one bucket per endpoint
  end)

  it("names an unknown call option and the near one", function()
    local rds = H.session():client("rds")
    local e = raised(function() prepare.call(rds, rds:operation("DescribeDBProxies"), {}, { timeuot = 1 }) end)
    assert.are.equal("UnknownOption", e.code)
    assert.truthy(e.message:find('"timeuot"', 1, true) and e.message:find("timeout", 1, true), e.message)
  end)

  it("refuses parameters that are not a table, and invalid ones, before any attempt", function()
    local rds = H.session():client("rds")
    local e = raised(function() prepare.call(rds, rds:operation("DescribeDBProxies"), "p1") end)
    assert.are.equal("InvalidParameters", e.code)
    e = raised(function() prepare.call(rds, rds:operation("DescribeDBProxies"), { MaxRecords = "x" }) end)
    assert.are.equal("ValidationError", e.code)
    assert.truthy(e.message:find("MaxRecords", 1, true), e.message)
    -- validate = false lets it through to the serializer
    local p = prepare.call(rds, rds:operation("DescribeDBProxies"), { DBProxyName = "p" }, { validate = false })
    assert.truthy(p.body:find("DBProxyName=p", 1, true))
  end)

  it("marks operations the model says are unsigned", function()
    local sts = H.session():client("sts")
    local p = prepare.call(sts, sts:operation("AssumeRoleWithSAML"), { RoleArn = "arn:aws:iam::111111111111:role/r",
      PrincipalArn = "arn:aws:iam::111111111111:saml-provider/idp", SAMLAssertion = string.rep("A", 8) })
    assert.is_true(p.unsigned)
  end)

  it("percent-encodes the query string of REST requests", function()
    local url = prepare.url({ scheme = "https", authority = "h.example", path = "" },
      { path = "/a b", query = { { "k", "v/1" }, { "flag" } } })
    assert.are.equal("https://h.example/a b?k=v%2F1&flag", url)
  end)
end)
