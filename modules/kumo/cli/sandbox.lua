--- The `kumo sandbox` command: runs the local two-account AWS cloud.
-- `bin/kumo sandbox ARGS...` calls `main(ARGS...)` and exits with its result.
-- The cloud itself is the Python package `kumo_sandbox` (moto, extended),
-- found in `<datadir>/sandbox`; this command replaces the kumo process with
-- `python3 -m kumo_sandbox ARGS...`, so Ctrl-C and SIGTERM reach it directly.
-- `kumo sandbox --detach ...` runs it in the background instead and writes
-- DIR/sandbox.pid; `kumo sandbox stop --dir DIR` ends that one.
-- @module kumo.cli.sandbox

local sys = require("kumo.sys")

local M = {}

--- The directory holding the `kumo_sandbox` package.
-- @return string path
function M.package_dir()
  return (os.getenv("KUMO_SANDBOX_PATH") or (sys.datadir .. "/sandbox"))
end

--- Build the argv that runs the sandbox with `args`.
-- @param args list of command-line arguments (after `sandbox`)
-- @return table argv for `sys.exec`
function M.argv(args)
  local argv = { os.getenv("KUMO_PYTHON") or "python3", "-m", "kumo_sandbox" }
  for i = 1, #args do argv[#argv + 1] = args[i] end
  return argv
end

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function slurp(path)
  return (require("kumo.sys").read_file(path))
end

local function alive(pid)
  return os.execute("kill -0 " .. pid .. " 2>/dev/null") == true
end

-- A pid is ours only while its command line is a kumo sandbox (a pidfile
-- may outlive its process, and the number be given to another).
local function is_sandbox(pid)
  local cmd = slurp("/proc/" .. pid .. "/cmdline")
  if cmd == nil then return alive(pid) end
  return cmd:find("kumo_sandbox", 1, true) ~= nil
end

--- The sandbox directory the arguments name: `--dir DIR`, else
-- `KUMO_SANDBOX_DIR`, else `~/.kumo/sandbox` (as kumo_sandbox's own default).
-- @tparam table args
-- @treturn string
function M.dir_of(args)
  for i = 1, #args do
    local v = args[i]:match("^%-%-dir=(.*)$")
    if v then return v end
    if args[i] == "--dir" and args[i + 1] then return args[i + 1] end
  end
  local env = os.getenv("KUMO_SANDBOX_DIR")
  if env and env ~= "" then return env end
  return (os.getenv("HOME") or ".") .. "/.kumo/sandbox"
end

--- The pidfile of a detached sandbox in `dir`.
function M.pidfile(dir) return dir .. "/sandbox.pid" end

local function sleep(s) require("kumo.clock").sleep(s) end

-- `kumo sandbox --detach ...`: start it in the background (nohup, stdin
-- from /dev/null), wait until it is ready, write DIR/sandbox.pid and
-- print its export lines; the sandbox keeps running after kumo exits.
local function detach(args)
  local rest = {}
  for i = 1, #args do if args[i] ~= "--detach" then rest[#rest + 1] = args[i] end end
  local dir = M.dir_of(rest)
  local pidfile = M.pidfile(dir)
  local old = tonumber((slurp(pidfile) or ""):match("%d+"))
  if old and is_sandbox(old) then
    io.stderr:write("kumo sandbox: one is already running from ", dir, " (pid ", old,
      "); stop it with: kumo sandbox stop --dir ", dir, "\n")
    return 1
  end
  os.execute("mkdir -p " .. shell_quote(dir))
  local out, log = dir .. "/sandbox.out", dir .. "/sandbox.log"
  os.remove(out)
  os.remove(dir .. "/world.json")
  local quoted = {}
  for i, a in ipairs(M.argv(rest)) do quoted[i] = shell_quote(a) end
  local p = io.popen("cd " .. shell_quote(dir) .. " && nohup "
    .. table.concat(quoted, " ") .. " >" .. shell_quote(out) .. " 2>" .. shell_quote(log)
    .. " </dev/null & echo $!")
  local launcher = tonumber(p:read("l"))
  p:close()
  local clock = require "kumo.clock"
  local deadline = clock.monotonic() + 60
  while true do
    local text = slurp(out) or ""
    if text:find("# then", 1, true) then break end
    if clock.monotonic() > deadline or (launcher and not alive(launcher) and text == "") then
      sleep(0.2)
      if not (slurp(out) or ""):find("# then", 1, true) then
        io.stderr:write("kumo sandbox: did not start (", log, "):\n", (slurp(log) or ""):sub(-2000), "\n")
        if launcher and alive(launcher) then os.execute("kill " .. launcher .. " 2>/dev/null") end
        return 1
      end
    end
    sleep(0.05)
  end
  -- the server's own pid, as it wrote it (not the launcher's)
  local world = slurp(dir .. "/world.json") or ""
  local pid = tonumber(world:match('"pid"%s*:%s*(%d+)')) or launcher
  local f = assert(io.open(pidfile, "w"))
  f:write(pid, "\n")
  f:close()
  io.stdout:write(slurp(out))
  io.stdout:write("# detached: pid ", pid, " (", pidfile, "); stop it with: kumo sandbox stop --dir ",
    dir, "\n")
  return 0
