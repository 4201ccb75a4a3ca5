--- kumo.progress: what a fleet of tasks is doing, for people and machines.
--
-- Modes:
--
-- * `tty`: a live line per running task (name, elapsed, current step or
--   waiter and its last state), redrawn in place; a finished task leaves one
--   permanent line above the live area.
-- * `lines`: one timestamped line per event (for logs and CI): a task
--   starting, each step, each change of a waiter's state, a task finishing.
-- * `json`: one JSON object per line per event, every poll included
--   (`{"event":"poll","task":"app-7","waiter":"DBProxyAvailable","state":"creating",...}`).
-- * `quiet`: nothing.
-- * `auto` (default): `tty` when the output is a terminal (not `TERM=dumb`),
--   else `lines`.
--
-- kumo.sched reports task starts and ends itself (`sched.run` /
-- `sched.parallel` with `progress = p`, or `sched.set_progress(p)`); steps
-- and waiter polls come from `sched.step(text)` and `sched.poll(waiter, state)`.
-- @module kumo.progress
local progress = {}

local MODES = { auto = true, tty = true, lines = true, quiet = true, json = true }

local clock = require "kumo.clock"
local json = require "kumo.json"

local wall, mono, json_encode = clock.now, clock.monotonic, json.encode
-- Log times with milliseconds always, so lines line up.
local iso = clock.iso8601_ms

