-- kumo.endpoint_rules: the Smithy endpoint rule-set evaluator on its own:
-- each function, templates, assign, error and tree rules, parameters, and
-- the functions against botocore's own RuleSetStandardLibrary.
local rules = require "kumo.endpoint_rules"
local json = require "kumo.json"

local fns = rules.functions

-- Partition data in botocore's partitions.json shape.
local PARTITIONS = { partitions = {
  { id = "aws", regionRegex = "^(us|eu)\\-\\w+\\-\\d+$", regions = { ["aws-global"] = {} },
    outputs = { dnsSuffix = "amazonaws.com", dualStackDnsSuffix = "api.aws", supportsFIPS = true,
      supportsDualStack = true, implicitGlobalRegion = "us-east-1" } },
  { id = "aws-cn", regionRegex = "^cn\\-\\w+\\-\\d+$", regions = { ["aws-cn-global"] = {} },
    outputs = { dnsSuffix = "amazonaws.com.cn", supportsFIPS = false, supportsDualStack = true,
      implicitGlobalRegion = "cn-northwest-1" } },
} }

local function ref(name) return { ref = name } end
local function fn(name, ...) return { fn = name, argv = { ... } } end

-- A rule set with the usual parameters and the given rules.
local function ruleset(rule_list, params)
  return { version = "1.0", rules = rule_list, parameters = params or {
    Region = { type = "String", builtIn = "AWS::Region" },
    UseFIPS = { type = "Boolean", builtIn = "AWS::UseFIPS", required = true, default = false },
    Endpoint = { type = "String", builtIn = "SDK::Endpoint" },
  } }
end

local function endpoint(url, extra)
  local e = { type = "endpoint", conditions = {}, endpoint = { url = url } }
  for k, v in pairs(extra or {}) do e[k] = v end
  return e
end

