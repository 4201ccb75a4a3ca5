--- kumo.cli.output: a call's result printed the way the AWS CLI v1 prints it.
--
-- `present` turns a parsed output into what the CLI shows before `--query`:
-- `ResponseMetadata` dropped, blobs as base64, timestamps as the wire had
-- them (the CLI's default `cli_timestamp_format = none`): epoch numbers for
-- the JSON protocols, ISO 8601 text for the XML/query ones. Structures keep
-- the model's member order, lists are marked so an empty one prints `[]`.
-- Then `json` (Python's `json.dumps(indent=4, ensure_ascii=False)` layout),
-- `text` (awscli/text.py's rules) or `table` formats the value.
-- @module kumo.cli.output
local json = require "kumo.json"
local clock = require "kumo.clock"
local term = require "kumo.cli.term"

local output = {}

local format, concat, sort = string.format, table.concat, table.sort
local floor = math.floor
local null = json.null

-- key order of the structures `present` built (weak: no leak)
local order = setmetatable({}, { __mode = "k" })

local function array(t) return json.array(t or {}) end

local function is_array(v)
  if type(v) ~= "table" then return false end
  if json.is_array(v) then return true end
  local mt = getmetatable(v)
  if mt and mt.__name == "kumo.json.array" then return true end
  return v[1] ~= nil and next(v, #v) == nil
end

-- ISO 8601 as services write it: AWS's milliseconds (`.123Z`) when the
-- value is whole milliseconds, else microseconds (`.123456Z`, Python's
-- isoformat, as moto and some services write), nothing when whole seconds.
-- (kumo keeps timestamps as epoch numbers; this is the wire text back.)
local function iso8601(t)
  local whole = floor(t)
  local s = clock.iso8601(whole):sub(1, -2)  -- kumo.clock's calendar, "Z" added below
  local micro = floor((t - whole) * 1e6 + 0.5)
  if micro >= 1000000 then micro = 999999 end
  if micro > 0 and micro % 1000 == 0 then
    s = s .. format(".%03d", micro // 1000)
  elseif micro > 0 then
    s = s .. format(".%06d", micro)
  end
  return s .. "Z"
end
output.iso8601 = iso8601

local JSON_PROTOCOLS = { json = true, ["rest-json"] = true }

local function time_value(v, fmt)
  if type(v) ~= "number" then return v end
  if fmt == "unixTimestamp" then return math.tointeger(v) or v end
  if fmt == "rfc822" then return clock.rfc822(floor(v)) end
  return iso8601(v)
end

local base64 = require("kumo.crypto").base64_encode

local present_value

local function present_structure(shapes, shape, v, ctx)
  local out, keys = {}, {}
  local members = shape.members or {}
  local names = shape._member_order
  if not names then
    names = {}
    for k in pairs(members) do names[#names + 1] = k end
    sort(names)
  end
  local seen = {}
  for _, k in ipairs(names) do
    local val = v[k]
    if val ~= nil then
      seen[k] = true
      keys[#keys + 1] = k
      out[k] = present_value(shapes, members[k], val, ctx)
    end
  end
  local extra = {}
  for k in pairs(v) do
    if not seen[k] and k ~= "ResponseMetadata" and type(k) == "string" then extra[#extra + 1] = k end
  end
  sort(extra)
  for _, k in ipairs(extra) do
    keys[#keys + 1] = k
    out[k] = present_value(shapes, nil, v[k], ctx)
  end
  order[out] = keys
  return out
end

function present_value(shapes, ref, v, ctx)
  local shape = ref and shapes[ref.shape]
  if v == null then return null end
  if not shape then
    if type(v) ~= "table" then return v end
    local t = {}
    if is_array(v) then
      for i, x in ipairs(v) do t[i] = present_value(shapes, nil, x, ctx) end
      return array(t)
    end
    for k, x in pairs(v) do t[k] = present_value(shapes, nil, x, ctx) end
    return t
  end
  local ty = shape.type
  if ctx.policies and ref.shape == "policyDocumentType" and type(v) == "string" then
    -- as botocore's json_decode_policies (after-call.iam): IAM's policy
    -- documents are URL-encoded JSON text; the CLI shows them decoded
    local okd, doc = pcall(json.decode, (v:gsub("%%(%x%x)", function(h)
      return string.char(tonumber(h, 16))
    end)))
    if okd and type(doc) == "table" then return doc end
    return v
  end
  if ty == "structure" then
    if type(v) ~= "table" then return v end
    return present_structure(shapes, shape, v, ctx)
  elseif ty == "list" then
    local t = {}
    if type(v) == "table" then
      for i, x in ipairs(v) do t[i] = present_value(shapes, shape.member, x, ctx) end
    end
    return array(t)
  elseif ty == "map" then
    local t = {}
    if type(v) == "table" then
      for k, x in pairs(v) do t[k] = present_value(shapes, shape.value, x, ctx) end
    end
    return t
  elseif ty == "timestamp" then
    local fmt = ref.timestampFormat or shape.timestampFormat
    if not fmt then
      if ref.location == "header" then fmt = "rfc822"
      else fmt = JSON_PROTOCOLS[ctx.protocol] and "unixTimestamp" or "iso8601" end
    end
    return time_value(v, fmt)
  elseif ty == "blob" then
    if type(v) == "string" and not ref.streaming and not shape.streaming then return base64(v) end
    return v
  end
  return v
end

--- What the AWS CLI shows of an operation's output, before `--query`.
-- @tparam table svc the service model (kumo.model)
-- @tparam table op_model the operation's model
-- @tparam table out the parsed output
-- @treturn table
function output.present(svc, op_model, out)
  local ctx = { protocol = svc.metadata.protocol, policies = svc.name == "iam" }
  local ref = op_model.output
  if not ref then
    local t = {}
    order[t] = {}
    return t
  end
  return present_value(svc.shapes, ref, out, ctx)
end

----------------------------------------------------------------------------
-- JSON, as Python's json.dumps(indent=4, ensure_ascii=False)

local jnumber = json.pynumber

local function keys_of(t)
  local keys = order[t]
  if keys then return keys end
  keys = {}
  for k in pairs(t) do keys[#keys + 1] = tostring(k) end
  sort(keys)
  return keys
end

local JSON_OUT = { indent = 4, keys = keys_of, other_as_text = true }

--- JSON text of a value (indent 4, model order, no trailing newline), by
-- kumo.json's Python writer.
-- @param v
-- @treturn string
function output.json(v)
  return json.dumps(v, JSON_OUT)
end

----------------------------------------------------------------------------
-- text, as awscli/text.py

-- Python's str() of a scalar
local function pystr(v)
  if v == nil or v == null then return "None" end
  if v == true then return "True" end
  if v == false then return "False" end
  if type(v) == "number" then return jnumber(v) end
  return term.line(tostring(v))
end

local function is_scalar(v) return type(v) ~= "table" or v == null end

local format_text

local function all_scalar_keys(list)
  local seen, keys = {}, {}
  for _, d in ipairs(list) do
    if type(d) == "table" and not is_array(d) then
      for k, v in pairs(d) do
        if is_scalar(v) and not seen[k] then seen[k] = true; keys[#keys + 1] = k end
      end
    end
  end
  sort(keys)
  return keys
end

local function scalar_list(elements, identifier, out)
  if identifier then
    for _, v in ipairs(elements) do out[#out + 1] = identifier:upper() .. "\t" .. pystr(v) end
  else
    local parts = {}
    for i, v in ipairs(elements) do parts[i] = pystr(v) end
    out[#out + 1] = concat(parts, "\t")
  end
end

local function format_list(item, identifier, out)
  if #item == 0 then return end
  local has_dict, has_list = false, false
  for _, el in ipairs(item) do
    if type(el) == "table" and el ~= null then
      if is_array(el) then has_list = true else has_dict = true end
    end
  end
  if has_dict then
    local keys = all_scalar_keys(item)
    for _, el in ipairs(item) do format_text(el, out, identifier, keys) end
  elseif has_list then
    local scalars, others = {}, {}
    for _, el in ipairs(item) do
      if is_scalar(el) then scalars[#scalars + 1] = el else others[#others + 1] = el end
    end
    if #scalars > 0 then scalar_list(scalars, identifier, out) end
    for _, el in ipairs(others) do format_text(el, out, identifier) end
  else
    scalar_list(item, identifier, out)
  end
end

local function format_dict(scalar_keys, item, identifier, out)
  local scalars, non_scalars = {}, {}
  if scalar_keys == nil then
    local keys = {}
    for k in pairs(item) do keys[#keys + 1] = k end
    sort(keys)
    for _, k in ipairs(keys) do
      local v = item[k]
      if is_scalar(v) then scalars[#scalars + 1] = pystr(v)
      else non_scalars[#non_scalars + 1] = { k, v } end
    end
  else
    local known = {}
    for _, k in ipairs(scalar_keys) do
      known[k] = true
      local v = item[k]
      scalars[#scalars + 1] = v == nil and "" or pystr(v)
    end
    local rest = {}
    for k in pairs(item) do if not known[k] then rest[#rest + 1] = k end end
    sort(rest)
    for _, k in ipairs(rest) do non_scalars[#non_scalars + 1] = { k, item[k] } end
  end
  if #scalars > 0 then
    if identifier then table.insert(scalars, 1, identifier:upper()) end
    out[#out + 1] = concat(scalars, "\t")
  end
  for _, kv in ipairs(non_scalars) do format_text(kv[2], out, kv[1]) end
end

function format_text(item, out, identifier, scalar_keys)
  if type(item) == "table" and item ~= null then
    if is_array(item) then format_list(item, identifier, out)
    else format_dict(scalar_keys, item, identifier, out) end
  else
    out[#out + 1] = pystr(item)
  end
end

--- The CLI's `--output text` of a value (lines joined, no trailing newline).
-- @param v
-- @treturn string
function output.text(v)
  local out = {}
  format_text(v, out)
  return concat(out, "\n")
end

----------------------------------------------------------------------------
-- table: boxes like the CLI's --output table (title, key/value rows for a
-- structure's scalars, one row per element of a list of structures)

local function width(s) return utf8.len(s) or #s end

local function pad(s, w) return s .. string.rep(" ", w - width(s)) end

local function box(title, header, rows, out)
  local cols = header and #header or (rows[1] and #rows[1] or 1)
  local w = {}
  for c = 1, cols do w[c] = header and width(header[c]) or 0 end
  for _, r in ipairs(rows) do
    for c = 1, cols do w[c] = math.max(w[c] or 0, width(r[c] or "")) end
  end
  local inner = cols - 1
  for c = 1, cols do inner = inner + w[c] + 2 end
  if title then inner = math.max(inner, width(title) + 2) end
  local slack = inner - (cols - 1)
  for c = 1, cols do slack = slack - w[c] - 2 end
  w[cols] = w[cols] + slack
  local rule = "+" .. string.rep("-", inner) .. "+"
  out[#out + 1] = rule
  if title then
    local left = (inner - width(title)) // 2
    out[#out + 1] = "|" .. string.rep(" ", left) .. pad(title, inner - left) .. "|"
  end
  local function line(r)
    local cells = {}
    for c = 1, cols do cells[c] = " " .. pad(r[c] or "", w[c]) .. " " end
    out[#out + 1] = "|" .. concat(cells, "|") .. "|"
  end
  if header then
    out[#out + 1] = rule
    line(header)
  end
  if #rows > 0 then
    out[#out + 1] = rule
    for _, r in ipairs(rows) do line(r) end
  end
  out[#out + 1] = rule
end

local function tstr(v)
  if v == null then return "None" end
  return pystr(v)
end

local render

local function render_dict(title, d, out)
  local keys = keys_of(d)
  local rows, nested = {}, {}
  for _, k in ipairs(keys) do
    local v = d[k]
    if is_scalar(v) then rows[#rows + 1] = { k, tstr(v) }
    else nested[#nested + 1] = { k, v } end
  end
  if #rows > 0 or title then box(title, nil, rows, out) end
  for _, kv in ipairs(nested) do render(kv[1], kv[2], out) end
end

function render(title, v, out)
  if is_scalar(v) then box(title, nil, { { tstr(v) } }, out); return end
  if not is_array(v) then render_dict(title, v, out); return end
  local keys = all_scalar_keys(v)
  local scalars, dicts = {}, {}
  for _, el in ipairs(v) do
    if is_scalar(el) then scalars[#scalars + 1] = { tstr(el) }
    elseif not is_array(el) then dicts[#dicts + 1] = el
    else render(title, el, out) end
  end
  if #scalars > 0 then box(title, nil, scalars, out) end
  if #dicts > 0 and #keys > 0 then
    local rows = {}
    for i, d in ipairs(dicts) do
      rows[i] = {}
      for c, k in ipairs(keys) do rows[i][c] = d[k] == nil and "" or tstr(d[k]) end
    end
    box(title, keys, rows, out)
  end
  for _, d in ipairs(dicts) do
    for _, k in ipairs(keys_of(d)) do
      if not is_scalar(d[k]) then render(k, d[k], out) end
    end
  end
end

--- The `--output table` text of a value.
-- @tparam string title the operation name (the CLI's table title)
-- @param v
-- @treturn string
function output.table(title, v)
  local out = {}
  render(title, v, out)
  return concat(out, "\n")
end

return output
