--- RDS: the connection pool of the proxy's `default` target group:
-- max connections and idle connections (percent of the DB's
-- max_connections), borrow timeout, session pinning filters (MySQL only)
-- and the initialization query (not PostgreSQL). It comes and goes with
-- the proxy, so there is nothing to create or delete.
-- @module rds-proxy.steps.target_group
local step = { name = "target_group", title = "target group connection pool", account = "rds",
               with_parent = "proxy", needs = { "proxy" } }

-- A proxy's default target group starts with the API's documented
-- defaults (ConnectionPoolConfiguration, RDS API reference):
-- MaxConnectionsPercent "Default: 10 for RDS for Microsoft SQL Server, and
-- 100 for all other engines"; MaxIdleConnectionsPercent "If the value of
-- MaxConnectionsPercent isn't specified, then for SQL Server,
-- MaxIdleConnectionsPercent is 5, and for all other engines, the default is
-- 50"; ConnectionBorrowTimeout "Default: 120"; InitQuery "Default: no
-- initialization query"; SessionPinningFilters "Default: no session
-- pinning filter". verify reads the group itself.
local function defaults(ctx)
  local sqlserver = ctx.pair.rds.engine_family == "SQLSERVER"
  return { TargetGroupName = "default", DBProxyName = ctx.pair.rds.proxy_name, IsDefault = true,
    ConnectionPoolConfig = { MaxConnectionsPercent = sqlserver and 10 or 100,
      MaxIdleConnectionsPercent = sqlserver and 5 or 50, ConnectionBorrowTimeout = 120,
      SessionPinningFilters = {}, InitQuery = "" } }
end

function step.read(ctx)
  if not ctx.ids.proxy then return nil end
  -- the proxy was made by this run just now: its group has the defaults
  -- (once: after an update the group is read)
  local made = ctx.made_now
  if made and made.proxy and not made.target_group_known then
    made.target_group_known = true
    return defaults(ctx)
  end
  local out, err = ctx:read("rds", "rds", "DescribeDBProxyTargetGroups",
    { DBProxyName = ctx.pair.rds.proxy_name, TargetGroupName = "default" })
  if not out then
    if err.code == "DBProxyNotFoundFault" or err.code == "DBProxyTargetGroupNotFoundFault" then return nil end
    error(err, 0)
  end
  return out.TargetGroups[1]
end

function step.id(live) return live.TargetGroupArn or "default" end

-- What the config implies; a key removed from the config means the
-- API's default, so removing it converges back instead of keeping the old
-- value ("Default: no initialization query"; pinning filters: none).
local function want(ctx)
  local r = ctx.pair.rds
  return {
    MaxConnectionsPercent = r.max_connections_percent,
    MaxIdleConnectionsPercent = r.max_idle_connections_percent,
    ConnectionBorrowTimeout = r.connection_borrow_timeout,
    SessionPinningFilters = r.session_pinning_filters or {},
    InitQuery = r.init_query or "",
  }
end

local function show(v)
  if v == nil or v == "" then return "(none)" end
  return tostring(v)
end

function step.diff(ctx, live)
  local have = live.ConnectionPoolConfig or {}
  local w = want(ctx)
  local d = {}
  for _, k in ipairs{ "MaxConnectionsPercent", "MaxIdleConnectionsPercent", "ConnectionBorrowTimeout" } do
    if have[k] ~= w[k] then d[#d + 1] = { key = k, have = show(have[k]), want = show(w[k]) } end
  end
  local hf = table.concat(have.SessionPinningFilters or {}, ",")
  local wf = table.concat(w.SessionPinningFilters, ",")
  if hf ~= wf then d[#d + 1] = { key = "SessionPinningFilters", have = show(hf), want = show(wf) } end
  if (have.InitQuery or "") ~= w.InitQuery then
    d[#d + 1] = { key = "InitQuery", have = show(have.InitQuery), want = show(w.InitQuery) }
  end
  return d
end

-- Every setting is sent, so one call reaches the whole config. An empty
-- InitQuery clears it: "This is an optional field, so you can choose to
-- leave it empty." (ConnectionPoolConfiguration, RDS API reference); an
-- empty SessionPinningFilters list clears the filters.
function step.update(ctx)
  local w = want(ctx)
  local name = ctx.pair.rds.proxy_name
  -- resent after a lost answer, it meets the proxy modifying: waited for
  ctx:when_ready{ side = "rds", service = "rds", op = "ModifyDBProxyTargetGroup", params = {
    DBProxyName = name, TargetGroupName = "default",
    ConnectionPoolConfig = {
      MaxConnectionsPercent = w.MaxConnectionsPercent,
      MaxIdleConnectionsPercent = w.MaxIdleConnectionsPercent,
      ConnectionBorrowTimeout = w.ConnectionBorrowTimeout,
      SessionPinningFilters = w.SessionPinningFilters,
      InitQuery = w.InitQuery,
    },
  }, busy = "InvalidDBProxyStateFault", what = "proxy " .. name,
    wait = { name = "DBProxyAvailable", params = { DBProxyName = name }, timeout = ctx.timeouts.proxy },
    cli = "aws rds describe-db-proxies --db-proxy-name " .. name }
  ctx:wait("rds", "rds", "DBProxyAvailable", { DBProxyName = ctx.pair.rds.proxy_name }, ctx.timeouts.proxy)
  return step.read(ctx)
end

-- It exists once the proxy does: "create" is an update of the defaults.
function step.create(ctx)
  local live = step.read(ctx)
  if live and #step.diff(ctx, live) > 0 then return step.update(ctx, live) end
  return live
end

function step.verify(ctx, live)
  local problems = {}
  for _, d in ipairs(step.diff(ctx, live)) do
    problems[#problems + 1] = string.format("target group %s is %s, config says %s", d.key, d.have, d.want)
  end
  return problems
end

return step
