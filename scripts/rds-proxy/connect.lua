--- After a clean verify: how to connect (the procedure's "Trying it"),
-- and the session-pinning metric where CloudWatch has it (facts §11).
-- @module rds-proxy.connect
local json = require "kumo.json"

local M = {}

local function username(ctx)
  local r = ctx.pair.rds
  if r.secret then return r.secret.username end
  local v = ctx:read("rds", "secretsmanager", "GetSecretValue", { SecretId = r.secret_arn })
  local doc = v and json.decode(v.SecretString or "")
  return type(doc) == "table" and doc.username or "USERNAME"
end

-- The database name clients open: the instance's (or cluster's) own, else
-- the engine's default (PostgreSQL always has "postgres"; MySQL needs none).
local function dbname(ctx)
  local rds = ctx.pair.rds
  local name
  if rds.db_instance_identifier then
    local out = ctx:read("rds", "rds", "DescribeDBInstances", { DBInstanceIdentifier = rds.db_instance_identifier })
    local i = out and out.DBInstances and out.DBInstances[1]
    name = i and i.DBName
  elseif rds.db_cluster_identifier then
    local out = ctx:read("rds", "rds", "DescribeDBClusters", { DBClusterIdentifier = rds.db_cluster_identifier })
    local c = out and out.DBClusters and out.DBClusters[1]
    name = c and c.DatabaseName
  end
  if name and name ~= "" then return name end
  if rds.engine_family == "POSTGRESQL" then return "postgres" end
  return nil
end

