--- Tags of what kumo made converge to the config's: a diff entry listing
-- the tags to set and to remove, and the calls that apply it per service.
-- Tags whose key starts with `aws:` belong to AWS and are never compared.
-- @module rds-proxy.tags
local M = {}

local function as_map(list)
  local m = {}
  for _, t in ipairs(list or {}) do
    local k, v = t.Key or t.key, t.Value or t.value
    if k and not k:lower():find("^aws:") then m[k] = v or "" end
  end
  return m
end

local function show(m)
  local keys = {}
  for k in pairs(m) do keys[#keys + 1] = k end
  table.sort(keys)
  local out = {}
  for _, k in ipairs(keys) do out[#out + 1] = k .. "=" .. m[k] end
  return #out > 0 and table.concat(out, ", ") or "(none)"
end

--- Compare wanted tags with the live ones.
-- @param want a list of `{Key=, Value=}` (or `{key=, value=}`)
-- @param have the live list, same shapes
-- @return a diff entry `{ key = "tags", have=, want=, tags = { set = {k=v}, remove = {k,...} } }`, or nil
function M.diff(want, have)
  local w, h = as_map(want), as_map(have)
  local set, remove, any = {}, {}, false
  for k, v in pairs(w) do
    if h[k] ~= v then set[k] = v; any = true end
  end
  for k in pairs(h) do
    if w[k] == nil then remove[#remove + 1] = k; any = true end
  end
  if not any then return nil end
  table.sort(remove)
  return { key = "tags", have = show(h), want = show(w), tags = { set = set, remove = remove } }
end

local function list(set, key_name, value_name)
  local keys = {}
  for k in pairs(set) do keys[#keys + 1] = k end
  table.sort(keys)
  local out = {}
  for _, k in ipairs(keys) do out[#out + 1] = { [key_name] = k, [value_name] = set[k] } end
  return out
end

-- How each service tags: the set call, the remove call and their parameter names.
local API = {
  ec2 = { set = "CreateTags", remove = "DeleteTags" },
  rds = { set = "AddTagsToResource", remove = "RemoveTagsFromResource", id = "ResourceName",
          tags = "Tags", keys = "TagKeys", k = "Key", v = "Value" },
  ram = { set = "TagResource", remove = "UntagResource", id = "resourceShareArn",
          tags = "tags", keys = "tagKeys", k = "key", v = "value" },
  secretsmanager = { set = "TagResource", remove = "UntagResource", id = "SecretId",
                     tags = "Tags", keys = "TagKeys", k = "Key", v = "Value" },
  iam = { set = "TagRole", remove = "UntagRole", id = "RoleName",
          tags = "Tags", keys = "TagKeys", k = "Key", v = "Value" },
}

--- Apply a tag diff (`entry.tags` of `M.diff`) to resource `id` of `service`
-- in the `side` account.
function M.apply(ctx, side, service, id, t)
  local api = API[service]
  if next(t.set) then
    if service == "ec2" then
      ctx:mutate(side, "ec2", api.set, { Resources = { id }, Tags = list(t.set, "Key", "Value") })
    else
      ctx:mutate(side, service, api.set, { [api.id] = id, [api.tags] = list(t.set, api.k, api.v) })
    end
  end
  if #t.remove > 0 then
    if service == "ec2" then
      local keys = {}
      for i, k in ipairs(t.remove) do keys[i] = { Key = k } end
      ctx:mutate(side, "ec2", api.remove, { Resources = { id }, Tags = keys })
    else
      ctx:mutate(side, service, api.remove, { [api.id] = id, [api.keys] = t.remove })
    end
  end
end

--- `M.apply` for an EC2 resource in the RDS account.
function M.apply_ec2(ctx, id, t)
  M.apply(ctx, "rds", "ec2", id, t)
end

return M
