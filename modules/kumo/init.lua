--- kumo: the Lua side of the kumo host.
-- Submodules load lazily on first use (`kumo.aws`, `kumo.jmespath`, ...);
-- `require "kumo"` itself does no start-up work a script does not use.
-- @module kumo
local sys = require "kumo.sys"

local API_VERSION = 1
if sys.api_version ~= API_VERSION then
  error(string.format("kumo: Lua modules expect native API %d, host has %d "
    .. "(stale install? reinstall kumo)", API_VERSION, sys.api_version), 0)
end

local kumo = { version = sys.version }

--- Start a task (see `kumo.sched.spawn`).
function kumo.spawn(...) return require("kumo.sched").spawn(...) end

--- Run functions as tasks at once and wait for all (see `kumo.sched.parallel`).
function kumo.parallel(...) return require("kumo.sched").parallel(...) end

return setmetatable(kumo, {
  __index = function(t, key)
    local ok, mod = pcall(require, "kumo." .. key)
    if not ok then return nil end
    rawset(t, key, mod)
    return mod
  end,
})
