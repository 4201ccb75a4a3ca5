--- rds-proxy-share: reach a private RDS database in account RDS from an
-- application in account APP through RAM-shared subnets, an RDS Proxy and
-- a proxy endpoint (docs/workflow.md; the reference procedure).
--
--   kumo run scripts/rds-proxy-share.lua ACTION --config FILE [--pair NAME]...
--       [--parallel N] [--state DIR] [--output text|json] [--graph FILE] [--quiet] [--debug]
--       [--lock-timeout SECONDS] [--replace STEP]...
--
-- ACTION: plan (read-only diff), apply (converge), verify (check the live
-- result), destroy (remove what kumo created). Exit 0 when every pair
-- succeeded, 1 when any failed, 2 on usage or config errors, 130/143 when
-- SIGINT/SIGTERM stopped it (the journal is kept; rerun to resume).
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = here .. "/?.lua;" .. here .. "/?/init.lua;" .. package.path

local config = require "rds-proxy.config"
local engine = require "rds-proxy.engine"
local report = require "rds-proxy.report"

local USAGE = [[
usage: kumo run scripts/rds-proxy-share.lua ACTION --config FILE [options]

actions:
  plan      show what apply would create, update or leave (read-only)
  apply     create or update everything; a second run changes nothing
  verify    check the live result and print the connection command
  destroy   delete what kumo created for the pairs, in teardown order

options:
  --config FILE      workflow config (a Lua file returning a table)
  --pair NAME        only this pair (repeatable)
  --parallel N       pairs run at once (default 4)
  --state DIR        journal folder (default .kumo-state next to the config)
  --output FMT       text (default) or json (one JSON document on stdout)
  --graph FILE       write the topology as Graphviz DOT (and SVG with dot)
  --quiet            no progress lines
  --debug            show tracebacks with kumo's own file locations on errors
  --lock-timeout S   apply/destroy: wait up to S seconds for another run of the
                     same pair to end (default 0: exit at once, naming it)
  --replace STEP     apply: delete and re-create STEP when a setting that
                     cannot change in place differs (repeatable)
]]

-- --output json asked anywhere on the command line: even a run that ends
-- before its options are read (a usage or config error, exit 2) then prints
-- its JSON document (with the errors) on stdout.
local json_out = {}
for i, a in ipairs(arg or {}) do
  if a == "--output" and arg[i + 1] == "json" then json_out.on = true end
  if not json_out.action and ({ plan = 1, apply = 1, verify = 1, destroy = 1 })[a] then json_out.action = a end
end

-- End the run with `code`: the JSON document when asked (errors: structured,
-- report.error), then exit.
local function finish_json(code, errors)
  if json_out.on then io.stdout:write(report.json(json_out.action, {}, code, errors), "\n") end
  os.exit(code)
end

local function usage_error(msg)
  io.stderr:write("rds-proxy-share: ", msg, "\n", USAGE)
  finish_json(2, { report.error{ code = "UsageError", message = msg } })
end

local function parse_args(argv)
  local o = { pairs = nil, output = "text" }
  local i = 1
  local function value(flag)
    i = i + 1
    if argv[i] == nil then usage_error(flag .. " needs a value") end
    return argv[i]
  end
  while i <= #argv do
    local a = argv[i]
    if a == "--config" then o.config = value(a)
    elseif a == "--pair" then o.pairs = o.pairs or {}; o.pairs[value(a)] = true
    elseif a == "--parallel" then
      o.parallel = math.tointeger(tonumber(value(a)))
      if not o.parallel or o.parallel < 1 then usage_error("--parallel needs a positive integer") end
    elseif a == "--state" then o.state = value(a)
    elseif a == "--output" then
      o.output = value(a)
      if o.output ~= "text" and o.output ~= "json" then usage_error("--output is text or json") end
    elseif a == "--graph" then o.graph = value(a)
    elseif a == "--quiet" then o.quiet = true
    elseif a == "--debug" then o.debug = true
    elseif a == "--lock-timeout" then
      o.lock_timeout = tonumber(value(a))
      if not o.lock_timeout or o.lock_timeout < 0 then
        usage_error("--lock-timeout needs a number of seconds >= 0, e.g. --lock-timeout 600")
      end
    elseif a == "--replace" then o.replace = o.replace or {}; o.replace[value(a)] = true
    elseif a == "-h" or a == "--help" then io.stdout:write(USAGE); os.exit(0)
    elseif a:sub(1, 1) == "-" then usage_error("unknown option " .. a)
    elseif not o.action then o.action = a
    else usage_error("unexpected argument " .. a) end
    i = i + 1
  end
  if not o.action then usage_error("missing ACTION (plan, apply, verify or destroy)") end
  if not ({ plan = 1, apply = 1, verify = 1, destroy = 1 })[o.action] then
    usage_error("unknown action " .. o.action .. " (plan, apply, verify or destroy)")
  end
  if not o.config then usage_error("missing --config FILE") end
  return o
