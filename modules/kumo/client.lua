--- kumo.client: one AWS service, called the way the API reference reads.
--
--     local rds = session:client("rds")
--     local out = rds:DescribeDBProxies{ DBProxyName = "orders-proxy" }
--     local out, err = rds:try("DescribeDBProxies", { DBProxyName = "x" })
--     for page in rds:paginate("DescribeDBProxies", {}) do ... end
--     rds:wait("DBInstanceAvailable", { DBInstanceIdentifier = "db" }, { timeout = 1800 })
--
-- Operation methods come from the model through `__index` (PascalCase names,
-- exactly as documented). A call runs in stages, one module each:
--
-- 1. prepare (kumo.call.prepare), once: options, validation, serialization
--    (an idempotency token filled in stays the same on every retry), URL;
-- 2. attempt (kumo.call.attempt): credentials → sign (unless the model says
--    the operation is unsigned) → send through `kumo.sched`;
-- 3. classify (kumo.call.classify): output, or an error object;
-- 4. retry decision (kumo.call.decide): the retry policy's delay or "give
--    up", expired credentials refreshed once.
--
-- Everything that depends only on the operation (model lookups, modelled
-- retryable errors, signed or not) is computed once per operation and kept
-- on the client.
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
local suggest = require "kumo.suggest"
local prepare = require "kumo.call.prepare"
local attempt = require "kumo.call.attempt"
local classify = require "kumo.call.classify"
local decide = require "kumo.call.decide"

local client = {}

local Client = {}
client.Client = Client

local concat, format = table.concat, string.format

--- Up to `n` names of `candidates` close to `name` (see kumo.suggest).
client.close_matches = suggest.close_matches

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

--- Is an operation sent unsigned? Its model says `authtype: none`, or its
-- `auth` list names only `smithy.api#noAuth` (STS AssumeRoleWithWebIdentity
-- and AssumeRoleWithSAML: the token or assertion is the proof), as botocore
-- reads them.
-- @tparam table op_model
-- @treturn boolean
function client.is_unsigned(op_model)
  if op_model.authtype == "none" then return true end
  local auth = op_model.auth
  if type(auth) == "table" and #auth > 0 then
    for _, a in ipairs(auth) do
      if a ~= "smithy.api#noAuth" then return false end
    end
    return true
  end
  return false
end

--- The per-operation entry (model, modelled retryable errors, unsigned or
-- not, endpoint context parameters or not), built once.
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
  entry = { name = op, model = op_model, modeled = modeled, unsigned = client.is_unsigned(op_model),
    -- does its model give the endpoint rule set parameters (Client:endpoint)?
    ep_context = endpoints.has_context(self.model, op_model) }
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

-- The services whose settings include the S3 ones (their rule sets have S3 builtIns).
local S3_SETTINGS = { s3 = true, s3control = true }

-- The arguments of kumo.endpoints.resolve for this client (built once).
local function endpoint_args(self)
  local args = self._endpoint_args
  if args then return args end
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
  local meta = self.metadata
  args = {
    meta = meta,
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
    account_id_endpoint_mode = s.getenv("AWS_ACCOUNT_ID_ENDPOINT_MODE")
      or (profile and profile.account_id_endpoint_mode),
    use_dualstack = setting(so.use_dualstack_endpoint, s.getenv("AWS_USE_DUALSTACK_ENDPOINT"),
      profile and profile.use_dualstack_endpoint),
  }
  if S3_SETTINGS[meta.kumoName or meta.endpointPrefix] then
    args.s3 = require("kumo.s3.settings").of(self)
  end
  self._endpoint_args = args
  return args
end

