--- kumo's own RDS waiters (AWS ships none for DB proxies).
-- Format: botocore's waiters-2.json as a Lua table, plus kumo's extensions
-- (`persist`, `persistPolls`, `hint`, `observe`; see docs/waiters.md).
-- Designs: docs/waiters.md; timings follow Terraform's defaults
-- (create 30 min, delete 60 min).
--
-- Call parameters: proxy waiters `{ DBProxyName = name }`; endpoint waiters
-- `{ DBProxyName = name, DBProxyEndpointName = ep }`; target waiters
-- `{ DBProxyName = name, TargetGroupName = "default" }`.

local NETWORK_HINT = "The proxy cannot use its subnets or security groups: the subnets must " ..
  "be in at least two Availability Zones RDS Proxy supports, have free IP addresses and be " ..
  "in the proxy's VPC, and every security group must belong to this account and that VPC"

local ENDPOINT_NETWORK_HINT = "The endpoint cannot use its subnets or security groups: for a " ..
  "cross-account endpoint the subnets must be shared with this account through RAM (and " ..
  "visible here) and VpcSecurityGroupIds must name a group created by THIS account in the " ..
  "APP VPC (never the APP account's or the VPC's default group)"

local LIMITS_HINT = "An account limit was reached (proxies, endpoints or network interfaces " ..
  "in the subnets): delete unused ones or request a quota increase, then recreate"

-- The database user named in a target's Description: AWS says "... has no
-- credentials for the role admin."; others say "(user admin)".
local function role_in(description)
  if type(description) ~= "string" then return nil end
  local user = description:match("credentials for the role%s+['\"]?([^%s'\"]+)")
    or description:match("%(user%s+([^%s%)]+)%)")
  return user and (user:gsub("[%.,;]+$", "")) or nil
end

local function first(list)
  return type(list) == "table" and list[1] or nil
end

