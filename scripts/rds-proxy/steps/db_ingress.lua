--- RDS: the database's security group admits the proxy's security group
-- on the database port (procedure step 4.3). The rule is kumo's; the DB SG
-- itself is not.
-- @module rds-proxy.steps.db_ingress
local sg = require "rds-proxy.sg"

local step = { name = "db_ingress", title = "DB SG rule: DB port from proxy SG", account = "rds" }

local function db_sg(ctx)
  return ctx.facts.db.security_group_ids[1]
end

function step.read(ctx)
  local source = ctx.ids.proxy_sg
  if not source then return nil end
  local g = sg.get(ctx, db_sg(ctx))
  if g and sg.has_rule(g, ctx.facts.db.port, source) then
    return { group = g, source = source }
  end
  return nil
end

function step.id(live) return live.group.GroupId .. " <- " .. live.source end

function step.diff() return {} end

function step.create(ctx)
  ctx.state:intend("db_ingress", { group = db_sg(ctx) })
  sg.authorize(ctx, db_sg(ctx), ctx.facts.db.port, ctx.ids.proxy_sg, nil,
    "kumo:" .. ctx.pair.name .. " RDS Proxy to the database")
  ctx.state:created("db_ingress", db_sg(ctx), { source = ctx.ids.proxy_sg, port = ctx.facts.db.port })
  return step.read(ctx)
end

function step.verify(ctx, live)
  local problems = {}
  for _, r in ipairs(sg.ingress(live.group)) do
    if r.cidr == "0.0.0.0/0" or r.cidr == "::/0" then
      problems[#problems + 1] = "the DB security group is open to the world: " .. sg.describe(r)
    end
  end
  if not sg.has_rule(live.group, ctx.facts.db.port, ctx.ids.proxy_sg) then
    problems[#problems + 1] = "the DB security group does not admit the proxy security group"
  end
  return problems
end

function step.delete(ctx, live)
  sg.revoke(ctx, live.group.GroupId, ctx.facts.db.port, live.source)
end

-- A rule cannot be tagged: kumo's carries the description "kumo:<pair> ..."
-- (what the engine asks when the journal does not know the rule).
function step.owned(ctx, live)
  return sg.described(live.group, "kumo:" .. ctx.pair.name .. " ", live.source)
end

return step
