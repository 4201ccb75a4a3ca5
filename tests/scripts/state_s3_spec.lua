-- The S3 state backend's logic (scripts/rds-proxy/state_s3.lua, s3_lock.lua,
-- state.parse): the `state` setting's checks and messages, and the lock's
-- rules (create once, name the holder, take over an expired lease, renew,
-- refuse writes once lost, release only its own, force-unlock by id). The
-- S3 here is an in-memory double with S3's conditional-write rules (412 on
-- If-None-Match of an existing key or If-Match of another ETag, 404 on a
-- missing key); tests/e2e/state_s3_spec.lua runs the same against the
-- sandbox's S3 over HTTP.
local root = os.getenv("KUMO_ROOT") or "."
package.path = root .. "/scripts/?.lua;" .. package.path
local state = require "rds-proxy.state"
local state_s3 = require "rds-proxy.state_s3"
local s3_lock = require "rds-proxy.s3_lock"
local config = require "rds-proxy.config"
local json = require "kumo.json"
local clock = require "kumo.clock"
local sched = require "kumo.sched"

-- S3 in memory: objects by key, an ETag per write, the calls made.
local function fake_s3()
  local objs, n = {}, 0
  local c = { objs = objs, calls = {} }
  local function fail(status, code)
    error(setmetatable({ http_status = status, code = code },
      { __tostring = function() return code .. " (HTTP " .. status .. ")" end }), 0)
  end
  local function log(op, p) c.calls[#c.calls + 1] = op .. " " .. p.Key .. (p.IfNoneMatch and " If-None-Match" or "")
    .. (p.IfMatch and " If-Match" or "") end
  function c.HeadBucket(_, p) if p.Bucket ~= "state-b" then fail(404, "NotFound") end return {} end
  function c.GetObject(_, p)
    local o = objs[p.Key]
    if not o then fail(404, "NoSuchKey") end
    return { Body = o.body, ETag = o.etag }
  end
  function c.HeadObject(_, p)
    local o = objs[p.Key]
    if not o then fail(404, "NotFound") end
    return { ETag = o.etag }
  end
  function c.PutObject(_, p)
    log("put", p)
    local o = objs[p.Key]
    if p.IfNoneMatch == "*" and o then fail(412, "PreconditionFailed") end
    if p.IfMatch and not o then fail(404, "NoSuchKey") end
    if p.IfMatch and o.etag ~= p.IfMatch then fail(412, "PreconditionFailed") end
    n = n + 1
    objs[p.Key] = { body = p.Body, etag = '"e' .. n .. '"' }
    return { ETag = objs[p.Key].etag }
  end
  function c.DeleteObject(_, p)
    log("delete", p)
    local o = objs[p.Key]
    if p.IfMatch and not o then fail(404, "NoSuchKey") end
    if p.IfMatch and o.etag ~= p.IfMatch then fail(412, "PreconditionFailed") end
    objs[p.Key] = nil
    return {}
  end
  function c.paginate(_, _, p)
    local list = {}
    for k in pairs(objs) do
      if k:sub(1, #p.Prefix) == p.Prefix then list[#list + 1] = { Key = k } end
    end
    local done = false
    return function()
      if done then return nil end
      done = true
      return { Contents = list }
    end
  end
  return c
end

local function place(lease)
  local where = assert(state.parse({ url = "s3://state-b/team/x", lease = lease or 60 }))
  where.client = fake_s3()
  return where
end

describe("the state setting", function()
  it("reads an S3 URL or a table with profile, region and lease", function()
    local p = assert(state.parse("s3://my-bucket/kumo/prod/"))
    assert.same({ kind = "s3", url = "s3://my-bucket/kumo/prod/", bucket = "my-bucket", prefix = "kumo/prod/" }, p)
    p = assert(state.parse{ url = "s3://my.bucket", profile = "state", region = "eu-west-1", lease = 30 })
    assert.same({ kind = "s3", url = "s3://my.bucket/", bucket = "my.bucket", prefix = "", profile = "state",
                  region = "eu-west-1", lease = 30 }, p)
  end)

  it("names the field and the fix for each mistake", function()
    local cases = {
      { "/var/kumo", 'state: "/var/kumo" is not an S3 URL; write s3://BUCKET/PREFIX' },
      { "s3:///kumo", 'state: "s3:///kumo" names no bucket; write s3://BUCKET/PREFIX' },
      { "s3://My_Bucket/x", 'state: "My_Bucket" is not a valid bucket name (3-63 characters' },
      { { url = "s3://b-1/x", lease = 1 }, "state.lease: must be whole seconds from 2 to 3600" },
      { { url = "s3://b-1/x", region = "europe" }, 'state.region: must be a region name such as "eu-west-1"' },
      { { url = "s3://b-1/x", profile = "" }, "state.profile: must be a profile name" },
      { { url = "s3://b-1/x", bucket = "b" }, "state: unknown key bucket (known: url, profile, region, lease)" },
      { { profile = "p" }, 'state.url: must be an S3 URL, e.g. "s3://my-bucket/kumo"' },
      { 42, 'state: must be "s3://bucket/prefix" or { url = "s3://bucket/prefix"' },
    }
    for _, c in ipairs(cases) do
      local p, msg = state.parse(c[1])
      assert.is_nil(p)
      assert.equal(c[2], msg:sub(1, #c[2]))
    end
  end)

  it("is checked with the config, and not together with state_dir", function()
    local function cfg(extra)
      local c = { region = "ap-northeast-1", pairs = { { name = "p1",
        app = { profile = "app", vpc_id = "vpc-0a", subnet_ids = { "subnet-0a", "subnet-0b" },
                client_security_group_ids = { "sg-0c" } },
        rds = { profile = "rds", db_instance_identifier = "db", engine_family = "POSTGRESQL",
                secret_arn = "arn:aws:secretsmanager:ap-northeast-1:222222222222:secret:s-AbCdEf",
                proxy_name = "px" },
        endpoint = { name = "ep" } } } }
      for k, v in pairs(extra) do c[k] = v end
      return c
    end
    local ok, errs = config.check(cfg{ state = { url = "s3://state-b/team", profile = "ops" } })
    assert.is_table(ok, errs and errs[1])
    assert.same({ kind = "s3", url = "s3://state-b/team/", bucket = "state-b", prefix = "team/", profile = "ops" },
      ok.state)
    errs = select(2, config.check(cfg{ state = "s3://state-b/team", state_dir = "/tmp/x" }))
    assert.same({ "config: state: and state_dir are both set; keep one (state: shared in S3, state_dir: a local "
      .. "folder)" }, errs)
    errs = select(2, config.check(cfg{ state = "state-b/team" }))
    local want = 'config: state: "state-b/team" is not an S3 URL; write s3://BUCKET/PREFIX'
    assert.equal(want, errs[1]:sub(1, #want))
  end)

  it("finds a missing bucket before any call to the pairs and names it", function()
    local where = place()
    assert.is_true(state_s3.check(where))
    where.bucket = "other-b"
    local ok, msg = state_s3.check(where)
    assert.is_nil(ok)
    assert.equal("state s3://state-b/team/x/: the bucket other-b does not exist (profile (default), region "
      .. "(default)); create it (aws s3 mb s3://other-b, versioning on is advised) or fix the state URL", msg)
  end)
end)

describe("the S3 journal and lock", function()
  it("keeps the journal, the record and their hash as objects under the prefix", function()
    local where = place()
    local s = state.open(where, "p1")
    assert.equal("none", state.journal_hash(where, "p1"))
    s:lock{ action = "apply" }
    s:created("share", "arn:1")
    local h1 = state.journal_hash(where, "p1")
    s:created("proxy", "px")
    assert.are_not.equal(h1, state.journal_hash(where, "p1"))
    state.records(where).put("p1", { outcome = "ok" })
    assert.same({ outcome = "ok" }, state.records(where).get("p1"))
    assert.is_nil(state.records(where).get("p2"))
    assert.equal("arn:1", json.decode(where.client.objs["team/x/p1.json"].body).resources.share.id)
    assert.is_not_nil(where.client.objs["team/x/rollout/p1.json"])
    assert.equal("arn:1", state.open(where, "p1"):get("share").id, "another run reads it back")
    s:unlock()
    assert.is_nil(where.client.objs["team/x/p1.lock"])
    s:deleted("share"); s:deleted("proxy"); s:remove_file()
    assert.is_nil(where.client.objs["team/x/p1.json"])
  end)

  it("is taken once: the second run is told who holds it and its lock id", function()
    local where = place()
    local a, b = state.open(where, "p1"), state.open(where, "p1")
    a:lock{ action = "apply" }
    assert.equal("put team/x/p1.lock If-None-Match", where.client.calls[1])
    local note = json.decode(where.client.objs["team/x/p1.lock"].body)
    assert.equal(a.s3lock.lock_id, note.lock_id)
    assert.equal(require("kumo.sys").getpid(), note.pid)
    assert.is_true(note.expires > clock.now() + 50)
    local h = b:holder()
    assert.equal(note.lock_id, h.lock_id)
    assert.is_nil(a:holder(), "its own lock is no other run's")
    local ok, err = pcall(b.lock, b, { action = "destroy" })
    assert.is_false(ok)
    assert.equal(string.format("pair p1 is locked by another kumo run (pid %d on %s, apply since %s (lock id %s); "
      .. "lock s3://state-b/team/x/p1.lock); wait for it to end, pass --lock-timeout SECONDS to wait for it, "
      .. "or if that run is gone: --force-unlock %s", note.pid, note.host, note.started, note.lock_id,
      note.lock_id), err)
    a:unlock()
    assert.is_nil(b:holder())
    b:lock{ action = "destroy" }
    b:unlock()
  end)

  it("takes over an expired lease; the run that lost it deletes nothing", function()
    local where = place(2)
    local a, b = state.open(where, "p1"), state.open(where, "p1")
    a:lock{ action = "apply" }  -- outside the scheduler: not renewed
    local note = json.decode(where.client.objs["team/x/p1.lock"].body)
    note.expires = clock.now() - 1
    where.client.objs["team/x/p1.lock"].body = json.encode(note)
    assert.is_nil(b:holder(), "an expired lease is nobody's")
    b:lock{ action = "apply" }
    assert.equal("put team/x/p1.lock If-Match", where.client.calls[#where.client.calls])
    assert.same(note, b.s3lock.took_over)
    local mine = json.decode(where.client.objs["team/x/p1.lock"].body)
    assert.equal(b.s3lock.lock_id, mine.lock_id)
    -- a's next renewal (If-Match on its ETag) fails: that is how it learns it lost the lock
    local etag, err = a.s3lock:put{ IfMatch = a.s3lock.etag }
    assert.is_nil(etag)
    assert.equal(412, err.http_status)
    a:unlock()  -- If-Match on its own ETag: b's lock stays
    assert.equal(b.s3lock.lock_id, json.decode(where.client.objs["team/x/p1.lock"].body).lock_id)
    b:unlock()
    assert.is_nil(where.client.objs["team/x/p1.lock"])
  end)

  it("renews the lease in the background, and once it lost it writes no journal", function()
    local where = place(2)
    local a, b = state.open(where, "p1"), state.open(where, "p1")
    local first, later, refused, lost, refused_write
    sched.run(function()
      a:lock{ action = "apply" }
      first = json.decode(where.client.objs["team/x/p1.lock"].body).expires
      sched.sleep(3.2)  -- longer than the lease: the renewals keep it
      later = json.decode(where.client.objs["team/x/p1.lock"].body).expires
      refused = not pcall(b.lock, b, { action = "apply" })
      -- another run takes it over by force (its ETag changes): the next renewal sees it
      where.client.objs["team/x/p1.lock"].etag = '"forced"'
      sched.sleep(1.2)
      lost = a.s3lock.lost
      local ok, werr = pcall(a.created, a, "share", "arn:x")
      refused_write = not ok and werr
      a:unlock()
    end)
    assert.is_true(later > first + 1, "the lease was renewed")
    assert.is_true(refused, "a renewed lease stays held")
    assert.equal("lost the lock s3://state-b/team/x/p1.lock (its lease ran out or it was force-unlocked)", lost)
    assert.equal("state: lost the lock s3://state-b/team/x/p1.lock (its lease ran out or it was force-unlocked); "
      .. "nothing more is written by this run", refused_write)
    assert.is_not_nil(where.client.objs["team/x/p1.lock"], "the lost lock is not deleted by its old holder")
  end)

  it("force-unlocks by id only", function()
    local where = place()
    local a = state.open(where, "p1")
    a:lock{ action = "apply" }
    local ok, err = pcall(s3_lock.force_unlock, where, "nope")
    assert.is_false(ok)
    assert.equal(string.format("--force-unlock: no lock in s3://state-b/team/x/ has the id nope (locks held: p1 "
      .. "(lock id %s)); nothing was removed", a.s3lock.lock_id), err)
    local pair, note = s3_lock.force_unlock(where, a.s3lock.lock_id)
    assert.equal("p1", pair)
    assert.equal(a.s3lock.lock_id, note.lock_id)
    assert.is_nil(where.client.objs["team/x/p1.lock"])
    err = select(2, pcall(s3_lock.force_unlock, where, "nope"))
    assert.truthy(err:find("(no lock is held)", 1, true), err)
  end)
end)
