--- kumo.endpoints: which URL a client talks to, and how it signs.
--
-- Order (botocore's, `args.py` + `ConfiguredEndpointProvider`), first wins:
--
-- 1. `endpoint_url` given to `session:client(name, {endpoint_url=})`;
-- 2. `endpoint_url` given to `aws.session{}`;
-- 3. unless configured endpoints are ignored (`ignore_configured_endpoint_urls`
--    option, `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` or the profile key):
--    `AWS_ENDPOINT_URL_<SERVICE_ID>` (service id upper snake case, e.g.
--    `AWS_ENDPOINT_URL_SECRETS_MANAGER`), `AWS_ENDPOINT_URL`, the profile's
--    `services` section (`secrets_manager = \n endpoint_url = ...`), the
--    profile's `endpoint_url`;
-- 4. the service's endpoint rule set (kumo.endpoint_rules over
--    `models/<service>.json.z`, which carries it, and `_partitions.json`),
--    with botocore's builtIns: `AWS::Region`, `AWS::UseFIPS`,
--    `AWS::UseDualStack`, `AWS::STS::UseGlobalEndpoint`, the S3 builtIns
--    (`endpoints.s3_builtins`), `AWS::Auth::AccountIdEndpointMode`
--    (`sts_regional_endpoints = legacy` and one of botocore's 16 legacy
--    regions) and `SDK::Endpoint` (an URL of steps 1-3, which the rules
--    then return as it is). The rule's `authSchemes` give the signing
--    region and name.
--
-- Before the rules, botocore's client creation still consults
-- `endpoints.json` (its ClientEndpointBridge); kumo does the same with
-- `_endpoints.json` for the three things that step decides: the region of a
-- client without one (the service's `partitionEndpoint`, e.g. `aws-global`
-- for IAM; otherwise "no region"), refusing a FIPS / dual-stack variant the
-- partition data does not know (botocore's EndpointVariantError, e.g.
-- dual-stack in `aws-iso-e`), and the signing scope when the rule names none.
--
-- Plain `http://` is accepted only on loopback (`localhost`, `127.0.0.0/8`,
-- `::1`) unless the caller opts in with `allow_http = true`.
-- @module kumo.endpoints
local endpoints = {}

local model = require "kumo.model"
local rules = require "kumo.endpoint_rules"
local regex = require "kumo.regex"
local suggest = require "kumo.suggest"

local format = string.format

-- botocore's LEGACY_GLOBAL_STS_REGIONS (args.py): with
-- `sts_regional_endpoints = legacy` these sign for us-east-1 at sts.amazonaws.com.
local LEGACY_GLOBAL_STS = {}
for _, r in ipairs{ "ap-northeast-1", "ap-south-1", "ap-southeast-1", "ap-southeast-2",
  "aws-global", "ca-central-1", "eu-central-1", "eu-north-1", "eu-west-1", "eu-west-2",
  "eu-west-3", "sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2" } do
  LEGACY_GLOBAL_STS[r] = true
end

-- Partitions botocore's legacy resolver skips for dual-stack (regions.py).
local NO_LEGACY_DUALSTACK = { ["aws-iso"] = true, ["aws-iso-b"] = true }

--- Is `region` a region name botocore accepts (`validate_region_name`: a
-- host label of 1 to 63 letters, digits and hyphens, not all digits)?
-- @tparam string region
-- @treturn boolean
function endpoints.valid_region(region)
  return type(region) == "string" and rules.is_host_label(region) and not region:find("^%d+$")
end

-- `_endpoints.json`, its partitions given region sets and compiled regexes
-- (once per load: kumo.model keeps the table until model.reset()).
local function legacy_data()
  local d = model.endpoint_names()
  if not d.prepared then
    for _, p in ipairs(d.partitions) do
      p.region_set = {}
      for _, r in ipairs(p.regions or {}) do p.region_set[r] = true end
      p.re = regex.compile(p.regionRegex or "^$")
    end
    d.prepared = true
  end
  return d
end

local function has(list, tags)
  for _, t in ipairs(list or {}) do if t == tags then return true end end
  return false
end

