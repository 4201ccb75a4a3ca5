-- kumo.jmespath timings: prints "name<TAB>parse_us<TAB>search_us" per case
-- (parse: a fresh parse+compile; search: evaluation of the compiled form).
local jmespath = require "kumo.jmespath"
local clock = require "kumo.clock"
local dir = arg[0]:match("^(.*)/[^/]*$") or "."

local function read(p) local f = assert(io.open(p)); local s = f:read("a"); f:close(); return s end

local cases = {}
for _, c in ipairs(dofile(dir .. "/cases.lua")) do cases[#cases + 1] = c end
for _, suite in ipairs(jmespath._json_decode(read(dir .. "/benchmarks.json"))) do
  for _, c in ipairs(suite.cases) do
    cases[#cases + 1] = { name = c.comment, given = suite.given, expression = c.expression }
  end
end

local function best(n, fn)
  local b = math.huge
  for _ = 1, 5 do
    local t = clock.monotonic()
    for _ = 1, n do fn() end
    b = math.min(b, (clock.monotonic() - t) / n)
  end
  return b * 1e6
end

for _, c in ipairs(cases) do
  local parse_us = best(300, function() jmespath.parse(c.expression) end)
  local compiled = jmespath.compile(c.expression)
  local search_us = best(2000, function() compiled:search(c.given) end)
  print(string.format("%s\t%.2f\t%.2f", c.name, parse_us, search_us))
end
