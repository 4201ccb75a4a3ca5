--- The workflow's configuration: loading, defaults and static validation.
-- Every manual choice of the reference procedure is a key here. `check`
-- applies every rule that needs no AWS call and returns all problems at
-- once, each naming the pair, the key and the fix; the rules that need
-- AWS (AZ IDs across accounts, subnets in the VPC, the organization) live
-- in `prechecks.lua` and run read-only before anything changes.
-- @module rds-proxy.config
local select = require "rds-proxy.select"

local M = {}

local ENGINE_FAMILIES = { MYSQL = true, POSTGRESQL = true, SQLSERVER = true }
local IAM_AUTH = { DISABLED = true, REQUIRED = true, ENABLED = true }
local TARGET_ROLES = { READ_WRITE = true, READ_ONLY = true }
-- Client password auth types per engine family (UserAuthConfig).
local AUTH_TYPES = {
  MYSQL_NATIVE_PASSWORD = "MYSQL", MYSQL_CACHING_SHA2_PASSWORD = "MYSQL",
  POSTGRES_SCRAM_SHA_256 = "POSTGRESQL", POSTGRES_MD5 = "POSTGRESQL",
  SQL_SERVER_AUTHENTICATION = "SQLSERVER",
}
--- Port the proxy listens on, per engine family (facts §0.4).
M.LISTENER_PORT = { MYSQL = 3306, POSTGRESQL = 5432, SQLSERVER = 1433 }

--- Defaults of the proxy settings (the console's and the API's).
M.RDS_DEFAULTS = {
  idle_client_timeout = 1800, require_tls = true, iam_auth = "DISABLED",
  debug_logging = false, max_connections_percent = 100,
  max_idle_connections_percent = 50, connection_borrow_timeout = 120,
}

