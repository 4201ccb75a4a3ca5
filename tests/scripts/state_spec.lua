-- The workflow's journal and lock (scripts/rds-proxy/state.lua): private
-- modes, tokens kept across reopenings and cleared on creation, intents of
-- an earlier run, and the per-pair lock (held across processes, dropped by
-- the kernel when its holder dies, its holder named).
local root = os.getenv("KUMO_ROOT") or "."
package.path = root .. "/scripts/?.lua;" .. package.path
local state = require "rds-proxy.state"
local sys = require "kumo.sys"
local json = require "kumo.json"

local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  return d .. "-state"
end

local KUMO = root .. "/bin/kumo"

describe("rds-proxy state", function()
  local dir

  before_each(function() dir = tmpdir() end)
  after_each(function() os.execute("rm -rf '" .. dir .. "'") end)

  it("writes the journal 0600 in a folder made 0700", function()
    local s = state.open(dir .. "/nested", "p1")
    s:intend("share", { name = "x" })
    assert.are.equal(448, sys.stat(dir .. "/nested").mode)
    assert.are.equal(384, sys.stat(dir .. "/nested/p1.json").mode)
  end)

  it("keeps one token per intent across reopenings and clears it once created", function()
    local s = state.open(dir, "p1")
    s:intend("share", { name = "x" })
    local t = s:token("share")
    assert.are.equal(t, s:token("share"))
    assert.is_false(s:intended_before("share"), "this run's own intent is not an earlier run's")
    local again = state.open(dir, "p1")
    assert.are.equal(t, again:token("share"), "a rerun sends the same token")
    assert.is_true(again:intended_before("share"))
    again:created("share", "arn:1")
    assert.is_nil(again:get("share").token)
    local third = state.open(dir, "p1")
    assert.is_false(third:intended_before("share"))
    assert.are_not.equal(t, third:token("other"))
  end)

  it("locks a pair against another process and names the holder", function()
    local s = state.open(dir, "p1")
    assert.is_nil(s:holder())
    s:lock{ action = "apply" }
    assert.is_nil(s:holder(), "its own lock is no other run's")
    -- another process sees the lock and its holder
    local cmd = string.format("%s -e %q 2>&1", KUMO, string.format([[
      package.path = %q .. "/scripts/?.lua;" .. package.path
      local st = require("rds-proxy.state").open(%q, "p1")
      local h = st:holder()
      print(h and h.pid, h and h.action)
      print(pcall(st.lock, st, { action = "destroy" }))
    ]], root, dir))
    local p = io.popen(cmd)
    local out = p:read("a")
    p:close()
    assert.truthy(out:find(tostring(sys.getpid()) .. "\tapply", 1, true), out)
    assert.truthy(out:find("false\tpair p1 is locked by another kumo run (pid " .. sys.getpid(), 1, true), out)
    s:unlock()
    assert.is_nil(s:holder())
    local note = json.decode(io.open(dir .. "/p1.lock"):read("a") or "")
    assert.is_nil(note, "the note is emptied on release")
  end)

  it("is free again once its holder is killed", function()
    local cmd = string.format("%s -e %q >/dev/null 2>&1 & echo $!", KUMO, string.format([[
      package.path = %q .. "/scripts/?.lua;" .. package.path
      local st = require("rds-proxy.state").open(%q, "p1")
      st:lock{ action = "apply" }
      require("kumo.clock").sleep(30)
    ]], root, dir))
    local p = io.popen(cmd)
    local pid = p:read("l")
    p:close()
    local s = state.open(dir, "p1")
    for _ = 1, 100 do
      if s:holder() then break end
      require("kumo.clock").sleep(0.05)
    end
    assert.are.equal(tonumber(pid), s:holder().pid)
    os.execute("kill -9 " .. pid)
    for _ = 1, 100 do
      if not s:holder() then break end
      require("kumo.clock").sleep(0.05)
    end
    assert.is_nil(s:holder())
    assert.is_true(s:lock{ action = "apply" })
    s:unlock()
  end)

  it("waits up to a timeout, then fails naming the holder", function()
    local lk = assert(sys.lock(dir .. "/p1.lock") or (sys.mkdir(dir, 448) and sys.lock(dir .. "/p1.lock")))
    lk:note(json.encode{ pid = 7, host = "h", action = "destroy", started = "T" })
    local s = state.open(dir, "p1")
    local waited_for
    local t0 = require("kumo.clock").monotonic()
    local ok, err = pcall(s.lock, s, { timeout = 0.5, on_wait = function(h) waited_for = h end })
    assert.is_false(ok)
    assert.truthy(require("kumo.clock").monotonic() - t0 >= 0.5)
    assert.are.equal("destroy", waited_for.action)
    assert.truthy(err:find("(pid 7 on h, destroy since T;", 1, true), err)
    lk:release()
    assert.is_true(s:lock{ timeout = 0.5 })
    s:unlock()
  end)
end)
