-- kumo.paginate: pages from paginators-1 data (fake transport, real client).
local aws = require "kumo.aws"
local errors = require "kumo.errors"

local CREDS = { access_key_id = "AKIAUNITTEST00000001", secret_access_key = "unit-secret-key" }

local function page(names, marker)
  local m = {}
  for _, n in ipairs(names) do m[#m + 1] = "<member><DBProxyName>" .. n .. "</DBProxyName></member>" end
  return "<DescribeDBProxiesResponse><DescribeDBProxiesResult><DBProxies>" .. table.concat(m)
    .. "</DBProxies>" .. (marker and ("<Marker>" .. marker .. "</Marker>") or "")
    .. "</DescribeDBProxiesResult></DescribeDBProxiesResponse>"
end

local function client(pages)
  local t = { requests = {} }
  local s = aws.session{ region = "us-east-1", credentials = CREDS, env = {},
    config_file = "/nonexistent", credentials_file = "/nonexistent", random = function() return 0 end,
    transport = function(req)
      t.requests[#t.requests + 1] = req.body
      return { status = 200, headers = {}, body = pages[#t.requests] or pages[#pages] }
    end }
  return s:client("rds"), t
end

describe("kumo.paginate", function()
  it("follows the output token across pages until it is absent", function()
    local rds, t = client{ page({ "a", "b" }, "m1"), page({ "c" }, "m2"), page({ "d" }) }
    local got = {}
    for p in rds:paginate("DescribeDBProxies", {}) do
      for _, px in ipairs(p.DBProxies) do got[#got + 1] = px.DBProxyName end
    end
    assert.are.same({ "a", "b", "c", "d" }, got)
    assert.are.equal(3, #t.requests)
    assert.is_nil(t.requests[1]:find("Marker=", 1, true))
    assert.truthy(t.requests[2]:find("Marker=m1", 1, true))
    assert.truthy(t.requests[3]:find("Marker=m2", 1, true))
  end)

  it("iterates items, with page_size as the limit key and a starting token", function()
    local rds, t = client{ page({ "a", "b" }, "m1"), page({ "c" }) }
    local got = {}
    for px in rds:paginate("DescribeDBProxies", {}, { items = true, page_size = 20, starting_token = "m0" }) do
      got[#got + 1] = px.DBProxyName
    end
    assert.are.same({ "a", "b", "c" }, got)
    assert.truthy(t.requests[1]:find("MaxRecords=20", 1, true))
    assert.truthy(t.requests[1]:find("Marker=m0", 1, true))
  end)

  it("stops at max_items, cutting the last page", function()
    local rds, t = client{ page({ "a", "b" }, "m1"), page({ "c", "d" }, "m2"), page({ "e" }) }
    local names = {}
    for px in rds:paginate("DescribeDBProxies", {}, { items = true, max_items = 3 }) do
      names[#names + 1] = px.DBProxyName
    end
    assert.are.same({ "a", "b", "c" }, names)
    assert.are.equal(2, #t.requests)
    local rds2 = client{ page({ "a", "b" }, "m1"), page({ "c", "d" }, "m2") }
    local sizes = {}
    for p in rds2:paginate("DescribeDBProxies", {}, { max_items = 1 }) do sizes[#sizes + 1] = #p.DBProxies end
    assert.are.same({ 1 }, sizes)
  end)

  it("collects every item with client:all", function()
    local rds, t = client{ page({ "a", "b" }, "m1"), page({ "c" }) }
    local all = rds:all("DescribeDBProxies", {})
    assert.are.equal(3, #all)
    assert.are.equal("c", all[3].DBProxyName)
    assert.are.equal(2, #t.requests)
  end)

  it("stops after max_pages and applies a query to each page", function()
    local rds, t = client{ page({ "a" }, "m1"), page({ "b" }, "m2"), page({ "c" }) }
    local got = {}
    for names in rds:paginate("DescribeDBProxies", {}, { max_pages = 2, query = "DBProxies[].DBProxyName" }) do
      got[#got + 1] = table.concat(names, ",")
    end
    assert.are.same({ "a", "b" }, got)
    assert.are.equal(2, #t.requests)
  end)

  it("raises when the same token comes back twice", function()
    local rds = client{ page({ "a" }, "m1"), page({ "b" }, "m1"), page({ "c" }) }
    local n = 0
    local ok, e = pcall(function() for _ in rds:paginate("DescribeDBProxies", {}) do n = n + 1 end end)
    assert.is_false(ok)
    assert.is_true(errors.is(e))
    assert.are.equal("RepeatedPaginationToken", e.code)
    assert.truthy(tostring(e):find("same next token", 1, true))
    assert.are.equal(1, n)
  end)

  it("does not change the caller's parameters", function()
    local rds = client{ page({ "a" }, "m1"), page({ "b" }) }
    local params = { Filters = nil }
    for _ in rds:paginate("DescribeDBProxies", params) do end
    assert.is_nil(params.Marker)
  end)

  it("ends when more_results is false even with a token", function()
    local ec2_pages = {
      [[<SearchTransitGatewayRoutesResponse><routeSet><item><destinationCidrBlock>10.0.0.0/16</destinationCidrBlock></item></routeSet><additionalRoutesAvailable>true</additionalRoutesAvailable><nextToken>t1</nextToken></SearchTransitGatewayRoutesResponse>]],
      [[<SearchTransitGatewayRoutesResponse><routeSet><item><destinationCidrBlock>10.1.0.0/16</destinationCidrBlock></item></routeSet><additionalRoutesAvailable>false</additionalRoutesAvailable><nextToken>t2</nextToken></SearchTransitGatewayRoutesResponse>]],
    }
    local n = 0
    local s = aws.session{ region = "us-east-1", credentials = CREDS, env = {},
      config_file = "/nonexistent", credentials_file = "/nonexistent",
      transport = function() n = n + 1; return { status = 200, headers = {}, body = ec2_pages[n] } end }
    local got = {}
    for r in s:client("ec2"):paginate("SearchTransitGatewayRoutes",
        { TransitGatewayRouteTableId = "tgw-rtb-1", Filters = {} }, { items = true }) do
      got[#got + 1] = r.DestinationCidrBlock
    end
    assert.are.same({ "10.0.0.0/16", "10.1.0.0/16" }, got)
    assert.are.equal(2, n)
  end)
end)
