-- kumo.cli.wirelog's redaction and kumo.cli.term's cleaning, unit by unit
-- (the e2e cases are in debug_spec.lua).
local wirelog = require "kumo.cli.wirelog"
local term = require "kumo.cli.term"

describe("kumo.cli.wirelog.redact", function()
  it("masks secret members of JSON bodies, escaped quotes included", function()
    local body = '{"Name":"db","SecretString":"{\\"password\\": \\"p4ss\\\\\\"zq9\\"}","SecretBinary":"c2VjcmV0",'
      .. '"MasterUserPassword": "hunter2", "Nested": {"ClientSecret": "cs-1"}, "NextToken": "tok-1"}'
    local r = wirelog.redact(body)
    for _, gone in ipairs{ "p4ss", "zq9", "c2VjcmV0", "hunter2", "cs-1" } do
      assert.is_nil(r:find(gone, 1, true), gone .. " in " .. r)
    end
    assert.truthy(r:find('"Name":"db"', 1, true))
    assert.truthy(r:find('"NextToken": "tok-1"', 1, true), r)  -- not a secret
    assert.truthy(r:find('"SecretString":"<redacted>"', 1, true), r)
  end)

  it("masks STS credentials and passwords in XML", function()
    local body = "<Credentials><AccessKeyId>ASIAEXAMPLE</AccessKeyId><SecretAccessKey>wJalr/K7+x</SecretAccessKey>"
      .. "<SessionToken>FwoGZX+/tok==</SessionToken><Expiration>2026-01-01T00:00:00Z</Expiration></Credentials>"
      .. "<MasterUserPassword>pw</MasterUserPassword>"
    local r = wirelog.redact(body)
    for _, gone in ipairs{ "wJalr", "FwoGZX", ">pw<" } do assert.is_nil(r:find(gone, 1, true), r) end
    assert.truthy(r:find("<AccessKeyId>ASIAEXAMPLE</AccessKeyId>", 1, true))
    assert.truthy(r:find("<Expiration>2026-01-01T00:00:00Z</Expiration>", 1, true))
  end)

  it("masks form-encoded parameters (query protocol bodies, URL queries)", function()
    local r = wirelog.redact("Action=CreateDBInstance&MasterUserPassword=s3cr%21t&DBName=orders"
      .. "&Users.member.1.Password=pw2&X-Amz-Security-Token=tok")
    assert.is_nil(r:find("s3cr", 1, true), r)
    assert.is_nil(r:find("pw2", 1, true), r)
    assert.is_nil(r:find("=tok", 1, true), r)
    assert.truthy(r:find("DBName=orders", 1, true))
  end)

  it("logs headers with Authorization and tokens redacted, bodies cut at 2 KB", function()
    local lines = {}
    local saved_write = wirelog.write
    wirelog.write = function(s) lines[#lines + 1] = s end
    package.loaded["kumo.sched"] = setmetatable({ request = function()
      return { status = 200, headers = { ["x-amzn-requestid"] = "r-1" }, body = string.rep("a", 5000) }
    end }, { __index = require("kumo.sched") })
    local ok, err = pcall(wirelog.transport, { method = "POST", url = "https://h/?a=1&Password=x",
      headers = { { "Authorization", "AWS4-HMAC-SHA256 Credential=AKID/..., Signature=abcdef" },
                  { "X-Amz-Security-Token", "IQoJtoken" }, { "X-Amz-Date", "20260101T000000Z" } },
      body = "" }, { service = "sts", operation = "GetCallerIdentity", attempt = 2 })
    package.loaded["kumo.sched"] = nil
    wirelog.write = saved_write
    assert.is_true(ok, tostring(err))
    local log = table.concat(lines)
    assert.truthy(log:find("(sts GetCallerIdentity, attempt 2)", 1, true), log)
    assert.truthy(log:find("Authorization: <redacted>", 1, true), log)
    assert.truthy(log:find("X-Amz-Security-Token: <redacted>", 1, true), log)
    assert.truthy(log:find("X-Amz-Date: 20260101T000000Z", 1, true), log)
    assert.truthy(log:find("Password=<redacted>", 1, true), log)
    assert.is_nil(log:find("abcdef", 1, true))
    assert.is_nil(log:find("IQoJ", 1, true))
    assert.truthy(log:find("... [5000 bytes, cut at 2048]", 1, true), log)
    assert.truthy(log:find("<<< 200 in %d+ ms"), log)
  end)
end)

describe("kumo.cli.term", function()
  it("escapes C0, DEL and C1 controls; keeps tabs, newlines and UTF-8 text", function()
    assert.are.equal("a\\x1b[2Jb\\x07c\\x7f\\u009b\t雲\n", term.clean("a\27[2Jb\7c\127\194\155\t雲\n"))
    assert.are.equal("one two three", term.line("one\r\ntwo\tthree"))
  end)
end)
