--- kumo.config: the AWS shared config and credentials files, read the way
-- the AWS CLI reads them, and the settings a session takes from them.
--
-- The parser follows Python's `configparser.RawConfigParser` (what botocore
-- uses): `[section]` headers, `key = value` or `key: value`, full-line
-- comments starting with `#` or `;`, continuation lines indented deeper than
-- their key, keys case-insensitive, duplicate sections or keys rejected.
-- A value that starts on the next line is a sub-section (`s3 =` then
-- indented `key = value` lines), as botocore's `parse_subsections`.
-- Rejected input raises an error naming `file:line` and the fix.
--
-- Profiles: the config file holds `[default]`, `[profile NAME]`,
-- `[sso-session NAME]`, `[services NAME]`; the credentials file holds
-- `[NAME]`. A profile's keys from the credentials file win over the config
-- file's (botocore merges them the same way).
-- @module kumo.config
local config = {}

local SUBSECTION_KEY = "%s*([^=]-)%s*=%s*(.-)%s*$"

--- Split a section header like botocore's `shlex.split` does for
-- `profile "my name"`: words separated by blanks, quotes group.
-- @return list of words, or nil on an unbalanced quote
local function shlex_split(s)
  local words, i, n = {}, 1, #s
  while i <= n do
    while i <= n and s:sub(i, i):match("%s") do i = i + 1 end
    if i > n then break end
    local word = {}
    while i <= n and not s:sub(i, i):match("%s") do
      local c = s:sub(i, i)
      if c == '"' or c == "'" then
        local close = s:find(c, i + 1, true)
        if not close then return nil end
        word[#word + 1] = s:sub(i + 1, close - 1)
        i = close + 1
      elseif c == "\\" and i < n then
        word[#word + 1] = s:sub(i + 1, i + 1)
        i = i + 2
      else
        word[#word + 1] = c
        i = i + 1
      end
    end
    words[#words + 1] = table.concat(word)
  end
  return words
end

--- Parse one ini text.
-- @param text the file contents
-- @param path the file name, for messages
-- @return sections `{ [name] = { values = {key = value|table}, lines = {key = n}, line = n } }`
-- and the section names in file order; raises `path:line: message` on
-- what the AWS CLI rejects
function config.parse(text, path)
  path = path or "<string>"
  local sections, order = {}, {}
  local defaults = nil          -- configparser's [DEFAULT] section
  local cur, curname
  local optname, indent_level = nil, math.huge
  local errors = {}
  local function fail(lineno, msg)
    errors[#errors + 1] = string.format("%s:%d: %s", path, lineno, msg)
  end
  local lineno = 0
  -- Lines end at \n; a \r before it is dropped (files edited on Windows).
  for line in (text .. (text:sub(-1) == "\n" and "" or "\n")):gmatch("([^\n]*)\n") do
    lineno = lineno + 1
    line = line:gsub("\r$", "")
    if lineno == 1 then line = line:gsub("^\239\187\191", "") end  -- UTF-8 BOM
    local stripped = line:match("^%s*(.-)%s*$")
    local is_comment = stripped:sub(1, 1) == "#" or stripped:sub(1, 1) == ";"
    if stripped == "" or is_comment then
      -- configparser keeps blank lines inside a value (joined, then the
      -- value's trailing blank lines are dropped); comments are skipped.
      if not is_comment and cur and optname and type(cur.raw[optname]) == "table" then
        local v = cur.raw[optname]
        v[#v + 1] = ""
      end
    else
      local indent = #line:match("^(%s*)")
      if cur and optname and indent > indent_level then
        local v = cur.raw[optname]
        v[#v + 1] = stripped
      else
        indent_level = indent
        local header = stripped:match("^%[(.+)%]")
        if header then
          if header == "DEFAULT" then
            defaults = defaults or { raw = {}, lines = {}, line = lineno }
            cur, curname = defaults, header
          elseif sections[header] then
            fail(lineno, string.format("section [%s] already defined at line %d; merge the two sections",
              header, sections[header].line))
            cur, curname = sections[header], header
          else
            cur = { raw = {}, lines = {}, line = lineno }
            sections[header], curname = cur, header
            order[#order + 1] = header
          end
          optname = nil
        elseif not cur then
          fail(lineno, "text before the first [section] header; start the file with a header such as [default]")
        else
          local key, value
          -- configparser splits at the first '=' or ':' whichever comes first.
          local eq, colon = stripped:find("=", 1, true), stripped:find(":", 1, true)
          local at = (eq and colon) and math.min(eq, colon) or eq or colon
          if at then
            key = stripped:sub(1, at - 1):match("^(.-)%s*$")
            value = stripped:sub(at + 1):match("^%s*(.-)%s*$")
          end
          if not at then
            fail(lineno, string.format("expected 'key = value' in [%s], got %q", curname, stripped))
            optname = nil
          elseif key == "" then
            fail(lineno, string.format("missing key name before '%s' in [%s]", stripped:sub(at, at), curname))
            optname = nil
          else
            key = key:lower()
            if cur.lines[key] then
              fail(lineno, string.format("key %q already set in [%s] at line %d; keep one",
                key, curname, cur.lines[key]))
            end
            cur.raw[key] = { value }
            cur.lines[key] = lineno
            optname = key
          end
        end
      end
    end
  end
  if #errors > 0 then
    error(table.concat(errors, "\n"), 0)
  end
  -- Join multi-line values and parse sub-sections.
  local function finish(sec, name)
    sec.values = {}
    for key, parts in pairs(sec.raw) do
      local value = table.concat(parts, "\n"):gsub("%s+$", "")
      if value:sub(1, 1) == "\n" then
        local sub = {}
        local n = sec.lines[key]
        for subline in value:gmatch("[^\n]+") do
          n = n + 1
          local s = subline:match("^%s*(.-)%s*$")
          if s ~= "" then
            local k, v = s:match(SUBSECTION_KEY)
            if not k then
              error(string.format("%s:%d: expected 'key = value' in the %q sub-section of [%s], got %q",
                path, sec.lines[key], key, name, s), 0)
            end
            sub[k] = v
          end
        end
        sec.values[key] = sub
      else
        sec.values[key] = value
      end
    end
    sec.raw = nil
  end
  if defaults then finish(defaults, "DEFAULT") end
  for name, sec in pairs(sections) do
    finish(sec, name)
    if defaults then
      for k, v in pairs(defaults.values) do
        if sec.values[k] == nil then
          sec.values[k] = v
          sec.lines[k] = defaults.lines[k]
        end
      end
    end
  end
  return sections, order
end

local function read_file(path)
  local text, err, code = require("kumo.sys").read_file(path)
  if not text then
    -- A missing file is an empty one (as in the AWS CLI); other errors are not.
    if code == 2 then return nil end  -- ENOENT
    error(string.format("cannot read %s: %s", path, err), 0)
  end
  return text
end

local function expand_home(path, getenv)
  if path and path:sub(1, 1) == "~" then
    local home = getenv("HOME") or ""
    return home .. path:sub(2)
  end
  return path
end

config.expand_home = expand_home

local View = {}
View.__index = View

--- Load the shared files into a view.
-- @param opts `{ config_file=, credentials_file=, env= }`; `env` is a getenv
-- function (default `os.getenv`); files default to `AWS_CONFIG_FILE` /
-- `AWS_SHARED_CREDENTIALS_FILE`, then `~/.aws/config` / `~/.aws/credentials`.
-- Missing files count as empty.
-- @return a view; raises `file:line: message` on a malformed file
function config.load(opts)
  opts = opts or {}
  local getenv = opts.env or os.getenv
  if type(getenv) == "table" then
    local t = getenv
    getenv = function(name) return t[name] end
  end
  local cfg_path = expand_home(opts.config_file or getenv("AWS_CONFIG_FILE") or "~/.aws/config", getenv)
  local cred_path = expand_home(opts.credentials_file or getenv("AWS_SHARED_CREDENTIALS_FILE")
    or "~/.aws/credentials", getenv)
  local self = setmetatable({
    env = getenv,
    config_file = cfg_path,
    credentials_file = cred_path,
    profiles = {},      -- name -> merged values
    origins = {},       -- name -> { key -> "file:line" }, and [1] = list of "file:line" of headers
    sso_sessions = {},
    services_sections = {},
    other_sections = {},
    warnings = {},
  }, View)

  local function add_profile(name, sec, path)
    local p = self.profiles[name]
    if not p then
      p = {}
      self.profiles[name] = p
      self.origins[name] = { headers = {} }
    end
    local o = self.origins[name]
    o.headers[#o.headers + 1] = string.format("%s:%d", path, sec.line)
    for k, v in pairs(sec.values) do
      p[k] = v
      o[k] = string.format("%s:%d", path, sec.lines[k])
    end
  end

  local text = read_file(cfg_path)
  if text then
    local sections, order = config.parse(text, cfg_path)
    for _, name in ipairs(order) do
      local sec = sections[name]
      if name == "default" then
        add_profile("default", sec, cfg_path)
      elseif name:match("^profile[%s\"']") or name == "profile" then
        local parts = shlex_split(name)
        if parts and #parts == 2 and parts[1] == "profile" then
          add_profile(parts[2], sec, cfg_path)
        else
          self.warnings[#self.warnings + 1] = string.format(
            "%s:%d: ignoring section [%s]: write [profile NAME]", cfg_path, sec.line, name)
        end
      elseif name:match("^sso%-session") then
        local parts = shlex_split(name)
        if parts and #parts == 2 then
          self.sso_sessions[parts[2]] = sec.values
        end
      elseif name:match("^services") then
        local parts = shlex_split(name)
        if parts and #parts == 2 then
          self.services_sections[parts[2]] = sec.values
        end
      else
        self.other_sections[name] = sec.values
        -- [NAME] in the config file is a common slip: the CLI ignores it.
        self.warnings[#self.warnings + 1] = string.format(
          "%s:%d: section [%s] is not a profile in the config file (write [profile %s])",
          cfg_path, sec.line, name, name)
      end
    end
  end
  text = read_file(cred_path)
  if text then
    local sections, order = config.parse(text, cred_path)
    for _, name in ipairs(order) do
      add_profile(name, sections[name], cred_path)
    end
  end
  return self
end

--- The profile to use: `explicit`, else `AWS_PROFILE`, else
-- `AWS_DEFAULT_PROFILE`, else `"default"` (AWS CLI v2 order).
-- @param explicit a name the caller chose, or nil
-- @return name, and how it was chosen (`"explicit"`, `"AWS_PROFILE"`, ...)
function View:profile_name(explicit)
  if explicit then return explicit, "explicit" end
  local p, dp = self.env("AWS_PROFILE"), self.env("AWS_DEFAULT_PROFILE")
  if p == "" then p = nil end
  if dp == "" then dp = nil end
  if p and dp and p ~= dp then
    self.warnings[#self.warnings + 1] = string.format(
      "AWS_PROFILE=%s and AWS_DEFAULT_PROFILE=%s differ; using AWS_PROFILE", p, dp)
  end
  if p then return p, "AWS_PROFILE" end
  if dp then return dp, "AWS_DEFAULT_PROFILE" end
  return "default", "default"
end

--- True when the profile exists in either file.
function View:has_profile(name)
  return self.profiles[name] ~= nil
end

--- A profile's settings (credentials file over config file), or nil.
-- @return a fresh table (sub-sections are tables), or nil when absent
function View:profile(name)
  local p = self.profiles[name]
  if not p then return nil end
  local copy = {}
  for k, v in pairs(p) do copy[k] = v end
  return copy
end

--- Where a profile (or one of its keys) is defined, for messages:
-- `"/home/u/.aws/config:12"`; the files searched when it is not.
function View:where(name, key)
  local o = self.origins[name]
  if o and key and o[key] then return o[key] end
  if o then return table.concat(o.headers, ", ") end
  return self.config_file .. " or " .. self.credentials_file
end

--- A `[services NAME]` section: `{ sts = { endpoint_url = ... }, ... }`, or nil.
function View:services(name)
  return self.services_sections[name]
end

--- An `[sso-session NAME]` section, or nil.
function View:sso_session(name)
  return self.sso_sessions[name]
end

local function nonempty(v)
  if v == nil or v == "" then return nil end
  return v
end

--- A setting from the environment variable `envvar` (when given) or the
-- profile key `key`.
function View:get(profile, key, envvar)
  if envvar then
    local v = nonempty(self.env(envvar))
    if v then return v end
  end
  local p = profile and self.profiles[profile]
  local v = p and p[key]
  if type(v) == "string" then return nonempty(v) end
  return v
end

--- The region: `AWS_REGION`, then `AWS_DEFAULT_REGION`, then the profile's
-- `region` (AWS CLI v2 order).
function View:region(profile)
  return nonempty(self.env("AWS_REGION")) or self:get(profile, "region", "AWS_DEFAULT_REGION")
end

local function truthy(v)
  return v == true or (type(v) == "string" and v:lower() == "true")
end

--- Upper snake case of a service id for `AWS_ENDPOINT_URL_<ID>`, lower
-- snake case for the `[services]` key: `"Secrets Manager"` → `SECRETS_MANAGER`.
local function service_key(service_id)
  return (service_id:gsub("[%s%-]+", "_"))
end

--- The configured endpoint for a service (the SDKs' "service-specific
-- endpoints" rules): `AWS_ENDPOINT_URL_<ID>`, then `AWS_ENDPOINT_URL`,
-- then the profile's `services` section entry, then the profile's
-- `endpoint_url`; none when `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` /
-- `ignore_configured_endpoint_urls` is true.
-- @param profile profile name (may be nil)
-- @param service_id e.g. `"sts"`, `"rds"`, `"Secrets Manager"`
-- @return url and where it came from, or nil
function View:endpoint_url(profile, service_id)
  if truthy(self:get(profile, "ignore_configured_endpoint_urls", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")) then
    return nil
  end
  local key = service_key(service_id)
  local envname = "AWS_ENDPOINT_URL_" .. key:upper()
  local v = nonempty(self.env(envname))
  if v then return v, envname end
  v = nonempty(self.env("AWS_ENDPOINT_URL"))
  if v then return v, "AWS_ENDPOINT_URL" end
  local sname = self:get(profile, "services")
  if type(sname) == "string" then
    local sec = self.services_sections[sname]
    local sub = sec and sec[key:lower()]
    if type(sub) == "table" and nonempty(sub.endpoint_url) then
      return sub.endpoint_url, string.format("[services %s] %s.endpoint_url", sname, key:lower())
    end
  end
  v = self:get(profile, "endpoint_url")
  if type(v) == "string" then return v, string.format("profile %q endpoint_url", profile) end
  return nil
end

--- `retry_mode` (`AWS_RETRY_MODE` or profile), or nil.
function View:retry_mode(profile)
  return self:get(profile, "retry_mode", "AWS_RETRY_MODE")
end

--- `max_attempts` as an integer (`AWS_MAX_ATTEMPTS` or profile), or nil;
-- raises on a value that is not a positive integer.
function View:max_attempts(profile)
  local v = self:get(profile, "max_attempts", "AWS_MAX_ATTEMPTS")
  if v == nil then return nil end
  local n = math.tointeger(tonumber(v))
  if not n or n < 1 then
    error(string.format("max_attempts must be a positive integer, got %q (%s)", tostring(v),
      self.env("AWS_MAX_ATTEMPTS") and "AWS_MAX_ATTEMPTS" or self:where(profile, "max_attempts")), 0)
  end
  return n
end

--- The settings a client needs for a profile, in one table:
-- `{ region=, endpoint_url=, services=, retry_mode=, max_attempts= }`.
function View:client_settings(profile)
  local sname = self:get(profile, "services")
  return {
    region = self:region(profile),
    endpoint_url = self:get(profile, "endpoint_url", "AWS_ENDPOINT_URL"),
    services = type(sname) == "string" and self.services_sections[sname] or nil,
    retry_mode = self:retry_mode(profile),
    max_attempts = self:max_attempts(profile),
  }
end

config.View = View
config.shlex_split = shlex_split
return config