-- Resolve with `context` (nil: the client's endpoint), raising kumo errors.
local function resolve(self, context)
  local ok, res = pcall(function()
    local args = endpoint_args(self)
    args.context = context
    local okr, r = pcall(endpoints.resolve, args)
    args.context = nil
    if not okr then error(r, 0) end
    return r
  end)
  if not ok then
    if errors.is(res) then error(res, 0) end
    local msg = tostring(res)
    local prefix = (self.metadata.endpointPrefix or "") .. ": "
    if msg:sub(1, #prefix) == prefix then msg = msg:sub(#prefix + 1) end
    errors.raise{ kind = "usage", service = self.service_name, message = msg,
      code = msg:sub(1, #endpoints.NO_REGION) == endpoints.NO_REGION and "NoRegionError"
        or "InvalidEndpoint" }
  end
  if res.warning and not WARNED_REGIONS[res.warning] then  -- once per process
    WARNED_REGIONS[res.warning] = true
    local s = self.session
    local warn = s.warn or function(msg) io.stderr:write("kumo: warning: ", msg, "\n") end
    warn(self.service_name .. ": " .. res.warning)
  end
  return res
end

-- The static context parameters of the first operation (by name) that has
-- any, or nil: the client's endpoint for a rule set that cannot resolve
-- without an operation's (neptune-graph requires ApiType).
local function first_static_context(model)
  local names = {}
  for name, op in pairs(model.operations or {}) do
    if next(op.staticContextParams or {}) then names[#names + 1] = name end
  end
  if #names == 0 then return nil end
  table.sort(names)
  local ctx = {}
  for k, v in pairs(model.operations[names[1]].staticContextParams) do ctx[k] = v.value end
  return ctx
end

--- Resolve and return the endpoint of this client, or of one call.
-- Without an operation, the client's endpoint (resolved once; for a rule
-- set that needs an operation's parameters, the first such operation's).
-- With one whose model gives the rule set parameters (`staticContextParams`,
-- `contextParam` members, `operationContextParams`), the endpoint for
-- those parameters, as botocore resolves per operation: cached on the
-- client per distinct parameter set; other operations get the client's.
-- @tparam[opt] table entry the operation entry (`Client:operation`)
-- @tparam[opt] table params the call's input
-- @treturn table `{ url=, host=, signing_region=, signing_name=, source= }`
function Client:endpoint(entry, params)
  if entry and entry.ep_context then
    local okc, ctx = pcall(endpoints.operation_context, self.model, entry.model, params)
    if not okc then
      errors.raise{ kind = "validation", code = "ValidationError", service = self.service_name,
        operation = entry.name, message = format("%s: the endpoint's context parameters: %s",
          entry.name, tostring(ctx)) }
    end
    local key = endpoints.context_key(ctx)
    local cache = self._op_endpoints
    if not cache then cache = {} self._op_endpoints = cache end
    local ep = cache[key]
    if not ep then
      ep = resolve(self, ctx)
      cache[key] = ep
    end
    return ep
  end
  local ep = self._endpoint
  if ep then return ep end
  local ok, res = pcall(resolve, self, nil)
  if not ok then
    local ctx = first_static_context(self.model)
    if not ctx then error(res, 0) end
    res = resolve(self, ctx)
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

-- Run the hooks that watch attempts.
local function notify(hooks, info)
  for i = 1, #hooks do
    local ok, e = pcall(hooks[i], info)
    if not ok then io.stderr:write("kumo: on_attempt hook failed: ", tostring(e), "\n") end
  end
end

--- Call an operation; raise a `kumo.errors` object on failure.
-- The stages, each a module of its own: prepare (kumo.call.prepare, once)
-- → for each attempt: send (kumo.call.attempt) → classify
-- (kumo.call.classify) → retry decision (kumo.call.decide).
-- @tparam string op the operation name (`"DescribeDBProxies"`)
-- @tparam[opt] table params input members (PascalCase, as documented)
-- @tparam[opt] table opts call options (see the module doc)
-- @treturn table the output (plus `ResponseMetadata = { RequestId, HTTPStatusCode, RetryAttempts }`),
--   or the result of `opts.query`
function Client:call(op, params, opts)
  local p = prepare.call(self, self._ops[op] or self:operation(op), params, opts)
  local s = self.session
  local provider = not p.unsigned and s:credentials() or nil
  local long = p.policy.mode == "long"
  local hooks, clock = p.hooks, s.clock
  local t0 = clock()
  local state = {}
  local n = 0
  while true do
    n = n + 1
    local res, msg, code, key, sent_at = attempt.send(self, p, provider, long, n)
    local out, err = classify.response(self, p, n, res, msg, code)
    if out then
      decide.succeeded(p, state, res.status, key, sent_at)
      if #hooks > 0 then
        notify(hooks, { service = self.service_name, operation = op, attempt = n,
          status = res.status, elapsed = clock() - t0, retrying = false })
      end
      local query = p.opts.query
      if query then return require("kumo.jmespath").search(query, out) end
      return out
    end
    local elapsed = clock() - t0
    err.attempts, err.elapsed, state.elapsed = n, elapsed, elapsed
    local delay, sleep_anyway = decide.failed(p, state, n, err, res, provider, key, sent_at)
    if #hooks > 0 then
      local quota = p.policy.quota
      notify(hooks, { service = self.service_name, operation = op, attempt = n,
        status = res and res.status, code = err.code, error = err, delay = delay,
        retrying = delay ~= nil, elapsed = elapsed, quota = quota and quota.available })
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
