--- bench/workflow_calls.lua: how many AWS calls the rds-proxy-share
-- workflow makes (issue 11's "fewer calls"), counted by the sandbox itself.
--
-- One pair (orders-pg) on a fresh sandbox: apply, a second apply (nothing to
-- do), verify, destroy. Prints, per run, all calls, the changing ones, and
-- the operations made most often (reads repeated within a run show there).
--
-- usage: kumo run bench/workflow_calls.lua [TOP=8]
local root = os.getenv("KUMO_ROOT") or "."
local sandbox = dofile(root .. "/tests/lib/sandbox.lua")
local h = dofile(root .. "/tests/e2e/workflow_helpers.lua")

local TOP = tonumber(arg and arg[1]) or 8

local sb = sandbox.start{ lifecycle = "all=0" }
local cfg = sb.dir .. "/workflow.lua"

local function per_op(stats)
  local ops = {}
  for _, acct in pairs(stats.accounts or {}) do
    for op, v in pairs(acct.operations) do ops[op] = (ops[op] or 0) + v.count end
  end
  return ops
end

local ok, err = pcall(function()
  for _, action in ipairs{ "apply", "apply", "verify", "destroy" } do
    sb.reset_stats()
    local code, out, e = h.run(sb, action .. " --quiet --config " .. h.q(cfg) .. " --pair orders-pg")
    if code ~= 0 then error(action .. " failed:\n" .. out .. e) end
    local st = sb.stats()
    local ops, list = per_op(st), {}
    for op, n in pairs(ops) do list[#list + 1] = { op, n } end
    table.sort(list, function(a, b) return a[2] > b[2] or (a[2] == b[2] and a[1] < b[1]) end)
    local top = {}
    for i = 1, math.min(TOP, #list) do top[i] = list[i][1] .. " " .. list[i][2] end
    print(string.format("  %-8s %4d calls  %3d changing   most: %s", action, st.total, st.mutating,
      table.concat(top, ", ")))
  end
end)
sb.stop()
if not ok then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end
