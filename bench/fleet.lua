--- bench/fleet.lua: many accounts at once (issue 5's performance goal).
--
-- Against a sandbox with LATENCY ms added to every call: one task = assume
-- a role in the RDS account, then wait (kumo's DBProxyAvailable waiter,
-- DELAY s between polls) for a proxy that needs POLLS describes to become
-- available. Measures one task alone, then N at once (kumo.parallel), and
-- prints time, the ratio, connections opened against the in-flight limit,
-- requests, and memory (VmRSS / VmHWM of this process).
--
-- usage: kumo run bench/fleet.lua [N=50] [LATENCY=100] [POLLS=5] [DELAY=1]
-- Then the same with boto3 and threads (bench/fleet_boto3.py) unless
-- FLEET_BOTO3=0.
local root = os.getenv("KUMO_ROOT") or "."
package.path = root .. "/?.lua;" .. package.path
local sandbox = dofile(root .. "/tests/lib/sandbox.lua")
local kumo = require "kumo"
local aws = require "kumo.aws"
local sched = require "kumo.sched"
local ratelimit = require "kumo.ratelimit"
local http = require "kumo.http"
local clock = require "kumo.clock"
local json = require "kumo.json"

local N = tonumber(arg[1]) or 50
local LATENCY = tonumber(arg[2]) or 100
local POLLS = tonumber(arg[3]) or 5
local DELAY = tonumber(arg[4]) or 1
-- FLEET_BOTO3=0 skips the boto3 baseline
local BASELINE = os.getenv("FLEET_BOTO3") == "0" and 0 or N + 1

local function status_kb(field)
  local f = io.open("/proc/self/status")
  local s = f:read("a")
  f:close()
  return tonumber(s:match(field .. ":%s*(%d+) kB"))
end

local rss0 = status_kb("VmRSS")

-- moto allows 100 proxies per account; the kumo fleet and the boto3 one need more
require("kumo.sys").setenv("MOTO_RDS_PROXY_LIMIT", tostring(3 * N + 50))
local sb = sandbox.start{ lifecycle = "all=0,proxy=" .. POLLS }
sb.apply_env()
local w = sb.world
local rds_role = w.roles.rds
local pg = w.rds.databases.postgres

local base = aws.session{ profile = "base" }
-- one session in the RDS account for the setup
local admin = base:assume_role{ role_arn = rds_role.arn, external_id = rds_role.external_id,
  session_name = "fleet-setup" }
local iam = admin:client("iam")
local role_arn = iam:CreateRole{ RoleName = "fleet-proxy-role",
  AssumeRolePolicyDocument = json.encode{ Version = "2012-10-17", Statement = { {
    Effect = "Allow", Principal = { Service = "rds.amazonaws.com" }, Action = "sts:AssumeRole" } } },
}.Role.Arn
local subnets = {}
for i, s in ipairs(w.rds.subnets) do subnets[i] = s.id end

-- The proxies (made at no latency; each then needs POLLS describes).
local function make_proxies(prefix, n)
  local names = {}
  for i = 1, n do names[i] = string.format("%s-%03d", prefix, i) end
  local rds = admin:client("rds")
  local _, errs = kumo.parallel(names, function(name)
    rds:CreateDBProxy{ DBProxyName = name, EngineFamily = pg.engine_family, RoleArn = role_arn,
      VpcSubnetIds = subnets,
      Auth = { { AuthScheme = "SECRETS", SecretArn = pg.secret_arn, IAMAuth = "DISABLED" } } }
  end)
  for i = 1, n do if errs[i] then error("setup: CreateDBProxy " .. names[i] .. ": " .. tostring(errs[i]), 0) end end
  return names
end

-- (json.array: an empty Lua table would encode as {}, which the sandbox reads as one rule)
sb.faults(json.array{}, 0)
local one = make_proxies("solo", 1)
local fleet = make_proxies("fleet", N)
local warm = make_proxies("warm", 1)
local boto = BASELINE > 0 and make_proxies("boto", BASELINE) or nil

-- One task: assume the role, wait for the proxy.
local function task(name, i)
  sched.step("assume role")
  local s = base:assume_role{ role_arn = rds_role.arn, external_id = rds_role.external_id,
    session_name = "fleet-" .. name }
  sched.step("wait for " .. name)
  local out = s:client("rds"):wait("DBProxyAvailable", { DBProxyName = name },
    { delay = DELAY, max_attempts = POLLS + 20 })
  return out
end

-- warm-up (models, first connection) at no latency; not measured
task(warm[1], 0)

sb.faults(json.array{}, LATENCY)
local lim = ratelimit.default()
-- The sandbox has one RDS account where a real fleet has N: raise the per-
-- account bucket to N x the default rate so that the limiter models N accounts.
local per_account_rate = ratelimit.DEFAULTS.rate * N
lim:configure{ rate = per_account_rate, burst = ratelimit.DEFAULTS.burst * N,
  max_host = tonumber(os.getenv("FLEET_MAX_HOST") or "") or lim.max_host }
local in_flight_limit = math.min(lim.max_total, lim.max_host) -- one host: the sandbox

local t0 = clock.monotonic()
sched.run(function() task(one[1], 1) end)
local t_one = clock.monotonic() - t0

sched.reset_stats()
local http0 = http.stats()
local rss_before = status_kb("VmRSS")
t0 = clock.monotonic()
local _, errs = kumo.parallel(fleet, task)
local t_fleet = clock.monotonic() - t0
local http1 = http.stats()
local rss_after = status_kb("VmRSS")
local hwm = status_kb("VmHWM")
local st = sched.stats()
local failed = 0
for i = 1, N do
  if errs[i] then
    failed = failed + 1
    if failed <= 3 then io.stderr:write("task ", fleet[i], ": ", tostring(errs[i]), "\n") end
  end
end

local conns = http1.connections_opened - http0.connections_opened
local reqs = http1.requests - http0.requests
local ideal = (1 + POLLS) * LATENCY / 1000 + (POLLS - 1) * DELAY
print(string.format("fleet: %d tasks, each AssumeRole + DBProxyAvailable (%d polls, %g s apart), %g ms latency per call",
  N, POLLS, DELAY, LATENCY))
print(string.format("  one task                 %7.2f s   (floor: %d calls x %g ms + %d x %g s = %.2f s)",
  t_one, POLLS + 1, LATENCY, POLLS - 1, DELAY, ideal))
print(string.format("  %d tasks at once         %7.2f s   ratio %.2f x one task (goal <= 2.00)%s",
  N, t_fleet, t_fleet / t_one, failed > 0 and string.format("   %d FAILED", failed) or ""))
print(string.format("  requests                 %7d     (%d per task), peak in flight %d, tasks at once %d",
  reqs, reqs // N, st.peak_in_flight, st.peak_tasks))
print(string.format("  connections opened       %7d     during the fleet; %d by the whole process (setup included);"
  .. " in-flight limit %d (max_total %d, max_host %d): %s", conns, http1.connections_opened, in_flight_limit,
  lim.max_total, lim.max_host, http1.connections_opened <= in_flight_limit and "within" or "OVER"))
print(string.format("  memory (VmRSS)           %7.1f MB  after %d tasks (%.1f MB at start, %.1f MB before the fleet,"
  .. " +%.1f MB for it); peak VmHWM %.1f MB (goal <= 30)",
  rss_after / 1024, N, rss0 / 1024, rss_before / 1024, (rss_after - rss_before) / 1024, hwm / 1024))
print(string.format("  rate limit               %g req/s per account bucket (default %g x %d accounts modelled)",
  per_account_rate, ratelimit.DEFAULTS.rate, N))

-- The per-account limiter at work: the same fleet in ONE account with the
-- default bucket (what kumo does unless told the account allows more).
if os.getenv("FLEET_LIMITED") ~= "0" then
  local limited = make_proxies("lim", N)
  ratelimit.set_default(nil) -- defaults again
  local d = ratelimit.DEFAULTS
  local times = {}
  local hook = base:add_hook(function(info)
    if info.service == "rds" then times[#times + 1] = clock.monotonic() end
  end)
  t0 = clock.monotonic()
  local _, lerrs = kumo.parallel(limited, task)
  local t_lim = clock.monotonic() - t0
  base:remove_hook(hook)
  local lfailed = 0
  for i = 1, N do if lerrs[i] then lfailed = lfailed + 1 end end
  -- the most rds calls finished in any 1 s window
  table.sort(times)
  local peak, j = 0, 1
  for i = 1, #times do
    while times[i] - times[j] > 1 do j = j + 1 end
    if i - j + 1 > peak then peak = i - j + 1 end
  end
  local span = #times > 1 and times[#times] - times[1] or 0
  print(string.format("same %d tasks in one account, default bucket (%g req/s, burst %g): %.2f s%s",
    N, d.rate, d.burst, t_lim, lfailed > 0 and string.format("   %d FAILED", lfailed) or ""))
  print(string.format("  rds calls                %7d     busiest 1 s: %d (bucket allows %g); average %.1f/s"
    .. " after the burst", #times, peak, d.burst + d.rate,
    span > 0 and (#times - d.burst) / span or 0))
end

-- The boto3 baseline: the same fleet with threads, same sandbox and latency.
if boto then
  local params = os.tmpname()
  local f = assert(io.open(params, "w"))
  f:write(json.encode{ endpoint = sb.endpoint, region = w.region, role_arn = rds_role.arn,
    external_id = rds_role.external_id, boto = boto, polls = POLLS, delay = DELAY })
  f:close()
  local p = io.popen("python3 " .. root .. "/bench/fleet_boto3.py " .. params .. " 2>&1")
  local text = p:read("a")
  p:close()
  os.remove(params)
  local b = json.decode(text:match("({[^\n]*\"t_fleet\"[^\n]*})") or "")
  if not b then
    print("  boto3 baseline failed: " .. text:sub(-500))
  else
    print("boto3 (a thread per task, shared Session and STS client), same sandbox and latency:")
    print(string.format("  one task                 %7.2f s", b.t_one))
    print(string.format("  %d threads at once       %7.2f s   ratio %.2f x one task%s", b.n, b.t_fleet,
      b.t_fleet / b.t_one, b.failed > 0 and string.format("   %d FAILED", b.failed) or ""))
    print(string.format("  memory (VmRSS)           %7.1f MB  (peak VmHWM %.1f MB)", b.rss_mb, b.hwm_mb))
    print(string.format("kumo vs boto3: fleet time %.2f x, peak memory %.2f x (lower is better for kumo)",
      t_fleet / b.t_fleet, (hwm / 1024) / b.hwm_mb))
  end
end
sb.stop()