-- AUTH_FAILURE: say which user the proxy tried and which secret(s) it has.
local function auth_failure_hint(ctx)
  local target
  for _, t in ipairs((ctx.output and ctx.output.Targets) or {}) do
    local h = type(t.TargetHealth) == "table" and t.TargetHealth or {}
    if h.Reason == "AUTH_FAILURE" then target = t break end
  end
  local health = target and target.TargetHealth or {}
  local user = role_in(health.Description)
  local client, proxy = ctx.client, ctx.params and ctx.params.DBProxyName
  -- Only descriptions of the proxy and the DB are read, never a secret's value.
  if not user and client and target and target.RdsResourceId then
    local out = client:try("DescribeDBInstances", { DBInstanceIdentifier = target.RdsResourceId })
    local db = out and first(out.DBInstances)
    user = db and db.MasterUsername
  end
  local secrets, role_arn = {}, nil
  if client and proxy then
    local out = client:try("DescribeDBProxies", { DBProxyName = proxy })
    local p = out and first(out.DBProxies)
    if p then
      role_arn = p.RoleArn
      for _, a in ipairs(p.Auth or {}) do
        if a.SecretArn then secrets[#secrets + 1] = a.SecretArn end
      end
    end
  end
  local lines = {}
  lines[#lines + 1] = string.format("This RDS proxy has no credentials for the role %s",
    user and ("'" .. user .. "'") or "it connects as")
  if health.Description and not health.Description:find("no credentials", 1, true) then
    lines[#lines + 1] = " (AWS says: " .. health.Description .. ")"
  end
  if #secrets > 0 then
    lines[#lines + 1] = string.format(": the secret %s must hold the JSON " ..
      "{\"username\": %q, \"password\": ...} of a user that exists in the database " ..
      "(check the secret's username field)", table.concat(secrets, ", "), user or "<db user>")
  else
    lines[#lines + 1] = ": the proxy has no secret in its Auth; add one whose username field is "
      .. (user and ("'" .. user .. "'") or "the database user")
  end
  if role_arn then
    lines[#lines + 1] = string.format(", and the proxy's role %s must be allowed " ..
      "secretsmanager:GetSecretValue on it (and kms:Decrypt for a customer-managed key)", role_arn)
  end
  return table.concat(lines)
end

local UNREACHABLE_HINT = "The proxy cannot reach the database: the DB security group must " ..
  "allow inbound TCP on the DB's port from the proxy's security group, the DB must be " ..
  "available, and the proxy's subnets must route to it (read the target's Description)"

local TARGET_OBSERVE = "Targets[?Type=='RDS_INSTANCE'].{id: RdsResourceId, state: " ..
  "TargetHealth.State, reason: TargetHealth.Reason, description: TargetHealth.Description}"

-- Sticky failures: the same reason on consecutive polls over 5 minutes.
local STICKY = 300

return {
  version = 2,
  waiters = {
    DBProxyAvailable = {
      description = "Wait until the DB proxy is available.",
      operation = "DescribeDBProxies", delay = 15, maxAttempts = 120,
      observe = "DBProxies[].Status",
      acceptors = {
        { matcher = "pathAll", argument = "DBProxies[].Status", expected = "available", state = "success" },
        { matcher = "pathAny", argument = "DBProxies[].Status", expected = "incompatible-network", state = "failure",
          hint = NETWORK_HINT },
        { matcher = "pathAny", argument = "DBProxies[].Status", expected = "insufficient-resource-limits", state = "failure",
          hint = LIMITS_HINT },
        { matcher = "pathAny", argument = "DBProxies[].Status", expected = "deleting", state = "failure",
          hint = "The proxy is being deleted; wait for DBProxyDeleted and create it again" },
        { matcher = "pathAny", argument = "DBProxies[].Status", expected = "suspended", state = "failure",
          hint = "The proxy is suspended (AWS suspends proxies whose targets stay unavailable); fix the target and modify the proxy" },
        -- Eventual consistency right after CreateDBProxy.
        { matcher = "error", expected = "DBProxyNotFoundFault", state = "retry" },
      },
    },
    DBProxyDeleted = {
      description = "Wait until the DB proxy is gone.",
      operation = "DescribeDBProxies", delay = 15, maxAttempts = 240,
      observe = "DBProxies[].Status",
      acceptors = {
        { matcher = "error", expected = "DBProxyNotFoundFault", state = "success" },
        { matcher = "path", argument = "length(DBProxies) == `0`", expected = true, state = "success" },
      },
    },
    DBProxyEndpointAvailable = {
      description = "Wait until the DB proxy endpoint is available.",
      operation = "DescribeDBProxyEndpoints", delay = 15, maxAttempts = 120,
      observe = "DBProxyEndpoints[].Status",
      acceptors = {
        { matcher = "pathAll", argument = "DBProxyEndpoints[].Status", expected = "available", state = "success" },
        { matcher = "pathAny", argument = "DBProxyEndpoints[].Status", expected = "incompatible-network", state = "failure",
          hint = ENDPOINT_NETWORK_HINT },
        { matcher = "pathAny", argument = "DBProxyEndpoints[].Status", expected = "insufficient-resource-limits", state = "failure",
          hint = LIMITS_HINT },
        { matcher = "pathAny", argument = "DBProxyEndpoints[].Status", expected = "deleting", state = "failure",
          hint = "The endpoint is being deleted; wait for DBProxyEndpointDeleted and create it again" },
        { matcher = "error", expected = "DBProxyEndpointNotFoundFault", state = "retry" },
        { matcher = "error", expected = "DBProxyNotFoundFault", state = "failure",
          hint = "The proxy itself does not exist (deleted, or the name is wrong: RDS lowercases proxy names)" },
      },
    },
    DBProxyEndpointDeleted = {
      description = "Wait until the DB proxy endpoint (or its proxy) is gone.",
      operation = "DescribeDBProxyEndpoints", delay = 15, maxAttempts = 240,
      observe = "DBProxyEndpoints[].Status",
      acceptors = {
        { matcher = "error", expected = "DBProxyEndpointNotFoundFault", state = "success" },
        { matcher = "error", expected = "DBProxyNotFoundFault", state = "success" },
        { matcher = "path", argument = "length(DBProxyEndpoints) == `0`", expected = true, state = "success" },
      },
    },
    DBProxyTargetsAvailable = {
      description = "Wait until every RDS instance target of the proxy is AVAILABLE. UNAVAILABLE " ..
        "right after registration is normal; UNREACHABLE, CONNECTION_FAILED or AUTH_FAILURE " ..
        "fail only when the same reason persists for 5 minutes.",
      operation = "DescribeDBProxyTargets", delay = 15, maxAttempts = 80,
      observe = TARGET_OBSERVE,
      acceptors = {
        { matcher = "pathAll", argument = "Targets[?Type=='RDS_INSTANCE'].TargetHealth.State", expected = "AVAILABLE", state = "success" },
        { matcher = "pathAny", argument = "Targets[?Type=='RDS_INSTANCE'].TargetHealth.Reason", expected = "INVALID_REPLICATION_STATE", state = "failure",
          hint = "The target is a read replica or in a replication state a proxy cannot use; register the primary instance" },
        { matcher = "pathAny", argument = "Targets[?Type=='RDS_INSTANCE'].TargetHealth.Reason", expected = "PROMOTED", state = "failure",
          hint = "The target replica was promoted; deregister it and register the current primary" },
        { matcher = "pathAny", argument = "Targets[?Type=='RDS_INSTANCE'].TargetHealth.Reason", expected = "AUTH_FAILURE", state = "failure",
          persist = STICKY, persistPolls = 3, hint = auth_failure_hint },
        { matcher = "pathAny", argument = "Targets[?Type=='RDS_INSTANCE'].TargetHealth.Reason", expected = "UNREACHABLE", state = "failure",
          persist = STICKY, persistPolls = 3, hint = UNREACHABLE_HINT },
        { matcher = "pathAny", argument = "Targets[?Type=='RDS_INSTANCE'].TargetHealth.Reason", expected = "CONNECTION_FAILED", state = "failure",
          persist = STICKY, persistPolls = 3, hint = UNREACHABLE_HINT },
        { matcher = "error", expected = "DBProxyNotFoundFault", state = "failure",
          hint = "The proxy does not exist (RDS lowercases proxy names)" },
        { matcher = "error", expected = "DBProxyTargetGroupNotFoundFault", state = "failure",
          hint = "A proxy has one target group and it is named 'default'" },
        { matcher = "error", expected = "InvalidDBProxyStateFault", state = "retry" },
      },
    },
    DBProxyWriterTargetAvailable = {
      description = "Wait until the READ_WRITE instance target is AVAILABLE (Aurora, when readers may lag).",
      operation = "DescribeDBProxyTargets", delay = 15, maxAttempts = 80,
      observe = TARGET_OBSERVE,
      acceptors = {
        { matcher = "pathAll", argument = "Targets[?Type=='RDS_INSTANCE' && Role=='READ_WRITE'].TargetHealth.State", expected = "AVAILABLE", state = "success" },
        { matcher = "error", expected = "DBProxyNotFoundFault", state = "failure" },
        { matcher = "error", expected = "DBProxyTargetGroupNotFoundFault", state = "failure",
          hint = "A proxy has one target group and it is named 'default'" },
        { matcher = "error", expected = "InvalidDBProxyStateFault", state = "retry" },
      },
    },
    DBProxyTargetGroupAvailable = {
      description = "Wait until the proxy's target group is available.",
      operation = "DescribeDBProxyTargetGroups", delay = 10, maxAttempts = 180,
      observe = "TargetGroups[].Status",
      acceptors = {
        { matcher = "pathAll", argument = "TargetGroups[].Status", expected = "available", state = "success" },
        { matcher = "error", expected = "DBProxyNotFoundFault", state = "failure" },
        { matcher = "error", expected = "InvalidDBProxyStateFault", state = "retry" },
      },
    },
  },
}
