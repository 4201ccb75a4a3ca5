-- Convergence you can trust (issue 11), end to end on the sandbox (moto
-- with SigV4 and IAM checks on), every result read back independently with
-- boto3 (tests/e2e/inspect_pair.py):
-- * a lock per pair: a second apply exits naming the holder, or waits
--   (--lock-timeout); plan says a run holds it; two applies started
--   together make one of each;
-- * duplicates: plan and verify report a second tagged share, apply
--   deletes it and keeps the journaled one;
-- * adoption: an "already exists" answer is adopted only when an earlier
--   run left an intent, else a clear error;
-- * destroy proves: a delete answered "not found" while the resource stays
--   fails the run, named; the rerun removes it, and the DB team's SG is
--   back to its rules before apply;
-- * signals: SIGINT/SIGTERM stop the run within seconds with the message
--   and 130/143; a second SIGINT ends it at once; the rerun converges;
-- * the journal is 0600 in a 0700 folder;
-- * a setting that cannot change in place is replaced only with --replace.
local root = os.getenv("KUMO_ROOT") or "."
local sandbox = dofile(root .. "/tests/lib/sandbox.lua")
local h = dofile(root .. "/tests/e2e/workflow_helpers.lua")
local json = require "kumo.json"
local sys = require "kumo.sys"
local clock = require "kumo.clock"

local q = h.q
local PAIR = "orders-pg"

