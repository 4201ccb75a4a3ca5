-- The workflow's --output json against its documented schema
-- (docs/schema/rds-proxy-share-1.json, checked by tests/lib/jsonschema.lua):
-- on success (plan on the sandbox), on a failed pair (verify before apply,
-- exit 1), on usage and config errors (exit 2, the document still on
-- stdout), and the structured error of a pair that failed in a step.
local root = os.getenv("KUMO_ROOT") or "."
local json = require "kumo.json"
local sandbox = dofile(root .. "/tests/lib/sandbox.lua")
local jsonschema = dofile(root .. "/tests/lib/jsonschema.lua")
package.path = root .. "/scripts/?.lua;" .. package.path
local report = require "rds-proxy.report"

local q = sandbox.shell_quote
local SCRIPT = root .. "/scripts/rds-proxy-share.lua"
local SCHEMA = json.decode(assert(sandbox.read_file(root .. "/docs/schema/rds-proxy-share-1.json")))

local function run(args, env)
  local out, err = os.tmpname(), os.tmpname()
  local _, _, code = os.execute(string.format("%s %s run %s %s >%s 2>%s </dev/null", env or "",
    q(root .. "/bin/kumo"), q(SCRIPT), args, out, err))
  local o, e = sandbox.read_file(out) or "", sandbox.read_file(err) or ""
  os.remove(out); os.remove(err)
  return code, o, e
end

-- stdout is exactly one JSON document valid against the schema
local function valid_doc(out, code)
  local doc = assert(json.decode(out), "stdout is not JSON: " .. out)
  local ok, errs = jsonschema.validate(doc, SCHEMA)
  assert(ok, "not valid against the schema:\n" .. table.concat(errs or {}, "\n") .. "\n" .. out)
  assert.equal("kumo.rds-proxy-share/1", doc.schema)
  assert.equal(report.SCHEMA, doc.schema)
  assert.equal(code, doc.exit)
  return doc
end

describe("--output json and its schema", function()
  it("the checker refuses documents the schema does not allow", function()
    local good = { schema = "kumo.rds-proxy-share/1", action = "plan", exit = 0,
      pairs = json.array{}, errors = json.array{} }
    assert.is_true((jsonschema.validate(good, SCHEMA)))
    local bad = {
      { action = "plan", exit = 0, pairs = json.array{}, errors = json.array{} },         -- no schema
      { schema = "kumo.rds-proxy-share/2", action = "plan", exit = 0, pairs = json.array{}, errors = json.array{} },
      { schema = "kumo.rds-proxy-share/1", action = "plan", exit = 0, pairs = json.array{},
        errors = json.array{ { code = "X", message = "m", pair = json.null, step = json.null } } }, -- no retryable
      { schema = "kumo.rds-proxy-share/1", action = "plan", exit = 0.5, pairs = json.array{}, errors = json.array{} },
      { schema = "kumo.rds-proxy-share/1", action = "plan", exit = 0, pairs = json.array{},
        errors = json.array{}, extra = 1 },
    }
    for i, doc in ipairs(bad) do assert.is_false((jsonschema.validate(doc, SCHEMA)), "case " .. i) end
  end)

  describe("exit 2 still prints the document", function()
    it("a usage error", function()
      local code, out, err = run("bogus --output json")
      assert.equal(2, code)
      assert.matches("unknown action bogus", err)
      local doc = valid_doc(out, 2)
      assert.equal(json.null, doc.action)
      assert.equal(1, #doc.errors)
      assert.equal("UsageError", doc.errors[1].code)
      assert.matches("unknown action bogus", doc.errors[1].message)
      assert.equal(0, #doc.pairs)
    end)

    it("a config that cannot be read", function()
      local code, out = run("plan --output json --config /nonexistent/kumo.lua")
      assert.equal(2, code)
      local doc = valid_doc(out, 2)
      assert.equal("plan", doc.action)
      assert.equal("ConfigError", doc.errors[1].code)
      assert.matches("/nonexistent/kumo.lua", doc.errors[1].message)
    end)

    it("a config with several errors: one structured error each", function()
      local path = os.tmpname()
      local f = assert(io.open(path, "w")); f:write("return {}\n"); f:close()
      local code, out = run("apply --config " .. q(path) .. " --output json")
      os.remove(path)
      assert.equal(2, code)
      local doc = valid_doc(out, 2)
      assert.equal(2, #doc.errors)
      for _, e in ipairs(doc.errors) do
        assert.equal("ConfigError", e.code)
        assert.is_false(e.retryable)
      end
      assert.matches("region", doc.errors[1].message)
      assert.matches("pairs", doc.errors[2].message)
    end)

    it("without --output json stdout stays empty", function()
      local code, out = run("plan --config /nonexistent/kumo.lua")
      assert.equal(2, code)
      assert.equal("", out)
    end)
  end)

  it("a pair failed in a step: code, message, pair, step, retryable", function()
    local r = { pair = "orders-pg", action = "apply", outcome = "failed", steps = {}, calls = {},
      problems = {}, notes = {}, error = "rds CreateDBProxy: Throttling: Rate exceeded",
      error_info = { code = "Throttling", step = "proxy", retryable = true } }
    local doc = json.decode(report.json("apply", { r }, 1))
    assert(jsonschema.validate(doc, SCHEMA))
    assert.same({ code = "Throttling", message = r.error, pair = "orders-pg", step = "proxy",
      retryable = true }, doc.errors[1])
    assert.same(doc.errors[1], doc.pairs[1].errors[1])
  end)

  describe("on the sandbox", function()
    local sb, cfg, env
    setup(function()
      sb = sandbox.start{}
      cfg = sb.dir .. "/workflow.lua"
      local parts = { "env -u AWS_PROFILE -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN" }
      for k, v in pairs(sb.env) do parts[#parts + 1] = k .. "=" .. q(v) end
      env = table.concat(parts, " ")
    end)
    teardown(function() if sb then sb.stop() end end)

    it("plan (exit 0) is valid, with no errors", function()
      local code, out, err = run("plan --quiet --pair orders-pg --output json --config " .. q(cfg), env)
      assert.equal(0, code, err)
      local doc = valid_doc(out, 0)
      assert.equal("plan", doc.action)
      assert.equal(0, #doc.errors)
      assert.equal("orders-pg", doc.pairs[1].pair)
      assert.equal("ok", doc.pairs[1].outcome)
      assert.is_true(#doc.pairs[1].actions > 0)
    end)

    it("verify before apply (exit 1) is valid: the pair failed with problems", function()
      local code, out, err = run("verify --quiet --pair orders-pg --output json --config " .. q(cfg), env)
      assert.equal(1, code, err)
      local doc = valid_doc(out, 1)
      assert.equal("failed", doc.pairs[1].outcome)
      assert.is_true(#doc.pairs[1].problems > 0)
    end)
  end)
end)
