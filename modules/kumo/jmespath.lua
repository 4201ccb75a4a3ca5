--- kumo.jmespath: the JMESPath query language over decoded JSON (Lua tables).
--
-- `search(expression, data)` evaluates an expression; `compile(expression)`
-- returns an object with `:search(data)`. Compiled forms are cached by
-- expression text, so waiters that evaluate the same path on every poll
-- parse it once. The whole specification is implemented: identifiers,
-- sub-expressions, index and slice, projections (list, object, flatten,
-- filter), multi-select list and hash, literals (JSON and raw strings),
-- pipes, `||` `&&` `!`, comparisons, expression references and every
-- built-in function. The official compliance suite runs in tests/jmespath.
--
-- Data model (the conventions of kumo.json):
--
-- * null is `json.null` inside arrays and objects; a missing key or a Lua
--   `nil` is null too. `search` returns `nil` (not `json.null`) when the
--   whole result is null; nulls inside a result are `json.null`.
-- * A table is an array when it carries the array marker metatable
--   (`jmespath.array_mt`, the same marker `kumo.json.array` sets) or, when
--   unmarked, when it is non-empty and its keys are exactly 1..n.
-- * An unmarked EMPTY table is an object (as kumo.json encodes it as `{}`).
--   Mark empty lists with `json.array({})` when the difference matters
--   (`type()`, `keys()`, `[*]` vs `*`, comparisons); for the common
--   waiter paths (`X[].Status`, `length(X)`) both readings give the same answer.
-- * Arrays that jmespath builds are marked, so they encode as `[]`.
--
-- Errors are raised as tables with `kind` (`syntax`, `invalid-arity`,
-- `invalid-type`, `invalid-value`, `unknown-function`), `message`,
-- `expression` and, for syntax errors, `column`; `tostring(err)` gives one
-- readable line.
-- @module kumo.jmespath

local M = {}

-- The null and array markers are kumo.json's, so values flow between the
-- two without conversion.
local kjson = require "kumo.json"
local NULL = kjson.null
local ARRAY_MT = getmetatable(kjson.array({}))
local OBJECT_MT = kjson.object_mt

M.null = NULL
M.array_mt = ARRAY_MT

local type, pairs, ipairs, next, getmetatable, setmetatable =
  type, pairs, ipairs, next, getmetatable, setmetatable
local mtype, floor, ceil = math.type, math.floor, math.ceil
local ssub, sfind, sformat, concat =
  string.sub, string.find, string.format, table.concat
local tsort = table.sort

----------------------------------------------------------------------------
-- Errors

local Error = {}
Error.__index = Error
Error.__name = "kumo.jmespath.error"
function Error.__tostring(e)
  local where = ""
  if e.column then where = sformat(" at column %d", e.column) end
  return sformat("jmespath: %s error%s in %q: %s", e.kind, where, e.expression or "", e.message)
end

local function raise(kind, message, expression, column)
  error(setmetatable({ kind = kind, message = message, expression = expression,
                       column = column }, Error), 0)
end

--- True when `e` is an error raised by this module.
-- @param e any value (e.g. from pcall)
-- @return boolean
function M.is_error(e)
  return getmetatable(e) == Error
end

----------------------------------------------------------------------------
-- Value helpers

local function new_array(t)
  return setmetatable(t or {}, ARRAY_MT)
end

--- Mark `t` as an array (so an empty table is `[]`, not `{}`).
-- @param t table
-- @return t
function M.array(t) return new_array(t) end

local function is_array(t)
  local mt = getmetatable(t)
  if mt ~= nil then
    if mt == ARRAY_MT or mt.__jsontype == "array" then return true end
    if mt == OBJECT_MT or mt.__jsontype == "object" then return false end
  end
  local n = #t
  if n == 0 then return false end
  for k in pairs(t) do
    if mtype(k) ~= "integer" or k < 1 or k > n then return false end
  end
  return true
end

local Expref = { __name = "kumo.jmespath.expref" }

--- The JMESPath type name of a Lua value.
-- @param v value
-- @return "null"|"boolean"|"number"|"string"|"array"|"object"|"expref"
local function jtype(v)
  local t = type(v)
  if t == "string" then return "string"
  elseif t == "number" then return "number"
  elseif t == "boolean" then return "boolean"
  elseif t == "table" then
    if getmetatable(v) == Expref then return "expref" end
    return is_array(v) and "array" or "object"
  end
  return "null"
end
M.type = jtype

local function norm(v)
  if v == NULL then return nil end
  return v
end

local function denorm(v)
  if v == nil then return NULL end
  return v
end

