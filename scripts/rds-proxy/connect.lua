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

--- The shell commands that connect through the endpoint from the APP VPC.
function M.commands(ctx, host, user)
  local port = ctx.pair.listener_port
  local fam = ctx.pair.rds.engine_family
  local tls = ctx.pair.rds.require_tls
  if fam == "POSTGRESQL" then
    return string.format("psql \"host=%s port=%d user=%s dbname=postgres sslmode=%s\"",
      host, port, user, tls and "require" or "prefer")
  elseif fam == "MYSQL" then
    return string.format("mysql -h %s -P %d -u %s -p%s", host, port, user, tls and " --ssl-mode=REQUIRED" or "")
  end
  return string.format("sqlcmd -S %s,%d -U %s -N", host, port, user)
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
  result.connect = M.commands(ctx, host, username(ctx))
  result.pinning = pinning(ctx)
end

return M
