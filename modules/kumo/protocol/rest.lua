--- The driver of the REST protocols (`rest-json`, `rest-xml`): the HTTP
-- bindings of members (URI labels, greedy ones keeping `/`; query strings;
-- headers and prefix headers; the status code), the payload member, and
-- the request and response skeletons around them. The body's format is a
-- codec's (kumo.protocol.rest_json, kumo.protocol.rest_xml), a table of:
--
-- - `content_type`: the Content-Type of a structured body;
-- - `encode(shapes, shape, value, ref, name)` → text: a structure as a body,
--   the whole input (`ref` is `op.input`, `name` nil) or a payload member
--   (`ref` its reference, `name` its member name);
-- - `read(shapes, shape, bytes, what, ref)` → value: a body or an event's
--   payload (never blank) as a value of `shape`; malformed text raises
--   `"<what>: ..."`;
-- - `error(service, op, res)` → `{code, message, fields[, request_id]}` from
--   an error response's body (the driver adds the header-bound fields);
-- - `empty_body`: the body of a structure none of whose body members is
--   set (`{}` for JSON), or nil to send no body then;
-- - `typed_empty_blob`: whether a blob payload left out is still sent
--   (empty) as `application/octet-stream`;
-- - `request_id`: the response headers that may hold the request id, first
--   found wins.
-- @module kumo.protocol.rest
local common = require "kumo.protocol.common"
local eventstream = require "kumo.protocol.eventstream"
local request = require "kumo.protocol.request"
local model = require "kumo.protocol.shape"
local wire = require "kumo.protocol.wire"

local M = {}
local concat = table.concat
local urlencode, scalar_text, format_time = wire.urlencode, wire.scalar_text, wire.format_time
local members_of, location, keys = model.members, model.location, model.keys
local null = common.null
-- jsonvalue headers are base64 of JSON text whatever the body's codec
local json_text, json_decode = common.json_any, common.json_decode

-- Per input shape: which members go where (computed once, cached).
local function bindings(shapes, shape)
  local b = shape._rest
  if b then return b end
  b = { uri = {}, query = {}, header = {}, headers = {}, body = {} }
  local members = shape.members or {}
  for _, name in ipairs(members_of(shape)) do
    local ref = members[name]
    local loc = location(shapes, ref)
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

-- The wire name of a located member (older models put it on the shape).
local function wire_name(shapes, ref, name)
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
    return format_time(v, ref.timestampFormat or shape.timestampFormat or "rfc822")
  end
  if t == "string" and ref.jsonvalue then
    local text = type(v) == "string" and v or json_text(v)
    return wire.b64encode(text)
  end
  return scalar_text(shape, v)
end

local function query_text(shape, ref, v)
  if shape.type == "timestamp" then
    return format_time(v, ref.timestampFormat or shape.timestampFormat or "iso8601")
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

-- The request with its members bound to the URI, query string and headers.
-- @return req (method, path, query, headers, host_prefix, empty body), the
--   input shape (or nil), the params after idempotency tokens were filled
local function bind(service, op, params, ctx)
  local shapes = service.shapes
  local http = op.http or {}
  local path, lit = literal_query(op)
  local query, headers = {}, {}
  for i, kv in ipairs(lit) do query[i] = { kv[1], kv[2] } end
  params = params or {}
  local shape = op.input and shapes[op.input.shape]
  if shape then
    params = model.fill_tokens(shapes, shape, params, ctx)
    local members = shape.members or {}
    local b = bindings(shapes, shape)
    -- URI labels
    local labels = {}
    for _, name in ipairs(b.uri) do
      local ref = members[name]
      local v = params[name]
      if v ~= nil then labels[wire_name(shapes, ref, name)] = query_text(shapes[ref.shape], ref, v) end
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
      if shapes[ref.shape].type ~= "map" then named[wire_name(shapes, ref, name)] = true end
    end
    for _, name in ipairs(b.query) do
      local v = params[name]
      if v ~= nil and v ~= null then
        local ref = members[name]
        local s = shapes[ref.shape]
        local key = wire_name(shapes, ref, name)
        if s.type == "list" then
          local mref = s.member
          local ms = shapes[mref.shape]
          for i = 1, #v do query[#query + 1] = { key, query_text(ms, mref, v[i]) } end
        elseif s.type == "map" then
          local vref = s.value
          local vs = shapes[vref.shape]
          for _, k in ipairs(keys(v)) do
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
        local hname = wire_name(shapes, ref, name)
        set[hname:lower()] = true
        headers[#headers + 1] = { hname, header_value(shapes, s, ref, v) }
      end
    end
    for _, name in ipairs(b.headers) do
      local v = params[name]
      if v ~= nil then
        local ref = members[name]
        local prefix = wire_name(shapes, ref, "")
        local vs = shapes[shapes[ref.shape].value.shape]
        for _, k in ipairs(keys(v)) do
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
    host_prefix = request.host_prefix(op, params),
  }, shape, params
end

-- Whether any of the named members is set (not nil, not null).
local function any_set(names, params)
  for _, name in ipairs(names) do
    local v = params[name]
    if v ~= nil and v ~= null then return true end
  end
  return false
