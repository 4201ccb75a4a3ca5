--- Shared helpers of the protocol serializers and parsers: member order,
-- wire names, percent-encoding, numbers, timestamps, base64, JSON.
-- Everything that can be computed once per shape is cached on the shape
-- (fields starting with `_`), so a call does no repeated model work.
-- @module kumo.protocol.common
local M = {}

local char, format, gsub = string.char, string.format, string.gsub
local sort = table.sort
local huge, mtype, tointeger = math.huge, math.type, math.tointeger

-- Responses are decoded on kumo.json's fast path (lua-cjson as it is): the
-- shapes then give integers back their type and empty lists their marker.
local json = require "kumo.json"
local crypto = require "kumo.crypto"
local clock = require "kumo.clock"

--- The JSON module (kumo.json).
M.json = json
--- Sentinel for a JSON null kept in sparse lists and maps.
M.null = json.null

------------------------------------------------------------------------
-- Model helpers
------------------------------------------------------------------------

--- Member names of a structure in model order (cached as `shape._order`;
-- a model without order information gets sorted names, which is stable).
-- @param shape structure shape
-- @return list of member names
function M.members(shape)
  local order = shape._order
  if order then return order end
  order = {}
  for name in pairs(shape.members or {}) do order[#order + 1] = name end
  sort(order)
  shape._order = order
  return order
end

--- Where a member is bound (`uri`, `querystring`, `header`, `headers`,
-- `statusCode`), from the member reference or, in older models, its shape.
function M.location(shapes, ref)
  local loc = ref.location
  if loc == nil then
    local s = shapes[ref.shape]
    loc = s and s.location or false
    ref.location = loc or nil
    if not loc then ref._noloc = true end
  end
  return loc or nil
end

local OUT_LOC = { header = true, headers = true, statusCode = true }

--- Whether a member of an output is read from headers or the status code
-- (members bound to the URI or query string are read from the body).
function M.out_located(shapes, ref)
  local loc = ref.location
  if loc == nil and not ref._noloc then loc = M.location(shapes, ref) end
  return loc and OUT_LOC[loc] or false
end

--- Keys of a map value in a stable order: the order a decoder recorded in
-- the table's metatable (`__order`), else sorted.
-- @param t map value
-- @return list of keys
function M.keys(t)
  local mt = getmetatable(t)
  local order = mt and mt.__order
  if order then return order end
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end

--- Whether a Lua table is used as a list (empty tables count as lists).
function M.is_list(t)
  if type(t) ~= "table" then return false end
  if t[1] ~= nil then return true end
  return next(t) == nil
end

------------------------------------------------------------------------
-- Percent-encoding (RFC 3986 unreserved kept)
------------------------------------------------------------------------

local pct = {}
for i = 0, 255 do pct[char(i)] = format("%%%02X", i) end

--- Percent-encode everything except `A-Z a-z 0-9 - _ . ~`.
-- @param s string
-- @param keep_slash also keep `/` (greedy labels)
function M.urlencode(s, keep_slash)
  if keep_slash then
    return (gsub(s, "[^%w%-%._~/]", pct))
  end
  return (gsub(s, "[^%w%-%._~]", pct))
end

------------------------------------------------------------------------
-- Numbers and booleans as text
------------------------------------------------------------------------

--- A float as the shortest text that reads back to the same value;
-- NaN and infinities as AWS writes them.
function M.float_text(v)
  if type(v) == "string" then return v end  -- "NaN", "Infinity", "-Infinity"
  if v ~= v then return "NaN" end
  if v == huge then return "Infinity" end
  if v == -huge then return "-Infinity" end
  local i = tointeger(v)
  if i and mtype(v) == "integer" then return format("%d", i) end
  for digits = 15, 17 do
    local s = format("%." .. digits .. "g", v)
    if tonumber(s) == v then return s end
  end
  return format("%.17g", v)
end

--- An integer value as text (accepts integral floats).
function M.int_text(v)
  local i = tointeger(v)
  if i then return format("%d", i) end
  return tostring(v)
end

--- A float from wire text, keeping NaN/Infinity as numbers.
function M.float_value(s)
  if type(s) == "number" then return s end
  if s == "NaN" then return 0 / 0 end
  if s == "Infinity" then return huge end
  if s == "-Infinity" then return -huge end
  return tonumber(s)
end

--- A scalar value as text for query strings, headers and form bodies.
-- @param shape the value's shape
-- @param v the value
-- @param tsfmt timestamp format to use
function M.scalar_text(shape, v, tsfmt)
  local t = shape.type
  if t == "string" then return v end
  if t == "boolean" then return v and "true" or "false" end
  if t == "integer" or t == "long" then return M.int_text(v) end
  if t == "float" or t == "double" then return M.float_text(v) end
  if t == "timestamp" then return M.format_time(v, tsfmt) end
  if t == "blob" then return M.b64encode(v) end
  return tostring(v)
end

------------------------------------------------------------------------
-- Base64
------------------------------------------------------------------------

--- Base64-encode raw bytes (kumo.crypto).
M.b64encode = crypto.base64_encode
--- Base64-decode text → bytes, or nil and a message (kumo.crypto).
M.b64decode = crypto.base64_decode

------------------------------------------------------------------------
-- Timestamps (epoch seconds ↔ ISO 8601 / RFC 822 / epoch text): kumo.clock
------------------------------------------------------------------------

local clock_parse = clock.parse

--- Parse a timestamp in any AWS format → epoch seconds (an integer when
-- whole, as the shapes' other integers), or nil and a message.
function M.parse_time(s)
  if type(s) == "number" then return s end  -- JSON's epoch numbers: no C call
  local t, err = clock_parse(s)
  return t and (tointeger(t) or t), err
end

--- ISO 8601 in UTC: `2015-01-25T08:00:00Z`, with `.123Z` when fractional.
function M.iso8601(t)
  return clock.iso8601(t, true)
end

--- RFC 822 / HTTP-date: `Sun, 30 Aug 2015 12:36:00 GMT` (fractions dropped).
M.rfc822 = clock.rfc822

--- Epoch seconds as text: an integer when whole, else up to milliseconds.
function M.epoch_text(t)
  local i = tointeger(t)
  if i then return format("%d", i) end
  local s = format("%.3f", t):gsub("0+$", "")
  return s
end

--- A timestamp value (epoch number, or text in any AWS format) in a format.
-- @param v value
-- @param fmt "iso8601", "rfc822" or "unixTimestamp"
function M.format_time(v, fmt)
  local t = v
  if type(v) ~= "number" then
    local err
    t, err = M.parse_time(v)
    if not t then error(err, 0) end
  end
  if fmt == "rfc822" then return M.rfc822(t) end
  if fmt == "unixTimestamp" then return M.epoch_text(t) end
  return M.iso8601(t)
end

------------------------------------------------------------------------
-- JSON text writing (shape-driven callers build the value; this writes it)
------------------------------------------------------------------------

--- A string as a JSON string literal (kumo.json's).
M.json_string = json.encode_string

--- A JSON number (special floats as the strings AWS uses).
function M.json_number(v, is_float)
  if type(v) == "string" then return M.json_string(v) end
  if v ~= v then return '"NaN"' end
  if v == huge then return '"Infinity"' end
  if v == -huge then return '"-Infinity"' end
  if not is_float then
    local i = tointeger(v)
    if i then return format("%d", i) end
  end
  return M.float_text(v)
end

-- Documents and jsonvalues as AWS writes them: special floats by name, an
-- empty table as `[]` (unless marked an object), keys in `__order` order.
local DOCUMENT = { nonfinite = "string", empty_array = true }

--- Any plain Lua value (a `document` or a jsonvalue) as JSON text, by
-- kumo.json; appended to the buffer `out` when given.
function M.json_any(v, out)
  local text = json.encode(v, DOCUMENT)
  if not out then return text end
  out[#out + 1] = text
end

--- Decode JSON text; raises a clear error on bad input.
function M.json_decode(s, what)
  local v, err = json.decode_fast(s)
  if v == nil then
    error((what or "response") .. ": invalid JSON: " .. tostring(err), 0)
  end
  return v
end

--- A uuid v4 (for idempotency tokens) from ctx.uuid, else kumo.crypto.
function M.uuid(ctx)
  if ctx and ctx.uuid then return ctx.uuid() end
  return crypto.uuid4()
end

--- Fill absent idempotency-token members of the top-level input with a uuid.
-- Mutates a shallow copy, never the caller's table.
-- @return params (the same table when nothing was filled)
function M.fill_tokens(shapes, shape, params, ctx)
  local tokens = shape._tokens
  if tokens == nil then
    tokens = false
    for name, ref in pairs(shape.members or {}) do
      if ref.idempotencyToken or (shapes[ref.shape] or {}).idempotencyToken then
        tokens = tokens or {}
        tokens[#tokens + 1] = name
      end
    end
    shape._tokens = tokens
  end
  if not tokens then return params end
  local copy
  for _, name in ipairs(tokens) do
    if params[name] == nil then
      if not copy then
        copy = {}
        for k, v in pairs(params) do copy[k] = v end
        setmetatable(copy, getmetatable(params))
      end
      copy[name] = M.uuid(ctx)
    end
  end
  return copy or params
end

--- Expand an endpoint host prefix (`foo.{Label}.`) from the input members.
-- @return the expanded prefix, or nil when the operation has none
function M.host_prefix(op, params)
  local ep = op.endpoint
  local tmpl = ep and ep.hostPrefix
  if not tmpl then return nil end
  return (gsub(tmpl, "{([^}]+)}", function(name)
    local v = params[name]
    if v == nil or v == "" then
      error(format("%s: host label %s is required (it is part of the host name)",
        op.name or "?", name), 0)
    end
    if not tostring(v):match("^[%w%-%.]+$") then
      error(format("%s: %s: %q is not a valid host label (letters, digits, '-')",
        op.name or "?", name, tostring(v)), 0)
    end
    return v
  end))
end

--- Apply the operation's `requestcompression` trait: gzip a body of at
-- least `ctx.min_compression_size` bytes (default 10240, as the SDKs) and
-- add (or append to) Content-Encoding. `ctx.disable_request_compression`
-- turns it off.
-- @param op operation model
-- @param req the serialized request (changed in place)
-- @param ctx serialization context (may be nil)
function M.compress(op, req, ctx)
  local rc = op.requestcompression
  if not rc or (ctx and ctx.disable_request_compression) then return req end
  local body = req.body
  if not body or #body < ((ctx and ctx.min_compression_size) or 10240) then return req end
  for _, enc in ipairs(rc.encodings or {}) do
    if enc == "gzip" then
      req.body = crypto.gzip(body)
      for _, h in ipairs(req.headers) do
        if h[1]:lower() == "content-encoding" then
          h[2] = h[2] .. ", gzip"
          return req
        end
      end
      req.headers[#req.headers + 1] = { "Content-Encoding", "gzip" }
      return req
    end
  end
  return req
end

------------------------------------------------------------------------
-- Unions in responses
------------------------------------------------------------------------

--- The name of a shape in its shape table (for messages; a linear search).
function M.shape_name(shapes, shape)
  for name, s in pairs(shapes) do
    if s == shape then return name end
  end
  return "?"
end

--- Check the members set in a union of a response, as botocore's
-- `_has_unknown_tagged_union_member` does for every protocol: exactly one
-- member must be set, else the response is refused; a member this model
-- does not know (a newer service) is reported by its wire name.
-- @param shapes shape table
-- @param shape the union shape
-- @param n how many distinct members are set (nulls and `__type` not counted)
-- @param tag the wire name of the (last) member set
-- @param known whether `tag` is a member of the model
-- @return nil when the union is read as usual, or the value
--   `{ SDK_UNKNOWN_MEMBER = { name = tag } }`
-- @raise when `n` is not 1
function M.union_check(shapes, shape, n, tag, known)
  if n ~= 1 then
    error(format("response: union %s must have exactly one member set, got %d%s",
      M.shape_name(shapes, shape), n, n > 1 and " (the service sent several)" or ""), 0)
  end
  if not known then return { SDK_UNKNOWN_MEMBER = { name = tag } } end
  return nil
end

--- Merge `x-amz-...` style error code decorations away: `ns#Code:http://...` → `Code`.
function M.clean_code(code)
  if not code then return nil end
  code = code:match("^[^:]*") or code
  code = code:match("#(.*)$") or code
  code = code:gsub("^%s+", ""):gsub("%s+$", "")
  return code
end

--- The error shape of an operation matching an error code (cached per op).
function M.error_shape(service, op, code)
  if not code then return nil end
  local index = op._errors
  if not index then
    index = {}
    for _, ref in ipairs(op.errors or {}) do
      local shape = service.shapes[ref.shape]
      if shape then
        index[ref.shape] = shape
        if shape.error and shape.error.code then index[shape.error.code] = shape end
      end
    end
    op._errors = index
  end
  local shape = index[code]
  if shape then return shape end
  -- not listed on the operation: any exception shape of the service
  local all = service._errors
  if not all then
    all = {}
    for name, s in pairs(service.shapes) do
      if s.exception then
        all[name] = s
        if s.error and s.error.code then all[s.error.code] = s end
      end
    end
    service._errors = all
  end
  return all[code]
end

return M
