--- Security-group helpers shared by the SG steps: find a group kumo made
-- by VPC, name and owner; make one; read a group's inbound rules one by
-- one with their rule IDs (DescribeSecurityGroupRules); add a TCP rule
-- from a source group; revoke rules by their IDs. All calls run in the
-- RDS account, and all through `ctx` (`ctx:read`, `ctx:mutate`): a plan
-- makes no change here either.
--
-- Reads are batched across pairs and steps: one DescribeSecurityGroups
-- finds every group the group steps of all the run's pairs make (their
-- names; `ctx:survey`), and one DescribeSecurityGroupRules reads the rules
-- of all of them and of the databases' groups; once a pair changed groups
-- or rules, it reads its own groups at once (the run's memo in `ctx`,
-- dropped when a mutation names the group).
--
-- Groups kumo owns converge to exactly the rules the config implies (plus
-- the rules steps declare in `allow_rules`); on a group kumo does not own
-- (the DB team's) only kumo's own rule is ever touched, and always by its
-- rule ID, so a rule of theirs that looks alike is never revoked.
-- Outbound rules are not managed (a new group's default egress stays).
-- @module rds-proxy.sg
local M = {}

-- Every group step made by `group_step`, so one read finds all of a pair's.
local group_steps = {}

local function sorted_keys(set)
  local list = {}
  for k in pairs(set) do list[#list + 1] = k end
  table.sort(list)
  return list
end

-- `want`: `{ [name] = vpc }` of the pair's groups (those of every group
-- step whose name and VPC the pair's facts tell).
local function pair_groups(ctx, want)
  if not ctx.pair then return end
  for _, o in ipairs(group_steps) do
    local ok, name, vpc = pcall(function() return o.group_name(ctx), o.vpc_id(ctx) end)
    if ok and name and vpc then want[name] = vpc end
  end
end

-- The names of the groups every group step makes for `pair`.
local function names_of(ctx, pair, set)
  for _, o in ipairs(group_steps) do
    local ok, name = pcall(o.group_name, { pair = pair, top = ctx.top, facts = {}, ids = {} })
    if ok and type(name) == "string" then set[name] = true end
  end
  return set
end

-- The run's groups in the RDS account, by the names of all its pairs'
-- groups (EC2 takes up to 200 filter values; 100 a call):
-- `{ groups = {...}, names = set covered }`, or nil (read your own).
local function survey_groups(ctx)
  if not (ctx.survey and ctx.pair and ctx.facts.rds_account) then return nil end
  return ctx:survey("rds", "ec2", "security-groups", function(peers, r)
    local set = {}
    for _, p in ipairs(peers) do names_of(ctx, p, set) end
    local names = sorted_keys(set)
    local groups = {}
    for i = 1, #names, 100 do
      local out = r:read("rds", "ec2", "DescribeSecurityGroups", { Filters = {
        { Name = "group-name", Values = table.move(names, i, math.min(i + 99, #names), 1, {}) },
        { Name = "owner-id", Values = { ctx.facts.rds_account } },
      } })
      if not out then return nil end
      for _, g in ipairs(out.SecurityGroups or {}) do groups[#groups + 1] = g end
    end
    return { groups = groups, names = set }
  end)
end

local function copy(g)
  local c = {}
  for f, x in pairs(g) do c[f] = x end
  return c
end

local function copies(list)
  local out = {}
  for i, g in ipairs(list or {}) do out[i] = copy(g) end
  return out
end

--- Find the group `name` in `vpc_id` owned by the RDS account (read with
-- the pair's other groups in one call, or with all the run's pairs').
-- @return the group (nil when absent), and the groups of that name and
--   owner in other VPCs (a VPC the config named before: `app.vpc_id`
--   changed, or the database moved), which the caller may claim by tag
function M.find(ctx, name, vpc_id)
  -- what the pair's batch read found (or not) for this group, unless a
  -- mutation of kumo's touched the group since, or the read must be fresh
  local key = name .. "|" .. vpc_id
  local seen = ctx.sg_seen and ctx.sg_seen[key]
  local elsewhere = ctx.sg_elsewhere and ctx.sg_elsewhere[key]
  if seen ~= nil and elsewhere and not ctx.fresh_after then return seen or nil, copies(elsewhere) end
  local want = { [name] = vpc_id }
  pair_groups(ctx, want)
  want[name] = vpc_id
  local names = {}
  for n in pairs(want) do names[n] = true end
  local s = survey_groups(ctx)
  for n in pairs(names) do
    if s and not s.names[n] then s = nil end  -- a name the survey did not ask for
  end
  local out, err
  if s then out = { SecurityGroups = s.groups } else
    -- by name and owner in every VPC: a group left in a former VPC is found too
    out, err = ctx:read("rds", "ec2", "DescribeSecurityGroups", { Filters = {
      { Name = "group-name", Values = sorted_keys(names) },
      { Name = "owner-id", Values = { ctx.facts.rds_account } },
    } })
    if not out then error(err, 0) end
  end
  local seen_now, elsewhere_now = {}, {}
  for n, v in pairs(want) do seen_now[n .. "|" .. v], elsewhere_now[n .. "|" .. v] = false, {} end
  for _, g in ipairs(out.SecurityGroups or {}) do
    local v = want[g.GroupName]
    if v then
      -- the pair's groups, whose rules the next rules read includes
      ctx.sg_known = ctx.sg_known or {}
      ctx.sg_known[g.GroupId] = true
      local k = g.GroupName .. "|" .. v
      if g.VpcId == v then seen_now[k] = g else table.insert(elsewhere_now[k], g) end
    end
  end
  ctx.sg_seen = ctx.sg_seen or {}
  ctx.sg_elsewhere = ctx.sg_elsewhere or {}
  for k, g in pairs(seen_now) do
    -- copies: the step adds its rules to what it returns
    ctx.sg_seen[k] = g and copy(g)
    ctx.sg_elsewhere[k] = copies(elsewhere_now[k])
  end
  ctx.sg_seen[key], ctx.sg_elsewhere[key] = nil, nil
  return seen_now[key] or nil, elsewhere_now[key]
end

-- Forget what the batch read found for group `name` (made, changed, deleted).
local function forget(ctx, name, vpc_id)
  if ctx.sg_seen then ctx.sg_seen[name .. "|" .. vpc_id] = nil end
end

-- Forget it for the group `id` (found in its VPC or in another).
local function forget_id(ctx, id)
  for k, g in pairs(ctx.sg_seen or {}) do
    if g and g.GroupId == id then ctx.sg_seen[k] = nil end
  end
  for k, list in pairs(ctx.sg_elsewhere or {}) do
    for _, g in ipairs(list) do
      if g.GroupId == id then ctx.sg_elsewhere[k] = nil end
    end
  end
end

--- Describe one group by id (nil when it is gone).
function M.get(ctx, id)
  local out, err = ctx:read("rds", "ec2", "DescribeSecurityGroups", { GroupIds = { id } })
  if not out then
    if err.code == "InvalidGroup.NotFound" or err.code == "InvalidGroupId.NotFound" then return nil end
    error(err, 0)
  end
  return (out.SecurityGroups or {})[1]
end

local function port_of(protocol, from, to)
  if protocol == "-1" then return "all" end
  if from == nil or from == -1 then return "all" end
  if from == to then return from end
  return tostring(from) .. "-" .. tostring(to)
end

--- A DescribeSecurityGroupRules (or AuthorizeSecurityGroupIngress) rule
-- as `M.rules` lists it; nil for an outbound rule.
function M.rule_of(r)
  if r.IsEgress then return nil end
  local ref = r.ReferencedGroupInfo or {}
  return {
    id = r.SecurityGroupRuleId, protocol = r.IpProtocol == "-1" and "all" or r.IpProtocol,
    port = port_of(r.IpProtocol, r.FromPort, r.ToPort),
    from_group = ref.GroupId, from_user = ref.UserId,
    cidr = r.CidrIpv4 or r.CidrIpv6, prefix_list = r.PrefixListId,
    description = r.Description,
  }
end

local function by_id(a, b) return tostring(a.id) < tostring(b.id) end

--- The inbound rules of group `id`, one per source, as a list of
-- `{ id=, protocol=, port=, from_group=, from_user=, cidr=, prefix_list=,
-- description= }` (`port` is a number, `"a-b"` or `"all"`). One read covers
-- the pair's groups and the database's: the other steps' reads of the same
-- set come from the memo.
-- The rules of the run's groups (those the groups survey found) and of its
-- databases' groups (the instances survey's): `{ pages = {...}, ids = set
-- covered }`, or nil (read your own).
local function survey_rules(ctx, id, ids)
  if not (ctx.survey and ctx.pair) then return nil end
  return ctx:survey("rds", "ec2", "security-group-rules", function(_, r)
    local all = {}
    for g in pairs(ids) do all[g] = true end
    local groups = ctx:survey_value("rds", "security-groups")
    for _, g in ipairs(groups and groups.groups or {}) do all[g.GroupId] = true end
    local dbs = ctx:survey_value("rds", "db-instances")
    for _, i in pairs(dbs and dbs.found or {}) do
      local g = i.VpcSecurityGroups and i.VpcSecurityGroups[1]
      if g and g.VpcSecurityGroupId then all[g.VpcSecurityGroupId] = true end
    end
    local list = sorted_keys(all)
    local pages = {}
    local ok = pcall(function()
      for i = 1, #list, 100 do
        for _, page in ipairs(r:read_all("rds", "ec2", "DescribeSecurityGroupRules",
            { Filters = { { Name = "group-id", Values = table.move(list, i, math.min(i + 99, #list), 1, {}) } } })) do
          pages[#pages + 1] = page
        end
      end
    end)
    if not ok then return nil end
    return { pages = pages, ids = all }
  end)
end

function M.rules(ctx, id)
  local ids = { [id] = true }
  if ctx.pair then
    for g in pairs(ctx.sg_known or {}) do ids[g] = true end
    local db = ctx.facts and ctx.facts.db
    if db and db.security_group_ids and db.security_group_ids[1] then ids[db.security_group_ids[1]] = true end
  end
  local s = survey_rules(ctx, id, ids)
  if s and not s.ids[id] then s = nil end  -- a group the survey did not ask for
  local rules = {}
  for _, page in ipairs(s and s.pages or ctx:read_all("rds", "ec2", "DescribeSecurityGroupRules",
      { Filters = { { Name = "group-id", Values = sorted_keys(ids) } } })) do
    for _, r in ipairs(page.SecurityGroupRules or {}) do
      if r.GroupId == nil or r.GroupId == id then rules[#rules + 1] = M.rule_of(r) end
    end
  end
  table.sort(rules, by_id)
  return rules
end

--- True when rule `r` is `spec` (`{ protocol=, port=, cidr= | from_group= }`;
-- protocol defaults to tcp).
function M.matches(r, spec)
  if (spec.protocol or "tcp") ~= r.protocol then return false end
  if spec.port ~= r.port then return false end
  if spec.cidr then return r.cidr == spec.cidr end
  if spec.from_group then return r.from_group == spec.from_group end
  if spec.prefix_list then return r.prefix_list == spec.prefix_list end
  return false
end

--- The rules steps declared allowed on group step `group_step` (contract:
-- the engine merges every step's `allow_rules` into `ctx.allowed_rules`).
function M.allowed(ctx, group_step)
  local all = ctx.allowed_rules
  if type(all) == "function" then all = all(ctx) end
  return type(all) == "table" and all[group_step] or {}
end

--- True when `r` matches one of the allowed rule specs.
function M.is_allowed(ctx, group_step, r)
  for _, spec in ipairs(M.allowed(ctx, group_step)) do
    if M.matches(r, spec) then return true end
  end
  return false
end

--- Create group `name` in `vpc_id`, tagged, journaled under `key`.
-- @return the group; made now, it is built from the create's answer (no
--   describe): its id, name, VPC, tags and `rules = {}` (a new group has no
--   inbound rule)
function M.create(ctx, key, name, vpc_id, description)
  ctx.state:intend(key, { name = name, vpc_id = vpc_id })
  forget(ctx, name, vpc_id)
  local tags = M.tags_of(ctx, name)
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
  ctx.sg_known = ctx.sg_known or {}
  ctx.sg_known[out.GroupId] = true
  -- made by this call: no rule has it as source or target yet (the rule
  -- steps skip their read once, see `M.made_now`)
  ctx.made_now = ctx.made_now or {}
  ctx.made_now[key] = true
  return { GroupId = out.GroupId, GroupName = name, VpcId = vpc_id, Description = description,
           OwnerId = ctx.facts.rds_account, Tags = out.Tags or tags, rules = {} }
end

--- The tags a group kumo makes carries: the pair's plus `Name`.
function M.tags_of(ctx, name)
  local tags = ctx:tag_list()
  tags[#tags + 1] = { Key = "Name", Value = name }
  return tags
end

--- Delete a group; calls again while network interfaces still use it
-- (an endpoint's go some time after the endpoint).
function M.delete(ctx, id)
  forget_id(ctx, id)
  for attempt = 1, 40 do
    local _, code = ctx:mutate("rds", "ec2", "DeleteSecurityGroup", { GroupId = id },
      { "InvalidGroup.NotFound" }, { pending = { "DependencyViolation" } })
    if code ~= "DependencyViolation" then return end
    if attempt == 40 then
      error(string.format("security group %s is still in use (DependencyViolation) after 40 tries; "
        .. "find what uses it (aws ec2 describe-network-interfaces --filters Name=group-id,Values=%s) "
        .. "and rerun destroy", id, id), 0)
    end
    ctx.progress(ctx.pair.name, "waiting for " .. id .. " to be released")
    ctx:sleep(math.min(2 ^ attempt, 15))
  end
end

--- True (once) when group step `key` made its group in this run: a rule
-- step reading rules from or on it would find none, so it need not read.
function M.made_now(ctx, key)
  if ctx.made_now and ctx.made_now[key] then
    ctx.made_now[key] = nil
    return true
  end
  return false
end

--- Admit TCP `port` from `source` (owned by account `user`, optional).
-- @return the new rule's ID (nil when it was already there), and the rules
--   the answer lists (as `M.rules` does; nil when it lists none)
function M.authorize(ctx, group_id, port, source, user, description)
  local out = ctx:mutate("rds", "ec2", "AuthorizeSecurityGroupIngress", {
    GroupId = group_id,
    IpPermissions = { { IpProtocol = "tcp", FromPort = port, ToPort = port,
      UserIdGroupPairs = { { GroupId = source, UserId = user, Description = description } } } },
  }, { "InvalidPermission.Duplicate" })
  local listed = out and out.SecurityGroupRules
  local rules
  if listed and #listed > 0 then
    rules = {}
    for _, r in ipairs(listed) do rules[#rules + 1] = M.rule_of(r) end
  end
  return rules and rules[1] and rules[1].id, rules
end

--- Revoke inbound rules of `group_id` by their rule IDs (already gone is fine).
-- "SecurityGroupRuleIds: The IDs of the security group rules." — by ID, so
-- only the rule read is removed, never another with the same ports.
function M.revoke_ids(ctx, group_id, ids)
  if #ids == 0 then return end
  ctx:mutate("rds", "ec2", "RevokeSecurityGroupIngress", { GroupId = group_id, SecurityGroupRuleIds = ids },
    { "InvalidSecurityGroupRuleId.NotFound", "InvalidPermission.NotFound", "InvalidGroup.NotFound" })
end

--- True when one of `rules` (as `M.rules` lists them) has a description
-- starting with `prefix`: kumo's rules carry "kumo:<pair> ..." since a rule
-- cannot be tagged (the engine asks when the journal does not know it).
function M.described(rules, prefix)
  for _, r in ipairs(rules or {}) do
    if (r.description or ""):sub(1, #prefix) == prefix then return true end
  end
  return false
end

--- A readable rule, e.g. `tcp/5432 from 111111111111/sg-1`.
function M.describe(r)
  local from = r.cidr or r.prefix_list
    or ((r.from_user and (r.from_user .. "/") or "") .. tostring(r.from_group))
  return string.format("%s/%s from %s", tostring(r.protocol), tostring(r.port), from)
end

--- A plan/diff line removing rule `r`.
function M.remove_diff(r)
  return { key = "- remove rule", have = M.describe(r) .. " (" .. tostring(r.id) .. ")", want = "(none)",
           rule_id = r.id }
end

--- A plan/diff line adding rule `r`.
function M.add_diff(r)
  return { key = "+ add rule", have = "(none)", want = M.describe(r), rule = r }
end

local tags = require "rds-proxy.tags"
local context = require "rds-proxy.context"

--- A step for a security group kumo makes: found by name in a VPC,
-- created tagged, deleted once nothing uses it; its inbound rules
-- converge to exactly those `o.wanted(ctx, rule)` accepts (the caller's
-- own rule steps) plus the allowed ones: any other is removed by ID.
-- @param o `{ name=, title=, group_name = function(ctx), vpc_id = function(ctx),
--   description = function(ctx), managed_elsewhere = function(ctx, rule) → bool,
--   what = "text for verify" }`
function M.group_step(o)
  -- group names are unique per VPC: a fresh apply creates at once (engine.lua)
  local step = { name = o.name, title = o.title, account = "rds", create_first = { "InvalidGroup.Duplicate" } }
  group_steps[#group_steps + 1] = o
  local function elsewhere(ctx, r) return o.managed_elsewhere and o.managed_elsewhere(ctx, r) end

  -- The group in its configured VPC, and the pair's groups of that name
  -- left in another VPC (`app.vpc_id` changed, the database moved): copies
  -- under a former setting (`stale`), in use until the steps after this
  -- one moved (the endpoint), so apply deletes them last (`stale_last`).
  function step.read(ctx)
    local g, other_vpcs = M.find(ctx, o.group_name(ctx), o.vpc_id(ctx))
    if g then g.rules = M.rules(ctx, g.GroupId) end
    local former = {}
    for _, x in ipairs(other_vpcs or {}) do
      if context.tagged(x, ctx.pair.name) then former[#former + 1] = x end
    end
    return g, former
  end
  function step.id(live) return live.GroupId end
  function step.stale(ctx, d)
    local vpc = o.vpc_id(ctx)
    if d.VpcId ~= vpc then return string.format("in %s, not in the configured VPC %s", tostring(d.VpcId), vpc) end
  end
  step.stale_last = true

  --- Rules on the group no step of kumo wants and no step allows.
  function step.extras(ctx, live)
    local extra = {}
    for _, r in ipairs(live.rules or M.rules(ctx, live.GroupId)) do
      if not elsewhere(ctx, r) and not M.is_allowed(ctx, o.name, r) then extra[#extra + 1] = r end
    end
    return extra
  end

  function step.diff(ctx, live)
    local d = {}
    for _, r in ipairs(step.extras(ctx, live)) do d[#d + 1] = M.remove_diff(r) end
    local t = tags.diff(M.tags_of(ctx, o.group_name(ctx)), live.Tags)
    if t then d[#d + 1] = t end
    return d
  end

  function step.update(ctx, live, diffs)
    forget_id(ctx, live.GroupId)
    local ids = {}
    for _, dd in ipairs(diffs) do
      if dd.rule_id then ids[#ids + 1] = dd.rule_id end
      if dd.tags then tags.apply_ec2(ctx, live.GroupId, dd.tags) end
    end
    M.revoke_ids(ctx, live.GroupId, ids)
    return step.read(ctx)
  end

  function step.create(ctx)
    local g = M.create(ctx, o.name, o.group_name(ctx), o.vpc_id(ctx), o.description(ctx))
    if g and not g.rules then g.rules = M.rules(ctx, g.GroupId) end
    return g
  end
  function step.delete(ctx, live) M.delete(ctx, live.GroupId) end

  function step.verify(ctx, live)
    local problems = {}
    for _, r in ipairs(step.extras(ctx, live)) do
      problems[#problems + 1] = string.format("%s has a rule kumo did not ask for: %s (%s) — apply removes it",
        o.what or "the group", M.describe(r), tostring(r.id))
    end
    return problems
  end
  return step
end

return M
