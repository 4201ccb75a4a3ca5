--- Parameter validation before a request is sent, driven by the shapes:
-- required members, types, lengths, ranges, patterns, unions, unknown
-- members (a typo must not be dropped silently). Enum mismatches warn
-- (models age; services add values) unless `strict`. A pattern must match
-- the whole value (as the services that wrote unanchored patterns check
-- them); a pattern outside kumo.regex's subset is not checked.
--
--   validate.check(service_model, op_model, params, { strict =, warn = fn })
--
-- raises `"<Operation>: <path>: <problem>"` (one line per problem), e.g.
-- `CreateDBProxy: Auth[1].IAMAuth: expected one of REQUIRED, DISABLED, ENABLED`.
-- List positions are 1-based as in Lua; map keys are written `Map["key"]`.
-- Values of `sensitive` shapes (secrets, passwords) never appear in messages.
-- @module kumo.validate
local regex = require "kumo.regex"

local M = {}

local format, concat = string.format, table.concat
local mtype, tointeger = math.type, math.tointeger
local utf8len = utf8.len

local null = require("kumo.json").null
local clock_parse = require("kumo.clock").parse

--- Most problems reported in one error (the rest are counted).
M.MAX_PROBLEMS = 10

--- Matched values remembered per patterned shape.
M.MEMO = 256

