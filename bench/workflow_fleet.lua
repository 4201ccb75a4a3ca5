--- bench/workflow_fleet.lua: a 50-pair rollout of the rds-proxy-share
-- workflow on the sandbox (issue 11: "a 50-pair apply limited by the
-- sandbox, not by kumo's own limiter").
--
-- Starts a sandbox with WF_LATENCY ms added to every call (default 50) and
-- resources ready after WF_POLLS polls (default 2), makes a config of
-- FLEET_PAIRS pairs (default 50) from the seeded two (the two databases in
-- turn, names of their own), and runs apply then destroy with
-- `--parallel FLEET_PARALLEL` (default 50: all at once). Prints, per
-- action: wall time, calls (counted by the sandbox), calls per second per
-- account, and what kumo's own rate limiter did (its ceiling, the most
-- requests it let through in one second per account and service, how many
-- it held back and for how long, throttles seen).
--
-- usage: kumo run bench/workflow_fleet.lua
-- (internally: kumo run bench/workflow_fleet.lua child ACTION ARGS... runs
-- the workflow in this process and writes the limiter's figures to
-- $KUMO_FLEET_STATS when it exits)
local root = os.getenv("KUMO_ROOT") or "."
local json = require "kumo.json"

if arg and arg[1] == "child" then
  -- the workflow in this process, so its limiter can be read at the end
  local ratelimit = require "kumo.ratelimit"
  local real_exit = os.exit
  os.exit = function(code, close) -- luacheck: ignore 122 (the bench's own wrapper)
    local lim = ratelimit.default()
    local keys = {}
    for key in pairs(lim.buckets) do keys[key] = lim:bucket(key) end
    local f = io.open(os.getenv("KUMO_FLEET_STATS"), "w")
    if f then
      f:write(json.encode{ keys = keys, stats = lim:stats() })
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

local N = tonumber(os.getenv("FLEET_PAIRS")) or 50
local PARALLEL = tonumber(os.getenv("FLEET_PARALLEL")) or N
local LAT = tonumber(os.getenv("WF_LATENCY")) or 50
local POLLS = tonumber(os.getenv("WF_POLLS")) or 2
local DELAY = os.getenv("WF_DELAY") or "1"

-- A Lua table constructor for `v` (strings, numbers, booleans, tables).
local function lua(v, indent)
  indent = indent or ""
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) ~= "table" then return tostring(v) end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  local out = {}
  for _, k in ipairs(keys) do
    local key = type(k) == "number" and "" or (k:match("^[%a_][%w_]*$") and k .. " = " or "[" .. string.format("%q", k) .. "] = ")
    out[#out + 1] = indent .. "  " .. key .. lua(v[k], indent .. "  ")
  end
  return "{\n" .. table.concat(out, ",\n") .. "\n" .. indent .. "}"
end

local function copy(v)
  if type(v) ~= "table" then return v end
  local c = {}
  for k, x in pairs(v) do c[k] = copy(x) end
  return c
end

-- One RDS account holds every proxy of the run: AWS's default quota is 20
-- proxies per account and Region, which the sandbox enforces; this run
-- stands for an account whose quota was raised (a Service Quotas request).
local QUOTA = math.max(20, N)
require("kumo.sys").setenv("MOTO_RDS_PROXY_LIMIT", tostring(QUOTA))
local sb = sandbox.start{ latency = LAT, lifecycle = "all=" .. POLLS, timeout = 60 }
local ok, err = pcall(function()
  local base = dofile(sb.dir .. "/workflow.lua")
  local cfg = copy(base)
  cfg.pairs = {}
  for i = 1, N do
    local p = copy(base.pairs[(i - 1) % #base.pairs + 1])
    local name = string.format("f%02d-%s", i, p.name:match("[^-]+$"))
    p.name = name
    p.rds.proxy_name = name .. "-proxy"
    p.endpoint.name = name .. "-app"
    cfg.pairs[i] = p
  end
  local path = sb.dir .. "/fleet.lua"
  h.write(path, "return " .. lua(cfg) .. "\n")
  local stats_file = sb.dir .. "/limiter.json"
  local state = sb.dir .. "/fleet-state"
  local held = 0
  print(string.format("workflow rollout, %d pairs (--parallel %d), %d ms per call, %d polls per resource, "
    .. "polls every %s s; proxy quota raised to %d (AWS's default: 20 per account and Region)",
    N, PARALLEL, LAT, POLLS, DELAY, QUOTA))
  for _, action in ipairs{ "apply", "destroy" } do
    sb.reset_stats()
    local t0 = clock.monotonic()
    local cmd = string.format("%s HOME=%s KUMO_WAITER_DELAY=%s KUMO_FLEET_STATS=%s %s run %s child %s --config %s "
      .. "--quiet --parallel %d --state %s >%s 2>&1", h.env_prefix(sb), h.q(sb.dir), DELAY, h.q(stats_file),
      h.KUMO, h.q(root .. "/bench/workflow_fleet.lua"), action, h.q(path), PARALLEL, h.q(state),
      h.q(sb.dir .. "/" .. action .. ".log"))
    local _, _, code = os.execute(cmd)
    local wall = clock.monotonic() - t0
    if code ~= 0 then
      local log, why = h.slurp(sb.dir .. "/" .. action .. ".log"), {}
      for line in log:gmatch("[^\n]+") do
        if #why < 12 and (line:find("error", 1, true) or line:find("failed", 1, true)) then why[#why + 1] = line end
      end
      error(action .. " failed (exit " .. tostring(code) .. "):\n" .. table.concat(why, "\n"))
    end
    local st = sb.stats()
    local lim = json.decode(h.slurp(stats_file))
    print(string.format("  %-8s %7.1f s  %5d calls (%d changing)  %6.1f calls/s", action, wall, st.total, st.mutating,
      st.total / wall))
    local accts = {}
    for a in pairs(st.accounts) do accts[#accts + 1] = a end
    table.sort(accts)
    for _, a in ipairs(accts) do
      local x = st.accounts[a]
      print(string.format("    account %s: %5d calls, %6.1f calls/s", a, x.total, x.total / wall))
    end
    local keys = {}
    for k in pairs(lim.keys or {}) do keys[#keys + 1] = k end
    table.sort(keys)
    local delayed, waited, throttles, peak, peak_key, ceiling = 0, 0, 0, 0, "-", nil
    for _, k in ipairs(keys) do
      local b = lim.keys[k]
      delayed, waited, throttles = delayed + b.delayed, waited + b.waited, throttles + b.throttles
      held = held + b.delayed
      if b.peak_per_second > peak then peak, peak_key = b.peak_per_second, k end
      ceiling = ceiling or b.ceiling
    end
    print(string.format("    kumo's limiter: ceiling %s/s per account+service; busiest %s at %d requests in one "
      .. "second; held back %d requests for %.2f s in all; %d throttles",
      tostring(ceiling), peak_key, peak, delayed, waited, throttles))
  end
  print(held == 0 and "  (kumo's limiter held back no request: the sandbox's answers set the pace, not kumo's own ceiling)"
    or string.format("  (kumo's limiter held back %d requests: its ceiling shaped this run)", held))
end)
sb.stop()
if not ok then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end
