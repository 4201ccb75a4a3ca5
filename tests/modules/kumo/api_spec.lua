-- Loading kumo's modules: no hidden fallbacks. A module that fails to load
-- raises its own error (a syntax error stays a syntax error, not "module not
-- found" or nil), and every entry point checks the native API version.
local tmp = os.tmpname()
os.remove(tmp)
assert(os.execute("mkdir -p " .. tmp .. "/kumo/credentials"))

local function write(path, text)
  local f = assert(io.open(tmp .. "/" .. path, "w"))
  f:write(text)
  f:close()
end

-- Run fn with `tmp` first on package.path and the named modules unloaded,
-- then put everything back.
local function shadowed(names, fn)
  local saved_path, saved = package.path, {}
  for _, n in ipairs(names) do saved[n] = package.loaded[n]; package.loaded[n] = nil end
  package.path = tmp .. "/?.lua;" .. package.path
  local ok, e = pcall(fn)
  package.path = saved_path
  for _, n in ipairs(names) do package.loaded[n] = saved[n] end
  if not ok then error(e, 0) end
end

teardown(function() os.execute("rm -rf " .. tmp) end)

describe("module loading", function()
  it("kumo.X raises a module's syntax error as that syntax error", function()
    write("kumo/broken_fixture.lua", "local x = = 1\nreturn {}\n")
    shadowed({ "kumo.broken_fixture" }, function()
      local kumo = require "kumo"
      local ok, e = pcall(function() return kumo.broken_fixture end)
      assert.is_false(ok)
      assert.truthy(tostring(e):find("broken_fixture.lua:1:", 1, true), tostring(e))
      assert.truthy(tostring(e):find("unexpected symbol near '='", 1, true), tostring(e))
    end)
  end)

  it("kumo.X is nil only when there is no such module", function()
    local kumo = require "kumo"
    assert.is_nil(kumo.no_such_module_here)
    assert.are.equal(require "kumo.jmespath", kumo.jmespath)
  end)

  it("a session's credential methods surface their module's syntax error", function()
    write("kumo/credentials/session.lua", "return { assume_role = function( }\n")
    shadowed({ "kumo.session", "kumo.credentials.session" }, function()
      local s = require("kumo.session").new{ region = "us-east-1", env = {}, config_file = "/nonexistent",
        credentials_file = "/nonexistent" }
      local ok, e = pcall(function() return s.assume_role end)
      assert.is_false(ok)
      assert.truthy(tostring(e):find("credentials/session.lua:1:", 1, true), tostring(e))
    end)
  end)
end)

describe("the native API check", function()
  local function with_host_api(version, names, fn)
    local real = require "kumo.sys"
    local fake = setmetatable({ api_version = version }, { __index = real })
    local saved = {}
    names[#names + 1] = "kumo.api"
    for _, n in ipairs(names) do saved[n] = package.loaded[n]; package.loaded[n] = nil end
    package.loaded["kumo.sys"] = fake
    local ok, e = pcall(fn)
    package.loaded["kumo.sys"] = real
    for _, n in ipairs(names) do package.loaded[n] = saved[n] end
    if not ok then error(e, 0) end
  end

  for _, entry in ipairs{ "kumo", "kumo.aws", "kumo.session" } do
    it("runs for require " .. entry .. " and names what to do", function()
      with_host_api(99, { entry }, function()
        local ok, e = pcall(require, entry)
        assert.is_false(ok)
        assert.truthy(tostring(e):find("expect native API 1, host has 99", 1, true), tostring(e))
        assert.truthy(tostring(e):find("reinstall kumo", 1, true), tostring(e))
      end)
    end)
  end

  it("names a native function the modules need that the host lacks", function()
    local real = require "kumo.crypto"
    local saved = package.loaded["kumo.api"]
    package.loaded["kumo.api"] = nil
    package.loaded["kumo.crypto"] = setmetatable({ inflate = false }, { __index = real })
    local ok, e = pcall(require, "kumo.api")
    package.loaded["kumo.crypto"] = real
    package.loaded["kumo.api"] = saved
    assert.is_false(ok)
    assert.truthy(tostring(e):find("need the native function kumo.crypto.inflate, which this "
      .. "host lacks", 1, true), tostring(e))
  end)

  it("passes when the host matches", function()
    with_host_api(require("kumo.sys").api_version, { "kumo.aws" }, function()
      assert.is_table(require "kumo.aws")
    end)
  end)
end)
