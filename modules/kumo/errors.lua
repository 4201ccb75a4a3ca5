--- kumo.errors: the error objects every AWS call raises.
--
-- One table type for everything a call can fail with, so a script needs a
-- single `pcall`/`client:try` pattern:
--
-- * `kind = "service"`: AWS answered with an error (`code` is AWS's error code,
--   e.g. `DBProxyNotFoundFault`; `fields` holds the modelled error members);
-- * `kind = "transport"`: no HTTP response (connect, TLS, timeout, reset);
--   `code` is curl's enum name, e.g. `CURLE_COULDNT_CONNECT`;
-- * `kind = "parse"`: a response arrived but its body could not be read
--   (`code = "MalformedResponse"`);
-- * `kind = "validation"`: the parameters were refused before sending;
-- * `kind = "usage"`: the call itself is wrong (unknown operation, bad option).
--
-- Common fields: `code, message, http_status, request_id, service, operation,
-- retryable, throttling, attempts, elapsed`. `tostring(err)` gives one line such as
-- `rds DescribeDBProxies: DBProxyNotFoundFault: DB proxy x not found (HTTP 404, request id 8f1c...)`.
--
-- When the retry policy gave up on a retryable error, the error also has
-- `retries_exhausted = true` and `throttled = true` or `unavailable = true`,
-- and reads as AWS's doing, not the request's:
-- `ram:GetResourceShares: AWS throttled the call (Throttling: Rate exceeded) — 8 attempts over 61 s`.
-- `errors.is_transient(err)` tells those (and any throttling or transport
-- error) from a real answer.
-- Messages never carry credentials: they are built from the response and the
-- operation name only, and `redact` masks anything that looks like a secret.
-- @module kumo.errors
local errors = {}

local Error = {}
Error.__index = Error
Error.__name = "kumo.error"

--- Mask values that must never reach output (signatures, tokens, keys).
-- Error text can quote request data echoed back by a service (moto echoes
-- the whole Authorization header in some signature errors).
-- @tparam string s
-- @treturn string
function errors.redact(s)
  if type(s) ~= "string" then return s end
  s = s:gsub("(Signature=)%x+", "%1<redacted>")
  s = s:gsub("([Ss]ignature[\"']?%s*[:=]%s*[\"']?)%x%x%x%x%x%x%x%x+", "%1<redacted>")
  s = s:gsub("([Ss]ecurity%-[Tt]oken[\"']?%s*[:=]%s*[\"']?)[%w%+/=]+", "%1<redacted>")
  s = s:gsub("([Ss]ession_?[Tt]oken[\"']?%s*[:=]%s*[\"']?)[%w%+/=]+", "%1<redacted>")
  s = s:gsub("([Ss]ecret_?[Aa]ccess_?[Kk]ey[\"']?%s*[:=]%s*[\"']?)[%w%+/=]+", "%1<redacted>")
  return s
end

local function where(e)
  if e.service and e.operation then return e.service .. " " .. e.operation .. ": " end
  if e.service then return e.service .. ": " end
  if e.operation then return e.operation .. ": " end
  return ""
end

