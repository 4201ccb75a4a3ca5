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
local sys = require "kumo.sys"

local M = {}

local PYTHON = { ascii = true }

--- `json.dumps(v, sort_keys=True)` as Python writes it (kumo.json's
-- Python writer, ASCII-only escapes as Python's default).
function M.pydumps(v)
  return json.dumps(v, PYTHON)
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
  local text = sys.read_file(self:path(key))
  if not text then return nil end
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
