--- Compare kumo.endpoints with botocore (tests/endpoints/botocore_endpoints.py).
-- Usage: kumo run tests/endpoints/compare.lua < endpoints.jsonl
-- Plain endpoints must agree (host, signing region, signing name) for every
-- region of every partition; the final `N passed, N failed` counts services
-- whose plain endpoints all agree. FIPS and dual-stack variants come from the
-- partition data (endpoints.json), which botocore's rule sets override in a
-- few partitions and services: their agreement is printed, not counted.
local json = require "kumo.json"
local endpoints = require "kumo.endpoints"
local model = require "kumo.model"

local function noenv() return nil end
local counts, shown = {}, 0
local services, order = {}, {}
for line in io.lines() do
  local c = json.decode(line)
  local function opt(v) if v == json.null then return nil end return v end
  local variant = (c.fips and "fips" or "") .. (c.dualstack and "dualstack" or "")
  if variant == "" then variant = "plain" end
  local meta = model.service(c.service).metadata
  local ok, ep = pcall(endpoints.resolve, { meta = meta, region = c.region, getenv = noenv,
    use_fips = c.fips, use_dualstack = c.dualstack })
  local good
  if opt(c.error) then
    good = not ok
  else
    good = ok and ep.host == c.host and ep.signing_region == c.signing_region
      and ep.signing_name == c.signing_name
  end
  counts[variant] = counts[variant] or { 0, 0 }
  if variant == "plain" then
    if services[c.service] == nil then order[#order + 1] = c.service; services[c.service] = true end
    if not good then services[c.service] = false end
  end
  if good then
    counts[variant][1] = counts[variant][1] + 1
  else
    counts[variant][2] = counts[variant][2] + 1
    if (variant == "plain" or os.getenv("SHOW_VARIANTS")) and shown < 30 then
      shown = shown + 1
      print(string.format("MISMATCH %s %s %s: botocore %s %s/%s%s, kumo %s", c.service, c.region,
        variant, tostring(opt(c.host)), tostring(opt(c.signing_region)), tostring(opt(c.signing_name)),
        opt(c.error) and (" error " .. c.error) or "",
        ok and (ep.host .. " " .. ep.signing_region .. "/" .. ep.signing_name) or ("error: " .. tostring(ep))))
    end
  end
end
for _, v in ipairs{ "plain", "fips", "dualstack" } do
  if counts[v] then
    print(string.format("%s endpoints: %d of %d (service, region) agree with botocore%s", v,
      counts[v][1], counts[v][1] + counts[v][2], v == "plain" and "" or " (informational)"))
  end
end
local ok_n, bad_n = 0, 0
for _, name in ipairs(order) do
  if services[name] then ok_n = ok_n + 1 else bad_n = bad_n + 1; print("FAILED service " .. name) end
end
print(string.format("%d passed, %d failed", ok_n, bad_n))
