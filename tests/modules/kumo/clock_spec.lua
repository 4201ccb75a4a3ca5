-- kumo.clock: formats both ways, fractions, zones, rejection of garbage.
local clock = require "kumo.clock"

local T = 1440938160  -- 2015-08-30T12:36:00Z, the SigV4 suite's time

describe("kumo.clock", function()
  it("formats ISO 8601, X-Amz-Date and RFC 822", function()
    assert.equal("2015-08-30T12:36:00Z", clock.iso8601(T))
    assert.equal("20150830T123600Z", clock.amz_date(T))
    assert.equal("Sun, 30 Aug 2015 12:36:00 GMT", clock.rfc822(T))
    assert.equal("Thu, 01 Jan 1970 00:00:00 GMT", clock.rfc822(0))
    assert.equal("2000-02-29T23:59:59Z", clock.iso8601(951868799))
    assert.equal("1969-12-31T23:59:59Z", clock.iso8601(-1))
    assert.equal("9999-12-31T23:59:59Z", clock.iso8601(253402300799))
  end)

  it("adds milliseconds only when asked and when there is a fraction", function()
    assert.equal("2015-08-30T12:36:00.123Z", clock.iso8601(T + 0.123, true))
    assert.equal("2015-08-30T12:36:00Z", clock.iso8601(T + 0.123))
    assert.equal("2015-08-30T12:36:00Z", clock.iso8601(T, true))
    assert.equal("2015-08-30T12:36:01.000Z", clock.iso8601(T + 0.9999, true))
    -- truncation never: .5 stays .500
    assert.equal("2015-08-30T12:36:00.500Z", clock.iso8601(T + 0.5, true))
  end)

  it("parses every format it writes back to the same time", function()
    for _, t in ipairs { 0, T, 951868799, 4102444800, -86400 } do
      assert.equal(t, clock.parse(clock.iso8601(t)))
      assert.equal(t, clock.parse(clock.amz_date(t)))
      assert.equal(t, clock.parse(clock.rfc822(t)))
    end
    assert.near(T + 0.123, clock.parse(clock.iso8601(T + 0.123, true)), 1e-6)
  end)

  it("parses ISO 8601 with fractions and offsets", function()
    assert.equal(T, clock.parse("2015-08-30T12:36:00Z"))
    assert.equal(T, clock.parse("2015-08-30T12:36:00.000Z"))
    assert.near(T + 0.123456, clock.parse("2015-08-30T12:36:00.123456Z"), 1e-6)
    assert.equal(T, clock.parse("2015-08-30T14:36:00+02:00"))
    assert.equal(T, clock.parse("2015-08-30T07:06:00-0530"))
    assert.equal(T, clock.parse("2015-08-30T12:36:00+00:00"))
    assert.equal(T, clock.parse("2015-08-30 12:36:00Z"))
    assert.equal(T, clock.parse("2015-08-30t12:36:00z"))
    -- no zone (some emulators): UTC
    assert.equal(T, clock.parse("2015-08-30T12:36:00"))
    assert.equal(1440892800, clock.parse("2015-08-30"))
    assert.equal(T, clock.parse("20150830T123600Z"))
  end)

  it("parses RFC 822 / HTTP dates and epoch numbers", function()
    assert.equal(T, clock.parse("Sun, 30 Aug 2015 12:36:00 GMT"))
    assert.equal(T, clock.parse("30 Aug 2015 12:36:00 GMT"))
    assert.equal(T, clock.parse("Sun, 30 Aug 2015 12:36:00 UTC"))
    assert.equal(T, clock.parse("Sun, 30 Aug 2015 14:36:00 +0200"))
    assert.equal(T, clock.parse("1440938160"))
    assert.equal(T + 0.25, clock.parse("1440938160.25"))
    assert.equal(T, clock.parse("  1440938160 "))
    assert.equal("float", math.type(clock.parse("1440938160")))
  end)

  it("rejects garbage with nil and a message naming the input", function()
    local bad = { "", "garbage", "2015-13-01T00:00:00Z", "2015-02-29T00:00:00Z",
      "2015-08-30T25:00:00Z", "2015-08-30T12:36:00Zjunk", "2015-08-30T12:36",
      "2015-08-30T12:36:00.Z", "2015-08-30T12:36:00+2", "Sun, 30 Foo 2015 12:36:00 GMT",
      "Sun, 30 Aug 2015 12:36:00 PST", "Sun 30 Aug 2015 12:36:00 GMT", "12ab", "1e9",
      "2015/08/30" }
    for _, s in ipairs(bad) do
      local t, msg = clock.parse(s)
      assert.is_nil(t, s)
      assert.matches("clock.parse: cannot parse", msg, 1, true)
    end
    local _, msg = clock.parse("2015-02-30T00:00:00Z")
    assert.matches("day out of range", msg, 1, true)
    assert.matches("'2015-02-30T00:00:00Z'", msg, 1, true)
  end)

  it("gives wall and monotonic time, and sleeps", function()
    assert.near(os.time(), clock.now(), 2)
    assert.equal("float", math.type(clock.now()))
    local t0 = clock.monotonic()
    clock.sleep(0.05)
    local dt = clock.monotonic() - t0
    assert.is_true(dt >= 0.049 and dt < 1, "slept " .. dt)
    clock.sleep(-1)  -- negative: returns at once
  end)

  it("raises on bad arguments, naming them", function()
    assert.has_error(function() clock.iso8601("x") end)
    assert.has_error(function() clock.parse(nil) end)
    assert.has_error(function() clock.rfc822(1e300) end)
    assert.has_error(function() clock.sleep(0 / 0) end)
    local ok, err = pcall(clock.amz_date, 1e13)
    assert.is_false(ok)
    assert.matches("bad argument #1", err, 1, true)
    assert.matches("years 0000%-9999", err)
  end)
end)

