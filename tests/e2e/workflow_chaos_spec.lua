-- The workflow's long trust matrix (issue 11), run by `make chaos` (not in
-- the default suite: about 15 minutes on the 2-core machine). Against the
-- sandbox with SigV4 and IAM checks on; every result read back with boto3
-- (tests/e2e/inspect_pair.py):
-- * kill -9 at 12 points of apply and 8 of destroy (right after the
--   sandbox counted the Nth changing call), SIGINT/SIGTERM at 4: each rerun
--   converges with one of each (apply) or nothing left (destroy);
-- * 25 % throttling + 10 % 503 + 5 % dropped connections on every call of
--   both accounts: apply and destroy each succeed in ONE run;
-- * 50 % throttling: a run converges or says "AWS throttled/unavailable
--   ...; the config is fine; rerun apply to resume", and the next converges;
-- * every create's answer lost once: one apply run, one of each; every
--   delete's answer lost once: one destroy run, nothing left; every
--   update's answer lost once: one apply run reaches the new config;
-- * two applies with different state folders started together: plan and
--   verify report the duplicates, the next apply removes them;
-- * three apply/destroy cycles leave the DB team's SG as it was.
-- The fault kinds `lose` and `rate` are the sandbox's (docs/sandbox.md).
local root = os.getenv("KUMO_ROOT") or "."
local sandbox = dofile(root .. "/tests/lib/sandbox.lua")
local h = dofile(root .. "/tests/e2e/workflow_helpers.lua")
local json = require "kumo.json"
local clock = require "kumo.clock"

local q = h.q
local PAIR = "orders-pg"
local SECRET = "orders-pg-proxy-db"

-- The config with a secret kumo creates (so CreateSecret is exercised too),
-- holding the seeded database user's credentials (the sandbox's proxy
-- checks them, as RDS does).
local function secret_config(sb)
  local db = h.secret_json(sb, sb.world.rds.databases.postgres.secret_arn)
  return h.config_with(sb, function(t)
    local out = t:gsub('secret_arn = "[^"]+"', string.format('secret = { name = %q, username = %q, password = %q }',
      SECRET, db.username, db.password), 1)
    return out
  end, "chaos")
end

-- The sandbox's counts of the calls each rule hit.
local function fired(sb)
  local out = {}
  for i, r in ipairs(sb.control("GET", "/_kumo/faults").rules or {}) do out[i] = r.fired or 0 end
  return out
end

-- Set fault rules and fail clearly when the sandbox does not know them.
local function faults(sb, rules, latency)
  local res = sb.faults(rules, latency)
  assert(type(res) == "table" and not res.error, "the sandbox refused the fault rules ("
    .. json.encode(res) .. "): it needs the fault kinds of docs/sandbox.md (rate, lose)")
  return res
end

