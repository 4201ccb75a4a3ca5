--- RDS: the endpoint's security group, owned by the RDS account but made
-- in the APP VPC (facts §0.3: a shared VPC's default or APP-owned group
-- cannot be used, so one is always passed).
-- @module rds-proxy.steps.endpoint_sg
local sg = require "rds-proxy.sg"

local step = sg.group_step{
  name = "endpoint_sg", title = "endpoint security group (in APP VPC)",
  group_name = function(ctx) return ctx.pair.names.endpoint_sg end,
  vpc_id = function(ctx) return ctx.pair.app.vpc_id end,
  description = function(ctx)
    return "RDS Proxy endpoint " .. ctx.pair.endpoint.name .. " (kumo pair " .. ctx.pair.name .. ")"
  end,
}

-- Only the listener port, only from the APP clients' groups: never a CIDR.
function step.verify(ctx, live)
  local problems = {}
  local allowed = {}
  for _, id in ipairs(ctx.pair.app.client_security_group_ids) do allowed[id] = true end
  for _, r in ipairs(sg.ingress(live)) do
    if r.cidr or not allowed[r.from_group] or r.port ~= ctx.pair.listener_port or r.protocol ~= "tcp" then
      problems[#problems + 1] = "the endpoint security group admits more than the APP clients on "
        .. ctx.pair.listener_port .. ": " .. sg.describe(r)
    end
  end
  return problems
end

return step