--- botocore's client-creation step (ClientEndpointBridge over
-- `endpoints.json`), reduced to what still matters once rule sets pick the
-- host: the endpoint name (the region, or the service's partition endpoint
-- for a client without region or a non-regional service) and its
-- credential scope. Raises when botocore would (no region for a regional
-- service; a FIPS / dual-stack variant it does not know).
-- @tparam string prefix the service's endpoint prefix
-- @tparam string|nil region
-- @tparam boolean fips
-- @tparam boolean dual
-- @treturn string the endpoint name
-- @treturn table the credential scope (`region`, `service`), possibly empty
function endpoints.legacy_endpoint(prefix, region, fips, dual)
  local d = legacy_data()
  local tags = (dual and fips and "dualstack,fips") or (dual and "dualstack") or (fips and "fips")
  local services = d.services[prefix] or {}
  local function in_partition(p, force)
    local svc = services[p.partition] or {}
    local eps = svc.endpoints or {}
    local name = region
    if name == nil then
      name = svc.partitionEndpoint
      if not name then
        error(format("%s: no region: pass aws.session{ region = \"...\" }, set AWS_REGION, "
          .. "or set region in the profile", prefix), 0)
      end
    end
    if eps[name] == nil then
      if not (force or p.region_set[name] or (p.re and regex.test(p.re, name))) then return nil end
      if svc.partitionEndpoint and svc.isRegionalized == false then name = svc.partitionEndpoint end
    end
    local ep = eps[name] or {}
    if tags and not (has(ep.variants, tags) or has(svc.variants, tags) or has(p.variants, tags)) then
      local what = fips and (dual and "FIPS dual-stack" or "FIPS") or "dual-stack"
      error(format("%s: no %s endpoint in region %s: the partition %s has none (botocore "
        .. "refuses it too, EndpointVariantError)", prefix, what, name, p.partition), 0)
    end
    return name, ep.credentialScope or svc.credentialScope or {}
  end
  for _, p in ipairs(d.partitions) do
    if not (dual and NO_LEGACY_DUALSTACK[p.partition]) then
      local name, scope = in_partition(p)
      if name then return name, scope end
    end
  end
  -- botocore falls back to the aws partition for a region no partition knows
  for _, p in ipairs(d.partitions) do
    if p.partition == "aws" then return in_partition(p, true) end
  end
  return region, {}
end

local LOOPBACK = { localhost = true, ["::1"] = true, ["[::1]"] = true }

--- Is `host` a loopback name or address?
-- @tparam string host
-- @treturn boolean
function endpoints.is_loopback(host)
  host = host:lower()
  if LOOPBACK[host] or host:match("%.localhost$") then return true end
  return host:match("^127%.%d+%.%d+%.%d+$") ~= nil
end

--- Split and check an endpoint URL.
-- @tparam string url
-- @tparam string source where it came from, for messages
-- @tparam boolean allow_http
-- @treturn table `{ url=, scheme=, host=, authority=, path= }`
-- @raise a message naming the source and the fix
function endpoints.parse_url(url, source, allow_http)
  if type(url) ~= "string" then
    error(string.format("endpoint_url (from %s) must be a string, got %s", source, type(url)), 0)
  end
  local scheme, authority, path = url:match("^(%a[%w+.-]*)://([^/?#]+)([^?#]*)$")
  if not scheme then
    error(string.format("endpoint_url %q (from %s) is not a URL: use the form "
      .. "https://host[:port][/path]", url, source), 0)
  end
  scheme = scheme:lower()
  local host = authority:match("^%[([^%]]+)%]") or authority:match("^[^:]+")
  if scheme ~= "https" and scheme ~= "http" then
    error(string.format("endpoint_url %q (from %s): scheme %q is not supported; use https://",
      url, source, scheme), 0)
  end
  if scheme == "http" and not allow_http and not endpoints.is_loopback(host) then
    error(string.format("endpoint_url %q (from %s) uses plain http:// on a non-loopback host, "
      .. "so requests and their signatures would travel unencrypted; use https://, or opt in "
      .. "with aws.session{ allow_http = true }", url, source), 0)
  end
  path = path:gsub("/+$", "")
  return { url = scheme .. "://" .. authority .. path, scheme = scheme, host = host,
    authority = authority, path = path }
