--- kumo.credentials.fetch: the HTTP and JSON helpers the metadata and
-- token providers share (container, IMDS, SSO, web identity, process).
-- Messages never include response bodies that may carry secrets.
-- @module kumo.credentials.fetch
local M = {}

local json = require "kumo.json"
--- The JSON module (kumo.json).
function M.json() return json end

--- Decode JSON text into a table.
-- @param text the JSON
-- @param what what it is, for the error (e.g. "container credentials response")
-- @return table; raises `what: not JSON` without echoing the text
function M.decode(text, what)
  local v, err = json.decode(type(text) == "string" and text or "")
  if type(v) ~= "table" then
    error(string.format("%s is not a JSON object (%s)", what,
      tostring(err or type(v)):gsub("\n.*", "")), 0)
  end
  -- a null member is absent
  for k, x in pairs(v) do
    if x == json.null then v[k] = nil end
  end
  return v
end

-- The header list of a request with kumo's User-Agent added when it has
-- none (botocore's metadata fetchers send the session's User-Agent).
local function with_agent(req)
  local headers = req.headers or {}
  for _, h in ipairs(headers) do
    if h[1]:lower() == "user-agent" then return req end
  end
  local copy = {}
  for k, v in pairs(req) do copy[k] = v end
  copy.headers = { { "User-Agent", require("kumo.useragent").BASE }, table.unpack(headers) }
  return copy
end

--- Send a request through kumo.sched (yields inside a task), retrying
-- transport errors and non-2xx statuses; kumo's User-Agent is added when
-- the request has none.
-- @param req a kumo.http request table
-- @param opts `{ attempts = 1, delay = 0, what = "…", retry_status = function(status) → bool }`
-- @return res (status 2xx), or raises naming `what`, the URL and the last problem
function M.request(req, opts)
  opts = opts or {}
  local sched = require "kumo.sched"
  local attempts = opts.attempts or 1
  req = with_agent(req)
  local last
  for i = 1, attempts do
    local res, msg, code = sched.request(req)
    if res and res.status >= 200 and res.status < 300 then return res end
    if res then
      last = string.format("HTTP %d", res.status)
      if opts.retry_status and not opts.retry_status(res.status) then
        return nil, last, res
      end
    else
      last = tostring(msg) .. (code and (" (" .. code .. ")") or "")
    end
    if i < attempts and (opts.delay or 0) > 0 then sched.sleep(opts.delay) end
  end
  return nil, last
end

--- Split a URL into scheme, host (brackets removed), port and the rest.
function M.parse_url(url)
  local scheme, authority, rest = url:match("^(%a[%w+.-]*)://([^/?#]*)(.*)$")
  if not scheme then return nil end
  authority = authority:gsub("^.*@", "")
  local host, port
  if authority:sub(1, 1) == "[" then
    host, port = authority:match("^%[([^%]]+)%]:?(%d*)$")
  else
    host, port = authority:match("^([^:]*):?(%d*)$")
  end
  if not host then return nil end
  return scheme:lower(), host:lower(), tonumber(port), rest
end

--- Read a whole file (token files).
-- @return contents, or nil and the error
M.read_file = require("kumo.sys").read_file

return M
