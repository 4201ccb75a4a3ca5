--- `kumo __complete WORD...`: the candidates for the last word of a kumo
-- command line (hidden; the bash and zsh completions in completion/ call
-- it). Services, operations and parameters come from the models at
-- completion time, so a new model completes with no regeneration.
--
--     kumo __complete call rd           → rds
--     kumo __complete call rds describe-db-p → describe-db-proxies, ...
--     kumo __complete call rds describe-db-proxies db- → db-proxy-name=
-- @module kumo.cli.complete
local model = require "kumo.model"

local complete = {}

local COMMANDS = { "run", "call", "sandbox", "version", "help", "-e", "-i", "--debug" }
local CALL_OPTIONS = { "--profile", "--region", "--endpoint-url", "--ca-bundle", "--query", "--output",
  "--all", "--no-paginate", "--page-size", "--max-items", "--starting-token", "--cli-input-json",
  "--wait", "--debug", "--help" }
local SANDBOX_OPTIONS = { "stop", "--port", "--dir", "--region", "--faults", "--latency", "--lifecycle",
  "--no-org", "--no-org-sharing", "--check", "--exit-with", "--detach", "--help" }

-- botocore's pre-seeded names its rule would spell otherwise (botocore/__init__.py _xform_cache)
local SPECIAL = {
  AssociateWhatsAppBusinessAccount = "associate-whatsapp-business-account",
  CreateCachediSCSIVolume = "create-cached-iscsi-volume",
  CreateStorediSCSIVolume = "create-stored-iscsi-volume",
  CreateWhatsAppMessageTemplate = "create-whatsapp-message-template",
  CreateWhatsAppMessageTemplateFromLibrary = "create-whatsapp-message-template-from-library",
  CreateWhatsAppMessageTemplateMedia = "create-whatsapp-message-template-media",
  DeleteWhatsAppMessageMedia = "delete-whatsapp-message-media",
  DeleteWhatsAppMessageTemplate = "delete-whatsapp-message-template",
  DescribeCachediSCSIVolumes = "describe-cached-iscsi-volumes",
  DescribeStorediSCSIVolumes = "describe-stored-iscsi-volumes",
  DisassociateWhatsAppBusinessAccount = "disassociate-whatsapp-business-account",
  ExecutePartiQLBatch = "execute-partiql-batch",
  ExecutePartiQLStatement = "execute-partiql-statement",
  ExecutePartiQLTransaction = "execute-partiql-transaction",
  GetLinkedWhatsAppBusinessAccount = "get-linked-whatsapp-business-account",
  GetLinkedWhatsAppBusinessAccountPhoneNumber = "get-linked-whatsapp-business-account-phone-number",
  GetOTelEnrichment = "get-otel-enrichment",
  GetWhatsAppMessageMedia = "get-whatsapp-message-media",
  GetWhatsAppMessageTemplate = "get-whatsapp-message-template",
  ListHITsForQualificationType = "list-hits-for-qualification-type",
  ListLinkedWhatsAppBusinessAccounts = "list-linked-whatsapp-business-accounts",
  ListWhatsAppMessageTemplates = "list-whatsapp-message-templates",
  ListWhatsAppTemplateLibrary = "list-whatsapp-template-library",
  PostWhatsAppMessageMedia = "post-whatsapp-message-media",
  PutWhatsAppBusinessAccountEventDestinations = "put-whatsapp-business-account-event-destinations",
  SendWhatsAppMessage = "send-whatsapp-message",
  StartOTelEnrichment = "start-otel-enrichment",
  StopOTelEnrichment = "stop-otel-enrichment",
  UpdateWhatsAppMessageTemplate = "update-whatsapp-message-template",
}

--- A model name as the AWS CLI writes it (botocore's xform_name):
-- `DescribeDBProxies` → `describe-db-proxies`, `ListWebACLs` → `list-web-acls`.
-- @tparam string name
-- @treturn string
function complete.kebab(name)
  if SPECIAL[name] then return SPECIAL[name] end
  -- an acronym made plural ends the name as one word (GatewayARNs → gateway-arns)
  local plural = name:match("%u%u+s$")
  if plural then name = name:sub(1, -#plural - 1) .. "-" .. plural:lower() end
  local s = name:gsub("(.)(%u%l+)", "%1-%2")
  return (s:gsub("([%l%d])(%u)", "%1-%2"):lower())
end

local function matching(list, prefix)
  local out = {}
  for _, c in ipairs(list) do
    if c:sub(1, #prefix) == prefix then out[#out + 1] = c end
  end
  table.sort(out)
  return out
end

-- the model's name for a CLI (or model) spelling, or nil
local function find(names, wanted)
  local f = wanted:gsub("[-_]", ""):lower()
  for _, n in ipairs(names) do
    if n:lower() == f then return n end
  end
  return nil
end

local function call_candidates(words, cur)
  local prev = words[#words - 1]
  if prev == "--output" then return matching({ "json", "text", "table" }, cur) end
  if cur:sub(1, 1) == "-" then return matching(CALL_OPTIONS, cur) end
  -- positional words so far (options and their values left out)
  local pos, i = {}, 2
  while i < #words do
    local w = words[i]
    if w:match("^%-%-") then
      if w ~= "--all" and w ~= "--no-paginate" and w ~= "--debug" and w ~= "--help"
          and not w:find("=", 1, true) then i = i + 1 end
    else
      pos[#pos + 1] = w
    end
    i = i + 1
  end
  if #pos == 0 then return matching(model.services(), cur) end
  local service = pos[1]
  if not model.has(service) then return {} end
  local svc = model.service(service)
  local names = model.operation_names(svc)
  if #pos == 1 then
    local out = {}
    for j, n in ipairs(names) do out[j] = complete.kebab(n) end
    return matching(out, cur)
  end
  local op = find(names, pos[2])
  local op_model = op and svc.operations[op]
  local input = op_model and op_model.input and svc.shapes[op_model.input.shape]
  local out = {}
  for member in pairs(input and input.members or {}) do out[#out + 1] = complete.kebab(member) .. "=" end
  return matching(out, cur)
end

--- The candidates for the last of `words` (the words after `kumo`).
-- @tparam table words
-- @treturn table sorted list of strings
function complete.candidates(words)
  local cur = words[#words] or ""
  local first = 1
  while words[first] == "--debug" and first < #words do first = first + 1 end
  if first == #words then return matching(COMMANDS, cur) end
  local cmd = words[first]
  local rest = { table.unpack(words, first, #words) }
  if cmd == "call" then return call_candidates(rest, cur) end
  if cmd == "sandbox" then return matching(SANDBOX_OPTIONS, cur) end
  return {}
end

--- The hidden command: print the candidates, one a line.
-- @return exit status 0
function complete.main(...)
  local words = { ... }
  if #words == 0 then words = { "" } end
  for _, c in ipairs(complete.candidates(words)) do io.stdout:write(c, "\n") end
  return 0
end

return complete