describe("rds-proxy-share chaos matrix", function()
  local sb, cfg, before

  setup(function()
    sb = sandbox.start{ lifecycle = "all=1" }
    cfg = secret_config(sb)
    before = h.inspect(sb, PAIR).db_sg_rules
  end)

  teardown(function()
    if sb then sb.stop() end
  end)

  local function act(action, extra)
    return action .. " --quiet --config " .. q(cfg) .. " --pair " .. PAIR .. (extra and (" " .. extra) or "")
  end

  local function converged(n)
    local doc = h.assert_count(sb, PAIR, n, SECRET)
    if n == 0 then assert.are.same(before, doc.db_sg_rules, "the DB team's SG is back to its rules") end
    return doc
  end

  local function clean()
    faults(sb, {}, 0)
    local code, out, err = h.run(sb, act("destroy"))
    assert.are.equal(0, code, out .. err)
    converged(0)
  end

  it("kill -9 at 12 points of apply: every rerun converges with one of each", function()
    clean()
    faults(sb, {}, 20)
    local killed = 0
    for n = 1, 12 do
      local code = h.kill_after_calls(sb, act("apply"), n)
      if code == 137 then killed = killed + 1 end
      local c, out, err = h.run(sb, act("apply"))
      assert.are.equal(0, c, "after a kill at call " .. n .. ":\n" .. out .. err)
      converged(1)
      c, out, err = h.run(sb, act("destroy"))
      assert.are.equal(0, c, out .. err)
      converged(0)
    end
    assert.truthy(killed >= 10, "killed " .. killed .. " of 12 applies mid-way")
  end)

  it("kill -9 at 8 points of destroy: every rerun leaves nothing", function()
    faults(sb, {}, 20)
    local killed = 0
    for n = 1, 8 do
      local c, out, err = h.run(sb, act("apply"))
      assert.are.equal(0, c, out .. err)
      local code = h.kill_after_calls(sb, act("destroy"), n)
      if code == 137 then killed = killed + 1 end
      c, out, err = h.run(sb, act("destroy"))
      assert.are.equal(0, c, "after a kill at call " .. n .. ":\n" .. out .. err)
      converged(0)
    end
    assert.truthy(killed >= 6, "killed " .. killed .. " of 8 destroys mid-way")
  end)

  it("SIGINT/SIGTERM at 4 points: message, 130/143, the rerun converges", function()
    faults(sb, {}, 20)
    for i, n in ipairs{ 2, 4, 6, 8 } do
      local sig, want = i % 2 == 1 and "INT" or "TERM", i % 2 == 1 and 130 or 143
      clean()
      faults(sb, {}, 20)
      local base = h.mutating(sb)
      local bg = h.spawn(sb, act("apply"))
      while bg.running() and h.mutating(sb) - base < n do clock.sleep(0.02) end
      bg.signal(sig)
      local code, out, err = bg.wait(60)
      assert.are.equal(want, code, out .. err)
      assert.truthy(err:find("; rerun apply to resume", 1, true), err)
      code, out, err = h.run(sb, act("apply"))
      assert.are.equal(0, code, out .. err)
      converged(1)
    end
    clean()
  end)

  it("25 % throttling + 10 % 503 + 5 % drops on every call: apply and destroy each in ONE run", function()
    faults(sb, {
      { op = "*", kind = "throttle", rate = 0.25, seed = 11 },
      { op = "*", kind = "503", rate = 0.10, seed = 12 },
      { op = "*", kind = "drop", rate = 0.05, seed = 13 },
    }, 0)
    local code, out, err = h.run(sb, act("apply"))
    assert.are.equal(0, code, out .. err)
    converged(1)
    code, out, err = h.run(sb, act("destroy"))
    assert.are.equal(0, code, out .. err)
    local hits = fired(sb)
    faults(sb, {}, 0)
    -- the rates hit many calls (a sandbox without `rate` would fire each rule once)
    assert.truthy(hits[1] >= 10 and hits[2] >= 3 and hits[3] >= 1, "faults fired: " .. json.encode(hits))
    converged(0)
  end)

  it("50 % throttling: converges, or says so and the next run converges; never a duplicate", function()
    faults(sb, { { op = "*", kind = "throttle", rate = 0.5, seed = 21 } }, 0)
    local code, out, err = h.run(sb, act("apply"))
    if code ~= 0 then
      assert.truthy(out:find("AWS throttled/unavailable", 1, true), out .. err)
      assert.truthy(out:find("the config is fine; rerun apply to resume", 1, true), out)
      local doc = h.inspect(sb, PAIR, SECRET)
      assert.truthy(doc.share <= 1 and doc.proxy <= 1 and doc.role <= 1, json.encode(doc))
      code, out, err = h.run(sb, act("apply"))
    end
    assert.are.equal(0, code, out .. err)
    converged(1)
    clean()
  end)

  -- Lose the answer of each of `ops` once (the server acts, the client
  -- sees the connection drop), run `action` once: it must succeed, and
  -- each rule must have fired exactly once.
  local function lost_once(ops, action)
    local rules = {}
    for _, op in ipairs(ops) do rules[#rules + 1] = { op = op, kind = "lose", times = 1 } end
    faults(sb, rules, 0)
    local code, out, err = h.run(sb, act(action))
    assert.are.equal(0, code, out .. err)
    for i, n in ipairs(fired(sb)) do
      assert.truthy(n == 1, "the answer of " .. rules[i].op .. " was lost once (fired " .. n .. ")")
    end
    faults(sb, {}, 0)
  end

  it("every create's answer lost once: one apply run, one of each", function()
    lost_once({ "CreateResourceShare", "CreateSecret", "CreateRole", "PutRolePolicy", "CreateSecurityGroup",
                "AuthorizeSecurityGroupIngress", "CreateDBProxy", "RegisterDBProxyTargets", "CreateDBProxyEndpoint" },
      "apply")
    converged(1)
    local code, out = h.run(sb, act("verify"))
    assert.are.equal(0, code, out)
    clean()
  end)

  -- a delete resent after its answer was lost meets the resource already
  -- going: "deleting" (a proxy, an endpoint) or not found is the delete
  -- under way, not a failure
  it("every delete's answer lost once: one destroy run, nothing left", function()
    faults(sb, {}, 0)
    local code, out, err = h.run(sb, act("apply"))
    assert.are.equal(0, code, out .. err)
    converged(1)
    lost_once({ "DeleteDBProxyEndpoint", "DeleteDBProxy", "DeleteSecurityGroup", "RevokeSecurityGroupIngress",
                "DeleteRolePolicy", "DeleteRole", "DeleteSecret", "DeleteResourceShare" }, "destroy")
    converged(0)
  end)

  -- an update resent after its answer was lost meets the proxy or the
  -- endpoint `modifying` (or already renamed): the update under way
  it("every update's answer lost once: one apply run reaches the new config", function()
    faults(sb, {}, 0)
    local code, out, err = h.run(sb, act("apply"))
    assert.are.equal(0, code, out .. err)
    local changed = h.config_with(sb, function()
      return (h.slurp(cfg):gsub("idle_client_timeout = 1800,", "idle_client_timeout = 900, max_connections_percent = 60,", 1)
        :gsub('"orders%-pg%-app"', '"orders-pg-app2"', 1):gsub('Project = "kumo%-sandbox"', 'Project = "kumo-chaos"', 1))
    end, "chaos-update")
    local path = cfg
    cfg = changed
    local ops = { "ModifyDBProxy", "ModifyDBProxyTargetGroup", "ModifyDBProxyEndpoint", "AddTagsToResource",
                  "CreateTags", "TagRole" }
    lost_once(ops, "apply")
    code, out, err = h.run(sb, act("verify"))
    assert.are.equal(0, code, out .. err)
    local base = h.mutating(sb)
    code, out, err = h.run(sb, act("apply"))
    assert.are.equal(0, code, out .. err)
    assert.are.equal(base, h.mutating(sb), "the second apply changes nothing:\n" .. out)
    -- and back (the endpoint renamed again), through the same losses
    cfg = path
    lost_once(ops, "apply")
    converged(1)
    code, out, err = h.run(sb, act("verify"))
    assert.are.equal(0, code, out .. err)
    clean()
  end)

  it("two applies with different state folders at once: duplicates reported, then removed", function()
    clean()
    faults(sb, {}, 30)
    local a = h.spawn(sb, act("apply", "--state " .. q(sb.dir .. "/state-a")))
    local b = h.spawn(sb, act("apply", "--state " .. q(sb.dir .. "/state-b")))
    a.wait(300)
    b.wait(300)
    faults(sb, {}, 0)
    local doc = h.inspect(sb, PAIR, SECRET)
    local code, out = h.run(sb, "plan --config " .. q(cfg) .. " --pair " .. PAIR .. " --state " .. q(sb.dir .. "/state-a"))
    assert.are.equal(0, code, out)
    if doc.share > 1 then
      assert.truthy(out:find("duplicate (apply deletes it) RAM resource share", 1, true), out)
      code, out = h.run(sb, "verify --config " .. q(cfg) .. " --pair " .. PAIR .. " --state " .. q(sb.dir .. "/state-a"))
      assert.are.equal(1, code, out)
      assert.truthy(out:find("a duplicate arn:", 1, true), out)
    end
    local err
    code, out, err = h.run(sb, act("apply", "--state " .. q(sb.dir .. "/state-a")))
    assert.are.equal(0, code, out .. err)
    converged(1)
    code, out = h.run(sb, "verify --config " .. q(cfg) .. " --pair " .. PAIR .. " --state " .. q(sb.dir .. "/state-a"))
    assert.are.equal(0, code, out)
    code, out, err = h.run(sb, act("destroy", "--state " .. q(sb.dir .. "/state-a")))
    assert.are.equal(0, code, out .. err)
    converged(0)
  end)

  it("three apply/destroy cycles leave the DB team's SG exactly as it was", function()
    for i = 1, 3 do
      local code, out, err = h.run(sb, act("apply"))
      assert.are.equal(0, code, "cycle " .. i .. ":\n" .. out .. err)
      converged(1)
      code, out, err = h.run(sb, act("destroy"))
      assert.are.equal(0, code, "cycle " .. i .. ":\n" .. out .. err)
      converged(0)
    end
  end)
end)
