--- rds-proxy-share: reach a private RDS database in account RDS from an
-- application in account APP through RAM-shared subnets, an RDS Proxy and
-- a proxy endpoint (docs/workflow.md; the reference procedure).
--
--   kumo run scripts/rds-proxy-share.lua ACTION --config FILE [--pair NAME]...
--       [--parallel N] [--state DIR] [--output text|json] [--graph FILE] [--quiet] [--debug]
--       [--lock-timeout SECONDS] [--replace STEP]...
--       [--max-concurrent N|P%] [--failure-tolerance N|P%] [--canary N]
--       [--order config|name|tag:KEY] [--shard I/N] [--reapply]
--   kumo run scripts/rds-proxy-share.lua --config FILE --force-unlock LOCK_ID
--
-- ACTION: plan (read-only diff), apply (converge), verify (check the live
-- result), destroy (remove what kumo created). Exit 0 when every pair
-- succeeded, 1 when any failed, 2 on usage or config errors, 130/143 when
-- SIGINT/SIGTERM stopped it (the journal is kept; rerun to resume).
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = here .. "/?.lua;" .. here .. "/?/init.lua;" .. package.path

local config = require "rds-proxy.config"
local report = require "rds-proxy.report"
local rollout = require "rds-proxy.rollout"

local USAGE = [[
usage: kumo run scripts/rds-proxy-share.lua ACTION --config FILE [options]

actions:
  plan      show what apply would create, update or leave (read-only)
  apply     create or update everything; a second run changes nothing
  verify    check the live result and print the connection command
            (--connect: also connect through the endpoint and run a query)
  destroy   delete what kumo created for the pairs, in teardown order

options:
  --config FILE      workflow config (a Lua file returning a table)
  --pair NAME        only this pair (repeatable)
  --parallel N       pairs run at once (default 4)
  --state DIR|URL    journal folder (default .kumo-state next to the config), or
                     s3://bucket/prefix: state and locks shared in S3
  --force-unlock ID  remove the S3 lock with this id (no ACTION; as Terraform's)
  --output FMT       text (default) or json (one JSON document on stdout)
  --graph FILE       write the topology as Graphviz DOT (and SVG with dot)
  --quiet            no progress lines
  --debug            show tracebacks with kumo's own file locations on errors
  --lock-timeout S   apply/destroy: wait up to S seconds for another run of the
                     same pair to end (default 0: exit at once, naming it)
  --replace STEP     apply: delete and re-create STEP when a setting that
                     cannot change in place differs (repeatable)
  --connect          verify: connect through each endpoint with psql/mysql over
                     TLS verify-full as the secret's user (docs/connect.md)

rollout over many pairs (docs/rollout.md):
  --max-concurrent N|P%     pairs run at once (as --parallel; P% of the pairs)
  --failure-tolerance N|P%  once more pairs failed, no new pair starts (default: no limit)
  --canary N                apply (and verify) the first N pairs first; the rest
                            only when they all pass
  --order ORDER             config (default), name, or tag:KEY (by the pair's tag)
  --shard I/N               only the pairs of shard I of N (a stable hash of the name)
  --reapply                 apply again the pairs an earlier rollout applied ok
                            (default: check them with a read-only plan)
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
    elseif a == "--connect" then o.connect = true
    -- [rollout] waves and shards (rds-proxy/rollout.lua) --------------------
    elseif a == "--max-concurrent" or a == "--failure-tolerance" then
      local v = value(a)
      if not rollout.amount(v, 1, a) then usage_error(select(2, rollout.amount(v, 1, a))) end
      o[a:sub(3):gsub("%-", "_")] = v
    elseif a == "--canary" then
      o.canary = math.tointeger(tonumber(value(a)))
      if not o.canary or o.canary < 0 then usage_error("--canary needs a number of pairs, e.g. --canary 2") end
    elseif a == "--order" then
      o.order = value(a)
      if o.order ~= "config" and o.order ~= "name" and not o.order:match("^tag:.+") then
        usage_error("--order is config, name or tag:KEY (e.g. --order tag:wave)")
      end
    elseif a == "--shard" then
      local si, sn = rollout.parse_shard(value(a))
      if not si then usage_error(sn) end
      o.shard = { si, sn }
    elseif a == "--reapply" then o.reapply = true
    -- [/rollout] -------------------------------------------------------------
    -- [state] a lock left by a run that is gone (S3 state)
    elseif a == "--force-unlock" then o.force_unlock = value(a)
    elseif a == "-h" or a == "--help" then io.stdout:write(USAGE); os.exit(0)
    elseif a:sub(1, 1) == "-" then usage_error("unknown option " .. a)
    elseif not o.action then o.action = a
    else usage_error("unexpected argument " .. a) end
    i = i + 1
  end
  if o.force_unlock then
    if o.action then usage_error("--force-unlock takes no ACTION: kumo run ... --config FILE --force-unlock LOCK_ID") end
    if not o.config then usage_error("missing --config FILE") end
    return o
  end
  if not o.action then usage_error("missing ACTION (plan, apply, verify or destroy)") end
  if not ({ plan = 1, apply = 1, verify = 1, destroy = 1 })[o.action] then
    usage_error("unknown action " .. o.action .. " (plan, apply, verify or destroy)")
  end
  if not o.config then usage_error("missing --config FILE") end
  if o.connect and o.action ~= "verify" then usage_error("--connect goes with verify only") end
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
  if type(state_dir) ~= "string" then return end  -- [state] S3: state_s3.check reached the bucket
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
  -- [rollout] a config's `pairs = function(org) ... end` (kumo.org)
  raw, err = rollout.expand(raw)
  if not raw then fail(2, o.config .. ": " .. clean(err)) end
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
  cfg.connect = o.connect  -- read by rds-proxy.connect through ctx.top
  -- [state] where the journals, locks and rollout records live: a folder,
  -- or an S3 place (rds-proxy/state.lua, state_s3.lua, s3_lock.lua)
  local state_dir = o.state or cfg.state_dir or (cfgdir .. "/.kumo-state")
  local state_mod = require "rds-proxy.state"
  local place
  if (o.state and o.state:match("^s3:")) or (not o.state and cfg.state) then
    if o.state then
      local perr
      place, perr = state_mod.parse(o.state, "--state")
      if not place then fail(2, perr) end
      -- the config's state table still says which credentials reach it
      for _, k in ipairs{ "profile", "region", "lease" } do place[k] = (cfg.state or {})[k] end
    else
      place = cfg.state
    end
    place.profile = place.profile or cfg.base_profile
    place.region = place.region or cfg.region
    local ok, cerr = require("rds-proxy.state_s3").check(place)
    if not ok then fail(2, cerr) end
    state_dir = place
  elseif o.force_unlock then
    fail(2, "--force-unlock removes a lock of S3 state (state = \"s3://...\" or --state s3://...); a local "
      .. "lock is the kernel's and ends with the process that holds it")
  end
  check_paths(o, state_dir)
  if o.force_unlock then
    local pair, note = require("rds-proxy.s3_lock").force_unlock(place, o.force_unlock)
    io.stdout:write(string.format("removed the lock of pair %s (%s)\n", pair, state_mod.describe_holder(note)))
    os.exit(0)
  end
  -- [/state]

  local replace = {}
  for _, name in ipairs(cfg.replace or {}) do replace[name] = true end
  for name in pairs(o.replace or {}) do replace[name] = true end

  local sched = require "kumo.sched"
  local progress = require("kumo.progress").new{ mode = o.quiet and "quiet" or "auto", out = io.stderr }
  local results, summary = {}, nil
  local function interrupted_exit(sig)
    progress:finish()
    if o.action == "apply" or o.action == "destroy" then
      io.stderr:write("interrupted: journal kept in ", state_mod.describe(state_dir), "; rerun ", o.action,
        " to resume\n")
      require("rds-proxy.s3_lock").release_all()  -- [state] S3 locks; a local one ends with the process
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
    -- [rollout] waves over the pairs of this shard, in the order asked
    local list = rollout.arrange(cfg.pairs, { order = o.order, shard = o.shard })
    local n = #list
    results, summary = rollout.run(list, cfg, {
      action = o.action, canary = o.canary, reapply = o.reapply, progress = progress,
      interrupted = function() return sys.signaled() ~= nil end,
      held = function(name) return state_mod.open(state_dir, name):holder() ~= nil end,
      journal = function(name) return state_mod.journal_hash(state_dir, name) end,
      max_concurrent = o.max_concurrent and rollout.amount(o.max_concurrent, n, "--max-concurrent")
        or o.parallel or cfg.parallel or 4,
      failure_tolerance = o.failure_tolerance and rollout.amount(o.failure_tolerance, n, "--failure-tolerance"),
      records = state_mod.records(state_dir),
      engine = { state_dir = state_dir, progress = function(name, text) sched.step(name .. ": " .. text) end,
        timeouts = cfg.timeouts, steps = cfg.steps, replace = replace, lock_timeout = o.lock_timeout,
        graph = o.graph ~= nil },
    })
    done = true
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
    -- [rollout] the summary joins report.json's document (an object) as `rollout`
    local doc = report.json(o.action, results, code, extra)
    io.stdout:write(doc:sub(1, -2), ',"rollout":', require("kumo.json").encode(summary), "}\n")
  else
    for _, r in ipairs(results) do
      if r.outcome ~= "not started" then
        local text = report.pair_text(r)
        -- [rollout] what each selector resolved to, under the pair's first line
        local lines = {}
        for _, x in ipairs(r.resolved or {}) do
          lines[#lines + 1] = string.format("  resolved %s = %s  (%s)", x.key,
            type(x.id) == "table" and table.concat(x.id, ", ") or tostring(x.id), x.selector)
        end
        if #lines > 0 then
          local first, rest = text:match("^([^\n]*)(.*)$")
          text = first .. "\n" .. table.concat(lines, "\n") .. rest
        end
        io.stdout:write(text, "\n\n")
      end
    end
    io.stdout:write(report.table(results), "\n")
    io.stdout:write(rollout.summary_text(summary), "\n")
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
