--- Runs AWS protocol test files (botocore's format, see README in this
-- folder) through kumo's protocol modules and prints `N passed, N failed`.
--
--   bin/kumo run tests/protocol/run.lua [-v] [--no-exceptions] FILE...
--
-- A serialization case (`serialized`) calls `serialize` and checks the
-- method, the URI (path + query), the body (JSON as values, XML as a tree,
-- forms as text), headers and host. A parsing case (`response`) calls
-- `parse` or `parse_error` and compares the result as a value.
-- Cases listed in exceptions.lua (beside this file) that fail are reported
-- as known exceptions, not failures; `--no-exceptions` counts them as failed.
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = here .. "/?.lua;" .. package.path

local ojson = require "ojson"
local common = require "kumo.protocol.common"
local model = require "kumo.protocol.shape"
local wire = require "kumo.protocol.wire"
local xml = require "kumo.xml"  -- the generic tree, to compare bodies

local null = common.null
local exceptions = dofile(here .. "/exceptions.lua")

local verbose, use_exceptions, files = false, true, {}
for _, a in ipairs(arg) do
  if a == "-v" then verbose = true
  elseif a == "--no-exceptions" then use_exceptions = false
  else files[#files + 1] = a end
end
if #files == 0 then
  io.stderr:write("usage: kumo run tests/protocol/run.lua [-v] [--no-exceptions] FILE...\n")
  os.exit(2)
end

local PROTOCOLS = { query = "query", ec2 = "ec2", json = "json",
                    ["rest-json"] = "rest_json", ["rest-xml"] = "rest_xml" }

-- The fixed token the expectations use for generated idempotency tokens.
local TOKEN = "00000000-0000-4000-8000-000000000000"
local ctx = { uuid = function() return TOKEN end }

------------------------------------------------------------------------
-- Comparison helpers
------------------------------------------------------------------------

local function show(v)
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) ~= "table" then return tostring(v) end
  if v == null then return "null" end
  local parts = {}
  local mt = getmetatable(v)
  if #v > 0 or (mt and mt.__array) then
    for i = 1, #v do parts[#parts + 1] = show(v[i]) end
    return "[" .. table.concat(parts, ",") .. "]"
  end
  for _, k in ipairs(model.keys(v)) do parts[#parts + 1] = tostring(k) .. "=" .. show(v[k]) end
  return "{" .. table.concat(parts, ",") .. "}"
end

local SPECIAL = { NaN = true, Infinity = true, ["-Infinity"] = true }

-- Compare an expected value (decoded from the case) with an actual one.
local function same(exp, act, path)
  path = path or "result"
  if exp == null then
    if act == null then return true end
    return false, path .. ": expected null, got " .. show(act)
  end
  local te = type(exp)
  if te == "table" then
    if type(act) ~= "table" or act == null then
      return false, path .. ": expected " .. show(exp) .. ", got " .. show(act)
    end
    local mt = getmetatable(exp)
    if mt and mt.__array then
      if #act ~= #exp then
        return false, path .. ": expected " .. #exp .. " items, got " .. #act .. " " .. show(act)
      end
      for i = 1, #exp do
        local ok, why = same(exp[i], act[i], path .. "[" .. i .. "]")
        if not ok then return false, why end
      end
      return true
    end
    for k, v in pairs(exp) do
      -- a Lua table cannot hold nil: an expected null member is an absent one
      -- (nulls inside lists and sparse maps are kept as json.null and checked)
      local ok, why = true, nil
      if not (v == null and act[k] == nil) then ok, why = same(v, act[k], path .. "." .. tostring(k)) end
      if not ok then return false, why end
    end
    for k in pairs(act) do
      if exp[k] == nil then return false, path .. ": unexpected member " .. tostring(k)
        .. " = " .. show(act[k]) end
    end
    return true
  end
  if te == "string" and SPECIAL[exp] and type(act) == "number" then
    if wire.float_text(act) == exp then return true end
  end
  if te == "number" and type(act) == "number" then
    if exp == act or math.abs(exp - act) < 1e-6 * math.max(1, math.abs(exp)) then return true end
  end
  if exp == act then return true end
  return false, path .. ": expected " .. show(exp) .. ", got " .. show(act)
end

-- XML text → a canonical tree string (whitespace-only text dropped,
-- attributes sorted), so bodies compare as trees.
local function canon_xml(s)
  local root, err = xml.decode(s)
  if not root then return nil, err end
  local out = {}
  local function walk(n)
    local names = {}
    for k in pairs(n.attrs) do names[#names + 1] = k end
    table.sort(names)
    out[#out + 1] = "<" .. n.name
    for _, k in ipairs(names) do out[#out + 1] = " " .. k .. "=" .. string.format("%q", n.attrs[k]) end
    out[#out + 1] = ">"
    local text = n.text or ""
    if text:match("^%s*$") and #n.children > 0 then text = "" end
    if #n.children == 0 then text = text end
    out[#out + 1] = text
    for _, c in ipairs(n.children) do walk(c) end
    out[#out + 1] = "</" .. n.name .. ">"
  end
  walk(root)
  return table.concat(out)
end

local function norm_header(v)
  return (v:gsub(",%s+", ","))
end

------------------------------------------------------------------------
-- Running cases
------------------------------------------------------------------------

-- Structures remember their member order (the case files keep it).
local function prepare_shapes(shapes)
  for _, shape in pairs(shapes) do
    if shape.type == "structure" and shape.members then
      local mt = getmetatable(shape.members)
      shape._order = mt and mt.__order or nil
    end
  end
end

local function check_input(proto, service, case, endpoint)
  local given = case.given
  local params = case.params or setmetatable({}, { __order = {} })
  local req = proto.serialize(service, given, params, ctx)
  local ser = case.serialized
  -- method
  if ser.method and req.method ~= ser.method then
    return false, "method: expected " .. ser.method .. ", got " .. tostring(req.method)
  end
  -- URI: the endpoint's own path, then the operation's path and query
  local base_path = endpoint and endpoint:match("^%a+://[^/]+(/.*)$") or ""
  base_path = base_path:gsub("/$", "")
  local uri = base_path .. req.path
  if #req.query > 0 then
    local parts = {}
    for i, kv in ipairs(req.query) do
      parts[i] = kv[2] == nil and wire.urlencode(kv[1])
        or (wire.urlencode(kv[1]) .. "=" .. wire.urlencode(kv[2]))
    end
    uri = uri .. "?" .. table.concat(parts, "&")
  end
  if ser.uri and uri ~= ser.uri then
    return false, "uri: expected " .. ser.uri .. ", got " .. uri
  end
  -- headers: what the HTTP layer adds (Content-Length for a body) included
  local headers = {}
  for _, h in ipairs(req.headers) do
    local n = h[1]:lower()
    headers[n] = headers[n] and (headers[n] .. "," .. h[2]) or h[2]
  end
  local body = req.body or ""
  if body ~= "" and not headers["content-length"] then headers["content-length"] = tostring(#body) end
  local proto_name = service.metadata.protocol
  for name, want in pairs(ser.headers or {}) do
    local got = headers[name:lower()]
    local ok = got ~= nil and norm_header(got) == norm_header(want)
    if not ok and name:lower() == "content-type" and got then
      ok = got:lower():gsub("%s", "") == (want:lower():gsub("%s", ""))
        or got:lower():find(want:lower(), 1, true) == 1
        or (proto_name == "rest-xml")
        or (proto_name == "rest-json" and want ~= "application/json")
    end
    if not ok then
      return false, "header " .. name .. ": expected " .. show(want) .. ", got " .. show(got)
    end
  end
  for _, name in ipairs(ser.requireHeaders or {}) do
    if not headers[name:lower()] then return false, "header " .. name .. " missing" end
  end
  for _, name in ipairs(ser.forbidHeaders or {}) do
    if headers[name:lower()] then return false, "header " .. name .. " must not be sent" end
  end
  -- host
  if ser.host and endpoint then
    local host = endpoint:match("^%a+://([^/:]+)")
    host = (req.host_prefix or "") .. host
    -- Smithy's resolved host includes the endpoint's path (HostWithPath cases)
    if ser.host:find("/", 1, true) then host = host .. base_path end
    if host ~= ser.host then return false, "host: expected " .. ser.host .. ", got " .. host end
  end
  -- body
  if ser.body ~= nil then
    local want = ser.body
    local ct = headers["content-type"] or ""
    if (proto_name == "json" or proto_name == "rest-json") and want ~= ""
        and (ct:find("json", 1, true) or proto_name == "json") and want:match("^%s*[%[{]") then
      local okd, exp = pcall(ojson.decode, want, null)
      local oka, act = pcall(ojson.decode, body, null)
      if not (okd and oka) then
        return false, "body: not JSON: " .. show(body)
      end
      local ok, why = same(exp, act, "body")
      if not ok then return false, why .. "\n   body: " .. body end
    elseif proto_name == "rest-xml" and want ~= "" and want:match("^%s*<") then
      local a, ea = canon_xml(want)
      local b, eb = canon_xml(body)
      if not a or not b then return false, "body: bad XML: " .. tostring(ea or eb) .. " " .. show(body) end
      if a ~= b then return false, "body:\n   expected " .. a .. "\n   got      " .. b end
    elseif body ~= want then
      return false, "body: expected " .. show(want) .. ", got " .. show(body)
    end
  end
  return true
end

local function check_output(proto, service, case)
  local r = case.response
  local headers, header_list = {}, {}
  for _, k in ipairs(model.keys(r.headers or {})) do
    headers[k:lower()] = r.headers[k]
    header_list[#header_list + 1] = { k, r.headers[k] }
  end
  local res = { status = r.status_code, headers = headers, header_list = header_list,
                body = r.body or "" }
  local given = case.given
  -- event-stream bodies are given as base64 of the binary frames
  local out_shape = given.output and service.shapes[given.output.shape]
  for _, ref in pairs(out_shape and out_shape.members or {}) do
    if service.shapes[ref.shape].eventstream then res.body = assert(wire.b64decode(res.body)) end
  end
  if case.raises then  -- kumo's own cases (tests/protocol/extra): a refused response
    local ok, err = pcall(case.errorCode and proto.parse_error or proto.parse, service, given, res)
    if ok then return false, "expected an error naming " .. show(case.raises) .. ", got " .. show(err) end
    -- a service's error (an exception event) is a table with its code
    local text = type(err) == "table" and (tostring(err.code) .. ": " .. tostring(err.message))
      or tostring(err)
    if not text:find(case.raises, 1, true) then
      return false, "error: expected one naming " .. show(case.raises) .. ", got " .. show(text)
    end
    return true
  end
  if case.errorCode then
    local err = proto.parse_error(service, given, res)
    if err.code ~= case.errorCode then
      return false, "error code: expected " .. case.errorCode .. ", got " .. tostring(err.code)
    end
    if case.errorMessage and err.message ~= case.errorMessage then
      return false, "error message: expected " .. show(case.errorMessage) .. ", got " .. show(err.message)
    end
    return same(case.error or {}, err.fields or {}, "error")
  end
  local out = proto.parse(service, given, res)
  return same(case.result or {}, out, "result")
end

local passed, failed, known = 0, 0, 0
local unexpected_passes = {}

for _, file in ipairs(files) do
  local f = assert(io.open(file, "rb"))
  local text = f:read("a")
  f:close()
  local suites = ojson.decode(text, null)
  local short = file:match("([^/]+/[^/]+/[^/]+%.json)$") or file:match("([^/]+/[^/]+%.json)$") or file
  short = short:gsub("^protocol/", "")
  for si, suite in ipairs(suites) do
    local pname = PROTOCOLS[suite.metadata.protocol]
    local proto = pname and require("kumo.protocol." .. pname)
      or setmetatable({}, { __index = function()
        error("protocol " .. tostring(suite.metadata.protocol) .. " is not implemented by kumo", 0)
      end })
    prepare_shapes(suite.shapes)
    for ci, case in ipairs(suite.cases) do
      local service = { metadata = suite.metadata, shapes = suite.shapes }
      local name = case.id or string.format("%s: %s #%d", short, suite.description, ci)
      local ok, good, why = pcall(case.serialized and check_input or check_output,
        proto, service, case, suite.clientEndpoint)
      if not ok then good, why = false, "raised: " .. tostring(good) end
      local kind = case.serialized and "input" or "output"
      local reason = exceptions[kind .. ": " .. name] or exceptions[name]
      if good then
        passed = passed + 1
        if reason and use_exceptions then unexpected_passes[#unexpected_passes + 1] = name end
        if verbose then print("ok   " .. name) end
      elseif reason and use_exceptions then
        known = known + 1
        if verbose then print("skip " .. name .. " (" .. reason .. ")") end
      else
        failed = failed + 1
        print("FAIL " .. name .. " [" .. short .. " suite " .. si .. "]\n   " .. tostring(why))
      end
    end
  end
end

for _, name in ipairs(unexpected_passes) do
  print("note: listed exception now passes (remove it from exceptions.lua): " .. name)
end
if known > 0 then
  print(string.format("%d known exceptions (see tests/protocol/exceptions.lua)", known))
end
print(string.format("%d passed, %d failed", passed, failed))
os.exit(failed == 0 and 0 or 1)
