--- RDS: the RDS Proxy (procedure step 2): engine family, secret and role,
-- IAM auth, client auth type, TLS, idle timeout, debug logging, subnets of
-- the database's VPC and the proxy security group. Subnets and engine
-- family are create-only: changing them needs a destroy and an apply.
-- @module rds-proxy.steps.proxy
local step = { name = "proxy", title = "RDS Proxy", account = "rds",
               read_ahead = true,  -- found by its name: destroy reads it beside the others
               -- proxy names are unique per account and region: a fresh apply creates at once
               create_first = { "DBProxyAlreadyExistsFault" } }

local function role_arn(ctx)
  return ctx.pair.rds.role_arn or ctx.ids.role
end

local function secret_arn(ctx)
  return ctx.pair.rds.secret_arn or ctx.ids.secret
end

local function auth(ctx)
  return { { AuthScheme = "SECRETS", SecretArn = secret_arn(ctx), IAMAuth = ctx.pair.rds.iam_auth,
             ClientPasswordAuthType = ctx.pair.rds.client_password_auth_type,
             Description = "kumo pair " .. ctx.pair.name } }
end

-- Every proxy of the account and region, in one DescribeDBProxies for all
-- the run's pairs (the account has few: "Proxies per AWS account: 20"
-- by default, RDS quotas): `{ [name] = proxy }`.
local function survey(ctx)
  return ctx:survey("rds", "rds", "proxies", function(_, r)
    local ok, pages = pcall(r.read_all, r, "rds", "rds", "DescribeDBProxies", {})
    if not ok then return nil end
    local byname = {}
    for _, page in ipairs(pages) do
      for _, p in ipairs(page.DBProxies or {}) do byname[p.DBProxyName] = p end
    end
    return byname
  end)
end

local function describe(ctx, name)
  -- from the run's survey while it serves the pair: absent there is absent
  local all = survey(ctx)
  if all then return all[name] end
  local out, err = ctx:read("rds", "rds", "DescribeDBProxies", { DBProxyName = name })
  if not out then
    if err.code == "DBProxyNotFoundFault" then return nil end
    error(err, 0)
  end
  return out.DBProxies[1]
end

--- The name kumo created this pair's proxy with (the journal), when the
-- config now names another: proxy_name was renamed.
function step.former_name(ctx)
  local j = ctx.state:get("proxy")
  local old = j and j.info and j.info.name
  if old and old ~= ctx.pair.rds.proxy_name then return old end
end

-- Found by its configured name; the proxy of the journal's former name
-- (proxy_name renamed) is returned as a copy to delete (`step.stale`) when
-- it carries the pair's tag: a proxy without it is not kumo's.
function step.read(ctx)
  local live = describe(ctx, ctx.pair.rds.proxy_name)
  local old = step.former_name(ctx)
  local former = old and describe(ctx, old)
  if former and require("rds-proxy.context").tagged({ TagList = step.tags(ctx, former) }, ctx.pair.name) then
    return live, { former }
  end
  return live
end

--- A proxy of the pair under another name: proxy_name was renamed.
function step.stale(ctx, live)
  if live.DBProxyName ~= ctx.pair.rds.proxy_name then
    return string.format("proxy_name changed: %q -> %q", tostring(live.DBProxyName), ctx.pair.rds.proxy_name)
  end
end

function step.id(live) return live.DBProxyArn end

--- The proxy's tags (DescribeDBProxies returns none): the engine asks only
-- for a proxy the journal does not know, to tell kumo's from the user's.
function step.tags(ctx, live)
  local out = ctx:read("rds", "rds", "ListTagsForResource", { ResourceName = live.DBProxyArn })
  return out and out.TagList or {}
end

local function sorted(list)
  local t = {}
  for i, v in ipairs(list or {}) do t[i] = v end
  table.sort(t)
  return table.concat(t, ",")
end

-- "The following values are defaults for the corresponding engines"
-- (UserAuthConfig.ClientPasswordAuthType, RDS API reference): a config
-- without the key converges to the engine's default.
local DEFAULT_AUTH_TYPE = { MYSQL = "MYSQL_CACHING_SHA2_PASSWORD", POSTGRESQL = "POSTGRES_SCRAM_SHA_256",
                            SQLSERVER = "SQL_SERVER_AUTHENTICATION" }

