-- Shared state in S3 on the sandbox (`state = { url = "s3://...", ... }`):
-- journals, rollout records and the leased lock as objects of a versioned
-- bucket, read back with boto3; a second apply changes nothing; two runs of
-- one pair: one works, the other names the holder; two shards at once cover
-- every pair exactly once; a holder killed with -9 leaves a lock whose lease
-- runs out and the next run takes it over; --force-unlock as Terraform's.
local root = os.getenv("KUMO_ROOT") or "."
local sandbox = dofile(root .. "/tests/lib/sandbox.lua")
local helpers = dofile(root .. "/tests/e2e/workflow_helpers.lua")
local json = require "kumo.json"
local clock = require "kumo.clock"
package.path = root .. "/scripts/?.lua;" .. package.path

local N = 4
local q = helpers.q
local BUCKET, PREFIX = "kumo-state-e2e", "team/orders"

local CONFIG = [[
return {
  region = "ap-northeast-1",
  base_profile = "base",
  -- shared by every machine of the rollout; the app profile may read and write it
  state = { url = "s3://kumo-state-e2e/team/orders/", profile = "app", lease = 3 },
  pairs = function(org)
    local out = {}
    for _, a in ipairs(org:accounts{ ou = "apps", tags = { team = "orders" } }) do
      out[#out + 1] = {
        name = a.name,
        app = { role_arn = a.role_arn, vpc = { tags = { Name = "app" } },
                subnets = { tags = { tier = "private" }, per_az = 1 },
                client_security_groups = { tags = { role = "app-clients" } } },
        rds = { profile = "rds", engine_family = "POSTGRESQL", proxy_name = a.name .. "-orders",
                db_instance_identifier = { tags = { db = "postgres" } },
                secret_arn = { tags = { db = "postgres" } } },
        endpoint = { name = a.name .. "-orders-app" },
      }
    end
    return out
  end,
}
]]

