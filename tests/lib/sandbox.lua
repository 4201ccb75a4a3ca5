--- Start and stop a kumo sandbox from Lua specs (busted run by kumo).
--
--   local sandbox = dofile((os.getenv("KUMO_ROOT") or ".") .. "/tests/lib/sandbox.lua")
--   local sb = sandbox.start{ lifecycle = "all=0" }   -- free port, temp dir
--   -- sb.endpoint, sb.port, sb.dir, sb.env (the env.sh variables), sb.world
--   sb.stats()  sb.reset()  sb.faults{...}  sb.lifecycle{...}  sb.control(method, path, body)
--   sb.faults({ {op="*", kind="throttle", rate=0.25}, {op="*", kind="503", rate=0.10} }, nil, 42)
--   (rate rules hit that share of the calls; the seed, also `seed = 42` in the rules
--   table, makes the draws repeat; kind "lose" acts and then drops the answer)
--   sb.stop()   -- also on garbage collection / to-be-closed, and when the test process exits
--
-- (`require("tests.lib.sandbox")` works too when the repo root is on package.path.)
-- The server is a child process (`python3 -m kumo_sandbox --exit-with <our pid>`),
-- so it stops by itself when the spec process dies, even on a crash.
-- `sb.apply_env()` sets the env.sh variables in this process (kumo.sys.setenv).
-- @module tests.lib.sandbox

local sys = require("kumo.sys")
local clock_ok, clock = pcall(require, "kumo.clock")

local M = {}

local root = os.getenv("KUMO_ROOT") or sys.datadir or "."

local function sleep(s)
  if clock_ok and clock.sleep then clock.sleep(s) else os.execute("sleep " .. s) end
end

local function now()
  if clock_ok and clock.monotonic then return clock.monotonic() end
  return os.time()
end

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function read_file(path)
  local f = io.open(path, "r")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function json_decode(s)
  local ok, json = pcall(require, "kumo.json")
  if not ok then json = require("cjson") end
  return json.decode(s)
end

local function json_encode(v)
  local ok, json = pcall(require, "kumo.json")
  if not ok then json = require("cjson") end
  return json.encode(v)
end

--- HTTP to the control API with curl (no dependency on the code under test).
local function http(method, url, body)
  local cmd = "curl -sS -X " .. method .. " --max-time 30 "
  if body then
    local f = os.tmpname()
    local h = io.open(f, "w"); h:write(body); h:close()
    cmd = cmd .. "--data-binary @" .. f .. " "
    local p = io.popen(cmd .. shell_quote(url) .. " 2>&1")
    local out = p:read("a"); p:close()
    os.remove(f)
    return out
  end
  local p = io.popen(cmd .. shell_quote(url) .. " 2>&1")
  local out = p:read("a"); p:close()
  return out
end

local Sandbox = {}
Sandbox.__index = Sandbox

--- Stop the server (SIGTERM, then SIGKILL) and remove its directory. Idempotent.
function Sandbox:stop_server()
  if self.stopped then return end
  self.stopped = true
  if self.pid then
    os.execute("kill -TERM " .. self.pid .. " 2>/dev/null")
    for _ = 1, 100 do
      if not os.execute("kill -0 " .. self.pid .. " 2>/dev/null") then break end
      sleep(0.05)
    end
    os.execute("kill -KILL " .. self.pid .. " 2>/dev/null")
  end
  if self.dir and not os.getenv("KUMO_KEEP_SANDBOX_DIR") then
    os.execute("rm -rf " .. shell_quote(self.dir))
  end
end

Sandbox.__gc = Sandbox.stop_server
Sandbox.__close = Sandbox.stop_server