local function auth_type(ctx)
  return ctx.pair.rds.client_password_auth_type or DEFAULT_AUTH_TYPE[ctx.pair.rds.engine_family]
end

--- Settings compared between the config and the live proxy. EngineFamily
-- and the subnets are fixed at CreateDBProxy (ModifyDBProxy has neither).
local function compare(ctx, live)
  local r = ctx.pair.rds
  local a = (live.Auth or {})[1] or {}
  return {
    { key = "EngineFamily", have = live.EngineFamily, want = r.engine_family, replace = true,
      reason = "a proxy's engine family cannot change in place" },
    { key = "VpcSubnetIds", have = sorted(live.VpcSubnetIds), want = sorted(ctx.facts.proxy_subnet_ids), replace = true,
      reason = "a proxy's subnets cannot change in place" },
    { key = "RoleArn", have = live.RoleArn, want = role_arn(ctx) },
    { key = "SecretArn", have = a.SecretArn, want = secret_arn(ctx) },
    { key = "IAMAuth", have = a.IAMAuth, want = r.iam_auth },
    -- a proxy that reports none uses the default
    { key = "ClientPasswordAuthType", have = a.ClientPasswordAuthType or DEFAULT_AUTH_TYPE[live.EngineFamily],
      want = auth_type(ctx) },
    { key = "RequireTLS", have = live.RequireTLS, want = r.require_tls },
    { key = "IdleClientTimeout", have = live.IdleClientTimeout, want = r.idle_client_timeout },
    { key = "DebugLogging", have = live.DebugLogging, want = r.debug_logging },
    { key = "VpcSecurityGroupIds", have = sorted(live.VpcSecurityGroupIds), want = sorted{ ctx.ids.proxy_sg } },
  }
end

local function tags_of(ctx, live)
  local out, err = ctx:read("rds", "rds", "ListTagsForResource", { ResourceName = live.DBProxyArn })
  if not out then error(err, 0) end
  return out.TagList
end

