--- kumo side of bench/parts.d/20-models.sh: prints "load.<svc> ms" and
-- "call.<svc>.<Op> us" lines (best of 5).
local model = require "kumo.model"
local json = require "cjson"
local clock = os.clock
local here = arg[0]:match("^(.*)/[^/]*$") or "."

local function best(n, fn)
  local b = math.huge
  for _ = 1, n do
    local t = fn()
    if t < b then b = t end
  end
  return b
end

for i = 1, #arg do
  local name = arg[i]
  local ms = best(5, function()
    model.reset()
    local t0 = clock()
    model.service(name)
    return (clock() - t0) * 1000
  end)
  print("load." .. name, string.format("%.3f", ms))
end

local calls = json.decode(io.open(here .. "/calls.json"):read("a"))
local ctx = { uuid = function() return "00000000-0000-4000-8000-000000000000" end }
for _, c in ipairs(calls) do
  local svc = model.service(c.service)
  local op = model.operation(svc, c.op)
  local proto = require("kumo.protocol." .. svc.metadata.protocol:gsub("-", "_"))
  local body = io.open(here .. "/" .. c.body_file):read("a")
  local res = { status = c.status, headers = { ["x-amzn-requestid"] = "r" }, body = body }
  local params = c.params
  -- integers as Lua integers, like a script's literals
  for k, v in pairs(params) do if math.type(v) == "float" and math.tointeger(v) then params[k] = math.tointeger(v) end end
  local out = proto.parse(svc, op, res)
  assert(next(out), "bench: " .. c.op .. " parsed to nothing")
  local N = 2000
  local us = best(5, function()
    local t0 = clock()
    for _ = 1, N do
      proto.serialize(svc, op, params, ctx)
      proto.parse(svc, op, res)
    end
    return (clock() - t0) / N * 1e6
  end)
  print("call." .. c.service .. "." .. c.op, string.format("%.2f", us))
end