local function details(e)
  local parts = {}
  if e.http_status then parts[#parts + 1] = "HTTP " .. e.http_status end
  if e.request_id then parts[#parts + 1] = "request id " .. e.request_id end
  if e.attempts and e.attempts > 1 then parts[#parts + 1] = e.attempts .. " attempts" end
  if e.retry_quota_exhausted then parts[#parts + 1] = "client-side retry quota exhausted" end
  if #parts == 0 then return "" end
  return " (" .. table.concat(parts, ", ") .. ")"
end

local function seconds(t)
  if t >= 10 then return string.format("%.0f s", t) end
  return string.format("%.1f s", t)
end

-- "AWS throttled the call (...) — N attempts over T s"
local function exhausted(e)
  local what
  if e.kind == "transport" then
    what = "transport error: " .. tostring(e.message or e.code)
      .. (e.code and e.message and (" [" .. e.code .. "]") or "")
  else
    what = tostring(e.code or "UnknownError")
    if e.message and e.message ~= "" then what = what .. ": " .. e.message end
  end
  local prefix = (e.service and e.operation) and (e.service .. ":" .. e.operation .. ": ") or where(e)
  local n = e.attempts or 1
  local s = prefix .. (e.throttled and "AWS throttled the call (" or "AWS was unavailable (") .. what
    .. ") — " .. n .. (n == 1 and " attempt" or " attempts")
  if e.elapsed then s = s .. " over " .. seconds(e.elapsed) end
  if e.retry_quota_exhausted then s = s .. " (client-side retry quota exhausted)" end
  if e.request_id then s = s .. "; last request id " .. e.request_id end
  return s
end

function Error.__tostring(e)
  local msg = e.message
  local kind = e.kind
  if e.retries_exhausted then return exhausted(e) end
  if kind == "transport" then
    return where(e) .. "transport error: " .. tostring(msg or e.code)
      .. (e.code and msg and (" [" .. e.code .. "]") or "") .. details(e)
  elseif kind == "parse" then
    return where(e) .. "malformed response: " .. tostring(msg) .. details(e)
  elseif kind == "validation" or kind == "usage" then
    -- validation messages already start with the operation name
    msg = tostring(msg)
    local prefix = where(e)
    if e.operation and msg:sub(1, #e.operation + 1) == e.operation .. ":" then
      prefix = e.service and (e.service .. " ") or ""
    end
    return prefix .. msg
  end
  local s = where(e) .. tostring(e.code or "UnknownError")
  if msg and msg ~= "" then s = s .. ": " .. msg end
  return s .. details(e)
end

--- Make an error object from its fields (see the module doc).
-- The message is redacted on the way in.
-- @tparam table fields
-- @treturn table the error (same table, with the metatable set)
function errors.new(fields)
  fields.kind = fields.kind or "service"
  if fields.message then fields.message = errors.redact(tostring(fields.message)) end
  return setmetatable(fields, Error)
end

--- Is `v` a kumo error object?
-- @param v any value
-- @treturn boolean
function errors.is(v)
  return getmetatable(v) == Error
end

--- Is `v` a kumo error with this code (e.g. `errors.has_code(e, "DBProxyNotFoundFault")`)?
-- @param v any value
-- @tparam string code
-- @treturn boolean
function errors.has_code(v, code)
  return getmetatable(v) == Error and v.code == code
end

--- Did AWS fail to answer for its own reasons (throttling, 5xx, an
-- unreachable endpoint, retries run out on those) rather than give a real
-- answer about the request? Such a call can simply be made again later.
-- @param v any value
-- @treturn boolean
function errors.is_transient(v)
  if getmetatable(v) ~= Error then return false end
  if v.retries_exhausted or v.throttled or v.unavailable or v.throttling == true then return true end
  local kind = v.kind
  if kind == "transport" then return true end
  return (kind == "service" or kind == "parse") and v.retryable == true
end

--- Raise a kumo error built from `fields` (level 0: the object carries its own location).
-- @tparam table fields
function errors.raise(fields)
  error(errors.new(fields), 0)
end

-- The XML reader's description of a document read for its request id only
-- (kumo.xml.read, the one reader of XML responses: no Lua pattern digs in
-- XML here).
local ID_ONLY, NO_AUX = { false, 2, {}, false }, {}
local xml_read = require("kumo.xml").read

--- Find the request id of a response: headers first, then the body
-- (query/ec2 error bodies carry `<RequestId>` / `<RequestID>`).
-- @tparam table res an HTTP response (`headers`, `body`)
-- @treturn string|nil
function errors.request_id(res)
  local h = res.headers
  if h then
    local id = h["x-amzn-requestid"] or h["x-amz-request-id"] or h["x-amzn-request-id"]
    if id then return id end
  end
  local body = res.body
  if type(body) == "string" and body:find("^%s*<") then
    local out, id = xml_read(body, ID_ONLY, nil, NO_AUX)
    if out then return id end  -- malformed: nil and the reader's message
  end
  return nil
end

errors.Error = Error

return errors
