--- RDS: register the database as the proxy's target and wait until the
-- proxy can reach it (AVAILABLE). UNAVAILABLE right after registration is
-- normal; a failure reason that persists fails with an explanation.
-- @module rds-proxy.steps.target
local step = { name = "target", title = "proxy target (the database)", account = "rds", with_parent = "proxy",
               needs = { "proxy" } }

local function db_id(ctx)
  return ctx.pair.rds.db_instance_identifier or ctx.pair.rds.db_cluster_identifier
end

-- The database's target in a DescribeDBProxyTargets answer.
local function pick(ctx, out)
  local want = db_id(ctx)
  for _, t in ipairs(out and out.Targets or {}) do
    if t.RdsResourceId == want or t.TrackedClusterId == want then
      return { target = t, all = out.Targets }
    end
  end
  return nil
end

-- Another database registered (db_instance_identifier or
-- db_cluster_identifier changed): `{ cluster = id }` or `{ instance = id }`.
-- A target group has one target, so it must go before the new one comes.
local function former(out)
  local inst
  for _, t in ipairs(out and out.Targets or {}) do
    if t.Type == "TRACKED_CLUSTER" then return { cluster = t.TrackedClusterId or t.RdsResourceId } end
    if not t.TrackedClusterId and t.RdsResourceId then inst = inst or { instance = t.RdsResourceId } end
  end
  return inst
end

function step.read(ctx)
  if not ctx.ids.proxy then return nil end
  -- a proxy this run has just made has no target yet: nothing to read
  if ctx.made_now and ctx.made_now.proxy then return nil end
  local out, err = ctx:read("rds", "rds", "DescribeDBProxyTargets",
    { DBProxyName = ctx.pair.rds.proxy_name, TargetGroupName = "default" })
  if not out then
    if err.code == "DBProxyNotFoundFault" or err.code == "DBProxyTargetGroupNotFoundFault" then return nil end
    error(err, 0)
  end
  local live = pick(ctx, out)
  if live then return live end
  local was = former(out)
  if was then return { former = was, all = out.Targets } end
  return nil
end

function step.id(live)
  if live.former then return live.former.cluster or live.former.instance end
  return live.target.RdsResourceId or live.target.TrackedClusterId
end

function step.diff(ctx, live)
  if not live.former then return {} end
  return { { key = ctx.pair.rds.db_instance_identifier and "DBInstanceIdentifier" or "DBClusterIdentifier",
             have = live.former.cluster or live.former.instance, want = db_id(ctx) } }
end

local function wait_healthy(ctx)
  return ctx:wait("rds", "rds", "DBProxyTargetsAvailable",
    { DBProxyName = ctx.pair.rds.proxy_name, TargetGroupName = "default" }, ctx.timeouts.target)
end

function step.create(ctx)
  local params = { DBProxyName = ctx.pair.rds.proxy_name, TargetGroupName = "default" }
  if ctx.pair.rds.db_instance_identifier then
    params.DBInstanceIdentifiers = { ctx.pair.rds.db_instance_identifier }
  else
    params.DBClusterIdentifiers = { ctx.pair.rds.db_cluster_identifier }
  end
  ctx:mutate("rds", "rds", "RegisterDBProxyTargets", params, { "DBProxyTargetAlreadyRegisteredFault" })
  -- the target as registered; the waiter's last answer (the healthy
  -- targets) completes it: no second read
  local live = { target = ctx.pair.rds.db_instance_identifier and { RdsResourceId = db_id(ctx) }
                   or { TrackedClusterId = db_id(ctx) }, all = {} }
  -- nothing after this step needs the target healthy (an endpoint needs
  -- the proxy available, not its target): the wait runs beside the
  -- endpoint's steps, and the run ends only when it has succeeded
  ctx:later(function()
    local got = pick(ctx, wait_healthy(ctx)) or step.read(ctx)
    if got then live.target, live.all = got.target, got.all end
  end)
  return live
end

--- Another database was the target: deregister it, register the configured one.
function step.update(ctx, live)
  local was = live.former
  ctx:mutate("rds", "rds", "DeregisterDBProxyTargets", { DBProxyName = ctx.pair.rds.proxy_name,
    TargetGroupName = "default", DBClusterIdentifiers = was.cluster and { was.cluster } or nil,
    DBInstanceIdentifiers = was.instance and { was.instance } or nil }, { "DBProxyTargetNotFoundFault" })
  return step.create(ctx)
end

function step.verify(ctx, live)
  if live.former then
    return { string.format("the target is %s, the config says %s — run apply", step.id(live), db_id(ctx)) }
  end
  local problems = {}
  for _, t in ipairs(live.all) do
    local h = t.TargetHealth
    if t.Type ~= "TRACKED_CLUSTER" and h and h.State ~= "AVAILABLE" then
      local hint = ""
      if h.Reason == "AUTH_FAILURE" then
        hint = " — the proxy cannot log in with the secret's credentials: check that the secret's "
          .. "username and password are a database user's (\"This RDS proxy has no credentials for the role\")"
      elseif h.Reason == "UNREACHABLE" or h.Reason == "CONNECTION_FAILED" then
        hint = " — check that the DB security group admits the proxy security group on the DB port"
      end
      problems[#problems + 1] = string.format("target %s is %s (%s: %s)%s", tostring(t.RdsResourceId),
        tostring(h.State), tostring(h.Reason), tostring(h.Description or ""), hint)
    end
  end
  return problems
end

return step
