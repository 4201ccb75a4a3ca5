--- kumo.xml.read (src/xmlread.c) against the generic path (kumo.xml.decode
-- + xmlbody.parse): the same output, value for value (types, list
-- metatables, NaN), and the same request id, on every output case of the
-- query, ec2 and rest-xml conformance files, on the client bench's canned
-- responses, and on hand-made edge cases.
package.path = "tests/protocol/?.lua;" .. package.path
local ojson = require "ojson"
local common = require "kumo.protocol.common"
local xml = require "kumo.protocol.xmlparse"
local xmlbody = require "kumo.protocol.xmlbody"
local native = require "kumo.xml"

-- Deep equality; returns false and the path of the first difference.
local function same(a, b, path)
  if type(a) ~= type(b) then return false, path .. ": " .. type(a) .. " vs " .. type(b) end
  if type(a) == "number" then
    if a ~= a and b ~= b then return true end
    if math.type(a) ~= math.type(b) or a ~= b then
      return false, path .. ": " .. tostring(a) .. " vs " .. tostring(b)
    end
    return true
  end
  if type(a) ~= "table" then
    if a ~= b then return false, path .. ": " .. tostring(a) .. " vs " .. tostring(b) end
    return true
  end
  if getmetatable(a) ~= getmetatable(b) then return false, path .. ": metatables differ" end
  for k, v in pairs(a) do
    local ok, why = same(v, b[k], path .. "." .. tostring(k))
    if not ok then return false, why end
  end
  for k in pairs(b) do
    if a[k] == nil then return false, path .. "." .. tostring(k) .. ": only in xml.read" end
  end
  return true
end

-- The generic path, as query.parse did it before xml.read.
local function generic(shapes, shape, body, wrapper, headers)
  local root = assert(xml.decode(body))
  local node = root
  if wrapper then node = xml.child(root, wrapper) end
  local out = node and xmlbody.parse(shapes, shape, node) or {}
  local meta = xml.child(root, "ResponseMetadata")
  local n = (meta and xml.child(meta, "RequestId")) or xml.child(root, "RequestId")
    or xml.child(root, "RequestID") or xml.child(root, "requestId")
  local h = headers or {}
  return out, h["x-amzn-requestid"] or h["x-amz-request-id"] or (n and n.text)
end

local function compare(shapes, shape, body, wrapper, headers)
  local gout, grid = generic(shapes, shape, body, wrapper, headers)
  local fout, frid = xmlbody.read(shapes, shape, body, wrapper)
  if fout == false then return "fallback" end
  local h = headers or {}
  frid = h["x-amzn-requestid"] or h["x-amz-request-id"] or frid
  local ok, why = same(gout, fout, "out")
  if not ok then return why end
  if grid ~= frid then return "request id: " .. tostring(grid) .. " vs " .. tostring(frid) end
  return true
end

local function load(file)
  local f = assert(io.open(file, "rb"))
  local t = f:read("a")
  f:close()
  return ojson.decode(t, common.null)
end

