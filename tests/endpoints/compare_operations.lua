--- Compare kumo's per-operation endpoints with botocore's
-- (tests/endpoints/botocore_operations.py writes botocore's side): for the
-- nine services whose operations give their rule sets parameters, every
-- such operation with sample inputs resolves, through
-- kumo.endpoints.operation_context and kumo.endpoints.resolve, to the host,
-- signing region and signing name botocore's resolver gives, or both refuse.
-- kumo's side is the call path's own: `Client:endpoint(entry, params)`
-- (per-operation resolution and its cache), and for S3 the S3
-- customization's per-call resolver (kumo.s3.customize.endpoint), which
-- applies botocore's S3 handlers (GetBucketLocation path style).
-- Usage: kumo run tests/endpoints/compare_operations.lua < cases.jsonl
-- Prints TAP, one test per service. SHOW=N prints up to N mismatches each.
local json = require "kumo.json"

local aws = require "kumo.aws"
local customize = require "kumo.s3.customize"

local sessions, clients = {}, {}
local function client_of(service, region)
  local key = service .. " " .. region
  local c = clients[key]
  if not c then
    local s = sessions[region]
    if not s then
      s = aws.session{ region = region, env = {}, config_file = "/dev/null",
        credentials_file = "/dev/null",
        credentials = { access_key_id = "AKIDEXAMPLE", secret_access_key = "x" } }
      sessions[region] = s
    end
    c = s:client(service)
    clients[key] = c
  end
  return c
end
local function opt(v) if v == json.null then return nil end return v end
local limit = tonumber(os.getenv("SHOW") or "") or 3

local services, order = {}, {}
for line in io.lines() do
  local c = json.decode(line)
  local s = services[c.service]
  if not s then
    s = { n = 0, agree = 0, refused = 0, bad = {} }
    services[c.service] = s
    order[#order + 1] = c.service
  end
  local ok, ep = pcall(function()
    local cl = client_of(c.service, c.region)
    local entry = cl:operation(c.operation)
    if c.service == "s3" then
      local e = customize.endpoint(cl, entry.model, c.params)
      e.host = e.authority
      return e
    end
    return cl:endpoint(entry, c.params)
  end)
  local good
  if opt(c.error) then
    good = not ok
    if good then s.refused = s.refused + 1 end
  else
    good = ok and ep.host == c.host and ep.signing_region == c.signing_region
      and ep.signing_name == c.signing_name
  end
  s.n = s.n + 1
  if good then
    s.agree = s.agree + 1
  else
    s.bad[#s.bad + 1] = string.format("%s %s %s: botocore %s %s/%s%s, kumo %s", c.region,
      c.operation, json.encode(c.params), tostring(opt(c.host)), tostring(opt(c.signing_region)),
      tostring(opt(c.signing_name)), opt(c.error) and (" error " .. c.error) or "",
      ok and (ep.host .. " " .. ep.signing_region .. "/" .. ep.signing_name)
        or ("error: " .. tostring(ep)))
  end
end
local failed = 0
for i, name in ipairs(order) do
  local s = services[name]
  local good = #s.bad == 0 and s.n > 0
  if not good then failed = failed + 1 end
  print(string.format("%s %d - %s: %d operation cases, %d agree (%d refused by both)",
    good and "ok" or "not ok", i, name, s.n, s.agree, s.refused))
  for j = 1, math.min(limit, #s.bad) do print("#   " .. s.bad[j]) end
end
print("1.." .. #order)
os.exit(failed == 0 and 0 or 1)
