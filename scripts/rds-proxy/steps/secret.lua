--- RDS: the Secrets Manager secret holding the database credentials
-- (procedure step 2, authentication). Created only when the config gives
-- `secret = { name=, username=, password= }`; with `secret_arn` the
-- existing secret is used and never changed or deleted. The password is
-- never printed: a plan shows only that it differs.
-- @module rds-proxy.steps.secret
local json = require "kumo.json"

local step = { name = "secret", title = "Secrets Manager secret", account = "rds",
               needs = {},          -- nothing: the role and the proxy need it
               read_ahead = true }  -- found by its name: destroy reads it beside the others

function step.enabled(ctx)
  return ctx.pair.rds.secret ~= nil
end

local function describe(ctx, id)
  local out, err = ctx:read("rds", "secretsmanager", "DescribeSecret", { SecretId = id })
  if not out then
    if err.code == "ResourceNotFoundException" then return nil end
    error(err, 0)
  end
  return out
end

-- Found by its configured name. The journal's secret under another name
-- (secret.name renamed) is a copy to delete (`step.stale`) when it carries
-- the pair's tag; with `secret_arn` in place of `secret` the config names
-- no secret of kumo's, and the journal's is the one read (apply deletes
-- it, engine.lua).
function step.read(ctx)
  local made = ctx.pair.rds.secret
  local entry = ctx.state:get("secret")
  local live = made and describe(ctx, made.name)
  if live and live.DeletedDate then
    error(string.format("rds.secret.name: the secret %q is scheduled for deletion; restore it "
      .. "(aws secretsmanager restore-secret) or choose another name", made.name), 0)
  end
  if entry and entry.id and not (live and live.ARN == entry.id) then
    local former = describe(ctx, entry.id)
    if former and not former.DeletedDate and require("rds-proxy.context").tagged(former, ctx.pair.name) then
      if not made then return former end
      return live, { former }
    end
  end
  return live
end

--- kumo's secret of the pair under another name: secret.name was renamed.
function step.stale(ctx, live)
  local made = ctx.pair.rds.secret
  if made and live.Name ~= made.name then
    return string.format("secret.name changed: %q -> %q", tostring(live.Name), made.name)
  end
end

function step.id(live) return live.ARN end

local DEFAULT_KEY = "alias/aws/secretsmanager"

-- The secret's KMS key as shown and compared: "Secrets Manager uses the
-- key aws/secretsmanager" when none is given (CreateSecret, KmsKeyId).
local function kms_key(id)
  if type(id) ~= "string" or id == "" or id:match("alias/aws/secretsmanager$") then return DEFAULT_KEY end
  return id
end

function step.diff(ctx, live)
  local v = ctx:read("rds", "secretsmanager", "GetSecretValue", { SecretId = live.ARN })
  local cur = v and json.decode(v.SecretString or "") or {}
  local want = ctx.pair.rds.secret
  local d = {}
  if type(cur) ~= "table" or cur.username ~= want.username then
    d[#d + 1] = { key = "username", have = type(cur) == "table" and tostring(cur.username) or "?", want = want.username }
  end
  if type(cur) ~= "table" or cur.password ~= want.password then
    d[#d + 1] = { key = "password", have = "(hidden)", want = "(hidden, differs)" }
  end
  local key, wkey = kms_key(live.KmsKeyId), kms_key(want.kms_key_id)
  -- AWS answers with the key's ARN where the config may give its id
  if key ~= wkey and key:sub(-#wkey - 1) ~= "/" .. wkey then
    d[#d + 1] = { key = "KmsKeyId", have = key, want = kms_key(want.kms_key_id), kms = true }
  end
  local t = require("rds-proxy.tags").diff(ctx:tag_list(), live.Tags)
  if t then d[#d + 1] = t end
  return d
end

local function secret_string(ctx)
  local s = ctx.pair.rds.secret
  return json.encode{ username = s.username, password = s.password }
end

function step.create(ctx)
  local s = ctx.pair.rds.secret
  ctx.state:intend("secret", { name = s.name })
  -- the token is the first version's id, the same on every attempt and rerun
  local out, why = ctx:mutate("rds", "secretsmanager", "CreateSecret", {
    Name = s.name, SecretString = secret_string(ctx), KmsKeyId = s.kms_key_id,
    Description = "Database credentials for RDS Proxy " .. ctx.pair.rds.proxy_name .. " (kumo)",
    Tags = ctx:tag_list(), ClientRequestToken = ctx:token("secret"),
  }, nil, { adopt = { "ResourceExistsException" } })
  if why == "adopt" then
    local live = step.read(ctx)
    return ctx:adopt("secret", live, live and live.ARN)
  end
  ctx.state:created("secret", out.ARN)
  -- what read would find, from the answer (no second read)
  return { ARN = out.ARN, Name = out.Name, Tags = ctx:tag_list() }
end

function step.update(ctx, live, diffs)
  local value = false
  for _, d in ipairs(diffs) do
    if d.tags then require("rds-proxy.tags").apply(ctx, "rds", "secretsmanager", live.ARN, d.tags)
    elseif d.kms then
      -- re-encrypts the current version with the key (UpdateSecret)
      ctx:mutate("rds", "secretsmanager", "UpdateSecret", { SecretId = live.ARN, KmsKeyId = d.want })
    else value = true end
  end
  if value then
    ctx:mutate("rds", "secretsmanager", "PutSecretValue", { SecretId = live.ARN, SecretString = secret_string(ctx) })
  end
  return step.read(ctx)
end

function step.verify(ctx, live)
  local d = step.diff(ctx, live)
  local problems = {}
  for _, x in ipairs(d) do
    problems[#problems + 1] = "secret " .. x.key .. " differs from the config"
      .. (x.tags and (": " .. x.have .. ", config says " .. x.want) or "")
  end
  return problems
end

function step.delete(ctx, live)
  -- kumo made it with the config's password: nothing to recover
  ctx:mutate("rds", "secretsmanager", "DeleteSecret", { SecretId = live.ARN, ForceDeleteWithoutRecovery = true },
    { "ResourceNotFoundException" })
  -- "Secrets Manager performs the actual deletion with an asynchronous and
  -- long-running process" (DeleteSecret): wait until it is not found, so
  -- the engine's read-back sees it gone
  for _ = 1, 30 do
    local out, err = ctx:read("rds", "secretsmanager", "DescribeSecret", { SecretId = live.ARN }, { fresh = true })
    if not out then
      if err.code == "ResourceNotFoundException" then return end
      error(err, 0)
    end
    ctx:sleep(1)
  end
end

return step
