-- kumo.call.classify: an attempt's answer as output or error object.
local prepare = require "kumo.call.prepare"
local classify = require "kumo.call.classify"
local H = require "tests.modules.kumo.call.helpers"

local OK = [[<DescribeDBProxiesResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/">
<DescribeDBProxiesResult><DBProxies><member><DBProxyName>p1</DBProxyName></member></DBProxies>
</DescribeDBProxiesResult><ResponseMetadata><RequestId>req-ok</RequestId></ResponseMetadata>
</DescribeDBProxiesResponse>]]

local rds = H.session():client("rds")
local p = prepare.call(rds, rds:operation("DescribeDBProxies"), {})

describe("kumo.call.classify", function()
  it("parses a 2xx into the output with ResponseMetadata", function()
    local out, err = classify.response(rds, p, 3, { status = 200, headers = {}, body = OK })
    assert.is_nil(err)
    assert.are.equal("p1", out.DBProxies[1].DBProxyName)
    assert.are.equal("req-ok", out.ResponseMetadata.RequestId)
    assert.are.equal(2, out.ResponseMetadata.RetryAttempts)
  end)

  it("reads a service error with code, status and request id, unjudged", function()
    local out, err = classify.response(rds, p, 1, { status = 400, headers = {},
      body = H.query_error("Throttling", "Rate exceeded") })
    assert.is_nil(out)
    assert.are.equal("service", err.kind)
    assert.are.equal("Throttling", err.code)
    assert.are.equal(400, err.http_status)
    assert.are.equal("req-err", err.request_id)
    assert.is_nil(err.throttling)           -- the retry decision says what throttling is
    assert.is_nil(err.retryable)
  end)

  it("keeps an unreadable error body's status and start", function()
    local _, err = classify.response(rds, p, 1, { status = 502, headers = {}, body = "<html>Bad   gateway</html>" })
    assert.are.equal("502", err.code)
    assert.truthy(err.message:find("unreadable error response", 1, true))
    assert.truthy(err.message:find("<html>Bad gateway</html>", 1, true), err.message)
  end)

  it("makes a transport failure a transport error", function()
    local _, err = classify.response(rds, p, 1, nil, "Operation timed out", "CURLE_OPERATION_TIMEDOUT")
    assert.are.equal("transport", err.kind)
    assert.are.equal("CURLE_OPERATION_TIMEDOUT", err.code)
    assert.are.equal("DescribeDBProxies", err.operation)
  end)

  it("reports a 2xx it cannot parse as MalformedResponse", function()
    local _, err = classify.response(rds, p, 1, { status = 200, headers = {}, body = "<DescribeDBProxiesResponse>" })
    assert.are.equal("parse", err.kind)
    assert.are.equal("MalformedResponse", err.code)
  end)
end)
