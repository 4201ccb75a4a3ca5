-- The procedure's last step for real (issue 17): `kumo sandbox --databases`
-- runs a real PostgreSQL 15 and MariaDB behind the seeded instances and an
-- RDS-Proxy-like listener per proxy endpoint; the Debian psql and mysql
-- clients connect through it as the secret's user over TLS verify-full;
-- other users get RDS Proxy's message; plain TCP is refused under
-- RequireTLS; IAM tokens made by kumo are checked; a security-group rule
-- revoked with boto3 makes `verify --connect` fail naming the hop, and
-- apply + verify --connect pass again. Effects are read back from the real
-- database directly (its own port, not the proxy).
local root = os.getenv("KUMO_ROOT") or "."
local sandbox = dofile(root .. "/tests/lib/sandbox.lua")
local json = require "kumo.json"
local sys = require "kumo.sys"
local h = dofile(root .. "/tests/e2e/workflow_helpers.lua")
local q, env_prefix, write, run, slurp = h.q, h.env_prefix, h.write, h.run, h.slurp

local PRELUDE = [==[
import boto3, json, sys
rds = boto3.Session(profile_name="rds")
W = json.load(open(sys.argv[1]))
def out(v):
    print(json.dumps(v, default=str))
]==]

local sb, cfg, L, secret = nil, nil, nil, {}

local function py(code)
  local file = os.tmpname()
  write(file, PRELUDE .. code)
  local p = io.popen(env_prefix(sb) .. " python3 " .. file .. " " .. q(sb.dir .. "/world.json") .. " 2>&1")
  local text = p:read("a")
  p:close()
  os.remove(file)
  local ok, v = pcall(json.decode, text:match("([^\n]*)\n?$"))
  assert(ok and v ~= nil, "boto3 helper failed:\n" .. text)
  return v
end

-- Run a shell command with a password in the environment (not argv): status, output.
local function sh(cmd, var, value)
  if var then sys.setenv(var, value) end
  local p = io.popen(cmd .. " 2>&1")
  if var then sys.setenv(var, nil) end
  local out = p:read("a")
  local ok = p:close()
  return ok, out
end

local function has(text, needle)
  assert(text:find(needle, 1, true), "expected «" .. needle .. "» in:\n" .. text)
end

local function endpoint(family)
  for dns, e in pairs(L.endpoints) do
    if e.engine_family == family then return dns, e.client_ports[sb.world.app.security_group_id] end
  end
  error("no listener for " .. family .. " in " .. json.encode(L))
end

local function psql(user, password, extra, sql)
  local dns, port = endpoint("POSTGRESQL")
  local conn = string.format("host=%s hostaddr=127.0.0.1 port=%d user=%s dbname=orders connect_timeout=10 %s",
    dns, port, user, extra or ("sslmode=verify-full sslrootcert=" .. L.ca_bundle))
  return sh("psql -X -At -v ON_ERROR_STOP=1 " .. q(conn) .. " -c " .. q(sql or "SELECT current_user"),
    "PGPASSWORD", password)
end

local function mysql(user, password, extra, sql)
  local _, port = endpoint("MYSQL")
  return sh(string.format("mysql -h 127.0.0.1 -P %d -u %s %s -N -B orders -e %s", port, q(user),
    extra or ("--ssl --ssl-ca=" .. q(L.ca_bundle) .. " --ssl-verify-server-cert"),
    q(sql or "SELECT current_user()")), "MYSQL_PWD", password)
end

local function token(user, time_offset, port)
  local dns = endpoint("POSTGRESQL")
  local lua = string.format("print(require('kumo.rds').generate_db_auth_token(require('kumo.aws').session{ profile = 'rds' }, "
    .. "{ hostname = %q, port = %d, username = %q, time = os.time() + %d }))", dns, port or 5432, user, time_offset or 0)
  local p = io.popen(env_prefix(sb) .. " " .. h.KUMO .. " -e " .. q(lua) .. " 2>&1")
  local t = p:read("a"):gsub("%s+$", "")
  p:close()
  assert(t:find("X-Amz-Signature=", 1, true), "kumo made no token: " .. t)
  return t
end

local function verify_connect(pair, config)
  return run(sb, "verify --quiet --connect --config " .. q(config or cfg) .. (pair and (" --pair " .. pair) or ""))
end

