--- A JSON Schema (draft 2020-12) checker for the keywords kumo's documented
-- schemas use: type (with "integer" and "null"), const, enum, required,
-- properties, additionalProperties (false), items, pattern (a Lua pattern
-- made from simple character-class regexes), minimum, $ref to "#/$defs/X".
-- An unknown keyword is an error, so a schema cannot silently check less.
-- Values come from kumo.json.decode (json.null for null).
local json = require "kumo.json"

local M = {}

local KNOWN = { ["$schema"] = true, ["$id"] = true, title = true, description = true, ["$defs"] = true,
  type = true, const = true, enum = true, required = true, properties = true,
  additionalProperties = true, items = true, pattern = true, minimum = true, ["$ref"] = true }

local function type_of(v)
  if v == json.null then return "null" end
  local t = type(v)
  if t == "number" then return math.type(v) == "integer" and "integer" or "number" end
  if t == "boolean" or t == "string" then return t end
  if t == "table" then
    if getmetatable(v) == getmetatable(json.array{}) and getmetatable(v) ~= nil then return "array" end
    return (next(v) == nil or v[1] ~= nil) and "array" or "object"
  end
  return t
end

local function type_ok(v, want)
  local have = type_of(v)
  if have == want then return true end
  if want == "number" and have == "integer" then return true end
  if want == "object" and have == "array" and next(v) == nil then return true end -- {} decodes empty
  return false
end

-- ECMA regex (the subset used: ^, $, [A-Za-z0-9.], *) as a Lua pattern
local function lua_pattern(re)
  return (re:gsub("%[([^%]]*)%]", function(cls)
    return "[" .. cls:gsub("A%-Z", "%%u"):gsub("a%-z", "%%l"):gsub("0%-9", "%%d"):gsub("%.", "%%.") .. "]"
  end))
end

local function check(v, s, root, path, errs)
  for k in pairs(s) do
    if not KNOWN[k] then error("jsonschema: keyword " .. k .. " is not supported (at " .. path .. ")") end
  end
  if s["$ref"] then
    local name = s["$ref"]:match("^#/%$defs/(.+)$")
    check(v, assert(root["$defs"][name], s["$ref"]), root, path, errs)
  end
  if s.type then
    local types = type(s.type) == "table" and s.type or { s.type }
    local ok = false
    for _, t in ipairs(types) do ok = ok or type_ok(v, t) end
    if not ok then
      errs[#errs + 1] = path .. ": " .. type_of(v) .. " is not " .. table.concat(types, "|")
      return
    end
  end
  if s.const ~= nil and v ~= s.const then errs[#errs + 1] = path .. ": not " .. tostring(s.const) end
  if s.enum then
    local ok = false
    for _, e in ipairs(s.enum) do ok = ok or e == v end
    if not ok then errs[#errs + 1] = path .. ": " .. tostring(v) .. " is not in the enum" end
  end
  if s.pattern and type(v) == "string" and not v:find(lua_pattern(s.pattern)) then
    errs[#errs + 1] = path .. ": " .. v .. " does not match " .. s.pattern
  end
  if s.minimum and type(v) == "number" and v < s.minimum then errs[#errs + 1] = path .. ": below minimum" end
  if type(v) == "table" and type_of(v) == "object" then
    for _, k in ipairs(s.required or {}) do
      if v[k] == nil then errs[#errs + 1] = path .. ": missing " .. k end
    end
    for k, x in pairs(v) do
      local ps = s.properties and s.properties[k]
      if ps then check(x, ps, root, path .. "." .. k, errs)
      elseif s.additionalProperties == false then errs[#errs + 1] = path .. ": unexpected " .. k end
    end
  elseif type(v) == "table" and s.items then
    for i, x in ipairs(v) do check(x, s.items, root, path .. "[" .. i .. "]", errs) end
  end
end

--- Check a decoded value against a decoded schema.
-- @return true, or false and the list of problems (`path: what`)
function M.validate(value, schema)
  local errs = {}
  check(value, schema, schema, "$", errs)
  if #errs == 0 then return true end
  return false, errs
end

return M
