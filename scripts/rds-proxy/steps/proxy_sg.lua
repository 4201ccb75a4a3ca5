--- RDS: the proxy's security group, in the database's VPC. It needs no
-- inbound rules (procedure step 4.1); its id is what the DB SG admits.
-- @module rds-proxy.steps.proxy_sg
local sg = require "rds-proxy.sg"

local step = { name = "proxy_sg", title = "proxy security group", account = "rds" }

function step.read(ctx)
  return sg.find(ctx, ctx.pair.names.proxy_sg, ctx.facts.db.vpc_id)
end

function step.id(live) return live.GroupId end

function step.diff() return {} end

function step.create(ctx)
  return sg.create(ctx, "proxy_sg", ctx.pair.names.proxy_sg, ctx.facts.db.vpc_id,
    "RDS Proxy " .. ctx.pair.rds.proxy_name .. " (kumo pair " .. ctx.pair.name .. "): no inbound rules needed")
end

function step.verify(_, live)
  local problems = {}
  for _, r in ipairs(sg.ingress(live)) do
    problems[#problems + 1] = "the proxy security group should have no inbound rule, has " .. sg.describe(r)
  end
  return problems
end

function step.delete(ctx, live)
  sg.delete(ctx, live.GroupId)
end

return step