describe("shared state in S3", function()
  local sb, cfg

  -- boto3 (profile app) against the sandbox: the script's JSON answer
  local function s3py(body)
    local path = os.tmpname()
    helpers.write(path, "import boto3, json, sys\n"
      .. "s3 = boto3.Session(profile_name='app').client('s3', endpoint_url=" .. string.format("%q", sb.endpoint)
      .. ")\nB, P = " .. string.format("%q, %q", BUCKET, PREFIX .. "/") .. "\n" .. body .. "\n")
    local p = io.popen(helpers.env_prefix(sb) .. " python3 " .. q(path) .. " 2>&1")
    local text = p:read("a")
    p:close()
    os.remove(path)
    local ok, doc = pcall(json.decode, text)
    assert(ok, "boto3: " .. text)
    return doc
  end

  local function objects()
    return s3py([==[
out = {}
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=B, Prefix=P):
    for o in page.get("Contents", []):
        out[o["Key"][len(P):]] = s3.get_object(Bucket=B, Key=o["Key"])["Body"].read().decode()
print(json.dumps(out))]==])
  end

  local function run(args)
    return helpers.run(sb, args .. " --config " .. q(cfg))
  end

  local function run_json(args)
    local code, out, err = run(args .. " --quiet --output json")
    local ok, doc = pcall(json.decode, out)
    assert(ok and type(doc) == "table", "not JSON (exit " .. tostring(code) .. "): " .. out .. err)
    return code, doc, err
  end

  -- every DescribeDBProxies answered 2 s late: a run holds its lock that long
  local HOLD = { { op = "DescribeDBProxies", kind = "delay", delay_ms = 2000, rate = 1 } }

  -- the lock object of a pair (its note), or nil: one GetObject
  local function lock_of(pair)
    return s3py(string.format([==[
try:
    print(s3.get_object(Bucket=B, Key=P + %q)["Body"].read().decode())
except s3.exceptions.NoSuchKey:
    print("null")]==], pair .. ".lock"))
  end

  -- a lock object as another machine's run leaves it
  local function put_lock(pair, lock_id, expires_in)
    s3py(string.format([==[
import time
note = {"lock_id": %q, "pid": 4242, "host": "ci-host", "action": "apply", "started": "2026-01-01T00:00:00Z",
        "expires": time.time() + %d, "lease_seconds": 60}
s3.put_object(Bucket=B, Key=P + %q, Body=json.dumps(note), IfNoneMatch="*")
print("{}")]==], lock_id, expires_in, pair .. ".lock"))
  end

  setup(function()
    sb = sandbox.start{ accounts = N, lifecycle = "all=0" }
    sb.env.KUMO_WAITER_DELAY = "0.05"
    sb.env.KUMO_CREDENTIAL_CACHE = "off"
    cfg = sb.dir .. "/s3-state.lua"
    helpers.write(cfg, CONFIG)
  end)

  teardown(function()
    if sb then sb.stop() end
  end)

  it("names a missing bucket and the fix before any call to the pairs", function()
    local code, _, err = run("plan --quiet")
    assert.equal(2, code, err)
    assert.truthy(err:find("state s3://kumo-state-e2e/team/orders/: the bucket kumo-state-e2e does not exist "
      .. "(profile app, region ap-northeast-1); create it", 1, true), err)
    code, _, err = run("plan --quiet --state s3://Bad_Bucket/x")
    assert.equal(2, code, err)
    assert.truthy(err:find('--state: "Bad_Bucket" is not a valid bucket name', 1, true), err)
    -- a local state folder has no lock to force away: the kernel's ends with its process
    local local_cfg = sb.dir .. "/local-state.lua"
    helpers.write(local_cfg, (CONFIG:gsub("  state = {[^\n]*\n", "")))
    code, _, err = helpers.run(sb, "--force-unlock x --config " .. q(local_cfg))
    assert.equal(2, code, err)
    assert.truthy(err:find("--force-unlock removes a lock of S3 state", 1, true), err)
    -- the bucket of the rest of this spec, versioned
    s3py([==[
s3.create_bucket(Bucket=B, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
s3.put_bucket_versioning(Bucket=B, VersioningConfiguration={"Status": "Enabled"})
print("{}")]==])
  end)

  it("applies with the journals in S3; a second apply changes nothing, checked or applied again", function()
    local code, doc, err = run_json("apply")
    assert.equal(0, code, err .. json.encode(doc.rollout))
    assert.equal(N, #doc.rollout.pairs)
    -- the rollout records in S3: a rerun only checks the pairs done (read-only plan)
    code, doc, err = run_json("apply")
    assert.equal(0, code, err)
    for _, p in ipairs(doc.rollout.pairs) do
      assert.equal("checked", p.rollout, p.pair)
      assert.equal(0, p.changing_calls, p.pair)
    end
    code, doc, err = run_json("apply --reapply")
    assert.equal(0, code, err)
    for _, p in ipairs(doc.rollout.pairs) do
      assert.equal("ran", p.rollout, p.pair)
      assert.equal(0, p.changing_calls, p.pair)
    end
    -- boto3: a journal and a rollout record per pair, no lock left, no secret
    local objs = objects()
    local keys = {}
    for k in pairs(objs) do keys[#keys + 1] = k end
    table.sort(keys)
    local want = {}
    for i = 1, N do want[#want + 1] = string.format("app-%02d.json", i) end
    for i = 1, N do want[#want + 1] = string.format("rollout/app-%02d.json", i) end
    assert.same(want, keys)
    local journal = json.decode(objs["app-01.json"])
    assert.equal("app-01", journal.pair)
    assert.truthy(journal.resources.endpoint and journal.resources.endpoint.id, objs["app-01.json"])
    local record = json.decode(objs["rollout/app-01.json"])
    assert.equal("ok", record.outcome, objs["rollout/app-01.json"])
    local creds = helpers.slurp(sb.dir .. "/credentials")
    for key, text in pairs(objs) do
      for secret in creds:gmatch("aws_secret_access_key%s*=%s*(%S+)") do
        assert.is_nil(text:find(secret, 1, true), key .. " holds a secret key")
      end
      assert.is_nil(text:lower():find("secret_access", 1, true), key)
    end
    -- the bucket is versioned: the journal's earlier versions are kept
    local versions = s3py([==[
v = s3.list_object_versions(Bucket=B, Prefix=P + "app-01.json").get("Versions", [])
print(json.dumps(len(v)))]==])
    assert.is_true(versions > 1, "journal versions: " .. tostring(versions))
  end)

  it("two runs of one pair at once: one works, the other names the holder (or waits for it)", function()
    sb.faults({}, 30)  -- each call 30 ms: the runs overlap
    local args = "apply --reapply --pair app-01 --config " .. q(cfg)
    local a, b = helpers.spawn(sb, args), helpers.spawn(sb, args)
    local ca, oa, ea = a.wait(300)
    local cb, ob, eb = b.wait(300)
    sb.faults({}, 0)
    local codes = { ca, cb }
    table.sort(codes)
    assert.same({ 0, 1 }, codes, oa .. ea .. ob .. eb)
    local loser = ca == 1 and oa .. ea or ob .. eb
    assert.truthy(loser:find("pair app%-01 is locked by another kumo run %(pid %d+ on [^,]+, apply since "
      .. "[^ ]+ %(lock id [%x-]+%); lock s3://kumo%-state%-e2e/team/orders/app%-01%.lock%)"), loser)
    assert.is_nil(objects()["app-01.lock"], "the winner deleted its lock")
    -- with --lock-timeout the second waits for the first and then runs;
    -- the second starts only once the first holds the lock (started
    -- together, the one without --lock-timeout could lose the race)
    sb.faults(HOLD, 30)
    a = helpers.spawn(sb, args)
    local deadline = clock.monotonic() + 60
    while lock_of("app-01") == json.null do
      assert.is_true(clock.monotonic() < deadline and a.running(), "the first run's lock never showed")
    end
    b = helpers.spawn(sb, args .. " --lock-timeout 60")
    ca, oa, ea = a.wait(300)
    cb, ob, eb = b.wait(300)
    sb.faults({}, 0)
    assert.same({ 0, 0 }, { ca, cb }, oa .. ea .. ob .. eb)
    local waited = (ea .. eb):match("app%-01: waiting for the lock held by pid (%d+)")
    assert.truthy(waited, ea .. eb)
    assert.is_true(tonumber(waited) == a.pid or tonumber(waited) == b.pid, waited)
  end)

  it("runs two shards at once that cover every pair exactly once", function()
    local hs = {}
    for i = 1, 2 do
      hs[i] = helpers.spawn(sb, "apply --reapply --quiet --output json --shard " .. i .. "/2 --config " .. q(cfg))
    end
    local seen = {}
    for i = 1, 2 do
      local code, out, err = hs[i].wait(300)
      assert.equal(0, code, out .. err)
      for _, p in ipairs(json.decode(out).rollout.pairs) do
        assert.is_nil(seen[p.pair], p.pair .. " is in both shards")
        seen[p.pair] = i
        assert.equal("ok", p.outcome, p.pair)
        assert.equal(0, p.changing_calls, p.pair)
      end
    end
    for i = 1, N do assert.is_not_nil(seen[string.format("app-%02d", i)]) end
  end)

  it("takes over the lock of a holder killed with -9 once its lease runs out", function()
    -- slow enough to kill it while it holds the lock, however slow the
    -- poller below is (each poll starts a python3)
    sb.faults(HOLD, 150)
    local h = helpers.spawn(sb, "apply --reapply --pair app-02 --config " .. q(cfg))
    local deadline = clock.monotonic() + 60
    while lock_of("app-02") == json.null do
      assert.is_true(clock.monotonic() < deadline and h.running(), "the lock never showed")
    end
    h.signal("KILL")
    h.wait(30)
    sb.faults({}, 0)
    local left = lock_of("app-02")
    assert.equal(h.pid, left.pid)
    local t0 = clock.monotonic()
    local code, out, err = run("apply --reapply --pair app-02 --lock-timeout 30")
    assert.equal(0, code, out .. err)
    assert.truthy(err:find("app-02: took over the lock of pid " .. h.pid, 1, true), err)
    assert.is_true(clock.monotonic() - t0 < 20, "the lease is 3 s")
    assert.is_nil(objects()["app-02.lock"])
  end)

  it("releases its lock when SIGTERM stops it", function()
    sb.faults(HOLD, 150)
    local h = helpers.spawn(sb, "apply --reapply --pair app-04 --config " .. q(cfg))
    local deadline = clock.monotonic() + 60
    while lock_of("app-04") == json.null do
      assert.is_true(clock.monotonic() < deadline and h.running(), "the lock never showed")
    end
    h.signal("TERM")
    local code, out, err = h.wait(60)
    sb.faults({}, 0)
    assert.equal(143, code, out .. err)
    assert.truthy(err:find("interrupted: journal kept in s3://kumo-state-e2e/team/orders/", 1, true), err)
    assert.equal(json.null, lock_of("app-04"), "the lock is deleted on the way out")
  end)

  it("plan says a lock is held; --force-unlock refuses a wrong id and removes the right one", function()
    put_lock("app-03", "11111111-2222-4333-8444-555555555555", 600)
    local code, out, err = run("apply --quiet --pair app-03")
    assert.equal(1, code, out .. err)
    assert.truthy((out .. err):find("(pid 4242 on ci-host, apply since 2026-01-01T00:00:00Z (lock id "
      .. "11111111-2222-4333-8444-555555555555); lock s3://kumo-state-e2e/team/orders/app-03.lock)", 1, true),
      out .. err)
    code, out = run("plan --quiet --pair app-03")
    assert.equal(0, code, out)
    assert.truthy(out:find("an apply or destroy of this pair is running (pid 4242 on ci-host", 1, true), out)
    code, out, err = run("--force-unlock 99999999-2222-4333-8444-555555555555")
    assert.equal(1, code, out .. err)
    assert.truthy(err:find("no lock in s3://kumo-state-e2e/team/orders/ has the id 99999999-2222-4333-8444-"
      .. "555555555555 (locks held: app-03 (lock id 11111111-2222-4333-8444-555555555555)); nothing was removed",
      1, true), err)
    assert.is_not_nil(objects()["app-03.lock"])
    -- --state on the command line names the same place (the config's state table: its profile)
    code, out, err = run("--force-unlock 11111111-2222-4333-8444-555555555555 --state s3://" .. BUCKET .. "/"
      .. PREFIX)
    assert.equal(0, code, out .. err)
    assert.truthy(out:find("removed the lock of pair app-03 (pid 4242 on ci-host", 1, true), out)
    assert.is_nil(objects()["app-03.lock"])
    code, out, err = run("apply --quiet --pair app-03 --reapply")
    assert.equal(0, code, out .. err)
  end)
end)
