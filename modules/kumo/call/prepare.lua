--- kumo.call.prepare: the first stage of a client call — everything that is
-- the same on every attempt, done once.
--
-- Checks the call options and the parameters, validates them against the
-- model, serializes the request (once: an idempotency token filled in stays
-- the same on every retry), builds the URL and the unsigned headers, and
-- settles the per-call settings (retry policy, hooks, timeouts). The result
-- is a plain table the attempt stage (kumo.call.attempt) sends as often as
-- the retry decision (kumo.call.decide) asks.
-- @module kumo.call.prepare
local errors = require "kumo.errors"
local suggest = require "kumo.suggest"
local urlencode = require("kumo.protocol.wire").urlencode

local prepare = {}

local concat, format, unpack = table.concat, string.format, table.unpack

--- The call options an operation method accepts (third argument).
prepare.CALL_OPTS = {
  query = true, on_attempt = true, retry_mode = true, max_attempts = true, retry_budget = true,
  timeout = true, connect_timeout = true, validate = true, strict = true, endpoint_url = true,
  upload = true, download = true,
}

--- Services whose calls a module customizes (`op_model(c, entry)` → the
-- operation model to serialize; `prepare(c, entry, params, opts, p, req)`
-- changes the prepared call in place).
prepare.CUSTOM = { s3 = "kumo.s3.customize" }

-- The client's customization module, or false.
local function custom_of(c)
  local m = c._custom
  if m == nil then
    local name = prepare.CUSTOM[c.metadata and c.metadata.kumoName or c.service_name]
    m = name and require(name) or false
    c._custom = m
  end
  return m
end

