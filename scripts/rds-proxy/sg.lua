--- Security-group helpers shared by the SG steps: find a group kumo made
-- by VPC, name and owner; make one; find, add and remove one TCP ingress
-- rule from a source group. All calls run in the RDS account.
-- @module rds-proxy.sg
local M = {}

--- Find the group `name` in `vpc_id` owned by the RDS account.
function M.find(ctx, name, vpc_id)
  local out, err = ctx:read("rds", "ec2", "DescribeSecurityGroups", { Filters = {
    { Name = "vpc-id", Values = { vpc_id } },
    { Name = "group-name", Values = { name } },
    { Name = "owner-id", Values = { ctx.facts.rds_account } },
  } })
  if not out then error(err, 0) end
  return (out.SecurityGroups or {})[1]
end

--- Describe one group by id (nil when it is gone).
function M.get(ctx, id)
  local out, err = ctx:read("rds", "ec2", "DescribeSecurityGroups", { GroupIds = { id } })
  if not out then
    if err.code == "InvalidGroup.NotFound" then return nil end
    error(err, 0)
  end
  return (out.SecurityGroups or {})[1]
end

--- Create group `name` in `vpc_id`, tagged, journaled under `key`.
function M.create(ctx, key, name, vpc_id, description)
  ctx.state:intend(key, { name = name, vpc_id = vpc_id })
  local tags = ctx:tag_list()
  tags[#tags + 1] = { Key = "Name", Value = name }
  local out, why = ctx:mutate("rds", "ec2", "CreateSecurityGroup", {
    GroupName = name, Description = description, VpcId = vpc_id,
    TagSpecifications = { { ResourceType = "security-group", Tags = tags } },
  }, nil, { adopt = { "InvalidGroup.Duplicate" }, step = key })
  if why == "adopt" then
    -- a lost answer's group (retried attempt or an earlier run's intent)
    local g = M.find(ctx, name, vpc_id)
    return ctx:adopt(key, g, g and g.GroupId)
  end
  ctx.state:created(key, out.GroupId)
  return M.get(ctx, out.GroupId)
end

--- Delete a group; retries while network interfaces still use it.
function M.delete(ctx, id)
  for attempt = 1, 40 do
    local out, code = ctx:client("rds", "ec2"):try("DeleteSecurityGroup", { GroupId = id })
    if out then
      ctx.actions[#ctx.actions + 1] = { account = "rds", call = "ec2:DeleteSecurityGroup" }
      return
    end
    if code.code == "InvalidGroup.NotFound" then return end
    if code.code ~= "DependencyViolation" or attempt == 40 then error(code, 0) end
    ctx.progress(ctx.pair.name, "waiting for " .. id .. " to be released")
    require("kumo.sched").sleep(math.min(2 ^ attempt, 15))
  end
end

--- The TCP ingress rules of a group as a list of
-- `{ port=, from_group=, from_user=, cidr= }`.
function M.ingress(group)
  local rules = {}
  for _, p in ipairs(group and group.IpPermissions or {}) do
    local port = p.FromPort == p.ToPort and p.FromPort or (tostring(p.FromPort) .. "-" .. tostring(p.ToPort))
    if p.IpProtocol == "-1" then port = "all" end
    for _, g in ipairs(p.UserIdGroupPairs or {}) do
      rules[#rules + 1] = { protocol = p.IpProtocol, port = port, from_group = g.GroupId, from_user = g.UserId }
    end
    for _, r in ipairs(p.IpRanges or {}) do
      rules[#rules + 1] = { protocol = p.IpProtocol, port = port, cidr = r.CidrIp }
    end
    for _, r in ipairs(p.Ipv6Ranges or {}) do
      rules[#rules + 1] = { protocol = p.IpProtocol, port = port, cidr = r.CidrIpv6 }
    end
  end
  return rules
end

--- True when `group` admits TCP `port` from `source` group.
function M.has_rule(group, port, source)
  for _, r in ipairs(M.ingress(group)) do
    if r.protocol == "tcp" and r.port == port and r.from_group == source then return true end
  end
  return false
end

local function permission(port, source, user, description)
  return { { IpProtocol = "tcp", FromPort = port, ToPort = port,
             UserIdGroupPairs = { { GroupId = source, UserId = user, Description = description } } } }
end

--- Admit TCP `port` from `source` (owned by account `user`, optional).
function M.authorize(ctx, group_id, port, source, user, description)
  ctx:mutate("rds", "ec2", "AuthorizeSecurityGroupIngress", {
    GroupId = group_id, IpPermissions = permission(port, source, user, description),
  }, { "InvalidPermission.Duplicate" })
end

--- Remove that rule (already gone is fine). The rule is revoked as the
-- group lists it, description included: AWS matches without it, moto 5.2
-- only with it (the engine reads every delete back, so a miss shows).
function M.revoke(ctx, group_id, port, source, user)
  local description
  for _, p in ipairs((M.get(ctx, group_id) or {}).IpPermissions or {}) do
    for _, g in ipairs(p.IpProtocol == "tcp" and p.FromPort == port and p.UserIdGroupPairs or {}) do
      if g.GroupId == source then description = g.Description end
    end
  end
  ctx:mutate("rds", "ec2", "RevokeSecurityGroupIngress", {
    GroupId = group_id, IpPermissions = permission(port, source, user, description),
  }, { "InvalidPermission.NotFound", "InvalidGroup.NotFound" })
end

--- True when a rule of `group` (from `source`, when given) has a
-- description starting with `prefix`.
function M.described(group, prefix, source)
  for _, p in ipairs(group and group.IpPermissions or {}) do
    for _, g in ipairs(p.UserIdGroupPairs or {}) do
      if (source == nil or g.GroupId == source) and (g.Description or ""):sub(1, #prefix) == prefix then
        return true
      end
    end
  end
  return false
end

--- A step for a security group kumo makes: found by name in a VPC,
-- created tagged, deleted once nothing uses it. The caller adds `verify`.
-- @param o `{ name=, title=, group_name = function(ctx), vpc_id = function(ctx),
--   description = function(ctx) }`
function M.group_step(o)
  local step = { name = o.name, title = o.title, account = "rds" }
  function step.read(ctx) return M.find(ctx, o.group_name(ctx), o.vpc_id(ctx)) end
  function step.id(live) return live.GroupId end
  function step.diff() return {} end
  function step.create(ctx)
    return M.create(ctx, o.name, o.group_name(ctx), o.vpc_id(ctx), o.description(ctx))
  end
  function step.delete(ctx, live) M.delete(ctx, live.GroupId) end
  return step
end

--- A readable rule, e.g. `tcp/5432 from 111111111111/sg-1`.
function M.describe(r)
  local from = r.cidr or ((r.from_user and (r.from_user .. "/") or "") .. tostring(r.from_group))
  return string.format("%s/%s from %s", tostring(r.protocol), tostring(r.port), from)
end

return M
