--- rds-proxy.rollout: counts, shards, order, and the waves over a fake
-- pair runner (each pair takes scheduler time, so pairs really overlap).
local root = os.getenv("KUMO_ROOT") or "."
package.path = root .. "/scripts/?.lua;" .. package.path
local rollout = require "rds-proxy.rollout"
local sched = require "kumo.sched"

local function pairs_named(n, tags_of)
  local list = {}
  for i = 1, n do
    local name = string.format("app-%02d", i)
    list[i] = { name = name, tags = tags_of and tags_of(i) or {}, app = {}, rds = {} }
  end
  return list
end

-- A runner: `fail[name]` fails; every run takes `secs`; `log` keeps the
-- order of starts and the most pairs running at once.
local function fake_runner(fail, secs)
  local log = { starts = {}, running = 0, most = 0, actions = {} }
  function log.run(pair, action)
    log.starts[#log.starts + 1] = pair.name
    log.actions[#log.actions + 1] = pair.name .. ":" .. action
    log.running = log.running + 1
    log.most = math.max(log.most, log.running)
    sched.sleep(secs or 0.01)
    log.running = log.running - 1
    local bad = fail[pair.name] and (fail[pair.name] == true or fail[pair.name] == action)
    local calls = action == "apply" and { { call = "CreateDBProxy" } } or {}
    return { pair = pair.name, action = action, outcome = bad and "failed" or "ok", steps = {},
             calls = calls, problems = {}, notes = {}, error = bad and ("broken " .. pair.name) or nil }
  end
  return log
end

local function memory_records()
  local store = {}
  return { get = function(n) return store[n] end, put = function(n, r) store[n] = r end, store = store }
end

local function by_pair(summary)
  local m = {}
  for _, p in ipairs(summary.pairs) do m[p.pair] = p end
  return m
end

describe("rds-proxy.rollout", function()
  it("reads counts and percentages of the pairs", function()
    assert.equal(5, rollout.amount("5", 50, "x"))
    assert.equal(5, rollout.amount("10%", 50, "x"))
    assert.equal(1, rollout.amount("1%", 7, "x"))   -- at least one when P > 0
    assert.equal(0, rollout.amount("0%", 7, "x"))
    assert.is_nil(rollout.amount("150%", 7, "--max-concurrent"))
    assert.matches("needs a count", select(2, rollout.amount("many", 7, "--x")))
  end)

  it("splits pairs into shards by a stable hash: every pair exactly once", function()
    assert.same({ 2, 3 }, { rollout.parse_shard("2/3") })
    assert.is_nil(rollout.parse_shard("4/3"))
    assert.is_nil(rollout.parse_shard("0/3"))
    local list = pairs_named(60)
    local seen, sizes = {}, {}
    for i = 1, 3 do
      local part = rollout.arrange(list, { shard = { i, 3 } })
      sizes[i] = #part
      for _, p in ipairs(part) do
        assert.is_nil(seen[p.name])
        seen[p.name] = i
      end
    end
    for _, p in ipairs(list) do assert.is_not_nil(seen[p.name]) end
    for i = 1, 3 do assert.is_true(sizes[i] > 5) end
    -- the same name, the same shard (sha256 of the name)
    assert.equal(seen["app-07"], rollout.shard_of("app-07", 3))
    assert.equal(tonumber(require("kumo.crypto").sha256_hex("app-07"):sub(1, 8), 16) % 3 + 1, seen["app-07"])
  end)

  it("orders by config, by name or by a tag (pairs without it last)", function()
    local list = pairs_named(5, function(i) return i ~= 3 and { wave = tostring(3 - i % 3) } or {} end)
    local names = function(l) local o = {} for i, p in ipairs(l) do o[i] = p.name end return o end
    assert.same({ "app-01", "app-02", "app-03", "app-04", "app-05" }, names(rollout.arrange(list, {})))
    -- waves: 01→2, 02→1, 04→2, 05→1; 03 has none
    assert.same({ "app-02", "app-05", "app-01", "app-04", "app-03" }, names(rollout.arrange(list, { order = "tag:wave" })))
  end)

  it("never runs more than max_concurrent pairs at once", function()
    local log = fake_runner({})
    local results, s = rollout.run(pairs_named(9), {}, { action = "apply", max_concurrent = 3, run_pair = log.run })
    assert.equal(3, log.most)
    assert.equal(9, s.ok)
    assert.equal(9, #results)
  end)

  it("stops starting pairs once failures exceed the tolerance; pairs in flight finish", function()
    local log = fake_runner({ ["app-02"] = true, ["app-03"] = true, ["app-05"] = true, ["app-07"] = true })
    local results, s = rollout.run(pairs_named(10), {}, { action = "apply", max_concurrent = 1,
      failure_tolerance = 2, run_pair = log.run })
    -- one at a time: 01 ok, 02 ✗, 03 ✗, 04 ok, 05 ✗ (the third: over 2) → nothing after
    assert.same({ "app-01", "app-02", "app-03", "app-04", "app-05" }, log.starts)
    assert.equal(2, s.ok)
    assert.equal(3, s.failed)
    assert.equal(5, s.not_started)
    assert.matches("3 pair%(s%) failed, more than the failure tolerance %(2%): no new pair started after app%-05", s.stopped)
    local m = by_pair(s)
    assert.equal("broken app-02", m["app-02"].error)
    assert.equal("not started", m["app-06"].outcome)
    assert.equal("not started", results[10].outcome)
    -- with two at once the pair already running when the limit is crossed still ends
    log = fake_runner({ ["app-01"] = true, ["app-02"] = true, ["app-03"] = true })
    local _, s2 = rollout.run(pairs_named(6), {}, { action = "apply", max_concurrent = 2,
      failure_tolerance = 1, run_pair = log.run })
    assert.equal(0, s2.ok)
    assert.is_true(s2.failed >= 2 and s2.failed <= 3)
    assert.equal(6 - #log.starts, s2.not_started)
  end)

  it("runs the canaries first (apply, then verify) and the rest only if they pass", function()
    local log = fake_runner({ ["app-02"] = "verify" })
    local _, s = rollout.run(pairs_named(5), {}, { action = "apply", canary = 2, max_concurrent = 5, run_pair = log.run })
    assert.same({ "app-01:apply", "app-02:apply", "app-01:verify", "app-02:verify" }, log.actions)
    assert.equal(1, s.ok)
    assert.equal(1, s.failed)
    assert.equal(3, s.not_started)
    assert.matches("canary failed %(app%-02%)", s.stopped)
    log = fake_runner({})
    _, s = rollout.run(pairs_named(4), {}, { action = "apply", canary = 1, max_concurrent = 4, run_pair = log.run })
    assert.equal(4, s.ok)
    assert.same({ "app-01:apply", "app-01:verify", "app-02:apply", "app-03:apply", "app-04:apply" }, log.actions)
    assert.is_true(by_pair(s)["app-01"].canary)
  end)

  it("checks pairs an earlier rollout applied with a plan, applies the others, and records each", function()
    local records = memory_records()
    local list = pairs_named(4)
    local log = fake_runner({ ["app-03"] = true })
    rollout.run(list, {}, { action = "apply", run_pair = log.run, records = records })
    assert.equal("ok", records.store["app-01"].outcome)
    assert.equal("failed", records.store["app-03"].outcome)
    assert.equal(rollout.fingerprint(list[1]), records.store["app-01"].fingerprint)
    -- the rerun: 3 fixed; the ok ones only planned
    log = fake_runner({})
    local _, s = rollout.run(list, {}, { action = "apply", run_pair = log.run, records = records })
    assert.same({ "app-01:plan", "app-02:plan", "app-03:apply", "app-04:plan" }, log.actions)
    local m = by_pair(s)
    assert.equal("checked", m["app-01"].rollout)
    assert.equal(0, m["app-01"].changing_calls)
    assert.equal("ran", m["app-03"].rollout)
    assert.equal(3, s.checked)
    -- a changed pair config, or --reapply, applies again
    list[2].rds.proxy_name = "renamed"
    log = fake_runner({})
    rollout.run(list, {}, { action = "apply", run_pair = log.run, records = records })
    assert.same({ "app-01:plan", "app-02:apply", "app-03:plan", "app-04:plan" }, log.actions)
    log = fake_runner({})
    rollout.run(list, {}, { action = "apply", run_pair = log.run, records = records, reapply = true })
    assert.same({ "app-01:apply", "app-02:apply", "app-03:apply", "app-04:apply" }, log.actions)
  end)

  it("applies a recorded pair while another run holds its lock (apply waits or names the holder)", function()
    local records = memory_records()
    local list = pairs_named(2)
    for _, p in ipairs(list) do
      records.put(p.name, { outcome = "ok", action = "apply", fingerprint = rollout.fingerprint(p) })
    end
    local log = fake_runner({})
    rollout.run(list, {}, { action = "apply", run_pair = log.run, records = records,
      held = function(name) return name == "app-02" end })
    assert.same({ "app-01:plan", "app-02:apply" }, log.actions)
  end)

  it("applies a recorded pair whose journal changed since (another run, an edit)", function()
    local records = memory_records()
    local list = pairs_named(2)
    local journals = { ["app-01"] = "h1", ["app-02"] = "h2" }
    local journal = function(name) return journals[name] end
    rollout.run(list, {}, { action = "apply", run_pair = fake_runner({}).run, records = records, journal = journal })
    assert.equal("h1", records.store["app-01"].journal)
    journals["app-02"] = "edited"
    local log = fake_runner({})
    rollout.run(list, {}, { action = "apply", run_pair = log.run, records = records, journal = journal })
    assert.same({ "app-01:plan", "app-02:apply" }, log.actions)
  end)

  it("applies a recorded pair again when its plan finds a change", function()
    local records = memory_records()
    local list = pairs_named(1)
    records.put("app-01", { outcome = "ok", action = "apply", fingerprint = rollout.fingerprint(list[1]) })
    local actions = {}
    local function run(pair, action)
      actions[#actions + 1] = action
      return { pair = pair.name, action = action, outcome = "ok", calls = {}, problems = {}, notes = {},
               steps = action == "plan" and { { name = "proxy", action = "create" } } or {} }
    end
    local results, s = rollout.run(list, {}, { action = "apply", run_pair = run, records = records })
    assert.same({ "plan", "apply" }, actions)
    assert.equal("reapplied", s.pairs[1].rollout)
    assert.matches("a plan now finds changes", results[1].notes[1])
  end)

  it("starts no new pair once interrupted (a signal); the pairs running end", function()
    local log = fake_runner({})
    local _, s = rollout.run(pairs_named(5), {}, { action = "apply", max_concurrent = 1, run_pair = log.run,
      interrupted = function() return #log.starts >= 2 end })
    assert.same({ "app-01", "app-02" }, log.starts)
    assert.equal(2, s.ok)
    assert.equal(3, s.not_started)
    assert.equal("interrupted: no new pair started", s.stopped)
  end)

  it("writes a summary naming each failure", function()
    local log = fake_runner({ ["app-02"] = true })
    local _, s = rollout.run(pairs_named(3), {}, { action = "apply", failure_tolerance = 0, max_concurrent = 1,
      run_pair = log.run })
    local text = rollout.summary_text(s)
    assert.matches("app%-02%s+failed%s+ran%s+1 changing call%(s%)  broken app%-02", text)
    assert.matches("1 ok %(0 checked with a plan, unchanged%), 1 failed, 1 not started", text)
    assert.matches("stopped: 1 pair%(s%) failed", text)
  end)

  describe("pairs = function(org)", function()
    local config = require "rds-proxy.config"
    local tmp = os.tmpname()
    after_each(function() os.remove(tmp) end)

    local function load(text)
      local f = assert(io.open(tmp, "w"))
      f:write(text)
      f:close()
      return assert(config.load(tmp))
    end

    -- An organizations client of `n` accounts in the OU "apps". Each call
    -- also runs `work` loop turns, standing for what a real call costs in
    -- Lua (request, signing, response parsing): 252 calls of 20000 turns
    -- are far more than the config's 2M instructions.
    local function org_of(n, work)
      local accounts = {}
      for i = 1, n do
        accounts[i] = { Id = tostring(300000000000 + i), Name = string.format("app-%03d", i),
                        Email = "x@example.com", Status = "ACTIVE", Arn = "arn:aws:organizations::1:account/o/x" }
      end
      local client = { calls = 0 }
      function client.call() end
      function client:all(op, params)
        self.calls = self.calls + 1
        local x = 0
        for k = 1, work do x = x + k end
        if op == "ListRoots" then return { { Id = "r-root" } }
        elseif op == "ListOrganizationalUnitsForParent" then
          return params.ParentId == "r-root" and { { Id = "ou-apps", Name = "apps" } } or {}
        elseif op == "ListAccountsForParent" then
          return params.ParentId == "ou-apps" and accounts or {}
        elseif op == "ListTagsForResource" then
          return { { Key = "team", Value = "orders" } }
        end
        error("unexpected " .. op)
      end
      return require("kumo.org").new(client), client
    end

    local CONFIG = [[
return { region = "ap-northeast-1",
  pairs = function(org)
    local out = {}
    for _, a in ipairs(org:accounts{ ou = "apps", tags = { team = "orders" } }) do
      out[#out + 1] = { name = a.name, app = { role_arn = a.role_arn }, rds = { profile = "rds" } }
    end
    return out
  end }
]]

    it("lists an organization of 250 accounts: its listing does not count against the config's limits", function()
      local org, client = org_of(250, 20000)
      local out, err = rollout.expand(load(CONFIG), org)
      assert.is_nil(err)
      assert.equal(250, #out.pairs)
      assert.equal("app-250", out.pairs[250].name)
      assert.equal("arn:aws:iam::300000000250:role/OrganizationAccountAccessRole", out.pairs[250].app.role_arn)
      assert.is_true(client.calls >= 250)
    end)

    it("reads the accounts' tags a few at a time (kumo.org.CONCURRENCY), each account once", function()
      local org, client = org_of(12, 0)
      local running, most, tagged = 0, 0, {}
      local all = client.all
      function client:all(op, params)
        if op ~= "ListTagsForResource" then return all(self, op, params) end
        tagged[params.ResourceId] = (tagged[params.ResourceId] or 0) + 1
        running = running + 1
        most = math.max(most, running)
        sched.sleep(0.02)
        running = running - 1
        return params.ResourceId == "300000000003" and {} or all(self, op, params)
      end
      local list = org:accounts{ ou = "apps", tags = { team = "orders" }, exclude = { "app-005" } }
      assert.equal(10, #list)   -- 12, less the excluded one and the untagged one
      assert.equal(require("kumo.org").CONCURRENCY, most)
      local n = 0
      for id, times in pairs(tagged) do n = n + 1; assert.equal(1, times, id) end
      assert.equal(11, n)
      assert.equal("app-001", list[1].name)
      assert.equal("app-004", list[3].name)
    end)

    it("still stops the config's own endless loop, naming its line", function()
      local org = org_of(3, 0)
      local out, err = rollout.expand(load([[
return { region = "ap-northeast-1",
  pairs = function(org)
    local n = #org:accounts{}
    while true do n = n + 1 end
  end }
]]), org)
      assert.is_nil(out)
      assert.matches(":4: stopped after 2000000 instructions", err)
    end)

    it("keeps the config confined inside pairs(org): no require, capped string.rep as a method", function()
      local org = org_of(3, 0)
      local out, err = rollout.expand(load([[
return { region = "x", pairs = function(org) return require("os") end }
]]), org)
      assert.is_nil(out)
      assert.matches("require is not available", err)
      out, err = rollout.expand(load([[
return { region = "x", pairs = function(org) local s = ("x"):rep(64 * 1024 * 1024) return { s } end }
]]), org)
      assert.is_nil(out)
      assert.matches("would take the config over its memory limit", err)
    end)

    it("hands the config functions only: no client to make other calls with", function()
      local org = org_of(3, 0)
      local out = assert(rollout.expand(load([[
return { region = "x", pairs = function(org)
  local kinds = {}
  for k, v in pairs(org) do kinds[#kinds + 1] = k .. "=" .. type(v) end
  table.sort(kinds)
  return { { name = table.concat(kinds, ",") } }
end }
]]), org))
      assert.equal("accounts=function,root=function,tags=function,unit_id=function,units=function",
        out.pairs[1].name)
    end)
  end)
end)
