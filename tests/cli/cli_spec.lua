-- The kumo command line: commands, exit codes, error reporting, module path.
local kumo_bin = (os.getenv("KUMO_ROOT") or ".") .. "/bin/kumo"

local function run(args)
  local cmd = kumo_bin .. " " .. args .. " 2>/tmp/kumo-cli-stderr.$$; echo \"rc=$?\"; cat /tmp/kumo-cli-stderr.$$ 1>&2"
  local p = io.popen("sh -c '" .. cmd:gsub("'", "'\\''") .. "' 2>&1")
  local out = p:read("a")
  p:close()
  local rc = tonumber(out:match("rc=(%d+)"))
  return rc, out
end

describe("kumo cli", function()
  it("runs a chunk with -e", function()
    local rc, out = run("-e 'print(40 + 2)'")
    assert.are.equal(0, rc)
    assert.truthy(out:find("42", 1, true))
  end)

  it("passes arguments to a script in arg and ...", function()
    local f = os.tmpname()
    local h = io.open(f, "w")
    h:write("local a, b = ...\nprint(arg[0] ~= nil, arg[1], arg[2], a, b)\n")
    h:close()
    local rc, out = run("run " .. f .. " x y")
    os.remove(f)
    assert.are.equal(0, rc)
    assert.truthy(out:find("true\tx\ty\tx\ty", 1, true))
  end)

  it("exits 1 with a traceback naming file:line on a script error", function()
    local f = os.tmpname()
    local h = io.open(f, "w")
    h:write("local x = nil\n\nerror('kaboom')\n")
    h:close()
    local rc, out = run("run " .. f)
    os.remove(f)
    assert.are.equal(1, rc)
    assert.truthy(out:find(":3: kaboom", 1, true))
    assert.truthy(out:find("stack traceback", 1, true))
  end)

  it("prints error objects through __tostring", function()
    local rc, out = run([[-e 'error(setmetatable({}, {__tostring = function() return "custom-err" end}))']])
    assert.are.equal(1, rc)
    assert.truthy(out:find("custom-err", 1, true))
  end)

  it("exits 2 on usage errors", function()
    assert.are.equal(2, (run("")))
    assert.are.equal(2, (run("frobnicate")))
    assert.are.equal(2, (run("run")))
  end)

  it("prints the versions of kumo and its libraries", function()
    local rc, out = run("version")
    assert.are.equal(0, rc)
    for _, lib in ipairs{ "kumo", "Lua 5.4", "libcurl", "OpenSSL", "expat" } do
      assert.truthy(out:find(lib, 1, true), lib)
    end
  end)

  it("runs the tasks a script spawned before it exits", function()
    local rc, out = run([[-e 'require("kumo").spawn(function() require("kumo.sched").sleep(0.05); print("task-done") end); print("script-end")']])
    assert.are.equal(0, rc)
    assert.truthy(out:find("script-end\ntask-done", 1, true), out)
  end)

  it("finds kumo's modules first and Debian's cjson", function()
    local rc, out = run([[-e 'print(require("kumo").version, require("cjson") ~= nil)']])
    assert.are.equal(0, rc)
    assert.truthy(out:find("true", 1, true))
  end)
end)