-- Every form kumo.clock.parse accepts, each read by botocore's
-- parse_timestamp (python3, botocore 1.43) too: both must give the same
-- epoch seconds. botocore keeps a zone-less time naive; AWS means UTC by it,
-- as kumo does, so the comparison reads naive times as UTC.
describe("kumo.clock.parse agrees with botocore's parse_timestamp", function()
  local FORMS = {
    -- ISO 8601 extended, with and without a fraction
    "2015-08-30T12:36:00Z", "2015-08-30T12:36:00.123Z", "2015-08-30T12:36:00.123456Z",
    "2015-08-30T12:36:00,5Z",
    -- offsets: +hh:mm, -hhmm, -hh
    "2015-08-30T14:36:00+02:00", "2015-08-30T07:06:00-0530", "2015-08-30T07:06:00-05",
    "2015-08-30T12:36:00+00:00",
    -- a space or lower-case separator and zone
    "2015-08-30 12:36:00Z", "2015-08-30t12:36:00z",
    -- no zone (UTC), a date alone (midnight UTC), the basic form
    "2015-08-30T12:36:00", "2015-08-30", "20150830T123600Z",
    -- the AWS CLI credential cache's suffix
    "2030-01-02T03:04:05UTC", "2030-01-02T03:04:05GMT",
    -- RFC 822 / RFC 1123 HTTP-dates
    "Sun, 30 Aug 2015 12:36:00 GMT", "30 Aug 2015 12:36:00 GMT", "Sun, 30 Aug 2015 12:36:00 UTC",
    "Sun, 30 Aug 2015 14:36:00 +0200", "Sun, 30 Aug 2015 12:36:00.5 GMT",
    -- epoch seconds as text
    "1440938160", "1440938160.25", "-86400", " 1440938160 ",
  }

  local function botocore(forms)
    local path = os.tmpname()
    local f = assert(io.open(path, "w"))
    f:write(table.concat(forms, "\n"), "\n")
    f:close()
    local p = assert(io.popen("python3 -c '"
      .. "import sys\n"
      .. "from botocore.utils import parse_timestamp\n"
      .. "from dateutil.tz import tzutc\n"
      .. "for line in open(sys.argv[1]):\n"
      .. "    d = parse_timestamp(line.rstrip(\"\\n\"))\n"
      .. "    d = d if d.tzinfo else d.replace(tzinfo=tzutc())\n"
      .. "    print(repr(d.timestamp()))\n"
      .. "' " .. path))
    local out = {}
    for line in p:lines() do out[#out + 1] = tonumber(line) end
    p:close()
    os.remove(path)
    return out
  end

  it("on every accepted form", function()
    local want = botocore(FORMS)
    assert.equal(#FORMS, #want, "botocore read every form")
    for i, s in ipairs(FORMS) do
      local t, err = clock.parse(s)
      assert.is_number(t, s .. ": " .. tostring(err))
      assert.near(want[i], t, 1e-6, s)
    end
  end)

  it("passes epoch numbers through as they are", function()
    assert.equal(T, clock.parse(T))
    assert.equal(T + 0.5, clock.parse(T + 0.5))
  end)
end)