end

-- `kumo sandbox stop [--dir DIR]`: SIGTERM the pid of DIR/sandbox.pid, wait
-- for it to end (SIGKILL after 10 s), remove the pidfile.
local function stop(args)
  local dir = M.dir_of(args)
  local pidfile = M.pidfile(dir)
  local text = slurp(pidfile)
  local pid = text and tonumber(text:match("%d+"))
  if not pid then
    io.stderr:write("kumo sandbox stop: no pidfile ", pidfile,
      " (was the sandbox started with --detach --dir ", dir, "?)\n")
    return 1
  end
  if not is_sandbox(pid) then
    os.remove(pidfile)
    io.stderr:write("kumo sandbox stop: pid ", pid, " of ", pidfile,
      " is not running (stale pidfile removed)\n")
    return 1
  end
  os.execute("kill -TERM " .. pid .. " 2>/dev/null")
  local clock = require "kumo.clock"
  local deadline = clock.monotonic() + 10
  while alive(pid) and clock.monotonic() < deadline do sleep(0.05) end
  if alive(pid) then os.execute("kill -KILL " .. pid .. " 2>/dev/null") end
  os.remove(pidfile)
  io.stdout:write("kumo sandbox: stopped pid ", pid, " (", dir, ")\n")
  return 0
end

--- Run the command: exec python3 -m kumo_sandbox with PYTHONPATH set;
-- `--detach` starts it in the background, `stop` ends a detached one.
-- @param ... the arguments after `sandbox`
-- @return integer exit code (only when exec fails, or for --detach / stop)
function M.main(...)
  local args = table.pack(...)
  local list = {}
  for i = 1, args.n do list[i] = tostring(args[i]) end
  if list[1] == "stop" then return stop({ table.unpack(list, 2) }) end
  local dir = M.package_dir()
  if not sys.stat(dir .. "/kumo_sandbox/__main__.py") then
    io.stderr:write("kumo sandbox: the sandbox package is missing: ", dir,
      "/kumo_sandbox (set KUMO_SANDBOX_PATH to the directory that holds it)\n")
    return 1
  end
  local old = os.getenv("PYTHONPATH")
  sys.setenv("PYTHONPATH", old and old ~= "" and (dir .. ":" .. old) or dir)
  for i = 1, #list do
    if list[i] == "--detach" then return detach(list) end
  end
  local argv = M.argv(args)
  local _, msg = sys.exec(argv)
  io.stderr:write("kumo sandbox: cannot run ", argv[1], ": ", tostring(msg),
    " (install python3 with moto, or set KUMO_PYTHON)\n")
  return 1
end

return M
