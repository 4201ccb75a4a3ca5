--- RDS: the endpoint's security group, owned by the RDS account but made
-- in the APP VPC (facts §0.3: a shared VPC's default or APP-owned group
-- cannot be used, so one is always passed).
--
-- Its inbound rules are exact: the rules from security groups belong to
-- `endpoint_ingress` (the APP clients on the listener port); every other
-- rule (a CIDR such as 0.0.0.0/0, a prefix list) is removed by this step
-- unless a step allows it (`allow_rules = { endpoint_sg = {...} }`).
-- @module rds-proxy.steps.endpoint_sg
local sg = require "rds-proxy.sg"

local step = sg.group_step{
  name = "endpoint_sg", title = "endpoint security group (in APP VPC)",
  what = "the endpoint security group (only the APP clients' groups on the listener port)",
  group_name = function(ctx) return ctx.pair.names.endpoint_sg end,
  vpc_id = function(ctx) return ctx.pair.app.vpc_id end,
  description = function(ctx)
    return "RDS Proxy endpoint " .. ctx.pair.endpoint.name .. " (kumo pair " .. ctx.pair.name .. ")"
  end,
  -- rules from a security group are endpoint_ingress's to add and remove
  managed_elsewhere = function(_, r) return r.from_group ~= nil end,
}
-- a group in the APP VPC can be made by the RDS account once the VPC's
-- subnets are shared with it: the share's wait (begun in the background
-- by its create) ends before this step starts
step.needs = { "share" }
-- found by its name and VPC: destroy reads it beside the others
step.read_ahead = true
return step
