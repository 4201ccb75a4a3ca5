-- Shared by the call-stage specs: a session with a scripted transport (no
-- network) and its clients.
local aws = require "kumo.aws"

local H = {}

H.CREDS = { access_key_id = "AKIAUNITTEST00000001", secret_access_key = "unit-secret-key" }

--- A transport answering from `responses` in order (the last repeats),
-- recording the requests.
function H.scripted(responses)
  local t = { requests = {} }
  t.fn = function(req)
    t.requests[#t.requests + 1] = req
    local r = responses[#t.requests] or responses[#responses]
    if r.transport_error then return nil, r.transport_error, r.code end
    return { status = r.status or 200, headers = r.headers or {}, body = r.body or "" }
  end
  return t
end

function H.session(t, extra)
  local o = { region = "ap-northeast-1", credentials = H.CREDS, env = {},
    config_file = "/nonexistent/config", credentials_file = "/nonexistent/credentials",
    transport = t and t.fn, random = function() return 0.5 end }
  for k, v in pairs(extra or {}) do o[k] = v end
  return aws.session(o)
end

function H.header(headers, name)
  for _, h in ipairs(headers) do
    if h[1]:lower() == name:lower() then return h[2] end
  end
end

function H.query_error(code, msg)
  return "<ErrorResponse><Error><Type>Sender</Type><Code>" .. code .. "</Code><Message>" .. msg
    .. "</Message></Error><RequestId>req-err</RequestId></ErrorResponse>"
end

return H
