--- RDS: the proxy endpoint in the shared APP subnets, with the endpoint
-- security group (procedure step 3). Only the name, the security groups
-- and the tags change in place; subnets, VPC and target role need a
-- re-create, shown by plan as `replace (<reason>)` (apply `--replace endpoint`).
--
-- `variant{ name=, title=, endpoint = { name=, target_role= } }` makes
-- another endpoint step (e.g. a reader endpoint) from the same code.
-- @module rds-proxy.steps.endpoint

-- Every endpoint of the account and region (all proxies'), in one
-- DescribeDBProxyEndpoints for all the run's pairs: `{ [name] = endpoint }`
-- (nil: read for yourself).
local function survey(ctx)
  return ctx:survey("rds", "rds", "proxy-endpoints", function(_, r)
    local ok, pages = pcall(r.read_all, r, "rds", "rds", "DescribeDBProxyEndpoints", {})
    if not ok then return nil end
    local byname = {}
    for _, page in ipairs(pages) do
      for _, e in ipairs(page.DBProxyEndpoints or {}) do byname[e.DBProxyEndpointName] = e end
    end
    return byname
  end)
end

local function make(key, title, get)
  -- endpoint names are unique per account and region: a fresh apply creates at once
  -- it is made on the proxy, with the endpoint SG, in the shared subnets;
  -- found by its name: destroy reads it beside the others (`read_ahead`)
  local step = { name = key, title = title, account = "rds", needs = { "share", "proxy", "endpoint_sg" },
                 read_ahead = true, create_first = { "DBProxyEndpointAlreadyExistsFault" } }

  local function describe(ctx, name)
    -- from the run's survey while it serves the pair: absent there is absent
    local all = not (ctx.endpoints_gone and ctx.endpoints_gone[name]) and survey(ctx)
    if all then return all[name] end
    local out, err = ctx:read("rds", "rds", "DescribeDBProxyEndpoints", { DBProxyEndpointName = name })
    if not out then
      if err.code == "DBProxyEndpointNotFoundFault" or err.code == "DBProxyNotFoundFault" then return nil end
      error(err, 0)
    end
    return out.DBProxyEndpoints[1]
  end

  -- Found by its configured name; else by the name kumo created it with
  -- (the journal), so a renamed endpoint is renamed, not made twice.
  function step.read(ctx)
    local ep = describe(ctx, get(ctx).name)
    local former = require("rds-proxy.steps.proxy").former_name(ctx)
    if ep and former and ep.DBProxyName == former
        and require("rds-proxy.context").tagged({ TagList = step.tags(ctx, ep) }, ctx.pair.name) then
      -- on the pair's proxy of a former proxy_name: a copy to delete
      -- (`stale`; it also goes with that proxy), re-created on the new one
      return nil, { ep }
    end
    if ep and ep.DBProxyName ~= ctx.pair.rds.proxy_name then
      error(string.format("endpoint.name: %q already belongs to proxy %s; endpoint names are unique per "
        .. "account and region — choose another", get(ctx).name, ep.DBProxyName), 0)
    end
    if not ep then
      local j = ctx.state:get(key)
      local old = j and j.info and j.info.name
      if old and old ~= get(ctx).name then
        ep = describe(ctx, old)
        if ep and ep.DBProxyName ~= ctx.pair.rds.proxy_name then ep = nil end
      end
    end
    return ep
  end

  function step.id(live) return live.Endpoint or live.DBProxyEndpointArn end

  --- An endpoint of the pair on the proxy of a former proxy_name.
  function step.stale(ctx, live)
    if live.DBProxyName ~= ctx.pair.rds.proxy_name then
      return string.format("on proxy %s of a former proxy_name", tostring(live.DBProxyName))
    end
  end

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

  local function tags_of(ctx, live)
    local out, err = ctx:read("rds", "rds", "ListTagsForResource", { ResourceName = live.DBProxyEndpointArn })
    if not out then error(err, 0) end
    return out.TagList
  end

  -- ModifyDBProxyEndpoint changes only the name and the security groups;
  -- subnets, VPC and target role are fixed at CreateDBProxyEndpoint.
  function step.diff(ctx, live)
    local d = {}
    if live.DBProxyEndpointName ~= get(ctx).name then
      d[#d + 1] = { key = "DBProxyEndpointName", have = live.DBProxyEndpointName, want = get(ctx).name }
    end
    if live.VpcId and live.VpcId ~= ctx.pair.app.vpc_id then
      d[#d + 1] = { key = "VpcId", have = live.VpcId, want = ctx.pair.app.vpc_id, replace = true,
                    reason = "an endpoint's VPC cannot change in place" }
    end
    if sorted(live.VpcSubnetIds) ~= sorted(ctx.pair.app.subnet_ids) then
      d[#d + 1] = { key = "VpcSubnetIds", have = sorted(live.VpcSubnetIds), want = sorted(ctx.pair.app.subnet_ids),
                    replace = true, reason = "an endpoint's subnets cannot change in place" }
    end
    if live.TargetRole ~= get(ctx).target_role then
      d[#d + 1] = { key = "TargetRole", have = tostring(live.TargetRole), want = get(ctx).target_role,
                    replace = true, reason = "an endpoint's target role cannot change in place" }
    end
    if sorted(live.VpcSecurityGroupIds) ~= sorted{ ctx.ids.endpoint_sg } then
      d[#d + 1] = { key = "VpcSecurityGroupIds", have = sorted(live.VpcSecurityGroupIds),
                    want = tostring(ctx.ids.endpoint_sg) }
    end
    local t = require("rds-proxy.tags").diff(ctx:tag_list(), tags_of(ctx, live))
    if t then d[#d + 1] = t end
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
    -- the waiter's last answer describes the available endpoint: no second read
    local got = ctx:wait("rds", "rds", "DBProxyEndpointAvailable",
      { DBProxyName = ctx.pair.rds.proxy_name, DBProxyEndpointName = name }, ctx.timeouts.endpoint)
    local live = got and got.DBProxyEndpoints and got.DBProxyEndpoints[1]
    if not (live and live.DBProxyEndpointName == name) then live = step.read(ctx) end
    ctx.state:created(key, live.DBProxyEndpointArn, { address = live.Endpoint })
    local have, want = sorted(live.VpcSubnetIds), sorted(ctx.pair.app.subnet_ids)
    if have ~= want then
      ctx:note("AWS kept endpoint subnets " .. have .. " of the requested " .. want)
    end
    return live
  end

  function step.update(ctx, live, diffs)
    local modify, tagd = false, nil
    for _, d in ipairs(diffs) do
      if d.replace then
        -- the engine replaces only with --replace; an older engine lands here
        error(string.format("%s: %s (%s is %s, config wants %s); rerun with --replace %s (deletes and "
          .. "re-creates only it)", key, d.reason, d.key, d.have, d.want, key), 0)
      elseif d.tags then tagd = d.tags
      else modify = true end
    end
    local name = live.DBProxyEndpointName
    if modify then
      local new = get(ctx).name
      -- resent after a lost answer, it meets the endpoint modifying (waited
      -- for) or, renamed, finds no endpoint of the old name: the rename
      -- took, and the wait for the new name proves it
      ctx:when_ready{ side = "rds", service = "rds", op = "ModifyDBProxyEndpoint", params = {
        DBProxyEndpointName = name, NewDBProxyEndpointName = name ~= new and new or nil,
        VpcSecurityGroupIds = { ctx.ids.endpoint_sg } },
        ok = name ~= new and { "DBProxyEndpointNotFoundFault" } or nil,
        busy = "InvalidDBProxyEndpointStateFault", what = "endpoint " .. new,
        wait = { name = "DBProxyEndpointAvailable", params = { DBProxyName = ctx.pair.rds.proxy_name,
          DBProxyEndpointName = new }, timeout = ctx.timeouts.endpoint },
        cli = "aws rds describe-db-proxy-endpoints --db-proxy-endpoint-name " .. new }
      name = new
      ctx:wait("rds", "rds", "DBProxyEndpointAvailable",
        { DBProxyName = ctx.pair.rds.proxy_name, DBProxyEndpointName = name }, ctx.timeouts.endpoint)
      if live.DBProxyEndpointName ~= name then
        ctx.state:created(key, live.DBProxyEndpointArn, { info = { name = name } })
      end
    end
    if tagd then require("rds-proxy.tags").apply(ctx, "rds", "rds", live.DBProxyEndpointArn, tagd) end
    return step.read(ctx)
  end

  function step.verify(ctx, live)
    local problems = {}
    if live.Status ~= "available" then
      problems[#problems + 1] = "the endpoint is " .. tostring(live.Status) .. ", not available"
    end
    for _, d in ipairs(step.diff(ctx, live)) do
      problems[#problems + 1] = string.format("endpoint %s is %s, expected %s%s", d.key, d.have, d.want,
        d.replace and (" (" .. d.reason .. ": apply --replace " .. key .. ")") or "")
    end
    return problems
  end

  -- @return "gone": the waiter's last read found no endpoint of that name
  function step.delete(ctx, live)
    local name = live and live.DBProxyEndpointName or get(ctx).name
    local proxy = live and live.DBProxyName or ctx.pair.rds.proxy_name
    -- resent after a lost answer, it meets the endpoint deleting: under way
    ctx:when_ready{ side = "rds", service = "rds", op = "DeleteDBProxyEndpoint",
      params = { DBProxyEndpointName = name }, ok = { "DBProxyEndpointNotFoundFault" },
      busy = "InvalidDBProxyEndpointStateFault",
      read = { op = "DescribeDBProxyEndpoints", params = { DBProxyEndpointName = name }, list = "DBProxyEndpoints" },
      wait = { name = "DBProxyEndpointAvailable", params = { DBProxyName = proxy, DBProxyEndpointName = name },
               timeout = ctx.timeouts.endpoint },
      what = "endpoint " .. name, cli = "aws rds describe-db-proxy-endpoints --db-proxy-endpoint-name " .. name }
    ctx:wait("rds", "rds", "DBProxyEndpointDeleted", { DBProxyName = proxy, DBProxyEndpointName = name },
      ctx.timeouts.delete)
    ctx.endpoints_gone = ctx.endpoints_gone or {}
    ctx.endpoints_gone[name] = true
    return "gone"
  end

  return step
end

local M = make("endpoint", "proxy endpoint (in APP VPC)", function(ctx) return ctx.pair.endpoint end)

--- The endpoints of proxy `proxy_name` other than its default one, as a
-- DescribeDBProxyEndpoints answer's list: from the run's survey for the
-- pair (without those this run has seen deleted), else read.
function M.endpoints_of(ctx, proxy_name)
  local all = survey(ctx)
  local list = {}
  if all then
    local gone = ctx.endpoints_gone or {}
    for name, e in pairs(all) do
      if e.DBProxyName == proxy_name and not e.IsDefault and not gone[name] then list[#list + 1] = e end
    end
    table.sort(list, function(a, b) return a.DBProxyEndpointName < b.DBProxyEndpointName end)
    return list
  end
  local eps = ctx:read("rds", "rds", "DescribeDBProxyEndpoints", { DBProxyName = proxy_name })
  for _, e in ipairs(eps and eps.DBProxyEndpoints or {}) do
    if not e.IsDefault then list[#list + 1] = e end
  end
  return list
end

--- Another endpoint step on the same proxy, with its own settings.
-- @param o `{ name = "step name", title=, endpoint = { name=, target_role= } }`
function M.variant(o)
  assert(type(o) == "table" and o.name and type(o.endpoint) == "table" and o.endpoint.name,
    "variant{ name=, endpoint = { name=, target_role= } }")
  local ep = { name = o.endpoint.name:lower(), target_role = o.endpoint.target_role or "READ_WRITE" }
  return make(o.name, o.title or ("proxy endpoint " .. ep.name), function() return ep end)
end

return M