describe("kumo.endpoint_rules functions", function()
  it("isSet, not, booleanEquals, stringEquals", function()
    assert.is_true(fns.isSet(nil, "x"))
    assert.is_true(fns.isSet(nil, false))
    assert.is_false(fns.isSet(nil, nil))
    assert.is_true(fns["not"](nil, false))
    assert.is_false(fns["not"](nil, true))
    assert.is_true(fns["not"](nil, ""), "Python's not: an empty string is false")
    assert.is_true(fns.booleanEquals(nil, true, true))
    assert.is_false(fns.booleanEquals(nil, true, false))
    assert.is_true(fns.stringEquals(nil, "a", "a"))
    assert.is_false(fns.stringEquals(nil, "a", "b"))
    local _, msg = rules.resolve(ruleset{ { type = "error", conditions = {
      fn("booleanEquals", ref("Region"), true) }, error = "x" } }, { Region = "us-east-1" }, PARTITIONS)
    assert.matches("must be bools", msg, 1, true)
    _, msg = rules.resolve(ruleset{ { type = "error", conditions = {
      fn("stringEquals", ref("UseFIPS"), "true") }, error = "x" } }, {}, PARTITIONS)
    assert.matches("must be strings", msg, 1, true)
  end)

  it("getAttr walks names and a trailing 0-based index", function()
    local v = { a = { b = { "x", "y" } }, name = "aws" }
    assert.are.equal("aws", fns.getAttr(nil, v, "name"))
    assert.are.equal("y", fns.getAttr(nil, v, "a.b[1]"))
    assert.are.equal("x", fns.getAttr(nil, { "x" }, "[0]"))
    assert.is_nil(fns.getAttr(nil, v, "a.b[2]"))
    assert.is_nil(fns.getAttr(nil, v, "a.missing[0]"))
    -- as botocore: an index ends the walk
    assert.are.equal("x", fns.getAttr(nil, v, "a.b[0].ignored"))
  end)

  it("substring counts from the start or the end and refuses what is out of range", function()
    assert.are.equal("abc", fns.substring(nil, "abcdef", 0, 3, false))
    assert.are.equal("def", fns.substring(nil, "abcdef", 0, 3, true))
    assert.are.equal("cd", fns.substring(nil, "abcdef", 2, 4, false))
    assert.is_nil(fns.substring(nil, "abc", 0, 4, false))
    assert.is_nil(fns.substring(nil, "abc", 2, 2, false))
    assert.is_nil(fns.substring(nil, "ab\195\169", 0, 2, false), "non-ASCII")
  end)

  it("uriEncode keeps only the unreserved characters", function()
    assert.are.equal("a%2Fb%20c~d.e_f-g%3A%C3%A9", fns.uriEncode(nil, "a/b c~d.e_f-g:\195\169"))
    assert.is_nil(fns.uriEncode(nil, nil))
  end)

  it("parseURL splits http(s) URLs without a query", function()
    assert.are.same({ scheme = "https", authority = "example.com:8443", path = "/a/./b//c",
      normalizedPath = "/a/b/c/", isIp = false }, fns.parseURL(nil, "https://example.com:8443/a/./b//c"))
    assert.are.same({ scheme = "http", authority = "127.0.0.1", path = "", normalizedPath = "/",
      isIp = true }, fns.parseURL(nil, "http://127.0.0.1"))
    assert.is_true(fns.parseURL(nil, "https://[::1]:443/").isIp)
    assert.is_true(fns.parseURL(nil, "https://[fe80::1%25en0]/").isIp)
    assert.is_nil(fns.parseURL(nil, "https://example.com/?a=b"), "a query")
    assert.is_nil(fns.parseURL(nil, "ftp://example.com"), "another scheme")
    assert.is_nil(fns.parseURL(nil, "https://example.com:http/"), "a port that is no number")
    assert.is_nil(fns.parseURL(nil, nil))
  end)

  it("isValidHostLabel, with and without subdomains", function()
    assert.is_true(fns.isValidHostLabel(nil, "us-east-1", false))
    assert.is_false(fns.isValidHostLabel(nil, "-us", false))
    assert.is_false(fns.isValidHostLabel(nil, "a.b", false))
    assert.is_true(fns.isValidHostLabel(nil, "a.b", true))
    assert.is_false(fns.isValidHostLabel(nil, "a..b", true))
    assert.is_false(fns.isValidHostLabel(nil, string.rep("a", 64), false))
    assert.is_false(fns.isValidHostLabel(nil, nil, false))
  end)

  it("aws.partition: by region list, by regex, else the first partition", function()
    local p = fns["aws.partition"]
    assert.are.equal("aws", p(PARTITIONS, "us-east-1").name)
    assert.are.equal("amazonaws.com.cn", p(PARTITIONS, "cn-north-1").dnsSuffix)
    assert.are.equal("aws-cn", p(PARTITIONS, "aws-cn-global").name)
    assert.are.equal("aws", p(PARTITIONS, "mars-west-1").name)
    assert.are.equal("aws", p(PARTITIONS, nil).name)
  end)

  it("aws.parseArn and aws.isVirtualHostableS3Bucket", function()
    assert.are.same({ partition = "aws", service = "s3", region = "", accountId = "",
      resourceId = { "bucket", "key", "x" } }, fns["aws.parseArn"](nil, "arn:aws:s3:::bucket/key:x"))
    assert.are.same({ partition = "aws", service = "iam", region = "", accountId = "123",
      resourceId = { "role", "r" } }, fns["aws.parseArn"](nil, "arn:aws:iam::123:role/r"))
    assert.is_nil(fns["aws.parseArn"](nil, "arn:aws:s3::"))
    assert.is_nil(fns["aws.parseArn"](nil, "arn::s3:::x"))
    assert.is_nil(fns["aws.parseArn"](nil, "not-an-arn"))
    local v = fns["aws.isVirtualHostableS3Bucket"]
    assert.is_true(v(nil, "my-bucket", false))
    assert.is_false(v(nil, "My-Bucket", false))
    assert.is_false(v(nil, "ab", false))
    assert.is_false(v(nil, "10.0.0.1", true))
    assert.is_true(v(nil, "a.b.c", true))
    assert.is_false(v(nil, "a.b.c", false))
  end)
end)