local KNOWN = {
  top = { region = 1, tags = 1, pairs = 1, base_profile = 1, state_dir = 1,
          timeouts = 1, parallel = 1, steps = 1, replace = 1,
          state = 1 },  -- shared state in S3 (rds-proxy/state.lua's parse)
  pair = { name = 1, app = 1, rds = 1, endpoint = 1, tags = 1 },
  app = { profile = 1, role_arn = 1, external_id = 1, vpc_id = 1,
          subnet_ids = 1, client_security_group_ids = 1, share_name = 1,
          allow_external_principals = 1,
          -- selector aliases (select.lua): vpc = { tags = ... } for vpc_id = { tags = ... }
          vpc = 1, subnets = 1, client_security_groups = 1 },
  rds = { profile = 1, account_role_arn = 1, external_id = 1, role_arn = 1,
          db_instance_identifier = 1, db_cluster_identifier = 1,
          engine_family = 1, secret_arn = 1, secret = 1,
          proxy_name = 1, proxy_subnet_ids = 1, idle_client_timeout = 1,
          require_tls = 1, iam_auth = 1, client_password_auth_type = 1,
          debug_logging = 1, max_connections_percent = 1,
          max_idle_connections_percent = 1, connection_borrow_timeout = 1,
          session_pinning_filters = 1, init_query = 1 },
  secret = { name = 1, username = 1, password = 1, kms_key_id = 1 },
  endpoint = { name = 1, target_role = 1 },
  timeouts = { wait = 1, proxy = 1, endpoint = 1, target = 1, delete = 1, call = 1 },
}

--- The keys a config may use, per level (top, pair, app, rds, secret,
-- endpoint, timeouts): anything else is an error.
M.KNOWN = KNOWN

-- At most this many problems are listed; a hostile config could otherwise
-- print one line per key of a table of millions.
local MAX_ERRORS = 20

-- A value as shown in a message: strings quoted and cut, so a megabyte
-- string in the config cannot flood the terminal.
local function show(v)
  if type(v) == "string" then
    local s = string.format("%q", #v > 60 and v:sub(1, 57) or v)
    return #v > 60 and (s:sub(1, -2) .. '..."') or s
  end
  if type(v) == "table" or type(v) == "function" then return "a " .. type(v) end
  return tostring(v)
end
M.show = show

-- 1-63 chars, a letter first, letters/digits/single hyphens, no trailing
-- hyphen: the API's pattern for proxy, endpoint and target group names.
local function rds_name_ok(s)
  return #s >= 1 and #s <= 63 and s:match("^[A-Za-z][A-Za-z0-9%-]*$") ~= nil
    and not s:find("--", 1, true) and s:sub(-1) ~= "-"
end

-- The closest known key, for "did you mean" on typos.
local function closest(key, known)
  if #key > 64 then return nil end  -- no key is that long; the distance would be slow
  local names = {}
  for k in pairs(known) do names[#names + 1] = k end
  return require("kumo.suggest").close_matches(key, names, 1)[1]
end

--- A collector of problems: `errors` stop the run, `warnings` are shown.
local function reporter()
  local r = { errors = {}, warnings = {}, dropped = 0 }
  function r.err(where, key, msg)
    if #r.errors >= MAX_ERRORS then
      r.dropped = r.dropped + 1
      return
    end
    r.errors[#r.errors + 1] = key == "" and string.format("%s: %s", where, msg)
      or string.format("%s: %s: %s", where, key, msg)
  end
  function r.finish()
    if r.dropped > 0 then
      r.errors[#r.errors + 1] = string.format("... and %d more problem(s) not shown", r.dropped)
      r.dropped = 0
    end
    return r.errors
  end
  function r.warn(where, key, msg)
    r.warnings[#r.warnings + 1] = string.format("%s: %s: %s", where, key, msg)
  end
  return r
end

local function sorted_keys(known)
  local names = {}
  for k in pairs(known) do names[#names + 1] = k end
  table.sort(names)
  return names
end

-- An unknown key would be silently ignored (a typo that leaves a default
-- in place, or a setting kumo does not have): every one is an error, with
-- the closest known key when there is one, else the list of known keys.
local function check_keys(r, where, prefix, t, known)
  local unknown = {}
  for k in pairs(t) do
    if type(k) ~= "string" then
      r.err(where, prefix .. "[" .. show(k) .. "]", "keys must be names (key = value), not a list "
        .. "entry; known keys: " .. table.concat(sorted_keys(known), ", "))
    elseif not known[k] then
      unknown[#unknown + 1] = k
    end
  end
  table.sort(unknown)
  for _, k in ipairs(unknown) do
    -- past the cap only the count matters (a table of a million keys)
    local near = #r.errors < MAX_ERRORS and closest(k, known)
    if near then
      r.err(where, prefix .. k, string.format("unknown key (did you mean %q?)", near))
    else
      r.err(where, prefix .. (#k > 40 and k:sub(1, 37) .. "..." or k), "unknown key; remove it "
        .. "(known keys here: " .. table.concat(sorted_keys(known), ", ") .. ")")
    end
  end
end

local function is_list(v)
  if type(v) ~= "table" then return false end
  local n = 0
  for _ in pairs(v) do n = n + 1 end
  return n == #v
end

-- A selector where an id may stand (select.lua): checked here, resolved
-- read-only before the pair runs. True when `v` is one.
local function check_selector(r, where, key, v, kind)
  if not select.is_selector(v) then return false end
  local why = select.check(v, kind)
  if why then r.err(where, key, why .. ", e.g. { tags = { Name = \"app\" } }") end
  return true
end

local function check_id_list(r, where, key, v, prefix, min, what)
  if v == nil then return end
  local side, k = key:match("^(%a+)%.([%w_]+)$")
  if side and select.KEYS[side] and select.KEYS[side][k]
      and check_selector(r, where, key, v, select.KEYS[side][k]) then
    return
  end
  if not is_list(v) then
    r.err(where, key, "must be a list of " .. what .. " ids, e.g. { \"" .. prefix .. "0123abcd\" }")
    return
  end
  if #v < min then
    r.err(where, key, string.format("needs at least %d %s ids, got %d", min, what, #v))
  end
  local seen = {}
  for i, id in ipairs(v) do
    if type(id) ~= "string" or not id:match("^" .. prefix:gsub("%-", "%%-") .. "%x+$") then
      r.err(where, string.format("%s[%d]", key, i), string.format(
        "%s is not a %s id (expected %s followed by hex digits)", show(id), what, prefix))
    elseif seen[id] then
      r.err(where, string.format("%s[%d]", key, i), string.format("%s is listed twice", id))
    end
    seen[id] = true
  end
end

local function check_int(r, where, key, v, lo, hi)
  if v == nil then return end
  if math.type(v) ~= "integer" then
    r.err(where, key, string.format("must be an integer from %d to %d, got %s", lo, hi, show(v)))
  elseif v < lo or v > hi then
    r.err(where, key, string.format("must be from %d to %d, got %d", lo, hi, v))
  end
end

local function check_bool(r, where, key, v)
  if v ~= nil and type(v) ~= "boolean" then
    r.err(where, key, "must be true or false, got " .. show(v))
  end
end

local function check_enum(r, where, key, v, set)
  if v == nil then return end
  if type(v) ~= "string" or not set[v] then
    local names = {}
    for k in pairs(set) do names[#names + 1] = k end
    table.sort(names)
    r.err(where, key, string.format("must be one of %s, got %s",
      table.concat(names, ", "), (type(v) == "string" and #v <= 60) and v or show(v)))
  end
end

local function check_tags(r, where, key, tags)
  if tags == nil then return end
  if type(tags) ~= "table" then
    r.err(where, key, "must be a table of tag name = value")
    return
  end
  for k, v in pairs(tags) do
    if type(k) ~= "string" or #k < 1 or #k > 128 then
      r.err(where, key, "tag names must be strings of 1-128 characters: " .. show(k))
    elseif k:lower():sub(1, 4) == "aws:" then
      r.err(where, key .. "." .. k, "tag names starting with aws: are reserved by AWS")
    elseif type(v) ~= "string" or #v > 256 then
      r.err(where, key .. "." .. k, "tag values must be strings of at most 256 characters")
    end
  end
end

-- Where an account's credentials come from: a profile, or a role assumed
-- from the base session (app.role_arn; rds.account_role_arn, since
-- rds.role_arn is the proxy's own role).
local function check_account(r, where, side, t, role_key)
  local role = t[role_key]
  if t.profile == nil and role == nil then
    r.err(where, side .. ".profile", "set profile = \"NAME\" (an AWS config profile) "
      .. "or " .. role_key .. " = \"arn:aws:iam::ACCOUNT:role/NAME\" to reach the " .. side:upper() .. " account")
  end
  if t.profile ~= nil and role ~= nil then
    r.err(where, side .. "." .. role_key, "set profile or " .. role_key .. ", not both")
  end
  if t.profile ~= nil and type(t.profile) ~= "string" then
    r.err(where, side .. ".profile", "must be a profile name (a string)")
  end
  if role ~= nil and (type(role) ~= "string"
      or not role:match("^arn:aws[%w-]*:iam::%d%d%d%d%d%d%d%d%d%d%d%d:role/.+")) then
    r.err(where, side .. "." .. role_key, "must be an IAM role ARN, e.g. arn:aws:iam::111111111111:role/Deployer")
  end
  if t.external_id ~= nil and (type(t.external_id) ~= "string"
      or #t.external_id < 2 or #t.external_id > 1224) then
    r.err(where, side .. ".external_id", "must be a string of 2-1224 characters")
  end
end

local function check_secret(r, where, rds)
  if rds.secret_arn == nil and rds.secret == nil then
    r.err(where, "rds.secret_arn", "set secret_arn = \"arn:aws:secretsmanager:...\" (an existing "
      .. "secret with username and password) or secret = { name=, username=, password= } to create one")
    return
  end
  if rds.secret_arn ~= nil and rds.secret ~= nil then
    r.err(where, "rds.secret", "set either secret_arn (existing) or secret (to create), not both")
  end
  if rds.secret_arn ~= nil and not check_selector(r, where, "rds.secret_arn", rds.secret_arn, "secret")
      and (type(rds.secret_arn) ~= "string"
      or not rds.secret_arn:match("^arn:aws[%w-]*:secretsmanager:[%w-]+:%d+:secret:.+")) then
    r.err(where, "rds.secret_arn", "must be a Secrets Manager secret ARN")
  end
  local s = rds.secret
  if s ~= nil then
    if type(s) ~= "table" then
      r.err(where, "rds.secret", "must be a table { name=, username=, password= }")
      return
    end
    check_keys(r, where, "rds.secret.", s, KNOWN.secret)
    if type(s.name) ~= "string" or #s.name < 1 or #s.name > 512
        or not s.name:match("^[A-Za-z0-9/_+=.@%-]+$") then
      r.err(where, "rds.secret.name", "must be 1-512 characters from A-Z a-z 0-9 / _ + = . @ -")
    elseif s.name:match("%-%w%w%w%w%w%w$") then
      r.warn(where, "rds.secret.name", "ends with a hyphen and 6 characters, like the suffix Secrets "
        .. "Manager adds to ARNs: a partial ARN could be ambiguous; consider another name")
    end
    if type(s.username) ~= "string" or #s.username < 1 then
      r.err(where, "rds.secret.username", "must be the database user the proxy logs in as")
    end
    if s.kms_key_id ~= nil and (type(s.kms_key_id) ~= "string" or #s.kms_key_id < 1 or #s.kms_key_id > 2048) then
      r.err(where, "rds.secret.kms_key_id", "must be a KMS key ARN, key id or alias (e.g. \"alias/orders\"), "
        .. "or left out for the account's aws/secretsmanager key")
    end
    if type(s.password) ~= "string" or #s.password < 8 then
      -- never echo the value
      r.err(where, "rds.secret.password", "must be a string of at least 8 characters")
    end
  end
end

local function check_rds(r, where, rds)
  check_keys(r, where, "rds.", rds, KNOWN.rds)
  check_account(r, where, "rds", rds, "account_role_arn")
  local inst, clu = rds.db_instance_identifier, rds.db_cluster_identifier
  if inst == nil and clu == nil then
    r.err(where, "rds.db_instance_identifier",
      "set db_instance_identifier (an RDS instance) or db_cluster_identifier (an Aurora cluster)")
  elseif inst ~= nil and clu ~= nil then
    r.err(where, "rds.db_cluster_identifier", "set db_instance_identifier or db_cluster_identifier, not both")
  end
  for _, k in ipairs{ "db_instance_identifier", "db_cluster_identifier" } do
    local v = rds[k]
    -- a selector is checked here and resolved before the run (select.lua)
    if v ~= nil and not check_selector(r, where, "rds." .. k, v, select.KEYS.rds[k])
        and (type(v) ~= "string" or not v:match("^[A-Za-z][A-Za-z0-9%-]*$") or #v > 63) then
      r.err(where, "rds." .. k, "must be a DB identifier: 1-63 letters, digits and hyphens, starting with a letter")
    end
  end
  check_enum(r, where, "rds.engine_family", rds.engine_family, ENGINE_FAMILIES)
  if rds.engine_family == nil then
    r.err(where, "rds.engine_family", "required: MYSQL, POSTGRESQL or SQLSERVER (matching the database engine)")
  end
  check_secret(r, where, rds)
  if rds.role_arn ~= nil and (type(rds.role_arn) ~= "string"
      or #rds.role_arn < 20 or #rds.role_arn > 2048
      or not rds.role_arn:match("^arn:aws[%w-]*:iam::%d+:role/.+")) then
    r.err(where, "rds.role_arn", "must be an IAM role ARN (20-2048 characters) that rds.amazonaws.com can assume")
  end
  if type(rds.proxy_name) ~= "string" or not rds_name_ok(rds.proxy_name) then
    r.err(where, "rds.proxy_name", string.format("%s is not a valid proxy name: 1-63 letters, digits "
      .. "and hyphens, starting with a letter, no \"--\" and no trailing hyphen (e.g. \"orders-proxy\")",
      rds.proxy_name == nil and "(missing)" or show(rds.proxy_name)))
  elseif rds.proxy_name ~= rds.proxy_name:lower() then
    r.warn(where, "rds.proxy_name", "RDS stores proxy names in lower case; using " .. rds.proxy_name:lower())
  end
  check_id_list(r, where, "rds.proxy_subnet_ids", rds.proxy_subnet_ids, "subnet-", 2, "subnet")
  check_int(r, where, "rds.idle_client_timeout", rds.idle_client_timeout, 1, 28800)
  check_bool(r, where, "rds.require_tls", rds.require_tls)
  check_bool(r, where, "rds.debug_logging", rds.debug_logging)
  check_enum(r, where, "rds.iam_auth", rds.iam_auth, IAM_AUTH)
  local fam = rds.engine_family
  if rds.iam_auth == "ENABLED" and fam ~= nil and fam ~= "SQLSERVER" then
    r.err(where, "rds.iam_auth", "ENABLED is only for SQLSERVER; use REQUIRED or DISABLED")
  end
  if rds.iam_auth == "REQUIRED" and rds.require_tls == false then
    r.err(where, "rds.require_tls", "IAM authentication needs TLS: set require_tls = true or iam_auth = \"DISABLED\"")
  end
  local cpat = rds.client_password_auth_type
  if cpat ~= nil then
    if not AUTH_TYPES[cpat] then
      local names = {}
      for k in pairs(AUTH_TYPES) do names[#names + 1] = k end
      table.sort(names)
      r.err(where, "rds.client_password_auth_type", "must be one of " .. table.concat(names, ", "))
    elseif fam and AUTH_TYPES[cpat] ~= fam then
      r.err(where, "rds.client_password_auth_type", string.format(
        "%s is for %s proxies, this one is %s", cpat, AUTH_TYPES[cpat], fam))
    end
  end
  check_int(r, where, "rds.max_connections_percent", rds.max_connections_percent, 1, 100)
  check_int(r, where, "rds.max_idle_connections_percent", rds.max_idle_connections_percent, 0, 100)
  local maxc = rds.max_connections_percent or M.RDS_DEFAULTS.max_connections_percent
  local idle = rds.max_idle_connections_percent
  if math.type(idle) == "integer" and math.type(maxc) == "integer" and idle > maxc then
    r.err(where, "rds.max_idle_connections_percent", string.format(
      "%d exceeds max_connections_percent (%d): idle connections are a share of the maximum", idle, maxc))
  end
  check_int(r, where, "rds.connection_borrow_timeout", rds.connection_borrow_timeout, 0, 300)
  local spf = rds.session_pinning_filters
  if spf ~= nil then
    if not is_list(spf) then
      r.err(where, "rds.session_pinning_filters", "must be a list, e.g. { \"EXCLUDE_VARIABLE_SETS\" }")
    else
      for i, f in ipairs(spf) do
        if f ~= "EXCLUDE_VARIABLE_SETS" then
          r.err(where, string.format("rds.session_pinning_filters[%d]", i),
            "the only filter is EXCLUDE_VARIABLE_SETS")
        end
      end
      if #spf > 0 and fam ~= nil and fam ~= "MYSQL" then
        r.err(where, "rds.session_pinning_filters", "session pinning filters exist only for MYSQL "
          .. "(MySQL and MariaDB) proxies; remove them for " .. fam)
      end
    end
  end
  if rds.init_query ~= nil then
    if type(rds.init_query) ~= "string" then
      r.err(where, "rds.init_query", "must be SQL text, e.g. \"SET x=1, y=2\"")
    elseif fam == "POSTGRESQL" then
      r.err(where, "rds.init_query", "initialization queries are not supported for POSTGRESQL proxies; remove it")
    elseif rds.init_query:lower():find("password", 1, true) then
      r.warn(where, "rds.init_query", "anyone who can read the target group sees this text: keep secrets out of it")
    end
  end
end

local function check_app(r, where, app)
  check_keys(r, where, "app.", app, KNOWN.app)
  check_account(r, where, "app", app, "role_arn")
  if not check_selector(r, where, "app.vpc_id", app.vpc_id, "vpc")
      and (type(app.vpc_id) ~= "string" or not app.vpc_id:match("^vpc%-%x+$")) then
    r.err(where, "app.vpc_id", "must be the APP VPC id, e.g. \"vpc-0123abcd\", or a selector "
      .. "{ tags = { Name = \"app\" } }")
  end
  if app.subnet_ids == nil then
    r.err(where, "app.subnet_ids", "required: at least two APP subnets in distinct availability zones")
  end
  check_id_list(r, where, "app.subnet_ids", app.subnet_ids, "subnet-", 2, "subnet")
  if app.client_security_group_ids == nil then
    r.err(where, "app.client_security_group_ids", "required: the security groups of the APP clients")
  end
  check_id_list(r, where, "app.client_security_group_ids", app.client_security_group_ids, "sg-", 1, "security group")
  if app.share_name ~= nil and (type(app.share_name) ~= "string" or #app.share_name < 1
      or #app.share_name > 255) then
    r.err(where, "app.share_name", "must be a name of 1-255 characters")
  end
  check_bool(r, where, "app.allow_external_principals", app.allow_external_principals)
  if app.allow_external_principals then
    r.err(where, "app.allow_external_principals", "subnets can only be shared inside the organization; "
      .. "leave it false")
  end
end

local function check_endpoint(r, where, ep, rds)
  if type(ep) ~= "table" then
    r.err(where, "endpoint", "required: { name = \"...\", target_role = \"READ_WRITE\" }")
    return
  end
  check_keys(r, where, "endpoint.", ep, KNOWN.endpoint)
  if type(ep.name) ~= "string" or not rds_name_ok(ep.name) then
    r.err(where, "endpoint.name", string.format("%s is not a valid endpoint name: 1-63 letters, digits and "
      .. "hyphens, starting with a letter, no \"--\" and no trailing hyphen",
      ep.name == nil and "(missing)" or show(ep.name)))
  end
  check_enum(r, where, "endpoint.target_role", ep.target_role, TARGET_ROLES)
  if ep.target_role == "READ_ONLY" and type(rds) == "table" and rds.db_cluster_identifier == nil then
    r.err(where, "endpoint.target_role", "READ_ONLY (a reader endpoint) needs an Aurora cluster "
      .. "(db_cluster_identifier); an RDS instance takes READ_WRITE only")
  end
  if ep.target_role == "READ_ONLY" and type(rds) == "table" and rds.engine_family == "SQLSERVER" then
    r.err(where, "endpoint.target_role", "SQLSERVER proxies take READ_WRITE endpoints only")
  end
end

local function builtin_steps()
  local set = {}
  -- steps/init.lua: as .init where ?/init.lua is not on the path (a load error still raises)
  for _, n in ipairs(require(package.searchpath("rds-proxy.steps", package.path) and "rds-proxy.steps"
      or "rds-proxy.steps.init")) do set[n] = true end
  return set
end

-- The `steps` list: names of kumo's steps or of modules next to the
-- config, and step tables written in the config (run confined: confine.lua).
-- Every step is loaded and its contract checked (contract.lua: the
-- functions, the account, `needs` naming earlier steps, no cycle), so a
-- broken list stops here, before any call. Returns the list to run (table
-- steps confined) and the set of step names.
local function check_steps(r, list)
  local names = {}
  if not is_list(list) or #list == 0 then
    r.err("config", "steps", "must be a list of step names or step tables, e.g. { \"share\", ..., \"endpoint\" } "
      .. "(see docs/workflow.md)")
    return list, names
  end
  local loaded, strict, ok_all = {}, {}, true
  for i, st in ipairs(list) do
    local where = string.format("steps[%d]", i)
    if type(st) == "table" then
      loaded[i], strict[i] = st, true
    elseif type(st) ~= "string" or not st:match("^[%a_][%w_%.%-]*$") then
      r.err("config", where, string.format("%s is not a step: give a step name (a module next to the config, "
        .. "e.g. \"my_step\" for my_step.lua) or a step table { name=, account=, read=, create=, id=, ... }",
        show(st)))
      ok_all = false
    elseif not (package.searchpath("rds-proxy.steps." .. st, package.path)
                or package.searchpath(st, package.path)) then
      local builtin = builtin_steps()
      local near = closest(st, builtin)
      r.err("config", where, string.format("%s is neither a step of kumo's%s nor a "
        .. "module next to the config (%s.lua)", show(st), near and string.format(" (did you mean %q?)", near)
          or " (" .. table.concat(sorted_keys(builtin), ", ") .. ")", st:gsub("%.", "/")))
      ok_all = false
    else
      local ok, mod = pcall(function() return require("rds-proxy.contract").load{ st }[1] end)
      if not ok then
        r.err("config", where, string.format("the step module %s does not load: %s", show(st), tostring(mod)))
        ok_all = false
      else
        loaded[i] = mod
      end
    end
  end
  if not ok_all then return list, names end
  for _, e in ipairs(require("rds-proxy.contract").check(loaded, strict)) do r.err("config", "steps", e) end
  local out = {}
  for i, st in ipairs(loaded) do
    if type(st.name) == "string" then names[st.name] = true end
    out[i] = strict[i] and require("rds-proxy.confine").step(st) or list[i]
  end
  return out, names
end

-- The app side's short selector keys (`vpc`, `subnets`,
-- `client_security_groups`) stand for the id keys: a copy of the pair with
-- them moved there (both given is an error).
local function normalize_aliases(r, where, pair)
  local app
  for alias, key in pairs(select.ALIASES.app) do
    if pair.app[alias] ~= nil then
      if not app then
        app = {}
        for k, v in pairs(pair.app) do app[k] = v end
      end
      if pair.app[key] ~= nil then
        r.err(where, "app." .. alias, string.format("set %s or %s, not both", alias, key))
      end
      app[key], app[alias] = pair.app[alias], nil
    end
  end
  if not app then return pair end
  local out = {}
  for k, v in pairs(pair) do out[k] = v end
  out.app = app
  return out
end

--- Fill in the defaults of one pair (a copy; the input is not changed).
-- @param pair a validated pair table
-- @param top the whole config (for region and tags)
-- @return the pair with every optional key resolved
function M.resolve_pair(pair, top)
  local p = { name = pair.name, app = {}, rds = {}, endpoint = {} }
  for k, v in pairs(pair.app) do p.app[k] = v end
  for k, v in pairs(pair.rds) do p.rds[k] = v end
  for k, v in pairs(pair.endpoint) do p.endpoint[k] = v end
  for k, v in pairs(M.RDS_DEFAULTS) do
    if p.rds[k] == nil then p.rds[k] = v end
  end
  p.rds.proxy_name = p.rds.proxy_name:lower()
  p.endpoint.name = p.endpoint.name:lower()
  p.endpoint.target_role = p.endpoint.target_role or "READ_WRITE"
  p.app.share_name = p.app.share_name or (pair.name .. "-subnets")
  p.rds.session_pinning_filters = p.rds.session_pinning_filters or {}
  p.region = top.region
  p.listener_port = M.LISTENER_PORT[p.rds.engine_family]
  local tags = {}
  for k, v in pairs(top.tags or {}) do tags[k] = v end
  for k, v in pairs(pair.tags or {}) do tags[k] = v end
  -- kumo finds what it created by these tags (see state.lua)
  tags["kumo:pair"] = pair.name
  tags["kumo:workflow"] = "rds-proxy-share"
  p.tags = tags
  -- deterministic names of what the workflow creates
  p.names = {
    proxy_sg = "kumo-" .. pair.name .. "-proxy",
    endpoint_sg = "kumo-" .. pair.name .. "-endpoint",
    role = "kumo-" .. pair.name .. "-proxy-secret",
    role_policy = "read-proxy-secret",
  }
  return p
end

--- Validate a whole config table.
-- @param cfg the table the config file returned
-- @param[opt] only a set of pair names to keep (from `--pair`)
-- @return[1] the resolved config `{ region=, tags=, pairs = {resolved...} }` and a list of warnings
-- @return[2] nil, a list of error strings, a list of warnings
function M.check(cfg, only)
  local r = reporter()
  if type(cfg) ~= "table" then
    return nil, { string.format("config: returns %s; it must return a table "
      .. "{ region = \"...\", pairs = { ... } }", cfg == nil and "nothing (nil)" or show(cfg)) }, {}
  end
  check_keys(r, "config", "", cfg, KNOWN.top)
  if type(cfg.region) ~= "string" or not cfg.region:match("^[a-z][a-z]%-[a-z%-]+%-%d+$") then
    r.err("config", "region", string.format("%s is not an AWS region name (e.g. \"ap-northeast-1\")",
      cfg.region == nil and "(missing)" or show(cfg.region)))
  end
  check_tags(r, "config", "tags", cfg.tags)
  if cfg.timeouts ~= nil then
    if type(cfg.timeouts) ~= "table" then
      r.err("config", "timeouts", "must be a table, e.g. { proxy = 1800, delete = 3600 } (seconds)")
    else
      check_keys(r, "config", "timeouts.", cfg.timeouts, KNOWN.timeouts)
      for k, v in pairs(cfg.timeouts) do
        if KNOWN.timeouts[k] then check_int(r, "config", "timeouts." .. k, v, 1, 86400) end
      end
    end
  end
  if cfg.base_profile ~= nil and (type(cfg.base_profile) ~= "string" or cfg.base_profile == "") then
    r.err("config", "base_profile", "must be a profile name (the session that assumes role_arn), e.g. \"deployer\"")
  end
  if cfg.state_dir ~= nil and (type(cfg.state_dir) ~= "string" or cfg.state_dir == "") then
    r.err("config", "state_dir", "must be a folder path (the journal folder), e.g. \".kumo-state\"")
  end
  -- [state] shared state in S3: `state = "s3://bucket/prefix"` or a table
  local state_place
  if cfg.state ~= nil then
    local msg
    state_place, msg = require("rds-proxy.state").parse(cfg.state, "state")
    if not state_place then r.err("config", "", msg)
    elseif cfg.state_dir ~= nil then
      r.err("config", "state", "and state_dir are both set; keep one (state: shared in S3, state_dir: a local folder)")
    end
  end
  -- [/state]
  check_int(r, "config", "parallel", cfg.parallel, 1, 64)
  local step_names = {}
  local steps_out = cfg.steps
  if cfg.steps ~= nil then
    steps_out, step_names = check_steps(r, cfg.steps)
  else
    -- the default list (steps/init.lua; found as .init where ?/init.lua is not on the path)
    for _, n in ipairs(require(package.searchpath("rds-proxy.steps", package.path) and "rds-proxy.steps"
        or "rds-proxy.steps.init")) do step_names[n] = true end
  end
  if cfg.replace ~= nil then
    if not is_list(cfg.replace) then
      r.err("config", "replace", "must be a list of step names to re-create, e.g. { \"endpoint\" }")
    else
      for i, st in ipairs(cfg.replace) do
        if type(st) ~= "string" or not step_names[st] then
          local near = type(st) == "string" and closest(st, step_names)
          r.err("config", string.format("replace[%d]", i), string.format("%s is not a step of this workflow%s",
            show(st), near and string.format(" (did you mean %q?)", near)
              or "; known: " .. table.concat(sorted_keys(step_names), ", ")))
        end
      end
    end
  end
  if type(cfg.pairs) ~= "table" or #cfg.pairs == 0 then
    r.err("config", "pairs", "must list at least one account pair { name=, app=, rds=, endpoint= }")
    return nil, r.finish(), r.warnings
  end
  if not is_list(cfg.pairs) then
    r.err("config", "pairs", "must be a list { { name=, ... }, { name=, ... } }, without named keys")
  end
  local names, proxies, endpoints, shares, normalized = {}, {}, {}, {}, {}
  -- everything the run uses from the top level (context.lua reads
  -- base_profile from here; the entry script the rest)
  local out = { region = cfg.region, tags = cfg.tags or {}, pairs = {},
                base_profile = cfg.base_profile, state_dir = cfg.state_dir, state = state_place,
                timeouts = cfg.timeouts, steps = steps_out, replace = cfg.replace,
                parallel = cfg.parallel }
  for i, pair in ipairs(cfg.pairs) do
    local where = string.format("pair %d", i)
    if type(pair) ~= "table" then
      r.err(where, "", "must be a table { name=, app=, rds=, endpoint= }")
      goto continue
    end
    if type(pair.name) ~= "string" or not pair.name:match("^[a-z0-9][a-z0-9%-]*$") or #pair.name > 40 then
      r.err(where, "name", "must be 1-40 characters of a-z, 0-9 and hyphens, starting with a letter or digit "
        .. "(it names the pair in tags and state)")
    else
      where = string.format("pair %q", pair.name)
      if names[pair.name] then
        r.err(where, "name", "is used by two pairs; pair names must be unique")
      end
      names[pair.name] = true
    end
    check_keys(r, where, "", pair, KNOWN.pair)
    check_tags(r, where, "tags", pair.tags)
    if type(pair.app) == "table" then pair = normalize_aliases(r, where, pair) end
    normalized[i] = pair
    if type(pair.app) ~= "table" then
      r.err(where, "app", "required: the APP side { profile=, vpc_id=, subnet_ids=, client_security_group_ids= }")
    else
      check_app(r, where, pair.app)
    end
    if type(pair.rds) ~= "table" then
      r.err(where, "rds", "required: the RDS side { profile=, db_instance_identifier=, engine_family=, ... }")
    else
      check_rds(r, where, pair.rds)
    end
    check_endpoint(r, where, pair.endpoint, pair.rds)
    -- names RDS keeps unique per account and region, across pairs
    if type(pair.rds) == "table" and type(pair.rds.proxy_name) == "string" then
      local acct = tostring(pair.rds.profile or pair.rds.account_role_arn)
      local k = acct .. "|" .. pair.rds.proxy_name:lower()
      if proxies[k] then
        r.err(where, "rds.proxy_name", string.format("%q is also used by pair %q in the same RDS account; "
          .. "proxy names are unique per account and region", pair.rds.proxy_name, proxies[k]))
      end
      proxies[k] = pair.name
      if type(pair.endpoint) == "table" and type(pair.endpoint.name) == "string" then
        local ek = acct .. "|" .. pair.endpoint.name:lower()
        if endpoints[ek] then
          r.err(where, "endpoint.name", string.format("%q is also used by pair %q in the same RDS account; "
            .. "endpoint names are unique per account and region, not per proxy", pair.endpoint.name, endpoints[ek]))
        end
        endpoints[ek] = pair.name
      end
    end
    if type(pair.app) == "table" and type(pair.name) == "string" then
      local sk = tostring(pair.app.profile or pair.app.role_arn) .. "|" .. (pair.app.share_name or pair.name .. "-subnets")
      if shares[sk] then
        r.err(where, "app.share_name", string.format("the share name is also used by pair %q in the same APP "
          .. "account; set a distinct app.share_name", shares[sk]))
      end
      shares[sk] = pair.name
    end
    ::continue::
  end
  if only then
    for name in pairs(only) do
      if not names[name] then
        r.err("--pair", name, "no pair has this name")
      end
    end
  end
  if #r.errors > 0 then return nil, r.finish(), r.warnings end
  for _, pair in ipairs(normalized) do
    if not only or only[pair.name] then
      out.pairs[#out.pairs + 1] = M.resolve_pair(pair, cfg)
    end
  end
  return out, r.warnings
end

--- Limits of a config's run: it is data, and builds a table in far fewer
-- steps. `instructions` are Lua VM instructions (a count hook);
-- `memory` is bytes of Lua heap above what kumo used before, measured by
-- `collectgarbage("count")` at every new line the config runs (a line
-- hook: Lua offers no per-state allocator limit from Lua, so one
-- statement may overshoot before the next line stops it; `string.rep` and
-- `table.concat`, the one-call bombs, check the size first); `size` is
-- the file's size in bytes.
M.LIMITS = { instructions = 2000000, memory = 32 * 1024 * 1024, size = 1024 * 1024 }

-- Globals a config cannot have, with the reason and the fix.
local NOT_IN_CONFIG = {
  require = "a config is data and cannot load modules; write code as a step module next to "
    .. "the config and name it in steps = { ... } (docs/workflow.md)",
  io = "a config cannot read or write files",
  os = "a config cannot run commands or use the clock; use getenv(\"NAME\") to read an environment variable",
  load = "a config cannot compile code", loadstring = "a config cannot compile code",
  loadfile = "a config cannot load files", dofile = "a config cannot run files",
  package = "a config cannot load modules", debug = "a config cannot use the debug library",
  coroutine = "a config runs straight through, without coroutines",
  collectgarbage = "a config cannot drive the garbage collector",
  getmetatable = "a config is plain data: no metatables",
  setmetatable = "a config is plain data: no metatables",
  rawget = "a config is plain data: no metatables", rawset = "a config is plain data: no metatables",
  rawlen = "a config is plain data: no metatables",
  pcall = "a config cannot catch errors: let them stop the load",
  xpcall = "a config cannot catch errors: let them stop the load",
  print = "a config cannot print; its table is checked and reported by kumo",
}

local function copy(t, except)
  local c = {}
  for k, v in pairs(t) do
    if not (except and except[k]) then c[k] = v end
  end
  return c
end

-- The environment of a config chunk: fresh copies of the pure libraries
-- (so a config that assigns string.format changes only its own copy) and
-- a few functions. Reading any other global is an error naming it, so a
-- typo like `region = REGOIN` fails instead of being nil.
local function config_env(budget)
  local str = copy(string, { dump = 1, pack = 1, unpack = 1, packsize = 1 })
  local srep = string.rep
  function str.rep(s, n, sep)
    local size = #tostring(s) * (tonumber(n) or 0) + #tostring(sep or "") * ((tonumber(n) or 1) - 1)
    budget(size)
    return srep(s, n, sep)
  end
  local tbl = copy(table)
  local tconcat = table.concat
  function tbl.concat(t, sep, i, j)
    local size, n = 0, 0
    for k = i or 1, j or #t do
      size = size + #tostring(t[k])
      n = n + 1
    end
    budget(size + #tostring(sep or "") * n)
    return tconcat(t, sep, i, j)
  end
  local env = {
    string = str, table = tbl, math = copy(math), utf8 = copy(utf8),
    assert = assert, error = error, ipairs = ipairs, pairs = pairs, next = next,
    select = select, tonumber = tonumber, tostring = tostring, type = type,
    rawequal = rawequal,
  }
  --- getenv(NAME): an environment variable (a string) or nil; AWS_* names
  -- are refused: credentials come from profiles, never through a config.
  function env.getenv(name)
    if type(name) ~= "string" then error("getenv: needs a variable name (a string)", 2) end
    if name:upper():sub(1, 4) == "AWS_" then
      error("getenv: " .. name .. " is not readable from a config: AWS credentials and settings "
        .. "come from profiles (app.profile, rds.profile)", 2)
    end
    return os.getenv(name)
  end
  local names = {}
  for k in pairs(env) do names[#names + 1] = k end
  table.sort(names)
  return setmetatable(env, { __index = function(_, k)
    local why = NOT_IN_CONFIG[k]
    if why then error(tostring(k) .. " is not available: " .. why, 2) end
    local near = type(k) == "string" and closest(k, env)
    error(string.format("%s is not defined%s (a config can use %s, and the names it sets itself)",
      show(k):gsub('^"(.*)"$', "%1"), near and string.format(" (did you mean %q?)", near) or "",
      table.concat(names, ", ")), 2)
  end })
end

-- The tables config.load returned, with what runs more of their code
-- under the same limits (M.call); weak: a config dropped is forgotten.
local RUNNERS = setmetatable({}, { __mode = "k" })

-- Run `fn(...)` of a config (the chunk, or a function it returned) in its
-- own coroutine under LIMITS, with strings' methods pointing at the
-- config's copy of `string`. `box.budget` (the capped string.rep and
-- table.concat) and `box.unlimited` (kumo work called from the config,
-- counted against neither limit) are set for the run.
-- @return true and fn's first result, or false and a message
local function confined_run(path, env, box, fn, ...)
  local base = collectgarbage("count")
  local limit_kb = M.LIMITS.memory / 1024
  local paused = false
  function box.budget(bytes)
    if paused then return end
    if bytes > M.LIMITS.memory - (collectgarbage("count") - base) * 1024 then
      error(string.format("stopped: a string of %.0f bytes would take the config over its memory "
        .. "limit (%d MB); a config is a small table of settings", bytes, M.LIMITS.memory // 1048576), 3)
    end
  end
  local count = 0
  -- the config's own line (not a helper's) where the limit stopped it
  local function stop(msg)
    for level = 3, 200 do
      local info = debug.getinfo(level, "Sl")
      if not info then break end
      if info.source == "@" .. path then
        error(string.format("%s:%d: %s", info.short_src, info.currentline, msg), 0)
      end
    end
    error(path .. ": " .. msg, 0)
  end
  local function hook(event)
    if paused then return end
    -- a line runs at least one instruction: count it too, since Lua 5.4.4
    -- sends no count events for a `for` loop while the line hook is set
    count = count + (event == "count" and 1000 or 1)
    if count > M.LIMITS.instructions then
      stop(string.format("stopped after %d instructions (an endless loop?); a config is data "
        .. "and needs far fewer: remove the loop", M.LIMITS.instructions))
    end
    if event == "line" and collectgarbage("count") - base > limit_kb then
      collectgarbage("collect")  -- garbage is not use: count what is live
      if collectgarbage("count") - base > limit_kb then
        stop(string.format("stopped: uses more than %d MB of memory; a config is a small table "
          .. "of settings", M.LIMITS.memory // 1048576))
      end
    end
  end
  -- strings share one metatable whose __index is kumo's `string`: point
  -- it at the config's copy while the chunk runs, so ("").rep is the
  -- capped one; no getmetatable means it cannot be reached to be changed.
  local smt = getmetatable("")
  local saved_index, saved_newindex = smt.__index, smt.__newindex
  local function frozen() error("strings cannot be changed: a config is plain data", 2) end
  local function confine() smt.__index, smt.__newindex = env.string, frozen end
  local function release() smt.__index, smt.__newindex = saved_index, saved_newindex end
  -- kumo's own work called from the config (kumo.org's listing): its
  -- instructions are not counted, and the memory it leaves (the data it
  -- returns) is kumo's, not the config's: the base moves up by it
  function box.unlimited(f, ...)
    if paused then return f(...) end
    paused = true
    release()
    local before = collectgarbage("count")
    local res = table.pack(pcall(f, ...))
    base = base + math.max(0, collectgarbage("count") - before)
    confine()
    paused = false
    if not res[1] then error(res[2], 0) end
    return table.unpack(res, 2, res.n)
  end
  -- hooks are per thread: only the config's own coroutine is limited
  local co = coroutine.create(fn)
  debug.sethook(co, hook, "l", 1000)
  confine()
  local ok, res = coroutine.resume(co, ...)
  release()
  paused = true  -- a wrapper kept and called later does not count either
  co = nil  -- luacheck: ignore 311 (its stack may hold a refused bomb: let it go)
  if not ok then
    collectgarbage("collect")  -- a refused memory bomb leaves its garbage
    return false, type(res) == "string" and res or ("raised " .. show(res))
  end
  return true, res
end

--- Load a config file: a Lua chunk returning a table, run as data (see
-- `LIMITS` and the environment above), never with kumo's own globals.
-- @param path the file
-- @return[1] the table
-- @return[2] nil, a one-line error message naming the file (and line) and the fix
function M.load(path)
  local st = require("kumo.sys").stat(path)
  if not st then
    return nil, string.format("config: cannot read %s: no such file; give the path of the config "
      .. "(a Lua file returning a table)", path)
  elseif st.type ~= "file" then
    return nil, string.format("config: %s is not a file; give the path of the config "
      .. "(a Lua file returning a table)", path)
  elseif st.size > M.LIMITS.size then
    return nil, string.format("config: %s is %d bytes, over the %d-byte limit of a config; "
      .. "a config is a small table of settings", path, st.size, M.LIMITS.size)
  end
  local box = {}
  local env = config_env(function(bytes) return box.budget(bytes) end)
  local chunk, err = loadfile(path, "t", env)
  if not chunk then
    return nil, "config: " .. tostring(err):gsub("^cannot open ", "cannot read ")
  end
  local ok, cfg = confined_run(path, env, box, chunk)
  if not ok then return nil, "config: " .. cfg end
  if cfg == nil then
    return nil, string.format("config: %s returns nothing; it must end with return { region = \"...\", "
      .. "pairs = { ... } }", path)
  elseif type(cfg) ~= "table" then
    return nil, string.format("config: %s returns %s; it must return a table { region = \"...\", "
      .. "pairs = { ... } }", path, show(cfg))
  end
  RUNNERS[cfg] = { path = path, env = env, box = box }
  return cfg
end

--- Call a function of a loaded config (its `pairs = function(org)`) under
-- the same limits and in the same confinement as the chunk, each call with
-- a fresh budget. `...` may hold tables of kumo functions made with the
-- `unlimited` wrapper this passes to `make_args`: what they run (the AWS calls
-- of kumo.org, their parsing) is kumo's work and counts against neither
-- limit, nor does the data they return; the config's own loops do.
-- @param cfg a table `M.load` returned
-- @param fn the config's function
-- @param make_args function(unlimited) returning the arguments of `fn`
-- @return[1] true and fn's first result
-- @return[2] false and a message (the config's line when a limit stopped it)
function M.call(cfg, fn, make_args)
  local r = RUNNERS[cfg]
  if not r then error("config.call: not a table config.load returned", 2) end
  local unlimited = function(f) return function(...) return r.box.unlimited(f, ...) end end
  return confined_run(r.path, r.env, r.box, fn, make_args(unlimited))
end

return M