local function shq(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- A shell snippet that makes a fresh IAM token with kumo (valid 15
-- minutes: a token is a credential, so the hint shows how to make one,
-- never one). The identity must be allowed rds-db:connect in the RDS account.
local function token_command(ctx, host, port, user)
  local profile = ctx.pair.rds.profile
  local lua = string.format('print(require("kumo.rds").generate_db_auth_token(require("kumo.aws").session{%s}, '
    .. '{ hostname = %q, port = %d, username = %q, region = %q }))',
    profile and string.format("profile = %q", profile) or "", host, port, user, ctx.pair.region)
  return "\"$(kumo -e " .. shq(lua) .. ")\""
end

--- The shell commands that connect through the endpoint from the APP VPC,
-- for the auth mode in use: with IAM authentication (`iam_auth` REQUIRED,
-- or ENABLED for SQL Server) the password is a kumo-generated token and
-- TLS verifies the server (the RDS CA bundle, global-bundle.pem).
-- @param ctx the pair's context
-- @param host the endpoint's address
-- @param user the database user
-- @param[opt] db the database name (nil: none given)
function M.commands(ctx, host, user, db)
  local port = ctx.pair.listener_port
  local fam = ctx.pair.rds.engine_family
  local tls = ctx.pair.rds.require_tls
  local iam = ctx.pair.rds.iam_auth == "REQUIRED" or ctx.pair.rds.iam_auth == "ENABLED"
  if fam == "POSTGRESQL" then
    local conn = string.format("host=%s port=%d user=%s dbname=%s", host, port, user, db or "postgres")
    if iam then
      return string.format("PGPASSWORD=%s psql \"%s sslmode=verify-full sslrootcert=global-bundle.pem\"",
        token_command(ctx, host, port, user), conn)
    end
    return string.format("psql \"%s sslmode=%s\"", conn, tls and "require" or "prefer")
  elseif fam == "MYSQL" then
    local dbarg = db and (" " .. db) or ""
    if iam then
      return string.format("mysql -h %s -P %d -u %s --enable-cleartext-plugin --ssl-mode=VERIFY_IDENTITY "
        .. "--ssl-ca=global-bundle.pem --password=%s%s", host, port, user, token_command(ctx, host, port, user), dbarg)
    end
    return string.format("mysql -h %s -P %d -u %s -p%s%s", host, port, user,
      tls and " --ssl-mode=REQUIRED" or "", dbarg)
  end
  if iam then
    return string.format("sqlcmd -S %s,%d -U %s -N -P %s%s", host, port, user, token_command(ctx, host, port, user),
      db and (" -d " .. db) or "")
  end
  return string.format("sqlcmd -S %s,%d -U %s -N%s", host, port, user, db and (" -d " .. db) or "")
end

-- Pinning has no per-endpoint dimension: this is the whole proxy's.
local function pinning(ctx)
  local now = os.time()
  local out = ctx:read("rds", "cloudwatch", "GetMetricData", {
    StartTime = now - 3600, EndTime = now,
    MetricDataQueries = { {
      Id = "pinned",
      MetricStat = { Metric = { Namespace = "AWS/RDS", MetricName = "DatabaseConnectionsCurrentlySessionPinned",
                                Dimensions = { { Name = "ProxyName", Value = ctx.pair.rds.proxy_name } } },
                     Period = 60, Stat = "Sum" },
    } },
  })
  if not out then return "pinning metric: not available" end
  local r = out.MetricDataResults and out.MetricDataResults[1]
  local vals = r and r.Values or {}
  if #vals == 0 then return "pinning metric: no data in the last hour (metrics appear after the first connection)" end
  local max = 0
  for _, v in ipairs(vals) do if v > max then max = v end end
  return string.format("pinning metric: up to %g session-pinned connections per minute in the last hour", max)
end

-- Live connection (verify --connect) ------------------------------------

local sys = require "kumo.sys"
local clock = require "kumo.clock"

local function read_file(path)
  return (sys.read_file(path))
end

local function exists(path)
  local st = sys.stat(path)
  return st and st.type == "file"
end

--- Where to dial and which CA bundle to verify against. In the kumo
-- sandbox (`KUMO_SANDBOX_DIR` set and its listeners.json present) the
-- endpoint's name resolves nowhere: the sandbox publishes a loopback port
-- per client security group, and its own CA bundle. On AWS the name is
-- dialed as it is, and the RDS CA bundle comes from `KUMO_RDS_CA_BUNDLE`
-- (default ./global-bundle.pem).
-- @return `{ host=, addr=, port=, ca=, sandbox= }` or nil, the failing part and message
function M.target(ctx, host)
  local port = ctx.pair.listener_port
  local dir = os.getenv("KUMO_SANDBOX_DIR")
  local text = dir and read_file(dir .. "/listeners.json")
  if text then
    local l = json.decode(text)
    local e = l.endpoints and l.endpoints[host]
    if not e then
      return nil, "TCP", string.format("the kumo sandbox (%s) has no listener for %s: start it with --databases "
        .. "and wait until the endpoint is available", dir, host)
    end
    for _, sg in ipairs(ctx.pair.app.client_security_group_ids or {}) do
      if e.client_ports[sg] then
        return { host = host, addr = e.host, port = e.client_ports[sg], proxy_port = port, ca = l.ca_bundle,
                 sandbox = true, client_sg = sg }
      end
    end
    return nil, "TCP", "the kumo sandbox has no listener for the client security groups "
      .. table.concat(ctx.pair.app.client_security_group_ids or {}, ", ") .. " (they are not in the endpoint's VPC)"
  end
  local ca = os.getenv("KUMO_RDS_CA_BUNDLE") or "global-bundle.pem"
  if not exists(ca) then
    return nil, "TLS", "no RDS CA bundle at " .. ca .. ": download global-bundle.pem (AWS's RDS certificate "
      .. "bundle) and set KUMO_RDS_CA_BUNDLE to its path"
  end
  local p = io.popen("getent hosts " .. shq(host) .. " 2>/dev/null")
  local line = p and p:read("l")
  if p then p:close() end
  if not line then
    return nil, "DNS", host .. " does not resolve here: run verify --connect from inside the APP VPC "
      .. "(the endpoint's name resolves only there, through the VPC's DNS)"
  end
  return { host = host, addr = line:match("^(%S+)"), port = port, proxy_port = port, ca = ca,
           client_sg = (ctx.pair.app.client_security_group_ids or {})[1] }
end

local function secret_doc(ctx)
  local r = ctx.pair.rds
  local v = ctx:read("rds", "secretsmanager", "GetSecretValue", { SecretId = r.secret_arn })
  local doc = v and json.decode(v.SecretString or "")
  if type(doc) ~= "table" or not doc.username then
    return nil, "the secret " .. tostring(r.secret_arn) .. " has no JSON username (GetSecretValue)"
  end
  return doc
end

-- The client's command line (password or token through the environment,
-- never in argv: other users see argv in ps).
local function client_command(fam, t, user, db, iam)
  if fam == "POSTGRESQL" then
    local conn = string.format("host=%s hostaddr=%s port=%d user=%s dbname=%s sslmode=verify-full "
      .. "sslrootcert=%s connect_timeout=10", t.host, t.addr, t.port, user, db or "postgres", t.ca)
    return "psql -X -At -v ON_ERROR_STOP=1 " .. shq(conn)
      .. " -c 'SELECT current_user, version()' -c '\\conninfo'", "PGPASSWORD"
  end
  -- the MariaDB client checks the address it dialed against the certificate
  -- (the sandbox's holds 127.0.0.1; on AWS the name is dialed)
  local h = t.sandbox and t.addr or t.host
  return string.format("mysql -h %s -P %d -u %s --ssl --ssl-ca=%s --ssl-verify-server-cert --connect-timeout=10 "
    .. "%s-N -B %s -e 'SELECT current_user(), version(); \\s'", shq(h), t.port, shq(user), shq(t.ca),
    iam and "--enable-cleartext-plugin " or "", db and shq(db) or ""), "MYSQL_PWD"
end

local function parse_ok(fam, out)
  local r = {}
  if fam == "POSTGRESQL" then
    local first = out:match("^([^\n]*)")
    r.user, r.version = first:match("^([^|]*)|(.*)$")
    r.version = r.version and r.version:match("^(PostgreSQL [%d.]+)") or r.version
    r.tls = out:match("SSL connection %(protocol: ([^,]+)")
  else
    local first = out:match("^([^\n]*)")
    r.user, r.version = first:match("^([^\t]*)\t(.*)$")
    local cipher = out:match("SSL:%s+Cipher in use is (%S+)")
    -- the client names the cipher, not the protocol; TLS 1.3's suites all start with TLS_
    r.tls = cipher and ((cipher:match("^TLS_") and "TLSv1.3" or "TLSv1.2") .. " (" .. cipher .. ")")
  end
  return r
end

-- Which part failed, from the client's own message.
local function classify(out)
  local o = out:lower()
  if o:find("no credentials for the role", 1, true) then return "authentication" end
  if o:find("requires tls", 1, true) or o:find("ssl", 1, true) and (o:find("certificate", 1, true)
      or o:find("verify", 1, true) or o:find("tls/ssl error", 1, true) or o:find("ssl connection error", 1, true)) then
    return "TLS"
  end
  if o:find("could not translate host name", 1, true) or o:find("unknown server host", 1, true)
      or o:find("unknown mysql server host", 1, true) then return "DNS" end
  if o:find("password authentication failed", 1, true) or o:find("pam authentication failed", 1, true)
      or o:find("access denied", 1, true) then return "authentication" end
  if o:find("connection refused", 1, true) or o:find("closed the connection unexpectedly", 1, true)
      or o:find("lost connection", 1, true) or o:find("timeout expired", 1, true)
      or o:find("can't connect", 1, true) or o:find("timed out", 1, true) then return "TCP" end
  return "query"
end

local function rule_admits(perms, port, src_sg)
  for _, p in ipairs(perms or {}) do
    local proto_ok = p.IpProtocol == "-1" or p.IpProtocol == "tcp" or p.IpProtocol == "6"
    local port_ok = p.IpProtocol == "-1" or (p.FromPort and p.FromPort <= port and port <= p.ToPort)
    if proto_ok and port_ok then
      for _, pair in ipairs(p.UserIdGroupPairs or {}) do
        if pair.GroupId == src_sg then return true end
      end
      for _, r in ipairs(p.IpRanges or {}) do
        if r.CidrIp == "0.0.0.0/0" then return true end
      end
    end
  end
  return false
end

local function sg_perms(ctx, sg)
  local out = ctx:read("rds", "ec2", "DescribeSecurityGroups", { GroupIds = { sg } }, { fresh = true })
  local g = out and out.SecurityGroups and out.SecurityGroups[1]
  return g and g.IpPermissions
end

--- After a TCP failure: the security-group hop to check, read from the
-- live rules (the same reading works on AWS, where nothing else says which).
function M.closed_hop(ctx, t)
  local eps = ctx.ids.endpoint_sg and { ctx.ids.endpoint_sg } or {}
  local hops = {}
  local client = t.client_sg
  local ok_in = false
  for _, sg in ipairs(eps) do
    if rule_admits(sg_perms(ctx, sg), t.proxy_port, client) then ok_in = true end
  end
  if not ok_in then
    hops[#hops + 1] = string.format("client SG %s -> endpoint SG %s: no inbound TCP %d from %s",
      tostring(client), table.concat(eps, ","), t.proxy_port, tostring(client))
  end
  local rds = ctx.pair.rds
  if rds.db_instance_identifier and ctx.ids.proxy_sg then
    local out = ctx:read("rds", "rds", "DescribeDBInstances", { DBInstanceIdentifier = rds.db_instance_identifier })
    local i = out and out.DBInstances and out.DBInstances[1]
    local port = i and i.Endpoint and i.Endpoint.Port
    local admitted = false
    local names = {}
    for _, g in ipairs(i and i.VpcSecurityGroups or {}) do
      names[#names + 1] = g.VpcSecurityGroupId
      if port and rule_admits(sg_perms(ctx, g.VpcSecurityGroupId), port, ctx.ids.proxy_sg) then admitted = true end
    end
    if port and not admitted then
      hops[#hops + 1] = string.format("proxy SG %s -> DB SG %s: no inbound TCP %d from %s",
        ctx.ids.proxy_sg, table.concat(names, ","), port, ctx.ids.proxy_sg)
    end
  end
  if #hops == 0 then
    return "the security groups admit the path; check that the endpoint's subnets are still shared with the "
      .. "RDS account (the RAM share), and their network ACLs and routes"
  end
  return "closed hop: " .. table.concat(hops, "; ")
end

local NO_CREDENTIALS = "the proxy knows no such user: the user must be the one stored in a secret registered "
  .. "with the proxy (its Auth SecretArn); any other user gets RDS Proxy's \"no credentials for the role\""
local REFUSED = "the proxy knows the user but refused what it sent: the secret's password, or, when the proxy's "
  .. "IAMAuth is REQUIRED (rds.iam_auth), an IAM token that is fresh (15 minutes), made for this user and "
  .. "endpoint, by an identity allowed rds-db:connect"

--- Connect through the endpoint as the secret's user (or with an IAM token),
-- run a trivial query, and report user, server version, TLS version and time.
-- @return a report table `{ ok=, user=, version=, tls=, ms=, part=, message= }`
function M.try(ctx, host)
  local fam = ctx.pair.rds.engine_family
  if fam ~= "POSTGRESQL" and fam ~= "MYSQL" then
    return { ok = false, part = "client", message = "verify --connect speaks PostgreSQL and MySQL; "
      .. tostring(fam) .. " is not covered" }
  end
  local t, part, msg = M.target(ctx, host)
  if not t then return { ok = false, part = part, message = msg } end
  local doc, derr = secret_doc(ctx)
  if not doc then return { ok = false, part = "secret", message = derr } end
  local iam = ctx.pair.rds.iam_auth == "REQUIRED"
  local pass = doc.password
  if iam then
    pass = require("kumo.rds").generate_db_auth_token(ctx.sessions.rds,
      { hostname = host, port = t.proxy_port, username = doc.username, region = ctx.pair.region })
  end
  local cmd, var = client_command(fam, t, doc.username, dbname(ctx), iam)
  -- stderr apart: the answer is parsed from stdout
  local errfile = os.tmpname()
  local t0 = clock.monotonic()
  sys.setenv(var, pass or "")
  local p = io.popen(cmd .. " 2>" .. shq(errfile))
  sys.setenv(var, nil)
  local out = p and p:read("a") or ""
  local ok = p and p:close()
  local ms = (clock.monotonic() - t0) * 1000
  local errtext = read_file(errfile) or ""
  os.remove(errfile)
  -- without the clients' warnings (MariaDB's mysql prints some on stdout)
  local function unwarned(text)
    local lines = {}
    for line in text:gmatch("[^\n]+") do
      if not line:find("^WARNING") then lines[#lines + 1] = line end
    end
    return table.concat(lines, "\n")
  end
  out = unwarned(out)
  if not ok then out = unwarned(errtext .. "\n" .. out) end
  if ok then
    local r = parse_ok(fam, out)
    r.ok, r.ms, r.address = true, ms, string.format("%s:%d", t.addr, t.port)
    r.auth = iam and "IAM token (kumo)" or "secret's password"
    return r
  end
  if out:find("not found", 1, true) and (out:find("psql", 1, true) or out:find("mysql", 1, true)) then
    return { ok = false, part = "client", message = "the " .. (fam == "POSTGRESQL" and "psql" or "mysql")
      .. " client is missing: make deps (Debian postgresql-client / mariadb-client)" }
  end
  part = classify(out)
  local r = { ok = false, part = part, message = out:match("([^\n]*)") or out, ms = ms }
  if part == "TCP" then r.hint = M.closed_hop(ctx, t) end
  if part == "authentication" then
    r.hint = out:lower():find("no credentials for the role", 1, true) and NO_CREDENTIALS or REFUSED
  end
  return r
end

--- The connect report in one line.
function M.describe(r)
  if r.ok then
    return string.format("connected as %s (%s) to %s over %s in %.0f ms (%s; SELECT ran)",
      tostring(r.user), r.auth, tostring(r.version), tostring(r.tls or "no TLS"), r.ms, r.address)
  end
  local s = "connect failed at " .. r.part .. ": " .. tostring(r.message)
  if r.hint then s = s .. " — " .. r.hint end
  return s
end

--- Add `connect` and `pinning` to a verify result; with `verify --connect`
-- (`ctx.top.connect`), also connect for real, and fail the pair when that fails.
function M.add(ctx, result)
  local host = ctx.ids.endpoint
  if not host then return end
  result.connect = M.commands(ctx, host, username(ctx), dbname(ctx))
  result.pinning = pinning(ctx)
  if ctx.top.connect then
    local r = M.try(ctx, host)
    if r.ok then
      ctx:note("connect: " .. M.describe(r))
    else
      result.problems[#result.problems + 1] = M.describe(r)
    end
  end
end

return M