local function sorted_keys(t)
  local list = {}
  for k in pairs(t) do list[#list + 1] = k end
  table.sort(list)
  return list
end

--- Raise a usage error for the first unknown call option, with near names.
-- @tparam string service
-- @tparam string op
-- @tparam table opts
function prepare.check_opts(service, op, opts)
  local known = prepare.CALL_OPTS
  for k in pairs(opts) do
    if not known[k] then
      local near = suggest.close_matches(tostring(k), sorted_keys(known))
      errors.raise{ kind = "usage", code = "UnknownOption", service = service,
        operation = op, message = format("%s: unknown call option %q%s", op, tostring(k),
          #near > 0 and ("; did you mean " .. concat(near, ", ") .. "?") or "") }
    end
  end
end

-- A setting: the call option, else the client's, else the session's.
local function layered(key, opts, copts, sopts)
  local v = opts[key]
  if v == nil then v = copts[key] end
  if v == nil then v = sopts[key] end
  return v
end

local validate_mod -- kumo.validate, loaded on the first validated call

local function validate_params(c, entry, params, opts)
  local s = c.session
  local v = layered("validate", opts, c.options, s.options)
  -- unset everywhere: the profile's parameter_validation (kumo.session)
  if v == false or (v == nil and s.validate == false) then return end
  local validate = validate_mod
  if validate == nil then
    validate = require "kumo.validate"
    validate_mod = validate
  end
  local okv, err = pcall(validate.check, c.model, entry.model, params,
    { strict = layered("strict", opts, c.options, s.options), warn = s.warn })
  if not okv then
    errors.raise{ kind = "validation", code = "ValidationError", service = c.service_name,
      operation = entry.name, message = tostring(err) }
  end
end

--- The URL and Host of a serialized request at an endpoint.
-- @tparam table ep the resolved endpoint (`scheme`, `authority`, `path`, `no_host_prefix`)
-- @tparam table req the serialized request (`path`, `query`, `host_prefix`)
-- @treturn string url
-- @treturn string host
function prepare.url(ep, req)
  local path = req.path or "/"
  if ep.path ~= "" then path = ep.path .. path end
  local host = ep.authority
  if req.host_prefix and not ep.no_host_prefix then host = req.host_prefix .. host end
  local q = req.query
  local url = ep.scheme .. "://" .. host .. path
  if q and #q > 0 then
    local parts = {}
    for i, kv in ipairs(q) do
      parts[i] = kv[2] == nil and urlencode(kv[1]) or (urlencode(kv[1]) .. "=" .. urlencode(tostring(kv[2])))
    end
    url = url .. (path:find("?", 1, true) and "&" or "?") .. concat(parts, "&")
  end
  return url, host
end

--- kumo's User-Agent (the host's version and Lua's); a session's adds its
-- app id (`session.user_agent`).
prepare.USER_AGENT = require("kumo.useragent").BASE

-- The hooks watching this call's attempts: the session's, plus the client's
-- and the call's own (a copy only when there are such).
local function hooks_of(c, opts)
  local hooks = c.session.hooks
  local ch, oh = c.options.on_attempt, opts.on_attempt
  if ch or oh then
    hooks = { unpack(hooks) }
    if ch then hooks[#hooks + 1] = ch end
    if oh then hooks[#hooks + 1] = oh end
  end
  return hooks
end

local NO_OPTS = {}

--- Prepare a call: check, validate, serialize, and settle its settings.
-- @tparam table c the client
-- @tparam table entry the operation entry (`Client:operation`)
-- @tparam[opt] table params
-- @tparam[opt] table opts call options
-- @treturn table `{ entry=, op=, opts=, policy=, endpoint=, method=, url=, body=,
--   headers= (unsigned), unsigned=, timeout=, connect_timeout=, hooks= }`; a
--   customization (prepare.CUSTOM) may add `sign_opts` (extra kumo.sigv4
--   fields), `upload`, `download`, `on_response(res)` → res, `on_output(out, res)`
--   → out, `redirect(res)` → true to resend at once (p changed)
function prepare.call(c, entry, params, opts)
  local op = entry.name
  params = params or {}
  if type(params) ~= "table" then
    errors.raise{ kind = "usage", code = "InvalidParameters", service = c.service_name,
      operation = op, message = format("%s: parameters must be a table, got %s", op, type(params)) }
  end
  if opts then prepare.check_opts(c.service_name, op, opts) else opts = NO_OPTS end
  validate_params(c, entry, params, opts)

  local s = c.session
  local custom = custom_of(c)
  -- the operation's endpoint (per operation only where its model gives the
  -- rule set parameters; a customization with its own resolver, S3's, sets it)
  local ep = (entry.ep_context and not (custom and custom.endpoint) and c:endpoint(entry, params))
    or c._endpoint or c:endpoint()
  local policy = (opts.retry_mode or opts.max_attempts or opts.retry_budget) and c:retry_policy(opts)
    or c._policy or c:retry_policy()
  if not custom and (opts.upload or opts.download) then
    errors.raise{ kind = "usage", code = "UnknownOption", service = c.service_name, operation = op,
      message = format("%s: the upload and download options are for S3 calls", op) }
  end
  local op_model = custom and custom.op_model(c, entry) or entry.model
  local okser, req = pcall(c._protocol.serialize, c.model, op_model, params, s.serialize_ctx)
  if not okser then
    errors.raise{ kind = "validation", code = "ValidationError", service = c.service_name,
      operation = op, message = tostring(req) }
  end
  local url, host = prepare.url(ep, req)
  local headers = { { "Host", host }, { "User-Agent", s.user_agent or prepare.USER_AGENT } }
  for _, h in ipairs(req.headers or NO_OPTS) do headers[#headers + 1] = h end
  local copts, sopts = c.options, s.options
  local p = {
    entry = entry, op = op, opts = opts, policy = policy, endpoint = ep,
    method = req.method or "POST", url = url, body = req.body or "", headers = headers,
    unsigned = entry.unsigned,
    -- the call's, else the client's, else the session's (inline: per call)
    timeout = opts.timeout or copts.timeout or sopts.timeout,
    connect_timeout = opts.connect_timeout or copts.connect_timeout or sopts.connect_timeout,
    hooks = hooks_of(c, opts),
  }
  if custom then
    local okc, cerr = pcall(custom.prepare, c, entry, params, opts, p, req)
    if not okc then
      if errors.is(cerr) then error(cerr, 0) end
      errors.raise{ kind = "usage", code = "InvalidRequest", service = c.service_name,
        operation = op, message = tostring(cerr) }
    end
  end
  return p
end

return prepare