end

local sys = require "kumo.sys"

-- Where kumo's own code lives: locations there mean nothing to a user
-- (they show with --debug); the config's and the user's step modules' do.
local INTERNAL = { here .. "/", (sys.moddir or "") .. "/" }

local debug_mode = false

--- A message without kumo's internal `file.lua:NN:` locations.
local function clean(msg)
  msg = tostring(msg)
  if debug_mode then return msg end
  return (msg:gsub("([^%s:]*%.lua):%d+: ", function(file)
    if file:sub(1, 3) == "..." then return "" end  -- a cut path: Lua's own, never the config's
    for _, dir in ipairs(INTERNAL) do
      if file:sub(1, #dir) == dir then return "" end
    end
  end))
end

local function fail(code, msg, errcode)
  io.stderr:write("rds-proxy-share: ", msg, "\n")
  finish_json(code, { report.error{ code = errcode or (code == 2 and "ConfigError" or "Error"), message = msg } })
end

-- Output paths are checked before any AWS call: a run that made changes
-- must not end in a stack trace because the graph cannot be written.
local function check_paths(o, state_dir)
  if o.graph then
    local st = sys.stat(o.graph)
    local dir = o.graph:match("^(.*)/[^/]*$") or "."
    local dst = sys.stat(dir == "" and "/" or dir)
    if st and st.type ~= "file" then
      fail(2, "--graph " .. o.graph .. " is not a regular file; give a file path such as topology.dot")
    elseif not dst or dst.type ~= "dir" then
      fail(2, "--graph " .. o.graph .. ": the folder " .. dir .. " does not exist; create it or choose another path")
    end
  end
  local st = sys.stat(state_dir)
  if st and st.type ~= "dir" then
    fail(2, "--state " .. state_dir .. " is not a folder; give a folder for the journal (it is created when missing)")
  end
  local ok, err = sys.mkdir(state_dir, 448)  -- 0700: the journal is private
  if not ok then
    fail(2, "--state " .. state_dir .. ": cannot create the journal folder (" .. tostring(err) .. "); choose another")
  end
end

local function main(argv)
  local o = parse_args(argv)
  debug_mode = o.debug
  -- a config's own step modules live next to it
  local cfgdir = o.config:match("^(.*)/[^/]*$") or "."
  package.path = cfgdir .. "/?.lua;" .. package.path
  local raw, err = config.load(o.config)
  if not raw then fail(2, err) end
  local cfg, errs, warnings = config.check(raw, o.pairs)
  if not cfg then
    if #errs == 1 then
      fail(2, o.config .. ": " .. errs[1] .. " (nothing was changed)")
    end
    io.stderr:write("rds-proxy-share: ", o.config, ": ", #errs, " config errors; nothing was changed\n")
    local list = {}
    for i, e in ipairs(errs) do
      io.stderr:write("  ", e, "\n")
      list[i] = report.error{ code = "ConfigError", message = o.config .. ": " .. e }
    end
    finish_json(2, list)
  end
  for _, w in ipairs(warnings or {}) do io.stderr:write("warning: ", w, "\n") end
  local state_dir = o.state or cfg.state_dir or (cfgdir .. "/.kumo-state")
  check_paths(o, state_dir)

  local replace = {}
  for _, name in ipairs(cfg.replace or {}) do replace[name] = true end
  for name in pairs(o.replace or {}) do replace[name] = true end

  local sched = require "kumo.sched"
  local progress = require("kumo.progress").new{ mode = o.quiet and "quiet" or "auto", out = io.stderr }
  local results = {}
  local function interrupted_exit(sig)
    progress:finish()
    if o.action == "apply" or o.action == "destroy" then
      io.stderr:write("interrupted: journal kept in ", state_dir, "; rerun ", o.action, " to resume\n")
    else
      io.stderr:write("interrupted: nothing was changed\n")
    end
    os.exit(128 + sig)
  end
  -- SIGINT/SIGTERM: no new call starts (ctx:check); calls in flight end and
  -- reach the journal; a second signal ends the process at once
  sys.trap_signals()
  local done = false
  sched.run(function()
    -- a call can outlast the signal by its retries: after 5 s stop anyway
    -- (the journal's intents and tokens make the rerun adopt what it made)
    sched.spawn(function()
      local since
      while not done do
        local sig = sys.signaled()
        if sig then
          since = since or sched.now()
          if sched.now() - since > 5 then interrupted_exit(sig) end
        end
        sched.sleep(0.1)
      end
    end, { name = "signal watch" })
    local res, run_errs = sched.parallel(cfg.pairs, function(pair)
      return engine.run(pair, cfg, { action = o.action, state_dir = state_dir,
        progress = function(_, text) sched.step(text) end,
        timeouts = cfg.timeouts, steps = cfg.steps, replace = replace, lock_timeout = o.lock_timeout })
    end, { limit = o.parallel or cfg.parallel or 4, name = function(pair) return pair.name end,
           progress = progress })
    done = true
    for i, pair in ipairs(cfg.pairs) do
      results[i] = res[i] or { pair = pair.name, action = o.action, outcome = "failed", steps = {},
        calls = {}, problems = {}, notes = {}, error = tostring(run_errs[i]) }
    end
  end)
  progress:finish()
  for _, r in ipairs(results) do
    if r.error then r.error = clean(r.error) end
    for i, p in ipairs(r.problems or {}) do r.problems[i] = clean(p) end
  end
  local sig = sys.signaled()

  local code, extra = 0, {}
  for _, r in ipairs(results) do
    if r.outcome ~= "ok" then code = 1 end
  end
  if sig then
    code = 128 + sig
  elseif o.graph then
    local files, gerr = require("rds-proxy.graph").write(o.graph, results, cfg)
    if not files then
      io.stderr:write("rds-proxy-share: --graph: ", gerr, "\n")
      extra[1] = report.error{ code = "GraphError", message = "--graph: " .. tostring(gerr) }
      code = 1
    else
      io.stderr:write("graph written: ", table.concat(files, ", "), "\n")
      for _, note in ipairs(files.notes or {}) do io.stderr:write("graph: ", note, "\n") end
    end
  end
  if o.output == "json" then
    io.stdout:write(report.json(o.action, results, code, extra), "\n")
  else
    for _, r in ipairs(results) do io.stdout:write(report.pair_text(r), "\n\n") end
    io.stdout:write(report.table(results), "\n")
  end
  if sig then interrupted_exit(sig) end
  os.exit(code)
end

-- Errors end in one line without kumo's locations; --debug shows the traceback.
local ok, err = xpcall(main, function(e)
  return { msg = e, traceback = debug.traceback(tostring(e), 2) }
end, arg)
if not ok then
  io.stderr:write("rds-proxy-share: ", clean(err.msg), "\n")
  if debug_mode then io.stderr:write(err.traceback, "\n") end
  finish_json(1, { report.error{ code = type(err.msg) == "table" and err.msg.code or "Error",
    message = clean(err.msg) } })
end
