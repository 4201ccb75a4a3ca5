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
-- 4. the partition data: regional hosts, global endpoints (IAM,
--    Organizations) with their credential scope, regional STS
--    (`sts_regional_endpoints = legacy` maps botocore's 16 regions to
--    `sts.amazonaws.com`), FIPS / dual-stack variants.
--
-- Plain `http://` is accepted only on loopback (`localhost`, `127.0.0.0/8`,
-- `::1`) unless the caller opts in with `allow_http = true`.
-- @module kumo.endpoints
local endpoints = {}

local LEGACY_GLOBAL_STS = {}
for _, r in ipairs{ "ap-northeast-1", "ap-south-1", "ap-southeast-1", "ap-southeast-2",
  "aws-global", "ca-central-1", "eu-central-1", "eu-north-1", "eu-west-1", "eu-west-2",
  "eu-west-3", "sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2" } do
  LEGACY_GLOBAL_STS[r] = true
end

local data -- the partition data, loaded on first use

-- Expand the few regex forms the partition `regionRegex`es use (`^`, `$`,
-- `\-`, `\w`, `\d`, `+`, alternation groups) into a list of Lua patterns.
local function regex_to_patterns(re)
  local out = { "" }
  local i, n = 1, #re
  while i <= n do
    local c = re:sub(i, i)
    local piece
    if c == "(" then
      local close = re:find(")", i, true)
      local alts = {}
      for a in re:sub(i + 1, close - 1):gmatch("[^|]+") do alts[#alts + 1] = a end
      local new = {}
      for _, prefix in ipairs(out) do
        for _, a in ipairs(alts) do new[#new + 1] = prefix .. a:gsub("%p", "%%%0") end
      end
      out = new
      i = close + 1
    else
      if c == "\\" then
        local e = re:sub(i + 1, i + 1)
        piece = (e == "w" and "[%w_]") or (e == "d" and "%d") or (e == "s" and "%s")
          or ("%" .. e)
        i = i + 2
      elseif c == "^" or c == "$" or c == "+" or c == "*" then
        piece = c
        i = i + 1
      elseif c:match("%w") then
        piece = c
        i = i + 1
      else
        piece = "%" .. c
        i = i + 1
      end
      for k, prefix in ipairs(out) do out[k] = prefix .. piece end
    end
  end
  return out
end

--- Load (once) and return the partition data generated from botocore.
-- @treturn table `{ partitions = {...}, services = { [prefix] = { [partition] = {...} } } }`
function endpoints.data()
  if data then return data end
  local d = require("kumo.model").partitions()
  for _, p in ipairs(d.partitions) do
    p.region_set = {}
    for _, r in ipairs(p.regions or {}) do p.region_set[r] = true end
    p.patterns = regex_to_patterns(p.regionRegex or "^$")
  end
  data = d
  return d
end

--- The partition a region belongs to (the `aws` partition when none matches,
-- as botocore does).
-- @tparam string region
-- @treturn table the partition entry
function endpoints.partition(region)
  local d = endpoints.data()
  local parts = d.partitions
  for _, p in ipairs(parts) do
    if p.region_set[region] then return p end
  end
  for _, p in ipairs(parts) do
    for _, pat in ipairs(p.patterns) do
      if region:find(pat) then return p end
    end
    -- global pseudo-regions (`aws-global`, `aws-cn-global`)
    if region == p.partition .. "-global" then return p end
  end
  return parts[1]
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

local function expand(template, service, region, dns)
  return (template:gsub("{(%w+)}", { service = service, region = region, dnsSuffix = dns }))
end

local function variant_of(list, fips, dualstack)
  if not list then return nil end
  for _, v in ipairs(list) do
    local has_f, has_d = false, false
    for _, t in ipairs(v.tags or {}) do
      if t == "fips" then has_f = true elseif t == "dualstack" then has_d = true end
    end
    if has_f == fips and has_d == dualstack then return v end
  end
  return nil
end

--- Resolve an endpoint from the partition data.
-- @tparam table meta the service model's metadata (`endpointPrefix`, `signingName`)
-- @tparam string region
-- @tparam[opt] table opts `{ sts_regional_endpoints = "regional"|"legacy", use_fips =, use_dualstack = }`
-- @treturn table `{ url=, host=, signing_region=, signing_name=, partition= }`
function endpoints.from_partition(meta, region, opts)
  opts = opts or {}
  local prefix = meta.endpointPrefix
  local d = endpoints.data()
  local part = endpoints.partition(region)
  local svc = d.services[prefix] and d.services[prefix][part.partition] or {}
  local key = region
  if prefix == "sts" and opts.sts_regional_endpoints == "legacy" and LEGACY_GLOBAL_STS[region] then
    key = "aws-global"
  end
  if svc.isRegionalized == false and svc.partitionEndpoint then key = svc.partitionEndpoint end
  if region == part.partition .. "-global" and svc.partitionEndpoint then key = svc.partitionEndpoint end
  local ep = svc.endpoints and svc.endpoints[key] or {}
  local sdef = svc.defaults or {}
  local dns = part.dnsSuffix
  local hostname = ep.hostname
  local fips, dual = opts.use_fips and true or false, opts.use_dualstack and true or false
  if fips or dual then
    -- The endpoint's own variant, else the partition's variant template, else
    -- the rule sets' generic form from the partition outputs
    -- (`{service}[-fips].{region}.{dnsSuffix | dualStackDnsSuffix}`).
    -- A global endpoint without a variant of its own has no such host.
    local out = part.outputs or {}
    local global = key ~= region
    local v = variant_of(ep.variants, fips, dual) or variant_of(sdef.variants, fips, dual)
    local pv = not global and variant_of(part.defaults and part.defaults.variants, fips, dual)
    local what = fips and (dual and "FIPS dual-stack" or "FIPS") or "dual-stack"
    if v and v.hostname then
      hostname = v.hostname
    elseif pv then
      dns = pv.dnsSuffix or dns
      hostname = expand(pv.hostname, prefix, region, dns)
    elseif global or (fips and not out.supportsFIPS) or (dual and not out.supportsDualStack) then
      error(string.format("%s: no %s endpoint known in region %s", prefix, what, region), 0)
    else
      dns = dual and (out.dualStackDnsSuffix or dns) or (out.dnsSuffix or dns)
      hostname = prefix .. (fips and "-fips." or ".") .. region .. "." .. dns
    end
  end
  if not hostname then
    hostname = expand(sdef.hostname or part.defaults.hostname, prefix, key, dns)
  else
    hostname = expand(hostname, prefix, key, dns)
  end
  local scope = ep.credentialScope or sdef.credentialScope or {}
  local signing_region = scope.region or region
  if signing_region == "aws-global" or signing_region == part.partition .. "-global" then
    signing_region = part.outputs and part.outputs.implicitGlobalRegion or "us-east-1"
  end
  return {
    url = "https://" .. hostname, scheme = "https", host = hostname, authority = hostname,
    path = "", signing_region = signing_region,
    signing_name = scope.service or meta.signingName or prefix,
    partition = part.partition,
  }
end

local function truthy(v)
  if type(v) == "boolean" then return v end
  return v ~= nil and tostring(v):lower() == "true"
end

--- Resolve a client's endpoint.
-- @tparam table args
--   `meta` (service metadata), `region`, `client_url`, `session_url`,
--   `getenv` (function), `profile` (merged profile table or nil),
--   `services` (the profile's services section, a table or nil),
--   `allow_http`, `ignore_configured` (explicit option, or nil),
--   `sts_regional_endpoints`, `use_fips`, `use_dualstack`
-- @treturn table `{ url=, host=, authority=, path=, scheme=, signing_region=, signing_name=, source= }`
function endpoints.resolve(args)
  local meta = args.meta
  local getenv = args.getenv or os.getenv
  local profile = args.profile or {}
  local region = args.region
  local sid = endpoints.snake_id(meta.serviceId or meta.endpointPrefix)
  local url, source = args.client_url, "the client's endpoint_url option"
  if not url then url, source = args.session_url, "aws.session{ endpoint_url }" end
  if not url then
    local ignore = args.ignore_configured
    if ignore == nil then
      local e = getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
      if e ~= nil and e ~= "" then ignore = truthy(e)
      else ignore = truthy(profile.ignore_configured_endpoint_urls) end
    end
    if not ignore then
      local name = "AWS_ENDPOINT_URL_" .. sid:upper()
      url = getenv(name)
      if url == "" then url = nil end
      source = name
      if not url then
        url, source = getenv("AWS_ENDPOINT_URL"), "AWS_ENDPOINT_URL"
        if url == "" then url = nil end
      end
      if not url and args.services then
        local s = args.services[sid]
        url = type(s) == "table" and s.endpoint_url or nil
        source = string.format("services section, %s = endpoint_url", sid)
      end
      if not url and profile.endpoint_url then
        url, source = profile.endpoint_url, "profile endpoint_url"
      end
    end
  end
  if url then
    local ep = endpoints.parse_url(url, source, args.allow_http)
    ep.source = source
    -- A custom endpoint signs with the client's region (botocore's rule sets
    -- do the same); global services without a region use their scope's.
    if region then
      ep.signing_region = region
    else
      local ok, p = pcall(endpoints.from_partition, meta, "us-east-1", args)
      ep.signing_region = ok and p.signing_region or "us-east-1"
    end
    ep.signing_name = meta.signingName or meta.endpointPrefix
    return ep
  end
  if not region then
    -- Global services (IAM, Organizations) need no region.
    local d = endpoints.data()
    local svc = d.services[meta.endpointPrefix]
    local aws = svc and svc.aws
    if aws and aws.isRegionalized == false then region = "aws-global"
    else
      error(string.format("%s: no region: pass aws.session{ region = \"...\" }, set AWS_REGION, "
        .. "or set region in the profile", meta.endpointPrefix), 0)
    end
  end
  local ep = endpoints.from_partition(meta, region, args)
  ep.source = "partition " .. ep.partition
  return ep
end

return endpoints
