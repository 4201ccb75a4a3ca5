-- kumo.jmespath: the data-model rules and API around the compliance suite
-- (the suite itself runs from tests/jmespath/run.lua).
local jmespath = require "kumo.jmespath"
local null = jmespath.null

describe("kumo.jmespath", function()
  describe("data model", function()
    it("treats an unmarked table with keys 1..n as an array", function()
      assert.same({ "a", "b" }, jmespath.search("[*].n", { { n = "a" }, { n = "b" } }))
      assert.equal("array", jmespath.search("type(@)", { 1, 2 }))
    end)

    it("treats a table with holes or string keys as an object", function()
      assert.equal("object", jmespath.search("type(@)", { [1] = "a", [3] = "c" }))
      assert.equal("object", jmespath.search("type(@)", { "a", x = 1 }))
    end)

    it("treats an unmarked empty table as an object and a marked one as an array", function()
      assert.equal("object", jmespath.search("type(@)", {}))
      assert.equal("array", jmespath.search("type(@)", jmespath.array({})))
      assert.same({}, jmespath.search("keys(@)", {}))
      assert.is_nil(jmespath.search("[*]", {}))
      assert.same({}, jmespath.search("[*]", jmespath.array({})))
    end)

    it("reads kumo.json's decoded arrays, empty ones included", function()
      local json = require "kumo.json"
      local d = json.decode('{"L": [], "O": {}, "N": [1, null, 2]}')
      assert.equal("array", jmespath.search("type(L)", d))
      assert.equal("object", jmespath.search("type(O)", d))
      assert.same({}, jmespath.search("L[?x]", d))
      assert.same({ 1, 2 }, jmespath.search("N[*]", d))
      assert.equal("[]", json.encode(jmespath.search("L[?x]", d)))
    end)

    it("gives the same waiter answers for an empty list either way", function()
      for _, list in ipairs({ {}, jmespath.array({}) }) do
        local out = { DBProxies = list }
        assert.is_true(jmespath.search("length(DBProxies) == `0`", out))
        local r = jmespath.search("DBProxies[].Status", out)
        assert.is_true(r == nil or #r == 0)
      end
    end)

    it("returns nil for a null result and json.null inside results", function()
      assert.is_nil(jmespath.search("missing", { a = 1 }))
      assert.is_nil(jmespath.search("a", { a = null }))
      local r = jmespath.search("[a, b]", { a = 1 })
      assert.equal(1, r[1])
      assert.equal(null, r[2])
      assert.equal(2, #r)
      assert.equal(null, jmespath.search("{x: missing}", {}).x)
    end)

    it("reads json.null elements of arrays as null", function()
      assert.same({ 1, 3 }, jmespath.search("[*].a", { { a = 1 }, null, { a = 3 } }))
      assert.same({ 1, 2 }, jmespath.search("[?@ != `null`]", { 1, null, 2 }))
    end)

    it("marks the arrays it builds so empty results stay arrays", function()
      local r = jmespath.search("[?a == `9`]", { { a = 1 } })
      assert.equal(0, #r)
      assert.equal(jmespath.array_mt, getmetatable(r))
      assert.equal("[]", jmespath.to_json(r))
    end)
  end)

  describe("compile", function()
    it("returns an object with :search and caches by text", function()
      local c = jmespath.compile("Targets[?Type=='RDS_INSTANCE'].TargetHealth.State")
      assert.equal(c, jmespath.compile("Targets[?Type=='RDS_INSTANCE'].TargetHealth.State"))
      local out = { Targets = {
        { Type = "RDS_INSTANCE", TargetHealth = { State = "AVAILABLE" } },
        { Type = "TRACKED_CLUSTER" },
        { Type = "RDS_INSTANCE", TargetHealth = { State = "UNAVAILABLE", Reason = "AUTH_FAILURE" } },
      } }
      assert.same({ "AVAILABLE", "UNAVAILABLE" }, c:search(out))
    end)

    it("evaluates the query from the issue", function()
      local out = { DBProxies = {
        { DBProxyName = "p1", Status = "available" },
        { DBProxyName = "p2", Status = "creating" },
      } }
      assert.same({ "p1" },
        jmespath.search("DBProxies[?Status=='available'].DBProxyName", out))
    end)
  end)

  describe("errors", function()
    local function err_of(expr, data)
      local ok, e = pcall(jmespath.search, expr, data)
      assert.is_false(ok)
      assert.is_true(jmespath.is_error(e), tostring(e))
      return e
    end

    it("reports syntax errors with the column and the expression", function()
      local e = err_of("foo[?a == ]")
      assert.equal("syntax", e.kind)
      assert.equal(11, e.column)
      assert.matches("foo%[%?a == %]", tostring(e))
    end)

    it("explains a lone '='", function()
      assert.matches("use '=='", tostring(err_of("a = b")))
    end)

    it("names an unknown function and lists the known ones", function()
      local e = err_of("lenght(@)")
      assert.equal("unknown-function", e.kind)
      assert.matches("lenght", e.message)
      assert.matches("length", e.message)
    end)

    it("raises arity errors at compile time", function()
      local ok, e = pcall(jmespath.compile, "length(a, b)")
      assert.is_false(ok)
      assert.equal("invalid-arity", e.kind)
      assert.matches("takes 1 argument, got 2", e.message)
    end)

    it("names the argument in type errors", function()
      local e = err_of("sum(@)", { 1, "x" })
      assert.equal("invalid-type", e.kind)
      assert.matches("sum%(%) argument 1 must be an array of numbers", e.message)
    end)

    it("rejects a zero slice step", function()
      assert.equal("invalid-value", err_of("[::0]", { 1 }).kind)
    end)

    it("rejects a non-string expression", function()
      assert.equal("syntax", err_of(42).kind)
    end)
  end)

  describe("functions", function()
    it("formats numbers like JSON in to_string", function()
      assert.equal("1.5", jmespath.search("to_string(@)", 1.5))
      assert.equal("3", jmespath.search("to_string(@)", 3))
      assert.equal('{"a":[1,"x"],"b":null}',
        jmespath.search("to_string(@)", { b = null, a = { 1, "x" } }))
    end)

    it("rejects hex and non-numbers in to_number", function()
      assert.is_nil(jmespath.search("to_number(@)", "0x10"))
      assert.is_nil(jmespath.search("to_number(@)", "nan"))
      assert.equal(12, jmespath.search("to_number(@)", "12"))
    end)

    it("counts code points in length and reverses them", function()
      assert.equal(3, jmespath.search("length(@)", "été"))
      assert.equal("été", jmespath.search("reverse(@)", "été"))
    end)

    it("keeps sort_by stable", function()
      local r = jmespath.search("sort_by(@, &k)[*].i",
        { { k = 1, i = 1 }, { k = 0, i = 2 }, { k = 1, i = 3 }, { k = 0, i = 4 } })
      assert.same({ 2, 4, 1, 3 }, r)
    end)

    it("lists every specified function", function()
      assert.same({ "abs", "avg", "ceil", "contains", "ends_with", "floor", "join", "keys",
        "length", "map", "max", "max_by", "merge", "min", "min_by", "not_null", "reverse",
        "sort", "sort_by", "starts_with", "sum", "to_array", "to_number", "to_string",
        "type", "values" }, jmespath.functions())
    end)
  end)
end)
