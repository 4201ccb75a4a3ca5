--- RDS: the endpoint's security group admits the APP clients' security
-- groups on the proxy's listener port (3306 or 5432, not the DB's port:
-- facts §0.4). The rules reference the APP account's groups
-- (`account/sg-id`).
--
-- This step owns every rule of the endpoint SG whose source is a security
-- group: those the config lists are added, any other (a client SG dropped
-- from `client_security_group_ids`, another port) is revoked by its rule
-- ID. Rules allowed through `allow_rules.endpoint_sg` are left alone.
-- @module rds-proxy.steps.endpoint_ingress
local sg = require "rds-proxy.sg"

local step = { name = "endpoint_ingress", title = "endpoint SG rules: listener port from APP clients",
               needs = { "endpoint_sg" },  -- rules on the endpoint SG
               account = "rds" }

local function wanted(ctx)
  local w = {}
  for _, src in ipairs(ctx.pair.app.client_security_group_ids) do
    w[#w + 1] = { protocol = "tcp", port = ctx.pair.listener_port, from_group = src,
                  from_user = ctx.facts.app_account }
  end
  return w
end

-- nil exactly when the group has no rule from a security group (other
-- than allowed ones): then kumo's rules are gone.
function step.read(ctx)
  local id = ctx.ids.endpoint_sg
  if not id then return nil end
  -- the endpoint SG was made just now: it has no inbound rule yet
  if sg.made_now(ctx, "endpoint_sg") then return nil end
  local mine = {}
  for _, r in ipairs(sg.rules(ctx, id)) do
    if r.from_group and not sg.is_allowed(ctx, "endpoint_sg", r) then mine[#mine + 1] = r end
  end
  if #mine == 0 then return nil end
  local missing, extra = {}, {}
  for _, w in ipairs(wanted(ctx)) do
    local found = false
    for _, r in ipairs(mine) do found = found or sg.matches(r, w) end
    if not found then missing[#missing + 1] = w end
  end
  for _, r in ipairs(mine) do
    local want = false
    for _, w in ipairs(wanted(ctx)) do want = want or sg.matches(r, w) end
    if not want then extra[#extra + 1] = r end
  end
  return { group_id = id, rules = mine, missing = missing, extra = extra }
end

function step.id(live) return live.group_id end

function step.diff(_, live)
  local d = {}
  for _, w in ipairs(live.missing) do d[#d + 1] = sg.add_diff(w) end
  for _, r in ipairs(live.extra) do d[#d + 1] = sg.remove_diff(r) end
  return d
end

-- @return the rules the answers list, nil when one listed none
local function authorize(ctx, rules)
  local made = {}
  for _, w in ipairs(rules) do
    local _, got = sg.authorize(ctx, ctx.ids.endpoint_sg, w.port, w.from_group, w.from_user,
      "kumo:" .. ctx.pair.name .. " APP clients to the proxy endpoint")
    local r = got and got[1]
    if made and r and sg.matches(r, w) then made[#made + 1] = r else made = nil end
  end
  return made
end

-- The creates' answers list the rules they made: what read would find on a
-- group that had no rule from a security group (else read it).
function step.create(ctx)
  ctx.state:intend("endpoint_ingress", { group = ctx.ids.endpoint_sg })
  local made = authorize(ctx, wanted(ctx))
  ctx.state:created("endpoint_ingress", ctx.ids.endpoint_sg, { port = ctx.pair.listener_port })
  if not made or #made == 0 then return step.read(ctx) end
  return { group_id = ctx.ids.endpoint_sg, rules = made, missing = {}, extra = {} }
end

function step.update(ctx, live)
  authorize(ctx, live.missing)
  local ids = {}
  for _, r in ipairs(live.extra) do ids[#ids + 1] = r.id end
  sg.revoke_ids(ctx, live.group_id, ids)
  return step.read(ctx)
end

function step.verify(_, live)
  local problems = {}
  for _, w in ipairs(live.missing) do
    problems[#problems + 1] = "the endpoint security group does not admit " .. sg.describe(w)
  end
  for _, r in ipairs(live.extra) do
    problems[#problems + 1] = string.format("the endpoint security group admits %s (%s), which the config "
      .. "does not list — apply removes it", sg.describe(r), tostring(r.id))
  end
  return problems
end

-- The endpoint SG is kumo's alone: when this destroy deletes it, its rules
-- go with it (the group's proven delete proves them gone), so none is
-- revoked first.
function step.delete(ctx, live)
  if ctx.destroying and ctx.destroying.endpoint_sg and live.group_id == ctx.ids.endpoint_sg then
    return "with endpoint_sg"
  end
  local ids = {}
  for _, r in ipairs(live.rules) do ids[#ids + 1] = r.id end
  sg.revoke_ids(ctx, live.group_id, ids)
end

-- A rule cannot be tagged: kumo's carries the description "kumo:<pair> ..."
-- (what the engine asks when the journal does not know the rule).
function step.owned(ctx, live)
  return sg.described(live.rules, "kumo:" .. ctx.pair.name .. " ")
end

return step
