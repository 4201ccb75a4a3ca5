--- A small backtracking regular-expression matcher for the `pattern`
-- constraints of AWS models (ECMA-262 flavour, as Smithy specifies), over
-- UTF-8 code points. Supported: literals, `.`, classes `[...]` with ranges
-- and negation, escapes `\d \w \s \D \W \S \uXXXX \xXX \p{L} \p{N} \p{Z}`
-- (the `\p` classes treat any non-ASCII letter as a letter), groups `( )`,
-- `(?: )`, lookaheads `(?= )` `(?! )`, alternation, greedy and lazy
-- quantifiers `* + ? {n} {n,} {n,m}`, anchors `^ $`. Smithy patterns are
-- not implicitly anchored: `find` semantics.
-- A pattern outside this subset compiles to nil (the caller skips it).
-- @module kumo.regex
local M = {}

local char = string.char
local ucodes = utf8.codes

-- Character-class predicates over code points.
local function is_digit(c) return c >= 48 and c <= 57 end
local function is_word(c)
  return (c >= 48 and c <= 57) or (c >= 65 and c <= 90) or (c >= 97 and c <= 122) or c == 95
end
local function is_space(c)
  return c == 32 or (c >= 9 and c <= 13) or c == 0xA0 or c == 0x1680
    or (c >= 0x2000 and c <= 0x200A) or c == 0x2028 or c == 0x2029 or c == 0x202F
    or c == 0x205F or c == 0x3000 or c == 0xFEFF
end
local function is_letter(c)
  return (c >= 65 and c <= 90) or (c >= 97 and c <= 122) or (c >= 0xC0 and not is_space(c))
end
local function is_pnum(c) return is_digit(c) end
local function is_pz(c) return c == 32 or c == 0xA0 or c == 0x1680 or (c >= 0x2000 and c <= 0x200A)
  or c == 0x2028 or c == 0x2029 or c == 0x202F or c == 0x205F or c == 0x3000 end

local PCLASS = { L = is_letter, N = is_pnum, Z = is_pz }

-- Parser: pattern string → AST. Nodes:
--   {t="char", f=predicate}           one code point
--   {t="seq", ...}                     sequence
--   {t="alt", ...}                     alternatives
--   {t="rep", node, min, max, lazy}    quantifier
--   {t="group", node}                  (capturing or not: no captures kept)
--   {t="look", node, neg}              lookahead
--   {t="bol"} / {t="eol"}
local Parser = {}
Parser.__index = Parser

local function fail(msg) error({ regex = msg }, 0) end

function Parser:peek() return self.cp[self.i] end
function Parser:next() local c = self.cp[self.i] self.i = self.i + 1 return c end

local function hexnum(p, n)
  local v = 0
  for _ = 1, n do
    local c = p:next()
    if not c then fail("bad hex escape") end
    local d = tonumber(char(c), 16)
    if not d then fail("bad hex escape") end
    v = v * 16 + d
  end
  return v
end

