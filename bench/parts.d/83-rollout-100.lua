--- bench/parts.d/83-rollout-100.lua: issue 14's acceptance bench, a
-- 100-pair organization rollout in one process (run by 83-rollout-100.sh).
--
-- Starts a sandbox with ROLLOUT_PAIRS APP accounts (default 100) and
-- ROLLOUT_RDS RDS accounts (default 5: AWS keeps 20 RDS proxies per
-- account and Region, and this bench never raises the sandbox's limit, so
-- 100 pairs need 5), ROLLOUT_LATENCY ms added to every call (default 50),
-- resources ready after ROLLOUT_POLLS polls (default 2), polled every
-- ROLLOUT_DELAY s (default 1). The config is the ~20 lines of
-- docs/rollout.md: pairs from the OU by `pairs(org)`, every id a selector,
-- each APP account mapped to its RDS account by its `rds` tag.
--
-- Measures: one pair's apply alone (then destroyed), then every pair's
-- apply with --max-concurrent ALL in one process, then their destroy:
-- wall time and its ratio to one pair's (goal <= 3x), the kumo process's
-- max RSS (VmHWM, goal <= 120 MB), calls per second per account (the
-- sandbox's count over the run) and per second at the busiest (kumo's own
-- limiter counters, per account+service, against its ceiling), and beside
-- them the time sequential boto3 would need for the same calls: the calls
-- counted by the sandbox times boto3's per-call time measured here at the
-- same latency (a sequential loop of read calls, clients made beforehand).
--
-- usage: kumo run bench/parts.d/83-rollout-100.lua
-- (internally: ... child ACTION ARGS... runs the workflow in this process
-- and writes its VmHWM and the limiter's figures to $KUMO_ROLLOUT_STATS)
local root = os.getenv("KUMO_ROOT") or "."
local json = require "kumo.json"

local function status_kb(field)
  local f = io.open("/proc/self/status")
  if not f then return 0 end
  local text = f:read("a")
  f:close()
  return tonumber(text:match(field .. ":%s*(%d+)")) or 0
end

if arg and arg[1] == "child" then
  local ratelimit = require "kumo.ratelimit"
  -- ROLLOUT_MAX_HOST: requests in flight to one host (kumo's default 32;
  -- the sandbox is one host for every service and account)
  local max_host = tonumber(os.getenv("ROLLOUT_MAX_HOST") or "")
  if max_host then ratelimit.default():configure{ max_host = max_host, max_total = math.max(64, max_host) } end
  local real_exit = os.exit
  os.exit = function(code, close) -- luacheck: ignore 122 (the bench's own wrapper)
    local lim = ratelimit.default()
    local keys = {}
    for key in pairs(lim.buckets) do keys[key] = lim:bucket(key) end
    local f = io.open(os.getenv("KUMO_ROLLOUT_STATS"), "w")
    if f then
      f:write(json.encode{ keys = keys, hwm_kb = status_kb("VmHWM"), lua_kb = collectgarbage("count"),
        cpu = os.clock() })
      f:close()
    end
    return real_exit(code, close)
  end
  local script = root .. "/scripts/rds-proxy-share.lua"
  local rest = {}
  for i = 2, #arg do rest[#rest + 1] = arg[i] end
  _G.arg = { [0] = script, table.unpack(rest) }
  dofile(script)
  os.exit(0)
end

local sandbox = dofile(root .. "/tests/lib/sandbox.lua")
local h = dofile(root .. "/tests/e2e/workflow_helpers.lua")
local clock = require "kumo.clock"

local N = tonumber(os.getenv("ROLLOUT_PAIRS")) or 100
local RDS = tonumber(os.getenv("ROLLOUT_RDS")) or math.max(1, math.ceil(N / 20))
local LAT = tonumber(os.getenv("ROLLOUT_LATENCY")) or 50
local POLLS = tonumber(os.getenv("ROLLOUT_POLLS")) or 2
local DELAY = os.getenv("ROLLOUT_DELAY") or "1"

local CONFIG = [[
return {
  region = "ap-northeast-1",
  base_profile = "base",
  pairs = function(org)
    local rds = {}
    for _, r in ipairs(org:accounts{ ou = "databases" }) do rds[r.name] = r end
    local out = {}
    for _, a in ipairs(org:accounts{ ou = "apps", tags = { team = "orders" } }) do
      out[#out + 1] = {
        name = a.name,
        app = { role_arn = a.role_arn, vpc = { tags = { Name = "app" } },
                subnets = { tags = { tier = "private" }, per_az = 1 },
                client_security_groups = { tags = { role = "app-clients" } } },
        rds = { account_role_arn = rds[a.tags.rds].role_arn, engine_family = "POSTGRESQL",
                proxy_name = a.name .. "-orders", db_instance_identifier = { tags = { db = "postgres" } },
                secret_arn = { tags = { db = "postgres" } } },
        endpoint = { name = a.name .. "-orders-app" },
      }
    end
    return out
  end,
}
]]

-- boto3's time per call at this latency: sequential read calls in an APP
-- and an RDS account of the fleet, clients made before the clock starts.
local BOTO3 = [[
import json, os, sys, time
import boto3
d, app, rds, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
os.environ["AWS_CONFIG_FILE"] = os.path.join(d, "config")
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.path.join(d, "credentials")
w = json.load(open(os.path.join(d, "world.json")))
ep = w["endpoint"]
base = boto3.session.Session(profile_name="base")
def assume(acct):
    c = base.client("sts", endpoint_url=ep).assume_role(
        RoleArn="arn:aws:iam::%s:role/OrganizationAccountAccessRole" % acct, RoleSessionName="bench")["Credentials"]
    return boto3.session.Session(aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
                                 aws_session_token=c["SessionToken"], region_name=w["region"])
ec2 = assume(app).client("ec2", endpoint_url=ep)
r = assume(rds).client("rds", endpoint_url=ep)
org = base.client("organizations", endpoint_url=ep)
calls = [lambda: ec2.describe_vpcs(), lambda: ec2.describe_subnets(), lambda: ec2.describe_security_groups(),
         lambda: r.describe_db_proxies(), lambda: r.describe_db_instances(), lambda: org.list_roots()]
calls[0]()
t0 = time.monotonic()
for i in range(n):
    calls[i % len(calls)]()
print(json.dumps({"per_call": (time.monotonic() - t0) / n, "n": n}))
]]

local sb = sandbox.start{ accounts = N, rds_accounts = RDS, latency = LAT, lifecycle = "all=" .. POLLS,
                          timeout = 300 }
local ok, err = pcall(function()
  local path = sb.dir .. "/org.lua"
  h.write(path, CONFIG)
  local max_host = os.getenv("ROLLOUT_MAX_HOST")
  local stats_file = sb.dir .. "/rollout-stats.json"
  print(string.format("organization rollout: %d pairs over %d RDS accounts (at most 20 proxies each, AWS's "
    .. "quota, not raised), %d ms per call, %d polls per resource, polls every %s s, one kumo process",
    N, RDS, LAT, POLLS, DELAY))

  -- the sandbox's CPU seconds (user + system) so far, from /proc
  local spid = sb.world.pid
  local function sandbox_cpu()
    local text = h.slurp("/proc/" .. tostring(spid) .. "/stat") or ""
    local fields = {}
    for x in (text:match("%) (.*)$") or ""):gmatch("%S+") do fields[#fields + 1] = x end
    return ((tonumber(fields[12]) or 0) + (tonumber(fields[13]) or 0)) / 100
  end

  -- ROLLOUT_PERF=FILE: the 100 pairs' apply runs under `perf record -g`
  -- (where kumo's own CPU goes: perf report -i FILE)
  local perf = os.getenv("ROLLOUT_PERF")

  local function run(label, action, state, args)
    sb.reset_stats()
    local cpu0 = sandbox_cpu()
    local t0 = clock.monotonic()
    local cmd = string.format("%s %sHOME=%s KUMO_WAITER_DELAY=%s KUMO_CREDENTIAL_CACHE=off KUMO_ROLLOUT_STATS=%s "
      .. "%s%s run %s child %s --config %s --quiet --output json --state %s %s >%s 2>%s", h.env_prefix(sb),
      max_host and ("ROLLOUT_MAX_HOST=" .. h.q(max_host) .. " ") or "", h.q(sb.dir), DELAY, h.q(stats_file),
      (perf and label == "all-apply") and ("perf record -q -F 499 -g -o " .. h.q(perf) .. " ") or "", h.KUMO, h.q(root .. "/bench/parts.d/83-rollout-100.lua"), action,
      h.q(path), h.q(state), args, h.q(sb.dir .. "/" .. label .. ".json"), h.q(sb.dir .. "/" .. label .. ".log"))
    os.remove(stats_file)
    local _, _, code = os.execute(cmd)
    local wall = clock.monotonic() - t0
    if code ~= 0 then
      local log, why = h.slurp(sb.dir .. "/" .. label .. ".log") .. h.slurp(sb.dir .. "/" .. label .. ".json"), {}
      for line in log:gmatch("[^\n]+") do
        if #why < 12 and (line:find("error", 1, true) or line:find("failed", 1, true)) then why[#why + 1] = line end
      end
      error(label .. " failed (exit " .. tostring(code) .. "):\n" .. table.concat(why, "\n"))
    end
    local doc = json.decode(h.slurp(sb.dir .. "/" .. label .. ".json"))
    local secs = {}
    for i, p in ipairs(doc.rollout.pairs) do secs[i] = p.seconds end
    table.sort(secs)
    return { wall = wall, stats = sb.stats(), kumo = json.decode(h.slurp(stats_file)), secs = secs,
             ok = doc.rollout.ok, sandbox_cpu = sandbox_cpu() - cpu0 }
  end

  local function report(label, r)
    local st = r.stats
    local busiest, most = "-", 0
    for a, x in pairs(st.accounts) do
      if x.total > most then busiest, most = a, x.total end
    end
    print(string.format("  %-22s %7.1f s  %5d calls (%d changing)  %6.1f calls/s in all; max RSS %.1f MB",
      label, r.wall, st.total, st.mutating, st.total / r.wall, r.kumo.hwm_kb / 1024))
    print(string.format("    CPU: kumo %.1f s, sandbox %.1f s (%.0f%% of one core over the run; the box has 2)",
      r.kumo.cpu, r.sandbox_cpu, 100 * r.sandbox_cpu / r.wall))
    print(string.format("    %d pair(s) ok; a pair's own time (its selectors and steps, not the process or the "
      .. "organization's listing): median %.1f s, max %.1f s", r.ok, r.secs[(#r.secs + 1) // 2], r.secs[#r.secs]))
    print(string.format("    %d accounts called; busiest %s: %d calls, %.1f calls/s over the run",
      (function() local n = 0 for _ in pairs(st.accounts) do n = n + 1 end return n end)(), busiest, most,
      most / r.wall))
    -- the operations that made most of the calls
    local ops, names = {}, {}
    for _, x in pairs(st.accounts) do
      for op, c in pairs(x.operations) do
        if not ops[op] then names[#names + 1] = op end
        ops[op] = (ops[op] or 0) + c.count
      end
    end
    table.sort(names, function(a, b) return ops[a] > ops[b] or (ops[a] == ops[b] and a < b) end)
    local top = {}
    for i = 1, math.min(tonumber(os.getenv("ROLLOUT_TOP")) or 8, #names) do top[i] = names[i] .. " " .. ops[names[i]] end
    print("    most called: " .. table.concat(top, ", "))
    local peak, peak_key, ceiling, burst, delayed, throttles = 0, "-", nil, nil, 0, 0
    for k, b in pairs(r.kumo.keys or {}) do
      if b.peak_per_second > peak then peak, peak_key = b.peak_per_second, k end
      ceiling, burst = ceiling or b.ceiling, burst or b.burst
      delayed, throttles = delayed + b.delayed, throttles + b.throttles
    end
    -- a token bucket of `ceiling` per second holding `burst`: in any one
    -- second at most burst + ceiling go, and over longer spans the ceiling
    local bound = ceiling and burst and ceiling + burst
    print(string.format("    kumo's limiter (per account+service, AWS's throttling unit): ceiling %s/s with a "
      .. "burst of %s, so at most %s in any one second; busiest %s at %d in one second (%s); held back %d, "
      .. "%d throttles", tostring(ceiling), tostring(burst), tostring(bound), peak_key, peak,
      (bound and peak <= bound) and "within it" or "ABOVE IT", delayed, throttles))
  end

  local one = run("one-apply", "apply", sb.dir .. "/state-one", "--pair app-01")
  report("one pair: apply", one)
  run("one-destroy", "destroy", sb.dir .. "/state-one", "--pair app-01")
  local all = run("all-apply", "apply", sb.dir .. "/state-all", "--max-concurrent " .. N)
  report(N .. " pairs: apply", all)
  local ratio = all.wall / one.wall
  -- the same calls one after another in boto3
  local py = sb.dir .. "/boto3_per_call.py"
  h.write(py, BOTO3)
  local p = io.popen(string.format("%s python3 %s %s %s %s 60 2>&1", h.env_prefix(sb), h.q(py), h.q(sb.dir),
    sb.world.fleet.accounts[1].id, sb.world.rds_fleet.accounts[1].id))
  local text = p:read("a")
  p:close()
  local okb, b = pcall(json.decode, text)
  if not okb or type(b) ~= "table" then error("boto3 per-call timing: " .. text) end
  local seq = all.stats.total * b.per_call
  local destroy = run("all-destroy", "destroy", sb.dir .. "/state-all", "--max-concurrent " .. N)
  report(N .. " pairs: destroy", destroy)
  print(string.format("  %d pairs' apply took %.2fx one pair's run (goal <= 3x: %s), %.2fx one pair's own time; "
    .. "max RSS %.1f MB (goal <= 120: %s)", N, ratio, ratio <= 3 and "met" or "MISSED", all.wall / one.secs[1],
    all.kumo.hwm_kb / 1024, all.kumo.hwm_kb / 1024 <= 120 and "met" or "MISSED"))
  print(string.format("  sequential boto3 for the same %d calls: ~%.0f s (%d calls x %.1f ms, boto3's measured "
    .. "time per sequential read call at %d ms latency; waits between polls not included) vs kumo's %.1f s",
    all.stats.total, seq, all.stats.total, b.per_call * 1000, LAT, all.wall))
end)
sb.stop()
if not ok then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end
