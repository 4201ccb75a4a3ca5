--- Compare kumo.endpoints with botocore over the whole catalogue
-- (tests/endpoints/botocore_catalogue.py writes botocore's side).
-- Usage: kumo run tests/endpoints/compare_catalogue.lua KNOWN.lua < endpoints.jsonl
-- Prints TAP, one test per service: each of its cases (a region of the
-- sample or none; plain, FIPS, dual-stack, FIPS + dual-stack) must agree on
-- the host, the signing region and the signing name, or both refuse (the
-- operation botocore resolved for gives kumo its context parameters); then
-- agreement per variant. KNOWN.lua lists cases explained as botocore's
-- (`{ service =, region =, variant =, why = }`); one no longer differing is
-- stale and fails. SHOW=N prints up to N mismatches per service (default 3).
local json = require "kumo.json"
local endpoints = require "kumo.endpoints"
local model = require "kumo.model"

local known = dofile(assert(arg[1], "usage: compare_catalogue.lua KNOWN.lua < cases"))
local function noenv() return nil end
local function opt(v) if v == json.null then return nil end return v end
local VARIANTS = { "plain", "fips", "dualstack", "fipsdualstack" }
local counts = {}
for _, v in ipairs(VARIANTS) do counts[v] = { 0, 0, 0 } end
local limit = tonumber(os.getenv("SHOW") or "") or 3

local function known_entry(c, variant)
  for _, k in ipairs(known) do
    if k.service == c.service and (k.region == "*" or k.region == tostring(opt(c.region)))
        and (k.variant == "*" or k.variant == variant) then
      return k
    end
  end
end

local services, order = {}, {}
local used = {}
local current
for line in io.lines() do
  local c = json.decode(line)
  if c.service ~= current then model.reset() current = c.service end
  local s = services[c.service]
  if not s then
    s = { n = 0, agree = 0, explained = 0, bad = {} }
    services[c.service] = s
    order[#order + 1] = c.service
  end
  local variant = (c.fips and "fips" or "") .. (c.dualstack and "dualstack" or "")
  if variant == "" then variant = "plain" end
  local region = opt(c.region)
  local svc = model.service(c.service)
  local op = opt(c.operation) and svc.operations[c.operation]
  local ok, ep = pcall(endpoints.resolve, { meta = svc.metadata,
    region = region, getenv = noenv, use_fips = c.fips, use_dualstack = c.dualstack,
    context = op and endpoints.operation_context(svc, op, {}) or nil })
  local good
  if opt(c.error) then
    good = not ok
  else
    good = ok and ep.host == c.host and ep.signing_region == c.signing_region
      and ep.signing_name == c.signing_name
  end
  s.n = s.n + 1
  local k = not good and known_entry(c, variant)
  if good then
    s.agree = s.agree + 1
    counts[variant][1] = counts[variant][1] + 1
  elseif k then
    used[k] = true
    s.explained = s.explained + 1
    counts[variant][2] = counts[variant][2] + 1
  else
    counts[variant][3] = counts[variant][3] + 1
    s.bad[#s.bad + 1] = string.format("%s %s: botocore %s %s/%s%s, kumo %s", tostring(region),
      variant, tostring(opt(c.host)), tostring(opt(c.signing_region)),
      tostring(opt(c.signing_name)), opt(c.error) and (" error " .. c.error) or "",
      ok and (ep.host .. " " .. ep.signing_region .. "/" .. ep.signing_name)
        or ("error: " .. tostring(ep)))
  end
end
local n, failed = 0, 0
for _, name in ipairs(order) do
  local s = services[name]
  n = n + 1
  local good = #s.bad == 0
  if not good then failed = failed + 1 end
  print(string.format("%s %d - %s: %d cases, %d agree, %d explained as botocore's",
    good and "ok" or "not ok", n, name, s.n, s.agree, s.explained))
  for i = 1, math.min(limit, #s.bad) do print("#   " .. s.bad[i]) end
end
n = n + 1
local stale = {}
for _, k in ipairs(known) do
  if not used[k] then stale[#stale + 1] = k.service .. " " .. k.region .. " " .. k.variant end
end
print(string.format("%s %d - every known difference still differs%s", #stale == 0 and "ok" or "not ok",
  n, #stale == 0 and "" or (": stale " .. table.concat(stale, "; "))))
if #stale > 0 then failed = failed + 1 end
print("# agreement per variant (cases: agree / explained / differ):")
for _, v in ipairs(VARIANTS) do
  local c = counts[v]
  print(string.format("#   %-14s %5d agree  %d explained  %d differ", v, c[1], c[2], c[3]))
end
print("1.." .. n)
os.exit(failed == 0 and 0 or 1)
