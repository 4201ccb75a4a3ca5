-- kumo.xml: tree shape, mixed text, attributes, limits, errors.
local xml = require "kumo.xml"

describe("kumo.xml", function()
  it("decodes an AWS query response into name/attrs/children/text nodes", function()
    local doc = [[<?xml version="1.0" encoding="UTF-8"?>
<DescribeDBProxiesResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/">
  <DescribeDBProxiesResult>
    <DBProxies>
      <member><DBProxyName>p1</DBProxyName><Status>available</Status></member>
      <member><DBProxyName>p2</DBProxyName></member>
    </DBProxies>
  </DescribeDBProxiesResult>
  <ResponseMetadata><RequestId>abc-123</RequestId></ResponseMetadata>
</DescribeDBProxiesResponse>]]
    local root = assert(xml.decode(doc))
    assert.equal("DescribeDBProxiesResponse", root.name)
    assert.equal("http://rds.amazonaws.com/doc/2014-10-31/", root.attrs.xmlns)
    assert.equal(2, #root.children)
    local proxies = root.children[1].children[1]
    assert.equal("DBProxies", proxies.name)
    assert.equal(2, #proxies.children)
    assert.equal("p1", proxies.children[1].children[1].text)
    assert.equal("available", proxies.children[1].children[2].text)
    assert.equal("p2", proxies.children[2].children[1].text)
    assert.equal("abc-123", root.children[2].children[1].text)
    assert.same({}, proxies.children[2].children[1].children)
    assert.same({}, proxies.children[2].children[1].attrs)
  end)

  it("concatenates the direct text of mixed content and decodes entities", function()
    local root = assert(xml.decode("<a>x<b>in</b>y&amp;<c/>z&#65;<![CDATA[<raw>]]></a>"))
    assert.equal("xy&zA<raw>", root.text)
    assert.equal("in", root.children[1].text)
    assert.equal("", root.children[2].text)
  end)

  it("keeps qualified names as written (no namespace processing)", function()
    local root = assert(xml.decode([[<s:Env xmlns:s="urn:s" s:a="1"><s:Body/></s:Env>]]))
    assert.equal("s:Env", root.name)
    assert.equal("urn:s", root.attrs["xmlns:s"])
    assert.equal("1", root.attrs["s:a"])
    assert.equal("s:Body", root.children[1].name)
  end)

  it("reports syntax errors with line and column", function()
    local v, msg = xml.decode("<a>\n  <b></a>")
    assert.is_nil(v)
    assert.equal("xml: line 2, column 8: mismatched tag", msg)
    v, msg = xml.decode("")
    assert.is_nil(v)
    assert.matches("^xml: line 1, column 1: no element found", msg)
    v, msg = xml.decode("<a/><b/>")
    assert.is_nil(v)
    assert.matches("^xml: line 1, column 5: junk after document element", msg)
    v, msg = xml.decode("<a>\xff</a>")
    assert.is_nil(v)
    assert.matches("^xml: line 1, column %d+: not well%-formed", msg)
  end)

  it("enforces the depth limit", function()
    local deep = string.rep("<a>", 5) .. string.rep("</a>", 5)
    assert.truthy(xml.decode(deep, { max_depth = 5 }))
    local v, msg = xml.decode(deep, { max_depth = 4 })
    assert.is_nil(v)
    assert.matches("^xml: line 1, column 13: elements nested deeper than the limit of 4", msg)
    -- the default limit (128) stops a hostile document
    local hostile = string.rep("<a>", 10000) .. string.rep("</a>", 10000)
    v, msg = xml.decode(hostile)
    assert.is_nil(v)
    assert.matches("limit of 128", msg, 1, true)
  end)

  it("enforces the size limit", function()
    local v, msg = xml.decode("<a>1234</a>", { max_size = 10 })
    assert.is_nil(v)
    assert.equal("xml: line 1, column 1: document of 11 bytes exceeds the limit of 10 bytes", msg)
    assert.truthy(xml.decode("<a>1234</a>", { max_size = 11 }))
  end)

  it("refuses DTDs, so entity expansion bombs cannot run", function()
    local bomb = [[<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">
<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><lolz>&lol2;</lolz>]]
    local v, msg = xml.decode(bomb)
    assert.is_nil(v)
    assert.matches("DOCTYPE declarations are not allowed", msg, 1, true)
    v, msg = xml.decode("<a>&undefined;</a>")
    assert.is_nil(v)
    assert.matches("undefined entity", msg, 1, true)
  end)

  it("escapes text for XML bodies", function()
    assert.equal("a&lt;b&gt;&amp;&quot;c&apos;&#xD;", xml.escape("a<b>&\"c'\r"))
    assert.equal("plain", xml.escape("plain"))
    local s = "x<&>'\"\r\ny"
    assert.equal(s, xml.decode("<a>" .. xml.escape(s) .. "</a>").text)
  end)

  it("raises on bad argument types, naming them", function()
    assert.has_error(function() xml.decode(nil) end)
    local ok, err = pcall(xml.decode, "<a/>", { max_depth = "x" })
    assert.is_false(ok)
    assert.matches("bad argument #2 .* %(max_depth must be a positive integer%)", err)
    ok, err = pcall(xml.decode, "<a/>", { max_size = -1 })
    assert.is_false(ok)
    assert.matches("max_size must be a positive integer", err, 1, true)
    ok, err = pcall(xml.decode, "<a/>", 5)
    assert.is_false(ok)
    assert.matches("bad argument #2", err, 1, true)
    assert.has_error(function() xml.escape({}) end)
  end)

  it("survives many decodes without state leaking between them", function()
    for i = 1, 2000 do
      local r = xml.decode("<r><i>" .. i .. "</i></r>")
      assert(r.children[1].text == tostring(i))
      assert(xml.decode("<r><i>") == nil)
    end
  end)
end)