local function path_text(stack, n)
  local parts = {}
  for i = 1, n do
    local p = stack[i]
    if type(p) == "number" then
      parts[#parts + 1] = "[" .. p .. "]"
    elseif p:sub(1, 1) == "[" then
      parts[#parts + 1] = p
    else
      parts[#parts + 1] = (#parts > 0 and "." or "") .. p
    end
  end
  return concat(parts)
end

local function close(name, candidates)
  return require("kumo.suggest").close_matches(name, candidates, 3)
end

local function shape_type_name(shape)
  local t = shape.type
  if t == "structure" then return shape.union and "a union (table with one member)" or "a table" end
  if t == "list" then return "a list" end
  if t == "map" then return "a table (map)" end
  if t == "integer" or t == "long" then return "an integer" end
  if t == "float" or t == "double" then return "a number" end
  if t == "boolean" then return "a boolean" end
  if t == "timestamp" then return "a timestamp (epoch seconds or ISO 8601 text)" end
  if t == "blob" then return "a string (bytes)" end
  return "a string"
end

local function value_text(v, shape)
  if shape and shape.sensitive then return "(sensitive value, not shown)" end
  if type(v) == "string" then
    if #v > 40 then v = v:sub(1, 37) .. "..." end
    return format("%q", v)
  end
  return tostring(v)
end

-- Shapes with no constraint anywhere below them are skipped in one step
-- (cached per shape: `_free`).
local function is_free(shapes, shape, seen)
  if shape._free ~= nil then return shape._free end
  seen = seen or {}
  if seen[shape] then return true end
  seen[shape] = true
  local free
  local t = shape.type
  if t == "structure" or t == "list" or t == "map" then
    free = false -- containers check their own members' types
  else
    free = not (shape.enum or shape.pattern or shape.min or shape.max)
  end
  shape._free = free
  return free
end

local Check = {}
Check.__index = Check

function Check:problem(msg, n)
  self.count = self.count + 1
  if #self.problems < M.MAX_PROBLEMS then
    local path = path_text(self.stack, n)
    self.problems[#self.problems + 1] = self.op .. ": " .. (path ~= "" and (path .. ": ") or "") .. msg
  end
end

function Check:warning(msg, n)
  local path = path_text(self.stack, n)
  local text = self.op .. ": " .. (path ~= "" and (path .. ": ") or "") .. msg
  if self.warn then self.warn(text) end
end

local check_value

local function num_text(x)
  return tostring(tointeger(x) or x)
end

function Check:range(shape, v, n)
  if shape.min and v < shape.min then
    self:problem(format("%s is below the minimum %s", value_text(v, shape), num_text(shape.min)), n)
  elseif shape.max and v > shape.max then
    self:problem(format("%s is above the maximum %s", value_text(v, shape), num_text(shape.max)), n)
  end
end

function Check:length(shape, len, what, n)
  if shape.min and len < shape.min then
    self:problem(format("%s has length %d, below the minimum %d", what, len, shape.min), n)
  elseif shape.max and len > shape.max then
    self:problem(format("%s has length %d, above the maximum %d", what, len, shape.max), n)
  end
end

function Check:structure(shape, v, n)
  local members = shape.members or {}
  local stack = self.stack
  -- unknown members first: a typo is the likeliest mistake
  for k in pairs(v) do
    if type(k) ~= "string" then
      self:problem(format("unexpected key %s (members are named, e.g. %s)", value_text(k),
        next(members) or "none"), n)
    elseif not members[k] then
      local names = shape._names
      if not names then
        names = {}
        for name in pairs(members) do names[#names + 1] = name end
        table.sort(names)
        shape._names = names
      end
      stack[n + 1] = k
      local near = close(k, names)
      self:problem("unknown parameter" .. (#near > 0 and ("; did you mean " .. concat(near, ", ") .. "?")
        or (#names > 0 and ("; valid: " .. concat(names, ", ", 1, math.min(#names, 12))
          .. (#names > 12 and ", ..." or "")) or "; this structure has no members")), n + 1)
    end
  end
  for _, name in ipairs(shape.required or {}) do
    local mv = v[name]
    if mv == nil or mv == null then
      local ref = members[name]
      if not (ref and ref.idempotencyToken) then
        stack[n + 1] = name
        self:problem("required parameter is missing", n + 1)
      end
    end
  end
  if shape.union then
    local set = {}
    for k, mv in pairs(v) do if members[k] and mv ~= null then set[#set + 1] = k end end
    if #set ~= 1 then
      table.sort(set)
      self:problem(#set == 0 and "a union needs exactly one member, got none"
        or ("a union takes exactly one member, got " .. concat(set, ", ")), n)
    end
  end
  for k, mv in pairs(v) do
    local ref = members[k]
    if ref and mv ~= null then
      stack[n + 1] = k
      check_value(self, self.shapes[ref.shape], mv, n + 1, ref)
    end
  end
end

function check_value(self, shape, v, n, ref)
  local t = shape.type
  local tv = type(v)
  if t == "structure" then
    if shape.document then return end
    if tv ~= "table" then return self:problem("expected " .. shape_type_name(shape) .. ", got " .. tv, n) end
    if v[1] ~= nil then
      return self:problem("expected a table of named members, got a list", n)
    end
    return self:structure(shape, v, n)
  elseif t == "list" then
    if tv ~= "table" then return self:problem("expected a list, got " .. tv, n) end
    local count = #v
    for k in pairs(v) do
      if mtype(k) ~= "integer" or k < 1 or k > count then
        return self:problem(format("expected a list (keys 1..n), found key %s", value_text(k)), n)
      end
    end
    self:length(shape, count, "the list", n)
    local mshape = self.shapes[shape.member.shape]
    if is_free(self.shapes, mshape) and mshape.type == "string" then
      for i = 1, count do
        if type(v[i]) ~= "string" then
          self.stack[n + 1] = i
          self:problem("expected a string, got " .. type(v[i]), n + 1)
        end
      end
      return
    end
    for i = 1, count do
      if v[i] ~= null or not shape.sparse then
        self.stack[n + 1] = i
        check_value(self, mshape, v[i], n + 1)
      end
    end
  elseif t == "map" then
    if tv ~= "table" then return self:problem("expected a table (map), got " .. tv, n) end
    local kshape = self.shapes[shape.key.shape]
    local vshape = self.shapes[shape.value.shape]
    local count = 0
    for k, item in pairs(v) do
      count = count + 1
      self.stack[n + 1] = "[" .. value_text(k) .. "]"
      if type(k) ~= "string" then
        self:problem("map keys must be strings, got " .. type(k), n + 1)
      else
        check_value(self, kshape, k, n + 1)
      end
      if item ~= null or not shape.sparse then check_value(self, vshape, item, n + 1) end
    end
    self:length(shape, count, "the map", n)
  elseif t == "string" then
    if tv ~= "string" then
      -- a JSON-valued header member takes any JSON-able value
      if ref and ref.jsonvalue then return end
      return self:problem("expected a string, got " .. tv .. " " .. value_text(v, shape), n)
    end
    if shape._free then return end
    local enum = shape.enum
    if enum then
      local set = shape._enum
      if not set then
        set = {}
        for _, e in ipairs(enum) do set[e] = true end
        shape._enum = set
      end
      if not set[v] then
        local msg = format("expected one of %s, got %s", concat(enum, ", "), value_text(v, shape))
        if self.strict then self:problem(msg, n)
        else
          -- once per shape and value: a polling loop must not repeat it
          local warned = shape._warned
          if not warned then warned = {} shape._warned = warned end
          if not warned[v] then
            warned[v] = true
            self:warning(msg .. " (sending it anyway: the model may be older than the service)", n)
          end
        end
      end
    end
    if shape.min or shape.max then
      self:length(shape, utf8len(v) or #v, value_text(v, shape), n)
    end
    local pat = shape.pattern
    if pat then
      local re = shape._re
      if re == nil then
        re = regex.compile(pat) or false
        shape._re = re
      end
      -- values that matched are remembered per shape (a script sends the
      -- same names again and again: pagination, waiters), up to MEMO each
      local seen = shape._matched
      if re and not (seen and seen[v]) then
        if regex.test(re, v, true) == false then
          self:problem(format("%s does not match the pattern %s", value_text(v, shape), pat), n)
        elseif #v <= 256 then
          if not seen or shape._nmatched >= M.MEMO then
            seen = {}
            shape._matched, shape._nmatched = seen, 0
          end
          seen[v] = true
          shape._nmatched = shape._nmatched + 1
        end
      end
    end
  elseif t == "integer" or t == "long" then
    if tv ~= "number" or not tointeger(v) then
      return self:problem("expected an integer, got " .. tv .. " " .. value_text(v, shape), n)
    end
    self:range(shape, v, n)
  elseif t == "float" or t == "double" then
    if tv == "string" and (v == "NaN" or v == "Infinity" or v == "-Infinity") then return end
    if tv ~= "number" then return self:problem("expected a number, got " .. tv .. " " .. value_text(v, shape), n) end
    self:range(shape, v, n)
  elseif t == "boolean" then
    if tv ~= "boolean" then
      return self:problem("expected a boolean (true/false), got " .. tv .. " " .. value_text(v, shape), n)
    end
  elseif t == "timestamp" then
    if tv == "number" then return end
    if tv == "string" then
      if clock_parse(v) then return end
      return self:problem(value_text(v, shape) .. " is not a timestamp (use epoch seconds, or ISO 8601 "
        .. "like 2024-01-31T12:00:00Z)", n)
    end
    return self:problem("expected a timestamp (epoch seconds or ISO 8601 text), got " .. tv, n)
  elseif t == "blob" then
    if tv ~= "string" then return self:problem("expected a string (bytes), got " .. tv, n) end
    self:length(shape, #v, "the blob", n)
  end
end

--- Validate the input of an operation.
-- @param service service model
-- @param op operation model
-- @param params the input table
-- @param opts `strict` (enum mismatches are errors), `warn` (function
--   receiving warning text; default: stderr)
-- @return true; raises the problems as one message otherwise
function M.check(service, op, params, opts)
  opts = opts or {}
  local self = setmetatable({
    shapes = service.shapes, op = op.name or "?", strict = opts.strict,
    warn = opts.warn or function(msg) io.stderr:write("kumo: warning: ", msg, "\n") end,
    stack = {}, problems = {}, count = 0,
  }, Check)
  if params == nil then params = {} end
  if type(params) ~= "table" then
    error(self.op .. ": parameters must be a table, got " .. type(params), 0)
  end
  if not op.input then
    if next(params) ~= nil then
      local k = next(params)
      error(format("%s: takes no parameters, got %s", self.op, tostring(k)), 0)
    end
    return true
  end
  self:structure(service.shapes[op.input.shape], params, 0)
  if self.count > 0 then
    local msg = concat(self.problems, "\n")
    if self.count > #self.problems then
      msg = msg .. format("\n%s: ... and %d more problems", self.op, self.count - #self.problems)
    end
    error(msg, 0)
  end
  return true
end

--- Like check, but returns `nil, message` instead of raising.
function M.try(service, op, params, opts)
  local ok, err = pcall(M.check, service, op, params, opts)
  if ok then return true end
  return nil, err
end

return M
