--- RDS: the proxy's security group, in the database's VPC. It needs no
-- inbound rules (procedure step 4.1); its id is what the DB SG admits.
-- Any inbound rule found on it (other than the allowed ones) is removed.
-- @module rds-proxy.steps.proxy_sg
local sg = require "rds-proxy.sg"

local step = sg.group_step{
  name = "proxy_sg", title = "proxy security group",
  what = "the proxy security group (it needs no inbound rule)",
  group_name = function(ctx) return ctx.pair.names.proxy_sg end,
  vpc_id = function(ctx) return ctx.facts.db.vpc_id end,
  description = function(ctx)
    return "RDS Proxy " .. ctx.pair.rds.proxy_name .. " (kumo pair " .. ctx.pair.name .. "): no inbound rules needed"
  end,
}
-- found by its name and VPC: destroy reads it beside the others
step.read_ahead = true
-- it needs nothing: the DB SG rule, the proxy and the endpoint need it
step.needs = {}
return step
