--- XML for the protocols: decode (kumo.xml's expat parser when the host has
-- it, a small Lua parser otherwise — same node shape), escaping, and
-- lookups by local name (AWS XML may carry namespace prefixes).
-- A node is `{ name = "Tag", attrs = {name = value}, children = {node...},
-- text = "direct text" }`.
-- @module kumo.protocol.xmlparse
local M = {}

local byte, char, find, format, gsub, sub = string.byte, string.char, string.find,
  string.format, string.gsub, string.sub

local native = require "kumo.xml"  -- the host guarantees kumo.xml

local ENT = { lt = "<", gt = ">", amp = "&", quot = '"', apos = "'" }

local function utf8char(n)
  return utf8.char(n)
end

local function unescape(s)
  if not find(s, "&", 1, true) then return s end
  return (gsub(s, "&(#?[xX]?)(%w+);", function(kind, v)
    if kind == "" then return ENT[v] or ("&" .. v .. ";") end
    local n = (kind == "#") and tonumber(v) or tonumber(v, 16)
    return n and utf8char(n) or ("&" .. kind .. v .. ";")
  end))
end

local function parse_attrs(s, pos, stop, attrs)
  while true do
    local a, b, name, q = find(s, "^%s*([^%s=/>]+)%s*=%s*(['\"])", pos)
    if not a or a > stop then return end
    local e = find(s, q, b + 1, true)
    if not e then error("xml: unterminated attribute value", 0) end
    attrs[name] = unescape(sub(s, b + 1, e - 1))
    pos = e + 1
  end
end

--- A small non-validating XML parser (elements, attributes, text, CDATA,
-- comments, processing instructions, entities). Used without kumo.xml.
local function lua_decode(s)
  local root
  local stack, depth = {}, 0
  local texts = {}
  local pos, n = 1, #s
  while pos <= n do
    local lt = find(s, "<", pos, true)
    if not lt then
      if depth > 0 then texts[depth][#texts[depth] + 1] = unescape(sub(s, pos)) end
      break
    end
    if lt > pos and depth > 0 then
      texts[depth][#texts[depth] + 1] = unescape(sub(s, pos, lt - 1))
    end
    local c = byte(s, lt + 1)
    if c == 63 then -- <? ... ?>
      local e = find(s, "?>", lt + 2, true)
      if not e then error("xml: unterminated processing instruction", 0) end
      pos = e + 2
    elseif c == 33 then -- <!
      if sub(s, lt, lt + 3) == "<!--" then
        local e = find(s, "-->", lt + 4, true)
        if not e then error("xml: unterminated comment", 0) end
        pos = e + 3
      elseif sub(s, lt, lt + 8) == "<![CDATA[" then
        local e = find(s, "]]>", lt + 9, true)
        if not e then error("xml: unterminated CDATA", 0) end
        if depth > 0 then texts[depth][#texts[depth] + 1] = sub(s, lt + 9, e - 1) end
        pos = e + 3
      else
        local e = find(s, ">", lt + 2, true)
        if not e then error("xml: unterminated declaration", 0) end
        pos = e + 1
      end
    elseif c == 47 then -- </name>
      local e = find(s, ">", lt + 2, true)
      if not e then error("xml: unterminated end tag", 0) end
      local name = gsub(sub(s, lt + 2, e - 1), "%s+$", "")
      local node = stack[depth]
      if not node or node.name ~= name then
        error(format("xml: end tag </%s> does not match <%s>", name,
          node and node.name or "?"), 0)
      end
      node.text = table.concat(texts[depth])
      stack[depth], texts[depth] = nil, nil
      depth = depth - 1
      pos = e + 1
    else
      local _, ne, name = find(s, "^([^%s/>]+)", lt + 1)
      if not name then error("xml: bad tag at byte " .. lt, 0) end
      -- find the end of the tag, skipping quoted attribute values
      local p = ne + 1
      local gt
      while true do
        local q = find(s, "[\"'>]", p)
        if not q then error("xml: unterminated tag <" .. name, 0) end
        local qc = sub(s, q, q)
        if qc == ">" then gt = q break end
        local e = find(s, qc, q + 1, true)
        if not e then error("xml: unterminated attribute in <" .. name, 0) end
        p = e + 1
      end
      local selfclose = byte(s, gt - 1) == 47
      local node = { name = name, attrs = {}, children = {}, text = "" }
      parse_attrs(s, ne + 1, selfclose and gt - 2 or gt - 1, node.attrs)
      if depth > 0 then
        local parent = stack[depth]
        parent.children[#parent.children + 1] = node
      elseif root then
        error("xml: more than one root element", 0)
      else
        root = node
      end
      if not selfclose then
        depth = depth + 1
        stack[depth] = node
        texts[depth] = {}
      end
      pos = gt + 1
    end
  end
  if depth > 0 then error("xml: unclosed element <" .. stack[depth].name .. ">", 0) end
  if not root then error("xml: no root element", 0) end
  return root
end

--- The Lua parser alone (tests compare it with kumo.xml).
-- @return root node, or nil and "xml: ..." message
function M.lua_decode(s)
  local ok, root = pcall(lua_decode, s)
  if ok then return root end
  return nil, root
end

--- Decode XML text into a node tree.
-- @return root node, or nil and "xml: ..." message
function M.decode(s)
  if native then return native.decode(s) end
  local ok, root = pcall(lua_decode, s)
  if ok then return root end
  return nil, root
end

--- The local part of a qualified name (`ns:Tag` → `Tag`).
function M.local_name(name)
  return name:match(":(.*)$") or name
end

--- Child elements of `node` indexed by local name → list of nodes
-- (cached on the node; nodes are per response, so this is per parse).
function M.index(node)
  local idx = node._idx
  if idx then return idx end
  idx = {}
  for _, child in ipairs(node.children) do
    local ln = M.local_name(child.name)
    local l = idx[ln]
    if l then l[#l + 1] = child else idx[ln] = { child } end
  end
  node._idx = idx
  return idx
end

--- The first child with a local name, or nil.
function M.child(node, name)
  local l = M.index(node)[name]
  return l and l[1]
end

local TEXT_ESC = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ["\r"] = "&#xD;" }
local ATTR_ESC = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;",
                   ["\n"] = "&#xA;", ["\r"] = "&#xD;", ["\t"] = "&#x9;" }

--- Escape text content for an XML body.
function M.escape(s)
  return (gsub(s, "[&<>\r]", TEXT_ESC))
end

--- Escape an attribute value (double-quoted).
function M.escape_attr(s)
  return (gsub(s, '[&<>"\n\r\t]', ATTR_ESC))
end

M.char = char
return M
