-- kumo.progress: the tty live area (escape sequences, and through a real pty),
-- timestamped lines, JSON events, quiet; and kumo.sched feeding it.
local progress = require "kumo.progress"
local sched = require "kumo.sched"
local json = require "cjson"

local kumo_bin = (os.getenv("KUMO_ROOT") or ".") .. "/bin/kumo"

-- A file-like sink.
local function sink()
  local s = { buf = {} }
  function s:write(...) for _, v in ipairs{ ... } do self.buf[#self.buf + 1] = v end return self end
  function s:flush() end
  function s:text() return table.concat(self.buf) end
  function s:lines()
    local out = {}
    for l in self:text():gmatch("[^\n]+") do out[#out + 1] = l end
    return out
  end
  return s
end

-- A manual clock.
local function clock(t0)
  local c = { t = t0 or 1000 }
  c.now = function() return c.t end
  c.wall = function() return 1764350000 + c.t end
  return c
end

-- What a terminal would show after interpreting the escapes we use
-- (cursor up, erase line, erase below, carriage return, newline).
local function screen(text)
  local rows, row = { "" }, 1
  local i = 1
  while i <= #text do
    local c = text:sub(i, i)
    if c == "\27" then
      local n, cmd = text:match("^%[(%d*)(%a)", i + 1)
      local len = #n + 2
      n = tonumber(n) or 1
      if cmd == "A" then row = math.max(1, row - n)
      elseif cmd == "K" then rows[row] = ""
      elseif cmd == "J" then for r = row, #rows do rows[r] = "" end
      end
      i = i + len + 1
    elseif c == "\n" then
      row = row + 1
      rows[row] = rows[row] or ""
      i = i + 1
    elseif c == "\r" then
      i = i + 1
    else
      rows[row] = (rows[row] or "") .. c
      i = i + 1
    end
  end
  local out = {}
  for r = 1, #rows do if rows[r] ~= "" then out[#out + 1] = rows[r] end end
  return out
end

describe("kumo.progress", function()
  it("refuses an unknown mode, naming the choices", function()
    assert.has_error(function() progress.new{ mode = "fancy" } end,
      'progress.new: mode "fancy" is not one of auto, tty, lines, quiet, json')
  end)

  it("auto picks lines when the output is not a terminal, tty when it is", function()
    assert.equal("lines", progress.new{ out = sink() }.mode)
    assert.equal("tty", progress.new{ out = sink(), isatty = true }.mode)
    assert.equal("lines", progress.new{ out = io.stderr, isatty = false }.mode)
  end)

  it("tty: a live line per running task redrawn in place; finished tasks stay above", function()
    local out, c = sink(), clock()
    local p = progress.new{ mode = "tty", out = out, now = c.now, wall = c.wall, width = 60, interval = 0 }
    p:task_started("app-1")
    p:task_started("app-2")
    c.t = c.t + 3
    p:step("app-1", "assume role")
    p:step("app-2", "waiting: DBProxyAvailable")
    p:poll("app-2", "DBProxyAvailable", "creating", 3)
    p:poll("app-2", "DBProxyAvailable", "creating", 4)
    local text = out:text()
    assert.truthy(text:find("\27[2A", 1, true)) -- moved up over the two live lines
    assert.truthy(text:find("\27[2K", 1, true)) -- erased each line before drawing it
    assert.same({
      "  app-1    3.0s  assume role",
      "  app-2    3.0s  DBProxyAvailable: creating (poll 2)",
    }, screen(text))
    c.t = c.t + 1.5
    p:task_done("app-1", true, "proxy ready")
    local s = screen(out:text())
    assert.same({
      "ok   app-1 (4.5s): proxy ready",
      "  app-2    4.5s  DBProxyAvailable: creating (poll 2)",
    }, s)
    p:task_done("app-2", false, "DBProxyAvailable: time ran out")
    p:finish()
    assert.same({
      "ok   app-1 (4.5s): proxy ready",
      "FAIL app-2 (4.5s): DBProxyAvailable: time ran out",
    }, screen(out:text()))
  end)

  it("tty: cuts lines to the terminal width and caps the live area", function()
    local out, c = sink(), clock()
    local p = progress.new{ mode = "tty", out = out, now = c.now, width = 30, max_lines = 4, interval = 0 }
    for i = 1, 6 do p:task_started("task-" .. i) end
    p:step("task-1", "a very long step description that does not fit")
    local s = screen(out:text())
    assert.equal(4, #s)
    assert.equal("  ... and 3 more running", s[4])
    for _, l in ipairs(s) do assert.truthy(#l <= 29, l) end
    assert.matches("~$", s[1])
  end)

  it("tty through a real pty: auto mode detects the terminal", function()
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write([[
      local p = require("kumo.progress").new{ width = 70 }
      io.stdout:write("mode=", p.mode, "\n")
      p:task_started("pty-task")
      p:task_done("pty-task", true, "fine")
    ]])
    f:close()
    local log = os.tmpname()
    local cmd = string.format("TERM=xterm script -qec %q %s >/dev/null 2>&1", "TERM=xterm " .. kumo_bin .. " run " .. script .. " 2>&1", log)
    os.execute(cmd)
    local h = assert(io.open(log, "rb"))
    local text = h:read("a")
    h:close()
    os.remove(script); os.remove(log)
    assert.truthy(text:find("mode=tty", 1, true), text)
    assert.truthy(text:find("\27[2K", 1, true), text)
    assert.truthy(text:find("ok   pty-task", 1, true), text)
  end)

  it("a pty with TERM=dumb gets lines: no cursor movement", function()
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write('local p = require("kumo.progress").new{} io.stdout:write("mode=", p.mode, "\\n")')
    f:close()
    local log = os.tmpname()
    os.execute(string.format("TERM=dumb script -qec %q %s >/dev/null 2>&1",
      "TERM=dumb " .. kumo_bin .. " run " .. script .. " 2>&1", log))
    local h = assert(io.open(log, "rb"))
    local text = h:read("a")
    h:close()
    os.remove(script); os.remove(log)
    assert.truthy(text:find("mode=lines", 1, true), text)
  end)

  it("lines: timestamped lines, a waiter's state only when it changes", function()
    local out, c = sink(), clock()
    local p = progress.new{ mode = "lines", out = out, now = c.now, wall = c.wall }
    p:task_started("acct-1")
    p:step("acct-1", "create proxy")
    p:poll("acct-1", "DBProxyAvailable", "creating", 5)
    p:poll("acct-1", "DBProxyAvailable", "creating", 10)
    p:poll("acct-1", "DBProxyAvailable", "available", 15)
    p:task_done("acct-1", false, setmetatable({ code = "X" }, { __tostring = function() return "boom" end }))
    local l = out:lines()
    assert.equal(5, #l)
    for _, line in ipairs(l) do assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%dZ acct%-1: ", line) end
    assert.matches("acct%-1: started$", l[1])
    assert.matches("acct%-1: create proxy$", l[2])
    assert.matches("acct%-1: DBProxyAvailable: creating %(5%.0s%)$", l[3])
    assert.matches("acct%-1: DBProxyAvailable: available %(15%.0s%)$", l[4])
    assert.matches("acct%-1: FAILED: boom$", l[5])
    assert.falsy(out:text():find("\27", 1, true))
  end)

  it("json: one event per line, every poll, errors with their code", function()
    local out, c = sink(), clock()
    local p = progress.new{ mode = "json", out = out, now = c.now, wall = c.wall }
    p:task_started("a")
    p:step("a", "share subnets")
    p:poll("a", "ResourceShareActive", "PENDING", 1.25)
    p:poll("a", "ResourceShareActive", "PENDING", 2.5)
    p:task_done("a", false, setmetatable({ code = "AccessDenied" },
      { __tostring = function() return "ram: AccessDenied" end }))
    p:task_done("b", true, "ok!")
    local ev = {}
    for _, l in ipairs(out:lines()) do ev[#ev + 1] = json.decode(l) end
    assert.equal(6, #ev)
    assert.equal("task_started", ev[1].event); assert.equal("a", ev[1].task)
    assert.equal("share subnets", ev[2].step)
    assert.equal("ResourceShareActive", ev[3].waiter); assert.equal("PENDING", ev[3].state)
    assert.equal(1.25, ev[3].elapsed)
    assert.equal("poll", ev[4].event)
    assert.is_false(ev[5].ok); assert.equal("AccessDenied", ev[5].code)
    assert.equal("ram: AccessDenied", ev[5].error)
    assert.is_true(ev[6].ok); assert.equal("ok!", ev[6].summary)
    assert.matches("^%d+%-%d+%-%d+T", ev[1].time)
  end)

  it("quiet: prints nothing", function()
    local out = sink()
    local p = progress.new{ mode = "quiet", out = out }
    p:task_started("a"); p:step("a", "x"); p:poll("a", "W", "s", 1); p:task_done("a", true); p:print("hi")
    assert.equal("", out:text())
  end)

  describe("fed by kumo.sched", function()
    local vt
    before_each(function()
      vt = 0
      sched._set_backend{ now = function() return vt end, sleep = function(s) vt = vt + s end,
        poll = function(t) vt = vt + t return {} end, start = function() error("no http here") end }
    end)
    after_each(function() sched._set_backend(nil) end)

    it("gets task starts, steps, polls and ends from parallel tasks", function()
      local out = sink()
      local p = progress.new{ mode = "json", out = out }
      local _, errs = sched.parallel({ "app-1", "app-2" }, function(name)
        sched.step("wait for proxy")
        for i = 1, 3 do
          sched.sleep(1)
          sched.poll("DBProxyAvailable", i < 3 and "creating" or "available")
        end
        if name == "app-2" then error("no luck", 0) end
        return "ready"
      end, { progress = p })
      assert.equal("no luck", errs[2])
      local by = {}
      for _, l in ipairs(out:lines()) do
        local e = json.decode(l)
        by[e.task] = by[e.task] or {}
        table.insert(by[e.task], e.event .. (e.state and (":" .. e.state) or ""))
        if e.event == "task_done" then by[e.task].done = e end
      end
      assert.same({ "task_started", "step", "poll:creating", "poll:creating", "poll:available", "task_done" },
        { table.unpack(by["app-1"]) })
      assert.is_true(by["app-1"].done.ok); assert.equal("ready", by["app-1"].done.summary)
      assert.is_false(by["app-2"].done.ok); assert.equal("no luck", by["app-2"].done.error)
    end)
  end)
end)
