-- Changing calls met by a busy resource (Ctx:when_ready), without AWS: a
-- delete answered "invalid state" reads the resource; `deleting` or gone
-- is the delete under way (a delete resent after its answer was lost),
-- `creating` or `modifying` is waited for and deleted again; an update is
-- waited for and made again. The end-to-end cases (every delete's and
-- every update's answer lost once) are in tests/e2e/workflow_chaos_spec.lua.
local root = os.getenv("KUMO_ROOT") or "."
package.path = root .. "/scripts/?.lua;" .. package.path
local proxy = require "rds-proxy.steps.proxy"
local endpoint = require "rds-proxy.steps.endpoint"
local Ctx = require("rds-proxy.context").Ctx

-- A context whose mutate answers `answers[op]` in turn (an error code, or
-- nil for success) and whose reads answer the statuses of `statuses` in
-- turn; it records every call.
local function fake(answers, statuses)
  local calls = {}
  local ctx = {
    pair = { name = "p", rds = { proxy_name = "px" } }, timeouts = {}, calls = calls, action = "destroy",
    progress = function() end, when_ready = Ctx.when_ready,
  }
  function ctx.mutate(_, _, _, op, _, ok_codes, opts)
    calls[#calls + 1] = op
    local code = table.remove(answers[op] or {}, 1)
    if code == nil then return {} end
    for _, c in ipairs(ok_codes or {}) do if c == code then return nil, code end end
    for _, c in ipairs(opts and opts.pending or {}) do if c == code then return nil, code end end
    error({ code = code }, 0)
  end
  function ctx.fresh(self, fn, ...) return fn(...) end
  function ctx.read(_, _, _, op)
    calls[#calls + 1] = op
    local status = table.remove(statuses, 1)
    if status == "gone" then return nil, { code = op == "DescribeDBProxies" and "DBProxyNotFoundFault"
      or "DBProxyEndpointNotFoundFault" } end
    if op == "DescribeDBProxies" then return { DBProxies = { { DBProxyName = "px", Status = status } } } end
    return { DBProxyEndpoints = { { DBProxyEndpointName = "ep", Status = status } } }
  end
  function ctx.wait(_, _, _, name)
    calls[#calls + 1] = "wait " .. name
    return {}
  end
  -- the endpoints the proxy delete waits for: none here
  ctx.survey = nil
  return ctx
end

describe("the proxy's delete", function()
  local endpoints_of
  setup(function()
    endpoints_of = endpoint.endpoints_of
    endpoint.endpoints_of = function() return {} end
  end)
  teardown(function() endpoint.endpoints_of = endpoints_of end)

  it("takes a proxy already deleting as the delete under way", function()
    local ctx = fake({ DeleteDBProxy = { "InvalidDBProxyStateFault" } }, { "deleting" })
    assert.are.equal("gone", proxy.delete(ctx, { DBProxyName = "px" }))
    assert.are.same({ "DeleteDBProxy", "DescribeDBProxies", "wait DBProxyDeleted" }, ctx.calls)
  end)

  it("waits for a proxy still modifying, then deletes it again", function()
    local ctx = fake({ DeleteDBProxy = { "InvalidDBProxyStateFault" } }, { "modifying" })
    proxy.delete(ctx, { DBProxyName = "px" })
    assert.are.same({ "DeleteDBProxy", "DescribeDBProxies", "wait DBProxyAvailable", "DeleteDBProxy",
                      "wait DBProxyDeleted" }, ctx.calls)
  end)

  it("names the proxy and the fix when the state never lets it go", function()
    local ctx = fake({ DeleteDBProxy = { "InvalidDBProxyStateFault", "InvalidDBProxyStateFault",
      "InvalidDBProxyStateFault" } }, { "modifying", "modifying", "modifying" })
    local ok, err = pcall(proxy.delete, ctx, { DBProxyName = "px" })
    assert.is_false(ok)
    assert.truthy(tostring(err):find("proxy px: DeleteDBProxy kept answering InvalidDBProxyStateFault", 1, true), err)
    assert.truthy(tostring(err):find("rerun destroy", 1, true), err)
  end)

  it("raises any other error as it is", function()
    local ctx = fake({ DeleteDBProxy = { "AccessDenied" } }, {})
    local ok, err = pcall(proxy.delete, ctx, { DBProxyName = "px" })
    assert.is_false(ok)
    assert.are.equal("AccessDenied", err.code)
  end)
end)

describe("the endpoint's delete", function()
  it("takes an endpoint gone or deleting as the delete under way", function()
    for _, status in ipairs{ "gone", "deleting" } do
      local ctx = fake({ DeleteDBProxyEndpoint = { "InvalidDBProxyEndpointStateFault" } }, { status })
      assert.are.equal("gone", endpoint.delete(ctx, { DBProxyEndpointName = "ep", DBProxyName = "px" }))
      assert.are.same({ "DeleteDBProxyEndpoint", "DescribeDBProxyEndpoints", "wait DBProxyEndpointDeleted" },
        ctx.calls, status)
    end
  end)

  it("waits for an endpoint still creating, then deletes it again", function()
    local ctx = fake({ DeleteDBProxyEndpoint = { "InvalidDBProxyEndpointStateFault" } }, { "creating" })
    endpoint.delete(ctx, { DBProxyEndpointName = "ep", DBProxyName = "px" })
    assert.are.same({ "DeleteDBProxyEndpoint", "DescribeDBProxyEndpoints", "wait DBProxyEndpointAvailable",
                      "DeleteDBProxyEndpoint", "wait DBProxyEndpointDeleted" }, ctx.calls)
  end)
end)

describe("an update met by a busy resource", function()
  local UPDATE = { side = "rds", service = "rds", op = "ModifyDBProxy", params = {}, busy = "InvalidDBProxyStateFault",
    wait = { name = "DBProxyAvailable" }, what = "proxy px", cli = "aws rds describe-db-proxies" }

  it("waits until it is available and makes the call again", function()
    local ctx = fake({ ModifyDBProxy = { "InvalidDBProxyStateFault" } }, {})
    Ctx.when_ready(ctx, UPDATE)
    assert.are.same({ "ModifyDBProxy", "wait DBProxyAvailable", "ModifyDBProxy" }, ctx.calls)
  end)

  it("gives up after three tries, naming the resource, the call and the action to rerun", function()
    local ctx = fake({ ModifyDBProxy = { "InvalidDBProxyStateFault", "InvalidDBProxyStateFault",
      "InvalidDBProxyStateFault" } }, {})
    ctx.action = "apply"
    local ok, err = pcall(Ctx.when_ready, ctx, UPDATE)
    assert.is_false(ok)
    assert.are.equal("proxy px: ModifyDBProxy kept answering InvalidDBProxyStateFault; see its status "
      .. "(aws rds describe-db-proxies) and rerun apply", err)
  end)
end)
