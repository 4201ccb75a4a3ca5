--- kumo.credentials.file_cache: assumed-role credentials on disk, in the
-- AWS CLI's format and folder, so kumo and the AWS CLI reuse each other's.
--
-- Folder `~/.aws/cli/cache`; file `<key>.json` where key =
-- `sha1(json.dumps(args, sort_keys=True))` with Python's default
-- separators (`", "`, `": "`, ASCII-only escapes), `args` being the
-- AssumeRole arguments (`RoleArn`, `ExternalId`, `SerialNumber`,
-- `DurationSeconds`, `Policy` parsed then re-serialised, `RoleSessionName`
-- only when set by the user), and `:` and `/` replaced by `_`
-- (botocore `BaseAssumeRoleCredentialFetcher._create_cache_key`). The value
-- is the AssumeRole response (`Credentials` with `Expiration`,
-- `AssumedRoleUser`). Files are written atomically with mode 0600.
-- @module kumo.credentials.file_cache
local creds = require "kumo.credentials.creds"
local crypto = require "kumo.crypto"
local json = require "kumo.json"

local M = {}

---------------------------------------------------------------------------
-- Python's json.dumps(v, sort_keys=True), byte for byte.

local function py_string(s)
  local out = { '"' }
  local i, n = 1, #s
  while i <= n do
    local b = s:byte(i)
    local cp, len
    if b < 0x80 then cp, len = b, 1
    elseif b >= 0xF0 then cp, len = b & 0x07, 4
    elseif b >= 0xE0 then cp, len = b & 0x0F, 3
    elseif b >= 0xC0 then cp, len = b & 0x1F, 2
    else cp, len = 0xFFFD, 1 end
    for j = i + 1, i + len - 1 do cp = (cp << 6) | ((s:byte(j) or 0x80) & 0x3F) end
    i = i + len
    if cp == 0x22 then out[#out + 1] = '\\"'
    elseif cp == 0x5C then out[#out + 1] = "\\\\"
    elseif cp == 0x0A then out[#out + 1] = "\\n"
    elseif cp == 0x0D then out[#out + 1] = "\\r"
    elseif cp == 0x09 then out[#out + 1] = "\\t"
    elseif cp == 0x08 then out[#out + 1] = "\\b"
    elseif cp == 0x0C then out[#out + 1] = "\\f"
    elseif cp < 0x20 or cp > 0x7E then
      if cp > 0xFFFF then
        cp = cp - 0x10000
        out[#out + 1] = string.format("\\u%04x\\u%04x", 0xD800 | (cp >> 10), 0xDC00 | (cp & 0x3FF))
      else
        out[#out + 1] = string.format("\\u%04x", cp)
      end
    else
      out[#out + 1] = string.char(cp)
    end
  end
  out[#out + 1] = '"'
  return table.concat(out)
end

local function is_array(t)
  if json.is_array(t) then return true end
  local n = #t
  if n == 0 then return false end
  local count = 0
  for _ in pairs(t) do count = count + 1 end
  return count == n
end

--- `json.dumps(v, sort_keys=True)` as Python writes it.
function M.pydumps(v)
  local tv = type(v)
  if tv == "string" then return py_string(v)
  elseif tv == "boolean" then return v and "true" or "false"
  elseif v == nil or v == json.null then return "null"
  elseif tv == "number" then
    if math.type(v) == "integer" then return tostring(v) end
    if v == math.floor(v) and v > -2^53 and v < 2^53 then return string.format("%.1f", v) end
    return string.format("%.17g", v)
  elseif tv == "table" then
    local parts = {}
    if is_array(v) then
      for i = 1, #v do parts[i] = M.pydumps(v[i]) end
      return "[" .. table.concat(parts, ", ") .. "]"
    end
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = tostring(k) end
    table.sort(keys)
    for i, k in ipairs(keys) do parts[i] = py_string(k) .. ": " .. M.pydumps(v[k]) end
    return "{" .. table.concat(parts, ", ") .. "}"
  end
  error("pydumps: cannot encode a " .. tv, 2)
end

--- Decode JSON with kumo.json (arrays marked, so a Policy round-trips
-- exactly as Python's json.loads + dumps would); raises on bad JSON.
function M.decode(s)
  local v, err = json.decode(s)
  if v == nil then error(err, 0) end
  return v
end

--- The cache key for AssumeRole arguments.
-- @param args `{ RoleArn=, ExternalId=, SerialNumber=, DurationSeconds=, Policy=, RoleSessionName= }`
-- (`RoleSessionName` only when the user set it; `Policy` as the JSON text)
-- @return the file-safe key (40 hex digits)
function M.cache_key(args)
  local a = {}
  for k, v in pairs(args) do a[k] = v end
  if type(a.Policy) == "string" then a.Policy = M.decode(a.Policy) end
  local key = crypto.sha1_hex(M.pydumps(a))
  return (key:gsub("[:/]", "_"))
end

local FileCache = {}
FileCache.__index = FileCache

--- @param dir the folder (e.g. `~/.aws/cli/cache`, already expanded)
function M.new(dir)
  return setmetatable({ dir = dir }, FileCache)
end

function FileCache:path(key)
  return self.dir .. "/" .. key .. ".json"
end

--- The cached AssumeRole response for `key`, when it holds credentials
-- valid for more than `min_remaining` seconds (default 15 min, as the AWS CLI).
-- @return response table, or nil
function FileCache:load(key, min_remaining)
  local f = io.open(self:path(key), "rb")
  if not f then return nil end
  local text = f:read("a")
  f:close()
  local ok, resp = pcall(M.decode, text or "")
  if not ok or type(resp) ~= "table" or type(resp.Credentials) ~= "table" then return nil end
  local c = resp.Credentials
  local exp = creds.parse_time(c.Expiration)
  if not exp or type(c.AccessKeyId) ~= "string" or type(c.SecretAccessKey) ~= "string" then return nil end
  if exp - creds.now() < (min_remaining or 15 * 60) then return nil end
  return resp, exp
end

--- Store an AssumeRole response (atomic write, mode 0600). Failures to
-- write are reported to `warn` but never fail the caller.
-- @param key the cache key
-- @param resp `{ Credentials = { AccessKeyId=, SecretAccessKey=, SessionToken=, Expiration=, AccountId= }, AssumedRoleUser = {...} }`
function FileCache:store(key, resp, warn)
  local sys = require "kumo.sys"
  local ok, err = pcall(function()
    local okm, merr = sys.mkdir(self.dir, tonumber("700", 8))
    if not okm and merr and not tostring(merr):find("exist") then error(merr, 0) end
    local w, werr = sys.write_atomic(self:path(key), M.pydumps(resp), tonumber("600", 8))
    if not w and werr then error(werr, 0) end
  end)
  if not ok and warn then
    warn(string.format("could not write the credential cache %s: %s", self:path(key), tostring(err)))
  end
  return ok
end

--- Remove an entry (e.g. after the service rejected its credentials).
function FileCache:remove(key)
  os.remove(self:path(key))
end

return M
