--- After a clean verify: how to connect (the procedure's "Trying it"),
-- and the session-pinning metric where CloudWatch has it (facts §11).
-- @module rds-proxy.connect
local json = require "kumo.json"

local M = {}

local function username(ctx)
  local r = ctx.pair.rds
  if r.secret then return r.secret.username end
  local v = ctx:read("rds", "secretsmanager", "GetSecretValue", { SecretId = r.secret_arn })
  local doc = v and json.decode(v.SecretString or "")
  return type(doc) == "table" and doc.username or "USERNAME"
end

-- The database name clients open: the instance's (or cluster's) own, else
-- the engine's default (PostgreSQL always has "postgres"; MySQL needs none).
local function dbname(ctx)
  local rds = ctx.pair.rds
  local name
  if rds.db_instance_identifier then
    local out = ctx:read("rds", "rds", "DescribeDBInstances", { DBInstanceIdentifier = rds.db_instance_identifier })
    local i = out and out.DBInstances and out.DBInstances[1]
    name = i and i.DBName
  elseif rds.db_cluster_identifier then
    local out = ctx:read("rds", "rds", "DescribeDBClusters", { DBClusterIdentifier = rds.db_cluster_identifier })
    local c = out and out.DBClusters and out.DBClusters[1]
    name = c and c.DatabaseName
  end
  if name and name ~= "" then return name end
  if rds.engine_family == "POSTGRESQL" then return "postgres" end
  return nil
end

local function shq(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- A shell snippet that makes a fresh IAM token with kumo (valid 15
-- minutes: a token is a credential, so the hint shows how to make one,
-- never one). The identity must be allowed rds-db:connect in the RDS account.
local function token_command(ctx, host, port, user)
  local profile = ctx.pair.rds.profile
  local lua = string.format('print(require("kumo.rds").generate_db_auth_token(require("kumo.aws").session{%s}, '
    .. '{ hostname = %q, port = %d, username = %q, region = %q }))',
    profile and string.format("profile = %q", profile) or "", host, port, user, ctx.pair.region)
  return "\"$(kumo -e " .. shq(lua) .. ")\""
end

--- The shell commands that connect through the endpoint from the APP VPC,
-- for the auth mode in use: with IAM authentication (`iam_auth` REQUIRED,
-- or ENABLED for SQL Server) the password is a kumo-generated token and
-- TLS verifies the server (the RDS CA bundle, global-bundle.pem).
-- @param ctx the pair's context
-- @param host the endpoint's address
-- @param user the database user
-- @param[opt] db the database name (nil: none given)
function M.commands(ctx, host, user, db)
  local port = ctx.pair.listener_port
  local fam = ctx.pair.rds.engine_family
  local tls = ctx.pair.rds.require_tls
  local iam = ctx.pair.rds.iam_auth == "REQUIRED" or ctx.pair.rds.iam_auth == "ENABLED"
  if fam == "POSTGRESQL" then
    local conn = string.format("host=%s port=%d user=%s dbname=%s", host, port, user, db or "postgres")
    if iam then
      return string.format("PGPASSWORD=%s psql \"%s sslmode=verify-full sslrootcert=global-bundle.pem\"",
        token_command(ctx, host, port, user), conn)
    end
    return string.format("psql \"%s sslmode=%s\"", conn, tls and "require" or "prefer")
  elseif fam == "MYSQL" then
    local dbarg = db and (" " .. db) or ""
    if iam then
      return string.format("mysql -h %s -P %d -u %s --enable-cleartext-plugin --ssl-mode=VERIFY_IDENTITY "
        .. "--ssl-ca=global-bundle.pem --password=%s%s", host, port, user, token_command(ctx, host, port, user), dbarg)
    end
    return string.format("mysql -h %s -P %d -u %s -p%s%s", host, port, user,
      tls and " --ssl-mode=REQUIRED" or "", dbarg)
  end
  if iam then
    return string.format("sqlcmd -S %s,%d -U %s -N -P %s%s", host, port, user, token_command(ctx, host, port, user),
      db and (" -d " .. db) or "")
  end
  return string.format("sqlcmd -S %s,%d -U %s -N%s", host, port, user, db and (" -d " .. db) or "")
end

-- Pinning has no per-endpoint dimension: this is the whole proxy's.
local function pinning(ctx)
  local now = os.time()
  local out = ctx:read("rds", "cloudwatch", "GetMetricData", {
    StartTime = now - 3600, EndTime = now,
    MetricDataQueries = { {
      Id = "pinned",
      MetricStat = { Metric = { Namespace = "AWS/RDS", MetricName = "DatabaseConnectionsCurrentlySessionPinned",
                                Dimensions = { { Name = "ProxyName", Value = ctx.pair.rds.proxy_name } } },
                     Period = 60, Stat = "Sum" },
    } },
  })
  if not out then return "pinning metric: not available" end
  local r = out.MetricDataResults and out.MetricDataResults[1]
  local vals = r and r.Values or {}
  if #vals == 0 then return "pinning metric: no data in the last hour (metrics appear after the first connection)" end
  local max = 0
  for _, v in ipairs(vals) do if v > max then max = v end end
  return string.format("pinning metric: up to %g session-pinned connections per minute in the last hour", max)
end

--- Add `connect` and `pinning` to a verify result.
function M.add(ctx, result)
  local host = ctx.ids.endpoint
  if not host then return end
  result.connect = M.commands(ctx, host, username(ctx), dbname(ctx))
  result.pinning = pinning(ctx)
end

return M
