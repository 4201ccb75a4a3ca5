--- kumo: the Lua side of the kumo host.
-- Submodules load lazily on first use (`kumo.aws`, `kumo.jmespath`, ...);
-- `require "kumo"` itself does no start-up work a script does not use.
-- @module kumo
require "kumo.api"                -- the native API check (raises when stale)
local sys = require "kumo.sys"

local kumo = { version = sys.version }

--- Start a task (see `kumo.sched.spawn`).
function kumo.spawn(...) return require("kumo.sched").spawn(...) end

--- Run functions as tasks at once and wait for all (see `kumo.sched.parallel`).
function kumo.parallel(...) return require("kumo.sched").parallel(...) end

-- `kumo.X` is `require "kumo.X"`: a module that fails to load (a syntax
-- error, a missing dependency) raises that error; only a name with no module
-- at all is nil, as a missing field of a table would be.
local function has_module(name)
  return package.preload[name] ~= nil or package.searchpath(name, package.path) ~= nil
    or package.searchpath(name, package.cpath) ~= nil
end

return setmetatable(kumo, {
  __index = function(t, key)
    if type(key) ~= "string" then return nil end
    local name = "kumo." .. key
    if package.loaded[name] == nil and not has_module(name) then return nil end
    local mod = require(name)
    rawset(t, key, mod)
    return mod
  end,
})
