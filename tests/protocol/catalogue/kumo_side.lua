--- The kumo side of the catalogue's differential serializer test: reads
-- the JSON lines botocore_side.py wrote (their inputs only), serializes each
-- input with kumo's protocol of its service (kumo.model picks it) and
-- writes one JSON line per input: method, URL at https://svc.example.com
-- (host prefix and query as kumo.call.prepare builds them), headers and
-- the body in base64, or `err` when kumo refuses the input.
--
--     bin/kumo run tests/protocol/catalogue/kumo_side.lua < cases.jsonl > kumo.jsonl
local json = require "kumo.json"
local crypto = require "kumo.crypto"
local model = require "kumo.model"
local prepare = require "kumo.call.prepare"

local ENDPOINT = { scheme = "https", authority = "svc.example.com", path = "" }
-- Idempotency tokens are always in the inputs; a token kumo made up would
-- show as a difference, so make it loud.
local CTX = { uuid = function() return "kumo-made-this-token" end }

local modules = {}
local function protocol_of(svc)
  local p = svc.metadata.protocol
  local m = modules[p]
  if not m then
    m = require("kumo.protocol." .. p:gsub("-", "_"))
    modules[p] = m
  end
  return m
end

local current
local out = io.stdout
for line in io.lines() do
  local case = json.decode(line)
  if case.s ~= current then
    -- one model in memory at a time: 424 models would be ~1 GB as tables
    model.reset()
    current = case.s
  end
  local r = { id = case.id }
  if case.skip then
    r.skip = case.skip
  else
    local svc = model.service(case.s)
    local ok, req = pcall(protocol_of(svc).serialize, svc, model.operation(svc, case.o),
      case["in"], CTX)
    if not ok then
      r.err = tostring(req)
    else
      local url = prepare.url(ENDPOINT, req)
      local headers = {}
      for _, h in ipairs(req.headers or {}) do headers[#headers + 1] = { h[1], h[2] } end
      local body = req.body or ""
      if type(body) ~= "string" then body = "<" .. type(body) .. " body>" end
      r.method, r.url, r.headers = req.method or "POST", url, headers
      r.body = crypto.base64_encode(body)
    end
  end
  out:write(json.encode(r), "\n")
end