end

--- The service id in snake case, as the override settings spell it
-- (`"Secrets Manager"` → `secrets_manager`).
-- @tparam string service_id the model's `serviceId`
-- @treturn string
function endpoints.snake_id(service_id)
  return (service_id:lower():gsub("[%s%-]+", "_"))
end

-- The auth schemes botocore can sign with when the AWS CRT is not
-- installed (auth.py's AUTH_TYPE_MAPS, names without the `sig` prefix).
-- `v4a` (sigv4a) is not among them, nor does kumo sign it: botocore then
-- picks the next scheme the endpoint lists (sigv4 in the AWS rule sets).
local SIGNERS = {}
for _, n in ipairs{ "v2", "v3", "v3https", "s3", "s3-query", "s3-presign-post",
  "s3v4-presign-post", "v4-s3express", "v4-s3express-query", "v4-s3express-presign-post",
  "bearer", "v4", "v4-query", "s3v4", "s3v4-query" } do
  SIGNERS[n] = true
end

--- The signing scope an endpoint rule names (botocore's
-- `auth_schemes_to_signing_ctx`): the first scheme botocore can sign with,
-- its `signingRegion` (or `signingRegionSet` joined by commas) and
-- `signingName`.
-- @tparam table|nil schemes the endpoint's `properties.authSchemes`
-- @treturn table|nil `{ name=, region=, service= }`
function endpoints.auth_scheme(schemes)
  if type(schemes) ~= "table" or #schemes == 0 then return nil end
  for _, s in ipairs(schemes) do
    local name = tostring(s.name or ""):gsub("^sig", "")
    if SIGNERS[name] then
      local region = s.signingRegion
      if region == nil and type(s.signingRegionSet) == "table" and #s.signingRegionSet > 0 then
        region = table.concat(s.signingRegionSet, ",")
      end
      return { name = name, region = region, service = s.signingName }
    end
  end
  local names = {}
  for _, s in ipairs(schemes) do names[#names + 1] = tostring(s.name) end
  error("no supported signature version among the endpoint's auth schemes: "
    .. table.concat(names, ", "), 0)
end

--- Evaluate the service's endpoint rule set with botocore's builtIns.
-- @tparam table meta the service model's metadata (`kumoName`, `endpointPrefix`, `signingName`)
-- @tparam table params `{ Region=, UseFIPS=, UseDualStack=, Endpoint=, UseGlobalEndpoint=,
--   S3= }` by builtIn meaning (mapped to each rule set's own parameter names;
--   `S3` the S3 builtIns of `endpoints.s3_builtins`), and `Context` (an
--   operation's parameters by rule-set name, `endpoints.operation_context`),
--   which win over the builtIns as botocore's do
-- @treturn table the rule's endpoint `{ url=, properties=, headers= }`
function endpoints.from_rules(meta, params)
  local name = meta.kumoName or meta.endpointPrefix
  local ruleset = model.endpoint_ruleset(name)
  local builtins = {
    ["AWS::Region"] = params.Region, ["AWS::UseFIPS"] = params.UseFIPS,
    ["AWS::UseDualStack"] = params.UseDualStack, ["SDK::Endpoint"] = params.Endpoint,
    ["AWS::STS::UseGlobalEndpoint"] = params.UseGlobalEndpoint,
    ["AWS::Auth::AccountIdEndpointMode"] = params.AccountIdEndpointMode,
  }
  local s3 = params.S3
  if s3 then
    -- botocore's compute_endpoint_resolver_builtin_defaults (args.py)
    builtins["AWS::S3::UseGlobalEndpoint"] = s3.UseGlobalEndpoint
    builtins["AWS::S3::Accelerate"] = s3.Accelerate
    builtins["AWS::S3::ForcePathStyle"] = s3.ForcePathStyle
    builtins["AWS::S3::UseArnRegion"] = s3.UseArnRegion
    builtins["AWS::S3Control::UseArnRegion"] = s3.S3ControlUseArnRegion
    builtins["AWS::S3::DisableMultiRegionAccessPoints"] = s3.DisableMultiRegionAccessPoints
  end
  local input = {}
  local context = params.Context or {}
  for pname, def in pairs(ruleset.parameters or {}) do
    -- botocore's _get_provider_params: the operation's context first, then builtIns
    local v = context[pname]
    if v == nil and def.builtIn ~= nil then v = builtins[def.builtIn] end
    input[pname] = v
  end
  local ep, msg = rules.resolve(ruleset, input, model.partitions())
  if not ep then
    error(format("%s: endpoint rules (region %s): %s", meta.endpointPrefix or name,
      tostring(params.Region or "none"), msg), 0)
  end
  return ep
end

local function truthy(v)
  if type(v) == "boolean" then return v end
  return v ~= nil and tostring(v):lower() == "true"
end

-- The configured endpoint URL (steps 1-3 of the order above) and where it
-- came from, or nil.
local function configured_url(args, sid)
  local getenv = args.getenv or os.getenv
  local profile = args.profile or {}
  if args.client_url then return args.client_url, "the client's endpoint_url option" end
  if args.session_url then return args.session_url, "aws.session{ endpoint_url }" end
  local ignore = args.ignore_configured
  if ignore == nil then
    local e = getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
    if e ~= nil and e ~= "" then ignore = truthy(e)
    else ignore = truthy(profile.ignore_configured_endpoint_urls) end
  end
  if ignore then return nil end
  local name = "AWS_ENDPOINT_URL_" .. sid:upper()
  local url = getenv(name)
  if url ~= nil and url ~= "" then return url, name end
  url = getenv("AWS_ENDPOINT_URL")
  if url ~= nil and url ~= "" then return url, "AWS_ENDPOINT_URL" end
  local s = args.services and args.services[sid]
  if type(s) == "table" and s.endpoint_url then
    return s.endpoint_url, format("services section, %s = endpoint_url", sid)
  end
  if profile.endpoint_url then return profile.endpoint_url, "profile endpoint_url" end
  return nil
end

--- The start of the refusal when an endpoint URL is set but no region
-- (botocore's NoRegionError message).
endpoints.NO_REGION = "You must specify a region."

local jmespath -- kumo.jmespath, loaded for the first operationContextParams

-- op model -> false, or true when the operation has context parameters
local HAS_CONTEXT = setmetatable({}, { __mode = "k" })

--- Does an operation give its endpoint rule set parameters of its own
-- (`staticContextParams`, input members' `contextParam`,
-- `operationContextParams`)? Decided once per operation model.
-- @tparam table service the service model
-- @tparam table op the operation model
-- @treturn boolean
function endpoints.has_context(service, op)
  local v = HAS_CONTEXT[op]
  if v ~= nil then return v end
  v = next(op.staticContextParams or {}) ~= nil or next(op.operationContextParams or {}) ~= nil
  local shape = op.input and service.shapes[op.input.shape]
  for _, ref in pairs(not v and shape and shape.members or {}) do
    if ref.contextParam then v = true break end
  end
  HAS_CONTEXT[op] = v
  return v
end

--- An operation's rule-set parameters for one call, in botocore's order
-- (`EndpointRulesetResolver._resolve_param_from_context`): the operation's
-- `staticContextParams`, then the input members marked `contextParam`,
-- then `operationContextParams` (a JMESPath expression over the input).
-- @tparam table service the service model
-- @tparam table op the operation model
-- @tparam[opt] table params the call's input
-- @treturn table|nil `{ name = value }`, nil when the operation has none
function endpoints.operation_context(service, op, params)
  if not endpoints.has_context(service, op) then return nil end
  params = params or {}
  local ctx = {}
  for name, v in pairs(op.staticContextParams or {}) do ctx[name] = v.value end
  local shape = op.input and service.shapes[op.input.shape]
  for member, ref in pairs(shape and shape.members or {}) do
    local cp = ref.contextParam
    if cp and ctx[cp.name] == nil and params[member] ~= nil then ctx[cp.name] = params[member] end
  end
  for name, spec in pairs(op.operationContextParams or {}) do
    if ctx[name] == nil then
      jmespath = jmespath or require "kumo.jmespath"
      local v = jmespath.search(spec.path, params)
      if v ~= nil then ctx[name] = v end
    end
  end
  return ctx
end

--- A key naming a context (equal contexts, equal keys): the cache key of
-- per-operation endpoints.
-- @tparam table ctx
-- @treturn string
function endpoints.context_key(ctx)
  local names = {}
  for k in pairs(ctx) do names[#names + 1] = k end
  table.sort(names)
  local parts = {}
  for i, k in ipairs(names) do
    local v = ctx[k]
    if type(v) == "table" then
      local items = {}
      for j, x in ipairs(v) do items[j] = tostring(x) end
      v = "[" .. table.concat(items, "\0") .. "]"
    end
    parts[i] = k .. "=" .. type(ctx[k]) .. ":" .. tostring(v)
  end
  return table.concat(parts, "\n")
end

--- botocore's S3 builtIns from the S3 settings (args.py,
-- `compute_endpoint_resolver_builtin_defaults` and `_should_force_s3_global`).
-- @tparam table st the S3 settings (kumo.s3.settings: `us_east_1_regional_endpoint`,
--   `use_accelerate_endpoint`, `addressing_style`, `use_arn_region`,
--   `s3_disable_multiregion_access_points`)
-- @tparam string|nil region the client's region
-- @tparam string|nil url the configured endpoint URL, if any
-- @treturn table `{ UseGlobalEndpoint=, Accelerate=, ForcePathStyle=, UseArnRegion=,
--   S3ControlUseArnRegion=, DisableMultiRegionAccessPoints= }`
function endpoints.s3_builtins(st, region, url)
  local force_path
  if st.use_accelerate_endpoint then
    force_path = false
  elseif url and not (url:find("^%a+://s3%-accelerate%.") and url:find("amazonaws%.com/?$")) then
    force_path = st.addressing_style ~= "virtual"
  else
    force_path = st.addressing_style == "path"
  end
  return {
    -- legacy (botocore's default): us-east-1 and no region use s3.amazonaws.com
    UseGlobalEndpoint = (region == "us-east-1" or region == nil)
      and st.us_east_1_regional_endpoint ~= "regional",
    Accelerate = st.use_accelerate_endpoint or false,
    ForcePathStyle = force_path,
    UseArnRegion = st.use_arn_region ~= false,
    S3ControlUseArnRegion = st.use_arn_region == true,
    DisableMultiRegionAccessPoints = st.s3_disable_multiregion_access_points or false,
  }
end

--- Resolve a client's endpoint.
-- @tparam table args
--   `meta` (service metadata), `region`, `client_url`, `session_url`,
--   `getenv` (function), `profile` (merged profile table or nil),
--   `services` (the profile's services section, a table or nil),
--   `allow_http`, `ignore_configured` (explicit option, or nil),
--   `sts_regional_endpoints` (`regional` (default) or `legacy`), `use_fips`, `use_dualstack`,
--   `account_id_endpoint_mode` (`preferred` (default), `disabled`, `required`: the
--   AWS::Auth::AccountIdEndpointMode builtIn; kumo sets no AWS::Auth::AccountId,
--   so a table ARN's account picks DynamoDB's account endpoint, not the credentials'),
--   `s3` (the S3 settings, kumo.s3.settings; nil: botocore's defaults for
--   a service whose rule set has S3 builtIns), `context` (one operation's
--   rule-set parameters, `endpoints.operation_context`; nil: the client's)
-- @treturn table `{ url=, host=, authority=, path=, scheme=, signing_region=,
--   signing_name=, partition=, source=, headers= (the rule's, `{ name = { value, ... } }`),
--   warning= (a region the partition data does not list, or nil) }`
-- @raise a message naming the service, the region and the problem (a
--   malformed region, no region, a variant botocore refuses, the rule
--   set's own error)
function endpoints.resolve(args)
  local meta = args.meta
  local prefix = meta.endpointPrefix
  local region = args.region
  local fips, dual = args.use_fips and true or false, args.use_dualstack and true or false
  if region ~= nil then
    if not endpoints.valid_region(region) then
      error(format("%s: region %q is not a valid region name (letters, digits and hyphens, "
        .. "e.g. us-east-1)", prefix, tostring(region)), 0)
    end
    -- botocore turns the pseudo regions `fips-us-east-1` / `us-east-1-fips`
    -- into the region with FIPS on
    local plain = region:gsub("fips%-", ""):gsub("%-fips", "")
    if plain ~= region then region, fips = plain, true end
  end
  local sts_mode = args.sts_regional_endpoints
  if sts_mode == nil or sts_mode == "" then sts_mode = "regional" end
  if sts_mode ~= "regional" and sts_mode ~= "legacy" then
    error(format("%s: sts_regional_endpoints = %q: use \"regional\" or \"legacy\"", prefix,
      tostring(sts_mode)), 0)
  end

  local id_mode = args.account_id_endpoint_mode
  if id_mode == nil or id_mode == "" then id_mode = "preferred" end  -- botocore's default
  if id_mode ~= "preferred" and id_mode ~= "disabled" and id_mode ~= "required" then
    error(format("%s: account_id_endpoint_mode = %q: use \"preferred\", \"disabled\" or "
      .. "\"required\"", prefix, tostring(id_mode)), 0)
  end

  local url, source = configured_url(args, endpoints.snake_id(meta.serviceId or prefix))
  local parsed
  if url then parsed = endpoints.parse_url(url, source, args.allow_http) end
  -- botocore's client creation: the endpoint name and scope (and its refusals)
  local name, scope
  if parsed then
    name, scope = region, {}
  else
    name, scope = endpoints.legacy_endpoint(prefix, region, fips, dual)
  end
  -- a client without region (and STS, which botocore special-cases) gives
  -- the rules the endpoint name of the step above
  local rule_region = (region == nil or prefix == "sts") and name or region
  local ep = endpoints.from_rules(meta, {
    Context = args.context,
    AccountIdEndpointMode = id_mode,
    S3 = endpoints.s3_builtins(args.s3 or {}, region, url),
    Region = rule_region,
    -- an endpoint URL cannot be combined with the variants: botocore turns them off
    UseFIPS = fips and not parsed, UseDualStack = dual and not parsed,
    Endpoint = url,
    UseGlobalEndpoint = sts_mode == "legacy" and LEGACY_GLOBAL_STS[rule_region] == true,
  })
  -- the rules return a configured URL as given; kumo keeps its checks on it
  local result = endpoints.parse_url(ep.url, source or "the endpoint rule set",
    parsed and args.allow_http or not parsed)
  local auth = endpoints.auth_scheme(ep.properties and ep.properties.authSchemes)
  result.signing_region = auth and auth.region or scope.region or name
  result.signing_name = auth and auth.service or scope.service or meta.signingName or prefix
  if result.signing_region == nil then
    -- an endpoint URL and no region: botocore refuses (NoRegionError, "You
    -- must specify a region."), at client creation or when signing; so does
    -- kumo rather than guess a region the server may not expect
    error(format("%s: %s (an endpoint URL is set, from %s, but no region): give the "
      .. "session or client a region, or set AWS_REGION or the profile's region", prefix,
      endpoints.NO_REGION, source), 0)
  end
  result.partition = rules.functions["aws.partition"](model.partitions(), rule_region).name
  result.source = source or format("endpoint rule set of %s (partition %s)",
    meta.kumoName or prefix, result.partition)
  result.headers = ep.headers
  if not parsed and region ~= nil then result.warning = endpoints.region_warning(region) end
  return result
end

--- A warning for a region the partition data does not list, with close
-- matches: a typo, or a region newer than the shipped models (whose
-- endpoint the rules build all the same, as botocore does). nil when listed.
-- @tparam string region
-- @treturn string|nil
function endpoints.region_warning(region)
  local known = {}
  for _, p in ipairs(model.partitions().partitions) do
    if p.regions and p.regions[region] ~= nil then return nil end
    for r in pairs(p.regions or {}) do known[#known + 1] = r end
  end
  local near = suggest.close_matches(region, known, 3)
  return format("region %q is not in kumo's partition data%s; its endpoint is built all the "
    .. "same: a region newer than the models works, a misspelt one fails when its host does "
    .. "not resolve", region,
    #near > 0 and (" (did you mean " .. table.concat(near, ", ") .. "?)") or "")
end

return endpoints
