--- Walking the shapes of a service model, for every protocol: member
-- order, where a member is bound, the order of a map's keys, idempotency
-- token defaults, union checks and error shapes by code.
-- What can be computed once per shape is cached on it (fields starting
-- with `_`), so a call does no repeated model work.
-- @module kumo.protocol.shape
local crypto = require "kumo.crypto"

local M = {}

local format, sort = string.format, table.sort

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

------------------------------------------------------------------------
-- Defaults
------------------------------------------------------------------------

--- Fill absent idempotency-token members of the top-level input with a
-- uuid v4 (from `ctx.uuid` when given, as tests pin it). Mutates a shallow
-- copy, never the caller's table.
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
  local uuid = ctx and ctx.uuid or crypto.uuid4
  local copy
  for _, name in ipairs(tokens) do
    if params[name] == nil then
      if not copy then
        copy = {}
        for k, v in pairs(params) do copy[k] = v end
        setmetatable(copy, getmetatable(params))
      end
      copy[name] = uuid()
    end
  end
  return copy or params
end

------------------------------------------------------------------------
-- Unions and errors in responses
------------------------------------------------------------------------

-- The name of a shape in its shape table (for messages; a linear search).
local function shape_name(shapes, shape)
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
      shape_name(shapes, shape), n, n > 1 and " (the service sent several)" or ""), 0)
  end
  if not known then return { SDK_UNKNOWN_MEMBER = { name = tag } } end
  return nil
end

-- Error shapes by shape name and by their `error.code`.
local function index_errors(index, name, shape)
  index[name] = shape
  if shape.error and shape.error.code then index[shape.error.code] = shape end
end

--- The error shape of an operation matching an error code: one the
-- operation lists, else any exception shape of the service (both cached).
function M.error_shape(service, op, code)
  if not code then return nil end
  local index = op._errors
  if not index then
    index = {}
    for _, ref in ipairs(op.errors or {}) do
      local shape = service.shapes[ref.shape]
      if shape then index_errors(index, ref.shape, shape) end
    end
    op._errors = index
  end
  local shape = index[code]
  if shape then return shape end
  local all = service._errors
  if not all then
    all = {}
    for name, s in pairs(service.shapes) do
      if s.exception then index_errors(all, name, s) end
    end
    service._errors = all
  end
  return all[code]
end

return M
