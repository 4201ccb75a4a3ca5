--- The `kumo sandbox` command: runs the local two-account AWS cloud.
-- `bin/kumo sandbox ARGS...` calls `main(ARGS...)` and exits with its result.
-- The cloud itself is the Python package `kumo_sandbox` (moto, extended),
-- found in `<datadir>/sandbox`; this command replaces the kumo process with
-- `python3 -m kumo_sandbox ARGS...`, so Ctrl-C and SIGTERM reach it directly.
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

--- Run the command: exec python3 -m kumo_sandbox with PYTHONPATH set.
-- @param ... the arguments after `sandbox`
-- @return integer exit code (only when exec fails: 1)
function M.main(...)
  local args = table.pack(...)
  local dir = M.package_dir()
  if not sys.stat(dir .. "/kumo_sandbox/__main__.py") then
    io.stderr:write("kumo sandbox: the sandbox package is missing: ", dir,
      "/kumo_sandbox (set KUMO_SANDBOX_PATH to the directory that holds it)\n")
    return 1
  end
  local old = os.getenv("PYTHONPATH")
  sys.setenv("PYTHONPATH", old and old ~= "" and (dir .. ":" .. old) or dir)
  local argv = M.argv(args)
  local _, msg = sys.exec(argv)
  io.stderr:write("kumo sandbox: cannot run ", argv[1], ": ", tostring(msg),
    " (install python3 with moto, or set KUMO_PYTHON)\n")
  return 1
end

return M
