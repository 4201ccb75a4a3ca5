--- RDS: the proxy endpoint in the shared APP subnets, with the endpoint
-- security group (procedure step 3). Only the name and the security
-- groups can change in place; subnets and target role need a re-create.
--
-- `variant{ name=, title=, endpoint = { name=, target_role= } }` makes
-- another endpoint step (e.g. a reader endpoint) from the same code.
-- @module rds-proxy.steps.endpoint
local function make(key, title, get)
  local step = { name = key, title = title, account = "rds" }

  function step.read(ctx)
    local out, err = ctx:read("rds", "rds", "DescribeDBProxyEndpoints",
      { DBProxyEndpointName = get(ctx).name })
    if not out then
      if err.code == "DBProxyEndpointNotFoundFault" or err.code == "DBProxyNotFoundFault" then return nil end
      error(err, 0)
    end
    local ep = out.DBProxyEndpoints[1]
    if ep and ep.DBProxyName ~= ctx.pair.rds.proxy_name then
      error(string.format("endpoint.name: %q already belongs to proxy %s; endpoint names are unique per "
        .. "account and region — choose another", get(ctx).name, ep.DBProxyName), 0)
    end
    return ep
  end

  function step.id(live) return live.Endpoint or live.DBProxyEndpointArn end

  -- The endpoint's tags (the describe returns none), for the engine's
  -- ownership check of an endpoint the journal does not know.
  function step.tags(ctx, live)
    local out = ctx:read("rds", "rds", "ListTagsForResource", { ResourceName = live.DBProxyEndpointArn })
    return out and out.TagList or {}
  end

  local function sorted(list)
    local t = {}
    for i, v in ipairs(list or {}) do t[i] = v end
    table.sort(t)
    return table.concat(t, ",")
  end

  function step.diff(ctx, live)
    local d = {}
    if live.VpcId and live.VpcId ~= ctx.pair.app.vpc_id then
      d[#d + 1] = { key = "VpcId", have = live.VpcId, want = ctx.pair.app.vpc_id, replace = true }
    end
    if sorted(live.VpcSubnetIds) ~= sorted(ctx.pair.app.subnet_ids) then
      d[#d + 1] = { key = "VpcSubnetIds", have = sorted(live.VpcSubnetIds), want = sorted(ctx.pair.app.subnet_ids),
                    replace = true }
    end
    if live.TargetRole ~= get(ctx).target_role then
      d[#d + 1] = { key = "TargetRole", have = tostring(live.TargetRole), want = get(ctx).target_role,
                    replace = true }
    end
    if sorted(live.VpcSecurityGroupIds) ~= sorted{ ctx.ids.endpoint_sg } then
      d[#d + 1] = { key = "VpcSecurityGroupIds", have = sorted(live.VpcSecurityGroupIds),
                    want = tostring(ctx.ids.endpoint_sg) }
    end
    return d
  end

  function step.create(ctx)
    local name = get(ctx).name
    ctx.state:intend(key, { name = name })
    ctx:mutate("rds", "rds", "CreateDBProxyEndpoint", {
      DBProxyName = ctx.pair.rds.proxy_name, DBProxyEndpointName = name,
      VpcSubnetIds = ctx.pair.app.subnet_ids,
      -- always pass it: the default would be the APP VPC's default SG (facts §0.3)
      VpcSecurityGroupIds = { ctx.ids.endpoint_sg },
      TargetRole = get(ctx).target_role, Tags = ctx:tag_list(),
    }, { "DBProxyEndpointAlreadyExistsFault" })
    ctx:wait("rds", "rds", "DBProxyEndpointAvailable",
      { DBProxyName = ctx.pair.rds.proxy_name, DBProxyEndpointName = name }, ctx.timeouts.endpoint)
    local live = step.read(ctx)
    ctx.state:created(key, live.DBProxyEndpointArn, { address = live.Endpoint })
    for _, d in ipairs(step.diff(ctx, live)) do
      if d.key == "VpcSubnetIds" then
        ctx:note("AWS kept endpoint subnets " .. d.have .. " of the requested " .. d.want)
      end
    end
    return live
  end

  function step.update(ctx, live, diffs)
    for _, d in ipairs(diffs) do
      if d.replace then
        error(string.format("endpoint %s: %s is %s, config wants %s; it cannot change in place — run "
          .. "destroy, then apply", get(ctx).name, d.key, d.have, d.want), 0)
      end
    end
    ctx:mutate("rds", "rds", "ModifyDBProxyEndpoint", { DBProxyEndpointName = get(ctx).name,
      VpcSecurityGroupIds = { ctx.ids.endpoint_sg } })
    ctx:wait("rds", "rds", "DBProxyEndpointAvailable",
      { DBProxyName = ctx.pair.rds.proxy_name, DBProxyEndpointName = get(ctx).name }, ctx.timeouts.endpoint)
    return step.read(ctx)
  end

  function step.verify(ctx, live)
    local problems = {}
    if live.Status ~= "available" then
      problems[#problems + 1] = "the endpoint is " .. tostring(live.Status) .. ", not available"
    end
    for _, d in ipairs(step.diff(ctx, live)) do
      problems[#problems + 1] = string.format("endpoint %s is %s, expected %s", d.key, d.have, d.want)
    end
    return problems
  end

  function step.delete(ctx)
    local name = get(ctx).name
    ctx:mutate("rds", "rds", "DeleteDBProxyEndpoint", { DBProxyEndpointName = name },
      { "DBProxyEndpointNotFoundFault" })
    ctx:wait("rds", "rds", "DBProxyEndpointDeleted", { DBProxyName = ctx.pair.rds.proxy_name,
      DBProxyEndpointName = name }, ctx.timeouts.delete)
  end

  return step
end

local M = make("endpoint", "proxy endpoint (in APP VPC)", function(ctx) return ctx.pair.endpoint end)

--- Another endpoint step on the same proxy, with its own settings.
-- @param o `{ name = "step name", title=, endpoint = { name=, target_role= } }`
function M.variant(o)
  assert(type(o) == "table" and o.name and type(o.endpoint) == "table" and o.endpoint.name,
    "variant{ name=, endpoint = { name=, target_role= } }")
  local ep = { name = o.endpoint.name:lower(), target_role = o.endpoint.target_role or "READ_WRITE" }
  return make(o.name, o.title or ("proxy endpoint " .. ep.name), function() return ep end)
end

return M
