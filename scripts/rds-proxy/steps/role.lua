--- RDS: the IAM role the proxy assumes to read the secret (procedure step
-- 2). Created only when `rds.role_arn` is not given; its one inline policy
-- allows `secretsmanager:GetSecretValue` on that secret only (plus
-- `kms:Decrypt` through Secrets Manager when the secret has its own key).
-- @module rds-proxy.steps.role
local json = require "kumo.json"

local step = { name = "role", title = "IAM role for the proxy", account = "rds",
               read_ahead = true,  -- found by its name: destroy reads it beside the others
               -- role names are unique per account: a fresh apply creates at once (engine.lua)
               create_first = { "EntityAlreadyExists" } }

local TRUST = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
  .. '"Principal":{"Service":"rds.amazonaws.com"},"Action":"sts:AssumeRole"}]}'

function step.enabled(ctx)
  return ctx.pair.rds.role_arn == nil
end

local function urldecode(s)
  return (s:gsub("+", " "):gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

local function decode_doc(doc)
  if type(doc) ~= "string" then return nil end
  local t = json.decode(doc)
  if t == nil then t = json.decode(urldecode(doc)) end
  return t
end

--- The policy document the role should have.
function step.policy(ctx)
  local statements = {
    { Effect = "Allow", Action = "secretsmanager:GetSecretValue", Resource = { ctx.pair.rds.secret_arn or ctx.ids.secret } },
  }
  local key = ctx.facts.secret_kms_key_id
  -- the secret kumo makes: its key as the config gives it (a key ARN: an
  -- IAM policy names keys by ARN)
  local made = ctx.pair.rds.secret
  if not key and made and type(made.kms_key_id) == "string" and made.kms_key_id:match("^arn:aws[%w-]*:kms:.+:key/") then
    key = made.kms_key_id
  end
  if key and not key:match("alias/aws/secretsmanager$") then
    statements[2] = { Effect = "Allow", Action = "kms:Decrypt", Resource = key,
      Condition = { StringEquals = { ["kms:ViaService"] =
        "secretsmanager." .. ctx.pair.region .. ".amazonaws.com" } } }
  end
  return { Version = "2012-10-17", Statement = statements }
end

local function policy_resources(doc)
  local set = {}
  for _, st in ipairs(type(doc) == "table" and doc.Statement or {}) do
    local res = st.Resource
    if type(res) == "string" then res = { res } end
    local act = st.Action
    if type(act) == "string" then act = { act } end
    for _, a in ipairs(act or {}) do
      for _, r in ipairs(res or {}) do set[#set + 1] = a .. " on " .. r end
    end
  end
  table.sort(set)
  return table.concat(set, "; ")
end

-- The account's roles by name, in one ListRoles (1000 a page) for every
-- pair of the run: worth it from two pairs on (one pair asks GetRole).
-- ListRoles returns no tags: a role found there is read with GetRole,
-- except by destroy when the journal says kumo made it (deleted by name).
local function survey(ctx)
  return ctx:survey("rds", "iam", "roles", function(peers, reader)
    if #peers < 2 then return nil end
    local ok, pages = pcall(reader.read_all, reader, "rds", "iam", "ListRoles", { MaxItems = 1000 })
    if not ok then return nil end
    local byname = {}
    for _, page in ipairs(pages) do
      for _, r in ipairs(page.Roles or {}) do byname[r.RoleName] = r end
    end
    return byname
  end)
end

function step.read(ctx)
  local all = survey(ctx)
  if all then
    local r = all[ctx.pair.names.role]
    if not r then return nil end
    if ctx.action == "destroy" and ctx.state:owns("role") then return r end
  end
  local out, err = ctx:read("rds", "iam", "GetRole", { RoleName = ctx.pair.names.role })
  if not out then
    if err.code == "NoSuchEntity" then return nil end
    error(err, 0)
  end
  local live = out.Role
  -- destroy deletes the policy by name whatever it says: no need to read it
  if ctx.action == "destroy" then return live end
  local pol = ctx:read("rds", "iam", "GetRolePolicy", { RoleName = ctx.pair.names.role,
                                                         PolicyName = ctx.pair.names.role_policy })
  live.policy = pol and decode_doc(pol.PolicyDocument)
  return live
end

function step.id(live) return live.Arn end

local function trusts_rds(doc)
  for _, st in ipairs(type(doc) == "table" and doc.Statement or {}) do
    local p = st.Principal and st.Principal.Service
    if st.Effect == "Allow" and (p == "rds.amazonaws.com" or (type(p) == "table" and p[1] == "rds.amazonaws.com")) then
      return true
    end
  end
  return false
end

--- The trust test and the policy decoder, for the pre-check of a given role.
step.trusts_rds = trusts_rds
step.decode_doc = decode_doc

function step.diff(ctx, live)
  local d = {}
  local have = policy_resources(live.policy)
  local want = policy_resources(step.policy(ctx))
  if have ~= want then
    d[#d + 1] = { key = "policy", have = have ~= "" and have or "(none)", want = want }
  end
  if not trusts_rds(decode_doc(live.AssumeRolePolicyDocument)) then
    d[#d + 1] = { key = "trust", have = "does not trust rds.amazonaws.com", want = "rds.amazonaws.com may assume it" }
  end
  local t = require("rds-proxy.tags").diff(ctx:tag_list(), live.Tags)
  if t then d[#d + 1] = t end
  return d
end

local function put_policy(ctx)
  ctx:mutate("rds", "iam", "PutRolePolicy", { RoleName = ctx.pair.names.role,
    PolicyName = ctx.pair.names.role_policy, PolicyDocument = json.encode(step.policy(ctx)) })
end

function step.create(ctx)
  ctx.state:intend("role", { name = ctx.pair.names.role })
  local out, why = ctx:mutate("rds", "iam", "CreateRole", {
    RoleName = ctx.pair.names.role, AssumeRolePolicyDocument = TRUST,
    Description = "RDS Proxy " .. ctx.pair.rds.proxy_name .. " reads its secret (kumo)",
    Tags = ctx:tag_list(),
  }, nil, { adopt = { "EntityAlreadyExists" } })
  local live
  if why == "adopt" then
    live = step.read(ctx)
    ctx:adopt("role", live, live and live.Arn)
  else
    -- CreateRole answers with the role it made (ARN, trust, tags): what a
    -- read would find, so none is made (IAM answers GetRole for a new role
    -- at once; a wait for it proved nothing RDS needs)
    live = out.Role
    ctx.state:created("role", live.Arn)
  end
  put_policy(ctx)
  live.policy = step.policy(ctx)  -- the document just put
  return live
end

function step.update(ctx, _, diffs)
  for _, d in ipairs(diffs) do
    if d.key == "policy" then put_policy(ctx)
    elseif d.key == "trust" then
      ctx:mutate("rds", "iam", "UpdateAssumeRolePolicy", { RoleName = ctx.pair.names.role, PolicyDocument = TRUST })
    elseif d.tags then
      require("rds-proxy.tags").apply(ctx, "rds", "iam", ctx.pair.names.role, d.tags)
    end
  end
  return step.read(ctx)
end

function step.verify(ctx, live)
  local problems = {}
  for _, d in ipairs(step.diff(ctx, live)) do
    if d.key == "policy" then
      problems[#problems + 1] = string.format("role policy allows %s; expected only %s", d.have, d.want)
    elseif d.key == "trust" then
      problems[#problems + 1] = "the role does not trust rds.amazonaws.com"
    else
      problems[#problems + 1] = string.format("role %s are %s, config says %s", d.key, d.have, d.want)
    end
  end
  return problems
end

function step.delete(ctx)
  ctx:mutate("rds", "iam", "DeleteRolePolicy", { RoleName = ctx.pair.names.role,
    PolicyName = ctx.pair.names.role_policy }, { "NoSuchEntity" })
  ctx:mutate("rds", "iam", "DeleteRole", { RoleName = ctx.pair.names.role }, { "NoSuchEntity" })
end

return step