describe("connect through the proxy endpoint (sandbox --databases)", function()
  setup(function()
    sb = sandbox.start{ databases = true, timeout = 120 }
    cfg = sb.dir .. "/workflow.lua"
    -- lifecycles are immediate here: poll every second, not at AWS's 15-30 s
    sb.env.KUMO_WAITER_DELAY = "1"
    local code, out, err = run(sb, "apply --quiet --config " .. q(cfg))
    assert(code == 0, out .. err)
    for _ = 1, 100 do  -- the listeners open within a scan (0.25 s) of the endpoint's availability
      local text = slurp(sb.dir .. "/listeners.json")
      if text ~= "" then
        L = json.decode(text)
        local n = 0
        for _ in pairs(L.endpoints) do n = n + 1 end
        if n == 2 then break end
      end
      os.execute("sleep 0.1")
    end
    for _, k in ipairs{ "postgres", "mysql" } do
      secret[k] = py(string.format("out(json.loads(rds.client('secretsmanager').get_secret_value("
        .. "SecretId=W['rds']['databases'][%q]['secret_arn'])['SecretString']))", k))
    end
  end)
  teardown(function() if sb then sb.stop() end end)

  it("verify --connect runs a query through both endpoints over TLS and reports it", function()
    local code, out, err = verify_connect()
    assert.are.equal(0, code, out .. err)
    has(out, "connect: connected as orders_admin (secret's password) to PostgreSQL 15")
    has(out, "over TLSv1.")
    has(out, "to 10.11")   -- MariaDB's version, from the real server
    assert.is_nil(out:find("problem:", 1, true), out)
    -- the engines' default client auth types (ClientPasswordAuthType)
    local log = slurp(sb.dir .. "/server.log")
    has(log, "tls True, client auth SCRAM-SHA-256)")
    has(log, "tls True, client auth caching_sha2_password)")
  end)

  it("psql connects as the secret's user with TLS verify-full against the sandbox CA bundle", function()
    local ok, out = psql(secret.postgres.username, secret.postgres.password, nil,
      "CREATE TABLE IF NOT EXISTS orders_seen (n int); INSERT INTO orders_seen VALUES (17); SELECT current_user")
    assert(ok, out)
    has(out, "orders_admin")
    -- read back from the real server directly (its own port, not through the proxy)
    local dbs = json.decode(slurp(sb.dir .. "/databases.json"))
    local direct = string.format("host=127.0.0.1 port=%d user=%s dbname=orders", dbs.servers["orders-pg"].port,
      secret.postgres.username)
    local ok2, rows = sh("psql -X -At " .. q(direct) .. " -c 'SELECT n FROM orders_seen'", "PGPASSWORD",
      secret.postgres.password)
    assert(ok2, rows)
    has(rows, "17")
  end)

  it("the mysql client connects as the secret's user, and the row lands in the real MariaDB", function()
    local ok, out = mysql(secret.mysql.username, secret.mysql.password, nil,
      "CREATE TABLE IF NOT EXISTS seen (n int); INSERT INTO seen VALUES (42); SELECT current_user()")
    assert(ok, out)
    has(out, "orders_admin@")
    local dbs = json.decode(slurp(sb.dir .. "/databases.json"))
    local ok2, rows = sh(string.format("mysql -h 127.0.0.1 -P %d -u %s -N -B orders -e 'SELECT n FROM seen'",
      dbs.servers["orders-mysql"].port, q(secret.mysql.username)), "MYSQL_PWD", secret.mysql.password)
    assert(ok2, rows)
    has(rows, "42")
  end)

  it("another user gets RDS Proxy's message, from both engines", function()
    local msg = "This RDS proxy has no credentials for the role intruder. Check the credentials for this role and try again."
    local ok, out = psql("intruder", secret.postgres.password)
    assert.is_falsy(ok)
    has(out, msg)
    ok, out = mysql("intruder", secret.mysql.password)
    assert.is_falsy(ok)
    has(out, msg)
  end)

  it("a wrong password is refused", function()
    local ok, out = psql(secret.postgres.username, "not-the-password")
    assert.is_falsy(ok)
    has(out, "password authentication failed")
    ok, out = mysql(secret.mysql.username, "not-the-password")
    assert.is_falsy(ok)
    has(out, "Access denied")
  end)

  it("plain TCP without TLS is refused when the proxy requires TLS", function()
    local ok, out = psql(secret.postgres.username, secret.postgres.password, "sslmode=disable")
    assert.is_falsy(ok)
    has(out, "This RDS Proxy requires TLS connections")
    ok, out = mysql(secret.mysql.username, secret.mysql.password, "--skip-ssl")
    assert.is_falsy(ok)
    has(out, "This RDS Proxy requires TLS connections")
  end)

  it("a client that does not trust the certificate's CA fails at TLS (verify-full)", function()
    local ok, out = psql(secret.postgres.username, secret.postgres.password,
      "sslmode=verify-full sslrootcert=/etc/ssl/certs/ca-certificates.crt")
    assert.is_falsy(ok)
    has(out, "certificate verify failed")
  end)

  it("with IAM auth REQUIRED: kumo's token is accepted; expired, other-user or password logins are refused", function()
    py([==[
c = rds.client("rds")
p = c.describe_db_proxies(DBProxyName="orders-pg-proxy")["DBProxies"][0]
auth = [{k: v for k, v in dict(a, IAMAuth="REQUIRED").items() if k != "UserName"} for a in p["Auth"]]
c.modify_db_proxy(DBProxyName="orders-pg-proxy", Auth=auth)
out(c.describe_db_proxies(DBProxyName="orders-pg-proxy")["DBProxies"][0]["Auth"][0]["IAMAuth"])
]==])
    local user = secret.postgres.username
    -- made 30 s ago: the check must use the token's own date, not the time it arrives
    local ok, out = psql(user, token(user, -30))
    assert(ok, out)
    has(out, user)
    -- an independent signer's token (botocore's generate_db_auth_token) passes as well
    local dns = endpoint("POSTGRESQL")
    local t = py(string.format("out(rds.client('rds').generate_db_auth_token(%q, 5432, %q))", dns, user))
    ok, out = psql(user, t)
    assert(ok, out)
    ok, out = psql(user, token(user, -1000))   -- 15 minutes passed
    assert.is_falsy(ok)
    has(out, "PAM authentication failed")
    has(slurp(sb.dir .. "/server.log"), "expired")
    ok, out = psql(user, token("someone_else"))
    assert.is_falsy(ok, out)
    has(out, "PAM authentication failed")
    has(slurp(sb.dir .. "/server.log"), "made for user 'someone_else'")
    ok, out = psql(user, token(user, 0, 5433))  -- made for another port
    assert.is_falsy(ok, out)
    has(slurp(sb.dir .. "/server.log"), ":5433, not for ")
    ok, out = psql(user, secret.postgres.password)  -- the password is no token
    assert.is_falsy(ok, out)
    has(slurp(sb.dir .. "/server.log"), "not an IAM auth token")
    -- apply puts the config's IAMAuth (DISABLED) back
    local code, aout, aerr = run(sb, "apply --quiet --config " .. q(cfg) .. " --pair orders-pg")
    assert.are.equal(0, code, aout .. aerr)
    ok, out = psql(user, secret.postgres.password)
    assert(ok, out)
  end)

  it("verify --connect with iam_auth = REQUIRED connects with kumo's IAM tokens (psql and mysql)", function()
    local iam_cfg = sb.dir .. "/workflow-iam.lua"
    local text, n = slurp(cfg):gsub("require_tls = true,", "require_tls = true, iam_auth = \"REQUIRED\",")
    assert.are.equal(2, n, "the seeded config changed shape:\n" .. text)
    write(iam_cfg, text)
    local code, out, err = run(sb, "apply --quiet --config " .. q(iam_cfg))
    assert.are.equal(0, code, out .. err)
    code, out, err = verify_connect(nil, iam_cfg)
    assert.are.equal(0, code, out .. err)
    has(out, "connect: connected as orders_admin (IAM token (kumo)) to PostgreSQL 15")
    has(out, "connect: connected as orders_admin@% (IAM token (kumo)) to 10.11")
    -- the secret's password is no longer enough
    local ok
    ok, out = psql(secret.postgres.username, secret.postgres.password)
    assert.is_falsy(ok, out)
    code, out, err = run(sb, "apply --quiet --config " .. q(cfg))
    assert.are.equal(0, code, out .. err)
  end)

  it("POSTGRES_MD5 and MYSQL_NATIVE_PASSWORD client auth types are spoken too", function()
    local other = sb.dir .. "/workflow-auth.lua"
    local text, n = slurp(cfg):gsub("proxy_name = \"orders%-pg%-proxy\",",
      "proxy_name = \"orders-pg-proxy\", client_password_auth_type = \"POSTGRES_MD5\",")
    local m
    text, m = text:gsub("proxy_name = \"orders%-mysql%-proxy\",",
      "proxy_name = \"orders-mysql-proxy\", client_password_auth_type = \"MYSQL_NATIVE_PASSWORD\",")
    assert.are.same({ 1, 1 }, { n, m }, "the seeded config changed shape:\n" .. text)
    write(other, text)
    local code, out, err = run(sb, "apply --quiet --config " .. q(other))
    assert.are.equal(0, code, out .. err)
    code, out, err = verify_connect(nil, other)
    assert.are.equal(0, code, out .. err)
    local log = slurp(sb.dir .. "/server.log")
    has(log, "client auth md5)")
    has(log, "client auth mysql_native_password)")
    local ok
    ok, out = psql(secret.postgres.username, "not-the-password")
    assert.is_falsy(ok, out)
    has(out, "password authentication failed")
    code, out, err = run(sb, "apply --quiet --config " .. q(cfg))
    assert.are.equal(0, code, out .. err)
  end)

  it("a READ_ONLY endpoint's sessions read but refuse writes", function()
    local dns = py([==[
c = rds.client("rds")
ep = c.describe_db_proxy_endpoints(DBProxyEndpointName="orders-pg-app")["DBProxyEndpoints"][0]
ro = c.create_db_proxy_endpoint(DBProxyName="orders-pg-proxy", DBProxyEndpointName="orders-pg-ro",
                                VpcSubnetIds=ep["VpcSubnetIds"], VpcSecurityGroupIds=ep["VpcSecurityGroupIds"],
                                TargetRole="READ_ONLY")["DBProxyEndpoint"]
out(ro["Endpoint"])
]==])
    local port
    for _ = 1, 100 do
      local l = json.decode(slurp(sb.dir .. "/listeners.json"))
      local e = l.endpoints[dns]
      port = e and e.client_ports[sb.world.app.security_group_id]
      if port then break end
      os.execute("sleep 0.1")
    end
    assert(port, "no listener for " .. dns)
    local conn = string.format("host=%s hostaddr=127.0.0.1 port=%d user=%s dbname=orders sslmode=verify-full "
      .. "sslrootcert=%s", dns, port, secret.postgres.username, L.ca_bundle)
    local ok, out = sh("psql -X -At " .. q(conn) .. " -c 'SELECT count(*) FROM orders_seen'", "PGPASSWORD",
      secret.postgres.password)
    assert(ok, out)
    ok, out = sh("psql -X -At " .. q(conn) .. " -c 'INSERT INTO orders_seen VALUES (1)'", "PGPASSWORD",
      secret.postgres.password)
    assert.is_falsy(ok, out)
    has(out, "read-only transaction")
  end)

  it("a rule revoked with boto3 makes verify --connect fail naming the hop; apply + verify --connect pass again",
    function()
      -- the endpoint SG's ingress from the APP clients
      local gid = py([==[
ec2 = rds.client("ec2")
gid = rds.client("rds").describe_db_proxy_endpoints(DBProxyEndpointName="orders-pg-app")["DBProxyEndpoints"][0]["VpcSecurityGroupIds"][0]
ep = ec2.describe_security_groups(GroupIds=[gid])["SecurityGroups"][0]
ec2.revoke_security_group_ingress(GroupId=ep["GroupId"], IpPermissions=ep["IpPermissions"])
out(ep["GroupId"])
]==])
      local code, out = verify_connect("orders-pg")
      assert.are.equal(1, code, out)
      has(out, "connect failed at TCP")
      has(out, "client SG " .. sb.world.app.security_group_id .. " -> endpoint SG " .. gid)
      has(slurp(sb.dir .. "/server.log"), "closed hop: client SG " .. sb.world.app.security_group_id
        .. " -> endpoint SG " .. gid)
      -- the DB SG's ingress from the proxy SG (the MySQL pair's)
      py([==[
ec2 = rds.client("ec2")
dbsg = W["rds"]["db_security_group_id"]
g = ec2.describe_security_groups(GroupIds=[dbsg])["SecurityGroups"][0]
perms = [p for p in g["IpPermissions"] if p.get("FromPort") == 3306]
ec2.revoke_security_group_ingress(GroupId=dbsg, IpPermissions=perms)
out(len(perms))
]==])
      code, out = verify_connect("orders-mysql")
      assert.are.equal(1, code, out)
      has(out, "connect failed at TCP")
      has(out, "-> DB SG " .. sb.world.rds.db_security_group_id .. ": no inbound TCP 3306")
      has(slurp(sb.dir .. "/server.log"), "-> DB SG " .. sb.world.rds.db_security_group_id
        .. ": no inbound rule for TCP 3306")
      local acode, aout, aerr = run(sb, "apply --quiet --config " .. q(cfg))
      assert.are.equal(0, acode, aout .. aerr)
      local err
      code, out, err = verify_connect()
      assert.are.equal(0, code, out .. err)
      has(out, "connect: connected as orders_admin")
    end)
end)
