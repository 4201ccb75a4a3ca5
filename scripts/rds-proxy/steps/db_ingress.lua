--- RDS: the database's security group admits the proxy's security group
-- on the database port (procedure step 4.3). The rule is kumo's; the DB SG
-- itself is not (the DB team's): kumo reads, adds and revokes only the
-- rules whose source is its own proxy SG, each by its rule ID, so every
-- other rule of that group stays exactly as it was.
-- @module rds-proxy.steps.db_ingress
local sg = require "rds-proxy.sg"

-- the rule's source is the proxy SG (its id); what needs the rule (the
-- proxy, its target) comes after it
local step = { name = "db_ingress", title = "DB SG rule: DB port from proxy SG", account = "rds",
               needs = { "proxy_sg" } }

local function db_sg(ctx)
  return ctx.facts.db.security_group_ids[1]
end

local function wanted(ctx)
  return { protocol = "tcp", port = ctx.facts.db.port, from_group = ctx.ids.proxy_sg }
end

-- nil exactly when no rule from kumo's proxy SG is left on the DB SG.
function step.read(ctx)
  local source = ctx.ids.proxy_sg
  if not source then return nil end
  -- the proxy SG was made just now: no rule can have it as source yet
  if sg.made_now(ctx, "proxy_sg") then return nil end
  local all = sg.rules(ctx, db_sg(ctx))
  local mine, rule, extra = {}, nil, {}
  for _, r in ipairs(all) do
    if r.from_group == source then
      mine[#mine + 1] = r
      if not rule and sg.matches(r, wanted(ctx)) then rule = r else extra[#extra + 1] = r end
    end
  end
  if #mine == 0 then return nil end
  return { group_id = db_sg(ctx), source = source, all = all, mine = mine, rule = rule, extra = extra }
end

function step.id(live) return live.group_id .. " <- " .. live.source end

function step.diff(ctx, live)
  local d = {}
  if not live.rule then d[#d + 1] = sg.add_diff(wanted(ctx)) end
  for _, r in ipairs(live.extra) do d[#d + 1] = sg.remove_diff(r) end
  return d
end

local function authorize(ctx)
  local id, rules = sg.authorize(ctx, db_sg(ctx), ctx.facts.db.port, ctx.ids.proxy_sg, nil,
    "kumo:" .. ctx.pair.name .. " RDS Proxy to the database")
  ctx.state:created("db_ingress", db_sg(ctx), { source = ctx.ids.proxy_sg, port = ctx.facts.db.port, rule_id = id })
  return rules
end

-- The create's answer lists the rule it made (ID, port, source): that is
-- what read would find, since read found no rule from the proxy SG before.
function step.create(ctx)
  ctx.state:intend("db_ingress", { group = db_sg(ctx) })
  local rules = authorize(ctx)
  local rule = rules and rules[1]
  if not (rule and rule.from_group == ctx.ids.proxy_sg and sg.matches(rule, wanted(ctx))) then
    return step.read(ctx)
  end
  -- `all` (the group's other rules) only verify reads, and verify reads again
  return { group_id = db_sg(ctx), source = ctx.ids.proxy_sg, all = rules, mine = rules, rule = rule, extra = {} }
end

function step.update(ctx, live)
  if not live.rule then authorize(ctx) end
  local ids = {}
  for _, r in ipairs(live.extra) do ids[#ids + 1] = r.id end
  sg.revoke_ids(ctx, live.group_id, ids)
  return step.read(ctx)
end

function step.verify(ctx, live)
  local problems = {}
  for _, r in ipairs(live.all) do
    if r.cidr == "0.0.0.0/0" or r.cidr == "::/0" then
      -- not kumo's rule on not kumo's group: said, never changed
      ctx:note("the DB security group " .. live.group_id .. " is open to the world: " .. sg.describe(r)
        .. " (not kumo's rule; kumo leaves it)")
    end
  end
  if not live.rule then
    problems[#problems + 1] = "the DB security group does not admit the proxy security group on "
      .. tostring(ctx.facts.db.port)
  end
  for _, r in ipairs(live.extra) do
    problems[#problems + 1] = "the DB security group admits the proxy security group on " .. tostring(r.port)
      .. ", not the DB port — apply removes it"
  end
  return problems
end

function step.delete(ctx, live)
  local ids = {}
  for _, r in ipairs(live.mine) do ids[#ids + 1] = r.id end
  sg.revoke_ids(ctx, live.group_id, ids)
end

-- A rule cannot be tagged: kumo's carries the description "kumo:<pair> ..."
-- (what the engine asks when the journal does not know the rule).
function step.owned(ctx, live)
  return sg.described(live.mine, "kumo:" .. ctx.pair.name .. " ")
end

return step
