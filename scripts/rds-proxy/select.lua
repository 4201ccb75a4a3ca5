--- Selectors: a pair's ids given as "the one with these tags" instead of
-- the id itself, resolved read-only before the pair runs and shown in the
-- plan, so one config serves every account an organization has.
--
--     app = { role_arn = ...,
--             vpc_id = { tags = { Name = "app" } },
--             subnet_ids = { tags = { tier = "private" }, per_az = 1 },
--             client_security_group_ids = { tags = { role = "app-clients" } } },
--     rds = { db_instance_identifier = { tags = { db = "orders" } },
--             secret_arn = { tags = { db = "orders" } }, ... }
--
-- A selector is `{ tags = { Name = value, ... } }` (every tag must match; a
-- value `true` only asks for the tag). `per_az = N` (subnets only) takes N
-- subnets per availability zone and calls more than N in a zone ambiguous.
-- Subnets and security groups of the APP side are looked for in the pair's
-- VPC only. A single resource (VPC, database, secret) must match exactly
-- once: no match or several are errors naming the candidates, so the fix
-- (a tag, a tighter selector) is in the message.
-- @module rds-proxy.select
local M = {}

--- The config keys that take a selector, and what they select.
M.KEYS = {
  app = { vpc_id = "vpc", subnet_ids = "subnets", client_security_group_ids = "security_groups" },
  rds = { db_instance_identifier = "db_instance", db_cluster_identifier = "db_cluster",
          secret_arn = "secret", proxy_subnet_ids = "subnets" },
}

--- Short names a config may use for the app side's keys (the issue's
-- `vpc = {...}`, `subnets = {...}`): they stand for the id key.
M.ALIASES = { app = { vpc = "vpc_id", subnets = "subnet_ids", client_security_groups = "client_security_group_ids" } }

local WHAT = {
  vpc = "VPC", subnets = "subnet", security_groups = "security group",
  db_instance = "DB instance", db_cluster = "DB cluster", secret = "secret",
}

-- Most candidates named in one message: an account may hold hundreds.
local MAX_NAMED = 10

--- True when `v` is a selector (a table with `tags`), not an id or a list.
function M.is_selector(v)
  return type(v) == "table" and v.tags ~= nil
end

