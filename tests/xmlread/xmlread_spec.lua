--- kumo.xml.read (src/l_xmlread.c through kumo.protocol.xmlbody), the one
-- reader of XML responses: every XML output and error case of the query,
-- ec2 and rest-xml conformance files read body alone against the case's
-- expectation (botocore's), the client bench's canned responses against
-- botocore's own parse of the same bytes, and hand-made edge cases against
-- fixed values (the ones the former generic decode + walk gave, from which
-- this reader was once checked to differ in nothing).
package.path = "tests/protocol/?.lua;" .. package.path
local ojson = require "ojson"
local common = require "kumo.protocol.common"
local protoshape = require "kumo.protocol.shape"
local wire = require "kumo.protocol.wire"
local xmlbody = require "kumo.protocol.xmlbody"
local native = require "kumo.xml"

local null = common.null
local ARRAY_MT = getmetatable(require("kumo.json").array())
local SPECIAL = { NaN = 0 / 0, Infinity = math.huge, ["-Infinity"] = -math.huge }

local function show(v)
  if type(v) == "string" then return string.format("%q", v) end
  return tostring(v)
end

-- Deep equality of an expectation and a value read; false and the path of
-- the first difference. `loose`: the case files' terms (null is absent,
-- numbers within 1e-6, "NaN"/"Infinity" for floats, lists by length);
-- otherwise exact (number subtypes, NaN, list metatables).
local function same(exp, act, path, loose)
  if loose and exp == null then
    if act == nil or act == null then return true end
    return false, path .. ": expected null, got " .. show(act)
  end
  if loose and type(exp) == "string" and SPECIAL[exp] and type(act) == "number" then
    local want = SPECIAL[exp]
    if (want ~= want and act ~= act) or want == act then return true end
    return false, path .. ": expected " .. exp .. ", got " .. show(act)
  end
  if type(exp) ~= type(act) then
    return false, path .. ": expected " .. show(exp) .. ", got " .. show(act)
  end
  if type(exp) == "number" then
    if exp ~= exp and act ~= act then return true end
    if loose then
      if math.abs(exp - act) <= 1e-6 * math.max(1, math.abs(exp)) then return true end
    elseif math.type(exp) == math.type(act) and exp == act then
      return true
    end
    return false, path .. ": expected " .. show(exp) .. ", got " .. show(act)
  end
  if type(exp) ~= "table" then
    if exp ~= act then return false, path .. ": expected " .. show(exp) .. ", got " .. show(act) end
    return true
  end
  local emt = getmetatable(exp)
  if loose and emt and emt.__array then
    if getmetatable(act) ~= ARRAY_MT then return false, path .. ": not a list" end
    if #exp ~= #act then return false, path .. ": " .. #exp .. " items expected, got " .. #act end
  elseif not loose and emt ~= getmetatable(act) then
    return false, path .. ": metatables differ"
  end
  for k, v in pairs(exp) do
    local ok, why = same(v, act[k], path .. "." .. tostring(k), loose)
    if not ok then return false, why end
  end
  for k in pairs(act) do
    if exp[k] == nil then return false, path .. "." .. tostring(k) .. ": not expected" end
  end
  return true
end

local function load(file)
  local f = assert(io.open(file, "rb"))
  local t = f:read("a")
  f:close()
  return ojson.decode(t, null)
end

-- The members of `expected` that a shape reads from the body (not those
-- bound to headers or the status code).
local function body_part(shapes, shape, expected)
  local out = {}
  for name, v in pairs(expected or {}) do
    local ref = shape.members and shape.members[name]
    if ref and not protoshape.out_located(shapes, ref) then out[name] = v end
  end
  return out
end

