--- kumo.cli.wirelog: the wire log of `--debug` / `KUMO_DEBUG=1`, on stderr.
--
-- kumo.client sends through `wirelog.transport` instead of
-- `kumo.sched.request` when `KUMO_DEBUG` is set (the one place it reads
-- it): each attempt is logged as its method, URL, headers and body, then
-- the status, the time it took, the headers and body of the answer. Bodies
-- are cut at 2 KB. Secrets never reach the log:
--
-- * headers `Authorization`, `X-Amz-Security-Token` (and any `*-Token`,
--   `Cookie`) are replaced by `<redacted>`;
-- * in bodies and query strings, the values of members whose name says
--   secret (`SecretString`, `SecretBinary`, `*Password*`, `SecretAccessKey`,
--   `SessionToken`, `Credentials`' keys, private keys, ...) in JSON, XML
--   and form encoding; the redaction runs on the whole body, before the cut.
--
-- Server text is passed through `kumo.cli.term.clean` (no terminal escapes).
-- @module kumo.cli.wirelog
local term = require "kumo.cli.term"

local wirelog = {}

local format, concat = string.format, table.concat

--- Bodies longer than this are cut in the log.
wirelog.MAX_BODY = 2048

--- Where lines go (a function(string); default stderr).
wirelog.write = function(s) io.stderr:write(s) end

local SECRET_WORDS = { "password", "secretstring", "secretbinary", "secretaccesskey",
  "secretkey", "sessiontoken", "privatekey", "clientsecret", "authtoken", "accesstoken",
  "refreshtoken", "idtoken", "securitytoken", "passphrase", "plaintext", "authorizationtoken" }

--- Does a member or header name hold a secret?
-- @tparam string name
-- @treturn boolean
function wirelog.is_secret_name(name)
  local n = tostring(name):lower():gsub("[^%w]", "")
  for _, w in ipairs(SECRET_WORDS) do
    if n:find(w, 1, true) then return true end
  end
  return false
end
local is_secret = wirelog.is_secret_name

local SECRET_HEADERS = { authorization = true, ["x-amz-security-token"] = true,
  cookie = true, ["set-cookie"] = true, ["proxy-authorization"] = true }

-- JSON: "Name": "value" (escapes kept inside the value) and "Name": 123
local function redact_json(s)
  local out, pos = {}, 1
  while true do
    local ks, ke, key = s:find('"([%w_%-%.]+)"%s*:%s*', pos)
    if not ks then break end
    out[#out + 1] = s:sub(pos, ke)
    pos = ke + 1
    if is_secret(key) then
      local c = s:sub(pos, pos)
      if c == '"' then
        local i = pos + 1
        while i <= #s do
          local ch = s:sub(i, i)
          if ch == "\\" then i = i + 2
          elseif ch == '"' then break
          else i = i + 1 end
        end
        out[#out + 1] = '"<redacted>"'
        pos = i + 1
      elseif c ~= "{" and c ~= "[" then
        local e = s:find("[,}%]%s]", pos) or (#s + 1)
        out[#out + 1] = '"<redacted>"'
        pos = e
      end
    end
  end
  out[#out + 1] = s:sub(pos)
  return concat(out)
end

-- XML: <Name>value</Name>
local function redact_xml(s)
  return (s:gsub("<([%w_:%-]+)([^>]*)>([^<]*)</([%w_:%-]+)>", function(open, attrs, v, close)
    if open == close and v ~= "" and is_secret(open:gsub("^.*:", "")) then
      return "<" .. open .. attrs .. "><redacted></" .. close .. ">"
    end
  end))
end

-- form / query string: Name=value (also Foo.1.Password=value)
local function redact_form(s)
  return (s:gsub("([^&?=]+)=([^&]*)", function(k, v)
    local last = k:gsub("%%2[Ee]", "."):match("([^.]+)$") or k
    if v ~= "" and is_secret(last) then return k .. "=<redacted>" end
  end))
end

--- A body (or query string) with every secret value masked.
-- @tparam string s
-- @treturn string
function wirelog.redact(s)
  if type(s) ~= "string" or s == "" then return s end
  s = redact_json(s)
  s = redact_xml(s)
  if not s:find("[{<]") then s = redact_form(s) end
  -- whatever kumo.errors masks (signatures, tokens quoted in messages)
  return require("kumo.errors").redact(s)
end

local function cut(s)
  if #s <= wirelog.MAX_BODY then return s end
  return s:sub(1, wirelog.MAX_BODY) .. format("... [%d bytes, cut at %d]", #s, wirelog.MAX_BODY)
end

local function show_body(s)
  if type(s) ~= "string" or s == "" then return nil end
  return term.clean(cut(wirelog.redact(s)))
end

local function header_value(name, v)
  local n = tostring(name):lower()
  if SECRET_HEADERS[n] or n:match("token$") or is_secret(n) then return "<redacted>" end
  return term.line(tostring(v))
end

local function url_of(u)
  local base, q = u:match("^([^?]*)%?(.*)$")
  if not base then return term.line(u) end
  return term.line(base .. "?" .. redact_form(q))
end

local function emit(lines)
  wirelog.write(concat(lines, "\n") .. "\n")
end

local now = require("kumo.clock").monotonic  -- wall time, never CPU time

--- The transport kumo.client uses under KUMO_DEBUG: logs, then sends
-- through `kumo.sched.request` with the same options.
-- @tparam table req `{ method, url, headers, body, ... }`
-- @tparam[opt] table info `{ limit_key, service, operation, attempt }`
-- @return what `kumo.sched.request` returns
function wirelog.transport(req, info)
  info = info or {}
  local lines = { format("kumo debug: >>> %s %s%s", req.method or "POST", url_of(req.url or ""),
    info.operation and format("  (%s %s, attempt %d)", tostring(info.service),
      tostring(info.operation), info.attempt or 1) or "") }
  for _, h in ipairs(req.headers or {}) do
    lines[#lines + 1] = format("kumo debug: >>>   %s: %s", term.line(h[1]), header_value(h[1], h[2]))
  end
  local b = show_body(req.body)
  if b then lines[#lines + 1] = "kumo debug: >>> body: " .. b end
  emit(lines)
  local t0 = now()
  local res, msg, code = require("kumo.sched").request(req,
    info.limit_key and { limit_key = info.limit_key } or nil)
  local ms = (now() - t0) * 1000
  if not res then
    emit{ format("kumo debug: <<< no answer after %.0f ms: %s [%s]", ms,
      term.line(tostring(msg)), tostring(code)) }
    return res, msg, code
  end
  lines = { format("kumo debug: <<< %d in %.0f ms", res.status or 0, ms) }
  local names = {}
  for k in pairs(res.headers or {}) do names[#names + 1] = k end
  table.sort(names)
  for _, k in ipairs(names) do
    lines[#lines + 1] = format("kumo debug: <<<   %s: %s", term.line(k), header_value(k, res.headers[k]))
  end
  b = show_body(res.body)
  if b then lines[#lines + 1] = "kumo debug: <<< body: " .. b end
  emit(lines)
  return res, msg, code
end

--- An `on_attempt` hook telling retries (the CLI adds it under --debug).
-- @tparam table info the attempt info of kumo.client
function wirelog.on_attempt(info)
  if info.retrying then
    emit{ format("kumo debug: retry: %s %s attempt %d got %s; next attempt in %.2f s",
      tostring(info.service), tostring(info.operation), info.attempt or 0,
      term.line(tostring(info.code or info.status)), info.delay or 0) }
  elseif info.code then
    emit{ format("kumo debug: %s %s attempt %d failed: %s (not retried)", tostring(info.service),
      tostring(info.operation), info.attempt or 0, term.line(tostring(info.code))) }
  end
end

return wirelog
