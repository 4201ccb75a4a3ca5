--- Read-only checks and discovery before anything changes (facts §3.1):
-- both accounts' identities, one organization, the APP subnets (one VPC,
-- at least two distinct AZ IDs, not default subnets, free addresses), the
-- client security groups, the database (engine, port, VPC, subnets,
-- security groups, state), the proxy subnets, the secret, a given proxy
-- role, the sizes AWS limits, and RAM sharing with the organization where
-- an account can read it. Fills `ctx.facts`; returns the problems found,
-- each saying how to fix it. A check that AWS throttled or could not
-- answer is reported as that, never as the config key's fault.
-- @module rds-proxy.prechecks
local json = require "kumo.json"

local M = {}

local ENGINE_FAMILY = {
  postgres = "POSTGRESQL", ["aurora-postgresql"] = "POSTGRESQL",
  mysql = "MYSQL", mariadb = "MYSQL", ["aurora-mysql"] = "MYSQL", aurora = "MYSQL",
}

local function family_of(engine)
  if engine:match("^sqlserver") then return "SQLSERVER" end
  return ENGINE_FAMILY[engine]
end

local function fail(problems, key, msg)
  problems[#problems + 1] = key .. ": " .. msg
end

--- True when `err` says AWS throttled or was unavailable (not the config's fault).
function M.transient(err)
  if type(err) ~= "table" then return false end
  if require("kumo.errors").is_transient(err) then return true end
  -- a retry policy that gave up marks the error; one that did not retry
  -- (standard mode, a waiter's poll) leaves only its fields to read
  return err.throttling == true or err.retryable == true or (err.http_status or err.status or 0) >= 500
    or err.kind == "transport" or err.transport == true or err.retries_exhausted == true
end

-- A read that failed: transient failures say so and blame nothing;
-- others get `msg` (which names the key and the fix).
local function read_failed(problems, key, err, msg)
  if M.transient(err) then
    problems[#problems + 1] = string.format("AWS throttled/unavailable while checking %s (%s); the config is "
      .. "fine; rerun", key, tostring(err))
  else
    fail(problems, key, msg)
  end
end

-- Run `fns` (each `function(problems)`, its own list) at once inside a
-- scheduler task, else one after another; their lists in the given order.
-- The first error raised (a signal, a bug) is raised once all have ended.
local function concurrently(fns)
  local sched = require "kumo.sched"
  local lists = {}
  for i = 1, #fns do lists[i] = {} end
  if not sched.current() then
    for i, f in ipairs(fns) do f(lists[i]) end
    return lists
  end
  local tasks = {}
  for i, f in ipairs(fns) do
    tasks[i] = sched.spawn(function() f(lists[i]) end, { name = "pre-check " .. i, quiet = true, hidden = true })
  end
  local first
  for _, t in ipairs(tasks) do
    local ok, err = pcall(t.wait, t)
    if not ok and first == nil then first = err end
  end
  if first ~= nil then error(first, 0) end
  return lists
end

local function identities(ctx, problems)
  local f = ctx.facts
  local function identify(side)
    return function(list)
      -- a session of an assumed role acts in the role's account: no call
      local known = ctx.known_account and ctx:known_account(side)
      if known then
        f[side .. "_account"] = known
        return
      end
      local out, err = ctx:read(side, "sts", "GetCallerIdentity")
      if not out then
        read_failed(list, side .. ".profile", err, "cannot identify the " .. side:upper() .. " account: "
          .. tostring(err))
      else
        f[side .. "_account"] = out.Account
      end
    end
  end
  for _, list in ipairs(concurrently{ identify("app"), identify("rds") }) do
    for _, p in ipairs(list) do problems[#problems + 1] = p end
  end
  if f.app_account and f.app_account == f.rds_account then
    fail(problems, "rds.profile", "APP and RDS are the same account (" .. f.app_account
      .. "); this workflow shares subnets across two accounts")
  end
end

-- Subnets can be shared only inside one organization with RAM sharing on
-- (facts §0.1): check it before creating anything.
local function organization(ctx, problems)
  local ids = {}
  -- both accounts asked at once; their answers judged in order
  local answers = {}
  concurrently{
    function() answers.app = table.pack(ctx:read("app", "organizations", "DescribeOrganization")) end,
    function() answers.rds = table.pack(ctx:read("rds", "organizations", "DescribeOrganization")) end,
  }
  for _, side in ipairs{ "app", "rds" } do
    local out, err = answers[side][1], answers[side][2]
    if not out then
      if err.code == "AWSOrganizationsNotInUseException" then
        fail(problems, side .. ".profile", string.format("the %s account (%s) is not in an AWS Organization. "
          .. "VPC subnets can be shared through RAM only with accounts of the same organization, "
          .. "with sharing enabled by the management account (RAM EnableSharingWithAwsOrganization). "
          .. "Put both accounts in one organization, or use another design (e.g. PrivateLink)",
          side:upper(), tostring(ctx.facts[side .. "_account"])))
      else
        read_failed(problems, side .. ".profile", err, "cannot read the organization: " .. tostring(err))
      end
    else
      ids[side] = out.Organization.Id
      ctx.facts.organization = out.Organization
    end
  end
  if ids.app and ids.rds and ids.app ~= ids.rds then
    fail(problems, "rds.profile", string.format("APP is in organization %s and RDS in %s: subnets can be "
      .. "shared only inside one organization", ids.app, ids.rds))
  end
end

-- The CIDR blocks associated with a VPC, for the graph (--graph shows
-- them on the VPC); an answer that fails is no problem of the config.
-- Read only when --graph is asked: nothing else uses them.
local function vpc_cidrs(ctx, side, vpc_id)
  if not ctx.graph then return nil end
  local out = vpc_id and ctx:read(side, "ec2", "DescribeVpcs", { VpcIds = { vpc_id } })
  local v = out and out.Vpcs and out.Vpcs[1]
  if not v then return nil end
  local list = {}
  for _, a in ipairs(v.CidrBlockAssociationSet or {}) do
    local st = a.CidrBlockState and a.CidrBlockState.State
    if a.CidrBlock and (st == nil or st == "associated") then list[#list + 1] = a.CidrBlock end
  end
  if #list == 0 and v.CidrBlock then list[1] = v.CidrBlock end
  return list
end

local function app_subnets(ctx, problems)
  local app = ctx.pair.app
  local out, err = ctx:read("app", "ec2", "DescribeSubnets", { SubnetIds = app.subnet_ids })
  if not out then
    read_failed(problems, "app.subnet_ids", err, "cannot describe the subnets in the APP account: " .. tostring(err)
      .. " — check the ids and that they are in " .. ctx.pair.region)
    return
  end
  local azs, byid = {}, {}
  for _, s in ipairs(out.Subnets or {}) do byid[s.SubnetId] = s end
  for i, id in ipairs(app.subnet_ids) do
    local s = byid[id]
    local key = string.format("app.subnet_ids[%d]", i)
    if not s then
      fail(problems, key, id .. " was not found in the APP account")
    else
      if s.VpcId ~= app.vpc_id then
        fail(problems, key, string.format("%s belongs to %s, not to app.vpc_id %s", id, s.VpcId, app.vpc_id))
      end
      if s.DefaultForAz then
        fail(problems, key, id .. " is a default subnet; default subnets cannot be shared — use subnets of a non-default VPC")
      end
      if s.State and s.State ~= "available" then
        fail(problems, key, id .. " is " .. s.State .. ", not available")
      end
      if s.AvailableIpAddressCount and s.AvailableIpAddressCount < 3 then
        fail(problems, key, string.format("%s has %d free addresses; a proxy endpoint needs at least 3 per subnet",
          id, s.AvailableIpAddressCount))
      end
      azs[s.AvailabilityZoneId or s.AvailabilityZone] = true
    end
  end
  local n = 0
  for _ in pairs(azs) do n = n + 1 end
  if #app.subnet_ids >= 2 and n < 2 then
    fail(problems, "app.subnet_ids", "the subnets are all in one availability zone (by AZ ID); "
      .. "a proxy endpoint needs subnets in at least two")
  end
  ctx.facts.app_subnets = out.Subnets
  ctx.facts.app_az_ids = azs
  ctx.facts.app_vpc_cidrs = vpc_cidrs(ctx, "app", app.vpc_id)
end

local function client_groups(ctx, problems)
  local app = ctx.pair.app
  local out, err = ctx:read("app", "ec2", "DescribeSecurityGroups", { GroupIds = app.client_security_group_ids })
  if not out then
    read_failed(problems, "app.client_security_group_ids", err, "cannot describe them in the APP account: "
      .. tostring(err))
    return
  end
  for _, g in ipairs(out.SecurityGroups or {}) do
    if g.VpcId ~= app.vpc_id then
      fail(problems, "app.client_security_group_ids", string.format("%s is in %s, not in app.vpc_id %s",
        g.GroupId, tostring(g.VpcId), app.vpc_id))
    end
  end
end

-- A proxy target must be available, modifying or backing-up.
local READY = { available = true, modifying = true, ["backing-up"] = true }
-- States a database leaves by itself: apply waits, plan says so.
local SETTLING = { creating = true, rebooting = true, starting = true, upgrading = true, renaming = true,
  ["configuring-enhanced-monitoring"] = true, ["configuring-iam-database-auth"] = true,
  ["configuring-log-exports"] = true, ["resetting-master-credentials"] = true, maintenance = true,
  ["storage-optimization"] = true, ["moving-to-vpc"] = true, ["converting-to-vpc"] = true,
  migrating = true, ["backtracking"] = true, promoting = true }

-- Decide on a database state. Returns true when apply waited for it (the
-- caller reads it again).
local function settle(ctx, problems, key, id, status, waited)
  -- destroy removes kumo's parts whatever state the database is in
  if READY[status] or ctx.action == "destroy" then return false end
  if not SETTLING[status] then
    fail(problems, key, string.format("%s is %s; a proxy target must be available, modifying or backing-up%s",
      id, tostring(status), status == "stopped" and " — start it (aws rds start-db-instance/start-db-cluster)"
        or " — fix the database first"))
    return false
  end
  if ctx.action ~= "apply" or waited then
    ctx:note(string.format("the database %s is %s; apply waits for it to be available before changing anything",
      id, status))
    return false
  end
  ctx.progress(ctx.pair.name, "waiting for the database " .. id .. " (" .. status .. ")")
  local cluster = key == "rds.db_cluster_identifier"
  local ok, err = pcall(ctx.wait, ctx, "rds", "rds", cluster and "DBClusterAvailable" or "DBInstanceAvailable",
    cluster and { DBClusterIdentifier = id } or { DBInstanceIdentifier = id }, ctx.timeouts.wait)
  if not ok then
    read_failed(problems, key, err, string.format("%s was %s and did not become available: %s", id, status,
      tostring(err)))
    return false
  end
  return true
end

-- Lists of at most `n` from `list`, for APIs that take so many values.
local function chunks(list, n)
  local out = {}
  for i = 1, #list, n do out[#out + 1] = table.move(list, i, math.min(i + n - 1, #list), 1, {}) end
  return out
end

-- Every page of `op` for each chunk of `values` (`params(chunk)`), or nil
-- and the error.
local function read_chunks(ctx, side, service, op, values, n, params)
  local pages = {}
  for _, c in ipairs(chunks(values, n)) do
    for _, page in ipairs(ctx:read_all(side, service, op, params(c))) do pages[#pages + 1] = page end
  end
  return pages
end

-- The run's DB instances, one DescribeDBInstances for all pairs ("db-instance-id
-- - Accepts DB instance identifiers and DB instance ARNs", RDS API
-- reference): `{ [id] = instance }` and the ids it covered.
local function instances_survey(ctx)
  return ctx:survey("rds", "rds", "db-instances", function(peers, r)
    local ids, seen = {}, {}
    for _, p in ipairs(peers) do
      local id = p.rds.db_instance_identifier
      if id and not seen[id] then ids[#ids + 1], seen[id] = id, true end
    end
    local ok, pages = pcall(read_chunks, r, "rds", "rds", "DescribeDBInstances", ids, 100, function(c)
      return { Filters = { { Name = "db-instance-id", Values = c } } }
    end)
    if not ok then return nil end
    local found = {}
    for _, page in ipairs(pages) do
      for _, i in ipairs(page.DBInstances or {}) do found[i.DBInstanceIdentifier] = i end
    end
    return { found = found, covered = seen }
  end)
end

-- `waited`: apply waited for the database; the read again must not be the
-- memo's answer from before the wait.
local function database(ctx, problems, waited)
  local rds = ctx.pair.rds
  local db = {}
  if rds.db_instance_identifier then
    local survey = not waited and instances_survey(ctx)
    local one = survey and survey.found[rds.db_instance_identifier]
    -- not in the survey: its own read says why (not found, denied, ...)
    local out, err
    if one then out = { DBInstances = { one } } else
      out, err = ctx:read("rds", "rds", "DescribeDBInstances", { DBInstanceIdentifier = rds.db_instance_identifier },
        { fresh = waited })
    end
    if not out then
      read_failed(problems, "rds.db_instance_identifier", err, string.format(
        "%s: %s — check the identifier and the region", rds.db_instance_identifier, tostring(err)))
      return
    end
    local i = out.DBInstances[1]
    db.engine, db.status = i.Engine, i.DBInstanceStatus
    db.port = i.Endpoint and i.Endpoint.Port or i.DbInstancePort
    db.vpc_id = i.DBSubnetGroup and i.DBSubnetGroup.VpcId
    db.subnet_ids = {}
    for _, s in ipairs(i.DBSubnetGroup and i.DBSubnetGroup.Subnets or {}) do
      db.subnet_ids[#db.subnet_ids + 1] = s.SubnetIdentifier
    end
    db.security_group_ids = {}
    for _, g in ipairs(i.VpcSecurityGroups or {}) do
      db.security_group_ids[#db.security_group_ids + 1] = g.VpcSecurityGroupId
    end
    if settle(ctx, problems, "rds.db_instance_identifier", rds.db_instance_identifier, db.status, waited) then
      return database(ctx, problems, true)
    end
  else
    local out, err = ctx:read("rds", "rds", "DescribeDBClusters", { DBClusterIdentifier = rds.db_cluster_identifier },
      { fresh = waited })
    if not out then
      read_failed(problems, "rds.db_cluster_identifier", err, rds.db_cluster_identifier .. ": " .. tostring(err)
        .. " — check the identifier and the region")
      return
    end
    local c = out.DBClusters[1]
    db.engine, db.status, db.port = c.Engine, c.Status, c.Port
    if settle(ctx, problems, "rds.db_cluster_identifier", rds.db_cluster_identifier, db.status, waited) then
      return database(ctx, problems, true)
    end
    db.security_group_ids = {}
    for _, g in ipairs(c.VpcSecurityGroups or {}) do
      db.security_group_ids[#db.security_group_ids + 1] = g.VpcSecurityGroupId
    end
    local sg = c.DBSubnetGroup and ctx:read("rds", "rds", "DescribeDBSubnetGroups", { DBSubnetGroupName = c.DBSubnetGroup })
    if sg and sg.DBSubnetGroups and sg.DBSubnetGroups[1] then
      local g = sg.DBSubnetGroups[1]
      db.vpc_id = g.VpcId
      db.subnet_ids = {}
      for _, s in ipairs(g.Subnets or {}) do db.subnet_ids[#db.subnet_ids + 1] = s.SubnetIdentifier end
    end
  end
  local fam = db.engine and family_of(db.engine)
  if fam and fam ~= rds.engine_family then
    fail(problems, "rds.engine_family", string.format("the database engine is %s, which takes %s, not %s",
      db.engine, fam, rds.engine_family))
  end
  if #db.security_group_ids == 0 then
    fail(problems, "rds.db_instance_identifier", "the database has no VPC security group to admit the proxy")
  end
  ctx.facts.db = db
end

local function proxy_subnets(ctx, problems)
  local db = ctx.facts.db
  if not db then return end
  local ids = ctx.pair.rds.proxy_subnet_ids or db.subnet_ids or {}
  local key = ctx.pair.rds.proxy_subnet_ids and "rds.proxy_subnet_ids" or "rds.db_instance_identifier"
  local out, err = ctx:read("rds", "ec2", "DescribeSubnets", { SubnetIds = ids })
  if not out then
    read_failed(problems, key, err, "cannot describe the proxy subnets: " .. tostring(err))
    return
  end
  local azs, n = {}, 0
  for _, s in ipairs(out.Subnets or {}) do
    if db.vpc_id and s.VpcId ~= db.vpc_id then
      fail(problems, key, string.format("%s is in %s; the proxy must be in the database's VPC %s",
        s.SubnetId, s.VpcId, db.vpc_id))
    end
    local az = s.AvailabilityZoneId or s.AvailabilityZone
    if not azs[az] then n = n + 1 end
    azs[az] = true
  end
  if n < 2 then
    fail(problems, key, "the proxy needs subnets in at least two availability zones of the database's VPC")
  end
  ctx.facts.proxy_subnet_ids = ids
  ctx.facts.proxy_az_ids = azs
  db.vpc_cidrs = vpc_cidrs(ctx, "rds", db.vpc_id)
end

-- Once both subnet checks have run: AZ names differ per account, so
-- compare AZ IDs (facts §1).
local function az_notes(ctx)
  local azs = ctx.facts.proxy_az_ids
  if not azs then return end
  for az in pairs(ctx.facts.app_az_ids or {}) do
    if not azs[az] then
      ctx:note(string.format("the endpoint subnet AZ %s has no proxy subnet: traffic from it crosses zones", az))
    end
  end
end

-- The secret exists, is readable and holds the user the proxy logs in as
-- (its value is read only to find the username and never shown).
-- The secret's name in its ARN (`...:secret:NAME-AbCdEf`), or the id itself.
local function secret_name(id)
  local name = id:match(":secret:(.+)$")
  if not name then return id end
  return name:match("^(.+)%-%w%w%w%w%w%w$") or name
end

-- Does `entry` (ARN and Name) answer for secret id `id` (a full or partial ARN, or a name)?
local function is_secret(entry, id)
  return entry.ARN == id or entry.Name == id or (entry.ARN or ""):sub(1, #id + 1) == id .. "-"
end

-- The run's secrets, described in one ListSecrets per 10 names ("Values
-- ... Maximum number of 10 items", Filter, Secrets Manager API reference;
-- planned deletions included, so they are seen) and their values in one
-- BatchGetSecretValue per 20 ("SecretIdList ... Maximum number of 20
-- items"). Entries a pair does not find here are read on their own.
local function secrets_survey(ctx, kind)
  return ctx:survey("rds", "secretsmanager", "secrets-" .. kind, function(peers, r)
    local ids, names, seen = {}, {}, {}
    for _, p in ipairs(peers) do
      local id = p.rds.secret_arn
      if id and not seen[id] then
        seen[id] = true
        ids[#ids + 1] = id
        names[#names + 1] = secret_name(id)
      end
    end
    local list = {}
    local ok = pcall(function()
      if kind == "meta" then
        for _, page in ipairs(read_chunks(r, "rds", "secretsmanager", "ListSecrets", names, 10, function(c)
            return { IncludePlannedDeletion = true, Filters = { { Key = "name", Values = c } } }
          end)) do
          for _, e in ipairs(page.SecretList or {}) do list[#list + 1] = e end
        end
      else
        for _, c in ipairs(chunks(ids, 20)) do
          local out, err = r:read("rds", "secretsmanager", "BatchGetSecretValue", { SecretIdList = c })
          if not out then error(err, 0) end
          for _, e in ipairs(out.SecretValues or {}) do list[#list + 1] = e end
        end
      end
    end)
    if not ok then return nil end
    return list
  end)
end

local function survey_entry(ctx, kind, id)
  for _, e in ipairs(secrets_survey(ctx, kind) or {}) do
    if is_secret(e, id) then return e end
  end
end

local function secret(ctx, problems)
  local rds = ctx.pair.rds
  if not rds.secret_arn then return end
  local out, err = survey_entry(ctx, "meta", rds.secret_arn), nil
  if not out then
    out, err = ctx:read("rds", "secretsmanager", "DescribeSecret", { SecretId = rds.secret_arn })
  end
  if not out then
    read_failed(problems, "rds.secret_arn", err, "cannot read the secret in the RDS account: " .. tostring(err)
      .. " — check the ARN and that it is in the RDS account")
    return
  elseif out.DeletedDate then
    fail(problems, "rds.secret_arn", "the secret is scheduled for deletion; restore it (RestoreSecret) or use another")
    return
  end
  ctx.facts.secret_kms_key_id = out.KmsKeyId
  ctx.facts.secret_full_arn = out.ARN
  -- a secret scheduled for deletion failed above; BatchGetSecretValue
  -- lists the others' values
  local v, verr = survey_entry(ctx, "value", rds.secret_arn), nil
  if not v then
    v, verr = ctx:read("rds", "secretsmanager", "GetSecretValue", { SecretId = rds.secret_arn })
  end
  if not v then
    read_failed(problems, "rds.secret_arn", verr, "kumo cannot read the secret's value (GetSecretValue: "
      .. tostring(verr and verr.code) .. "); the check needs it to find the username — allow "
      .. "secretsmanager:GetSecretValue to the deploying role, or check the secret by hand")
    return
  end
  local doc = type(v.SecretString) == "string" and json.decode(v.SecretString) or nil
  if type(doc) ~= "table" or type(doc.username) ~= "string" or doc.username == "" then
    fail(problems, "rds.secret_arn", "the secret holds no \"username\": RDS Proxy reads a JSON secret "
      .. "{\"username\": ..., \"password\": ...}; store the database user in it")
  elseif type(doc.password) ~= "string" or doc.password == "" then
    fail(problems, "rds.secret_arn", "the secret holds no \"password\" for user " .. doc.username
      .. "; RDS Proxy reads {\"username\": ..., \"password\": ...}")
  end
end

local function glob(pattern, s)
  local p = "^" .. pattern:lower():gsub("[%^%$%(%)%%%.%[%]%+%-]", "%%%0"):gsub("%*", ".*"):gsub("%?", ".") .. "$"
  return s:lower():match(p) ~= nil
end

local function list_of(v)
  if v == nil then return {} end
  if type(v) == "string" then return { v } end
  return v
end

-- Does one policy document allow (or deny) GetSecretValue on `arn`?
local function evaluate(doc, arn, verdict)
  for _, st in ipairs(type(doc) == "table" and list_of(doc.Statement) or {}) do
    if type(st) == "table" then
      local acts, res = list_of(st.Action), list_of(st.Resource)
      if st.NotAction or st.NotResource or st.Condition then verdict.unsure = true end
      local act_ok, res_ok = false, false
      for _, a in ipairs(acts) do act_ok = act_ok or glob(a, "secretsmanager:GetSecretValue") end
      for _, r in ipairs(res) do res_ok = res_ok or glob(r, arn) end
      if act_ok and res_ok then
        if st.Effect == "Deny" then verdict.deny = true elseif st.Effect == "Allow" then verdict.allow = true end
      end
    end
  end
end

-- The role's inline and attached policies (read, not simulated: the test
-- cloud has no SimulatePrincipalPolicy).
local function role_reads_secret(ctx, name, arn)
  local role = require "rds-proxy.steps.role"
  local verdict = {}
  for _, page in ipairs(ctx:read_all("rds", "iam", "ListRolePolicies", { RoleName = name })) do
    for _, pn in ipairs(page.PolicyNames or {}) do
      local p, err = ctx:read("rds", "iam", "GetRolePolicy", { RoleName = name, PolicyName = pn })
      if not p then error(err, 0) end
      evaluate(role.decode_doc(p.PolicyDocument), arn, verdict)
    end
  end
  for _, page in ipairs(ctx:read_all("rds", "iam", "ListAttachedRolePolicies", { RoleName = name })) do
    for _, ap in ipairs(page.AttachedPolicies or {}) do
      local pol, err = ctx:read("rds", "iam", "GetPolicy", { PolicyArn = ap.PolicyArn })
      if not pol then error(err, 0) end
      local ver, verr = ctx:read("rds", "iam", "GetPolicyVersion", { PolicyArn = ap.PolicyArn,
        VersionId = pol.Policy.DefaultVersionId })
      if not ver then error(verr, 0) end
      evaluate(role.decode_doc(ver.PolicyVersion.Document), arn, verdict)
    end
  end
  return verdict
end

-- A given proxy role: in the RDS account, existing, trusted by
-- rds.amazonaws.com, allowed to read the secret. CreateDBProxy would
-- accept a wrong one and the proxy would fail minutes later.
local function proxy_role(ctx, problems)
  local arn = ctx.pair.rds.role_arn
  if not arn then return end
  local account, name = arn:match("^arn:aws[%w-]*:iam::(%d+):role/(.+)$")
  name = name and name:match("([^/]+)$")
  if account ~= ctx.facts.rds_account then
    fail(problems, "rds.role_arn", string.format("the role is in account %s, not in the RDS account %s; the "
      .. "proxy's role must be in its own account — use a role of %s or leave role_arn out (kumo makes one)",
      tostring(account), tostring(ctx.facts.rds_account), tostring(ctx.facts.rds_account)))
    return
  end
  local out, err = ctx:read("rds", "iam", "GetRole", { RoleName = name })
  if not out then
    if err.code == "NoSuchEntity" then
      fail(problems, "rds.role_arn", "no role " .. name .. " in the RDS account; create it or leave role_arn "
        .. "out (kumo makes a least-privilege one)")
    else
      read_failed(problems, "rds.role_arn", err, "cannot read the role: " .. tostring(err))
    end
    return
  end
  local role = require "rds-proxy.steps.role"
  if not role.trusts_rds(role.decode_doc(out.Role.AssumeRolePolicyDocument)) then
    fail(problems, "rds.role_arn", name .. " does not trust rds.amazonaws.com; add it as a principal of the "
      .. "role's trust policy (sts:AssumeRole), or RDS Proxy cannot use the role")
  end
  local secret_arn = ctx.facts.secret_full_arn or ctx.pair.rds.secret_arn
  if not secret_arn then return end  -- a secret kumo creates: the role cannot name it yet
  local ok, verdict = pcall(role_reads_secret, ctx, name, secret_arn)
  if not ok then
    read_failed(problems, "rds.role_arn", verdict, "cannot read the role's policies: " .. tostring(verdict))
  elseif verdict.deny or not verdict.allow then
    if verdict.unsure and not verdict.deny then
      ctx:note("rds.role_arn: could not prove that " .. name .. " may read the secret (its policies use "
        .. "conditions or NotAction/NotResource); check it if the proxy target reports AUTH_FAILURE")
    else
      fail(problems, "rds.role_arn", string.format("%s may not read the secret (no policy allows "
        .. "secretsmanager:GetSecretValue on %s%s); allow it, or leave role_arn out", name, secret_arn,
        verdict.deny and ", and one denies it" or ""))
    end
  end
end

-- IAM and Secrets Manager take tag keys and values of letters, digits,
-- spaces and _ . : / = + - @ only ("Pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]*",
-- Tag, IAM API reference); every service takes at most 50 tags per resource.
local TAG_OK = "^[%w%s_%.:/=%+%-@\128-\255]*$"
local MAX_TAGS = 50
-- "SecretString ... Maximum length of 65536." (CreateSecret, Secrets Manager API reference)
local MAX_SECRET = 65536

local function limits(ctx, problems)
  local n = 0
  for k, v in pairs(ctx.pair.tags) do
    n = n + 1
    if not k:match(TAG_OK) or not tostring(v):match(TAG_OK) then
      fail(problems, "tags." .. k, "IAM and Secrets Manager take tag keys and values of letters, digits, spaces "
        .. "and _ . : / = + - @ only; change the tag")
    end
  end
  -- security groups also carry Name
  if n + 1 > MAX_TAGS then
    fail(problems, "tags", string.format("%d tags (with kumo's 2 and Name) exceed the 50 AWS allows per resource; "
      .. "remove %d", n + 1, n + 1 - MAX_TAGS))
  end
  local sec = ctx.pair.rds.secret
  if sec and type(sec.password) == "string" then
    local size = #json.encode{ username = sec.username, password = sec.password }
    if size > MAX_SECRET then
      -- never the value, only its size
      fail(problems, "rds.secret.password", string.format("the secret would be %d bytes; Secrets Manager stores "
        .. "at most %d (SecretString) — use a shorter password", size, MAX_SECRET))
    end
  end
end

-- Subnets can be shared only with RAM sharing enabled in the organization
-- (facts §0.1). Only the management account can read that
-- (organizations:ListAWSServiceAccessForOrganization): ask the APP and RDS
-- sessions and their source profiles, and use an answer only from the
-- management account; otherwise say it could not be checked.
local function org_sharing(ctx, problems)
  local org = ctx.facts.organization
  local mgmt = org and org.MasterAccountId
  if not mgmt then return end
  -- the same accounts give the same answer: asked once per run, not per pair
  local key = table.concat({ "org_sharing", mgmt, ctx.session_keys and ctx.session_keys.app or "",
    ctx.session_keys and ctx.session_keys.rds or "", ctx.pair.app.profile or ctx.top.base_profile or "",
    ctx.pair.rds.profile or ctx.top.base_profile or "" }, "\0")
  local r = ctx:once(key, function()
    local state, err = M.org_sharing_state(ctx, mgmt)
    return { state = state, err = err }
  end, function(x) return x.state ~= "transient" end)
  local state, err = r.state, r.err
  if state == "on" then ctx.facts.org_sharing = true return end
  if state == "off" then
    ctx.facts.org_sharing = false
    fail(problems, "app.profile", string.format("RAM sharing with the organization %s is not enabled: subnets "
      .. "cannot be shared until the management account %s runs EnableSharingWithAwsOrganization "
      .. "(aws ram enable-sharing-with-aws-organization)", tostring(org.Id), mgmt))
    return
  end
  if state == "transient" then
    problems[#problems + 1] = "AWS throttled/unavailable while checking RAM sharing with the organization ("
      .. tostring(err) .. "); the config is fine; rerun " .. tostring(ctx.action or "apply") .. " to resume"
    return
  end
  ctx:note("RAM sharing with the organization could not be checked: only its management account " .. mgmt
    .. " can read it (organizations:ListAWSServiceAccessForOrganization); the share fails if it is off")
end

--- Whether RAM sharing is on in the organization whose management account
-- is `mgmt`, asked of the pair's sessions and their source profiles.
-- @return "on", "off", "transient" (and the error) or nil (no session is the
--   management account's)
function M.org_sharing_state(ctx, mgmt)
  local aws = require "kumo.aws"
  local tried = {}
  -- `account` nil: not known without a call; asking is then the cheaper
  -- test (an account other than the management one is refused: nil)
  local function ask(session, account)
    if account ~= nil and account ~= mgmt then return nil end
    local out, err = session:client("organizations"):try("ListAWSServiceAccessForOrganization", {})
    if not out then
      if M.transient(err) then return "transient", err end
      return nil
    end
    for _, s in ipairs(out.EnabledServicePrincipals or {}) do
      if s.ServicePrincipal == "ram.amazonaws.com" then return "on" end
    end
    return "off"
  end
  local candidates = {}
  for _, side in ipairs{ "app", "rds" } do
    candidates[#candidates + 1] = { session = ctx.sessions[side], account = ctx.facts[side .. "_account"] }
  end
  for _, side in ipairs{ "app", "rds" } do
    local s = ctx.sessions[side]
    local prof = s.profile and s.config and s.config:profile(s.profile)
    local src = prof and prof.source_profile or (not ctx.pair[side].profile and ctx.top.base_profile)
    if src and not tried[src] then
      tried[src] = true
      local ok, sess = pcall(aws.session,
        require("rds-proxy.context").session_options(ctx.top, src, ctx.pair.region))
      if ok then
        local src_prof = sess:profile_settings()
        local role = type(src_prof.role_arn) == "string" and src_prof.role_arn or ""
        candidates[#candidates + 1] = { session = sess, account = role:match("^arn:aws[%w-]*:iam::(%d+):role/") }
      end
    end
  end
  for _, c in ipairs(candidates) do
    local state, err = ask(c.session, c.account)
    if state then return state, err end
  end
  return nil
end

--- Run every check; fills `ctx.facts`.
-- @return a list of problems (empty when all is well)
--
-- `destroy` checks only what finding and deleting kumo's resources needs
-- (the accounts, the database's VPC and security group): a subnet, secret,
-- role or sharing setting gone wrong must not keep what kumo made alive.
--
-- Checks that do not need each other's facts run at once (inside a
-- scheduler task): a pair's pre-checks take the time of the slowest chain
-- of reads, not of all of them. Problems keep the order of the list below.
function M.run(ctx)
  local problems = {}
  local function add(lists)
    for _, l in ipairs(lists) do
      for _, p in ipairs(l) do problems[#problems + 1] = p end
    end
  end
  ctx.progress(ctx.pair.name, "checking accounts")
  identities(ctx, problems)
  if #problems > 0 then return problems end
  if ctx.action == "destroy" then
    database(ctx, problems)
    return problems
  end
  local function check(f) return function(list) f(ctx, list) end end
  local sharing = {}
  local lists = concurrently{
    function(list)
      organization(ctx, list)
      -- RAM sharing needs only the organization: asked in the same chain
      if #list == 0 then org_sharing(ctx, sharing) end
    end,
    check(app_subnets),
    check(client_groups),
    function(list)
      database(ctx, list)
      proxy_subnets(ctx, list)  -- needs the database's subnets
    end,
    function(list)
      secret(ctx, list)
      proxy_role(ctx, list)     -- needs the secret's ARN
    end,
  }
  -- a wrong organization says so alone (the rest follows from it)
  if #lists[1] > 0 then return lists[1] end
  add(lists)
  az_notes(ctx)
  limits(ctx, problems)
  for _, p in ipairs(sharing) do problems[#problems + 1] = p end
  return problems
end

M.family_of = family_of

return M