-- One case read by the one reader: true, or the first difference.
local function check_case(suite, case)
  local shapes = suite.shapes
  local rest = suite.metadata.protocol == "rest-xml"
  local body = case.response.body
  if case.errorCode then
    local e, rid, at_root = xmlbody.read_error(body)
    assert(e ~= nil, rid)
    local code = wire.clean_code(e and e.Code)
    local qe
    for k, v in pairs(case.response.headers or {}) do
      if k:lower() == "x-amzn-query-error" then qe = v end
    end
    if qe then code = qe:match("^([^;]*)") end
    if code ~= case.errorCode then
      return "error code: expected " .. case.errorCode .. ", got " .. tostring(code)
    end
    if case.errorMessage and (e and e.Message) ~= case.errorMessage then
      return "error message: expected " .. case.errorMessage .. ", got " .. tostring(e and e.Message)
    end
    local shape = protoshape.error_shape({ shapes = shapes }, case.given, code)
    local fields = shape and e and xmlbody.read_error_fields(shapes, shape, body, at_root) or {}
    local want = shape and body_part(shapes, shape, case.error) or {}
    local ok, why = same(want, fields, "error", true)
    return ok or why
  end
  local given = case.given
  local shape = shapes[given.output.shape]
  local payload = rest and (given.output.payload or shape.payload)
  if payload then
    local ps = shapes[shape.members[payload].shape]
    local v = assert(xmlbody.read(shapes, ps, body))
    local want = (case.result or {})[payload]
    if want == nil then want = {} end
    local ok, why = same(want, v, "result." .. payload, true)
    return ok or why
  end
  local wrapper = not rest and (given.output.resultWrapper or shape.resultWrapper) or nil
  local out = assert(xmlbody.read(shapes, shape, body, wrapper))
  local ok, why = same(body_part(shapes, shape, case.result), out, "result", true)
  return ok or why
end

-- A case with an XML body the reader alone can be checked on.
local function readable(suite, case)
  local r = case.response
  if not r or not r.body or r.body:match("^%s*$") or case.raises then return false end
  local shapes = suite.shapes
  if case.errorCode then return true end
  local given = case.given
  if not given.output then return false end
  local shape = shapes[given.output.shape]
  for _, ref in pairs(shape.members or {}) do
    local ms = shapes[ref.shape]
    if ms.eventstream then return false end
  end
  local payload = suite.metadata.protocol == "rest-xml" and (given.output.payload or shape.payload)
  if payload then
    local t = shapes[shape.members[payload].shape].type
    return t == "structure"
  end
  return true
end

