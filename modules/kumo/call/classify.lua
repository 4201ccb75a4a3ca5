--- kumo.call.classify: what an attempt's answer is — the operation's output,
-- or a `kumo.errors` object (`transport`, `service` or `parse`). Whether
-- that error is worth another attempt, and whether it is throttling, is the
-- retry decision's (kumo.call.decide, through kumo.retry): nothing else in
-- kumo reads answers to decide that.
-- @module kumo.call.classify
local errors = require "kumo.errors"

local classify = {}

local new_error, request_id = errors.new, errors.request_id

-- An error response: the protocol's error parser, or, when it cannot read
-- the body, the status and the start of the body.
local function service_error(c, p, res)
  local status = res.status
  local okp, e = pcall(c._protocol.parse_error, c.model, p.entry.model, res)
  if okp and type(e) == "table" and e.code then
    return new_error{ kind = "service", code = e.code, message = e.message,
      fields = e.fields, http_status = status, request_id = e.request_id or request_id(res),
      service = c.service_name, operation = p.op }
  end
  local snippet = type(res.body) == "string" and res.body:sub(1, 200):gsub("%s+", " ") or ""
  return new_error{ kind = "service", code = tostring(status),
    message = "unreadable error response" .. (okp and "" or (" (" .. tostring(e) .. ")"))
      .. (snippet ~= "" and (": " .. snippet) or ""),
    http_status = status, request_id = request_id(res),
    service = c.service_name, operation = p.op }
end

--- Classify one attempt's answer.
-- @tparam table c the client
-- @tparam table p the prepared call (kumo.call.prepare)
-- @tparam number n the attempt number (1-based; `RetryAttempts` is n - 1)
-- @tparam table|nil res the HTTP response, nil on a transport failure
-- @tparam[opt] string msg the transport failure
-- @tparam[opt] string code curl's error name
-- @treturn table|nil out the output, with `ResponseMetadata`
-- @treturn table|nil err a `kumo.errors` object
function classify.response(c, p, n, res, msg, code)
  if not res then
    return nil, new_error{ kind = "transport", code = code or "CURLE_UNKNOWN", message = msg,
      service = c.service_name, operation = p.op }
  end
  if p.on_response then res = p.on_response(res) end
  local status = res.status
  if status >= 300 then return nil, service_error(c, p, res) end
  local okp, o, meta = pcall(c._protocol.parse, c.model, p.entry.model, res)
  if okp and type(o) == "table" and p.on_output then
    okp, o = pcall(p.on_output, o, res)
    if not okp and errors.is(o) then
      o.request_id = o.request_id or request_id(res)
      return nil, o
    end
  end
  if okp and type(o) == "table" then
    o.ResponseMetadata = { RequestId = (meta and meta.request_id) or request_id(res),
      HTTPStatusCode = status, HTTPHeaders = res.headers, RetryAttempts = n - 1 }
    return o
  end
  return nil, new_error{ kind = "parse", code = "MalformedResponse",
    message = okp and "the parser returned no table" or tostring(o),
    http_status = status, request_id = request_id(res),
    service = c.service_name, operation = p.op }
end

return classify