-- An escape after `\`: returns a predicate (class escapes) or a code point.
function Parser:escape()
  local c = self:next()
  if not c then fail("trailing backslash") end
  local ch = char(c)
  if ch == "d" then return is_digit end
  if ch == "D" then return function(x) return not is_digit(x) end end
  if ch == "w" then return is_word end
  if ch == "W" then return function(x) return not is_word(x) end end
  if ch == "s" then return is_space end
  if ch == "S" then return function(x) return not is_space(x) end end
  if ch == "p" or ch == "P" then
    if self:next() ~= 123 then fail("bad \\p") end
    local name = {}
    while self:peek() and self:peek() ~= 125 do name[#name + 1] = char(self:next()) end
    self:next()
    local f = PCLASS[table.concat(name):sub(1, 1)]
    if not f then fail("unknown \\p class") end
    if ch == "P" then return function(x) return not f(x) end end
    return f
  end
  if ch == "u" then
    if self:peek() == 123 then -- \u{...}
      self:next()
      local v = 0
      while self:peek() and self:peek() ~= 125 do v = v * 16 + tonumber(char(self:next()), 16) end
      self:next()
      return v
    end
    -- \u10000-style (5 hex digits) appears in some models; take 4, then 1 more if hex
    local v = hexnum(self, 4)
    return v
  end
  if ch == "x" then return hexnum(self, 2) end
  if ch == "n" then return 10 end
  if ch == "r" then return 13 end
  if ch == "t" then return 9 end
  if ch == "f" then return 12 end
  if ch == "v" then return 11 end
  if ch == "0" then return 0 end
  if ch == "b" or ch == "B" or ch:match("%d") then fail("unsupported escape \\" .. ch) end
  return c
end

function Parser:class()
  -- after '['
  local neg = false
  if self:peek() == 94 then neg = true self:next() end
  local items = {}
  local first = true
  while true do
    local c = self:next()
    if not c then fail("unterminated class") end
    if c == 93 and not first then break end
    first = false
    local lo
    if c == 92 then
      lo = self:escape()
    else
      lo = c
    end
    if type(lo) == "number" and self:peek() == 45 and self.cp[self.i + 1] and self.cp[self.i + 1] ~= 93 then
      self:next()
      local h = self:next()
      local hi = h
      if h == 92 then hi = self:escape() end
      if type(hi) ~= "number" then fail("bad range") end
      items[#items + 1] = { lo, hi }
    elseif type(lo) == "number" then
      items[#items + 1] = { lo, lo }
    else
      items[#items + 1] = lo
    end
  end
  return function(x)
    local hit = false
    for k = 1, #items do
      local it = items[k]
      if type(it) == "function" then
        if it(x) then hit = true break end
      elseif x >= it[1] and x <= it[2] then
        hit = true
        break
      end
    end
    return hit ~= neg
  end
end

function Parser:atom()
  local c = self:next()
  if c == 40 then -- (
    local look, neg
    if self:peek() == 63 then -- ?
      self:next()
      local k = self:next()
      if k == 61 then look, neg = true, false          -- (?=
      elseif k == 33 then look, neg = true, true       -- (?!
      elseif k ~= 58 then fail("unsupported group") end -- (?: groups only
    end
    local node = self:alt()
    if self:next() ~= 41 then fail("unbalanced (") end
    if look then return { t = "look", node, neg } end
    return { t = "group", node }
  elseif c == 91 then
    return { t = "char", f = self:class() }
  elseif c == 46 then
    return { t = "char", f = function(x) return x ~= 10 and x ~= 13 end }
  elseif c == 94 then
    -- '^' only at the start of the pattern, a group or an alternative;
    -- elsewhere (a typo in a model) it could never match: unsupported
    local prev = self.cp[self.i - 2]
    if prev and prev ~= 40 and prev ~= 124 and not (prev == 58 and self.cp[self.i - 3] == 63) then
      fail("'^' in the middle of the pattern")
    end
    return { t = "bol" }
  elseif c == 36 then
    return { t = "eol" }
  elseif c == 92 then
    local e = self:escape()
    if type(e) == "function" then return { t = "char", f = e } end
    return { t = "char", f = function(x) return x == e end }
  else
    if c == 41 or c == 124 then fail("unexpected") end
    return { t = "char", f = function(x) return x == c end }
  end
end

function Parser:quant(node)
  local c = self:peek()
  local min, max
  if c == 42 then min, max = 0, math.huge
  elseif c == 43 then min, max = 1, math.huge
  elseif c == 63 then min, max = 0, 1
  elseif c == 123 then
    local j = self.i + 1
    local digits = {}
    while self.cp[j] and self.cp[j] ~= 125 do digits[#digits + 1] = char(self.cp[j]) j = j + 1 end
    local spec = table.concat(digits)
    local a, comma, b = spec:match("^(%d+)(,?)(%d*)$")
    if not a then return node end -- a literal '{'
    min = tonumber(a)
    max = comma == "" and min or (b == "" and math.huge or tonumber(b))
    self.i = j
  else
    return node
  end
  self:next()
  local lazy = false
  if self:peek() == 63 then lazy = true self:next() end
  return { t = "rep", node, min, max, lazy }
end

function Parser:seq()
  local s = { t = "seq" }
  while true do
    local c = self:peek()
    if not c or c == 124 or c == 41 then break end
    s[#s + 1] = self:quant(self:atom())
  end
  return s
end

function Parser:alt()
  local first = self:seq()
  if self:peek() ~= 124 then return first end
  local a = { t = "alt", first }
  while self:peek() == 124 do
    self:next()
    a[#a + 1] = self:seq()
  end
  return a
end

-- Matcher: m(node, s, i, k) → true when node matches s at i and k(j) holds.
local match

local function match_seq(node, s, i, k, idx)
  if idx > #node then return k(i) end
  return match(node[idx], s, i, function(j) return match_seq(node, s, j, k, idx + 1) end)
end

function match(node, s, i, k)
  local t = node.t
  if t == "char" then
    local c = s[i]
    if c and node.f(c) then return k(i + 1) end
    return false
  elseif t == "seq" then
    return match_seq(node, s, i, k, 1)
  elseif t == "alt" then
    for n = 1, #node do
      if match(node[n], s, i, k) then return true end
    end
    return false
  elseif t == "group" then
    return match(node[1], s, i, k)
  elseif t == "look" then
    local ok = match(node[1], s, i, function() return true end)
    if ok == node[2] then return false end
    return k(i)
  elseif t == "bol" then
    return i == 1 and k(i)
  elseif t == "eol" then
    return i == s.n + 1 and k(i)
  elseif t == "rep" then
    local sub_, min, max, lazy = node[1], node[2], node[3], node[4]
    if sub_.t == "char" then
      -- one code point per step: count iteratively (no deep recursion)
      local f = sub_.f
      local n = 0
      local limit = s.n - i + 1
      if max < limit then limit = max end
      while n < limit and f(s[i + n]) do n = n + 1 end
      if n < min then return false end
      if lazy then
        for j = min, n do if k(i + j) then return true end end
      else
        for j = n, min, -1 do if k(i + j) then return true end end
      end
      return false
    end
    local function try(count, j)
      if lazy then
        if count >= min and k(j) then return true end
        if count < max then
          return match(sub_, s, j, function(j2) return j2 ~= j and try(count + 1, j2) end)
        end
        return false
      end
      if count < max and match(sub_, s, j, function(j2) return j2 ~= j and try(count + 1, j2) end) then
        return true
      end
      return count >= min and k(j)
    end
    return try(0, i)
  end
  error("regex: bad node " .. tostring(t))
end

local cache = {}

--- Compile a pattern; nil when it uses syntax outside the subset.
-- @param pattern ECMA-262 pattern text
-- @return compiled pattern or nil, message
function M.compile(pattern)
  local c = cache[pattern]
  if c ~= nil then return c or nil end
  local cp = {}
  local ok_utf = pcall(function() for _, code in ucodes(pattern) do cp[#cp + 1] = code end end)
  if not ok_utf then cache[pattern] = false return nil, "not UTF-8" end
  local p = setmetatable({ cp = cp, i = 1 }, Parser)
  local ok, ast = pcall(function()
    local a = p:alt()
    if p.i <= #cp then fail("unexpected )") end
    return a
  end)
  if not ok then
    cache[pattern] = false
    return nil, type(ast) == "table" and ast.regex or tostring(ast)
  end
  c = { ast = ast, source = pattern }
  cache[pattern] = c
  return c
end

--- Whether `s` matches the compiled pattern: anywhere (find semantics,
-- Smithy's rule), or the whole string when `full` (Java's `matches`, which
-- the older AWS models' unanchored patterns such as IAM's `[\w+=,.@-]+`
-- were written for).
-- @return true/false, or nil when `s` is not UTF-8
function M.test(re, s, full)
  local codes = { n = 0 }
  local ok = pcall(function()
    local n = 0
    for _, code in ucodes(s) do n = n + 1 codes[n] = code end
    codes.n = n
  end)
  if not ok then return nil end
  local ast = re.ast
  if full then
    local last = codes.n + 1
    return match(ast, codes, 1, function(j) return j == last end)
  end
  local done = function() return true end
  for i = 1, codes.n + 1 do
    if match(ast, codes, i, done) then return true end
    -- a pattern starting with ^ can only match at the start
    if ast.t == "seq" and ast[1] and ast[1].t == "bol" then break end
  end
  return false
end

return M
