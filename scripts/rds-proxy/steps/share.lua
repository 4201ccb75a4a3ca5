--- APP: share the APP subnets with the RDS account through AWS RAM
-- (procedure step 1). In an organization with RAM sharing enabled the
-- principal gets access at once, with no invitation (facts §0.1).
-- @module rds-proxy.steps.share
local tags = require "rds-proxy.tags"

local step = { name = "share", title = "RAM resource share", account = "app",
               needs = {},          -- the first: it needs nothing
               read_ahead = true }  -- found by its tag: destroy reads it beside the others

local function subnet_arns(ctx)
  local arns = {}
  for _, id in ipairs(ctx.pair.app.subnet_ids) do
    arns[#arns + 1] = string.format("arn:aws:ec2:%s:%s:subnet/%s", ctx.pair.region, ctx.facts.app_account, id)
  end
  table.sort(arns)
  return arns
end

local function has_pair_tag(share, pair)
  for _, t in ipairs(share.tags or {}) do
    if t.key == "kumo:pair" and t.value == pair then return true end
  end
  return false
end

local function associations(ctx, arn, kind)
  local set = {}
  for _, page in ipairs(ctx:read_all("app", "ram", "GetResourceShareAssociations",
      { associationType = kind, resourceShareArns = { arn } })) do
    for _, a in ipairs(page.resourceShareAssociations or {}) do
      if a.status == "ASSOCIATED" or a.status == "ASSOCIATING" then
        set[a.associatedEntity] = a.status
      end
    end
  end
  return set
end

-- The pair's first look comes from one GetResourceShares for every pair of
-- the run in the APP account (their tag values, 20 per call).
local function survey(ctx)
  return ctx:survey("app", "ram", "shares", function(peers, r)
    local names = {}
    for _, p in ipairs(peers) do names[#names + 1] = p.name end
    local shares = {}
    local ok = pcall(function()
      for i = 1, #names, 20 do
        local values = table.move(names, i, math.min(i + 19, #names), 1, {})
        for _, page in ipairs(r:read_all("app", "ram", "GetResourceShares",
            { resourceOwner = "SELF", tagFilters = { { tagKey = "kumo:pair", tagValues = values } } })) do
          for _, s in ipairs(page.resourceShares or {}) do shares[#shares + 1] = s end
        end
      end
    end)
    if not ok then return nil end
    return { { resourceShares = shares } }
  end)
end

-- Every share of the pair (by its tag): kumo's is the one
-- named share_name, the journaled one, else the oldest; the other shares of
-- that name are duplicates (an earlier run's lost answer, a run with another
-- state folder) and the pair's shares under another name are former ones
-- (share_name renamed, `step.stale`): apply deletes both kinds.
-- Its first look comes from the run's survey (above).
function step.read(ctx)
  local found, former = {}, {}
  local pages = survey(ctx) or ctx:read_all("app", "ram", "GetResourceShares",
    { resourceOwner = "SELF", tagFilters = { { tagKey = "kumo:pair", tagValues = { ctx.pair.name } } } })
  for _, page in ipairs(pages) do
    for _, s in ipairs(page.resourceShares or {}) do
      if (s.status == "ACTIVE" or s.status == "PENDING") and has_pair_tag(s, ctx.pair.name) then
        if s.name == ctx.pair.app.share_name then found[#found + 1] = s else former[#former + 1] = s end
      end
    end
  end
  table.sort(former, function(a, b) return a.resourceShareArn < b.resourceShareArn end)
  if #found == 0 then return nil, former end
  local journaled = (ctx.state:get("share") or {}).id
  table.sort(found, function(a, b)
    if (a.resourceShareArn == journaled) ~= (b.resourceShareArn == journaled) then
      return a.resourceShareArn == journaled
    end
    local ta, tb = tonumber(a.creationTime) or 0, tonumber(b.creationTime) or 0
    if ta ~= tb then return ta < tb end
    return a.resourceShareArn < b.resourceShareArn
  end)
  local live = table.remove(found, 1)
  for _, s in ipairs(former) do found[#found + 1] = s end
  if ctx.action == "destroy" then return live, found end  -- associations matter to diff and verify only
  live.resources = associations(ctx, live.resourceShareArn, "RESOURCE")
  live.principals = associations(ctx, live.resourceShareArn, "PRINCIPAL")
  return live, found
end

--- A share of the pair under another name: share_name was renamed.
function step.stale(ctx, s)
  if s.name ~= ctx.pair.app.share_name then
    return string.format("share_name changed: %q -> %q", tostring(s.name), ctx.pair.app.share_name)
  end
end

function step.id(live) return live.resourceShareArn end

local function missing_and_extra(want, have)
  local missing, extra = {}, {}
  local wantset = {}
  for _, v in ipairs(want) do
    wantset[v] = true
    if not have[v] then missing[#missing + 1] = v end
  end
  for v in pairs(have) do
    if not wantset[v] then extra[#extra + 1] = v end
  end
  table.sort(extra)
  return missing, extra
end

function step.diff(ctx, live)
  local d = {}
  local miss, extra = missing_and_extra(subnet_arns(ctx), live.resources)
  if #miss > 0 then d[#d + 1] = { key = "resources (add)", want = table.concat(miss, ", ") } end
  if #extra > 0 then d[#d + 1] = { key = "resources (remove)", have = table.concat(extra, ", ") } end
  local pmiss, pextra = missing_and_extra({ ctx.facts.rds_account }, live.principals)
  if #pmiss > 0 then d[#d + 1] = { key = "principals (add)", want = table.concat(pmiss, ", ") } end
  if #pextra > 0 then d[#d + 1] = { key = "principals (remove)", have = table.concat(pextra, ", ") } end
  -- UpdateResourceShare sets allowExternalPrincipals in place (its API
  -- reference lists it among the parameters): no re-create needed
  if live.allowExternalPrincipals then
    d[#d + 1] = { key = "allowExternalPrincipals", have = "true", want = "false", external = true }
  end
  local t = tags.diff(ctx:tag_list("key", "value"), live.tags)
  if t then d[#d + 1] = t end
  return d
end

-- The participant sees the subnets once the share propagates (facts
-- §3.2.9). Pairs sharing the same subnets wait once per run: once the RDS
-- account sees them, another share of the same subnets changes nothing.
local function wait_visible(ctx)
  local ids = {}
  for i, id in ipairs(ctx.pair.app.subnet_ids) do ids[i] = id end
  table.sort(ids)
  ctx:once("subnets visible\0" .. tostring(ctx.session_keys and ctx.session_keys.rds) .. "\0"
    .. table.concat(ids, ","), function()
      ctx:wait("rds", "ec2", "SharedSubnetsVisible", { SubnetIds = ctx.pair.app.subnet_ids })
      return { visible = true }
    end)
end

-- @return the waiters' last answers: the share, its resource and its
--   principal associations
local function wait_ready(ctx, arn, created)
  -- a create answered ACTIVE needs no wait for it
  local share = created and created.status == "ACTIVE" and { resourceShares = { created } }
    or ctx:wait("app", "ram", "ResourceShareActive", { resourceOwner = "SELF", resourceShareArns = { arn } })
  local function associated(kind)
    return ctx:wait("app", "ram", "ResourceShareAssociated", { associationType = kind, resourceShareArns = { arn } })
  end
  -- the subnets and the principal are associated side by side: both waits
  -- at once (each polls its own association type)
  local sched = require "kumo.sched"
  local res, pri
  if sched.current() then
    local t = sched.spawn(associated, { name = ctx.pair.name .. " share principals", quiet = true, hidden = true,
      args = { "PRINCIPAL", n = 1 } })
    local ok, r = pcall(associated, "RESOURCE")
    if not ok then
      t:cancel()
      error(r, 0)
    end
    res, pri = r, t:wait()
  else
    res, pri = associated("RESOURCE"), associated("PRINCIPAL")
  end
  wait_visible(ctx)
  return share, res, pri
end

-- The associated entities of a GetResourceShareAssociations answer (as `associations`).
local function association_set(out)
  local set = {}
  for _, a in ipairs(out.resourceShareAssociations or {}) do
    if a.status == "ASSOCIATED" or a.status == "ASSOCIATING" then set[a.associatedEntity] = a.status end
  end
  return set
end

function step.create(ctx)
  ctx.state:intend("share", { name = ctx.pair.app.share_name })
  -- one token for every attempt and rerun: RAM answers a retried create
  -- with the share the first attempt made, not a second share
  local out = ctx:mutate("app", "ram", "CreateResourceShare", {
    name = ctx.pair.app.share_name,
    resourceArns = subnet_arns(ctx),
    principals = { ctx.facts.rds_account },
    allowExternalPrincipals = false,
    tags = ctx:tag_list("key", "value"),
    clientToken = ctx:token("share"),
  })
  local arn = out.resourceShare.resourceShareArn
  ctx.state:created("share", arn)
  -- the share as created; the waiters' last answers complete it (what
  -- read would find: no second read). Until the RDS-side steps made in the
  -- APP VPC (`needs = { "share" }`) the waits run beside the steps between
  local live = out.resourceShare
  live.resources, live.principals = {}, {}
  ctx:later(function()
    local share, res, pri = wait_ready(ctx, arn, out.resourceShare)
    local got = share and share.resourceShares and share.resourceShares[1]
    if not (got and got.resourceShareArn == arn and res and pri) then
      got = step.read(ctx)
    else
      got.resources, got.principals = association_set(res), association_set(pri)
    end
    for k, v in pairs(got or {}) do live[k] = v end
  end)
  return live
end

-- After an update, wait on the associations that should remain (removed
-- ones read DISASSOCIATING, then DISASSOCIATED: not a failure here).
local SETTLED = {
  operation = "GetResourceShareAssociations", delay = 5, maxAttempts = 60, paginate = true,
  acceptors = {
    { matcher = "pathAll", state = "success", expected = "ASSOCIATED",
      argument = "resourceShareAssociations[?status != 'DISASSOCIATED' && status != 'DISASSOCIATING'].status" },
    { matcher = "pathAny", argument = "resourceShareAssociations[].status", expected = "FAILED", state = "failure" },
  },
}

local function wait_settled(ctx, arn)
  for _, kind in ipairs{ "RESOURCE", "PRINCIPAL" } do
    ctx.progress(ctx.pair.name, "waiting: share associations settle (" .. kind:lower() .. "s)")
    ctx:client("app", "ram"):wait(SETTLED, { associationType = kind, resourceShareArns = { arn } },
      { timeout = ctx.timeouts.wait or 1800 })
  end
  wait_visible(ctx)
end

function step.update(ctx, live, diffs)
  local arn = live.resourceShareArn
  for _, d in ipairs(diffs) do
    if d.replace then
      -- the engine replaces only with --replace; an older engine lands here
      error("share: " .. d.reason .. "; rerun with --replace share (deletes and re-creates only it)", 0)
    end
    if d.tags then tags.apply(ctx, "app", "ram", arn, d.tags) end
    if d.external then
      -- the name too: moto 5.2 clears a name left out (AWS keeps it)
      ctx:mutate("app", "ram", "UpdateResourceShare", { resourceShareArn = arn, allowExternalPrincipals = false,
        name = live.name or ctx.pair.app.share_name, clientToken = require("kumo.crypto").uuid4() })
    end
  end
  local miss, extra = missing_and_extra(subnet_arns(ctx), live.resources)
  local pmiss, pextra = missing_and_extra({ ctx.facts.rds_account }, live.principals)
  if #miss > 0 or #pmiss > 0 then
    ctx:mutate("app", "ram", "AssociateResourceShare", {
      resourceShareArn = arn,
      resourceArns = #miss > 0 and miss or nil,
      principals = #pmiss > 0 and pmiss or nil,
      clientToken = require("kumo.crypto").uuid4(),
    })
  end
  if #extra > 0 or #pextra > 0 then
    ctx:mutate("app", "ram", "DisassociateResourceShare", {
      resourceShareArn = arn,
      resourceArns = #extra > 0 and extra or nil,
      principals = #pextra > 0 and pextra or nil,
      clientToken = require("kumo.crypto").uuid4(),
    })
  end
  if #miss + #pmiss + #extra + #pextra > 0 then wait_settled(ctx, arn) end
  return step.read(ctx)
end

function step.verify(ctx, live)
  local problems = {}
  if live.status ~= "ACTIVE" then
    problems[#problems + 1] = "share status is " .. tostring(live.status) .. " " .. tostring(live.statusMessage or "")
  end
  for _, arn in ipairs(subnet_arns(ctx)) do
    if live.resources[arn] ~= "ASSOCIATED" then
      problems[#problems + 1] = arn .. " is not associated with the share ("
        .. (live.resources[arn] and "association " .. live.resources[arn] or "no association") .. ")"
    end
  end
  if live.principals[ctx.facts.rds_account] ~= "ASSOCIATED" then
    problems[#problems + 1] = "the RDS account " .. ctx.facts.rds_account .. " is not an associated principal"
  end
  local out, err = ctx:read("rds", "ec2", "DescribeSubnets", { SubnetIds = ctx.pair.app.subnet_ids })
  if not out or #(out.Subnets or {}) ~= #ctx.pair.app.subnet_ids then
    problems[#problems + 1] = "the RDS account does not see every shared subnet: " .. tostring(err or "missing")
  end
  return problems
end

function step.delete(ctx, live)
  local arn = live.resourceShareArn
  ctx:mutate("app", "ram", "DeleteResourceShare", { resourceShareArn = arn,
    clientToken = require("kumo.crypto").uuid4() }, { "UnknownResourceException" })
  -- the waiter reads the share until it is DELETED (or unknown): that
  -- read is the proof the engine asks for, so no read follows
  ctx:wait("app", "ram", "ResourceShareDeleted", { resourceOwner = "SELF", resourceShareArns = { arn } })
  return "gone"
end

return step
