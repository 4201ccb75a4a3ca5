-- The AWS client end to end against a sandbox started on a free port (real
-- HTTP through kumo.http, SigV4 verified and IAM checked by the sandbox):
-- STS, IAM, EC2, RDS, RAM and Secrets Manager round trips, pagination over
-- several pages, each service's not-found error parsed to its code, and
-- injected throttling / server errors / dropped connections retried, with
-- every attempt seen through the hooks and counted by the sandbox.
local aws = require "kumo.aws"
local errors = require "kumo.errors"
local sandbox = dofile((os.getenv("KUMO_ROOT") or ".") .. "/tests/lib/sandbox.lua")

local RDS_ACCOUNT, BASE_ACCOUNT = "222222222222", "123456789012"

describe("kumo client against the sandbox", function()
  local sb, attempts

  local function session(profile, extra)
    local o = { profile = profile, config_file = sb.dir .. "/config",
      credentials_file = sb.dir .. "/credentials", env = {}, credential_cache = false,
      on_attempt = function(i) attempts[#attempts + 1] = i end }
    for k, v in pairs(extra or {}) do o[k] = v end
    return aws.session(o)
  end

  -- attempts of one operation seen by the hooks since the last reset
  local function seen(op)
    local list = {}
    for _, a in ipairs(attempts) do
      if a.operation == op then list[#list + 1] = a end
    end
    return list
  end

  local function count(account, key)
    local acct = sb.stats().accounts[account]
    local o = acct and acct.operations[key]
    return o and o.count or 0
  end

  setup(function()
    sb = sandbox.start{}
  end)

  teardown(function()
    if sb then sb.stop() end
  end)

  before_each(function()
    attempts = {}
    sb.control("DELETE", "/_kumo/faults")
    sb.reset_stats()
  end)

  describe("round trips", function()
    it("STS GetCallerIdentity for the base user and an assumed role (query)", function()
      local me = session("base"):client("sts"):GetCallerIdentity{}
      assert.are.equal(BASE_ACCOUNT, me.Account)
      assert.are.equal("arn:aws:iam::123456789012:user/deployer", me.Arn)
      assert.are.equal(200, me.ResponseMetadata.HTTPStatusCode)
      assert.is_string(me.ResponseMetadata.RequestId)
      local role = session("rds"):client("sts"):GetCallerIdentity{}
      assert.are.equal(RDS_ACCOUNT, role.Account)
      assert.truthy(role.Arn:find(":assumed-role/kumo-deployer/", 1, true))
    end)

    it("IAM create, read and delete a role (global service, JSON in a query parameter)", function()
      local iam = session("rds"):client("iam")
      local doc = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":'
        .. '{"Service":"rds.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
      local created = iam:CreateRole{ RoleName = "kumo-e2e-client", AssumeRolePolicyDocument = doc,
        Path = "/kumo-e2e/", Tags = { { Key = "app", Value = "orders" } } }
      assert.are.equal("arn:aws:iam::222222222222:role/kumo-e2e/kumo-e2e-client", created.Role.Arn)
      local got = iam:GetRole{ RoleName = "kumo-e2e-client" }
      assert.are.equal("/kumo-e2e/", got.Role.Path)
      assert.are.equal("number", type(got.Role.CreateDate))
      iam:DeleteRole{ RoleName = "kumo-e2e-client" }
      local _, e = iam:try("GetRole", { RoleName = "kumo-e2e-client" })
      assert.are.equal("NoSuchEntity", e.code)
    end)

    it("EC2 DescribeSubnets with filters (ec2 protocol)", function()
      local ec2 = session("rds"):client("ec2")
      local out = ec2:DescribeSubnets{ Filters = { { Name = "vpc-id", Values = { sb.world.rds.vpc_id } } } }
      local want = {}
      for _, s in ipairs(sb.world.rds.subnets) do want[s.id] = s.cidr end
      assert.are.equal(#sb.world.rds.subnets, #out.Subnets)
      for _, s in ipairs(out.Subnets) do
        assert.are.equal(want[s.SubnetId], s.CidrBlock)
        assert.are.equal(RDS_ACCOUNT, s.OwnerId)
      end
    end)

    it("RDS DescribeDBInstances and a query option", function()
      local rds = session("rds"):client("rds")
      local ids = rds:DescribeDBInstances({}, { query = "DBInstances[].DBInstanceIdentifier" })
      table.sort(ids)
      local want = {}
      for _, db in pairs(sb.world.rds.databases) do want[#want + 1] = db.id end
      table.sort(want)
      assert.are.same(want, ids)
    end)

    it("RAM GetResourceShares (rest-json) and Secrets Manager DescribeSecret (json)", function()
      local s = session("rds")
      local shares = s:client("ram"):GetResourceShares{ resourceOwner = "SELF" }
      assert.are.equal("table", type(shares.resourceShares))
      local pg = sb.world.rds.databases.postgres
      local secret = s:client("secretsmanager"):DescribeSecret{ SecretId = pg.secret_name }
      assert.are.equal(pg.secret_arn, secret.ARN)
      assert.are.equal(pg.secret_name, secret.Name)
    end)
  end)

  describe("not-found errors", function()
    local function expect(client, op, params, code, status)
      local out, e = client:try(op, params)
      assert.is_nil(out)
      assert.is_true(errors.is(e), tostring(e))
      assert.are.same({ "service", code, status, client.service_name, op, false },
        { e.kind, e.code, e.http_status, e.service, e.operation, e.retryable })
      assert.is_string(e.request_id)
      assert.is_string(e.message)
      assert.truthy(tostring(e):find(client.service_name .. " " .. op .. ": " .. code, 1, true))
    end

    it("parses each service's error format to its code", function()
      local s = session("rds")
      expect(s:client("rds"), "DescribeDBProxies", { DBProxyName = "nope" }, "DBProxyNotFoundFault", 404)
      expect(s:client("ec2"), "DescribeSubnets", { SubnetIds = { "subnet-00000000000000000" } },
        "InvalidSubnetID.NotFound", 400)
      expect(s:client("iam"), "GetRole", { RoleName = "nope" }, "NoSuchEntity", 404)
      expect(s:client("secretsmanager"), "DescribeSecret", { SecretId = "nope" }, "ResourceNotFoundException", 404)
      expect(s:client("ram"), "GetResourceShareInvitations", { resourceShareInvitationArns = {
        "arn:aws:ram:ap-northeast-1:222222222222:resource-share-invitation/00000000-0000-0000-0000-000000000000" } },
        "ResourceShareInvitationArnNotFoundException", 400)
      expect(session("base"):client("sts"), "AssumeRole", { RoleArn = "arn:aws:iam::222222222222:role/kumo-deployer",
        RoleSessionName = "no-external-id" }, "AccessDenied", 403)
    end)
  end)

  describe("signature errors", function()
    it("reports a wrong secret without showing it", function()
      local s = aws.session{ region = "ap-northeast-1", env = {}, config_file = "/nonexistent",
        credentials_file = "/nonexistent", endpoint_url = sb.endpoint,
        credentials = { access_key_id = sb.world.deployer.access_key_id,
          secret_access_key = "WRONGSECRETVALUE0000000000000000000000000" } }
      local _, e = s:client("sts"):try("GetCallerIdentity", {})
      assert.are.equal("service", e.kind)
      assert.are.equal(403, e.http_status)
      assert.truthy(e.code == "SignatureDoesNotMatch" or e.code == "InvalidClientTokenId", e.code)
      assert.is_nil(tostring(e):find("WRONGSECRETVALUE", 1, true))
    end)
  end)

  describe("pagination", function()
    it("follows NextToken across several pages (Secrets Manager)", function()
      local sm = session("rds"):client("secretsmanager")
      for i = 1, 3 do sm:CreateSecret{ Name = "kumo-e2e/page-" .. i, SecretString = "v" .. i } end
      attempts = {}
      local names = {}
      for secret in sm:paginate("ListSecrets", {}, { page_size = 1, items = true }) do
        names[#names + 1] = secret.Name
      end
      local got = {}
      for _, n in ipairs(names) do got[n] = (got[n] or 0) + 1 end
      for i = 1, 3 do assert.are.equal(1, got["kumo-e2e/page-" .. i]) end
      assert.are.equal(sb.world.rds.databases.postgres.secret_name and 1 or 0,
        got[sb.world.rds.databases.postgres.secret_name])
      assert.is_true(#names >= 4)
      assert.are.equal(#names, #seen("ListSecrets")) -- one call per page, one item per page
      for i = 1, 3 do sm:DeleteSecret{ SecretId = "kumo-e2e/page-" .. i, ForceDeleteWithoutRecovery = true } end
    end)

    it("all() with a query applies it to each page and flattens lists, as botocore's search", function()
      local sm = session("rds"):client("secretsmanager")
      for i = 1, 3 do sm:CreateSecret{ Name = "kumo-e2e/q-" .. i, SecretString = "v" .. i } end
      local names = sm:all("ListSecrets", { Filters = { { Key = "name", Values = { "kumo-e2e/q-" } } } },
        { page_size = 1, query = "SecretList[].Name" })
      table.sort(names)
      assert.are.same({ "kumo-e2e/q-1", "kumo-e2e/q-2", "kumo-e2e/q-3" }, names)
      -- a scalar result per page is one item per page
      local counts = sm:all("ListSecrets", { Filters = { { Key = "name", Values = { "kumo-e2e/q-" } } } },
        { page_size = 2, query = "length(SecretList)" })
      assert.are.same({ 2, 1 }, counts)
      for i = 1, 3 do sm:DeleteSecret{ SecretId = "kumo-e2e/q-" .. i, ForceDeleteWithoutRecovery = true } end
    end)

    it("follows Marker/IsTruncated across pages (IAM)", function()
      local iam = session("rds"):client("iam")
      local pages, roles = 0, 0
      for page in iam:paginate("ListRoles", {}, { page_size = 1 }) do
        pages = pages + 1
        roles = roles + #page.Roles
      end
      assert.is_true(pages >= 2)
      assert.are.equal(pages, roles)
      assert.are.equal(pages, count(RDS_ACCOUNT, "iam:ListRoles"))
    end)
  end)

  describe("retries", function()
    it("retries throttling on every protocol and shows each attempt", function()
      local s = session("rds")
      s:client("sts"):GetCallerIdentity{} -- assume the role before the faults
      sb.faults({
        { op = "DescribeDBProxies", kind = "throttle", times = 2 },
        { op = "DescribeSubnets", kind = "throttle", times = 1 },
        { op = "GetResourceShares", kind = "throttle", times = 1 },
        { op = "DescribeSecret", kind = "throttle", times = 1 },
      })
      sb.reset_stats()
      attempts = {}
      local out = s:client("rds"):DescribeDBProxies{}
      assert.are.equal(2, out.ResponseMetadata.RetryAttempts)
      local a = seen("DescribeDBProxies")
      assert.are.equal(3, #a)
      assert.are.same({ 1, 400, "Throttling", true }, { a[1].attempt, a[1].status, a[1].code, a[1].retrying })
      assert.are.same({ 2, 400, "Throttling", true }, { a[2].attempt, a[2].status, a[2].code, a[2].retrying })
      assert.are.same({ 3, 200, false }, { a[3].attempt, a[3].status, a[3].retrying })
      assert.is_true(a[1].delay >= 0 and a[1].delay <= 1)
      assert.is_true(a[2].delay >= 0 and a[2].delay <= 2)
      assert.are.equal(3, count(RDS_ACCOUNT, "rds:DescribeDBProxies"))

      s:client("ec2"):DescribeSubnets{}
      s:client("ram"):GetResourceShares{ resourceOwner = "SELF" }
      s:client("secretsmanager"):DescribeSecret{ SecretId = sb.world.rds.databases.postgres.secret_name }
      for op, want in pairs{ DescribeSubnets = { "RequestLimitExceeded", 503 },
          GetResourceShares = { "ThrottlingException", 429 }, DescribeSecret = { "ThrottlingException", 400 } } do
        local list = seen(op)
        assert.are.equal(2, #list, op)
        assert.are.same({ want[1], want[2], true }, { list[1].code, list[1].status, list[1].retrying }, op)
        assert.are.equal(200, list[2].status, op)
      end
    end)

    it("gives up after 3 attempts of a server error, naming the count", function()
      local s = session("rds")
      s:client("sts"):GetCallerIdentity{}
      sb.faults({ { op = "DescribeDBInstances", kind = "5xx", times = -1 } })
      sb.reset_stats()
      local _, e = s:client("rds"):try("DescribeDBInstances", {})
      assert.are.same({ "InternalFailure", 500, 3, true }, { e.code, e.http_status, e.attempts, e.retryable })
      assert.truthy(tostring(e):find("3 attempts", 1, true))
      assert.are.equal(3, count(RDS_ACCOUNT, "rds:DescribeDBInstances"))
      assert.are.equal(3, #seen("DescribeDBInstances"))
    end)

    it("honours max_attempts from the session and AWS_MAX_ATTEMPTS", function()
      local s = session("rds", { max_attempts = 1 })
      s:client("sts"):GetCallerIdentity{}
      sb.faults({ { op = "DescribeDBProxies", kind = "throttle", times = 1 } })
      local _, e = s:client("rds"):try("DescribeDBProxies", {})
      assert.are.equal("Throttling", e.code)
      local env_s = session("rds", { env = { AWS_MAX_ATTEMPTS = "1" } })
      env_s:client("sts"):GetCallerIdentity{}
      sb.faults({ { op = "DescribeDBProxies", kind = "throttle", times = 1 } })
      local _, e2 = env_s:client("rds"):try("DescribeDBProxies", {})
      assert.are.equal("Throttling", e2.code)
      assert.are.equal(1, e2.attempts)
    end)

    it("retries a dropped connection as a transport error", function()
      local s = session("rds")
      s:client("sts"):GetCallerIdentity{}
      -- two drops: libcurl itself resends once when a reused keep-alive
      -- connection dies, so the first drop may not reach kumo
      sb.faults({ { op = "DescribeDBProxies", kind = "drop", times = 2 } })
      local out = s:client("rds"):DescribeDBProxies{}
      local a = seen("DescribeDBProxies")
      assert.is_true(#a >= 2)
      assert.are.equal(#a - 1, out.ResponseMetadata.RetryAttempts)
      for i = 1, #a - 1 do
        assert.is_nil(a[i].status)
        assert.are.equal("transport", a[i].error.kind)
        assert.truthy(a[i].code:match("^CURLE_"), a[i].code)
        assert.is_true(a[i].retrying)
      end
      assert.are.equal(200, a[#a].status)
    end)

    it("sleeps its backoff through kumo.sched, so parallel tasks wait together", function()
      local sched = require "kumo.sched"
      local clock = require "kumo.clock"
      local s = session("rds", { random = function() return 1 end }) -- delays 1 s, then 2 s
      s:client("sts"):GetCallerIdentity{}
      local rds = s:client("rds")
      sb.faults({ { op = "DescribeDBProxies", kind = "throttle", times = 8 } })
      attempts = {}
      local t0 = clock.monotonic()
      local results = sched.run(function()
        return sched.parallel({ 1, 2, 3, 4 }, function()
          return rds:DescribeDBProxies{}.ResponseMetadata.RetryAttempts
        end)
      end)
      local elapsed = clock.monotonic() - t0
      assert.are.same({ 2, 2, 2, 2 }, results)
      local slept = 0
      for _, a in ipairs(seen("DescribeDBProxies")) do slept = slept + (a.delay or 0) end
      assert.are.equal(12, slept)         -- 4 tasks x (1 s + 2 s)
      assert.is_true(elapsed < 6, "took " .. elapsed .. " s: the sleeps did not overlap")
    end)

    it("reports a refused connection clearly after the retries", function()
      local s = aws.session{ region = "us-east-1", env = {}, config_file = "/nonexistent",
        credentials_file = "/nonexistent", endpoint_url = "http://127.0.0.1:9",
        credentials = { access_key_id = "AKIAKUMOSANDBOX00001", secret_access_key = "x" },
        random = function() return 0 end }
      local _, e = s:client("sts"):try("GetCallerIdentity", {})
      assert.are.same({ "transport", "CURLE_COULDNT_CONNECT", 3 }, { e.kind, e.code, e.attempts })
      assert.truthy(tostring(e):find("sts:GetCallerIdentity: AWS was unavailable (transport error: ", 1, true))
      assert.is_true(require("kumo.errors").is_transient(e))
    end)
  end)

  describe("endpoints", function()
    it("reaches the sandbox through AWS_ENDPOINT_URL from the environment", function()
      local env = {}
      for k, v in pairs(sb.env) do env[k] = v end
      env.AWS_ENDPOINT_URL_STS = nil  -- env.sh also names STS alone; the generic one here
      local s = aws.session{ profile = "base", env = env }
      local c = s:client("sts")
      assert.are.equal("AWS_ENDPOINT_URL", c:endpoint().source)
      assert.are.equal(BASE_ACCOUNT, c:GetCallerIdentity{}.Account)
    end)

    it("refuses an http:// endpoint on a non-loopback host", function()
      local s = session("base", { endpoint_url = "http://sandbox.example.com:4566" })
      local _, e = s:client("sts"):try("GetCallerIdentity", {})
      assert.are.equal("InvalidEndpoint", e.code)
      assert.truthy(tostring(e):find("allow_http", 1, true))
    end)
  end)
end)
