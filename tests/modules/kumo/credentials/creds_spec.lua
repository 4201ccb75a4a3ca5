-- kumo.credentials.creds: redaction, validation, time parsing.
local creds = require "kumo.credentials.creds"

describe("credentials object", function()
  local c = creds.new{ access_key_id = "ASIAXXXXSECRETPART", secret_access_key = "wJalrXUtnFEMI/K7MDENG",
    session_token = "FwoGZXIvYXdzEJr//////////token", expiration = "2030-01-02T03:04:05Z",
    source = "profile \"x\"" }

  it("prints without key, secret or token", function()
    local s = tostring(c)
    assert.falsy(s:find("SECRETPART", 1, true))
    assert.falsy(s:find("wJalr", 1, true))
    assert.falsy(s:find("FwoGZ", 1, true))
    assert.truthy(s:find("ASIA", 1, true))
    assert.truthy(s:find("2030-01-02T03:04:05Z", 1, true))
    assert.truthy(s:find("session token", 1, true))
  end)

  it("keeps secrets out of error messages and tracebacks", function()
    local ok, err = xpcall(function() error("failed with " .. tostring(c)) end, debug.traceback)
    assert.is_false(ok)
    assert.falsy(err:find("wJalr", 1, true))
    assert.falsy(err:find("FwoGZ", 1, true))
  end)

  it("is read-only", function()
    assert.has_error(function() c.secret_access_key = "x" end)
  end)

  it("names a missing field", function()
    local ok, err = pcall(creds.new, { access_key_id = "AKIA", source = "profile \"p\"" })
    assert.is_false(ok)
    assert.truthy(err:find("profile \"p\": credentials need secret_access_key", 1, true), err)
  end)

  it("parses the time formats AWS and the AWS CLI cache write", function()
    local t = 1893553445   -- 2030-01-02T03:04:05Z
    assert.are.equal(t, creds.parse_time("2030-01-02T03:04:05Z"))
    assert.are.equal(t, creds.parse_time("2030-01-02T03:04:05UTC"))
    assert.are.equal(t, creds.parse_time("2030-01-02T03:04:05+00:00"))
    assert.are.equal(t, creds.parse_time("2030-01-02T05:04:05+02:00"))
    assert.are.equal(t + 0.5, creds.parse_time("2030-01-02T03:04:05.500Z"))
    assert.are.equal(t, creds.parse_time(tostring(t)))
    assert.is_nil(creds.parse_time("tomorrow"))
    assert.are.equal("2030-01-02T03:04:05Z", creds.iso8601(t))
    assert.are.equal(t, c.expiration)
  end)

  it("rejects an unreadable expiration, naming it", function()
    local ok, err = pcall(creds.new, { access_key_id = "a", secret_access_key = "b", expiration = "soon" })
    assert.is_false(ok)
    assert.truthy(err:find("expiration \"soon\"", 1, true))
  end)
end)