local function fmt_elapsed(s)
  if s < 60 then return string.format("%.1fs", s) end
  if s < 3600 then return string.format("%dm%02ds", s // 60, math.floor(s % 60)) end
  return string.format("%dh%02dm", s // 3600, math.floor(s % 3600) // 60)
end

-- Cut `s` to `width` columns without splitting a UTF-8 sequence.
local function fit(s, width)
  local ok, n = pcall(utf8.len, s)
  if not ok or not n then return s:sub(1, width) end
  if n <= width then return s end
  local cut = utf8.offset(s, width) -- start of the last visible character
  return s:sub(1, cut - 1) .. "~"
end

local function describe_error(e)
  if e == nil then return nil end
  return tostring(e)
end

--- A progress reporter.
-- @type Progress
local Progress = {}
Progress.__index = Progress

--- Make a reporter.
-- @tparam[opt] table opts `mode` (`"auto"`, `"tty"`, `"lines"`, `"quiet"`,
--   `"json"`), `out` (a file, default `io.stderr`), `isatty` (override the
--   terminal check), `width` (columns; default the terminal's), `max_lines`
--   (live lines at most, default 20), `now` / `wall` (clocks, for tests),
--   `interval` (seconds between redraws on a terminal, default 0.1)
-- @treturn Progress
function progress.new(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("progress.new: expects a table like { mode = \"auto\" }", 2) end
  local mode = opts.mode or "auto"
  if not MODES[mode] then
    error(string.format("progress.new: mode %q is not one of auto, tty, lines, quiet, json", tostring(mode)), 2)
  end
  local out = opts.out or io.stderr
  local fd = (out == io.stderr and 2) or (out == io.stdout and 1) or nil
  local sys
  if fd then sys = require "kumo.sys" end
  if mode == "auto" then
    local tty = opts.isatty
    if tty == nil then
      -- a dumb terminal cannot move the cursor: timestamped lines instead
      tty = fd ~= nil and sys.isatty(fd) and os.getenv("TERM") ~= "dumb" or false
    end
    mode = tty and "tty" or "lines"
  end
  local width = opts.width
  if not width and mode == "tty" and fd then width = sys.termwidth(fd) end
  return setmetatable({
    mode = mode, out = out, width = width or 80, max_lines = opts.max_lines or 20,
    now = opts.now or mono, wall = opts.wall or wall, interval = opts.interval or 0.1,
    tasks = {}, order = {}, drawn = 0, last_draw = -math.huge, pending = {}, last_state = {},
  }, Progress)
end

function Progress:emit_line(name, text)
  self.out:write(iso(self.wall()), " ", name, ": ", text, "\n")
  self.out:flush()
end

function Progress:emit_json(ev)
  local t = self.wall()
  ev.time = iso(t)
  self.out:write(json_encode(ev), "\n")
  self.out:flush()
end

-- The live line of one task.
function Progress:live_line(t, now, namew)
  local detail
  if t.waiter then
    detail = t.waiter .. (t.state and (": " .. t.state) or "")
      .. (t.polls > 1 and string.format(" (poll %d)", t.polls) or "")
    -- the step often just names the waiter ("waiting: X"): then say it once
    if t.step and not t.step:find(t.waiter, 1, true) then detail = t.step .. " > " .. detail end
  else
    detail = t.step or "running"
  end
  local line = string.format("  %-" .. namew .. "s %7s  %s", t.name, fmt_elapsed(now - t.start), detail)
  return fit(line, self.width - 1)
end

--- Redraw the live area now (tty mode).
function Progress:redraw()
  if self.mode ~= "tty" then return end
  local now = self.now()
  self.last_draw = now
  local buf = {}
  if self.drawn > 0 then buf[#buf + 1] = "\r\27[" .. self.drawn .. "A" end
  for _, l in ipairs(self.pending) do
    buf[#buf + 1] = "\27[2K" .. fit(l, self.width - 1) .. "\n"
  end
  self.pending = {}
  local namew = 4
  for _, t in ipairs(self.order) do if #t.name > namew then namew = #t.name end end
  if namew > 24 then namew = 24 end
  local n = #self.order
  local shown = n
  if n > self.max_lines then shown = self.max_lines - 1 end
  for i = 1, shown do
    buf[#buf + 1] = "\27[2K" .. self:live_line(self.order[i], now, namew) .. "\n"
  end
  local drawn = shown
  if shown < n then
    buf[#buf + 1] = "\27[2K" .. string.format("  ... and %d more running", n - shown) .. "\n"
    drawn = drawn + 1
  end
  buf[#buf + 1] = "\27[J" -- clear what the last drawing left below
  self.drawn = drawn
  self.out:write(table.concat(buf))
  self.out:flush()
end

local function maybe_redraw(self, force)
  if force or self.now() - self.last_draw >= self.interval then self:redraw() end
end

--- A task started.
-- @tparam string name
function Progress:task_started(name)
  local m = self.mode
  if m == "quiet" then return end
  if m == "json" then return self:emit_json{ event = "task_started", task = name } end
  if m == "lines" then return self:emit_line(name, "started") end
  if self.tasks[name] then return end
  local t = { name = name, start = self.now(), polls = 0 }
  self.tasks[name] = t
  self.order[#self.order + 1] = t
  maybe_redraw(self, true)
end

--- A task moved to a new step.
-- @tparam string name
-- @tparam string text
function Progress:step(name, text)
  local m = self.mode
  if m == "quiet" then return end
  if m == "json" then return self:emit_json{ event = "step", task = name, step = text } end
  if m == "lines" then return self:emit_line(name, text) end
  local t = self.tasks[name]
  if not t then return end
  t.step, t.waiter, t.state, t.polls = text, nil, nil, 0
  maybe_redraw(self)
end

--- A waiter polled: `waiter` saw `state` after `elapsed` seconds.
-- Lines mode prints only changes of state (every poll would flood a log).
-- @tparam string name
-- @tparam string waiter
-- @tparam[opt] string state
-- @tparam[opt] number elapsed
function Progress:poll(name, waiter, state, elapsed)
  local m = self.mode
  if m == "quiet" then return end
  if m == "json" then
    return self:emit_json{ event = "poll", task = name, waiter = waiter, state = state,
      elapsed = elapsed and math.floor(elapsed * 1000 + 0.5) / 1000 }
  end
  if m == "lines" then
    local key = tostring(waiter) .. "\0" .. tostring(state)
    if self.last_state[name] == key then return end
    self.last_state[name] = key
    return self:emit_line(name, string.format("%s: %s%s", waiter, state or "polling",
      elapsed and string.format(" (%s)", fmt_elapsed(elapsed)) or ""))
  end
  local t = self.tasks[name]
  if not t then return end
  if t.waiter ~= waiter then t.polls = 0 end
  t.waiter, t.state, t.polls = waiter, state, t.polls + 1
  maybe_redraw(self)
end

--- A task finished.
-- @tparam string name
-- @tparam boolean ok
-- @param[opt] summary a summary of the result, or the error (on failure)
function Progress:task_done(name, ok, summary)
  local m = self.mode
  if m == "quiet" then return end
  if m == "json" then
    local ev = { event = "task_done", task = name, ok = ok and true or false }
    if ok then
      ev.summary = summary ~= nil and tostring(summary) or nil
    else
      ev.error = describe_error(summary)
      if type(summary) == "table" then ev.code = summary.code end
    end
    return self:emit_json(ev)
  end
  if m == "lines" then
    if ok then
      return self:emit_line(name, "done" .. (summary ~= nil and (": " .. tostring(summary)) or ""))
    end
    return self:emit_line(name, "FAILED: " .. tostring(describe_error(summary)))
  end
  local t = self.tasks[name]
  local elapsed = t and fmt_elapsed(self.now() - t.start) or ""
  if t then
    self.tasks[name] = nil
    for i, x in ipairs(self.order) do if x == t then table.remove(self.order, i) break end end
  end
  if ok then
    self.pending[#self.pending + 1] = string.format("ok   %s (%s)%s", name, elapsed,
      summary ~= nil and (": " .. tostring(summary)) or "")
  else
    self.pending[#self.pending + 1] = string.format("FAIL %s (%s): %s", name, elapsed,
      tostring(describe_error(summary)))
  end
  maybe_redraw(self, true)
end

--- Print a line of text without breaking the live area.
-- @tparam string text
function Progress:print(text)
  local m = self.mode
  if m == "quiet" then return end
  if m == "json" then return self:emit_json{ event = "message", text = text } end
  if m == "lines" then
    self.out:write(iso(self.wall()), " ", text, "\n")
    return self.out:flush()
  end
  self.pending[#self.pending + 1] = text
  maybe_redraw(self, true)
end

--- Called by the scheduler about once a second: refresh elapsed times.
function Progress:tick()
  if self.mode == "tty" and #self.order > 0 and self.now() - self.last_draw >= 1 then
    self:redraw()
  end
end

--- Finish: flush the last lines and leave the cursor below them.
function Progress:finish()
  if self.mode ~= "tty" then return end
  if #self.pending > 0 or self.drawn > 0 then self:redraw() end
end

progress.Progress = Progress

return progress
