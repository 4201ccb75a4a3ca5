--- kumo.client: one AWS service, called the way the API reference reads.
--
--     local rds = session:client("rds")
--     local out = rds:DescribeDBProxies{ DBProxyName = "orders-proxy" }
--     local out, err = rds:try("DescribeDBProxies", { DBProxyName = "x" })
--     for page in rds:paginate("DescribeDBProxies", {}) do ... end
--     rds:wait("DBInstanceAvailable", { DBInstanceIdentifier = "db" }, { timeout = 1800 })
--
-- Operation methods come from the model through `__index` (PascalCase names,
-- exactly as documented); each call: validate → serialize (once: an
-- idempotency token filled in stays the same on every retry) → for each
-- attempt: credentials → sign → send through `kumo.sched` → parse → retry
-- policy. Everything that depends only on the operation (model lookups,
-- modelled retryable errors, the protocol module) is computed once per
-- operation and kept on the client.
--
-- Call options (third argument of an operation method, or of `call`):
-- `query` (a JMESPath expression applied to the result), `on_attempt`
-- (function(info) called after every attempt), `retry_mode`,
-- `max_attempts`, `retry_budget`, `timeout`, `connect_timeout`, `validate`
-- (false skips parameter validation), `strict` (enum mismatches are errors).
--
-- In `adaptive` and `long` retry modes every attempt's outcome, as the retry
-- policy classified it (throttled or not), feeds the rate limiter of its
-- key `"<account>/<service>/<region>"` (kumo.ratelimit), shared by the
-- whole process.
-- @module kumo.client
local errors = require "kumo.errors"
local retry = require "kumo.retry"
local endpoints = require "kumo.endpoints"
local sched = require "kumo.sched"
local ratelimit = require "kumo.ratelimit"

local client = {}

local Client = {}
client.Client = Client

local concat, format = table.concat, string.format
local new_error = errors.new

local CALL_OPTS = {
  query = true, on_attempt = true, retry_mode = true, max_attempts = true, retry_budget = true,
  timeout = true,
  connect_timeout = true, validate = true, strict = true, endpoint_url = true,
}

--- Up to `n` names of `candidates` close to `name` (see kumo.suggest).
client.close_matches = require("kumo.suggest").close_matches