--- Start a sandbox.
-- @param opts table: lifecycle ("all=0" default), faults (string or rule list),
--   fault_seed (integer: --fault-seed), latency (ms), org (false: --no-org),
--   org_sharing (false), region, allow_moto_api (true: --allow-moto-api), timeout (s, 30),
--   databases (true: --databases, real PostgreSQL/MariaDB and proxy listeners)
--   accounts (N: --accounts N, the `apps` OU's APP accounts),
--   rds_accounts (M: --rds-accounts M, the `databases` OU's RDS accounts)
-- @return the sandbox object (fields endpoint, port, dir, env, world; functions
--   stats, reset, faults, lifecycle, control, stop, apply_env)
function M.start(opts)
  opts = opts or {}
  local dir = os.tmpname()
  os.remove(dir)
  dir = dir .. "-kumo-sandbox"
  os.execute("mkdir -p " .. shell_quote(dir))
  local args = { "--port", "0", "--dir", dir, "--exit-with", tostring(sys.getpid()) }
  local lifecycle = opts.lifecycle
  if lifecycle == nil then lifecycle = "all=0" end
  if lifecycle then args[#args + 1] = "--lifecycle"; args[#args + 1] = lifecycle end
  if opts.faults then
    args[#args + 1] = "--faults"
    args[#args + 1] = type(opts.faults) == "string" and opts.faults or json_encode(opts.faults)
  end
  if opts.latency then args[#args + 1] = "--latency"; args[#args + 1] = tostring(opts.latency) end
  if opts.fault_seed then args[#args + 1] = "--fault-seed"; args[#args + 1] = string.format("%d", opts.fault_seed) end
  if opts.allow_moto_api then args[#args + 1] = "--allow-moto-api" end
  if opts.databases then args[#args + 1] = "--databases" end
  if opts.org == false then args[#args + 1] = "--no-org"
  elseif opts.org_sharing == false then args[#args + 1] = "--no-org-sharing" end
  if opts.region then args[#args + 1] = "--region"; args[#args + 1] = opts.region end
  if opts.accounts then args[#args + 1] = "--accounts"; args[#args + 1] = string.format("%d", opts.accounts) end
  if opts.rds_accounts then
    args[#args + 1] = "--rds-accounts"; args[#args + 1] = string.format("%d", opts.rds_accounts)
  end
  local quoted = {}
  for i, a in ipairs(args) do quoted[i] = shell_quote(a) end
  local python = os.getenv("KUMO_PYTHON") or "python3"
  local cmd = "cd " .. shell_quote(dir) .. " && env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY"
    .. " -u AWS_SESSION_TOKEN -u AWS_PROFILE -u MOTO_ACCOUNT_ID PYTHONPATH=" .. shell_quote(root .. "/sandbox")
    .. " " .. python .. " -m kumo_sandbox " .. table.concat(quoted, " ")
    .. " > server.out 2> server.log < /dev/null & echo $!"
  local p = io.popen(cmd)
  local pid = tonumber(p:read("l"))
  p:close()
  local self = setmetatable({ dir = dir, pid = pid }, Sandbox)
  local deadline = now() + (opts.timeout or 30)
  local out
  while true do
    out = read_file(dir .. "/server.out") or ""
    if out:find("# then", 1, true) then break end
    if not pid or not os.execute("kill -0 " .. pid .. " 2>/dev/null") or now() > deadline then
      local log = read_file(dir .. "/server.log") or ""
      self:stop_server()
      error("sandbox did not start: " .. out .. log:sub(-2000), 2)
    end
    sleep(0.05)
  end
  self.env = {}
  for k, v in out:gmatch("export ([%w_]+)=([^\n]*)") do self.env[k] = v end
  self.world = json_decode(read_file(dir .. "/world.json"))
  self.endpoint = self.world.endpoint
  self.port = self.world.port
  self.region = self.world.region
  local sb = self
  -- every function works called as sb.f(...) and as sb:f(...)
  local function method(fn)
    return function(first, ...)
      if first == sb then return fn(...) end
      return fn(first, ...)
    end
  end
  --- Call the control API: method, path ("/_kumo/stats"), optional body (table or string).
  self.control = method(function(verb, path, body)
    if type(body) == "table" then body = json_encode(body) end
    local res = http(verb, sb.endpoint .. path, body)
    local ok, v = pcall(json_decode, res)
    if not ok then error("sandbox control " .. verb .. " " .. path .. ": " .. res, 2) end
    return v
  end)
  self.stats = method(function() return sb.control("GET", "/_kumo/stats") end)
  self.reset_stats = method(function() return sb.control("DELETE", "/_kumo/stats") end)
  self.reset = method(function() return sb.control("POST", "/_kumo/reset", "{}") end)
  --- Replace the fault rules: a list of rule tables (a `seed` field in it is the
  -- seed), optional latency_ms for every call, optional seed (integer) for `rate` rules.
  self.faults = method(function(rules, latency_ms, seed)
    local list = {}
    for i, r in ipairs(rules or {}) do list[i] = r end
    if seed == nil and type(rules) == "table" then seed = rules.seed end
    local body = { rules = list, latency_ms = latency_ms }
    if seed ~= nil then body.seed = math.tointeger(seed) or seed end
    if #list == 0 then body.rules = nil end
    return sb.control("POST", "/_kumo/faults", body)
  end)
  self.lifecycle = method(function(settings) return sb.control("POST", "/_kumo/lifecycle", settings) end)
  self.stop = method(function() return sb:stop_server() end)
  --- Set the env.sh variables (and unset static keys) in this process.
  self.apply_env = method(function()
    for _, k in ipairs({ "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE" }) do
      sys.setenv(k, nil)
    end
    for k, v in pairs(sb.env) do sys.setenv(k, v) end
  end)
  return self
end

--- Helpers the specs share: POSIX shell quoting and a whole-file read (nil
-- when the file is absent).
M.shell_quote, M.read_file = shell_quote, read_file

return M
