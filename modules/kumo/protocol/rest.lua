--- The HTTP bindings shared by `rest-json` and `rest-xml`: URI labels
-- (greedy ones keep `/`), query strings, headers and prefix headers, status
-- codes, and the payload member. The body format is the caller's.
-- @module kumo.protocol.rest
local common = require "kumo.protocol.common"

local M = {}
local concat = table.concat
local urlencode, scalar_text = common.urlencode, common.scalar_text
local null = common.null

-- Per input shape: which members go where (computed once, cached).
local function bindings(shapes, shape)
  local b = shape._rest
  if b then return b end
  b = { uri = {}, query = {}, header = {}, headers = {}, body = {} }
  local members = shape.members or {}
  for _, name in ipairs(common.members(shape)) do
    local ref = members[name]
    local loc = common.location(shapes, ref)
    local list
    if not loc then list = b.body
    elseif loc == "querystring" then list = b.query
    else list = b[loc] end  -- uri, header, headers; statusCode is output only
    if list then list[#list + 1] = name end
  end
  b.has_body = #b.body > 0
  shape._rest = b
  return b
end
M.bindings = bindings

-- The wire name of a located member (older models put it on the shape).
local function wire(shapes, ref, name)
  return ref.locationName or shapes[ref.shape].locationName or name
end

-- A list-valued header item: quoted when it holds a comma or a quote.
local function header_item(s)
  if s:find('[,"]') then return '"' .. s:gsub('[\\"]', "\\%0") .. '"' end
  return s
end

local function header_value(shapes, shape, ref, v)
  local t = shape.type
  if t == "list" then
    local mshape = shapes[shape.member.shape]
    local items = {}
    for i = 1, #v do
      local s = header_value(shapes, mshape, shape.member, v[i])
      items[i] = mshape.type == "string" and header_item(s) or s
    end
    return concat(items, ",")
  end
  if t == "timestamp" then
    return common.format_time(v, ref.timestampFormat or shape.timestampFormat or "rfc822")
  end
  if t == "string" and ref.jsonvalue then
    local text = type(v) == "string" and v or common.json_any(v)
    return common.b64encode(text)
  end
  return scalar_text(shape, v)
end

local function query_text(shape, ref, v)
  if shape.type == "timestamp" then
    return common.format_time(v, ref.timestampFormat or shape.timestampFormat or "iso8601")
  end
  return scalar_text(shape, v)
end

-- Parse the literal query of a request URI (`/path?abc=def&ghi`).
local function literal_query(op)
  local http = op.http
  local lit = http._literal
  if lit then return http._path, lit end
  local uri = http.requestUri or "/"
  local path, q = uri:match("^([^?]*)%??(.*)$")
  lit = {}
  for part in q:gmatch("[^&]+") do
    local k, v = part:match("^([^=]*)=(.*)$")
    lit[#lit + 1] = k and { k, v } or { part, nil }
  end
  http._path, http._literal = path, lit
  return path, lit
end

--- Serialize the HTTP bindings of a REST request.
-- @param service service model
-- @param op operation model
-- @param params input (member names)
-- @param ctx context (`uuid`)
-- @return req (method, path, query, headers, host_prefix), the input
--   shape (or nil), the params after idempotency tokens were filled
function M.serialize(service, op, params, ctx)
  local shapes = service.shapes
  local http = op.http or {}
  local path, lit = literal_query(op)
  local query, headers = {}, {}
  for i, kv in ipairs(lit) do query[i] = { kv[1], kv[2] } end
  params = params or {}
  local shape = op.input and shapes[op.input.shape]
  if shape then
    params = common.fill_tokens(shapes, shape, params, ctx)
    local members = shape.members or {}
    local b = bindings(shapes, shape)
    -- URI labels
    local labels = {}
    for _, name in ipairs(b.uri) do
      local ref = members[name]
      local v = params[name]
      if v ~= nil then labels[wire(shapes, ref, name)] = query_text(shapes[ref.shape], ref, v) end
    end
    path = path:gsub("{([^}]-)(%+?)}", function(label, greedy)
      local v = labels[label]
      if v == nil then
        error(string.format("%s: %s is required (it is part of the URI %s)",
          op.name or "?", label, http.requestUri or ""), 0)
      end
      if v == "" then
        error(string.format("%s: %s must not be empty (it is part of the URI)",
          op.name or "?", label), 0)
      end
      return urlencode(v, greedy == "+")
    end)
    -- query string: named members win over map entries with the same key
    local named = {}
    for _, name in ipairs(b.query) do
      local ref = members[name]
      if shapes[ref.shape].type ~= "map" then named[wire(shapes, ref, name)] = true end
    end
    for _, name in ipairs(b.query) do
      local v = params[name]
      if v ~= nil and v ~= null then
        local ref = members[name]
        local s = shapes[ref.shape]
        local key = wire(shapes, ref, name)
        if s.type == "list" then
          local mref = s.member
          local ms = shapes[mref.shape]
          for i = 1, #v do query[#query + 1] = { key, query_text(ms, mref, v[i]) } end
        elseif s.type == "map" then
          local vref = s.value
          local vs = shapes[vref.shape]
          for _, k in ipairs(common.keys(v)) do
            if not named[k] then
              local item = v[k]
              if vs.type == "list" then
                local ms = shapes[vs.member.shape]
                for i = 1, #item do query[#query + 1] = { k, query_text(ms, vs.member, item[i]) } end
              else
                query[#query + 1] = { k, query_text(vs, vref, item) }
              end
            end
          end
        else
          query[#query + 1] = { key, query_text(s, ref, v) }
        end
      end
    end
    -- headers; a modeled header wins over a prefix-map entry of the same name
    local set = {}
    for _, name in ipairs(b.header) do
      local v = params[name]
      local ref = members[name]
      local s = shapes[ref.shape]
      if v ~= nil and v ~= null and not (s.type == "list" and #v == 0) then
        local hname = wire(shapes, ref, name)
        set[hname:lower()] = true
        headers[#headers + 1] = { hname, header_value(shapes, s, ref, v) }
      end
    end
    for _, name in ipairs(b.headers) do
      local v = params[name]
      if v ~= nil then
        local ref = members[name]
        local prefix = wire(shapes, ref, "")
        local vs = shapes[shapes[ref.shape].value.shape]
        for _, k in ipairs(common.keys(v)) do
          local hname = prefix .. k
          if not set[hname:lower()] then
            headers[#headers + 1] = { hname, header_value(shapes, vs, {}, v[k]) }
          end
        end
      end
    end
  end
  return {
    method = http.method or "POST",
    path = path,
    query = query,
    headers = headers,
    body = "",
    host_prefix = common.host_prefix(op, params),
  }, shape, params
end

------------------------------------------------------------------------
-- Responses
------------------------------------------------------------------------

-- Split a list-valued header, honouring quoted items.
local function split_header(s, is_date)
  local items = {}
  if is_date then
    -- HTTP-dates carry a comma of their own: "Mon, 16 Dec 2019 23:48:18 GMT, ..."
    for d in s:gmatch("%a%a%a, %d%d? %a%a%a %d+ [%d:]+ GMT") do items[#items + 1] = d end
    if #items > 0 then return items end
  end
  local i, n = 1, #s
  while i <= n do
    while s:sub(i, i):match("%s") do i = i + 1 end
    if s:sub(i, i) == '"' then
      local buf = {}
      i = i + 1
      while i <= n do
        local c = s:sub(i, i)
        if c == "\\" then buf[#buf + 1] = s:sub(i + 1, i + 1) i = i + 2
        elseif c == '"' then i = i + 1 break
        else buf[#buf + 1] = c i = i + 1 end
      end
      items[#items + 1] = concat(buf)
      local comma = s:find(",", i, true)
      i = comma and comma + 1 or n + 1
    else
      local comma = s:find(",", i, true) or (n + 1)
      items[#items + 1] = (s:sub(i, comma - 1):gsub("%s+$", ""))
      i = comma + 1
    end
  end
  return items
end

local function header_scalar(shape, ref, s)
  local t = shape.type
  if t == "string" then
    if ref.jsonvalue then
      local text = common.b64decode(s)
      return text and common.json_decode(text, "header " .. (ref.locationName or "")) or nil
    end
    return s
  end
  if t == "integer" or t == "long" then
    local v = tonumber(s)
    return v and (math.tointeger(v) or v)
  end
  if t == "boolean" then return s == "true" end
  if t == "float" or t == "double" then return common.float_value(s) end
  if t == "timestamp" then return (common.parse_time(s)) end
  if t == "blob" then return (common.b64decode(s)) end
  return s
end

--- Fill `out` with the members of `shape` bound to the status code and
-- headers of `res`.
function M.parse_headers(shapes, shape, res, out)
  local headers = res.headers or {}
  local located = shape._located
  if located == nil then  -- once per shape: most outputs have none
    located = {}
    for name, ref in pairs(shape.members or {}) do
      local loc = common.location(shapes, ref)
      if loc == "statusCode" or loc == "header" or loc == "headers" then
        located[#located + 1] = { name, ref, loc }
      end
    end
    shape._located = located
  end
  for _, m in ipairs(located) do
    local name, ref, loc = m[1], m[2], m[3]
    if loc == "statusCode" then
      out[name] = res.status
    elseif loc == "header" then
      local v = headers[wire(shapes, ref, name):lower()]
      if v ~= nil then
        local s = shapes[ref.shape]
        if s.type == "list" then
          local ms = shapes[s.member.shape]
          local is_date = ms.type == "timestamp"
            and (s.member.timestampFormat or ms.timestampFormat or "rfc822") == "rfc822"
          local items = {}
          for i, item in ipairs(split_header(v, is_date)) do
            items[i] = header_scalar(ms, s.member, item)
          end
          out[name] = items
        else
          out[name] = header_scalar(s, ref, v)
        end
      end
    elseif loc == "headers" then
      local prefix = wire(shapes, ref, ""):lower()
      local vs = shapes[shapes[ref.shape].value.shape]
      -- An empty map, not an absent member, when no header has the prefix:
      -- botocore's _parse_header_map always returns its dict, and Smithy's
      -- (RestJson)HttpPrefixHeadersAreNotPresent response cases expect
      -- `fooMap: {}` from headers holding only `X-Foo`.
      local map = {}
      local list = res.header_list
      if list then
        for _, h in ipairs(list) do
          local lname = h[1]:lower()
          if lname:sub(1, #prefix) == prefix then
            map[h[1]:sub(#prefix + 1)] = header_scalar(vs, {}, h[2])
          end
        end
      else
        for lname, v in pairs(headers) do
          if lname:sub(1, #prefix) == prefix then
            map[lname:sub(#prefix + 1)] = header_scalar(vs, {}, v)
          end
        end
      end
      out[name] = map
    end
  end
  return out
end

return M
