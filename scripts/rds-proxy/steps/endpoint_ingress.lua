--- RDS: the endpoint's security group admits the APP clients' security
-- groups on the proxy's listener port (3306 or 5432, not the DB's port:
-- facts §0.4). The rules reference the APP account's groups
-- (`account/sg-id`).
-- @module rds-proxy.steps.endpoint_ingress
local sg = require "rds-proxy.sg"

local step = { name = "endpoint_ingress", title = "endpoint SG rules: listener port from APP clients",
               account = "rds" }

function step.read(ctx)
  local id = ctx.ids.endpoint_sg
  if not id then return nil end
  local g = sg.get(ctx, id)
  if not g then return nil end
  local missing = {}
  for _, src in ipairs(ctx.pair.app.client_security_group_ids) do
    if not sg.has_rule(g, ctx.pair.listener_port, src) then missing[#missing + 1] = src end
  end
  if #missing == #ctx.pair.app.client_security_group_ids then return nil end
  return { group = g, missing = missing }
end

function step.id(live) return live.group.GroupId end

function step.diff(_, live)
  if #live.missing > 0 then
    return { { key = "sources (add)", want = table.concat(live.missing, ", ") } }
  end
  return {}
end

local function authorize(ctx, sources)
  for _, src in ipairs(sources) do
    sg.authorize(ctx, ctx.ids.endpoint_sg, ctx.pair.listener_port, src, ctx.facts.app_account,
      "kumo:" .. ctx.pair.name .. " APP clients to the proxy endpoint")
  end
end

function step.create(ctx)
  ctx.state:intend("endpoint_ingress", { group = ctx.ids.endpoint_sg })
  authorize(ctx, ctx.pair.app.client_security_group_ids)
  ctx.state:created("endpoint_ingress", ctx.ids.endpoint_sg, { port = ctx.pair.listener_port })
  return step.read(ctx)
end

function step.update(ctx, live)
  authorize(ctx, live.missing)
  return step.read(ctx)
end

function step.verify(ctx, live)
  local problems = {}
  for _, src in ipairs(live.missing) do
    problems[#problems + 1] = "the endpoint security group does not admit " .. src
  end
  return problems
end

function step.delete(ctx, live)
  for _, src in ipairs(ctx.pair.app.client_security_group_ids) do
    sg.revoke(ctx, live.group.GroupId, ctx.pair.listener_port, src, ctx.facts.app_account)
  end
end

-- A rule cannot be tagged: kumo's carries the description "kumo:<pair> ..."
-- (what the engine asks when the journal does not know the rule).
function step.owned(ctx, live)
  return sg.described(live.group, "kumo:" .. ctx.pair.name .. " ")
end

return step
