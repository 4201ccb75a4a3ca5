-- kumo.regex: the ECMA-262 subset used by AWS model patterns.
local regex = require "kumo.regex"

local function full(p, s) return regex.test(assert(regex.compile(p)), s, true) end
local function find(p, s) return regex.test(assert(regex.compile(p)), s, false) end

describe("kumo.regex", function()
  it("matches classes, escapes and quantifiers", function()
    assert.is_true(full("[\\w+=,.@-]+", "app-role@x.y"))
    assert.is_false(full("[\\w+=,.@-]+", "bad name"))
    assert.is_true(full("\\d{12}", "111122223333"))
    assert.is_false(full("\\d{12}", "11112222333"))
    assert.is_true(full("^o-[a-z0-9]{10,32}$", "o-abcdefghij"))
    assert.is_false(full("^o-[a-z0-9]{10,32}$", "o-abc"))
    assert.is_true(full("[^:*]*", "abc"))
    assert.is_false(full("[^:*]*", "a:b"))
    assert.is_true(full("[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+", "tab\there"))
    assert.is_false(full("[\\x20-\\x7E]+", "tab\there"))
  end)

  it("handles groups, alternation, lookaheads and anchors", function()
    local p = "^(r-[0-9a-z]{4,32})|(\\d{12})|(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$"
    assert.is_true(full(p, "r-ab12"))
    assert.is_true(full(p, "111122223333"))
    assert.is_true(full(p, "ou-ab12-abcd1234"))
    assert.is_false(full(p, "ou-ab"))
    assert.is_true(full("^(?=.{5,8}$)a+b*", "aaabb"))
    assert.is_false(full("^(?=.{5,8}$)a+b*", "ab"))
    assert.is_true(full("[A-Za-z](?!.*--)[0-9A-Za-z-]*[^-]", "abc-def"))
    assert.is_false(full("[A-Za-z](?!.*--)[0-9A-Za-z-]*[^-]", "abc--def"))
    assert.is_true(full("v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?", "v12.beta"))
  end)

  it("uses find semantics unless asked for a full match", function()
    assert.is_true(find("[a-z]+", "123abc456"))
    assert.is_false(full("[a-z]+", "123abc456"))
    assert.is_false(find("^[a-z]+$", "123abc"))
  end)

  it("counts UTF-8 code points and knows \\p{L}", function()
    assert.is_true(full("^.{3}$", "日本語"))
    assert.is_true(full("^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$", "Équipe 7"))
    assert.is_false(full("^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$", "a;b"))
  end)

  it("handles long values without deep recursion", function()
    local doc = ("x"):rep(200000)
    assert.is_true(full("[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+", doc))
    assert.is_true(full("[\\s\\S]*", doc))
  end)

  it("refuses syntax outside the subset instead of guessing", function()
    assert.is_nil(regex.compile("a\\1"))
    assert.is_nil(regex.compile("^arn:x/^.{1,255}$"))
    assert.is_nil(regex.compile("(?<name>a)"))
    assert.is_nil(regex.compile("(unclosed"))
  end)
end)
