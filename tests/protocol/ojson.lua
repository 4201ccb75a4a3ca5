--- An order-keeping JSON decoder for the conformance files: objects get a
-- metatable whose `__order` lists their keys as written (map entries, query
-- strings and XML bodies are order-sensitive, and lua-cjson drops key order).
-- `null` decodes to the `null` argument; integers stay integers.
-- @module ojson
local M = {}

local byte, find, sub, tonumber = string.byte, string.find, string.sub, tonumber

local ESC = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }

--- Decode JSON text.
-- @param s JSON text
-- @param null the value to use for `null`
function M.decode(s, null)
  local pos = 1
  local value

  local function fail(msg)
    error(string.format("json: %s at byte %d", msg, pos), 0)
  end

  local function skip()
    pos = find(s, "[^ \t\r\n]", pos) or #s + 1
  end

  local function str()
    local out = {}
    pos = pos + 1
    while true do
      local a = find(s, '["\\]', pos)
      if not a then fail("unterminated string") end
      out[#out + 1] = sub(s, pos, a - 1)
      if byte(s, a) == 34 then pos = a + 1 break end
      local e = sub(s, a + 1, a + 1)
      if e == "u" then
        local cp = tonumber(sub(s, a + 2, a + 5), 16)
        pos = a + 6
        if cp >= 0xD800 and cp <= 0xDBFF and sub(s, pos, pos + 1) == "\\u" then
          local lo = tonumber(sub(s, pos + 2, pos + 5), 16)
          cp = 0x10000 + (cp - 0xD800) * 0x400 + (lo - 0xDC00)
          pos = pos + 6
        end
        out[#out + 1] = utf8.char(cp)
      else
        out[#out + 1] = ESC[e] or fail("bad escape")
        pos = a + 2
      end
    end
    return table.concat(out)
  end

  function value()
    skip()
    local c = sub(s, pos, pos)
    if c == "{" then
      pos = pos + 1
      local t, order = {}, {}
      skip()
      if sub(s, pos, pos) == "}" then pos = pos + 1 return setmetatable(t, { __order = order }) end
      while true do
        skip()
        if sub(s, pos, pos) ~= '"' then fail("expected a key") end
        local k = str()
        skip()
        if sub(s, pos, pos) ~= ":" then fail("expected ':'") end
        pos = pos + 1
        local v = value()
        if t[k] == nil then order[#order + 1] = k end
        t[k] = v
        skip()
        local d = sub(s, pos, pos)
        pos = pos + 1
        if d == "}" then break end
        if d ~= "," then fail("expected ',' or '}'") end
      end
      return setmetatable(t, { __order = order })
    elseif c == "[" then
      pos = pos + 1
      local t, n = {}, 0
      skip()
      if sub(s, pos, pos) == "]" then pos = pos + 1 return setmetatable(t, { __array = true }) end
      while true do
        n = n + 1
        t[n] = value()
        skip()
        local d = sub(s, pos, pos)
        pos = pos + 1
        if d == "]" then break end
        if d ~= "," then fail("expected ',' or ']'") end
      end
      return setmetatable(t, { __array = true, n = n })
    elseif c == '"' then
      return str()
    elseif sub(s, pos, pos + 3) == "true" then pos = pos + 4 return true
    elseif sub(s, pos, pos + 4) == "false" then pos = pos + 5 return false
    elseif sub(s, pos, pos + 3) == "null" then pos = pos + 4 return null
    else
      local a, b = find(s, "^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
      if not a then fail("unexpected character") end
      local text = sub(s, a, b)
      pos = b + 1
      return math.tointeger(tonumber(text)) or tonumber(text)
    end
  end

  local v = value()
  skip()
  if pos <= #s then fail("trailing text") end
  return v
end

return M