describe("kumo.xml.read", function()
  it("is built into kumo", function()
    assert.is_function(native.read)
  end)

  for _, file in ipairs{ "tests/protocol/output/query.json", "tests/protocol/output/ec2.json",
    "tests/protocol/output/rest-xml.json", "tests/protocol/legacy/output/query.json",
    "tests/protocol/legacy/output/ec2.json", "tests/protocol/legacy/output/rest-xml.json" } do
    it("reads every XML case of " .. file .. " as the case expects", function()
      local outputs, errors = 0, 0
      for _, suite in ipairs(load(file)) do
        for ci, case in ipairs(suite.cases) do
          if readable(suite, case) then
            local r = check_case(suite, case)
            assert(r == true, ("%s: %s #%d: %s"):format(file, suite.description, ci, tostring(r)))
            if case.errorCode then errors = errors + 1 else outputs = outputs + 1 end
          end
        end
      end
      print(("# %s: %d outputs, %d errors read"):format(file, outputs, errors))
      assert.is_true(outputs > 0)
    end)
  end

  it("reads the client bench responses as botocore does", function()
    local model = require "kumo.model"
    local json = require "kumo.json"
    local p = assert(io.popen("python3 tests/xmlread/botocore_read.py bench/client/cases.json"))
    local want = json.decode(p:read("a"))
    assert(p:close())
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
        local out, rid = xmlbody.read(svc.shapes, shape, case.body,
          op.output.resultWrapper or shape.resultWrapper)
        local w = want[case.name]
        assert.is_table(w, case.name)
        local ok, why = same(w.result, out, case.name, true)
        assert(ok, why)
        assert.are.equal(w.request_id, rid, case.name)
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
      Attr = { type = "structure", members = { A = { shape = "Str", xmlAttribute = true },
        N = { shape = "Int", xmlAttribute = true, locationName = "xsi:n" }, S = { shape = "Str" },
        In = { shape = "Attr" } } },
      IntMap = { type = "map", key = { shape = "Int" }, value = { shape = "Str" } },
      WithIntMap = { type = "structure", members = { M = { shape = "IntMap" } } },
      U = { type = "structure", union = true, members = { S = { shape = "Str" },
        Fl = { shape = "StrList", flattened = true } } },
      WithU = { type = "structure", members = { U = { shape = "U" }, S = { shape = "Str" } } },
    }
    local function A(t) return setmetatable(t, ARRAY_MT) end
    local NAN = 0 / 0
    -- shape, document, wrapper, output (or the error raised), request id:
    -- the values the former generic path (kumo.xml.decode + xmlbody.parse)
    -- gave on each document, kept as they were
    local docs = {
      { "Out", "<R><S>a</S><S>b</S><I>7</I><I>x</I><L>1e3</L><L> 0x10 </L><B>true</B><D>NaN</D></R>", nil,
        { B = true, D = NAN, L = 16, S = "b" }, nil },
      { "Out", "<R><D>-Infinity</D><D>1.5</D><T>2015-01-25T08:00:00Z</T><T></T><Bl>aGk=</Bl></R>", nil,
        { Bl = "hi", D = 1.5 }, nil },
      { "Out", "<R><Ls><member>a</member><x>b</x><member/></Ls><Ls></Ls><Item>1</Item><Item>2</Item></R>",
        nil, { Fl = A{ "1", "2" }, Ls = A{} }, nil },
      { "Out", "<R><M><entry><key>a</key><value>1</value></entry><entry><value>2</value><key>b</key>"
        .. "</entry><entry><key>c</key></entry><entry><value>3</value></entry></M><M><entry><key>d</key>"
        .. "<value>4</value></entry></M></R>", nil, { M = { a = 1, b = 2, d = 4 } }, nil },
      { "Out", "<R><Fm><key>a</key><value>1</value></Fm><Fm><key>a</key><value>x</value></Fm></R>", nil,
        { Fm = {} }, nil },
      { "Out", "<R><N><S>in</S><N><I>3</I></N><N/></N><Ln><member><member>a</member></member><member/>"
        .. "</Ln></R>", nil, { Ln = A{ A{ "a" }, A{} }, N = { N = {}, S = "in" } }, nil },
      { "Out", "<R><Nm><entry><K>k</K><V><S>v</S><Ls><member>q</member></Ls></V></entry></Nm></R>", nil,
        { Nm = { k = { Ls = A{ "q" }, S = "v" } } }, nil },
      { "Out", "<x:R xmlns:x='u'><x:S>p</x:S><Unknown><S>no</S><Deep><Deeper/></Deep></Unknown>"
        .. "<S>m<z/>n</S></x:R>", nil, { S = "mn" }, nil },
      { "Out", "<R><requestId>r1</requestId><ResponseMetadata><RequestId>r2</RequestId>"
        .. "</ResponseMetadata></R>", nil, {}, "r2" },
      { "Out", "<R><Ls><member>1</member><member><deep>2</deep>t</member></Ls><I>  </I><Fl>z</Fl></R>", nil,
        { Ls = A{ "1", "t" } }, nil },
      -- the query wrapper only (the first one), the root's other children ignored
      { "Out", "<XResponse><Other><S>no</S></Other><XResult><S>yes</S></XResult>"
        .. "<XResult><S>second</S></XResult><ResponseMetadata><RequestId>id</RequestId>"
        .. "</ResponseMetadata></XResponse>", "XResult", { S = "yes" }, "id" },
      { "Out", "<XResponse/>", "XResult", {}, nil },
      -- what the generic path alone read before: XML attributes, maps with
      -- non-string keys, unions
      { "Attr", "<R A='1' xsi:n='5' other='x'><S>s</S><In A='in' xsi:n='x'/></R>", nil,
        { A = "1", In = { A = "in" }, N = 5, S = "s" }, nil },
      { "Attr", "<R><In><In A='deep'/></In></R>", nil, { In = { In = { A = "deep" } } }, nil },
      { "WithIntMap", "<R><M><entry><key>1</key><value>one</value></entry><entry><key>2</key>"
        .. "<value>two</value></entry></M></R>", nil, { M = { [1] = "one", [2] = "two" } }, nil },
      { "WithU", "<R><U><S>x</S></U></R>", nil, { U = { S = "x" } }, nil },
      { "WithU", "<R><U><Fl>a</Fl><Fl>b</Fl></U></R>", nil, { U = { Fl = A{ "a", "b" } } }, nil },
      { "WithU", "<R><U><New>x</New></U></R>", nil, { U = { SDK_UNKNOWN_MEMBER = { name = "New" } } }, nil },
      { "WithU", "<R><U><S>x</S><Fl>a</Fl></U></R>", nil,
        "response: union U must have exactly one member set, got 2 (the service sent several)", nil },
      { "WithU", "<R><U></U></R>", nil, "response: union U must have exactly one member set, got 0", nil },
    }
    for i, d in ipairs(docs) do
      it("document " .. i, function()
        local ok, out, rid = pcall(xmlbody.read, S, S[d[1]], d[2], d[3])
        if type(d[4]) == "string" then
          assert.is_false(ok)
          assert.are.equal(d[4], out)
          return
        end
        assert(ok, out)
        assert(same(d[4], out, "out"))
        assert.are.equal(d[5], rid)
      end)
    end

    it("reports malformed XML with the parser's position", function()
      local out, err = xmlbody.read(S, S.Out, "<R><S></R>")
      assert.is_nil(out)
      assert.matches("^xml: line 1, column %d+: ", err)
      out, err = native.read("<R><S></R>", xmlbody.compile(S, S.Out), nil, { {} })
      assert.is_nil(out)
      assert.matches("^xml: line 1", err)
    end)

    it("reads error envelopes: query, ec2, a root Error, none", function()
      local E = { type = "structure", members = { Code = { shape = "Str" }, Extra = { shape = "Int" } } }
      local shapes = { E = E, Str = S.Str, Int = S.Int }
      for _, c in ipairs{
        { "<ErrorResponse><Error><Type>Sender</Type><Code>C1</Code><Message>m</Message><Extra>4</Extra>"
          .. "</Error><Error><Code>C2</Code></Error><RequestId>r</RequestId></ErrorResponse>",
          { Code = "C1", Message = "m", Type = "Sender" }, "r", false },
        { "<Response><Errors><Error><Code>C1</Code><Extra>4</Extra></Error></Errors>"
          .. "<RequestID>r</RequestID></Response>", { Code = "C1" }, "r", false },
        { "<Error><Code>C1</Code><Message>m</Message><Extra>4</Extra><RequestId>r</RequestId></Error>",
          { Code = "C1", Message = "m" }, "r", true },
      } do
        local e, rid, at_root = xmlbody.read_error(c[1])
        assert.are.same(c[2], e)
        assert.are.equal(c[3], rid)
        assert.are.equal(c[4], at_root)
        assert.are.same({ Code = "C1", Extra = 4 }, xmlbody.read_error_fields(shapes, E, c[1], at_root))
      end
      local e, rid = xmlbody.read_error("<Other><RequestId>r</RequestId></Other>")
      assert.are.equal(false, e)
      assert.are.equal("r", rid)
      e, rid = xmlbody.read_error("<Other>")
      assert.is_nil(e)
      assert.matches("^xml: ", rid)
    end)

    it("checks its arguments", function()
      assert.has_error(function() native.read({}, {}, nil, {}) end)
      assert.has_error(function() native.read("<R/>", "x", nil, {}) end)
      assert.has_error(function() native.read("<R/>", { false, 2, {}, false, 5 }, nil, {}) end,
        "xml.read: compiled shape: attributes are not a table")
    end)
  end)
end)
