-- The library's layout, read from the tree (issue 16, "one of each"):
-- no module cycle (every `require`, lazy ones too, and `pcall(require, ...)`),
-- no `pcall(require` outside a commented optional feature, no second copy
-- of a job kumo.json / kumo.clock / kumo.crypto / kumo.xml.read /
-- kumo.protocol.wire own, and docs/architecture.md's table naming every
-- module (and no module that is gone).
local root = os.getenv("KUMO_ROOT") or "."

local function lines_of(path)
  local f = assert(io.open(path, "r"))
  local t = {}
  for l in f:lines() do t[#t + 1] = l end
  f:close()
  return t
end

-- Lua files below dir (relative paths, sorted).
local function lua_files(dir)
  local p = assert(io.popen("cd '" .. root .. "/" .. dir .. "' && find . -name '*.lua' | sort"))
  local t = {}
  for l in p:lines() do t[#t + 1] = l:gsub("^%./", "") end
  p:close()
  return t
end

-- "kumo/call/prepare.lua" -> "kumo.call.prepare"; ".../init.lua" -> its folder
local function module_name(rel)
  return (rel:gsub("%.lua$", ""):gsub("/init$", ""):gsub("/", "."))
end

-- Code of a line without its comment (good enough for require lines).
local function code(l)
  return (l:gsub("%-%-.*$", ""))
end

-- Every module of modules/ and the modules of its tree it requires.
local function require_graph()
  local graph, files = {}, {}
  for _, rel in ipairs(lua_files("modules")) do
    graph[module_name(rel)] = {}
    files[module_name(rel)] = rel
  end
  for name, rel in pairs(files) do
    for _, l in ipairs(lines_of(root .. "/modules/" .. rel)) do
      local c = code(l)
      for dep in c:gmatch("require%s*%(?%s*[\"']([%w%._]+)[\"']") do
        if graph[dep] then graph[name][dep] = true end
      end
      for dep in c:gmatch("pcall%(%s*require%s*,%s*[\"']([%w%._]+)[\"']") do
        if graph[dep] then graph[name][dep] = true end
      end
    end
  end
  return graph
end

-- A cycle of the graph as "a -> b -> a", or nil (depth-first, colours).
local function find_cycle(graph)
  local state, stack = {}, {}
  local function visit(v)
    state[v] = "open"
    stack[#stack + 1] = v
    local deps = {}
    for d in pairs(graph[v]) do deps[#deps + 1] = d end
    table.sort(deps)
    for _, d in ipairs(deps) do
      if state[d] == "open" then
        local from
        for i, s in ipairs(stack) do if s == d then from = i end end
        return table.concat(stack, " -> ", from) .. " -> " .. d
      elseif not state[d] then
        local c = visit(d)
        if c then return c end
      end
    end
    stack[#stack] = nil
    state[v] = "done"
  end
  local names = {}
  for v in pairs(graph) do names[#names + 1] = v end
  table.sort(names)
  for _, v in ipairs(names) do
    if not state[v] then
      local c = visit(v)
      if c then return c end
    end
  end
end

-- Lines of the Lua files below `dirs` whose code matches `pattern`, as
-- "path:line: text", leaving out the files in `owners`.
local function grep(dirs, pattern, owners)
  local hits = {}
  for _, dir in ipairs(dirs) do
    for _, rel in ipairs(lua_files(dir)) do
      local path = dir .. "/" .. rel
      if not (owners and owners[path]) then
        for i, l in ipairs(lines_of(root .. "/" .. path)) do
          if code(l):find(pattern) then hits[#hits + 1] = path .. ":" .. i .. ": " .. l end
        end
      end
    end
  end
  return hits
end

describe("the require graph", function()
  it("finds a cycle when there is one (the check can fail)", function()
    local g = { a = { b = true }, b = { c = true }, c = { a = true }, d = { a = true } }
    assert.are.equal("a -> b -> c -> a", find_cycle(g))
    g.c.a = nil
    assert.is_nil(find_cycle(g))
  end)

  it("has every kumo module and no cycle, lazy requires included", function()
    local g = require_graph()
    for _, m in ipairs{ "kumo", "kumo.aws", "kumo.session", "kumo.credentials", "kumo.credentials.sts",
        "kumo.credentials.assume_role", "kumo.call.prepare", "kumo.protocol.wire" } do
      assert.is_table(g[m], m)
    end
    -- the cycle issue 16 found: session -> credentials -> assume_role -> sts -> aws -> session
    assert.is_nil(g["kumo.credentials.sts"]["kumo.aws"])
    assert.is_nil(find_cycle(g))
  end)
end)

describe("no hidden fallbacks", function()
  it("has no pcall(require) in modules/ or scripts/ but for an optional feature saying so", function()
    local bad = {}
    for _, dir in ipairs{ "modules", "scripts" } do
      for _, rel in ipairs(lua_files(dir)) do
        local ls = lines_of(root .. "/" .. dir .. "/" .. rel)
        for i, l in ipairs(ls) do
          if code(l):find("pcall%(%s*require%s*,") and not ((ls[i - 1] or "") .. l):find("optional:", 1, true) then
            bad[#bad + 1] = dir .. "/" .. rel .. ":" .. i .. ": " .. l
          end
        end
      end
    end
    assert.are.same({}, bad)
  end)
end)

describe("one of each", function()
  local DIRS = { "modules", "scripts" }

  it("decodes JSON only through kumo.json (no other cjson instance)", function()
    assert.are.same({}, grep(DIRS, "require%s*%(?%s*[\"']cjson", { ["modules/kumo/json.lua"] = true }))
  end)

  it("keeps the calendar in kumo.clock (no os.date formatting)", function()
    assert.are.same({}, grep(DIRS, "os%.date%s*%("))
  end)

  it("reads XML bodies with kumo.xml.read (no Lua pattern for an element)", function()
    assert.are.same({}, grep(DIRS, "g?match%(%s*[\"']<"))
  end)

  it("percent-encodes with kumo.protocol.wire only", function()
    assert.are.same({}, grep(DIRS, "%%%%%%02[xX]", { ["modules/kumo/protocol/wire.lua"] = true }))
  end)

  it("base64 comes from kumo.crypto only (no alphabet table in Lua)", function()
    assert.are.same({}, grep(DIRS, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"))
  end)
end)

describe("docs/architecture.md", function()
  -- the table "module -> job it owns": its rows' first cells
  local function table_modules()
    local names, inside = {}, false
    for _, l in ipairs(lines_of(root .. "/docs/architecture.md")) do
      if l:find("^## Modules and the job each owns") then inside = true
      elseif inside and l:find("^## ") then break
      elseif inside then
        local cell = l:match("^| (`[^|]+`) |")
        if cell then
          for n in cell:gmatch("`([^`]+)`") do names[#names + 1] = n end
        end
      end
    end
    return names
  end

  it("lists every module of modules/kumo in its table, and only files that exist", function()
    local listed = {}
    for _, n in ipairs(table_modules()) do listed[n] = true end
    assert.is_true(next(listed) ~= nil, "no table under '## Modules and the job each owns'")
    local missing, stale = {}, {}
    for _, rel in ipairs(lua_files("modules/kumo")) do
      local n = "kumo/" .. rel
      if not listed[n] then missing[#missing + 1] = n end
    end
    for n in pairs(listed) do
      local path = n:find("^kumo/") and "modules/" .. n or n
      local f = io.open(root .. "/" .. path, "r")
      if f then f:close() else stale[#stale + 1] = n end
    end
    table.sort(stale)
    assert.are.same({}, missing)
    assert.are.same({}, stale)
  end)
end)
