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

local M = {}

local ARRAY = setmetatable({}, { __mode = "k" })  -- tables known to be JSON arrays

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
  if ARRAY[t] then return true end
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
  elseif v == nil then return "null"
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

---------------------------------------------------------------------------
-- A small JSON decoder that remembers which tables were arrays (so a
-- Policy round-trips exactly as Python's json.loads + dumps would).

local function decoder(s)
  local pos = 1
  local function ws() pos = s:find("[^ \t\r\n]", pos) or #s + 1 end
  local function fail(msg) error(string.format("invalid JSON at byte %d: %s", pos, msg), 0) end
  local value
  local function str()
    pos = pos + 1
    local out = {}
    while true do
      local c = s:sub(pos, pos)
      if c == "" then fail("unterminated string") end
      if c == '"' then pos = pos + 1; break end
      if c == "\\" then
        local e = s:sub(pos + 1, pos + 1)
        local map = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }
        if map[e] then out[#out + 1] = map[e]; pos = pos + 2
        elseif e == "u" then
          local cp = tonumber(s:sub(pos + 2, pos + 5), 16) or fail("bad \\u escape")
          pos = pos + 6
          if cp >= 0xD800 and cp <= 0xDBFF and s:sub(pos, pos + 1) == "\\u" then
            local lo = tonumber(s:sub(pos + 2, pos + 5), 16)
            if lo and lo >= 0xDC00 and lo <= 0xDFFF then
              cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
              pos = pos + 6
            end
          end
          out[#out + 1] = utf8.char(cp)
        else fail("bad escape") end
      else
        local j = s:find('["\\]', pos) or #s + 1
        out[#out + 1] = s:sub(pos, j - 1)
        pos = j
      end
    end
    return table.concat(out)
  end
  function value()
    ws()
    local c = s:sub(pos, pos)
    if c == "{" then
      pos = pos + 1
      local t = {}
      ws()
      if s:sub(pos, pos) == "}" then pos = pos + 1; return t end
      while true do
        ws()
        if s:sub(pos, pos) ~= '"' then fail("expected a key") end
        local k = str()
        ws()
        if s:sub(pos, pos) ~= ":" then fail("expected ':'") end
        pos = pos + 1
        t[k] = value()
        ws()
        local d = s:sub(pos, pos)
        pos = pos + 1
        if d == "}" then return t end
        if d ~= "," then fail("expected ',' or '}'") end
      end
    elseif c == "[" then
      pos = pos + 1
      local t = {}
      ARRAY[t] = true
      ws()
      if s:sub(pos, pos) == "]" then pos = pos + 1; return t end
      while true do
        t[#t + 1] = value()
        ws()
        local d = s:sub(pos, pos)
        pos = pos + 1
        if d == "]" then return t end
        if d ~= "," then fail("expected ',' or ']'") end
      end
    elseif c == '"' then return str()
    elseif s:find("^true", pos) then pos = pos + 4; return true
    elseif s:find("^false", pos) then pos = pos + 5; return false
    elseif s:find("^null", pos) then pos = pos + 4; return nil
    else
      local num = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
      if not num or num == "" then fail("unexpected character") end
      pos = pos + #num
      return math.tointeger(tonumber(num)) or tonumber(num)
    end
  end
  return function()
    local v = value()
    ws()
    if pos <= #s then fail("trailing characters") end
    return v
  end
end

--- Decode JSON, keeping arrays distinguishable (for `pydumps`).
function M.decode(s)
  return decoder(s)()
end

---------------------------------------------------------------------------

local function sha1_hex(s)
  local ok, crypto = pcall(require, "kumo.crypto")
  if ok and type(crypto) == "table" and crypto.sha1_hex then return crypto.sha1_hex(s) end
  -- Before kumo.crypto has sha1_hex: ask the system's sha1sum.
  local tmp = os.tmpname()
  local f = assert(io.open(tmp, "wb")); f:write(s); f:close()
  local p = assert(io.popen("sha1sum " .. tmp))
  local out = p:read("a"); p:close(); os.remove(tmp)
  return out:match("^(%x+)")
end

--- The cache key for AssumeRole arguments.
-- @param args `{ RoleArn=, ExternalId=, SerialNumber=, DurationSeconds=, Policy=, RoleSessionName= }`
-- (`RoleSessionName` only when the user set it; `Policy` as the JSON text)
-- @return the file-safe key (40 hex digits)
function M.cache_key(args)
  local a = {}
  for k, v in pairs(args) do a[k] = v end
  if type(a.Policy) == "string" then a.Policy = M.decode(a.Policy) end
  local key = sha1_hex(M.pydumps(a))
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

M.ARRAY = ARRAY
return M