describe("rds-proxy-share: convergence you can trust", function()
  local sb, cfg, state, before_rules

  setup(function()
    sb = sandbox.start{ lifecycle = "all=1" }
    cfg = sb.dir .. "/workflow.lua"
    state = sb.dir .. "/.kumo-state"
    before_rules = h.inspect(sb, PAIR).db_sg_rules
  end)

  teardown(function()
    if sb then sb.stop() end
  end)

  local function apply_args(extra)
    return "apply --quiet --config " .. q(cfg) .. " --pair " .. PAIR .. (extra and (" " .. extra) or "")
  end

  it("keeps the journal private and holds a lock per pair that names its holder", function()
    local code, out, err = h.run(sb, apply_args())
    assert.are.equal(0, code, out .. err)
    assert.are.equal(448, sys.stat(state).mode, "the state folder is 0700")
    assert.are.equal(384, sys.stat(state .. "/" .. PAIR .. ".json").mode, "the journal is 0600")

    -- another process holds the pair's lock (as a running apply would)
    local lk = assert(sys.lock(state .. "/" .. PAIR .. ".lock"))
    lk:note(json.encode{ pid = 4242, host = "ci-host", action = "apply", started = "2026-01-01T00:00:00Z" })
    local base = h.mutating(sb)
    code, out, err = h.run(sb, apply_args())
    assert.are.equal(1, code, out .. err)
    assert.truthy(out:find("pair orders-pg is locked by another kumo run (pid 4242 on ci-host, apply since "
      .. "2026-01-01T00:00:00Z", 1, true), out)
    assert.truthy(out:find("--lock-timeout", 1, true), out)
    local t0 = clock.monotonic()
    code, out = h.run(sb, apply_args("--lock-timeout 1.5"))
    local waited = clock.monotonic() - t0
    assert.are.equal(1, code, out)
    assert.truthy(waited >= 1.5, "waited " .. waited .. " s for the lock")
    assert.truthy(out:find("is locked by another kumo run (pid 4242", 1, true), out)
    code, out = h.run(sb, "destroy --config " .. q(cfg) .. " --pair " .. PAIR)
    assert.are.equal(1, code, out)
    assert.truthy(out:find("is locked by another kumo run", 1, true), out)
    assert.are.equal(base, h.mutating(sb), "a run without the lock changes nothing")
    -- plan and verify take no lock; they say a run holds it
    code, out = h.run(sb, "plan --config " .. q(cfg) .. " --pair " .. PAIR)
    assert.are.equal(0, code, out)
    assert.truthy(out:find("an apply or destroy of this pair is running (pid 4242 on ci-host", 1, true), out)
    code, out = h.run(sb, "verify --config " .. q(cfg) .. " --pair " .. PAIR)
    assert.are.equal(0, code, out)
    assert.truthy(out:find("is running (pid 4242", 1, true), out)
    -- a waiting apply goes on once the holder ends
    local bg = h.spawn(sb, apply_args("--lock-timeout 60"))
    clock.sleep(1)
    assert.truthy(bg.running(), "the second apply waits for the lock")
    lk:release()
    code, out, err = bg.wait(120)
    assert.are.equal(0, code, out .. err)
    assert.truthy(out:find("0 changing call(s)", 1, true), out)
    code, out = h.run(sb, "plan --config " .. q(cfg) .. " --pair " .. PAIR)
    assert.are.equal(0, code, out)
    assert.is_nil(out:find("is running", 1, true), "no note once the lock is free:\n" .. out)
    h.assert_count(sb, PAIR, 1)
  end)

  it("two applies started together: one runs, the other exits naming it; one of each", function()
    local code, out, err = h.run(sb, "destroy --quiet --config " .. q(cfg) .. " --pair " .. PAIR)
    assert.are.equal(0, code, out .. err)
    sb.faults({}, 30)   -- each call 30 ms: the applies overlap
    local a, b = h.spawn(sb, apply_args()), h.spawn(sb, apply_args())
    local ca, oa, ea = a.wait(300)
    local cb, ob, eb = b.wait(300)
    sb.faults({}, 0)
    local codes = { ca, cb }
    table.sort(codes)
    assert.are.same({ 0, 1 }, codes, oa .. ea .. ob .. eb)
    local loser = ca == 1 and oa or ob
    assert.truthy(loser:find("is locked by another kumo run %(pid %d+ on [^,]+, apply since"), loser)
    h.assert_count(sb, PAIR, 1)
  end)

  it("reports a duplicate share in plan and verify; apply deletes it and keeps the journaled one", function()
    local kept = h.inspect(sb, PAIR).share_arns[1]
    -- a second share with the pair's name and tags (what a run with another
    -- state folder or a lost answer leaves), made independently
    local py = [[
import boto3, os, sys
os.environ["AWS_CONFIG_FILE"] = sys.argv[1] + "/config"
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = sys.argv[1] + "/credentials"
s = boto3.session.Session(profile_name="app")
ram = s.client("ram", endpoint_url=sys.argv[2])
r = ram.create_resource_share(name="orders-pg-subnets", principals=["222222222222"],
    tags=[{"key": "kumo:pair", "value": "orders-pg"}])
print(r["resourceShare"]["resourceShareArn"])
]]
    h.write(sb.dir .. "/dup.py", py)
    local p = io.popen("env -u AWS_PROFILE -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY python3 "
      .. q(sb.dir .. "/dup.py") .. " " .. q(sb.dir) .. " " .. q(sb.endpoint) .. " 2>&1")
    local dup = p:read("a"):match("arn:%S+")
    p:close()
    assert.truthy(dup, "made a duplicate share")
    assert.are.equal(2, h.inspect(sb, PAIR).share)

    local code, out = h.run(sb, "plan --config " .. q(cfg) .. " --pair " .. PAIR)
    assert.are.equal(0, code, out)
    assert.truthy(out:find("duplicate (apply deletes it) RAM resource share", 1, true), out)
    assert.truthy(out:find(dup, 1, true), out)
    code, out = h.run(sb, "verify --config " .. q(cfg) .. " --pair " .. PAIR)
    assert.are.equal(1, code, out)
    assert.truthy(out:find("RAM resource share: a duplicate " .. dup .. " is tagged kumo:pair=orders-pg", 1, true),
      out)
    code, out = h.run(sb, "apply --config " .. q(cfg) .. " --pair " .. PAIR)
    assert.are.equal(0, code, out)
    assert.truthy(out:find("delete (duplicate) RAM resource share", 1, true), out)
    local doc = h.assert_count(sb, PAIR, 1)
    assert.are.same({ kept }, doc.share_arns, "the journaled share is kept")
    code, out = h.run(sb, "verify --config " .. q(cfg) .. " --pair " .. PAIR)
    assert.are.equal(0, code, out)
  end)

  it("adopts an already-existing role only with an intent in the journal and the pair's tag", function()
    local j = h.journal(state, PAIR)
    j.resources.role = nil
    h.write_journal(state, PAIR, j)
    -- the read misses the role once (as when a create's answer was lost and
    -- the role shows up only afterwards): CreateRole answers EntityAlreadyExists
    local miss = { op = "GetRole", kind = "error", code = "NoSuchEntity", status = 404,
                   message = "The role cannot be found.", times = 1 }
    -- the role without the pair's tag is not this pair's, whatever the journal says
    local untag = ([[python3 -c "import boto3; boto3.Session(profile_name='rds').client('iam')]]
      .. [[.untag_role(RoleName='kumo-orders-pg-proxy-secret', TagKeys=['kumo:pair'])"]])
    assert.is_true(os.execute("cd " .. q(sb.dir) .. " && . ./env.sh && " .. untag) == true)
    sb.faults({ miss })
    local code, out = h.run(sb, "apply --config " .. q(cfg) .. " --pair " .. PAIR)
    assert.are.equal(1, code, out)
    assert.truthy(out:find("exists without the tag kumo:pair=" .. PAIR, 1, true), out)
    local tag = ([[python3 -c "import boto3; boto3.Session(profile_name='rds').client('iam')]]
      .. [[.tag_role(RoleName='kumo-orders-pg-proxy-secret', Tags=[{'Key': 'kumo:pair', 'Value': ']]
      .. PAIR .. [['}])"]])
    assert.is_true(os.execute("cd " .. q(sb.dir) .. " && . ./env.sh && " .. tag) == true)
    -- an earlier run's intent (with its token) makes the same answer "mine"
    j = h.journal(state, PAIR)
    j.resources.role = { status = "creating", info = { name = "kumo-orders-pg-proxy-secret" }, token = "t-1" }
    h.write_journal(state, PAIR, j)
    sb.faults({ miss })
    code, out = h.run(sb, "apply --config " .. q(cfg) .. " --pair " .. PAIR .. " --output json")
    sb.faults({})
    assert.are.equal(0, code, out)
    local r = json.decode(out).pairs[1]
    local adopted
    for _, c in ipairs(r.calls) do
      if c.call == "iam:CreateRole" then adopted = c.note end
    end
    assert.are.equal("adopted (EntityAlreadyExists after an earlier run's intent)", adopted)
    local role = h.journal(state, PAIR).resources.role
    assert.are.equal("created", role.status)
    assert.truthy(role.id:find(":role/kumo-orders-pg-proxy-secret", 1, true))
    assert.is_nil(role.token, "the token is cleared once the resource is recorded")
    h.assert_count(sb, PAIR, 1)
  end)

  it("destroy reads every delete back: a 'not found' answer for a role still there fails, named", function()
    -- DeleteRole answers NoSuchEntity without deleting (the issue's "taken
    -- as already gone"): the read-back must catch it
    sb.faults({ { op = "DeleteRole", kind = "error", code = "NoSuchEntity", status = 404,
                  message = "The role cannot be found.", times = 1 } })
    local code, out = h.run(sb, "destroy --config " .. q(cfg) .. " --pair " .. PAIR)
    sb.faults({})
    assert.are.equal(1, code, out)
    assert.truthy(out:find("still there IAM role for the proxy", 1, true), out)
    assert.truthy(out:find("IAM role for the proxy arn:aws:iam::222222222222:role/kumo-orders-pg-proxy-secret "
      .. "is still there after its delete", 1, true), out)
    assert.is_nil(out:find("delete     IAM role", 1, true), "no 'delete' for what is still there:\n" .. out)
    assert.are.equal(1, h.inspect(sb, PAIR).role)
    code, out = h.run(sb, "destroy --config " .. q(cfg) .. " --pair " .. PAIR)
    assert.are.equal(0, code, out)
    assert.truthy(out:find("delete     IAM role for the proxy", 1, true), out)
    local doc = h.assert_count(sb, PAIR, 0)
    assert.are.same(before_rules, doc.db_sg_rules, "the DB team's SG is back to its rules before apply")
  end)

  it("SIGINT and SIGTERM stop an apply within seconds, keep the journal, and the rerun converges", function()
    sb.faults({}, 60)
    for _, sig in ipairs{ { "INT", 130 }, { "TERM", 143 } } do
      local bg = h.spawn(sb, apply_args())
      clock.sleep(2)
      assert.truthy(bg.running(), "the apply is still running when signalled")
      local t0 = clock.monotonic()
      bg.signal(sig[1])
      local code, out, err = bg.wait(60)
      local took = clock.monotonic() - t0
      assert.are.equal(sig[2], code, out .. err)
      assert.truthy(took < 6, "stopped " .. took .. " s after SIG" .. sig[1])
      assert.truthy(err:find("interrupted: journal kept in " .. state .. "; rerun apply to resume", 1, true), err)
      assert.truthy(out:find("interrupted by SIG" .. sig[1], 1, true), out)
    end
    -- a second SIGINT ends at once (slower answers: after the two runs
    -- above the apply may have only its reads left, done within 1.5 s)
    sb.faults({}, 300)
    local bg = h.spawn(sb, apply_args())
    clock.sleep(1.5)
    bg.signal("INT")
    clock.sleep(0.05)
    local t0 = clock.monotonic()
    bg.signal("INT")
    local code = bg.wait(60)
    assert.are.equal(130, code)
    assert.truthy(clock.monotonic() - t0 < 1, "the second SIGINT ended the run at once")
    sb.faults({}, 0)
    local out, err
    code, out, err = h.run(sb, apply_args())
    assert.are.equal(0, code, out .. err)
    h.assert_count(sb, PAIR, 1)
    code, out, err = h.run(sb, "destroy --quiet --config " .. q(cfg) .. " --pair " .. PAIR)
    assert.are.equal(0, code, out .. err)
    local doc = h.assert_count(sb, PAIR, 0)
    assert.are.same(before_rules, doc.db_sg_rules)
  end)

  it("throttling beyond the retries: the run says the config is fine, and the rerun converges", function()
    -- six throttled answers in a row: more than the standard retry policy's
    -- attempts (a longer policy may ride them out: then the run succeeds)
    sb.faults({ { op = "GetRole", kind = "throttle", times = 6 } })
    local code, out, err = h.run(sb, apply_args())
    sb.faults({})
    if code ~= 0 then
      assert.are.equal(1, code, out .. err)
      assert.truthy(out:find("error: AWS throttled/unavailable", 1, true), out)
      assert.truthy(out:find("; the config is fine; rerun apply to resume", 1, true), out)
      code, out, err = h.run(sb, apply_args())
    end
    assert.are.equal(0, code, out .. err)
    h.assert_count(sb, PAIR, 1)
    code, out, err = h.run(sb, "destroy --quiet --config " .. q(cfg) .. " --pair " .. PAIR)
    assert.are.equal(0, code, out .. err)
  end)

  it("replaces what cannot change in place only when asked (--replace STEP)", function()
    local code, out, err = h.run(sb, apply_args())
    assert.are.equal(0, code, out .. err)
    -- a third APP subnet: the endpoint's subnets cannot change in place
    local third = sb.world.app.subnets[3].id
    local path = h.config_with(sb, function(t)
      return (t:gsub('(subnet_ids = { "subnet%-[%w]+", "subnet%-[%w]+")', '%1, "' .. third .. '"', 1))
    end, "three-subnets")
    local args = "--config " .. q(path) .. " --pair " .. PAIR
    code, out = h.run(sb, "plan " .. args)
    assert.are.equal(0, code, out)
    assert.truthy(out:find("replace (an endpoint's subnets cannot change in place)", 1, true), out)
    local base = h.mutating(sb)
    code, out = h.run(sb, "apply " .. args)
    assert.are.equal(1, code, out)
    assert.truthy(out:find("endpoint: an endpoint's subnets cannot change in place; rerun with --replace endpoint "
      .. "(deletes and re-creates only it)", 1, true), out)
    local old_ep = h.journal(state, PAIR).resources.endpoint.id
    assert.truthy(h.mutating(sb) > base, "the share gained the subnet before the endpoint step stopped")
    code, out, err = h.run(sb, "apply --replace endpoint " .. args)
    assert.are.equal(0, code, out .. err)
    assert.truthy(out:find("- delete     proxy endpoint", 1, true), out)
    assert.truthy(out:find("+ create     proxy endpoint", 1, true), out)
    assert.are_not.equal(old_ep, h.journal(state, PAIR).resources.endpoint.id, "a new endpoint is journaled")
    code, out = h.run(sb, "plan --output json " .. args)
    assert.are.equal(0, code, out)
    for _, a in ipairs(json.decode(out).pairs[1].actions) do
      assert.are.equal("unchanged", a.action, a.resource .. " converged")
    end
    h.assert_count(sb, PAIR, 1)
    code, out, err = h.run(sb, "destroy --quiet " .. args)
    assert.are.equal(0, code, out .. err)
    assert.are.same(before_rules, h.assert_count(sb, PAIR, 0).db_sg_rules)
  end)
end)