end

-- The body and its Content-Type: the payload member, a raw blob or string
-- or a structure in the codec's format; else the members bound to no
-- location, as one structure.
local function body_of(codec, shapes, op, shape, params)
  local payload = op.input.payload or shape.payload
  if not payload then
    local b = bindings(shapes, shape)
    if any_set(b.body, params) then
      return codec.encode(shapes, shape, params, op.input), codec.content_type
    elseif b.has_body and codec.empty_body then
      return codec.empty_body, codec.content_type
    end
    return nil
  end
  local ref = shape.members[payload]
  local ps = shapes[ref.shape]
  local v = params[payload]
  local t = ps.type
  if t == "blob" or t == "string" then
    if v == nil then
      if t == "blob" and codec.typed_empty_blob then return "", "application/octet-stream" end
      return nil
    end
    return v, t == "blob" and "application/octet-stream" or "text/plain"
  elseif v ~= nil and v ~= null then
    return codec.encode(shapes, ps, v, ref, payload), codec.content_type
  elseif codec.empty_body and t == "structure" and not ps.union and not ps.document then
    return codec.empty_body, codec.content_type
  end
  return nil
end

--- Serialize a request. See the protocol contract in docs/architecture.md.
-- @param codec the body codec (see the module's description)
-- @param service service model
-- @param op operation model
-- @param params input (member names)
-- @param ctx context (`uuid`, compression settings)
function M.serialize(codec, service, op, params, ctx)
  local req, shape, p = bind(service, op, params, ctx)
  if shape then
    local body, content_type = body_of(codec, service.shapes, op, shape, p)
    if body then
      req.body = body
      request.default_header(req, "Content-Type", content_type)
    end
  end
  request.checksum(op, req)
  return request.compress(op, req, ctx)
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
      local text = wire.b64decode(s)
      return text and json_decode(text, "header " .. (ref.locationName or "")) or nil
    end
    return s
  end
  if t == "integer" or t == "long" then
    local v = tonumber(s)
    return v and (math.tointeger(v) or v)
  end
  if t == "boolean" then return s == "true" end
  if t == "float" or t == "double" then return wire.float_value(s) end
  if t == "timestamp" then return (wire.parse_time(s)) end
  if t == "blob" then return (wire.b64decode(s)) end
  return s
end

-- Fill `out` with the members of `shape` bound to the status code and
-- headers of `res`.
local function parse_headers(shapes, shape, res, out)
  local headers = res.headers or {}
  local located = shape._located
  if located == nil then  -- once per shape: most outputs have none
    located = {}
    for name, ref in pairs(shape.members or {}) do
      local loc = location(shapes, ref)
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
      local v = headers[wire_name(shapes, ref, name):lower()]
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
      local prefix = wire_name(shapes, ref, ""):lower()
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

local function blank(body)
  return body == nil or body:find("^%s*$") ~= nil
end

local function request_id(codec, res)
  local h = res.headers or {}
  for _, name in ipairs(codec.request_id) do
    if h[name] then return h[name] end
  end
  return nil
end

--- Parse a successful response → output table (and `{request_id=}`).
-- @param codec the body codec (see the module's description)
function M.parse(codec, service, op, res)
  local shapes = service.shapes
  local out = {}
  if op.output then
    local shape = shapes[op.output.shape]
    parse_headers(shapes, shape, res, out)
    local body = res.body or ""
    local payload = op.output.payload or shape.payload
    if payload then
      local ref = shape.members[payload]
      local ps = shapes[ref.shape]
      if ps.eventstream then
        out[payload] = eventstream.events(shapes, ps, body,
          function(es, bytes) return codec.read(shapes, es, bytes, "event") end)
      elseif ps.type == "blob" or ps.type == "string" then
        if body ~= "" then out[payload] = body end
      elseif not blank(body) then
        out[payload] = codec.read(shapes, ps, body, "response", ref)
      end
    elseif not blank(body) then
      local v = codec.read(shapes, shape, body, "response")
      if type(v) == "table" then
        for k, mv in pairs(v) do out[k] = mv end
      end
    end
  end
  return out, { request_id = request_id(codec, res) }
end

--- Parse an error response → `{code, message, request_id, fields}`.
-- @param codec the body codec (see the module's description)
function M.parse_error(codec, service, op, res)
  local err = codec.error(service, op, res)
  err.request_id = err.request_id or request_id(codec, res)
  local shape = model.error_shape(service, op, err.code)
  if shape then parse_headers(service.shapes, shape, res, err.fields) end
  return err
end

--- A protocol module (`serialize`, `parse`, `parse_error`) of a codec,
-- which it keeps as its field `codec`.
-- @param codec the body codec (see the module's description)
function M.protocol(codec)
  return {
    codec = codec,
    serialize = function(service, op, params, ctx) return M.serialize(codec, service, op, params, ctx) end,
    parse = function(service, op, res) return M.parse(codec, service, op, res) end,
    parse_error = function(service, op, res) return M.parse_error(codec, service, op, res) end,
  }
end

return M
