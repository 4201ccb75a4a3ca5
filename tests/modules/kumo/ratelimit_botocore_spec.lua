-- kumo.ratelimit's adaptive parts against botocore's own (the default
-- python3's botocore.retries.adaptive / throttling / bucket), event by event
-- on the same fake clock: tests/retry/adaptive_cases.py drives botocore's
-- ClientRateLimiter and prints its state after each send and answer.
local json = require "kumo.json"
local ratelimit = require "kumo.ratelimit"

local root = os.getenv("KUMO_ROOT") or "."

local function close(a, b)
  if a == b then return true end
  return math.abs(a - b) <= 1e-9 * math.max(1, math.abs(a), math.abs(b))
end

describe("kumo.ratelimit adaptive limiter vs botocore 1.43", function()
  local runs = {}
  setup(function()
    local p = assert(io.popen("python3 " .. root .. "/tests/retry/adaptive_cases.py 400"))
    local cur
    for line in p:lines() do
      local ev = json.decode(line)
      if ev.seed then cur = { seed = ev.seed, start = ev.start, events = {} }; runs[#runs + 1] = cur
      else cur.events[#cur.events + 1] = ev end
    end
    assert(p:close(), "botocore side failed")
  end)

  it("gives the same rates, capacities, measured rates and CUBIC state on 6 x 400 events", function()
    assert.equal(6, #runs)
    local checked, throttles, refused = 0, 0, 0
    for _, run in ipairs(runs) do
      local a = ratelimit.adaptive(run.start)
      for i, ev in ipairs(run.events) do
        local where = string.format("seed %d event %d (%s at %.3f)", run.seed, i, ev.event, ev.t)
        if ev.event == "send" then
          local ok = true
          if a.enabled then ok = a.bucket:try_take(ev.t) end
          assert.equal(ev.acquired, ok, where .. ": acquired")
          if not ok then refused = refused + 1 end
        else
          a:on_response(ev.throttled, ev.t)
          if ev.throttled then throttles = throttles + 1 end
        end
        assert.equal(ev.enabled, a.enabled, where .. ": enabled")
        for _, f in ipairs{ { "fill_rate", a.bucket.fill_rate }, { "max_capacity", a.bucket.max_capacity },
            { "capacity", a.bucket.capacity }, { "measured", a.clocker.measured_rate },
            { "w_max", a.cubic.w_max }, { "k", a.cubic.k }, { "last_fail", a.cubic.last_fail } } do
          assert.is_true(close(ev[f[1]], f[2]), string.format("%s: %s botocore %.17g kumo %.17g",
            where, f[1], ev[f[1]], f[2]))
        end
        checked = checked + 1
      end
    end
    assert.equal(2400, checked)
    -- the grid exercised the interesting paths
    assert.truthy(throttles > 100, "throttles " .. throttles)
    assert.truthy(refused > 20, "refused sends " .. refused)
  end)

  it("CubicCalculator: the same rates after success and error", function()
    local p = assert(io.popen([[python3 -c '
from botocore.retries.throttling import CubicCalculator
c = CubicCalculator(starting_max_rate=10, start_time=0)
out = [c.success_received(t / 4) for t in range(0, 40)]
out.append(c.error_received(12.5, 3.0))
out += [c.success_received(3.0 + t / 3) for t in range(0, 30)]
print(" ".join(repr(x) for x in out))']]))
    local line = p:read("l")
    p:close()
    local c = ratelimit.cubic(10, 0)
    local mine = {}
    for t = 0, 39 do mine[#mine + 1] = c:success_received(t / 4) end
    mine[#mine + 1] = c:error_received(12.5, 3.0)
    for t = 0, 29 do mine[#mine + 1] = c:success_received(3.0 + t / 3) end
    local i = 0
    for v in line:gmatch("%S+") do
      i = i + 1
      assert.is_true(close(tonumber(v), mine[i]), "value " .. i .. ": " .. v .. " vs " .. mine[i])
    end
    assert.equal(71, i)
  end)
end)