function step.diff(ctx, live)
  local d = {}
  for _, c in ipairs(compare(ctx, live)) do
    if c.have ~= c.want then
      d[#d + 1] = { key = c.key, have = tostring(c.have), want = tostring(c.want), replace = c.replace,
                    reason = c.reason }
    end
  end
  local t = require("rds-proxy.tags").diff(ctx:tag_list(), tags_of(ctx, live))
  if t then d[#d + 1] = t end
  return d
end

-- AWS drops subnets in AZs RDS Proxy does not support (facts §0.11).
local function check_subnets(ctx, live)
  local kept = {}
  for _, s in ipairs(live.VpcSubnetIds or {}) do kept[s] = true end
  for _, s in ipairs(ctx.facts.proxy_subnet_ids) do
    if not kept[s] then
      ctx:note("AWS did not keep proxy subnet " .. s .. " (an AZ RDS Proxy does not support?)")
    end
  end
end

function step.create(ctx)
  local r = ctx.pair.rds
  ctx.state:intend("proxy", { name = r.proxy_name })
  local params = {
    DBProxyName = r.proxy_name, EngineFamily = r.engine_family, Auth = auth(ctx),
    RoleArn = role_arn(ctx), VpcSubnetIds = ctx.facts.proxy_subnet_ids,
    VpcSecurityGroupIds = { ctx.ids.proxy_sg }, RequireTLS = r.require_tls,
    IdleClientTimeout = r.idle_client_timeout, DebugLogging = r.debug_logging,
    Tags = ctx:tag_list(),
  }
  local _, why = ctx:mutate("rds", "rds", "CreateDBProxy", params, nil,
    { adopt = { "DBProxyAlreadyExistsFault" } })
  if why ~= "adopt" then
    ctx.made_now = ctx.made_now or {}
    ctx.made_now.proxy = true  -- made by this call: no target yet (steps/target.lua)
  else
    -- an earlier attempt or run made it: it must be this pair's (tag) and as configured
    local live = step.read(ctx)
    if live then
      live.TagList = step.tags(ctx, live)
      ctx:adopt("proxy", live, live.DBProxyArn)
      if #step.diff(ctx, live) > 0 then
        error("a proxy named " .. r.proxy_name .. " already exists with other settings; "
          .. "choose another rds.proxy_name or destroy it", 0)
      end
    else
      ctx:adopt("proxy", nil)
    end
  end
  -- the waiter's last answer describes the available proxy: no second read
  local got = ctx:wait("rds", "rds", "DBProxyAvailable", { DBProxyName = r.proxy_name }, ctx.timeouts.proxy)
  local live = got and got.DBProxies and got.DBProxies[1] or step.read(ctx)
  ctx.state:created("proxy", live.DBProxyArn)
  check_subnets(ctx, live)
  return live
end

-- The update names the auth type even when the config leaves it out, so
-- removing the key returns the proxy to the engine's default.
local function update_auth(ctx)
  local a = auth(ctx)
  a[1].ClientPasswordAuthType = auth_type(ctx)
  return a
end

function step.update(ctx, live, diffs)
  local any, tagd = false, nil
  for _, d in ipairs(diffs) do
    if d.replace then
      -- the engine replaces only with --replace; an older engine lands here
      error(string.format("proxy: %s (%s is %s, config wants %s); rerun with --replace proxy (deletes and "
        .. "re-creates it and what hangs on it)", d.reason, d.key, d.have, d.want), 0)
    elseif d.tags then tagd = d.tags
    else any = true end
  end
  local r = ctx.pair.rds
  if any then
    -- resent after a lost answer, it meets the proxy modifying: waited for
    ctx:when_ready{ side = "rds", service = "rds", op = "ModifyDBProxy", params = {
      DBProxyName = r.proxy_name, Auth = update_auth(ctx), RoleArn = role_arn(ctx), RequireTLS = r.require_tls,
      IdleClientTimeout = r.idle_client_timeout, DebugLogging = r.debug_logging,
      SecurityGroups = { ctx.ids.proxy_sg },
    }, busy = "InvalidDBProxyStateFault", what = "proxy " .. r.proxy_name,
      wait = { name = "DBProxyAvailable", params = { DBProxyName = r.proxy_name }, timeout = ctx.timeouts.proxy },
      cli = "aws rds describe-db-proxies --db-proxy-name " .. r.proxy_name }
    ctx:wait("rds", "rds", "DBProxyAvailable", { DBProxyName = r.proxy_name }, ctx.timeouts.proxy)
  end
  if tagd then require("rds-proxy.tags").apply(ctx, "rds", "rds", live.DBProxyArn, tagd) end
  return step.read(ctx)
end

function step.verify(ctx, live)
  local problems = {}
  if live.Status ~= "available" then
    problems[#problems + 1] = "the proxy is " .. tostring(live.Status) .. ", not available"
  end
  for _, d in ipairs(step.diff(ctx, live)) do
    problems[#problems + 1] = string.format("proxy %s is %s, config says %s", d.key, d.have, d.want)
  end
  return problems
end

-- DeleteDBProxy deletes the proxy's endpoints too, in the background: wait
-- for them as well, so an endpoint of the same name (a renamed proxy's
-- endpoint, re-created on the new one) can be created next.
-- @return "gone": the waiter's last read found no proxy of that name
function step.delete(ctx, live)
  local name = live and live.DBProxyName or ctx.pair.rds.proxy_name
  local eps = require("rds-proxy.steps.endpoint").endpoints_of(ctx, name)
  -- resent after a lost answer, it meets the proxy deleting: under way
  ctx:when_ready{ side = "rds", service = "rds", op = "DeleteDBProxy", params = { DBProxyName = name },
    ok = { "DBProxyNotFoundFault" }, busy = "InvalidDBProxyStateFault",
    read = { op = "DescribeDBProxies", params = { DBProxyName = name }, list = "DBProxies" },
    wait = { name = "DBProxyAvailable", params = { DBProxyName = name }, timeout = ctx.timeouts.proxy },
    what = "proxy " .. name, cli = "aws rds describe-db-proxies --db-proxy-name " .. name }
  ctx:wait("rds", "rds", "DBProxyDeleted", { DBProxyName = name }, ctx.timeouts.delete)
  for _, ep in ipairs(eps) do
    ctx:wait("rds", "rds", "DBProxyEndpointDeleted", { DBProxyEndpointName = ep.DBProxyEndpointName },
      ctx.timeouts.delete)
  end
  return "gone"
end

return step