local function is_false(v)
  if v == nil or v == NULL or v == false then return true end
  local t = type(v)
  if t == "string" then return v == "" end
  if t == "table" then return next(v) == nil end
  return false
end

local function deep_equal(a, b)
  a, b = norm(a), norm(b)
  local ta, tb = jtype(a), jtype(b)
  if ta ~= tb then return false end
  if ta == "array" then
    if #a ~= #b then return false end
    for i = 1, #a do
      if not deep_equal(a[i], b[i]) then return false end
    end
    return true
  elseif ta == "object" then
    for k, v in pairs(a) do
      if b[k] == nil or not deep_equal(v, b[k]) then return false end
    end
    for k in pairs(b) do
      if a[k] == nil then return false end
    end
    return true
  end
  return a == b
end
M.equal = deep_equal

----------------------------------------------------------------------------
-- JSON text (literals, quoted identifiers, to_string)

-- JSON text is decoded by kumo.json (arrays marked, null as M.null).
local json_decode = kjson.decode
M._json_decode = json_decode

-- As JMESPath's reference (Python's json.dumps) writes values: 1.0 for an
-- integral float, null for NaN and for what JSON cannot hold (exprefs).
local TO_JSON = { nonfinite = "null", python_floats = true, lenient = true }
local kjson_encode = kjson.encode

--- Compact JSON text of a value (object keys sorted), as `to_string` gives it.
-- @param v value
-- @return string
function M.to_json(v)
  if jtype(v) == "expref" then return "null" end
  return kjson_encode(v, TO_JSON)
end

----------------------------------------------------------------------------
-- Lexer

local BP = {
  eof = 0, unquoted_identifier = 0, quoted_identifier = 0, literal = 0,
  rbracket = 0, rparen = 0, comma = 0, rbrace = 0, number = 0, current = 0,
  expref = 0, colon = 0, pipe = 1, ["or"] = 2, ["and"] = 3,
  eq = 5, gt = 5, lt = 5, gte = 5, lte = 5, ne = 5,
  flatten = 9, star = 20, filter = 21, dot = 40, ["not"] = 45,
  lbrace = 50, lbracket = 55, lparen = 60,
}

local SIMPLE = { ["."] = "dot", ["*"] = "star", ["]"] = "rbracket", [","] = "comma",
                 [":"] = "colon", ["@"] = "current", ["("] = "lparen", [")"] = "rparen",
                 ["{"] = "lbrace", ["}"] = "rbrace" }

