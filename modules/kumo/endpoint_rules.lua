--- kumo.endpoint_rules: a generic evaluator of Smithy endpoint rule sets
-- (`endpoint-rule-set-1.json`), mirroring botocore's `endpoint_provider.py`
-- so that kumo and botocore pick the same URL for the same parameters.
--
-- A rule set has `parameters` (type, `default`, `required`, `builtIn`) and
-- `rules`, evaluated in order; the first rule whose conditions all hold
-- decides. A rule is an `endpoint` (url, properties, headers), an `error`
-- (a message) or a `tree` (sub-rules; if none decides, evaluation goes on
-- after the tree, as botocore does). A condition is a function call
-- `{ fn =, argv = {...}, assign = }`; it fails when it returns false or
-- nothing. `assign` binds its value for the rest of the rule and its
-- sub-rules (never across sibling rules). Strings with `{Name}` or
-- `{Name#attr}` are templates.
--
-- AWS-specific knowledge (builtIns, overrides, how authSchemes become a
-- signing scope) lives in kumo.endpoints; this module knows only the rule
-- language, its standard library and the `aws.*` functions over the
-- partition data it is given.
-- @module kumo.endpoint_rules
local M = {}

local regex = require "kumo.regex"

local format, concat = string.format, table.concat

-- Raised inside evaluation; `resolve` turns it into `nil, message`.
local Failure = {}
local function fail(fmt, ...)
  error(setmetatable({ message = format(fmt, ...) }, Failure), 0)
end

-- botocore formats values into templates and messages with Python's str().
local function pystr(v)
  if v == true then return "True" elseif v == false then return "False" end
  if v == nil then return "None" end
  return tostring(v)
end