describe("kumo.xml.read", function()
  it("is built into kumo", function()
    assert.is_function(native.read)
  end)

  for _, file in ipairs{ "tests/protocol/output/query.json", "tests/protocol/output/ec2.json",
    "tests/protocol/output/rest-xml.json", "tests/protocol/legacy/output/query.json",
    "tests/protocol/legacy/output/ec2.json", "tests/protocol/legacy/output/rest-xml.json" } do
    local fh = io.open(file)
    if fh then
      fh:close()
      it("gives the generic path's output on every case of " .. file, function()
        local n, read, fell = 0, 0, 0
        for _, suite in ipairs(load(file)) do
          local rest = suite.metadata.protocol == "rest-xml"
          for ci, case in ipairs(suite.cases) do
            local body = case.response and case.response.body
            local given = case.given
            if not case.errorCode and given.output and body and body ~= ""
              and not (rest and given.output and suite.shapes[given.output.shape].payload) then
              local shapes = suite.shapes
              local shape = shapes[given.output.shape]
              local wrapper = not rest and (given.output.resultWrapper or shape.resultWrapper) or nil
              local headers = {}
              for k, v in pairs(case.response.headers or {}) do headers[k:lower()] = v end
              local r = compare(shapes, shape, body, wrapper, headers)
              n = n + 1
              if r == "fallback" then fell = fell + 1
              else
                assert(r == true, ("%s: %s #%d: %s"):format(file, suite.description, ci, tostring(r)))
                read = read + 1
              end
            end
          end
        end
        print(("# %s: %d cases, %d read by xml.read, %d fell back"):format(file, n, read, fell))
        assert.is_true(read > 0)
      end)
    end
  end

  it("gives the generic path's output on the client bench responses", function()
    local model = require "kumo.model"
    local json = require "kumo.json"
    local f = assert(io.open("bench/client/cases.json", "rb"))
    local cases = json.decode(f:read("a"))
    f:close()
    local n = 0
    for _, case in ipairs(cases) do
      local svc = model.service(case.service)
      local proto = svc.metadata.protocol
      if proto == "query" or proto == "ec2" then
        local op = svc.operations[case.op]
        local shape = svc.shapes[op.output.shape]
        local r = compare(svc.shapes, shape, case.body, op.output.resultWrapper or shape.resultWrapper)
        assert.are.equal(true, r, case.name)
        n = n + 1
      end
    end
    assert.are.equal(2, n)
  end)

  describe("edge cases", function()
    local S = {
      Out = { type = "structure", members = {
        S = { shape = "Str" }, I = { shape = "Int" }, L = { shape = "Long" },
        B = { shape = "Bool" }, D = { shape = "Dbl" }, T = { shape = "Time" },
        Bl = { shape = "Blob" }, Ls = { shape = "StrList" },
        Fl = { shape = "StrList", flattened = true, locationName = "Item" },
        M = { shape = "StrMap" }, Fm = { shape = "StrMap", flattened = true },
        N = { shape = "Out" }, Ln = { shape = "NestList" },
        Nm = { shape = "NameMap" },
      } },
      Str = { type = "string" }, Int = { type = "integer" }, Long = { type = "long" },
      Bool = { type = "boolean" }, Dbl = { type = "double" }, Time = { type = "timestamp" },
      Blob = { type = "blob" },
      StrList = { type = "list", member = { shape = "Str" } },
      NestList = { type = "list", member = { shape = "StrList" } },
      StrMap = { type = "map", key = { shape = "Str" }, value = { shape = "Int" } },
      NameMap = { type = "map", key = { shape = "Str", locationName = "K" },
                  value = { shape = "Out", locationName = "V" } },
      Attr = { type = "structure", members = { A = { shape = "Str", xmlAttribute = true } } },
      IntMap = { type = "map", key = { shape = "Int" }, value = { shape = "Str" } },
      WithIntMap = { type = "structure", members = { M = { shape = "IntMap" } } },
    }
    local docs = {
      "<R><S>a</S><S>b</S><I>7</I><I>x</I><L>1e3</L><L> 0x10 </L><B>true</B><D>NaN</D></R>",
      "<R><D>-Infinity</D><D>1.5</D><T>2015-01-25T08:00:00Z</T><T></T><Bl>aGk=</Bl></R>",
      "<R><Ls><member>a</member><x>b</x><member/></Ls><Ls></Ls><Item>1</Item><Item>2</Item></R>",
      "<R><M><entry><key>a</key><value>1</value></entry><entry><value>2</value><key>b</key></entry>"
        .. "<entry><key>c</key></entry><entry><value>3</value></entry></M><M><entry><key>d</key>"
        .. "<value>4</value></entry></M></R>",
      "<R><Fm><key>a</key><value>1</value></Fm><Fm><key>a</key><value>x</value></Fm></R>",
      "<R><N><S>in</S><N><I>3</I></N><N/></N><Ln><member><member>a</member></member><member/></Ln></R>",
      "<R><Nm><entry><K>k</K><V><S>v</S><Ls><member>q</member></Ls></V></entry></Nm></R>",
      "<x:R xmlns:x='u'><x:S>p</x:S><Unknown><S>no</S><Deep><Deeper/></Deep></Unknown><S>m<z/>n</S></x:R>",
      "<R><requestId>r1</requestId><ResponseMetadata><RequestId>r2</RequestId></ResponseMetadata></R>",
      "<R><Ls><member>1</member><member><deep>2</deep>t</member></Ls><I>  </I><Fl>z</Fl></R>",
    }
    for i, doc in ipairs(docs) do
      it("document " .. i, function()
        assert.are.equal(true, compare(S, S.Out, doc))
      end)
    end

    it("reads the query wrapper only (first one), ignoring the root's other children", function()
      local doc = "<XResponse><Other><S>no</S></Other><XResult><S>yes</S></XResult>"
        .. "<XResult><S>second</S></XResult><ResponseMetadata><RequestId>id</RequestId>"
        .. "</ResponseMetadata></XResponse>"
      assert.are.equal(true, compare(S, S.Out, doc, "XResult"))
      local out, rid = xmlbody.read(S, S.Out, doc, "XResult")
      assert.are.equal("yes", out.S)
      assert.are.equal("id", rid)
      out = xmlbody.read(S, S.Out, "<XResponse/>", "XResult")
      assert.are.same({}, out)
    end)

    it("leaves shapes it cannot read to the generic path", function()
      assert.are.equal(false, xmlbody.read(S, S.Attr, "<R A='1'/>"))
      assert.are.equal(false, xmlbody.read(S, S.WithIntMap, "<R/>"))
    end)

    it("reports malformed XML as the generic path does (fallback)", function()
      assert.are.equal(false, xmlbody.read(S, S.Out, "<R><S></R>"))
      local out, err = native.read("<R><S></R>", xmlbody.compile(S, S.Out), nil, { {} })
      assert.is_nil(out)
      assert.matches("^xml: line 1", err)
    end)

    it("checks its arguments", function()
      assert.has_error(function() native.read({}, {}, nil, {}) end)
      assert.has_error(function() native.read("<R/>", "x", nil, {}) end)
    end)
  end)
end)
