-- kumo.json: AWS-shaped JSON over lua-cjson 2.1.0 (empty arrays, exact
-- integers, null, errors).
local json = require "kumo.json"

describe("kumo.json", function()
  it("round-trips integers exactly as Lua integers", function()
    local v = assert(json.decode('{"t":1700000000123,"big":9007199254740993,"max":9223372036854775807,"neg":-42}'))
    assert.equal("integer", math.type(v.t))
    assert.equal(1700000000123, v.t)
    assert.equal("integer", math.type(v.big))
    assert.equal(math.tointeger(2 ^ 53) + 1, v.big)
    assert.equal(math.maxinteger, v.max)
    assert.equal(-42, v.neg)
    assert.equal('{"big":9007199254740993,"max":9223372036854775807,"neg":-42,"t":1700000000123}',
      json.encode(v))
    assert.equal("[9007199254740993]", json.encode(json.decode("[9007199254740993]")))
  end)

  it("decodes integral numbers to integers and others to floats", function()
    local v = json.decode('[1, 2.5, 3.0, 1e3, -0.5, 123456789012]')
    assert.equal("integer", math.type(v[1]))
    assert.equal("float", math.type(v[2]))
    assert.equal("integer", math.type(v[3]))
    assert.equal(1000, v[4])
    assert.equal(-0.5, v[5])
    assert.equal("integer", math.type(v[6]))
    -- beyond 64 bits: the nearest float
    assert.equal("float", math.type(json.decode("[123456789012345678901234]")[1]))
  end)

  it("encodes floats with the digits needed to read them back", function()
    assert.equal("[0.1,0.30000000000000004,1e+300,1.5]", json.encode({ 0.1, 0.1 + 0.2, 1e300, 1.5 }))
    assert.equal("[3]", json.encode({ 3.0 }))
    for _, x in ipairs { math.pi, 1 / 3, 2 ^ -30, 123456.789 } do
      assert.equal(x, json.decode(json.encode({ x }))[1])
    end
  end)

  it("tells empty arrays from empty objects", function()
    assert.equal("{}", json.encode({}))
    assert.equal("[]", json.encode(json.array()))
    assert.equal('{"a":[],"b":{}}', json.encode({ a = json.array({}), b = {} }))
    local v = json.decode('{"a":[],"b":{},"c":[1]}')
    assert.is_true(json.is_array(v.a))
    assert.is_false(json.is_array(v.b))
    assert.is_true(json.is_array(v.c))
    assert.equal('{"a":[],"b":{},"c":[1]}', json.encode(v))
    assert.equal('[[],[[]]]', json.encode(json.decode("[[], [ [ ] ]]")))
    -- "[]" inside strings and keys is left alone
    assert.equal('{"e":[],"k[]":"v[ ]","s":["[]"]}', json.encode(json.decode('{"k[]":"v[ ]","e":[],"s":["[]"]}')))
    assert.equal("[]", json.decode('"[]"'))
    assert.equal('[[],"[]"]', json.encode(json.decode('[[],"\\u005b]"]')))
    -- words that look like invalid numbers do not disturb the decoding
    assert.equal('{"info":[],"nano":"0x1"}', json.encode(json.decode('{"info":[],"nano":"0x1"}')))
  end)

  it("maps null both ways", function()
    local v = json.decode('{"a":null,"b":[null,1]}')
    assert.equal(json.null, v.a)
    assert.equal(json.null, v.b[1])
    assert.equal('{"a":null}', json.encode({ a = json.null }))
    assert.equal("[1,null,3]", json.encode({ 1, nil, 3 }))
  end)

  it("escapes strings and decodes unicode escapes and surrogate pairs", function()
    assert.equal([["a\"\\\n\t\u0001/é"]], json.encode("a\"\\\n\t\1/é"))
    assert.equal("é😀", json.decode([["\u00e9\ud83d\ude00"]]))
    assert.equal("é😀", json.decode([=[["\u00e9\ud83d\ude00"]]=])[1])  -- cjson path
    assert.equal("x", json.decode('{"k":[], "s":"x"}').s)  -- exact path
    assert.equal("é😀", json.decode([[{"e":[],"s":"\u00e9\ud83d\ude00"}]]).s)
  end)

  it("sorts object keys so output is stable", function()
    assert.equal('{"a":1,"b":{"x":true,"y":false},"c":"s"}',
      json.encode({ c = "s", a = 1, b = { y = false, x = true } }))
  end)

  it("returns nil, message for malformed text (both decoders)", function()
    for _, s in ipairs { "", "[1,", "{\"a\":nan}", "[1,2] x", "{\"a\" 1}", "[01]",
      "[] x", "[[]", '{"a":[],}', '[12345678901234567,]', '"\\q"', "tru" } do
      local v, msg = json.decode(s)
      assert.is_nil(v, s)
      assert.matches("^json.decode: ", msg)
    end
  end)

  it("raises on values JSON cannot hold, naming where", function()
    assert.has_error(function() json.encode({ a = { b = print } }) end,
      "json.encode: cannot encode a function at $.a.b")
    assert.has_error(function() json.encode({ a = { 1, 0 / 0 } }) end)
    assert.has_error(function() json.encode({ [true] = 1 }) end)
    assert.has_error(function() json.encode({ [1] = 1, [1000] = 2 }) end)
    local t = {}
    t.self = t
    local ok, err = pcall(json.encode, t)
    assert.is_false(ok)
    assert.matches("a cycle", err, 1, true)
    assert.has_error(function() json.decode(42) end,
      "bad argument #1 to 'decode' (string expected, got number)")
    assert.has_error(function() json.array("x") end)
  end)

  it("round-trips randomized values through both decoders", function()
    local seed = tonumber(os.getenv("JSON_FUZZ_SEED")) or 20260830
    math.randomseed(seed)
    local function rstring()
      local t = {}
      for i = 1, math.random(0, 12) do
        local r = math.random(1, 10)
        if r == 1 then t[i] = string.char(math.random(0, 31))
        elseif r == 2 then t[i] = ({ '"', "\\", "/", "[]", "[ ]", "\\u", "é", "😀" })[math.random(1, 8)]
        else t[i] = string.char(math.random(32, 126)) end
      end
      return table.concat(t)
    end
    local function rnumber()
      local r = math.random(1, 6)
      if r == 1 then return math.random(math.mininteger, math.maxinteger)
      elseif r == 2 then return math.random(-1000, 1000)
      elseif r == 3 then return math.tointeger(2 ^ 53) + math.random(-5, 5)
      elseif r == 4 then return (math.random() - 0.5) * 10 ^ math.random(-300, 300)
      elseif r == 5 then return 1700000000000 + math.random(0, 999)
      else return math.random() end
    end
    local function rvalue(depth)
      local r = math.random(1, depth > 3 and 5 or 8)
      if r == 1 then return rstring()
      elseif r == 2 then return rnumber()
      elseif r == 3 then return math.random(0, 1) == 1
      elseif r == 4 then return json.null
      elseif r == 5 then return rstring() .. "x"
      elseif r == 6 then
        local a = json.array()
        for i = 1, math.random(0, 4) do a[i] = rvalue(depth + 1) end
        return a
      else
        local o = {}
        for _ = 1, math.random(0, 4) do o[rstring() .. "k"] = rvalue(depth + 1) end
        return o
      end
    end
    local function same(a, b, path)
      if type(a) ~= "table" then
        assert(a == b or (a ~= a and b ~= b), path .. ": " .. tostring(a) .. " ~= " .. tostring(b))
        if math.type(a) == "integer" then
          assert(math.type(b) == "integer", path .. ": integer came back as a float")
        end
        return
      end
      assert(type(b) == "table", path .. ": table expected")
      assert(json.is_array(a) == json.is_array(b), path .. ": array/object mixed up")
      for k, v in pairs(a) do same(v, b[k], path .. "." .. tostring(k)) end
      for k in pairs(b) do assert(a[k] ~= nil, path .. ": extra key " .. tostring(k)) end
    end
    for n = 1, 400 do
      local v = rvalue(0)
      local text = json.encode(v)
      local back, err = json.decode(text)
      assert(err == nil, err)
      same(v, back, "case " .. n .. " (seed " .. seed .. ")")
      assert.equal(text, json.encode(back))
    end
  end)

  it("leaves the global cjson configuration alone", function()
    local cjson = require "cjson"
    json.decode("[1]")
    assert.equal("1e+300", cjson.encode(1e300))
    assert.equal("{}", cjson.encode({}))
  end)

  it("decode_fast gives cjson's result as it is, for schema-typed callers", function()
    local v = assert(json.decode_fast('{"n":1,"a":[],"o":{},"z":null,"l":[1,2]}'))
    assert.equal("float", math.type(v.n))
    assert.equal(json.null, v.z)
    assert.is_false(json.is_array(v.a))  -- unmarked: the shape says it is a list
    assert.same({ 1, 2 }, v.l)
    local bad, err = json.decode_fast('{"a":')
    assert.is_nil(bad)
    assert.matches("^json.decode: ", err)
    assert.has_error(function() json.decode_fast(nil) end,
      "bad argument #1 to 'decode_fast' (string expected, got nil)")
  end)

  it("encodes with options: special floats, Python floats, empty arrays, leniency", function()
    local nan, inf = 0 / 0, math.huge
    assert.has_error(function() json.encode({ nan }) end)
    assert.equal('["NaN","Infinity","-Infinity"]', json.encode({ nan, inf, -inf }, { nonfinite = "string" }))
    assert.equal("[null,null]", json.encode({ nan, inf }, { nonfinite = "null" }))
    assert.equal("[1.0,2.5,3]", json.encode({ 1.0, 2.5, 3 }, { python_floats = true }))
    assert.equal("[1,2.5,3]", json.encode({ 1.0, 2.5, 3 }))
    assert.equal('{"a":[],"b":{}}', json.encode({ a = {}, b = setmetatable({}, { __jsontype = "object" }) },
      { empty_array = true }))
    assert.equal('{"f":null}', json.encode({ f = print }, { lenient = true }))
    assert.has_error(function() json.encode({ f = print }) end, "json.encode: cannot encode a function at $.f")
    -- options last for one call only
    assert.equal("{}", json.encode({}))
  end)

  it("writes keys in a metatable's __order when there is one", function()
    local t = setmetatable({ b = 1, a = 2, c = json.array() }, { __order = { "c", "b", "a" } })
    assert.equal('{"c":[],"b":1,"a":2}', json.encode(t))
    assert.equal("{}", json.encode(setmetatable({}, { __order = {} }), { empty_array = true }))
  end)

  it("escapes strings as JSON literals", function()
    assert.equal('"a\\"b\\n\\u0001\\u007f"', json.encode_string('a"b\n\1\127'))
  end)

  -- json.dumps against Python's json.dumps on the same JSON text
  local function python_dumps(text, indent)
    local tmp = os.tmpname()
    local f = assert(io.open(tmp, "wb"))
    f:write(text)
    f:close()
    local py = indent
      and "import json,sys; sys.stdout.write(json.dumps(json.load(open(sys.argv[1], encoding='utf-8')), "
        .. "indent=4, sort_keys=True, ensure_ascii=False))"
      or "import json,sys; sys.stdout.write(json.dumps(json.load(open(sys.argv[1], encoding='utf-8')), "
        .. "sort_keys=True))"
    local p = assert(io.popen("PYTHONIOENCODING=utf-8 python3 -c \"" .. py .. "\" " .. tmp))
    local out = p:read("a")
    p:close()
    os.remove(tmp)
    return out
  end

  local PY_CASES = {
    '{"b":[1,2.5,"x",[],{}],"a":{"z":true,"y":null}}',
    [==[["\u00e9\u20ac\ud83d\ude00","tab\there \"q\" back\\","\u0001\u001f\u007f"]]==],
    '[0.1,1e-07,1e+22,123456789.123,-0.5,1.5e300,0.30000000000000004]',
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":"*"}]}',
  }

  it("dumps as Python's json.dumps(sort_keys=True) writes, byte for byte", function()
    for _, text in ipairs(PY_CASES) do
      assert.equal(python_dumps(text), json.dumps(json.decode(text), { ascii = true }), text)
    end
  end)

  it("dumps with indent 4 and UTF-8 as Python's json.dumps(indent=4, ensure_ascii=False)", function()
    for i, text in ipairs(PY_CASES) do
      if i ~= 2 then  -- case 2 has controls: kumo escapes DEL, Python keeps it
        assert.equal(python_dumps(text, true), json.dumps(json.decode(text), { indent = 4 }), text)
      end
    end
  end)

  it("dumps Python's floats, terminal-safe text, ordered keys and other values as asked", function()
    assert.equal("[1.0, 3, 1e+16, NaN, Infinity]", json.dumps({ 1.0, 3, 1e16, 0 / 0, math.huge }))
    -- DEL and a C1 control (U+0085) escaped even without ascii: the text reaches terminals
    assert.equal('"a\\u007fb\\u0085c\u{e9}"', json.dumps("a\127b\u{85}c\u{e9}"))
    assert.equal('{"z": 1, "a": 2}', json.dumps({ a = 2, z = 1 }, { keys = function() return { "z", "a" } end }))
    assert.has_error(function() json.dumps({ f = print }) end, "json.dumps: cannot write a function")
    assert.matches('^{"f": "function: ', json.dumps({ f = print }, { other_as_text = true }))
  end)
end)
