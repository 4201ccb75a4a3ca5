--- The per-key limiter against an AWS-like server, on a virtual clock.
-- The server throttles as EC2 documents ("the token bucket size for
-- DescribeHosts, a non-mutating API action, is 100 tokens ... the refill rate
-- is 20 tokens per second"); 50 tasks each make calls back to back (50 ms per
-- answer) until 2,000 have succeeded; a throttled call is retried with
-- long mode's backoff (rand x min(2^(n-1), 20) s). Compared: the old fixed
-- ceiling (20/s, burst 40), the new ceiling alone (100/s, burst 100, what a
-- standard-mode client meets) and the new ceiling with the adaptive limiter
-- fed by every answer (adaptive and long modes). Also the cost of one
-- reserve + on_response in the process-wide limiter.
-- Usage: kumo run bench/ratelimit/sim.lua
local ratelimit = require "kumo.ratelimit"
local clock = require "kumo.clock"

local TASKS, GOAL, LATENCY = 50, 2000, 0.05
local KEY = "111111111111/ec2/us-east-1"

local function simulate(ceiling, adaptive, seed)
  math.randomseed(seed)
  local now = 0
  local lim = ratelimit.new{ rate = ceiling[1], burst = ceiling[2], now = function() return now end }
  local server = { tokens = 100, last = 0 }
  local function server_ok(t)
    server.tokens = math.min(100, server.tokens + (t - server.last) * 20)
    server.last = t
    if server.tokens >= 1 then server.tokens = server.tokens - 1 return true end
    return false
  end
  -- events: { at, task, kind = "want" | "send", tries }
  local q = {}
  local function push(e)
    local i = #q + 1
    q[i] = e
    while i > 1 and q[i // 2].at > q[i].at do q[i], q[i // 2] = q[i // 2], q[i]; i = i // 2 end
  end
  local function pop()
    local top, n = q[1], #q
    q[1] = q[n]; q[n] = nil; n = n - 1
    local i = 1
    while true do
      local l, r, m = 2 * i, 2 * i + 1, i
      if l <= n and q[l].at < q[m].at then m = l end
      if r <= n and q[r].at < q[m].at then m = r end
      if m == i then break end
      q[i], q[m] = q[m], q[i]; i = m
    end
    return top
  end
  for i = 1, TASKS do push{ at = 0, task = i, kind = "want", tries = 0 } end
  local done, sent, throttled, finish = 0, 0, 0, 0
  while #q > 0 do
    local e = pop()
    now = e.at
    if e.kind == "want" then
      if done >= GOAL then goto continue end
      local w = lim:reserve(KEY, now)
      push{ at = now + w, task = e.task, kind = "send", tries = e.tries, sent = now }
    else
      sent = sent + 1
      local ok = server_ok(now)
      local t = now + LATENCY
      now = t
      if adaptive then lim:on_response(KEY, not ok, t, adaptive == "long" and e.sent or nil) end
      if ok then
        done = done + 1
        if done == GOAL then finish = t end
        push{ at = t, task = e.task, kind = "want", tries = 0 }
      else
        throttled = throttled + 1
        local n = e.tries + 1
        push{ at = t + math.random() * math.min(2 ^ (n - 1), 20), task = e.task, kind = "want", tries = n }
      end
    end
    ::continue::
  end
  return finish, sent, throttled
end

print(string.format("%d tasks, %d calls, 50 ms per answer, against a server bucket of 100 tokens "
  .. "refilled at 20/s (EC2's documented DescribeHosts bucket; floor %.1f s)", TASKS, GOAL, (GOAL - 100) / 20))
print(string.format("  %-44s %8s %8s %10s", "client", "time s", "sent", "throttled"))
for _, c in ipairs{
  { "old ceiling 20/s burst 40, no adaptive", { 20, 40 }, false },
  { "ceiling 100/s burst 100, no adaptive (standard)", { 100, 100 }, false },
  { "ceiling 100/s + adaptive, botocore's (adaptive)", { 100, 100 }, true },
  { "ceiling 100/s + adaptive, one cut per round (long)", { 100, 100 }, "long" },
} do
  local t, s, th = 0, 0, 0
  for seed = 1, 5 do
    local a, b, d = simulate(c[2], c[3], seed)
    t, s, th = t + a, s + b, th + d
  end
  print(string.format("  %-44s %8.1f %8d %9.1f%%", c[1], t / 5, s // 5, 100 * th / s))
end

-- cost of the limiter per request (ceiling + adaptive on), real clock
local lim = ratelimit.new{ rate = 1e9, burst = 1e9 }
lim:on_response(KEY, true) -- the adaptive bucket on
lim:configure{ min_rate = 1e9 }
local n = 200000
local t0 = clock.monotonic()
for i = 1, n do
  lim:reserve(KEY)
  lim:on_response(KEY, i % 1000 == 0)
end
print(string.format("limiter cost: %.2f us per request (reserve + on_response, adaptive on)",
  (clock.monotonic() - t0) / n * 1e6))
