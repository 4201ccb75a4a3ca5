-- kumo.model: lazy model loading, errors with close matches, protocol
-- choice, partitions and endpoint rule sets; and tools/gen-models.py
-- regenerating the models.
local model = require "kumo.model"

local SHIPPED = { "sts", "iam", "ec2", "rds", "ram", "secretsmanager", "kms",
                  "organizations", "cloudwatch", "logs" }

local function tmpdir()
  local p = os.tmpname()
  os.remove(p)
  assert(os.execute("mkdir -p " .. p))
  return p
end

-- Runs fn with a model folder holding `file` (with `text`) on model.path.
local function with_model_file(file, text, fn)
  local dir = tmpdir()
  local f = assert(io.open(dir .. "/" .. file, "w"))
  f:write(text)
  f:close()
  model.path[#model.path + 1] = dir
  local ok, a, b = pcall(fn)
  table.remove(model.path)
  os.execute("rm -rf " .. dir)
  assert(ok, a)
  return a, b
end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function error_of(fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok)
  return tostring(err)
end

describe("kumo.model", function()
  before_each(function() model.reset() end)

  it("lists the shipped services", function()
    local names = model.services()
    for _, s in ipairs(SHIPPED) do
      assert.is_truthy(table.concat(names, " "):find(s, 1, true), s)
    end
  end)

  it("loads a service once, on first use, and names its operations", function()
    local a = model.service("rds")
    local b = model.load("rds")
    assert.are.equal(a, b)
    assert.are.equal("rds", a.name)
    assert.are.equal("query", a.metadata.protocol)
    assert.are.equal("2014-10-31", a.metadata.apiVersion)
    local op = model.operation(a, "DescribeDBProxies")
    assert.are.equal("DescribeDBProxies", op.name)
    assert.are.equal("DescribeDBProxiesResult", op.output.resultWrapper)
    assert.is_table(a.paginators.DescribeDBProxies)
    assert.is_table(a.waiters.DBInstanceAvailable)
  end)

  it("drops documentation and keeps member order", function()
    local text = read(model.service("sts").path)
    assert.is_nil(text:find('"documentation"', 1, true))
    local shape = model.shape("sts", "AssumeRoleRequest")
    assert.are.same({ "RoleArn", "RoleSessionName" }, { shape._order[1], shape._order[2] })
  end)

  it("every shipped model loads and all its shape references resolve", function()
    for _, name in ipairs(SHIPPED) do
      local svc = model.service(name)
      local shapes = svc.shapes
      for op_name, op in pairs(svc.operations) do
        for _, key in ipairs{ "input", "output" } do
          if op[key] then assert.is_table(shapes[op[key].shape], name .. "." .. op_name .. "." .. key) end
        end
        for _, e in ipairs(op.errors or {}) do
          assert.is_table(shapes[e.shape], name .. "." .. op_name .. " error " .. e.shape)
        end
      end
      for shape_name, shape in pairs(shapes) do
        for m, ref in pairs(shape.members or {}) do
          assert.is_table(shapes[ref.shape], name .. ": " .. shape_name .. "." .. m)
        end
        if shape.member then assert.is_table(shapes[shape.member.shape], shape_name) end
        if shape.key then assert.is_table(shapes[shape.key.shape], shape_name) end
        if shape.value then assert.is_table(shapes[shape.value.shape], shape_name) end
      end
    end
  end)

  it("names an unknown service and suggests close ones", function()
    local msg = error_of(model.service, "rdss")
    assert.matches('unknown service "rdss"', msg, 1, true)
    assert.matches("did you mean rds?", msg, 1, true)
    assert.matches("docs/models.md", msg, 1, true)
    msg = error_of(model.service, "secretmanager")
    assert.matches("did you mean secretsmanager", msg, 1, true)
    assert.matches("must be a string", error_of(model.service, 42), 1, true)
  end)

  it("names an unknown operation and suggests close ones", function()
    local msg = error_of(model.operation, "rds", "DescribeDbProxy")
    assert.matches('rds: unknown operation "DescribeDbProxy"', msg, 1, true)
    assert.matches("DescribeDBProxies", msg, 1, true)
    msg = error_of(model.operation, "ec2", "DescribeSubnet")
    assert.matches("did you mean DescribeSubnets", msg, 1, true)
  end)

  it("ranks close matches by edit distance", function()
    assert.are.equal(1, model.distance("kitten", "sitten"))
    assert.are.equal(3, model.distance("kitten", "sitting"))
    assert.are.equal(0, model.distance("ABC", "abc"))
    assert.are.same({ "ListKeys", "ListKeyPolicies" },
      model.close_matches("ListKey", { "ListAliases", "ListKeyPolicies", "ListKeys", "CreateKey" }, 5))
  end)

  it("chooses the protocol botocore would (CloudWatch: json over cbor and query)", function()
    local cw = model.service("cloudwatch")
    assert.are.equal("json", cw.metadata.protocol)
    assert.are.equal("smithy-rpc-v2-cbor", cw.metadata.modelProtocol)
    assert.are.equal("ec2", model.service("ec2").metadata.protocol)
    local p, why = model.resolve_protocol{ protocols = { "smithy-rpc-v2-cbor" }, serviceId = "X" }
    assert.is_nil(p)
    assert.matches("does not implement", why, 1, true)
  end)

  it("finds models in an extra folder (model.path)", function()
    local ok, svc = with_model_file("toy.json",
      '{"metadata":{"protocol":"json","apiVersion":"2020-01-01","targetPrefix":"Toy"},'
      .. '"operations":{"Ping":{"http":{"method":"POST","requestUri":"/"}}},"shapes":{}}',
      function() return pcall(model.service, "toy") end)
    assert.is_true(ok, tostring(svc))
    assert.are.equal("Ping", model.operation(svc, "Ping").name)
  end)

  it("reports a corrupt model file with the fix", function()
    local msg = with_model_file("broken.json", "{not json",
      function() return error_of(model.service, "broken") end)
    assert.matches("not a valid model file", msg, 1, true)
    assert.matches("gen-models.py", msg, 1, true)
  end)

  it("carries partitions, the endpoint rule sets and the endpoint names", function()
    local p = model.partitions()
    local aws = p.partitions[1]
    assert.are.equal("aws", aws.id, "aws first: the rules' default partition")
    assert.are.equal("amazonaws.com", aws.outputs.dnsSuffix)
    assert.is_table(aws.regions["ap-northeast-1"])
    assert.is_string(aws.regionRegex)
    for _, name in ipairs(SHIPPED) do
      local rs = model.endpoint_ruleset(name)
      assert.is_table(rs.parameters.Region, name)
      assert.is_table(rs.rules[1], name)
      assert.matches("do not edit", rs._generated, 1, true)
    end
    assert.are.equal(model.endpoint_ruleset("sts"), model.endpoint_ruleset("sts"), "loaded once")
    local text = read(model.service("iam").path:gsub("iam%.json$", "iam.endpoint-rule-set-1.json"))
    assert.is_nil(text:find('"documentation"', 1, true))
    local names = model.endpoint_names()
    local iam = names.services.iam.aws
    assert.are.equal("aws-global", iam.partitionEndpoint)
    assert.is_false(iam.isRegionalized)
    assert.is_table(names.services.monitoring, "cloudwatch by its endpoint prefix")
    for _, part in ipairs(names.partitions) do
      if part.partition == "aws-iso-e" then assert.are.same({ "fips" }, part.variants) end
    end
  end)

  it("names a service whose model has no endpoint rule set", function()
    local msg = with_model_file("toy2.json",
      '{"metadata":{"protocol":"json","apiVersion":"2020-01-01"},"operations":{},"shapes":{}}',
      function() return error_of(model.endpoint_ruleset, "toy2") end)
    assert.matches("toy2 has no endpoint rule set", msg, 1, true)
    assert.matches("gen-models.py", msg, 1, true)
  end)
end)

describe("tools/gen-models.py", function()
  it("regenerates the committed models byte for byte, with NOTICE and LICENSE", function()
    local probe = io.popen("python3 -c 'import botocore' 2>&1; echo $?")
    local rc = probe:read("a"):match("(%d+)%s*$")
    probe:close()
    assert.are.equal("0", rc, "python3 with botocore is needed to run the generator")
    local out = tmpdir()
    local root = os.getenv("KUMO_ROOT") or "."
    assert.is_true(os.execute("python3 " .. root .. "/tools/gen-models.py --out " .. out
      .. " sts kms >/dev/null"))
    local here = root .. "/modules/kumo/models/"
    for _, f in ipairs{ "sts.json", "kms.json", "sts.endpoint-rule-set-1.json",
        "kms.endpoint-rule-set-1.json", "_partitions.json", "NOTICE", "LICENSE" } do
      assert.are.equal(read(here .. f), read(out .. "/" .. f), f)
    end
    local index = read(out .. "/_index.json")
    assert.matches('"services":["kms","sts"]', index, 1, true)
    -- _endpoints.json covers the services of its folder only
    local names = read(out .. "/_endpoints.json")
    assert.matches('"sts":{', names, 1, true)
    assert.is_nil(names:find('"iam":{', 1, true))
    os.execute("rm -rf " .. out)
  end)

  it("names an unknown service", function()
    local out = tmpdir()
    local p = io.popen("python3 " .. (os.getenv("KUMO_ROOT") or ".")
      .. "/tools/gen-models.py --out " .. out .. " nosuchservice 2>&1; echo rc=$?")
    local text = p:read("a")
    p:close()
    os.execute("rm -rf " .. out)
    assert.matches("no service 'nosuchservice'", text, 1, true)
    assert.matches("rc=1", text, 1, true)
  end)
end)