local function keys_of(t)
  local list = {}
  for k in pairs(t or {}) do list[#list + 1] = k end
  table.sort(list)
  return list
end

-- kumo.model has already chosen the protocol kumo speaks (metadata.protocol).
local function protocol_module(meta)
  local p = meta.protocol
  return require("kumo.protocol." .. p:gsub("-", "_")), p
end

--- Make a client (use `session:client(name)`).
-- @tparam table session the owning session
-- @tparam string name the service name (`"rds"`, `"secretsmanager"`, ...)
-- @tparam[opt] table opts `endpoint_url`, `region`, `allow_http`, `retry_mode`,
--   `max_attempts`, `retry_budget`, `on_attempt`, `timeout`, `connect_timeout`,
--   `validate`, `strict`
-- @treturn table client
function client.new(session, name, opts)
  opts = opts or {}
  local model = require "kumo.model"
  local svc = model.load(name)
  local meta = svc.metadata
  local self = {
    session = session,
    service_name = name,
    model = svc,
    metadata = meta,
    options = opts,
    region = opts.region or session.region,
    _ops = {},
  }
  self._protocol, self.protocol = protocol_module(meta)
  return setmetatable(self, Client)
end

-- Operation methods: `rds:DescribeDBProxies{...}`. Built once per name and
-- kept in the Client table (shared by every client; the name decides).
local op_methods = {}
function Client.__index(self, key)
  local m = Client[key]
  if m ~= nil then return m end
  if type(key) ~= "string" or not key:match("^%u") then return nil end
  m = op_methods[key]
  if not m then
    m = function(c, params, opts) return c:call(key, params, opts) end
    op_methods[key] = m
  end
  return m
end

function Client.__tostring(self)
  return format("<kumo client %s %s>", self.service_name, self.region or "(no region)")
end

--- The names of the service's operations, sorted.
-- @treturn table
function Client:operations()
  return keys_of(self.model.operations)
end

--- The per-operation entry (model, modelled retryable errors), built once.
-- @tparam string op
-- @treturn table
function Client:operation(op)
  local entry = self._ops[op]
  if entry then return entry end
  local op_model = type(op) == "string" and self.model.operations[op]
  if not op_model then
    local near = client.close_matches(tostring(op), self:operations())
    errors.raise{ kind = "usage", code = "UnknownOperation", service = self.service_name,
      message = format("no operation %q in %s%s", tostring(op), self.service_name,
        #near > 0 and ("; did you mean " .. concat(near, ", ") .. "?") or "") }
  end
  local shapes = self.model.shapes
  local modeled = nil
  for _, ref in ipairs(op_model.errors or {}) do
    local shape = shapes[ref.shape]
    if shape and shape.retryable then
      modeled = modeled or {}
      local code = shape.error and shape.error.code or ref.shape
      modeled[code] = { throttling = shape.retryable.throttling == true }
    end
  end
  entry = { name = op, model = op_model, modeled = modeled }
  self._ops[op] = entry
  return entry
end

--- The paginator definition of an operation.
-- @tparam string op
-- @treturn table `{ input_token=, output_token=, limit_key=, result_key=, more_results= }`
function Client:paginator(op)
  local pag = self.model.paginators and self.model.paginators[op]
  if pag then return pag end
  self:operation(op) -- unknown operation: the clearer error
  local names = keys_of(self.model.paginators)
  local near = client.close_matches(op, names)
  errors.raise{ kind = "usage", code = "NoPaginator", service = self.service_name, operation = op,
    message = format("%s %s is not paginated%s", self.service_name, op,
      #near > 0 and ("; paginated operations like it: " .. concat(near, ", ")) or "") }
end

-- A boolean setting: the option, else the environment, else the profile.
local function setting(opt, env, prof)
  if opt ~= nil then return opt and true or false end
  local v = (env ~= nil and env ~= "") and env or prof
  return v ~= nil and tostring(v):lower() == "true"
end

local WARNED_REGIONS = {}  -- warning text -> true: each unknown region is told once

--- Resolve (once) and return the endpoint of this client.
-- @treturn table `{ url=, host=, signing_region=, signing_name=, source= }`
function Client:endpoint()
  local ep = self._endpoint
  if ep then return ep end
  local s = self.session
  local view = s.config
  local profile = view and view:profile(s.profile) or nil
  local services = nil
  if profile and type(profile.services) == "string" and view then
    services = view:services(profile.services)
    if not services then
      errors.raise{ kind = "usage", code = "InvalidConfig", service = self.service_name,
        message = format("profile %q says services = %s, but there is no [services %s] "
          .. "section in %s", s.profile, profile.services, profile.services, view.config_file) }
    end
  end
  local so = s.options
  local ok, res = pcall(endpoints.resolve, {
    meta = self.metadata,
    region = self.region,
    client_url = self.options.endpoint_url,
    session_url = so.endpoint_url,
    getenv = s.getenv,
    profile = profile,
    services = services,
    allow_http = self.options.allow_http or so.allow_http,
    ignore_configured = so.ignore_configured_endpoint_urls,
    sts_regional_endpoints = so.sts_regional_endpoints
      or s.getenv("AWS_STS_REGIONAL_ENDPOINTS") or (profile and profile.sts_regional_endpoints),
    use_fips = setting(so.use_fips_endpoint, s.getenv("AWS_USE_FIPS_ENDPOINT"),
      profile and profile.use_fips_endpoint),
    use_dualstack = setting(so.use_dualstack_endpoint, s.getenv("AWS_USE_DUALSTACK_ENDPOINT"),
      profile and profile.use_dualstack_endpoint),
  })
  if not ok then
    local msg = tostring(res)
    local prefix = (self.metadata.endpointPrefix or "") .. ": "
    if msg:sub(1, #prefix) == prefix then msg = msg:sub(#prefix + 1) end
    errors.raise{ kind = "usage", code = "InvalidEndpoint", service = self.service_name,
      message = msg }
  end
  if res.warning and not WARNED_REGIONS[res.warning] then  -- once per process
    WARNED_REGIONS[res.warning] = true
    local warn = s.warn or function(msg) io.stderr:write("kumo: warning: ", msg, "\n") end
    warn(self.service_name .. ": " .. res.warning)
  end
  self._endpoint = res
  return res
end

--- The retry policy of this client (built once; the quota is shared per endpoint host
-- within the session, so clients of one endpoint draw from one bucket).
-- @tparam[opt] table opts call options overriding `retry_mode` / `max_attempts`
-- @treturn table policy
function Client:retry_policy(opts)
  if opts and (opts.retry_mode or opts.max_attempts or opts.retry_budget) then
    local base = self:retry_policy()
    local o, so = self.options, self.session.options
    local cfg = retry.config{ explicit = { retry_mode = opts.retry_mode or base.mode,
      max_attempts = opts.max_attempts or o.max_attempts or so.max_attempts,
      retry_budget = opts.retry_budget or o.retry_budget or so.retry_budget,
      new_retries_2026 = base.new_2026 }, getenv = self.session.getenv,
      profile = self.session:profile_settings() }
    cfg.service = self.metadata.endpointPrefix
    cfg.quota = base.quota
    cfg.random = self.session.options.random
    return retry.policy(cfg)
  end
  local p = self._policy
  if p then return p end
  local s = self.session
  local o, so = self.options, s.options
  local cfg = retry.config{
    explicit = { retry_mode = o.retry_mode or so.retry_mode,
      max_attempts = o.max_attempts or so.max_attempts,
      retry_budget = o.retry_budget or so.retry_budget,
      new_retries_2026 = so.new_retries_2026 },
    getenv = s.getenv, profile = s:profile_settings(),
  }
  cfg.service = self.metadata.endpointPrefix
  cfg.random = so.random
  if cfg.mode ~= "legacy" and cfg.mode ~= "long" then cfg.quota = s:retry_quota(self:endpoint().host) end
  p = retry.policy(cfg)
  self._policy = p
  return p
end

--- The retry quota this client draws from: `{ capacity=, available= }`.
-- @treturn table
function Client:retry_quota()
  return self:retry_policy().quota
end

local function build_url(ep, req)
  local path = req.path or "/"
  if ep.path ~= "" then path = ep.path .. path end
  local host = ep.authority
  if req.host_prefix and not ep.no_host_prefix then host = req.host_prefix .. host end
  local q = req.query
  local url = ep.scheme .. "://" .. host .. path
  if q and #q > 0 then
    local enc = require("kumo.protocol.common").urlencode
    local parts = {}
    for i, kv in ipairs(q) do
      parts[i] = kv[2] == nil and enc(kv[1]) or (enc(kv[1]) .. "=" .. enc(tostring(kv[2])))
    end
    url = url .. (path:find("?", 1, true) and "&" or "?") .. concat(parts, "&")
  end
  return url, host
end

local function user_agent()
  local ok, sys = pcall(require, "kumo.sys")
  local v = ok and type(sys) == "table" and sys.version or "dev"
  return "kumo/" .. tostring(v) .. " lua/" .. _VERSION:match("%d+%.%d+")
end
local UA

-- --debug / KUMO_DEBUG=1: the wire log of kumo.cli.wirelog wraps sched.request
local function debug_transport()
  local v = os.getenv("KUMO_DEBUG")
  if v == nil or v == "" or v == "0" then return nil end
  return require("kumo.cli.wirelog").transport
end

-- Run the hooks that watch attempts.
local function notify(hooks, info)
  for i = 1, #hooks do
    local ok, e = pcall(hooks[i], info)
    if not ok then io.stderr:write("kumo: on_attempt hook failed: ", tostring(e), "\n") end
  end
end

local EXPIRED = { ExpiredToken = true, ExpiredTokenException = true, RequestExpired = true }

local function check_opts(self, op, opts)
  for k in pairs(opts) do
    if not CALL_OPTS[k] then
      local near = client.close_matches(tostring(k), keys_of(CALL_OPTS))
      errors.raise{ kind = "usage", code = "UnknownOption", service = self.service_name,
        operation = op, message = format("%s: unknown call option %q%s", op, tostring(k),
          #near > 0 and ("; did you mean " .. concat(near, ", ") .. "?") or "") }
    end
  end
end

local validate_mod -- kumo.validate, loaded on the first validated call

local function validate_params(self, entry, params, opts)
  local v = opts.validate
  if v == nil then v = self.options.validate end
  if v == nil then v = self.session.options.validate end
  if v == false then return end
  local validate = validate_mod
  if validate == nil then
    validate = require "kumo.validate"
    validate_mod = validate
  end
  local strict = opts.strict
  if strict == nil then strict = self.options.strict end
  if strict == nil then strict = self.session.options.strict end
  local okv, err = pcall(validate.check, self.model, entry.model, params,
    { strict = strict, warn = self.session.warn })
  if not okv then
    errors.raise{ kind = "validation", code = "ValidationError", service = self.service_name,
      operation = entry.name, message = tostring(err) }
  end
end

--- Call an operation; raise a `kumo.errors` object on failure.
-- @tparam string op the operation name (`"DescribeDBProxies"`)
-- @tparam[opt] table params input members (PascalCase, as documented)
-- @tparam[opt] table opts call options (see the module doc)
-- @treturn table the output (plus `ResponseMetadata = { RequestId, HTTPStatusCode, RetryAttempts }`),
--   or the result of `opts.query`
function Client:call(op, params, opts)
  local entry = self._ops[op] or self:operation(op)
  params = params or {}
  if type(params) ~= "table" then
    errors.raise{ kind = "usage", code = "InvalidParameters", service = self.service_name,
      operation = op, message = format("%s: parameters must be a table, got %s", op, type(params)) }
  end
  if opts then check_opts(self, op, opts) else opts = {} end
  validate_params(self, entry, params, opts)

  local s = self.session
  local op_model = entry.model
  local svc = self.model
  local proto = self._protocol
  local ep = self:endpoint()
  local policy = (opts.retry_mode or opts.max_attempts or opts.retry_budget) and self:retry_policy(opts)
    or self._policy or self:retry_policy()

  local okser, req = pcall(proto.serialize, svc, op_model, params, s.serialize_ctx)
  if not okser then
    errors.raise{ kind = "validation", code = "ValidationError", service = self.service_name,
      operation = op, message = tostring(req) }
  end
  local url, host = build_url(ep, req)
  local base_headers = { { "Host", host } }
  UA = UA or user_agent()
  base_headers[2] = { "User-Agent", UA }
  for _, h in ipairs(req.headers or {}) do base_headers[#base_headers + 1] = h end
  local nbase = #base_headers
  local body = req.body or ""
  local method = req.method or "POST"
  local sign = s.sign

  local hooks = s.hooks
  local local_hooks = self.options.on_attempt or opts.on_attempt
  if local_hooks then
    hooks = { table.unpack(hooks) }
    if self.options.on_attempt then hooks[#hooks + 1] = self.options.on_attempt end
    if opts.on_attempt then hooks[#hooks + 1] = opts.on_attempt end
  end
  local timeout = opts.timeout or self.options.timeout or s.options.timeout
  local connect_timeout = opts.connect_timeout or self.options.connect_timeout
    or s.options.connect_timeout
  local transport = s.transport or debug_transport()
  local sign_body_hash = s.sign_body_hash
  local state = {}
  local attempt = 0
  local refreshed = false
  local provider = s:credentials()
  local clock = s.clock
  local t0 = clock()
  local adaptive = policy.adaptive
  local long = policy.mode == "long"

  while true do
    attempt = attempt + 1
    local okc, creds = pcall(provider.get, provider)
    if not okc then
      if errors.is(creds) then error(creds, 0) end
      errors.raise{ kind = "credentials", code = "NoCredentials", service = self.service_name,
        operation = op, message = tostring(creds) }
    end
    local headers = { table.unpack(base_headers, 1, nbase) }
    local add = sign{
      method = method, url = url, headers = headers, body = body,
      region = ep.signing_region, service = ep.signing_name,
      access_key_id = creds.access_key_id, secret_access_key = creds.secret_access_key,
      session_token = creds.session_token, sign_body_hash_header = sign_body_hash,
    }
    for i = 1, #add do headers[nbase + i] = add[i] end
    local hreq = { method = method, url = url, headers = headers, body = body,
      timeout = timeout, connect_timeout = connect_timeout }
    local res, tmsg, tcode
    -- the rate buckets of kumo.sched: per account (or key), service and region
    local limit_key = (creds.account_id or creds.access_key_id) .. "/" .. ep.signing_name
      .. "/" .. ep.signing_region
    -- long mode: a throttle of a request sent before the key's last rate cut
    -- does not cut again (kumo.ratelimit, Limiter:on_response)
    local sent_at = long and ratelimit.now() or nil
    if transport then
      res, tmsg, tcode = transport(hreq, { limit_key = limit_key, service = self.service_name,
        operation = op, attempt = attempt })
    else
      res, tmsg, tcode = sched.request(hreq, { limit_key = limit_key })
    end

    local err, out, status
    if not res then
      err = new_error{ kind = "transport", code = tcode or "CURLE_UNKNOWN", message = tmsg,
        service = self.service_name, operation = op }
    else
      status = res.status
      if status >= 300 then
        local okp, e = pcall(proto.parse_error, svc, op_model, res)
        if okp and type(e) == "table" and e.code then
          err = new_error{ kind = "service", code = e.code, message = e.message,
            fields = e.fields, http_status = status,
            request_id = e.request_id or errors.request_id(res),
            service = self.service_name, operation = op }
        else
          local snippet = type(res.body) == "string" and res.body:sub(1, 200):gsub("%s+", " ") or ""
          err = new_error{ kind = "service", code = tostring(status),
            message = "unreadable error response" .. (okp and "" or (" (" .. tostring(e) .. ")"))
              .. (snippet ~= "" and (": " .. snippet) or ""),
            http_status = status, request_id = errors.request_id(res),
            service = self.service_name, operation = op }
        end
      else
        local okp, o, meta = pcall(proto.parse, svc, op_model, res)
        if okp and type(o) == "table" then
          out = o
          out.ResponseMetadata = { RequestId = (meta and meta.request_id) or errors.request_id(res),
            HTTPStatusCode = status, HTTPHeaders = res.headers, RetryAttempts = attempt - 1 }
        else
          err = new_error{ kind = "parse", code = "MalformedResponse",
            message = okp and "the parser returned no table" or tostring(o),
            http_status = status, request_id = errors.request_id(res),
            service = self.service_name, operation = op }
        end
      end
    end

    if out then
      policy:finish(state, status)
      if adaptive then ratelimit.on_response(limit_key, false, sent_at) end
      if #hooks > 0 then
        notify(hooks, { service = self.service_name, operation = op, attempt = attempt,
          status = status, elapsed = clock() - t0, retrying = false })
      end
      if opts.query then return require("kumo.jmespath").search(opts.query, out) end
      return out
    end

    err.attempts = attempt
    local elapsed = clock() - t0
    err.elapsed = elapsed
    state.elapsed = elapsed
    local delay, sleep_anyway = policy:decide(state, attempt, err, res, entry.modeled, op)
    if adaptive then ratelimit.on_response(limit_key, err.throttling, sent_at) end
    -- Expired credentials: refresh them once and resend (the SDKs' InvalidateCredentials).
    if not delay and not refreshed and err.kind == "service" and EXPIRED[err.code]
        and provider.invalidate then
      refreshed = true
      provider:invalidate()
      delay = 0
    end
    if #hooks > 0 then
      notify(hooks, { service = self.service_name, operation = op, attempt = attempt,
        status = status, code = err.code, error = err, delay = delay,
        retrying = delay ~= nil, elapsed = elapsed,
        quota = policy.quota and policy.quota.available })
    end
    if not delay then
      if sleep_anyway and sleep_anyway > 0 then s.sleep(sleep_anyway) end
      error(err, 0)
    end
    if delay > 0 then s.sleep(delay) end
  end
end

--- Call an operation without raising: `out` or `nil, err`.
-- Only kumo error objects are returned; programming errors still raise.
-- @tparam string op
-- @tparam[opt] table params
-- @tparam[opt] table opts
-- @treturn table|nil out
-- @treturn table|nil err a `kumo.errors` object
function Client:try(op, params, opts)
  local ok, out = pcall(self.call, self, op, params, opts)
  if ok then return out end
  if errors.is(out) then return nil, out end
  error(out, 0)
end

--- Iterate over the pages of an operation (see `kumo.paginate`).
-- @tparam string op
-- @tparam[opt] table params
-- @tparam[opt] table opts `page_size`, `starting_token`, `max_pages`, `items`, call options
-- @treturn function iterator
function Client:paginate(op, params, opts)
  return require("kumo.paginate").pages(self, op, params, opts)
end

--- All the items of a paginated operation's result list, across every page.
-- @tparam string op
-- @tparam[opt] table params
-- @tparam[opt] table opts as for `paginate` (`items` is implied)
-- @treturn table list of items (e.g. every DBProxies element)
function Client:all(op, params, opts)
  local o = {}
  for k, v in pairs(opts or {}) do o[k] = v end
  local list = {}
  if o.query then
    -- as botocore's PageIterator.search: the expression applies to each
    -- page, and a list result is flattened into the items
    for r in self:paginate(op, params, o) do
      if type(r) == "table" and (r[1] ~= nil or next(r) == nil) then
        for _, v in ipairs(r) do list[#list + 1] = v end
      elseif r ~= nil then
        list[#list + 1] = r
      end
    end
    return list
  end
  o.items = true
  for item in self:paginate(op, params, o) do list[#list + 1] = item end
  return list
end

--- Wait for a resource state (see `kumo.waiter`).
-- @tparam string name the waiter name (`"DBInstanceAvailable"`)
-- @tparam table params the operation's parameters
-- @tparam[opt] table opts waiter options (`timeout`, `delay`, ...)
function Client:wait(name, params, opts)
  return require("kumo.waiter").wait(self, name, params, opts)
end

return client
