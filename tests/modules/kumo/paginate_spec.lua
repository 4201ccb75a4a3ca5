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
  it("resumes from a token as botocore's build_full_result writes it (max_items inside a page)", function()
    local paginate = require "kumo.paginate"
    local rds, t = client{ page({ "a", "b" }, "m1"), page({ "c", "d" }, "m2"), page({ "e" }) }
    local names, resume = {}, nil
    for p, r in rds:paginate("DescribeDBProxies", {}, { max_items = 3 }) do
      for _, px in ipairs(p.DBProxies) do names[#names + 1] = px.DBProxyName end
      resume = r or resume
    end
    assert.are.same({ "a", "b", "c" }, names)
    -- the second page was asked with Marker=m1 and one of its items given
    assert.are.equal(paginate.encode_token({ "Marker" }, { Marker = "m1" }, 1), resume)
    assert.are.equal('{"Marker": "m1", "boto_truncate_amount": 1}',
      require("kumo.crypto").base64_decode(resume))
    local rds2, t2 = client{ page({ "c", "d" }, "m2"), page({ "e" }) }
    names = {}
    for p, r in rds2:paginate("DescribeDBProxies", {}, { resume = resume, max_items = 1 }) do
      for _, px in ipairs(p.DBProxies) do names[#names + 1] = px.DBProxyName end
      resume = r
    end
    assert.are.same({ "d" }, names)
    assert.truthy(t2.requests[1]:find("Marker=m1", 1, true))
    -- a page boundary: the next token is the page's output token, no truncation
    assert.are.equal('{"Marker": "m2"}', require("kumo.crypto").base64_decode(resume))
    assert.are.equal(2, #t.requests)
  end)

  it("encodes and decodes resume tokens byte for byte as botocore's TokenEncoder", function()
    local paginate = require "kumo.paginate"
    local cases = {
      { names = { "Marker" }, values = { Marker = "abc/def+g==" }, py = '{"Marker": "abc/def+g=="}' },
      { names = { "Marker" }, values = {}, trunc = 2, py = '{"Marker": None, "boto_truncate_amount": 2}' },
      { names = { "NextToken" }, values = { NextToken = 'q"\\\n\tx\1\127é€😀' },
        py = '{"NextToken": "q\\"\\\\\\n\\tx\\x01\\x7f\\u00e9\\u20ac\\U0001F600"}' },
      { names = { "ExclusiveStartKey" }, values = { ExclusiveStartKey = { id = { S = "k1" }, at = { N = "3" } } },
        trunc = 1, py = '{"ExclusiveStartKey": {"at": {"N": "3"}, "id": {"S": "k1"}}, "boto_truncate_amount": 1}' },
      { names = { "Marker", "NextToken" }, values = { NextToken = "t" },
        py = '{"Marker": None, "NextToken": "t"}' },
    }
    local py = { "import json, base64\nfrom botocore.paginate import TokenEncoder\n" }
    for _, c in ipairs(cases) do py[#py + 1] = "print(TokenEncoder().encode(" .. c.py .. "))\n" end
    local script = os.tmpname()
    local f = assert(io.open(script, "w")); f:write(table.concat(py)); f:close()
    local out = assert(io.popen("python3 " .. script)):read("a")
    os.remove(script)
    local want = {}
    for line in out:gmatch("[^\n]+") do want[#want + 1] = line end
    assert.are.equal(#cases, #want, out)
    for i, c in ipairs(cases) do
      local tok = paginate.encode_token(c.names, c.values, c.trunc)
      assert.are.equal(want[i], tok, "case " .. i)
      local back, skip = paginate.decode_token(c.names, want[i])
      assert.are.same(c.values, back, "case " .. i)
      assert.are.equal(c.trunc or 0, skip)
    end
    -- botocore's older form, and an opaque service token passed through
    local v, skip = paginate.decode_token({ "Marker" }, "m7___3")
    assert.are.same({ Marker = "m7" }, v); assert.are.equal(3, skip)
    v, skip = paginate.decode_token({ "Marker" }, "opaque-token")
    assert.are.same({ Marker = "opaque-token" }, v); assert.are.equal(0, skip)
    local ok, e = pcall(paginate.decode_token, { "Marker" },
      require("kumo.crypto").base64_encode('{"NextToken": "x"}'))
    assert.is_false(ok)
    assert.truthy(tostring(e):find("does not use (it uses Marker)", 1, true), tostring(e))
  end)
end)