-- Python truthiness, for `not` (botocore applies Python's `not`).
local function pytruthy(v)
  if v == nil or v == false or v == "" or v == 0 then return false end
  if type(v) == "table" then return next(v) ~= nil end
  return true
end

local function typename(v)
  if type(v) == "boolean" then return "bool" elseif type(v) == "string" then return "str" end
  if v == nil then return "NoneType" end
  return type(v)
end

---------------------------------------------------------------------------
-- Helpers of the standard library
---------------------------------------------------------------------------

-- RFC 1123 host label: 1-63 of [A-Za-z0-9-], not starting or ending with '-'.
local function host_label(s)
  return #s >= 1 and #s <= 63 and s:find("^[%w%-]+$") ~= nil
    and s:sub(1, 1) ~= "-" and s:sub(-1) ~= "-"
end

local function is_ipv4(s)
  local a, b, c, d = s:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  return a ~= nil and #a <= 3 and #b <= 3 and #c <= 3 and #d <= 3
end

-- RFC 3986 IPv6address (botocore's IPV6_PAT), with an optional zone id.
local function is_ipv6(s)
  local addr, zone = s:match("^([^%%]*)(%%?.*)$")
  if zone ~= "" then
    zone = zone:gsub("^%%25", "%%", 1)
    local rest = zone:sub(2)
    if rest == "" then return false end
    local i = 1
    while i <= #rest do
      if rest:sub(i, i) == "%" then
        if not rest:sub(i + 1, i + 2):find("^%x%x$") then return false end
        i = i + 3
      elseif rest:sub(i, i):find("^[%w%._!~%-]$") then
        i = i + 1
      else
        return false
      end
    end
  end
  local function groups(part)
    if part == "" then return 0 end
    local n, list = 0, {}
    for g in (part .. ":"):gmatch("([^:]*):") do list[#list + 1] = g end
    for k, g in ipairs(list) do
      if k == #list and is_ipv4(g) then
        n = n + 2
      elseif g:find("^%x%x?%x?%x?$") then
        n = n + 1
      else
        return nil
      end
    end
    return n
  end
  local l, r = addr:match("^(.-)::(.*)$")
  if l then
    if r:find("::", 1, true) then return false end
    local nl, nr = groups(l), groups(r)
    if not nl or not nr then return false end
    -- an IPv4 tail is only allowed on the right side
    if l ~= "" and is_ipv4(l:match("[^:]*$")) then return false end
    return nl + nr <= 7
  end
  return groups(addr) == 8
end

-- Python's urllib.parse.quote(s, safe) for safe "" and "/": UTF-8 bytes,
-- upper-case hex, as kumo.protocol.wire percent-encodes every URL.
local urlencode = require("kumo.protocol.wire").urlencode

-- botocore.utils.remove_dot_segments (RFC 3986 5.2.4, collapsing '//').
local function remove_dot_segments(url)
  if url == "" then return "" end
  local out = {}
  for x in (url .. "/"):gmatch("([^/]*)/") do
    if x ~= "" and x ~= "." then
      if x == ".." then
        out[#out] = nil
      else
        out[#out + 1] = x
      end
    end
  end
  local first = url:sub(1, 1) == "/" and "/" or ""
  local last = (url:sub(-1) == "/" and #out > 0) and "/" or ""
  return first .. concat(out, "/") .. last
end

-- The parts of a URL as Python's urlparse gives them (enough of it for
-- endpoint URLs): scheme, netloc, path (without ;params), query.
local function urlparse(s)
  local scheme, rest = s:match("^(%a[%w+%-.]*):(.*)$")
  if not scheme then scheme, rest = "", s end
  rest = rest:gsub("#.*$", "")
  local query = rest:match("%?(.*)$") or ""
  rest = rest:gsub("%?.*$", "")
  local netloc = ""
  if rest:sub(1, 2) == "//" then
    netloc = rest:match("^//([^/]*)")
    rest = rest:sub(3 + #netloc)
  end
  -- urlparse (not urlsplit) moves ';params' of the last segment out of path
  local head, last = rest:match("^(.*/)([^/]*)$")
  if not head then head, last = "", rest end
  last = last:gsub(";.*$", "")
  return scheme:lower(), netloc, head .. last, query
end

-- The host of a netloc as urlparse's `.hostname`, and whether its port is valid.
local function host_port(netloc)
  local hostport = netloc:match("@([^@]*)$") or netloc
  local host, port
  if hostport:sub(1, 1) == "[" then
    host, port = hostport:match("^%[([^%]]*)%](.*)$")
    if not host then return nil, false end
  else
    host, port = hostport:match("^([^:]*)(.*)$")
  end
  port = port:gsub("^:", "", 1)
  if port ~= "" then
    local n = port:match("^%d+$") and tonumber(port)
    if not n or n > 65535 then return host:lower(), false end
  end
  return host:lower(), true
end

---------------------------------------------------------------------------
-- The standard library (names as the rule sets spell them)
---------------------------------------------------------------------------

--- The rule-set functions: `fns[name](partitions, ...)` with already
-- resolved arguments. `partitions` is the partition data given to `resolve`.
M.functions = {}
local fns = M.functions

fns.isSet = function(_, v) return v ~= nil end

fns["not"] = function(_, v) return not pytruthy(v) end

fns.booleanEquals = function(_, a, b)
  if type(a) ~= "boolean" or type(b) ~= "boolean" then
    fail("Both arguments must be bools, not %s and %s.", typename(a), typename(b))
  end
  return a == b
end

fns.stringEquals = function(_, a, b)
  if type(a) ~= "string" or type(b) ~= "string" then
    fail("Both values must be strings, not %s and %s.", typename(a), typename(b))
  end
  return a == b
end

--- `getAttr(value, "a.b[0]")`: a path of names and, at the end of a part,
-- a 0-based index. As botocore, an index ends the walk (what follows it is
-- ignored) and an index past the end gives nothing.
fns.getAttr = function(_, value, path)
  for part in tostring(path):gmatch("[^.]+") do
    local name, index = part:match("([%w_]*)%[(%d+)%]")
    if name then
      if name ~= "" then value = type(value) == "table" and value[name] or nil end
      index = tonumber(index)
      if type(value) ~= "table" or index >= #value then return nil end
      return value[index + 1]
    end
    if type(value) ~= "table" then
      fail("getAttr: cannot read %q of a %s", part, typename(value))
    end
    value = value[part]
  end
  return value
end

--- `substring(s, start, stop, reverse)`: characters [start, stop) counted
-- from the start or, if `reverse`, from the end; nothing for a non-ASCII
-- string or a range outside it.
fns.substring = function(_, s, start, stop, reverse)
  if type(s) ~= "string" then fail("Input must be a string, not %s.", typename(s)) end
  if start >= stop or #s < stop or s:find("[\128-\255]") then return nil end
  if reverse == true then
    return s:sub(#s - stop + 1, #s - start)
  end
  return s:sub(start + 1, stop)
end

--- `uriEncode(s)`: percent-encode all but the unreserved characters.
fns.uriEncode = function(_, s)
  if s == nil then return nil end
  return urlencode(pystr(s))
end

--- `parseURL(s)`: `{ scheme, authority, path, normalizedPath, isIp }` for
-- an http(s) URL without a query, else nothing.
fns.parseURL = function(_, s)
  if s == nil then return nil end
  local scheme, netloc, path, query = urlparse(s)
  local host, port_ok = host_port(netloc)
  if not port_ok then return nil end
  if (scheme ~= "https" and scheme ~= "http") or query ~= "" then return nil end
  local normalized = urlencode(path == "" and "/" or remove_dot_segments(path), true)
  if normalized:sub(-1) ~= "/" then normalized = normalized .. "/" end
  local is_ip = false
  if host and not s:find("[\t\r\n]") then
    is_ip = is_ipv4(host) or is_ipv6(host)
  end
  return { scheme = scheme, authority = netloc, path = path, normalizedPath = normalized,
    isIp = is_ip }
end

--- `isValidHostLabel(s, allowSubDomains)`.
fns.isValidHostLabel = function(_, s, subdomains)
  if s == nil or (subdomains == false and s:find(".", 1, true)) then return false end
  if subdomains == true then
    for label in (s .. "."):gmatch("([^.]*)%.") do
      if not host_label(label) then return false end
    end
    return true
  end
  return host_label(s)
end

-- Partition outputs with `name`, made once per partition entry.
local function outputs_of(p)
  local out = p._outputs
  if not out then
    out = {}
    for k, v in pairs(p.outputs or {}) do out[k] = v end
    out.name = p.id
    p._outputs = out
  end
  return out
end

local function partition_matches(p, region)
  if p.regions and p.regions[region] ~= nil then return true end
  local re = p._re
  if re == nil then
    re = p.regionRegex and regex.compile(p.regionRegex) or false
    p._re = re
  end
  return re and regex.test(re, region) == true or false
end

--- `aws.partition(region)`: the outputs of the first partition that lists
-- the region or whose `regionRegex` matches it (`name` = its id); the first
-- partition (aws) when none does.
fns["aws.partition"] = function(partitions, region)
  local list = partitions and partitions.partitions
  if type(list) ~= "table" or not list[1] then fail("aws.partition: no partition data") end
  if region ~= nil then
    for _, p in ipairs(list) do
      if partition_matches(p, region) then return outputs_of(p) end
    end
  end
  return outputs_of(list[1])
end

--- `aws.parseArn(s)`: `{ partition, service, region, accountId, resourceId = {...} }`
-- or nothing when `s` is not an ARN with partition, service and resource.
fns["aws.parseArn"] = function(_, s)
  if type(s) ~= "string" or s:sub(1, 4) ~= "arn:" then return nil end
  local parts, pos = {}, 1
  for _ = 1, 5 do
    local c = s:find(":", pos, true)
    if not c then return nil end
    parts[#parts + 1] = s:sub(pos, c - 1)
    pos = c + 1
  end
  local resource = s:sub(pos)
  if parts[2] == "" or parts[3] == "" or resource == "" then return nil end
  local ids = {}
  for id in (resource:gsub(":", "/") .. "/"):gmatch("([^/]*)/") do ids[#ids + 1] = id end
  return { partition = parts[2], service = parts[3], region = parts[4], accountId = parts[5],
    resourceId = ids }
end

--- `aws.isVirtualHostableS3Bucket(s, allowSubDomains)`: a host label (or
-- labels) of 3+ characters, lower case, not an IPv4 address.
fns["aws.isVirtualHostableS3Bucket"] = function(partitions, s, subdomains)
  if s == nil or #s < 3 or s:lower() ~= s or is_ipv4(s) then return false end
  return fns.isValidHostLabel(partitions, s, subdomains)
end

---------------------------------------------------------------------------
-- Evaluation
---------------------------------------------------------------------------

local call

-- Does `s` contain a template reference (botocore: `\{[a-zA-Z#]+\}`)?
local function is_template(s)
  return type(s) == "string" and s:find("{[%a#]+}") ~= nil
end

-- Expand `{Name}` / `{Name#attr}` (and `{{`, `}}`) from the scope.
local function template(s, scope)
  local out, i, n = {}, 1, #s
  while i <= n do
    local c = s:sub(i, i)
    if c == "{" and s:sub(i + 1, i + 1) == "{" then
      out[#out + 1] = "{"; i = i + 2
    elseif c == "}" and s:sub(i + 1, i + 1) == "}" then
      out[#out + 1] = "}"; i = i + 2
    elseif c == "{" then
      local close = s:find("}", i, true)
      if not close then fail("template %q: unclosed '{'", s) end
      local ref = s:sub(i + 1, close - 1)
      local value = scope
      for name in ref:gmatch("[^#]+") do
        if type(value) ~= "table" or value[name] == nil then
          fail("template %q: %s has no value", s, ref)
        end
        value = value[name]
      end
      out[#out + 1] = pystr(value)
      i = close + 1
    else
      local j = s:find("[{}]", i) or n + 1
      out[#out + 1] = s:sub(i, j - 1)
      i = j
    end
  end
  return concat(out)
end

-- A value in a rule: a function call, a reference, a template or a literal.
local function value_of(v, scope, partitions)
  if type(v) == "table" then
    if v.fn ~= nil then return call(v, scope, partitions) end
    if v.ref ~= nil then return scope[v.ref] end
    return v
  end
  if is_template(v) then return template(v, scope) end
  return v
end

function call(f, scope, partitions)
  local fn = fns[f.fn]
  if not fn then
    local known = {}
    for k in pairs(fns) do known[#known + 1] = k end
    table.sort(known)
    fail("unknown function %q in the rule set (known: %s)", tostring(f.fn), concat(known, ", "))
  end
  local args = {}
  local argv = f.argv or {}
  for i = 1, #argv do args[i] = value_of(argv[i], scope, partitions) end
  local result = fn(partitions, table.unpack(args, 1, #argv))
  if f.assign ~= nil then
    if scope[f.assign] ~= nil then
      fail("Assignment %s already exists in scoped variables and cannot be overwritten", f.assign)
    end
    rawset(scope, f.assign, result)
  end
  return result
end

-- Each rule gets its own scope: what its conditions assign is seen by its
-- sub-rules, never by the rules after it.
local function child(scope)
  return setmetatable({}, { __index = scope })
end

local function conditions_hold(rule, scope, partitions)
  for _, cond in ipairs(rule.conditions or {}) do
    local r = call(cond, scope, partitions)
    if r == nil or r == false then return false end
  end
  return true
end

-- Properties: only template strings are expanded (botocore resolves no
-- function or reference inside them).
local function properties(v, scope)
  if type(v) == "table" then
    local out = {}
    for k, x in pairs(v) do out[k] = properties(x, scope) end
    return out
  end
  if is_template(v) then return template(v, scope) end
  return v
end

local evaluate

local function evaluate_rule(rule, scope, partitions)
  if not conditions_hold(rule, scope, partitions) then return nil end
  local kind = rule.type
  if kind == "endpoint" then
    local e = rule.endpoint or {}
    local headers = {}
    for name, values in pairs(e.headers or {}) do
      local list = {}
      for i, x in ipairs(values) do list[i] = value_of(x, scope, partitions) end
      headers[name] = list
    end
    return { url = value_of(e.url, scope, partitions),
      properties = properties(e.properties or {}, scope), headers = headers }
  elseif kind == "error" then
    error(setmetatable({ message = pystr(value_of(rule.error, scope, partitions)), rule = true },
      Failure), 0)
  elseif kind == "tree" then
    return evaluate(rule.rules or {}, scope, partitions)
  end
  fail("Unknown rule type: %s. A rule must be of type tree, endpoint or error.", tostring(kind))
end

function evaluate(rules, scope, partitions)
  for _, rule in ipairs(rules) do
    local r = evaluate_rule(rule, child(scope), partitions)
    if r then return r end
  end
  return nil
end

local TYPES = { string = "string", boolean = "boolean", stringarray = "table" }

-- Check the input against the parameter definitions; defaults fill gaps.
local function parameters(ruleset, input)
  local scope = {}
  for name, def in pairs(ruleset.parameters or {}) do
    local v = input[name]
    local want = TYPES[tostring(def.type):lower()]
    if not want then
      fail("Unknown parameter type: %s. A parameter must be of type string, boolean, or "
        .. "stringarray.", tostring(def.type))
    end
    if v == nil then
      if def.default ~= nil then
        v = def.default
      elseif def.required then
        fail("Cannot find value for required parameter %s", name)
      end
    elseif type(v) ~= want then
      fail("Value (%s) is the wrong type. Must be %s.", name, want)
    end
    scope[name] = v
  end
  return scope
end

--- Evaluate a rule set.
-- @tparam table ruleset the decoded `endpoint-rule-set-1.json`
-- @tparam table params parameter values by name (nil = not set)
-- @tparam table partitions the decoded partition data (`partitions.json`)
-- @treturn[1] table `{ url = "https://...", properties = {...}, headers = { name = { v, ... } } }`
-- @treturn[2] nil
-- @treturn[2] string the rule's error message, or why the rule set cannot be evaluated
-- @treturn[2] boolean true when the message is an error rule's own (the rules
--   refused the parameters), false when evaluation itself failed
function M.resolve(ruleset, params, partitions)
  local ok, res = pcall(function()
    local scope = parameters(ruleset, params or {})
    local r = evaluate(ruleset.rules or {}, scope, partitions)
    if not r then
      local names = {}
      for k in pairs(params or {}) do names[#names + 1] = k end
      table.sort(names)
      local lines = {}
      for _, k in ipairs(names) do lines[#lines + 1] = k .. ": " .. pystr(params[k]) end
      fail("No endpoint found for parameters: %s", concat(lines, ", "))
    end
    if type(r.url) ~= "string" then fail("the endpoint rule gave no URL string") end
    return r
  end)
  if ok then return res end
  if getmetatable(res) == Failure then return nil, res.message, res.rule == true end
  -- a rule set that does not fit the language (a function given the wrong
  -- kind of value, say) is reported like the failures above, not raised
  return nil, "invalid rule set: " .. tostring(res), false
end

--- Is `s` an IPv4 address (botocore's loose `\d{1,3}` form)? Is it an IPv6
-- address (RFC 3986, optional zone id)? Is it one RFC 1123 host label?
-- Shared with kumo.endpoints and the specs.
M.is_ipv4, M.is_ipv6, M.is_host_label = is_ipv4, is_ipv6, host_label

return M
