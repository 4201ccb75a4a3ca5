--- The official SigV4 suites against kumo.sigv4, through its Lua contract.
-- aws-c-auth v4 (header and query forms) and botocore's aws4_testsuite
-- (header form): for every case the canonical request, the string to sign
-- and the signature must match byte for byte, and the headers or query
-- parameters kumo adds must be those of the signed request.
-- Usage: kumo run tests/sigv4/run.lua [DIR]   (DIR defaults to this folder)
-- Prints one line per failure and ends with `N passed, N failed`.

local sigv4 = require "kumo.sigv4"
local cjson = require "cjson"

local root = arg and arg[1] or (debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or ".")

local passed, failed = 0, 0

local function readfile(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function listdir(path)
  local names = {}
  local p = assert(io.popen('ls -1 "' .. path .. '"'))
  for line in p:lines() do names[#names + 1] = line end
  p:close()
  table.sort(names)
  return names
end

local function isdir(path)
  local p = io.popen('test -d "' .. path .. '" && echo y')
  local r = p:read("a")
  p:close()
  return r:match("y") ~= nil
end

-- Unix seconds of an ISO 8601 UTC timestamp (kumo.clock: the one calendar).
local function unix_time(iso)
  return math.tointeger(assert(require("kumo.clock").parse(iso)))
end

--- Parse a suite's HTTP request text: the request line (the path may hold
-- spaces), headers with folded continuation lines, an empty line, a body.
local function parse_request(text)
  local lines = {}
  local pos = 1
  while true do
    local nl = text:find("\n", pos, true)
    if not nl then lines[#lines + 1] = text:sub(pos); break end
    lines[#lines + 1] = text:sub(pos, nl - 1)
    pos = nl + 1
  end
  local method, target = lines[1]:match("^(%S+) (.*) HTTP/1%.1$")
  assert(method, "bad request line: " .. lines[1])
  local headers, body = {}, ""
  local i = 2
  while i <= #lines do
    local line = lines[i]
    if line == "" then
      body = table.concat(lines, "\n", i + 1)
      break
    end
    if line:match("^[ \t]") and #headers > 0 then
      local h = headers[#headers]
      h[2] = h[2] .. "\n" .. line
    else
      local name, value = line:match("^([^:]+):(.*)$")
      assert(name, "bad header line: " .. line)
      headers[#headers + 1] = { name, value }
    end
    i = i + 1
  end
  return { method = method, target = target, headers = headers, body = body }
end

local function header(headers, name)
  for _, h in ipairs(headers) do
    if h[1]:lower() == name:lower() then return h[2] end
  end
end

local function url_of(req)
  return "https://" .. assert(header(req.headers, "Host"), "no Host") .. req.target
end

-- Query parameters of a URL or request target as a sorted "k=v" list,
-- percent-decoded (a suite's signed request may show raw UTF-8).
local function query_set(target)
  local q = target:match("%?(.*)$") or ""
  local set = {}
  for piece in q:gmatch("[^&]+") do
    set[#set + 1] = piece:gsub("%%(%x%x)", function(h)
      return string.char(tonumber(h, 16))
    end)
  end
  table.sort(set)
  return table.concat(set, "&")
end

local function report(name, problems)
  if #problems == 0 then
    passed = passed + 1
  else
    failed = failed + 1
    print("FAIL " .. name)
    for _, p in ipairs(problems) do print("  " .. p) end
  end
end

local function expect(problems, what, got, want)
  if want == nil then
    problems[#problems + 1] = what .. ": expected file missing"
  elseif got ~= want then
    problems[#problems + 1] = ("%s differs\n--- got\n%s\n--- want\n%s"):format(
      what, tostring(got), want)
  end
end

-- The headers the signed request shows beyond the request's own. With
-- 'name_only_authz' the Authorization value is not compared (botocore's
-- get-vanilla-with-session-token.sreq carries a wrong signature; its .authz
-- is checked instead).
local function check_added(problems, add, req, signed, name_only_authz)
  local sreq = parse_request(signed)
  local function line(h)
    local n = h[1]:lower()
    if name_only_authz and n == "authorization" then return n end
    return n .. ":" .. h[2]:gsub("^%s+", "")
  end
  local want = {}
  for _, h in ipairs(sreq.headers) do
    if not header(req.headers, h[1]) then want[#want + 1] = line(h) end
  end
  local got = {}
  for _, h in ipairs(add) do got[#got + 1] = line(h) end
  table.sort(want)
  table.sort(got)
  expect(problems, "added headers", table.concat(got, "\n"), table.concat(want, "\n"))
end

local function run_cases(dir, fn)
  if not isdir(dir) then
    failed = failed + 1
    print("FAIL missing suite directory " .. dir)
    return
  end
  for _, name in ipairs(listdir(dir)) do
    local case = dir .. "/" .. name
    if isdir(case) then fn(case, name) end
  end
end

--- aws-c-auth: context.json gives credentials and options per case.
local function aws_c_auth_case(case, name)
  local ctx = cjson.decode(assert(readfile(case .. "/context.json")))
  local req = parse_request(assert(readfile(case .. "/request.txt")))
  local creds = ctx.credentials
  local fields = {
    method = req.method, url = url_of(req), headers = req.headers,
    body = req.body, region = ctx.region, service = ctx.service,
    access_key_id = creds.access_key_id,
    secret_access_key = creds.secret_access_key,
    session_token = creds.token,
    time = unix_time(ctx.timestamp),
    normalize_path = ctx.normalize,
    sign_body_hash_header = ctx.sign_body,
    omit_session_token = ctx.omit_session_token == true,
    expires = ctx.expiration_in_seconds,
  }
  local problems = {}
  local ok, add, info = pcall(sigv4.sign, fields)
  if not ok then
    problems[1] = "sign raised: " .. tostring(add)
  else
    expect(problems, "header canonical request", info.canonical_request,
           readfile(case .. "/header-canonical-request.txt"))
    expect(problems, "header string to sign", info.string_to_sign,
           readfile(case .. "/header-string-to-sign.txt"))
    expect(problems, "header signature", info.signature,
           readfile(case .. "/header-signature.txt"))
    check_added(problems, add, req, readfile(case .. "/header-signed-request.txt"))
  end
  report("aws-c-auth/" .. name .. " (header)", problems)

  problems = {}
  local url
  ok, url, info = pcall(sigv4.presign, fields)
  if not ok then
    problems[1] = "presign raised: " .. tostring(url)
  else
    expect(problems, "query canonical request", info.canonical_request,
           readfile(case .. "/query-canonical-request.txt"))
    expect(problems, "query string to sign", info.string_to_sign,
           readfile(case .. "/query-string-to-sign.txt"))
    expect(problems, "query signature", info.signature,
           readfile(case .. "/query-signature.txt"))
    local sreq = parse_request(readfile(case .. "/query-signed-request.txt"))
    expect(problems, "presigned URL query", query_set(url), query_set(sreq.target))
  end
  report("aws-c-auth/" .. name .. " (query)", problems)
end

-- botocore's suite: fixed credentials; the requests carry X-Amz-Date.
local BOTO = {
  region = "us-east-1", service = "service",
  access_key_id = "AKIDEXAMPLE",
  secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
}

local function botocore_case(case, name)
  local base = case .. "/" .. name
  local req = parse_request(assert(readfile(base .. ".req")))
  local signed = assert(readfile(base .. ".sreq"))
  local sreq = parse_request(signed)
  -- The token is an input the suite only shows in the signed request.
  local token = header(req.headers, "X-Amz-Security-Token")
      or header(sreq.headers, "X-Amz-Security-Token")
  local fields = {
    method = req.method, url = url_of(req), headers = req.headers,
    body = req.body, region = BOTO.region, service = BOTO.service,
    access_key_id = BOTO.access_key_id,
    secret_access_key = BOTO.secret_access_key,
    session_token = token,
    omit_session_token = name == "post-sts-header-after",
    normalize_path = true,
  }
  local problems = {}
  local ok, add, info = pcall(sigv4.sign, fields)
  if not ok then
    problems[1] = "sign raised: " .. tostring(add)
  else
    expect(problems, "canonical request", info.canonical_request, readfile(base .. ".creq"))
    expect(problems, "string to sign", info.string_to_sign, readfile(base .. ".sts"))
    expect(problems, "authorization", info.authorization, readfile(base .. ".authz"))
    check_added(problems, add, req, signed, true)
  end
  report("botocore/" .. name, problems)
end

local function botocore_suite(dir)
  run_cases(dir, function(case, name)
    if isdir(case .. "/" .. name) or not readfile(case .. "/" .. name .. ".req") then
      run_cases(case, botocore_case)  -- a group: normalize-path/, post-sts-token/
    else
      botocore_case(case, name)
    end
  end)
end

run_cases(root .. "/aws-c-auth/v4", aws_c_auth_case)
botocore_suite(root .. "/botocore/aws4_testsuite")
print(("%d passed, %d failed"):format(passed, failed))
os.exit(failed == 0 and 0 or 1)
