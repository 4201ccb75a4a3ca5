--- Runner for the JMESPath compliance suite (files next to this script).
-- Usage: kumo run tests/jmespath/run.lua [-v] [file.json ...]
-- Prints one line per failure and `N passed, N failed` last; exits 1 on failure.
local jmespath = require "kumo.jmespath"

local dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
local verbose, files = false, {}
for _, a in ipairs(arg or {}) do
  if a == "-v" then verbose = true else files[#files + 1] = a end
end
if #files == 0 then
  local p = io.popen('ls "' .. dir .. '"/*.json')
  for f in p:lines() do files[#files + 1] = f end
  p:close()
end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local passed, failed = 0, 0
for _, path in ipairs(files) do
  -- jmespath's own decoder keeps [] and {} apart (lua-cjson does not).
  local suites = assert(jmespath._json_decode(read(path)))
  local name = path:match("[^/]+$")
  for si, suite in ipairs(suites) do
    for ci, case in ipairs(suite.cases) do
      local expr = case.expression
      local ok, res = pcall(jmespath.search, expr, suite.given)
      local good, why
      if case.error ~= nil then
        if ok then
          good, why = false, "expected a " .. case.error .. " error, got " .. jmespath.to_json(res)
        elseif not jmespath.is_error(res) then
          good, why = false, "expected a " .. case.error .. " error, got a Lua error: " .. tostring(res)
        else
          good = res.kind == case.error
          why = "expected a " .. case.error .. " error, got " .. tostring(res)
        end
      elseif case.bench then
        good = ok
        why = tostring(res)
      else
        if not ok then
          good, why = false, "raised " .. tostring(res)
        else
          good = jmespath.equal(res, case.result)
          why = "expected " .. jmespath.to_json(case.result) .. ", got " .. jmespath.to_json(res)
        end
      end
      if good then
        passed = passed + 1
        if verbose then print("ok " .. name .. " " .. expr) end
      else
        failed = failed + 1
        print(string.format("FAIL %s suite %d case %d: %s -- %s", name, si, ci, expr, why))
      end
    end
  end
end
print(string.format("%d passed, %d failed", passed, failed))
os.exit(failed == 0 and 0 or 1)