--- Check a selector without calling AWS.
-- @param v the selector
-- @param kind what it selects (a value of `M.KEYS`)
-- @return nil when fine, else a message saying what is wrong and the fix
function M.check(v, kind)
  for k in pairs(v) do
    if k ~= "tags" and not (k == "per_az" and kind == "subnets") then
      return string.format("a selector has tags%s, not %s", kind == "subnets" and " and per_az" or "", tostring(k))
    end
  end
  if type(v.tags) ~= "table" or next(v.tags) == nil then
    return "a selector needs tags = { Name = \"value\", ... } (at least one tag)"
  end
  for name, want in pairs(v.tags) do
    if type(name) ~= "string" or name == "" or #name > 128 then
      return "selector tag names are strings of 1-128 characters"
    end
    if not (want == true or (type(want) == "string" and #want <= 256)) then
      return string.format("selector tag %s must be a string of at most 256 characters (or true: "
        .. "the tag is there, any value)", name)
    end
  end
  if v.per_az ~= nil and (math.type(v.per_az) ~= "integer" or v.per_az < 1 or v.per_az > 16) then
    return "per_az must be an integer from 1 to 16 (subnets taken per availability zone)"
  end
  return nil
end

--- A selector as text: `tags Name=app,tier=private, 1 per AZ`.
function M.describe(v)
  local names = {}
  for k in pairs(v.tags) do names[#names + 1] = k end
  table.sort(names)
  for i, k in ipairs(names) do
    names[i] = v.tags[k] == true and k or (k .. "=" .. v.tags[k])
  end
  return "tags " .. table.concat(names, ",") .. (v.per_az and string.format(", %d per AZ", v.per_az) or "")
end

-- Tags of a described resource as a map (EC2 `Tags`, RDS `TagList`, Secrets Manager `Tags`).
local function tag_map(r)
  local m = {}
  for _, t in ipairs(r.Tags or r.TagList or {}) do m[t.Key] = t.Value end
  return m
end

local function matches(r, tags)
  local have = tag_map(r)
  for k, want in pairs(tags) do
    if have[k] == nil or (want ~= true and have[k] ~= want) then return false end
  end
  return true
end

-- A candidate as text: its id and Name tag.
local function named(id, r)
  local name = tag_map(r).Name
  return name and string.format("%s (Name=%s)", id, name) or id
end

local function list_of(items, id_of)
  local out = {}
  for i, r in ipairs(items) do
    if i > MAX_NAMED then
      out[#out + 1] = string.format("and %d more", #items - MAX_NAMED)
      break
    end
    out[#out + 1] = named(id_of(r), r)
  end
  return #out == 0 and "none" or table.concat(out, ", ")
end

-- Every item of a paginated read, under `field` of each page.
local function all(ctx, side, service, op, params, field)
  local out = {}
  for _, page in ipairs(ctx:read_all(side, service, op, params)) do
    for _, r in ipairs(page[field] or {}) do out[#out + 1] = r end
  end
  return out
end

-- How each kind is listed and named: the call, the list field, the id.
local SOURCES = {
  vpc = { service = "ec2", op = "DescribeVpcs", field = "Vpcs", id = function(r) return r.VpcId end },
  subnets = { service = "ec2", op = "DescribeSubnets", field = "Subnets", id = function(r) return r.SubnetId end },
  security_groups = { service = "ec2", op = "DescribeSecurityGroups", field = "SecurityGroups",
                      id = function(r) return r.GroupId end },
  db_instance = { service = "rds", op = "DescribeDBInstances", field = "DBInstances",
                  id = function(r) return r.DBInstanceIdentifier end },
  db_cluster = { service = "rds", op = "DescribeDBClusters", field = "DBClusters",
                 id = function(r) return r.DBClusterIdentifier end },
  secret = { service = "secretsmanager", op = "ListSecrets", field = "SecretList", id = function(r) return r.ARN end },
}

-- The candidates of a kind in one account (in `vpc` when given), sorted by id.
local function candidates(ctx, side, kind, vpc)
  local src = SOURCES[kind]
  local params = {}
  if vpc and src.service == "ec2" and kind ~= "vpc" then
    params.Filters = { { Name = "vpc-id", Values = { vpc } } }
  end
  local items = all(ctx, side, src.service, src.op, params, src.field)
  table.sort(items, function(a, b) return src.id(a) < src.id(b) end)
  return items, src.id
end

-- Pick from the matches of a subnet selector: every match, or `per_az` per
-- zone (more in a zone is ambiguous).
local function pick_subnets(where, sel, found, id_of)
  if not sel.per_az then return found end
  local zones, order = {}, {}
  for _, s in ipairs(found) do
    local az = s.AvailabilityZone or "?"
    if not zones[az] then zones[az] = {}; order[#order + 1] = az end
    table.insert(zones[az], s)
  end
  table.sort(order)
  local out = {}
  for _, az in ipairs(order) do
    local z = zones[az]
    if #z > sel.per_az then
      error(string.format("%s: %d subnets in %s match %s, more than per_az = %d: %s; tag the ones to use "
        .. "or raise per_az", where, #z, az, M.describe(sel), sel.per_az, list_of(z, id_of)), 0)
    end
    for _, s in ipairs(z) do out[#out + 1] = s end
  end
  return out
end

--- Resolve one selector in the account of `side`.
-- @param ctx the pair's context (reads only, through its memo)
-- @param side "app" or "rds"
-- @param key the config key (for messages), e.g. "app.vpc_id"
-- @param kind what it selects
-- @param sel the selector
-- @param[opt] vpc the VPC id to look in (subnets and security groups)
-- @return the id (VPC, DB, secret) or a list of ids (subnets, security groups)
function M.resolve_one(ctx, side, key, kind, sel, vpc)
  local where = string.format("pair %s: %s", ctx.pair.name, key)
  local items, id_of = candidates(ctx, side, kind, vpc)
  local found = {}
  for _, r in ipairs(items) do
    if matches(r, sel.tags) then found[#found + 1] = r end
  end
  local what = WHAT[kind]
  local scope = vpc and kind ~= "vpc" and (" in " .. vpc) or ""
  if #found == 0 then
    error(string.format("%s: no %s%s in the %s account matches %s; candidates: %s", where, what, scope,
      side:upper(), M.describe(sel), list_of(items, id_of)), 0)
  end
  if kind == "subnets" or kind == "security_groups" then
    local ids = {}
    for i, r in ipairs(kind == "subnets" and pick_subnets(where, sel, found, id_of) or found) do ids[i] = id_of(r) end
    return ids
  end
  if #found > 1 then
    error(string.format("%s: %d %ss%s in the %s account match %s: %s; add a tag that tells them apart",
      where, #found, what, scope, side:upper(), M.describe(sel), list_of(found, id_of)), 0)
  end
  return id_of(found[1])
end

--- Resolve every selector of a pair (read-only).
-- @param ctx the pair's context
-- @param pair the resolved pair (config.resolve_pair); not changed
-- @return a copy of the pair with ids in place of selectors, and the list
--   of what was resolved `{ key=, selector=, id= }` (ids a list for lists),
--   in config order; the pair itself when it has no selector
function M.resolve(ctx, pair)
  local resolved = {}
  local out
  for _, side in ipairs{ "app", "rds" } do
    -- the VPC first: the app side's subnets and groups are looked for in it
    local keys = side == "app" and { "vpc_id", "subnet_ids", "client_security_group_ids" }
      or { "db_instance_identifier", "db_cluster_identifier", "secret_arn", "proxy_subnet_ids" }
    for _, k in ipairs(keys) do
      local sel = pair[side][k]
      if M.is_selector(sel) then
        if not out then
          out = {}
          for pk, pv in pairs(pair) do out[pk] = pv end
          out.app, out.rds = {}, {}
          for pk, pv in pairs(pair.app) do out.app[pk] = pv end
          for pk, pv in pairs(pair.rds) do out.rds[pk] = pv end
        end
        local vpc = side == "app" and k ~= "vpc_id" and out.app.vpc_id or nil
        local id = M.resolve_one(ctx, side, side .. "." .. k, M.KEYS[side][k], sel, vpc)
        out[side][k] = id
        resolved[#resolved + 1] = { key = side .. "." .. k, selector = M.describe(sel), id = id }
      end
    end
  end
  return out or pair, resolved
end

return M