describe("kumo.endpoint_rules evaluation", function()
  it("expands templates in URLs, properties and headers", function()
    local rs = ruleset{ {
      type = "endpoint",
      conditions = { { fn = "aws.partition", argv = { ref("Region") }, assign = "PartitionResult" } },
      endpoint = {
        url = "https://svc.{Region}.{PartitionResult#dnsSuffix}",
        properties = { authSchemes = { { name = "sigv4", signingRegion = "{Region}",
          signingName = "svc" } }, literal = "{{not a template}}" },
        headers = { ["x-region"] = { "{Region}", ref("Region") } },
      },
    } }
    local ep = rules.resolve(rs, { Region = "cn-north-1" }, PARTITIONS)
    assert.are.equal("https://svc.cn-north-1.amazonaws.com.cn", ep.url)
    assert.are.equal("cn-north-1", ep.properties.authSchemes[1].signingRegion)
    assert.are.equal("{{not a template}}", ep.properties.literal, "no reference: left as is")
    assert.are.same({ "cn-north-1", "cn-north-1" }, ep.headers["x-region"])
    rs.rules[1].endpoint.url = "https://{{x}}.{Region}"
    assert.are.equal("https://{x}.cn-north-1", rules.resolve(rs, { Region = "cn-north-1" }, PARTITIONS).url)
  end)

  it("assign binds for the rule and its sub-rules, never for the rules after it", function()
    local rs = ruleset{
      { type = "tree", conditions = { { fn = "substring", argv = { ref("Region"), 0, 2, false },
          assign = "Prefix" }, fn("stringEquals", ref("Prefix"), "zz") },
        rules = { endpoint("https://never") } },
      -- Prefix from the rule above is not set here
      { type = "endpoint", conditions = { fn("isSet", ref("Prefix")) },
        endpoint = { url = "https://leaked" } },
      { type = "tree", conditions = { { fn = "substring", argv = { ref("Region"), 0, 2, false },
          assign = "Prefix" } },
        rules = { endpoint("https://{Prefix}.example") } },
    }
    assert.are.equal("https://us.example", rules.resolve(rs, { Region = "us-east-1" }, PARTITIONS).url)
  end)

  it("refuses to assign a name twice", function()
    local rs = ruleset{ { type = "endpoint", endpoint = { url = "https://x" }, conditions = {
      { fn = "isSet", argv = { ref("Region") }, assign = "Region" } } } }
    local ep, msg, own = rules.resolve(rs, { Region = "us-east-1" }, PARTITIONS)
    assert.is_nil(ep)
    assert.matches("Assignment Region already exists", msg, 1, true)
    assert.is_false(own)
  end)

  it("returns an error rule's message (a template) and says it is the rule's", function()
    local rs = ruleset{
      { type = "error", conditions = { fn("booleanEquals", ref("UseFIPS"), true) },
        error = "FIPS is not supported in {Region}" },
      endpoint("https://ok"),
    }
    local ep, msg, own = rules.resolve(rs, { Region = "eu-west-1", UseFIPS = true }, PARTITIONS)
    assert.is_nil(ep)
    assert.are.equal("FIPS is not supported in eu-west-1", msg)
    assert.is_true(own)
    assert.are.equal("https://ok", rules.resolve(rs, { Region = "eu-west-1" }, PARTITIONS).url)
  end)

  it("goes on after a tree none of whose rules applies", function()
    local rs = ruleset{
      { type = "tree", conditions = { fn("isSet", ref("Region")) }, rules = {
        { type = "endpoint", conditions = { fn("stringEquals", ref("Region"), "x") },
          endpoint = { url = "https://x" } } } },
      { type = "endpoint", conditions = {}, endpoint = { url = ref("Endpoint") } },
    }
    assert.are.equal("https://custom", rules.resolve(rs, { Region = "y", Endpoint = "https://custom" },
      PARTITIONS).url)
    local ep, msg = rules.resolve(ruleset{ rs.rules[1] }, { Region = "y" }, PARTITIONS)
    assert.is_nil(ep)
    assert.matches("No endpoint found for parameters: Region: y", msg, 1, true)
  end)

  it("applies defaults, requires required parameters and checks types", function()
    local params = { Flag = { type = "Boolean", required = true, default = true },
      Name = { type = "String", required = true } }
    local rs = ruleset({ { type = "endpoint", conditions = { fn("booleanEquals", ref("Flag"), true) },
      endpoint = { url = "https://{Name}" } } }, params)
    assert.are.equal("https://n", rules.resolve(rs, { Name = "n" }, PARTITIONS).url)
    local ep, msg = rules.resolve(rs, {}, PARTITIONS)
    assert.is_nil(ep)
    assert.are.equal("Cannot find value for required parameter Name", msg)
    ep, msg = rules.resolve(rs, { Name = "n", Flag = "yes" }, PARTITIONS)
    assert.is_nil(ep)
    assert.matches("Value (Flag) is the wrong type", msg, 1, true)
  end)

  it("names an unknown function and an unknown rule type", function()
    local ep, msg, own = rules.resolve(ruleset{ { type = "endpoint", endpoint = { url = "https://x" },
      conditions = { fn("aws.frobnicate", ref("Region")) } } }, { Region = "r" }, PARTITIONS)
    assert.is_nil(ep)
    assert.matches('unknown function "aws.frobnicate"', msg, 1, true)
    assert.matches("aws.partition", msg, 1, true)
    assert.is_false(own)
    ep, msg = rules.resolve(ruleset{ { type = "redirect", conditions = {} } }, {}, PARTITIONS)
    assert.is_nil(ep)
    assert.matches("Unknown rule type: redirect", msg, 1, true)
  end)
end)

