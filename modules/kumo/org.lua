--- kumo.org: the accounts of an AWS Organization, as a list a script can
-- filter and map in Lua (the rollout's "pairs from the organization").
--
--     local org = require("kumo.org").new(session)   -- management or delegated admin
--     for _, a in ipairs(org:accounts{ ou = "apps", recursive = true,
--                                      tags = { env = "prod" }, exclude = { "111111111111" },
--                                      role = "OrganizationAccountAccessRole" }) do
--       print(a.id, a.name, a.tags.team, a.role_arn)
--     end
--
-- Read-only: ListRoots, ListOrganizationalUnitsForParent,
-- ListAccountsForParent and ListTagsForResource (the calls a delegated
-- administrator may make too). Each account comes with the ARN of the role
-- to assume in it (`role`, default `OrganizationAccountAccessRole`, the one
-- Organizations creates in the accounts it makes) and the external ID to
-- send, so the caller reaches it by assuming that role from this session.
-- @module kumo.org
local M = {}

local Org = {}
Org.__index = Org

--- The default role to assume in member accounts.
M.DEFAULT_ROLE = "OrganizationAccountAccessRole"

--- How many `ListTagsForResource` calls run at once: an account's tags
-- take a call each, so an organization of 500 accounts read one call after
-- another costs 500 round trips; a few at a time (kumo's rate limiter and
-- retries still apply, and Organizations throttles low) cut that by as much.
M.CONCURRENCY = 4

--- A reader of the organization `session` sees.
-- @param session a kumo session of the management account or of a
--   delegated administrator (anything with `:client("organizations")`), or
--   an organizations client itself
-- @return an Org
function M.new(session)
  if type(session) ~= "table" then
    error("kumo.org.new: needs a session (kumo.aws.session{...}) or an organizations client", 2)
  end
  local client = session.call and session or session:client("organizations")
  return setmetatable({ client = client, unit_memo = {} }, Org)
end

--- Every item of a paginated list call.
function Org:all(op, params)
  return self.client:all(op, params)
end

--- The organization's root id (`r-...`).
function Org:root()
  if not self.root_id then
    local roots = self:all("ListRoots", {})
    if #roots == 0 then error("kumo.org: the organization has no root (is this account in one?)", 0) end
    self.root_id = roots[1].Id
  end
  return self.root_id
end

--- The organizational units directly under `parent` (memoized per reader).
-- @return a list of `{ Id=, Name=, Arn= }`
function Org:units(parent)
  local u = self.unit_memo[parent]
  if not u then
    u = self:all("ListOrganizationalUnitsForParent", { ParentId = parent })
    self.unit_memo[parent] = u
  end
  return u
end

--- The id of an OU given by id (`ou-...`, `r-...`) or by a path of names
-- from the root (`"apps"`, `"apps/eu"`); `nil` or `"/"` is the root.
-- Raises naming the OUs there when a name is not found.
function Org:unit_id(ou)
  if ou == nil or ou == "/" or ou == "" then return self:root() end
  if type(ou) ~= "string" then error("kumo.org: ou must be an OU id (ou-...) or a path of OU names", 0) end
  if ou:match("^ou%-") or ou:match("^r%-") then return ou end
  local id = self:root()
  local walked = {}
  for name in ou:gsub("^/", ""):gmatch("[^/]+") do
    local found, names = nil, {}
    for _, u in ipairs(self:units(id)) do
      names[#names + 1] = u.Name
      if u.Name == name then found = u.Id end
    end
    walked[#walked + 1] = name
    if not found then
      table.sort(names)
      error(string.format("kumo.org: no organizational unit %q under %s (there: %s)", name,
        #walked > 1 and table.concat(walked, "/", 1, #walked - 1) or "the root",
        #names > 0 and table.concat(names, ", ") or "none"), 0)
    end
    id = found
  end
  return id
end

--- The tags of an account (or OU) as a map.
function Org:tags(id)
  local out = {}
  for _, t in ipairs(self:all("ListTagsForResource", { ResourceId = id })) do out[t.Key] = t.Value end
  return out
end

local function role_arn(account, role)
  if role:match("^arn:") then return role end
  local partition = (account.Arn or ""):match("^arn:([%w-]+):") or "aws"
  local path, name = role:match("^(.*/)([^/]+)$")
  return string.format("arn:%s:iam::%s:role/%s%s", partition, account.Id, path and path:gsub("^/", "") or "",
    name or role)
end

local function set_of(list, what)
  local s = {}
  if list == nil then return s end
  if type(list) ~= "table" then error("kumo.org: " .. what .. " must be a list of account ids", 0) end
  for _, v in ipairs(list) do s[tostring(v)] = true end
  return s
end

--- The accounts of an OU, filtered, each with the role to reach it.
-- @param opts
--   `ou` an OU id or a path of names (default: the root),
--   `recursive` (default true: the OUs under it too),
--   `tags` a map every account must carry (a value `true`: the tag, any value),
--   `exclude` a list of account ids (or names) to leave out,
--   `status` (default "ACTIVE"; false for any),
--   `role` the role name (or ARN) to assume in each (default `OrganizationAccountAccessRole`),
--   `external_id` to send with it
-- @return a list sorted by account name, of
--   `{ id=, name=, email=, status=, ou=, tags = {}, role_arn=, external_id= }`
function Org:accounts(opts)
  opts = opts or {}
  local known = { ou = 1, recursive = 1, tags = 1, exclude = 1, status = 1, role = 1, external_id = 1 }
  for k in pairs(opts) do
    if not known[k] then
      error(string.format("kumo.org: accounts{}: unknown option %s (known: ou, recursive, tags, exclude, "
        .. "status, role, external_id)", tostring(k)), 2)
    end
  end
  if opts.tags ~= nil and type(opts.tags) ~= "table" then error("kumo.org: tags must be a table of name = value", 2) end
  local exclude = set_of(opts.exclude, "exclude")
  local role = opts.role or M.DEFAULT_ROLE
  local status = opts.status == nil and "ACTIVE" or opts.status
  local recursive = opts.recursive ~= false
  -- the accounts first (a few calls per OU), then their tags, several at once
  local found = {}
  local function walk(parent)
    for _, a in ipairs(self:all("ListAccountsForParent", { ParentId = parent })) do
      if not exclude[a.Id] and not exclude[a.Name or ""] and (not status or a.Status == status) then
        found[#found + 1] = { account = a, ou = parent }
      end
    end
    if recursive then
      for _, u in ipairs(self:units(parent)) do walk(u.Id) end
    end
  end
  walk(self:unit_id(opts.ou))
  local sched = require "kumo.sched"
  local _, errs = sched.parallel(found, function(f) f.tags = self:tags(f.account.Id) end,
    { limit = M.CONCURRENCY, name = "org tags" })
  for i = 1, #found do
    if errs[i] then error(errs[i], 0) end
  end
  local out = {}
  for _, f in ipairs(found) do
    local a, tags = f.account, f.tags
    local keep = true
    for k, want in pairs(opts.tags or {}) do
      if tags[k] == nil or (want ~= true and tags[k] ~= want) then keep = false end
    end
    if keep then
      out[#out + 1] = { id = a.Id, name = a.Name, email = a.Email, status = a.Status, ou = f.ou,
                        tags = tags, role_arn = role_arn(a, role), external_id = opts.external_id }
    end
  end
  table.sort(out, function(a, b) return (a.name or a.id) < (b.name or b.id) end)
  return out
end

return M
