--- Hostile and invalid workflow configs, shared by the unit spec
-- (tests/scripts/config_spec.lua: config.load + config.check) and the
-- end-to-end spec (tests/e2e/workflow_config_spec.lua: the real CLI on a
-- sandbox, exit 2, one line, 0 AWS calls, no file touched).
--
-- Each case: `name`, `text` (the config file; `%BASE%` stands for the
-- table of a valid config, `%OUT%` for a file the config must never be
-- able to create), `phase` ("load": the chunk is refused; "check": the
-- table is refused) and `message`, the exact text of the one error
-- (`%FILE%` = the config's path as given on the command line).
-- @module tests.scripts.hostile_configs
local M = {}

--- A valid config with the shape (pair names, keys) of the sandbox's
-- seeded workflow.lua, so both specs expect the same messages.
M.base = [[{
  region = "ap-northeast-1",
  tags = { Project = "kumo-sandbox" },
  pairs = {
    { name = "orders-pg",
      app = { profile = "app", vpc_id = "vpc-f8c87004dc62cf3f7",
              subnet_ids = { "subnet-d586394639a02df88", "subnet-35d5955801289aa1e" },
              client_security_group_ids = { "sg-bcac441490da75e43" } },
      rds = { profile = "rds", db_instance_identifier = "orders-pg", engine_family = "POSTGRESQL",
              secret_arn = "arn:aws:secretsmanager:ap-northeast-1:222222222222:secret:kumo/orders-pg-kOksFq",
              proxy_name = "orders-pg-proxy", require_tls = true, idle_client_timeout = 1800 },
      endpoint = { name = "orders-pg-app", target_role = "READ_WRITE" } },
    { name = "orders-mysql",
      app = { profile = "app", vpc_id = "vpc-f8c87004dc62cf3f7",
              subnet_ids = { "subnet-d586394639a02df88", "subnet-35d5955801289aa1e" },
              client_security_group_ids = { "sg-bcac441490da75e43" } },
      rds = { profile = "rds", db_instance_identifier = "orders-mysql", engine_family = "MYSQL",
              secret_arn = "arn:aws:secretsmanager:ap-northeast-1:222222222222:secret:kumo/orders-mysql-dahzyp",
              proxy_name = "orders-mysql-proxy", require_tls = true, idle_client_timeout = 1800 },
      endpoint = { name = "orders-mysql-app", target_role = "READ_WRITE" } },
  },
}]]

local function with(body)
  return "local c = %BASE%\n" .. body .. "\nreturn c\n"
end

local RDS_KEYS = "account_role_arn, client_password_auth_type, connection_borrow_timeout, "
  .. "db_cluster_identifier, db_instance_identifier, debug_logging, engine_family, external_id, iam_auth, "
  .. "idle_client_timeout, init_query, max_connections_percent, max_idle_connections_percent, profile, "
  .. "proxy_name, proxy_subnet_ids, require_tls, role_arn, secret, secret_arn, session_pinning_filters"
local TOP_KEYS = "base_profile, pairs, parallel, region, replace, state, state_dir, steps, tags, timeouts"
local REQUIRE = "require is not available: a config is data and cannot load modules; write code as "
  .. "a step module next to the config and name it in steps = { ... } (docs/workflow.md)"
local NO_MT = "is not available: a config is plain data: no metatables"
local NO_CATCH = "is not available: a config cannot catch errors: let them stop the load"
local LOOP = "stopped after 2000000 instructions (an endless loop?); a config is data and needs far "
  .. "fewer: remove the loop"
local MEMORY = "stopped: uses more than 32 MB of memory; a config is a small table of settings"
local RETURN = "; it must return a table { region = \"...\", pairs = { ... } }"

M.cases = {
  -- the chunk may not reach kumo, the files or the process
  { name = "require os", phase = "load", text = 'require("os").execute("touch %OUT%")\n',
    message = "%FILE%:1: " .. REQUIRE },
  { name = "require io", phase = "load", text = 'local io = require "io"\nio.open("%OUT%", "w")\n',
    message = "%FILE%:1: " .. REQUIRE },
  { name = "io.open", phase = "load", text = 'local f = io.open("%OUT%", "w")\nreturn %BASE%\n',
    message = "%FILE%:1: io is not available: a config cannot read or write files" },
  { name = "os.execute", phase = "load", text = 'os.execute("touch %OUT%")\n',
    message = "%FILE%:1: os is not available: a config cannot run commands or use the clock; use "
      .. 'getenv("NAME") to read an environment variable' },
  { name = "load", phase = "load", text = 'load("x = 1")()\nreturn %BASE%\n',
    message = "%FILE%:1: load is not available: a config cannot compile code" },
  { name = "dofile", phase = "load", text = 'return dofile("/etc/passwd")\n',
    message = "%FILE%:1: dofile is not available: a config cannot run files" },
  { name = "loadfile", phase = "load", text = 'return loadfile("/etc/passwd")\n',
    message = "%FILE%:1: loadfile is not available: a config cannot load files" },
  { name = "package.loaded", phase = "load", text = 'package.loaded["rds-proxy.config"].check = nil\n',
    message = "%FILE%:1: package is not available: a config cannot load modules" },
  { name = "debug library", phase = "load", text = 'debug.sethook()\n',
    message = "%FILE%:1: debug is not available: a config cannot use the debug library" },
  { name = "coroutine", phase = "load", text = 'coroutine.wrap(function() end)()\n',
    message = "%FILE%:1: coroutine is not available: a config runs straight through, without coroutines" },
  { name = "collectgarbage", phase = "load", text = 'collectgarbage("stop")\n',
    message = "%FILE%:1: collectgarbage is not available: a config cannot drive the garbage collector" },
  { name = "print", phase = "load", text = 'print("hello")\n',
    message = "%FILE%:1: print is not available: a config cannot print; its table is checked and reported by kumo" },
  -- monkey-patching kumo's libraries
  { name = "getmetatable of strings", phase = "load",
    text = 'getmetatable("").__index.format = function() return "HIJACKED" end\n',
    message = "%FILE%:1: getmetatable " .. NO_MT },
  { name = "string method assignment", phase = "load",
    text = '("").format = function() return "HIJACKED" end\n',
    message = "%FILE%:1: strings cannot be changed: a config is plain data" },
  { name = "setmetatable", phase = "load", text = 'return setmetatable({}, { __index = function() return 1 end })\n',
    message = "%FILE%:1: setmetatable " .. NO_MT },
  { name = "rawset", phase = "load", text = 'rawset(string, "format", nil)\n',
    message = "%FILE%:1: rawset " .. NO_MT },
  { name = "pcall", phase = "load", text = 'pcall(error, "x")\n', message = "%FILE%:1: pcall " .. NO_CATCH },
  { name = "xpcall", phase = "load", text = 'xpcall(error, error)\n', message = "%FILE%:1: xpcall " .. NO_CATCH },
  -- a patched string.format is the config's own copy: kumo's messages
  -- (made with string.format) still come out right
  { name = "string.format replaced", phase = "check",
    text = 'string.format = function() return "HIJACKED" end\n'
      .. 'table.concat = function() return "HIJACKED" end\n'
      .. with('c.pairs[1].rds.idle_client_timout = 5'),
    message = 'pair "orders-pg": rds.idle_client_timout: unknown key (did you mean "idle_client_timeout"?)' },
  -- limits
  { name = "endless loop", phase = "load", text = 'local x = 0\nwhile true do x = x + 1 end\n',
    message = "%FILE%:2: " .. LOOP },
  { name = "endless loop in a function", phase = "load",
    text = 'local function spin()\n  for _ = 1, math.maxinteger do end\nend\nspin()\n',
    message = "%FILE%:2: " .. LOOP },
  { name = "memory bomb (table)", phase = "load",
    text = 'local t, s = {}, ("x"):rep(1000000)\nfor i = 1, 1e9 do\n  t[i] = s .. i\nend\n',
    message = "%FILE%:2: " .. MEMORY },
  { name = "memory bomb (doubling string)", phase = "load",
    text = 'local s = "x"\nwhile true do s = s .. s end\n', message = "%FILE%:2: " .. MEMORY },
  { name = "memory bomb (string.rep)", phase = "load", text = 'return { region = ("x"):rep(2^40) }\n',
    message = "%FILE%:1: stopped: a string of 1099511627776 bytes would take the config over its memory "
      .. "limit (32 MB); a config is a small table of settings" },
  { name = "deep recursion", phase = "load",
    text = 'local function f(n)\n  return { f(n + 1) }\nend\nreturn f(1)\n', message = "%FILE%:2: " .. MEMORY },
  -- what the chunk returns
  { name = "empty file", phase = "load", text = "",
    message = "%FILE% returns nothing; it must end with return { region = \"...\", pairs = { ... } }" },
  { name = "returns nil", phase = "load", text = "return nil\n",
    message = "%FILE% returns nothing; it must end with return { region = \"...\", pairs = { ... } }" },
  { name = "returns a number", phase = "load", text = "return 42\n", message = "%FILE% returns 42" .. RETURN },
  { name = "returns a string", phase = "load", text = 'return "ap-northeast-1"\n',
    message = '%FILE% returns "ap-northeast-1"' .. RETURN },
  { name = "returns a function", phase = "load", text = "return function() end\n",
    message = "%FILE% returns a function" .. RETURN },
  { name = "syntax error", phase = "load", text = "return {\n  region = \"x\",\n",
    message = "%FILE%:3: unexpected symbol near <eof>" },
  { name = "error()", phase = "load", text = 'error("set APP_VPC first")\n',
    message = "%FILE%:1: set APP_VPC first" },
  { name = "undefined name", phase = "load", text = "return { region = REGION }\n",
    message = "%FILE%:1: REGION is not defined (a config can use assert, error, getenv, ipairs, math, "
      .. "next, pairs, rawequal, select, string, table, tonumber, tostring, type, utf8, and the names it "
      .. "sets itself)" },
  { name = "getenv of AWS credentials", phase = "load",
    text = 'return { region = getenv("AWS_SECRET_ACCESS_KEY") }\n',
    message = "%FILE%:1: getenv: AWS_SECRET_ACCESS_KEY is not readable from a config: AWS credentials and "
      .. "settings come from profiles (app.profile, rds.profile)" },
  -- unknown keys, at every level
  { name = "unknown top key", phase = "check", text = with("c.debug = true"),
    message = "config: debug: unknown key; remove it (known keys here: " .. TOP_KEYS .. ")" },
  { name = "unknown rds key", phase = "check", text = with("c.pairs[2].rds.idle_timout = 5"),
    message = 'pair "orders-mysql": rds.idle_timout: unknown key; remove it (known keys here: ' .. RDS_KEYS .. ")" },
  { name = "typo in app", phase = "check", text = with("c.pairs[1].app.vpcid = 'vpc-1'"),
    message = 'pair "orders-pg": app.vpcid: unknown key (did you mean "vpc_id"?)' },
  { name = "unknown pair key", phase = "check", text = with("c.pairs[1].comment = 'ours'"),
    message = 'pair "orders-pg": comment: unknown key; remove it (known keys here: app, endpoint, name, rds, tags)' },
  { name = "unknown endpoint key", phase = "check", text = with("c.pairs[1].endpoint.port = 5432"),
    message = 'pair "orders-pg": endpoint.port: unknown key; remove it (known keys here: name, target_role)' },
  { name = "typo in timeouts", phase = "check", text = with("c.timeouts = { wiat = 60 }"),
    message = 'config: timeouts.wiat: unknown key (did you mean "wait"?)' },
  { name = "list entry in rds", phase = "check", text = with('c.pairs[1].rds[1] = "x"'),
    message = 'pair "orders-pg": rds.[1]: keys must be names (key = value), not a list entry; known keys: '
      .. RDS_KEYS },
  -- wrong types and values at the top level
  { name = "base_profile not a name", phase = "check", text = with("c.base_profile = 5"),
    message = 'config: base_profile: must be a profile name (the session that assumes role_arn), e.g. "deployer"' },
  { name = "step table with a key outside the contract", phase = "check",
    text = with('c.steps = { { name = "x", account = "rds", read = function() end, create = function() end, '
      .. 'id = function() end, delet = function() end } }'),
    message = 'config: steps: step "x": delet is not part of the step contract (did you mean "delete"?)' },
  { name = "step needing an unknown step", phase = "check",
    text = with('c.steps = { "share", { name = "x", account = "rds", needs = { "shares" }, read = function() end, '
      .. 'create = function() end, id = function() end } }'),
    message = 'config: steps: step "x": needs "shares", which is not a step of this workflow (did you mean '
      .. '"share"?); add it to steps or remove it from needs' },
  { name = "step that does not exist", phase = "check",
    text = with('c.steps = { "share", "secret", "role", "proxy_sg", "db_ingres" }'),
    message = 'config: steps[5]: "db_ingres" is neither a step of kumo\'s (did you mean "db_ingress"?) nor a '
      .. "module next to the config (db_ingres.lua)" },
  { name = "pairs not a list", phase = "check", text = with('c.pairs = "orders"'),
    message = "config: pairs: must list at least one account pair { name=, app=, rds=, endpoint= }" },
  { name = "pairs with a named key", phase = "check", text = with("c.pairs.extra = c.pairs[1]"),
    message = "config: pairs: must be a list { { name=, ... }, { name=, ... } }, without named keys" },
  { name = "region a number", phase = "check", text = with("c.region = 42"),
    message = 'config: region: 42 is not an AWS region name (e.g. "ap-northeast-1")' },
  { name = "huge region string", phase = "check", text = with('c.region = ("ab"):rep(5000)'),
    message = 'config: region: "' .. ("ab"):rep(28) .. 'a..." is not an AWS region name (e.g. "ap-northeast-1")' },
  { name = "reserved tag", phase = "check", text = with('c.tags["aws:owner"] = "me"'),
    message = "config: tags.aws:owner: tag names starting with aws: are reserved by AWS" },
  { name = "parallel zero", phase = "check", text = with("c.parallel = 0"),
    message = "config: parallel: must be from 1 to 64, got 0" },
  { name = "replace typo", phase = "check", text = with('c.replace = { "endpiont" }'),
    message = 'config: replace[1]: "endpiont" is not a step of this workflow (did you mean "endpoint"?)' },
  { name = "state_dir empty", phase = "check", text = with('c.state_dir = ""'),
    message = 'config: state_dir: must be a folder path (the journal folder), e.g. ".kumo-state"' },
  { name = "rds not a table", phase = "check", text = with('c.pairs[1].rds = "orders-pg"'),
    message = 'pair "orders-pg": rds: required: the RDS side { profile=, db_instance_identifier=, engine_family=, ... }' },
  { name = "kms_key_id not a string", phase = "check",
    text = with('c.pairs[1].rds.secret_arn = nil\nc.pairs[1].rds.secret = { name = "kumo/orders-made", '
      .. 'username = "orders_admin", password = "long-enough-1", kms_key_id = 5 }'),
    message = 'pair "orders-pg": rds.secret.kms_key_id: must be a KMS key ARN, key id or alias (e.g. '
      .. '"alias/orders"), or left out for the account\'s aws/secretsmanager key' },
}

return M
