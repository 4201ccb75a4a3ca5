--- Compare kumo.endpoints with botocore (tests/endpoints/botocore_endpoints.py).
-- Usage: kumo run tests/endpoints/compare.lua < endpoints.jsonl
-- One test per case (service, region or none, variant: plain, FIPS,
-- dual-stack, FIPS + dual-stack; STS also with sts_regional_endpoints =
-- legacy): kumo and botocore must agree on the host, the signing region and
-- the signing name, or both refuse (kumo's error against botocore's
-- NoRegionError, EndpointVariantError or the rule set's error). Every case
-- agrees; a case that could not would be listed here with the reason.
-- SHOW=N prints up to N mismatches (default 30).
local json = require "kumo.json"
local endpoints = require "kumo.endpoints"
local model = require "kumo.model"

local function noenv() return nil end
local function opt(v) if v == json.null then return nil end return v end
local VARIANTS = { "plain", "fips", "dualstack", "fipsdualstack" }
local counts = {}
for _, v in ipairs(VARIANTS) do counts[v] = { 0, 0 } end
local limit = tonumber(os.getenv("SHOW") or "") or 30
local passed, failed, shown = 0, 0, 0
for line in io.lines() do
  local c = json.decode(line)
  local variant = (c.fips and "fips" or "") .. (c.dualstack and "dualstack" or "")
  if variant == "" then variant = "plain" end
  local meta = model.service(c.service).metadata
  local region = opt(c.region)
  local ok, ep = pcall(endpoints.resolve, { meta = meta, region = region, getenv = noenv,
    use_fips = c.fips, use_dualstack = c.dualstack,
    sts_regional_endpoints = opt(c.sts_regional_endpoints) })
  local good
  if opt(c.error) then
    good = not ok
  else
    good = ok and ep.host == c.host and ep.signing_region == c.signing_region
      and ep.signing_name == c.signing_name
  end
  if good then
    passed = passed + 1
    counts[variant][1] = counts[variant][1] + 1
  else
    failed = failed + 1
    counts[variant][2] = counts[variant][2] + 1
    if shown < limit then
      shown = shown + 1
      print(string.format("MISMATCH %s %s %s%s: botocore %s %s/%s%s, kumo %s", c.service,
        tostring(region), variant,
        opt(c.sts_regional_endpoints) == "legacy" and " (sts legacy)" or "",
        tostring(opt(c.host)), tostring(opt(c.signing_region)), tostring(opt(c.signing_name)),
        opt(c.error) and (" error " .. c.error) or "",
        ok and (ep.host .. " " .. ep.signing_region .. "/" .. ep.signing_name) or ("error: " .. tostring(ep))))
    end
  end
end
for _, v in ipairs(VARIANTS) do
  local n = counts[v]
  print(string.format("%s: %d of %d cases agree with botocore", v, n[1], n[1] + n[2]))
end
print(string.format("%d passed, %d failed", passed, failed))
os.exit(failed == 0 and 0 or 1)
