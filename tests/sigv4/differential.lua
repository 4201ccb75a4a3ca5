--- kumo side of the differential test against botocore: reads the cases
-- tests/sigv4/differential.py wrote (with botocore's results), signs each
-- with kumo.sigv4 and compares the canonical request, string to sign,
-- signature, and the Authorization and added headers (header form) or the
-- presigned URL's parameters (query form).
-- Usage: kumo run tests/sigv4/differential.lua CASES.json
-- Ends with `N passed, N failed`; failures name the case and the stage.

local sigv4 = require "kumo.sigv4"
local cjson = require "cjson"

local path = assert(arg[1], "usage: differential.lua CASES.json")
local f = assert(io.open(path, "rb"))
local doc = cjson.decode(f:read("a"))
f:close()

local function unhex(h)
  return (h:gsub("%x%x", function(b) return string.char(tonumber(b, 16)) end))
end

local function undecode(s)
  return (s:gsub("%%(%x%x)", function(b) return string.char(tonumber(b, 16)) end))
end

local function opt(v)
  if v == cjson.null then return nil end
  return v
end

-- Test credentials are random, but never print a token, a secret or a
-- signature (Authorization values) anyway.
local function redact(s, fields)
  s = tostring(s):gsub("Signature=%x+", "Signature=<redacted>")
  for _, k in ipairs({ "session_token", "secret_access_key" }) do
    local v = opt(fields[k])
    if v then
      local i, j = s:find(v, 1, true)
      while i do
        s = s:sub(1, i - 1) .. "<" .. k .. ">" .. s:sub(j + 1)
        i, j = s:find(v, i + #k + 2, true)
      end
    end
  end
  return s
end

-- Query parameters of a URL as a sorted, decoded "k=v" list.
local function query_list(url)
  local q = url:match("%?(.*)$") or ""
  local list = {}
  for piece in q:gmatch("[^&]+") do
    local k, v = piece:match("^([^=]*)=?(.*)$")
    list[#list + 1] = undecode(k) .. "=" .. undecode(v)
  end
  table.sort(list)
  return list
end

local function same_list(a, b)
  if #a ~= #b then return false end
  for i = 1, #a do if a[i] ~= b[i] then return false end end
  return true
end

local passed, failed = 0, 0

for _, case in ipairs(doc.cases) do
  local c = case.fields
  local fields = {
    method = c.method, url = c.url, headers = c.headers,
    body = unhex(c.body_hex), region = c.region, service = c.service,
    access_key_id = c.access_key_id, secret_access_key = c.secret_access_key,
    session_token = opt(c.session_token), time = c.time,
    normalize_path = c.normalize_path,
    sign_body_hash_header = c.sign_body_hash_header,
    unsigned_payload = c.unsigned_payload, expires = opt(c.expires),
  }
  local want = case.expect
  local problems = {}
  local function expect(what, got, exp)
    if got ~= exp then
      problems[#problems + 1] = ("%s differs\n--- kumo\n%s\n--- botocore\n%s")
          :format(what, redact(got, c), redact(exp, c))
    end
  end
  local ok, out, info
  if case.form == "query" then
    ok, out, info = pcall(sigv4.presign, fields)
  else
    ok, out, info = pcall(sigv4.sign, fields)
  end
  if not ok then
    problems[1] = "kumo raised: " .. redact(out, c)
  else
    expect("canonical request", info.canonical_request, want.canonical_request)
    expect("string to sign", info.string_to_sign, want.string_to_sign)
    if info.signature ~= want.signature then
      problems[#problems + 1] = "signature differs"
    end
    if case.form == "query" then
      local got, exp = query_list(out), want.query
      table.sort(exp)
      if not same_list(got, exp) then
        expect("presigned URL parameters", table.concat(got, "\n"),
               table.concat(exp, "\n"))
      end
    else
      expect("authorization", info.authorization, want.authorization)
      local got, exp = {}, {}
      for _, h in ipairs(out) do got[#got + 1] = h[1]:lower() .. ": " .. h[2] end
      for _, h in ipairs(want.added) do exp[#exp + 1] = h[1] .. ": " .. h[2] end
      table.sort(got)
      table.sort(exp)
      if not same_list(got, exp) then
        expect("added headers", table.concat(got, "\n"), table.concat(exp, "\n"))
      end
    end
  end
  if #problems == 0 then
    passed = passed + 1
  else
    failed = failed + 1
    print(("FAIL case %d (%s, seed %s): %s %s"):format(case.id, case.variant,
          tostring(doc.seed), c.method, c.url))
    for _, p in ipairs(problems) do print("  " .. p) end
  end
end

print(("%d passed, %d failed"):format(passed, failed))
os.exit(failed == 0 and 0 or 1)