local function tokenize(expr)
  local tokens, pos, len = {}, 1, #expr
  local function push(ty, value, start)
    tokens[#tokens + 1] = { type = ty, value = value, pos = start }
  end
  -- Text up to the unescaped `delim`; a backslash keeps the next byte as is.
  local function until_delim(delim, start)
    local i = start + 1
    while true do
      local c = ssub(expr, i, i)
      if c == "" then
        raise("syntax", "unclosed " .. delim .. " (add the closing " .. delim .. ")", expr, start)
      elseif c == "\\" then i = i + 2
      elseif c == delim then return ssub(expr, start + 1, i - 1), i + 1
      else i = i + 1 end
    end
  end
  while pos <= len do
    local c = ssub(expr, pos, pos)
    if c == " " or c == "\t" or c == "\n" or c == "\r" then
      pos = pos + 1
    elseif c:match("[%a_]") then
      local s, e = sfind(expr, "^[%w_]+", pos)
      push("unquoted_identifier", ssub(expr, s, e), pos)
      pos = e + 1
    elseif SIMPLE[c] then
      push(SIMPLE[c], c, pos)
      pos = pos + 1
    elseif c == "[" then
      local n = ssub(expr, pos + 1, pos + 1)
      if n == "]" then push("flatten", "[]", pos); pos = pos + 2
      elseif n == "?" then push("filter", "[?", pos); pos = pos + 2
      else push("lbracket", "[", pos); pos = pos + 1 end
    elseif c == "-" or c:match("%d") then
      local s, e = sfind(expr, "^-?%d+", pos)
      if not s then raise("syntax", "'-' must be followed by digits", expr, pos) end
      push("number", math.tointeger(tonumber(ssub(expr, s, e))), pos)
      pos = e + 1
    elseif c == '"' then
      local body, nxt = until_delim('"', pos)
      local v, err = json_decode('"' .. body .. '"')
      if v == nil then raise("syntax", "invalid quoted identifier: " .. err, expr, pos) end
      push("quoted_identifier", v, pos)
      pos = nxt
    elseif c == "'" then
      local body, nxt = until_delim("'", pos)
      push("literal", (body:gsub("\\'", "'")), pos)
      pos = nxt
    elseif c == "`" then
      local body, nxt = until_delim("`", pos)
      body = body:gsub("\\`", "`")
      local v, err = json_decode(body)
      if v == nil then
        -- Legacy JMESPath accepted an unquoted string between backticks.
        v = json_decode('"' .. body:gsub("^%s+", "") .. '"')
        if v == nil then raise("syntax", "invalid JSON literal: " .. err, expr, pos) end
      end
      push("literal", v, pos)
      pos = nxt
    elseif c == "|" then
      if ssub(expr, pos + 1, pos + 1) == "|" then push("or", "||", pos); pos = pos + 2
      else push("pipe", "|", pos); pos = pos + 1 end
    elseif c == "&" then
      if ssub(expr, pos + 1, pos + 1) == "&" then push("and", "&&", pos); pos = pos + 2
      else push("expref", "&", pos); pos = pos + 1 end
    elseif c == "!" then
      if ssub(expr, pos + 1, pos + 1) == "=" then push("ne", "!=", pos); pos = pos + 2
      else push("not", "!", pos); pos = pos + 1 end
    elseif c == "<" or c == ">" then
      local base = c == "<" and "lt" or "gt"
      if ssub(expr, pos + 1, pos + 1) == "=" then push(base .. "e", c .. "=", pos); pos = pos + 2
      else push(base, c, pos); pos = pos + 1 end
    elseif c == "=" then
      if ssub(expr, pos + 1, pos + 1) ~= "=" then
        raise("syntax", "'=' is not an operator (use '==')", expr, pos)
      end
      push("eq", "==", pos); pos = pos + 2
    else
      raise("syntax", sformat("unexpected character %q", c), expr, pos)
    end
  end
  push("eof", "", len + 1)
  return tokens
end

----------------------------------------------------------------------------
-- Parser (top-down operator precedence) producing an AST of plain tables

local Parser = {}
Parser.__index = Parser

function Parser:cur() return self.tokens[self.i].type end
function Parser:tok() return self.tokens[self.i] end
function Parser:peek(n) local t = self.tokens[self.i + n]; return t and t.type or "eof" end
function Parser:advance() self.i = self.i + 1 end

function Parser:fail(tok, msg)
  tok = tok or self:tok()
  if not msg then
    if tok.type == "eof" then msg = "incomplete expression"
    else msg = sformat("unexpected token %q", tostring(tok.value)) end
  end
  raise("syntax", msg, self.expr, tok.pos)
end

function Parser:match(ty)
  if self:cur() ~= ty then
    self:fail(nil, sformat("expected %s, found %s", ty,
      self:cur() == "eof" and "end of expression" or sformat("%q", tostring(self:tok().value))))
  end
  self:advance()
end

local IDENTITY = { type = "identity" }

function Parser:expression(rbp)
  local tok = self:tok()
  self:advance()
  local left = self:nud(tok)
  while rbp < BP[self:cur()] do
    local t = self:tok()
    self:advance()
    left = self:led(t, left)
  end
  return left
end

function Parser:nud(tok)
  local ty = tok.type
  if ty == "literal" then return { type = "literal", value = tok.value }
  elseif ty == "unquoted_identifier" then return { type = "field", name = tok.value }
  elseif ty == "quoted_identifier" then
    if self:cur() == "lparen" then
      self:fail(tok, "a quoted identifier cannot name a function (remove the quotes)")
    end
    return { type = "field", name = tok.value }
  elseif ty == "star" then
    local right
    if self:cur() == "rbracket" then right = IDENTITY
    else right = self:projection_rhs(BP.star) end
    return { type = "value_projection", left = IDENTITY, right = right }
  elseif ty == "filter" then
    return self:led(tok, IDENTITY)
  elseif ty == "lbrace" then
    return self:multi_select_hash()
  elseif ty == "lparen" then
    local e = self:expression(0)
    self:match("rparen")
    return e
  elseif ty == "flatten" then
    local left = { type = "flatten", child = IDENTITY }
    return { type = "projection", left = left, right = self:projection_rhs(BP.flatten) }
  elseif ty == "not" then
    return { type = "not", child = self:expression(BP["not"]) }
  elseif ty == "lbracket" then
    local c = self:cur()
    if c == "number" or c == "colon" then
      return self:project_if_slice(IDENTITY, self:index_expression())
    elseif c == "star" and self:peek(1) == "rbracket" then
      self:advance(); self:advance()
      return { type = "projection", left = IDENTITY, right = self:projection_rhs(BP.star) }
    end
    return self:multi_select_list()
  elseif ty == "current" then
    return IDENTITY
  elseif ty == "expref" then
    return { type = "expref", child = self:expression(BP.expref) }
  end
  self:fail(tok)
end

local COMPARATORS = { eq = "==", ne = "!=", lt = "<", lte = "<=", gt = ">", gte = ">=" }

function Parser:led(tok, left)
  local ty = tok.type
  if ty == "dot" then
    if self:cur() ~= "star" then
      return { type = "subexpression", left = left, right = self:dot_rhs(BP.dot) }
    end
    self:advance()
    return { type = "value_projection", left = left, right = self:projection_rhs(BP.dot) }
  elseif ty == "pipe" then
    return { type = "pipe", left = left, right = self:expression(BP.pipe) }
  elseif ty == "or" then
    return { type = "or", left = left, right = self:expression(BP["or"]) }
  elseif ty == "and" then
    return { type = "and", left = left, right = self:expression(BP["and"]) }
  elseif ty == "lparen" then
    if left.type ~= "field" then self:fail(tok, "only a name can be called as a function") end
    local args = {}
    if self:cur() ~= "rparen" then
      while true do
        args[#args + 1] = self:expression(0)
        if self:cur() == "comma" then self:advance()
        else break end
      end
    end
    self:match("rparen")
    return { type = "function", name = left.name, args = args, pos = tok.pos }
  elseif ty == "filter" then
    local cond = self:expression(0)
    self:match("rbracket")
    local right
    if self:cur() == "flatten" then right = IDENTITY
    else right = self:projection_rhs(BP.filter) end
    return { type = "filter_projection", left = left, right = right, cond = cond }
  elseif COMPARATORS[ty] then
    return { type = "comparator", op = ty, left = left, right = self:expression(BP[ty]) }
  elseif ty == "flatten" then
    return { type = "projection", left = { type = "flatten", child = left },
             right = self:projection_rhs(BP.flatten) }
  elseif ty == "lbracket" then
    local c = self:cur()
    if c == "number" or c == "colon" then
      return self:project_if_slice(left, self:index_expression())
    end
    self:match("star")
    self:match("rbracket")
    return { type = "projection", left = left, right = self:projection_rhs(BP.star) }
  end
  self:fail(tok)
end

function Parser:index_expression()
  if self:cur() == "colon" or self:peek(1) == "colon" then
    local parts, idx = {}, 1
    while self:cur() ~= "rbracket" do
      local c = self:cur()
      if c == "colon" then
        idx = idx + 1
        if idx > 3 then self:fail(nil, "a slice has at most three parts (start:stop:step)") end
        self:advance()
      elseif c == "number" and parts[idx] == nil then
        parts[idx] = self:tok().value
        self:advance()
      else
        self:fail()
      end
    end
    self:match("rbracket")
    return { type = "slice", start = parts[1], stop = parts[2], step = parts[3] }
  end
  local tok = self:tok()
  self:match("number")
  self:match("rbracket")
  return { type = "index", index = tok.value }
end

function Parser:project_if_slice(left, right)
  local node = { type = "index_expression", left = left, right = right }
  if right.type == "slice" then
    return { type = "projection", left = node, right = self:projection_rhs(BP.star) }
  end
  return node
end

function Parser:projection_rhs(rbp)
  local c = self:cur()
  if BP[c] < 10 then return IDENTITY
  elseif c == "lbracket" or c == "filter" then return self:expression(rbp)
  elseif c == "dot" then
    self:advance()
    return self:dot_rhs(rbp)
  end
  self:fail()
end

function Parser:dot_rhs(rbp)
  local c = self:cur()
  if c == "quoted_identifier" or c == "unquoted_identifier" or c == "star" then
    return self:expression(rbp)
  elseif c == "lbracket" then
    self:advance()
    return self:multi_select_list()
  elseif c == "lbrace" then
    self:advance()
    return self:multi_select_hash()
  end
  self:fail(nil, sformat("expected a name, '*', '[' or '{' after '.', found %s",
    c == "eof" and "end of expression" or sformat("%q", tostring(self:tok().value))))
end

function Parser:multi_select_list()
  local items = {}
  while true do
    items[#items + 1] = self:expression(0)
    if self:cur() == "rbracket" then break end
    self:match("comma")
  end
  self:match("rbracket")
  return { type = "multi_select_list", items = items }
end

function Parser:multi_select_hash()
  local pairs_ = {}
  while true do
    local tok = self:tok()
    if tok.type ~= "quoted_identifier" and tok.type ~= "unquoted_identifier" then
      self:fail(tok, "expected a key name in '{key: expression}'")
    end
    self:advance()
    self:match("colon")
    pairs_[#pairs_ + 1] = { key = tok.value, value = self:expression(0) }
    if self:cur() == "comma" then self:advance()
    else
      self:match("rbrace")
      break
    end
  end
  return { type = "multi_select_hash", pairs = pairs_ }
end

local function parse(expr)
  if type(expr) ~= "string" then
    raise("syntax", "the expression must be a string, got " .. type(expr), tostring(expr))
  end
  local p = setmetatable({ tokens = tokenize(expr), i = 1, expr = expr }, Parser)
  local ast = p:expression(0)
  if p:cur() ~= "eof" then p:fail() end
  return ast
end

----------------------------------------------------------------------------
-- Functions

-- Argument type specs: a list of allowed types per argument; "any" matches all.
-- `variadic` is the minimum count when the last spec repeats.
local FUNCS = {}

local function arg_error(ctx, name, i, expected, got)
  raise("invalid-type", sformat("%s() argument %d must be %s, got %s", name, i, expected, got),
    ctx.expr)
end

local function check_array_of(ctx, name, i, arr, allowed)
  local first
  for j = 1, #arr do
    local t = jtype(norm(arr[j]))
    if not allowed[t] then
      arg_error(ctx, name, i, "an array of " .. allowed.desc, "an array holding a " .. t)
    end
    if first and t ~= first then
      arg_error(ctx, name, i, "an array of " .. allowed.desc, "a mixed array")
    end
    first = t
  end
end

local NUMS = { number = true, desc = "numbers" }
local STRS = { string = true, desc = "strings" }
local NUMS_OR_STRS = { number = true, string = true, desc = "numbers or of strings" }

local function def(name, spec, fn)
  FUNCS[name] = { spec = spec, fn = fn }
end

local function apply_expref(ctx, ref, v)
  return ref.fn(v, ctx)
end

local function sort_key_check(ctx, name, keys, n)
  local first
  for i = 1, n do
    local t = jtype(keys[i])
    if t ~= "number" and t ~= "string" then
      raise("invalid-type", sformat("%s() expression must give numbers or strings, got %s", name, t), ctx.expr)
    end
    if first and first ~= t then
      raise("invalid-type", name .. "() expression gave both numbers and strings", ctx.expr)
    end
    first = t
  end
end

def("abs", { { "number" } }, function(_, n) return n < 0 and -n or n end)
def("avg", { { "array", of = NUMS } }, function(_, a)
  if #a == 0 then return nil end
  local s = 0
  for i = 1, #a do s = s + a[i] end
  return s / #a
end)
def("ceil", { { "number" } }, function(_, n) return ceil(n) end)
def("floor", { { "number" } }, function(_, n) return floor(n) end)
def("contains", { { "array", "string" }, { "any" } }, function(_, subject, search)
  if type(subject) == "string" then
    if type(search) ~= "string" then return false end
    return sfind(subject, search, 1, true) ~= nil
  end
  for i = 1, #subject do
    if deep_equal(subject[i], search) then return true end
  end
  return false
end)
def("ends_with", { { "string" }, { "string" } }, function(_, s, suffix)
  return suffix == "" or ssub(s, -#suffix) == suffix
end)
def("starts_with", { { "string" }, { "string" } }, function(_, s, prefix)
  return ssub(s, 1, #prefix) == prefix
end)
def("join", { { "string" }, { "array", of = STRS } }, function(_, glue, a)
  local parts = {}
  for i = 1, #a do parts[i] = a[i] end
  return concat(parts, glue)
end)
def("keys", { { "object" } }, function(_, o)
  local r = new_array()
  for k in pairs(o) do r[#r + 1] = k end
  tsort(r)
  return r
end)
def("values", { { "object" } }, function(_, o)
  local keys = {}
  for k in pairs(o) do keys[#keys + 1] = k end
  tsort(keys)
  local r = new_array()
  for i, k in ipairs(keys) do r[i] = o[k] end
  return r
end)
def("length", { { "string", "array", "object" } }, function(_, v)
  if type(v) == "string" then return utf8.len(v) or #v end
  if is_array(v) then return #v end
  local n = 0
  for _ in pairs(v) do n = n + 1 end
  return n
end)
def("map", { { "expref" }, { "array" } }, function(ctx, ref, a)
  local r = new_array()
  for i = 1, #a do r[i] = denorm(apply_expref(ctx, ref, norm(a[i]))) end
  return r
end)
local function minmax(name, better)
  def(name, { { "array", of = NUMS_OR_STRS } }, function(_, a)
    if #a == 0 then return nil end
    local best = a[1]
    for i = 2, #a do if better(a[i], best) then best = a[i] end end
    return best
  end)
end
minmax("max", function(x, y) return x > y end)
minmax("min", function(x, y) return x < y end)
local function by(name, better)
  def(name, { { "array" }, { "expref" } }, function(ctx, a, ref)
    if #a == 0 then return nil end
    local keys = {}
    for i = 1, #a do keys[i] = apply_expref(ctx, ref, norm(a[i])) end
    sort_key_check(ctx, name, keys, #a)
    local bi = 1
    for i = 2, #a do if better(keys[i], keys[bi]) then bi = i end end
    return norm(a[bi])
  end)
end
by("max_by", function(x, y) return x > y end)
by("min_by", function(x, y) return x < y end)
def("merge", { { "object" }, variadic = 1 }, function(_, ...)
  local r = {}
  for i = 1, select("#", ...) do
    for k, v in pairs((select(i, ...))) do r[k] = v end
  end
  if OBJECT_MT then setmetatable(r, OBJECT_MT) end
  return r
end)
def("not_null", { { "any" }, variadic = 1 }, function(_, ...)
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    if v ~= nil then return v end
  end
  return nil
end)
def("reverse", { { "string", "array" } }, function(_, v)
  if type(v) == "string" then
    local cps = {}
    local ok = pcall(function() for _, cp in utf8.codes(v) do cps[#cps + 1] = cp end end)
    if not ok then return v:reverse() end
    local out = {}
    for i = #cps, 1, -1 do out[#out + 1] = utf8.char(cps[i]) end
    return concat(out)
  end
  local r = new_array()
  for i = #v, 1, -1 do r[#r + 1] = v[i] end
  return r
end)
def("sort", { { "array", of = NUMS_OR_STRS } }, function(_, a)
  local r = new_array()
  for i = 1, #a do r[i] = a[i] end
  tsort(r)
  return r
end)
def("sort_by", { { "array" }, { "expref" } }, function(ctx, a, ref)
  local keys, idx = {}, {}
  for i = 1, #a do
    keys[i] = apply_expref(ctx, ref, norm(a[i]))
    idx[i] = i
  end
  sort_key_check(ctx, "sort_by", keys, #a)
  -- Stable: equal keys keep their input order.
  tsort(idx, function(x, y)
    local kx, ky = keys[x], keys[y]
    if kx == ky then return x < y end
    return kx < ky
  end)
  local r = new_array()
  for i = 1, #idx do r[i] = a[idx[i]] end
  return r
end)
def("sum", { { "array", of = NUMS } }, function(_, a)
  local s = 0
  for i = 1, #a do s = s + a[i] end
  return s
end)
def("to_array", { { "any" } }, function(_, v)
  if jtype(v) == "array" then return v end
  return new_array({ denorm(v) })
end)
def("to_string", { { "any" } }, function(_, v)
  if type(v) == "string" then return v end
  return M.to_json(v)
end)
def("to_number", { { "any" } }, function(_, v)
  if type(v) == "number" then return v end
  if type(v) ~= "string" then return nil end
  if not v:match("^%s*[-+]?%.?%d") or v:find("[xXnN]") then return nil end
  return tonumber(v)
end)
def("type", { { "any" } }, function(_, v) return jtype(v) end)

--- Names of the built-in functions.
-- @return sorted array of names
function M.functions()
  local r = new_array()
  for k in pairs(FUNCS) do r[#r + 1] = k end
  tsort(r)
  return r
end

local function describe(types)
  local words = {}
  for i, t in ipairs(types) do
    words[i] = (t == "array" or t == "object" or t == "expref") and ("an " .. t) or ("a " .. t)
  end
  return concat(words, " or ")
end

local function call_function(ctx, f, name, args, n)
  local spec = f.spec
  for i = 1, n do
    local s = spec[i] or spec[#spec]
    local v = args[i]
    if s[1] ~= "any" then
      local t = jtype(v)
      local ok = false
      for _, allowed in ipairs(s) do if allowed == t then ok = true break end end
      if not ok then arg_error(ctx, name, i, describe(s), t) end
      if s.of then check_array_of(ctx, name, i, v, s.of) end
    end
  end
  return f.fn(ctx, table.unpack(args, 1, n))
end

----------------------------------------------------------------------------
-- Compiler: AST → Lua closures `fn(value, ctx) -> value` (nil for null)

local compile_node

local function slice_bounds(len, start, stop, step)
  if step == nil then step = 1 end
  local function cap(v, is_start)
    if v < 0 then
      v = v + len
      if v < 0 then v = step < 0 and -1 or 0 end
    elseif v >= len then
      v = step < 0 and len - 1 or len
    end
    return v
  end
  if start == nil then start = step < 0 and len - 1 or 0
  else start = cap(start, true) end
  if stop == nil then stop = step < 0 and -1 or len
  else stop = cap(stop, false) end
  return start, stop, step
end

local compilers = {}

function compilers.identity()
  return function(v) return v end
end

function compilers.literal(node)
  local value = norm(node.value)
  return function() return value end
end

function compilers.field(node)
  local name = node.name
  return function(v)
    if type(v) ~= "table" then return nil end
    local r = v[name]
    if r == nil or r == NULL then return nil end
    -- An array indexed by a (string) name gives null, as does an expref.
    local mt = getmetatable(v)
    if mt == ARRAY_MT or mt == Expref then return nil end
    return r
  end
end

function compilers.subexpression(node)
  local l, r = compile_node(node.left), compile_node(node.right)
  return function(v, ctx)
    local x = l(v, ctx)
    if x == nil then return nil end
    return r(x, ctx)
  end
end
compilers.index_expression = compilers.subexpression

function compilers.pipe(node)
  local l, r = compile_node(node.left), compile_node(node.right)
  return function(v, ctx) return r(l(v, ctx), ctx) end
end

function compilers.index(node)
  local idx = node.index
  return function(v)
    if type(v) ~= "table" or not is_array(v) then return nil end
    local n = #v
    local i = idx < 0 and n + idx + 1 or idx + 1
    if i < 1 or i > n then return nil end
    return norm(v[i])
  end
end

function compilers.slice(node, ctx)
  local start, stop, step = node.start, node.stop, node.step
  if step == 0 then raise("invalid-value", "slice step cannot be 0", ctx.expr) end
  return function(v)
    if type(v) ~= "table" or not is_array(v) then return nil end
    local s, e, st = slice_bounds(#v, start, stop, step)
    local r = new_array()
    if st > 0 then
      for i = s, e - 1, st do r[#r + 1] = v[i + 1] end
    else
      for i = s, e + 1, st do r[#r + 1] = v[i + 1] end
    end
    return r
  end
end

local function project(items, r, ctx)
  local out = new_array()
  for i = 1, #items do
    local x = r(norm(items[i]), ctx)
    if x ~= nil then out[#out + 1] = x end
  end
  return out
end

function compilers.projection(node)
  local l, r = compile_node(node.left), compile_node(node.right)
  return function(v, ctx)
    local base = l(v, ctx)
    if type(base) ~= "table" or not is_array(base) then return nil end
    return project(base, r, ctx)
  end
end

function compilers.value_projection(node)
  local l, r = compile_node(node.left), compile_node(node.right)
  return function(v, ctx)
    local base = l(v, ctx)
    if type(base) ~= "table" or is_array(base) or getmetatable(base) == Expref then return nil end
    local keys = {}
    for k in pairs(base) do keys[#keys + 1] = k end
    tsort(keys, function(a, b) return tostring(a) < tostring(b) end)
    local vals = {}
    for i, k in ipairs(keys) do vals[i] = base[k] end
    return project(vals, r, ctx)
  end
end

function compilers.flatten(node)
  local child = compile_node(node.child)
  return function(v, ctx)
    local base = child(v, ctx)
    if type(base) ~= "table" or not is_array(base) then return nil end
    local out = new_array()
    for i = 1, #base do
      local e = base[i]
      if type(e) == "table" and is_array(e) then
        for j = 1, #e do out[#out + 1] = e[j] end
      else
        out[#out + 1] = e
      end
    end
    return out
  end
end

function compilers.filter_projection(node)
  local l, r, cond = compile_node(node.left), compile_node(node.right), compile_node(node.cond)
  return function(v, ctx)
    local base = l(v, ctx)
    if type(base) ~= "table" or not is_array(base) then return nil end
    local out = new_array()
    for i = 1, #base do
      local e = norm(base[i])
      if not is_false(cond(e, ctx)) then
        local x = r(e, ctx)
        if x ~= nil then out[#out + 1] = x end
      end
    end
    return out
  end
end

local ORDER = {
  lt = function(a, b) return a < b end, lte = function(a, b) return a <= b end,
  gt = function(a, b) return a > b end, gte = function(a, b) return a >= b end,
}

function compilers.comparator(node)
  local l, r, op = compile_node(node.left), compile_node(node.right), node.op
  if op == "eq" then
    return function(v, ctx) return deep_equal(l(v, ctx), r(v, ctx)) end
  elseif op == "ne" then
    return function(v, ctx) return not deep_equal(l(v, ctx), r(v, ctx)) end
  end
  local cmp = ORDER[op]
  -- Ordering is defined on numbers only; anything else gives null.
  return function(v, ctx)
    local a, b = l(v, ctx), r(v, ctx)
    if type(a) ~= "number" or type(b) ~= "number" then return nil end
    return cmp(a, b)
  end
end

compilers["or"] = function(node)
  local l, r = compile_node(node.left), compile_node(node.right)
  return function(v, ctx)
    local a = l(v, ctx)
    if is_false(a) then return r(v, ctx) end
    return a
  end
end

compilers["and"] = function(node)
  local l, r = compile_node(node.left), compile_node(node.right)
  return function(v, ctx)
    local a = l(v, ctx)
    if is_false(a) then return a end
    return r(v, ctx)
  end
end

compilers["not"] = function(node)
  local c = compile_node(node.child)
  return function(v, ctx) return is_false(c(v, ctx)) end
end

function compilers.multi_select_list(node)
  local items = {}
  for i, n in ipairs(node.items) do items[i] = compile_node(n) end
  return function(v, ctx)
    if v == nil then return nil end
    local out = new_array()
    for i = 1, #items do out[i] = denorm(items[i](v, ctx)) end
    return out
  end
end

function compilers.multi_select_hash(node)
  local keys, fns = {}, {}
  for i, p in ipairs(node.pairs) do keys[i] = p.key; fns[i] = compile_node(p.value) end
  return function(v, ctx)
    if v == nil then return nil end
    local out = {}
    for i = 1, #keys do out[keys[i]] = denorm(fns[i](v, ctx)) end
    if OBJECT_MT then setmetatable(out, OBJECT_MT) end
    return out
  end
end

function compilers.expref(node)
  local ref = setmetatable({ fn = compile_node(node.child) }, Expref)
  return function() return ref end
end

compilers["function"] = function(node, ctx)
  local f = FUNCS[node.name]
  if not f then
    raise("unknown-function", sformat("unknown function %s() (known: %s)", node.name,
      concat(M.functions(), ", ")), ctx.expr)
  end
  local n = #node.args
  local spec = f.spec
  local min = spec.variadic and (#spec - 1 + spec.variadic) or #spec
  if n < min or (not spec.variadic and n > #spec) then
    raise("invalid-arity", sformat("%s() takes %s%d argument%s, got %d", node.name,
      spec.variadic and "at least " or "", min, min == 1 and "" or "s", n), ctx.expr)
  end
  local args = {}
  for i, a in ipairs(node.args) do args[i] = compile_node(a) end
  local name = node.name
  return function(v, c)
    local vals = {}
    for i = 1, n do vals[i] = args[i](v, c) end
    return call_function(c, f, name, vals, n)
  end
end

local current_ctx
function compile_node(node)
  return compilers[node.type](node, current_ctx)
end

----------------------------------------------------------------------------
-- Public API

local Compiled = {}
Compiled.__index = Compiled
Compiled.__name = "kumo.jmespath.compiled"
function Compiled.__tostring(c) return "jmespath(" .. c.expression .. ")" end

--- Evaluate the compiled expression against `data`.
-- @param data decoded JSON (tables, strings, numbers, booleans, json.null)
-- @return the result (`nil` when null)
function Compiled:search(data)
  local r = self.fn(norm(data), self.ctx)
  if r == NULL then return nil end
  return r
end

local cache, cache_size, CACHE_MAX = {}, 0, 512

--- Compile an expression (cached by its text).
-- @param expression JMESPath text
-- @return compiled object with `:search(data)`; raises a syntax,
--   unknown-function or invalid-arity error
function M.compile(expression)
  local c = cache[expression]
  if c then return c end
  local ast = parse(expression)
  local ctx = { expr = expression }
  local prev = current_ctx
  current_ctx = ctx
  local ok, fn = pcall(compile_node, ast)
  current_ctx = prev
  if not ok then error(fn, 0) end
  c = setmetatable({ expression = expression, ast = ast, fn = fn, ctx = ctx }, Compiled)
  if cache_size >= CACHE_MAX then cache, cache_size = {}, 0 end
  cache[expression] = c
  cache_size = cache_size + 1
  return c
end

--- Evaluate `expression` against `data`.
-- @param expression JMESPath text (compiled once and cached)
-- @param data decoded JSON
-- @return the result (`nil` when null)
function M.search(expression, data)
  return M.compile(expression):search(data)
end

--- Parse an expression into its AST (for tools and tests).
-- @param expression JMESPath text
-- @return AST table
function M.parse(expression)
  return parse(expression)
end

return M
