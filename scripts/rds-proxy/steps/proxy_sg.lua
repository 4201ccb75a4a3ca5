--- RDS: the proxy's security group, in the database's VPC. It needs no
-- inbound rules (procedure step 4.1); its id is what the DB SG admits.
-- @module rds-proxy.steps.proxy_sg
local sg = require "rds-proxy.sg"

local step = sg.group_step{
  name = "proxy_sg", title = "proxy security group",
  group_name = function(ctx) return ctx.pair.names.proxy_sg end,
  vpc_id = function(ctx) return ctx.facts.db.vpc_id end,
  description = function(ctx)
    return "RDS Proxy " .. ctx.pair.rds.proxy_name .. " (kumo pair " .. ctx.pair.name .. "): no inbound rules needed"
  end,
}

function step.verify(_, live)
  local problems = {}
  for _, r in ipairs(sg.ingress(live)) do
    problems[#problems + 1] = "the proxy security group should have no inbound rule, has " .. sg.describe(r)
  end
  return problems
end

return step
