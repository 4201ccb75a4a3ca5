--- Read-only checks and discovery before anything changes (facts §3.1):
-- both accounts' identities, one organization, the APP subnets (one VPC,
-- at least two distinct AZ IDs, not default subnets, free addresses), the
-- client security groups, the database (engine, port, VPC, subnets,
-- security groups, state), the proxy subnets and the secret. Fills
-- `ctx.facts`; returns the problems found, each saying how to fix it.
-- @module rds-proxy.prechecks
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

local function identities(ctx, problems)
  local f = ctx.facts
  for _, side in ipairs{ "app", "rds" } do
    local out, err = ctx:read(side, "sts", "GetCallerIdentity")
    if not out then
      fail(problems, side .. ".profile", "cannot identify the " .. side:upper() .. " account: " .. tostring(err))
    else
      f[side .. "_account"] = out.Account
    end
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
  for _, side in ipairs{ "app", "rds" } do
    local out, err = ctx:read(side, "organizations", "DescribeOrganization")
    if not out then
      if err.code == "AWSOrganizationsNotInUseException" then
        fail(problems, side .. ".profile", string.format("the %s account (%s) is not in an AWS Organization. "
          .. "VPC subnets can be shared through RAM only with accounts of the same organization, "
          .. "with sharing enabled by the management account (RAM EnableSharingWithAwsOrganization). "
          .. "Put both accounts in one organization, or use another design (e.g. PrivateLink)",
          side:upper(), tostring(ctx.facts[side .. "_account"])))
      else
        fail(problems, side .. ".profile", "cannot read the organization: " .. tostring(err))
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

local function app_subnets(ctx, problems)
  local app = ctx.pair.app
  local out, err = ctx:read("app", "ec2", "DescribeSubnets", { SubnetIds = app.subnet_ids })
  if not out then
    fail(problems, "app.subnet_ids", "cannot describe the subnets in the APP account: " .. tostring(err)
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
end

local function client_groups(ctx, problems)
  local app = ctx.pair.app
  local out, err = ctx:read("app", "ec2", "DescribeSecurityGroups", { GroupIds = app.client_security_group_ids })
  if not out then
    fail(problems, "app.client_security_group_ids", "cannot describe them in the APP account: " .. tostring(err))
    return
  end
  for _, g in ipairs(out.SecurityGroups or {}) do
    if g.VpcId ~= app.vpc_id then
      fail(problems, "app.client_security_group_ids", string.format("%s is in %s, not in app.vpc_id %s",
        g.GroupId, tostring(g.VpcId), app.vpc_id))
    end
  end
end

local function database(ctx, problems)
  local rds = ctx.pair.rds
  local db = {}
  if rds.db_instance_identifier then
    local out, err = ctx:read("rds", "rds", "DescribeDBInstances", { DBInstanceIdentifier = rds.db_instance_identifier })
    if not out then
      fail(problems, "rds.db_instance_identifier", string.format("%s: %s — check the identifier and the region",
        rds.db_instance_identifier, tostring(err)))
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
    if not ({ available = true, modifying = true, ["backing-up"] = true })[db.status] then
      fail(problems, "rds.db_instance_identifier", string.format("%s is %s; a proxy target must be available, "
        .. "modifying or backing-up — wait for it", rds.db_instance_identifier, tostring(db.status)))
    end
  else
    local out, err = ctx:read("rds", "rds", "DescribeDBClusters", { DBClusterIdentifier = rds.db_cluster_identifier })
    if not out then
      fail(problems, "rds.db_cluster_identifier", rds.db_cluster_identifier .. ": " .. tostring(err))
      return
    end
    local c = out.DBClusters[1]
    db.engine, db.status, db.port = c.Engine, c.Status, c.Port
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
    fail(problems, key, "cannot describe the proxy subnets: " .. tostring(err))
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
  -- AZ names differ per account: compare AZ IDs (facts §1)
  for az in pairs(ctx.facts.app_az_ids or {}) do
    if not azs[az] then
      ctx:note(string.format("the endpoint subnet AZ %s has no proxy subnet: traffic from it crosses zones", az))
    end
  end
end

local function secret(ctx, problems)
  local rds = ctx.pair.rds
  if rds.secret_arn then
    local out, err = ctx:read("rds", "secretsmanager", "DescribeSecret", { SecretId = rds.secret_arn })
    if not out then
      fail(problems, "rds.secret_arn", "cannot read the secret in the RDS account: " .. tostring(err))
    elseif out.DeletedDate then
      fail(problems, "rds.secret_arn", "the secret is scheduled for deletion; restore it (RestoreSecret) or use another")
    else
      ctx.facts.secret_kms_key_id = out.KmsKeyId
    end
  end
end

--- Run every check; fills `ctx.facts`.
-- @return a list of problems (empty when all is well)
function M.run(ctx)
  local problems = {}
  ctx.progress(ctx.pair.name, "checking accounts")
  identities(ctx, problems)
  if #problems > 0 then return problems end
  organization(ctx, problems)
  if #problems > 0 then return problems end
  ctx.progress(ctx.pair.name, "checking subnets and database")
  app_subnets(ctx, problems)
  client_groups(ctx, problems)
  database(ctx, problems)
  proxy_subnets(ctx, problems)
  secret(ctx, problems)
  return problems
end

M.family_of = family_of

return M