describe("kumo.endpoint_rules against botocore's RuleSetStandardLibrary", function()
  local CASES = {
    { "parseURL", { "https://example.com" } }, { "parseURL", { "http://EXAMPLE.com:80/a/../b/" } },
    { "parseURL", { "https://example.com/a%20b/c d" } }, { "parseURL", { "https://1.2.3.4:99999" } },
    { "parseURL", { "https://[2001:db8::1]/x" } }, { "parseURL", { "https://[::ffff:1.2.3.4]" } },
    { "parseURL", { "https://user@host:1/p;params" } }, { "parseURL", { "https://example.com#frag" } },
    { "parseURL", { "https://999.1.1.1" } }, { "parseURL", { "https://[1:2:3:4:5:6:7::]" } },
    { "uriEncode", { "a b/c?d=e&f+g" } }, { "uriEncode", { "~._-!*'()" } },
    { "isValidHostLabel", { "abc-1", false } }, { "isValidHostLabel", { "abc.def", true } },
    { "isValidHostLabel", { "abc.-def", true } }, { "isValidHostLabel", { "", false } },
    { "isValidHostLabel", { "ab_c", false } },
    { "substring", { "abcdefg", 1, 4, true } }, { "substring", { "abc", 0, 3, false } },
    { "aws.parseArn", { "arn:aws:sqs:us-east-1:123:q" } }, { "aws.parseArn", { "arn:aws::r:a:x" } },
    { "aws.isVirtualHostableS3Bucket", { "a-b.c", true } },
    { "aws.isVirtualHostableS3Bucket", { "1.2.3.4", false } },
  }

  it("gives the same results", function()
    local probe = io.popen("python3 -c 'import botocore' 2>&1; echo $?")
    local rc = probe:read("a"):match("(%d+)%s*$")
    probe:close()
    assert.are.equal("0", rc, "python3 with botocore is needed for this comparison")
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write([[
import json, sys
from botocore.endpoint_provider import RuleSetStandardLibrary
lib = RuleSetStandardLibrary({"partitions": []})
for line in sys.stdin:
    name, args = json.loads(line)
    py = lib.convert_func_name(name)
    print(json.dumps(getattr(lib, py)(*args)))
]])
    f:close()
    local input = os.tmpname()
    f = assert(io.open(input, "w"))
    for _, c in ipairs(CASES) do f:write(json.encode{ c[1], json.array(c[2]) }, "\n") end
    f:close()
    local p = io.popen("python3 " .. script .. " < " .. input)
    local i = 0
    for line in p:lines() do
      i = i + 1
      local c = CASES[i]
      local want = json.decode(line)
      if want == json.null then want = nil end
      local got = fns[c[1]](nil, table.unpack(c[2]))
      assert.are.same(want, got, c[1] .. " " .. json.encode(json.array(c[2])))
    end
    p:close()
    os.remove(script)
    os.remove(input)
    assert.are.equal(#CASES, i)
  end)
end)
