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

-- The JSON text of a compressed model file.
local function read_z(path)
  return assert(require("kumo.crypto").inflate(read(path)))
end

local function error_of(fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok)
  return tostring(err)
end

describe("kumo.model", function()
  before_each(function() model.reset() end)

  it("lists the shipped services: every service of botocore 1.43.11 (424)", function()
    local names = model.services()
    for _, s in ipairs(SHIPPED) do
      assert.is_truthy(table.concat(names, " "):find(s, 1, true), s)
    end
    assert.are.equal(424, #names)
    assert.are.same(names, require("kumo.aws").services())
    local set = {}
    for _, n in ipairs(names) do set[n] = true end
    for _, s in ipairs{ "s3", "dynamodb", "sns", "sqs", "ssm", "route53", "lambda", "elbv2" } do
      assert.is_true(set[s], s)
    end
  end)

  it("loads only the services a script uses", function()
    assert.are.same({}, model.loaded())
    assert.are.equal(424, #model.services(), "listing loads no model")
    assert.are.same({}, model.loaded())
    model.service("s3")
    model.service("sns")
    model.endpoint_ruleset("dynamodb")
    assert.are.same({ "dynamodb", "s3", "sns" }, model.loaded())
  end)

  it("names a protocol kumo lacks instead of failing later", function()
    local msg = with_model_file("cborsvc.json",
      '{"metadata":{"protocol":"smithy-rpc-v2-cbor","protocols":["smithy-rpc-v2-cbor"],'
      .. '"serviceId":"Cbor Svc"},"operations":{},"shapes":{}}',
      function() return error_of(model.service, "cborsvc") end)
    assert.matches("cborsvc: service Cbor Svc speaks only smithy-rpc-v2-cbor, which kumo "
      .. "does not implement", msg, 1, true)
  end)

  it("reports a damaged compressed model with the fix", function()
    local msg = with_model_file("damaged.json.z", "x\156 not really zlib",
      function() return error_of(model.service, "damaged") end)
    assert.matches("damaged.json.z is not a valid model file (inflate:", msg, 1, true)
    assert.matches("gen-models.py", msg, 1, true)
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
    local path = model.service("sts").path
    assert.matches("sts%.json%.z$", path)
    local text = read_z(path)
    assert.is_nil(text:find('"documentation"', 1, true))
    local shape = model.shape("sts", "AssumeRoleRequest")
    assert.are.same({ "RoleArn", "RoleSessionName" }, { shape._order[1], shape._order[2] })
  end)

  it("every shipped model (all 424) loads and all its shape references resolve", function()
    for _, name in ipairs(model.services()) do
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
      assert.is_string(svc.metadata.protocol, name)
      assert.is_table(model.endpoint_ruleset(name).rules, name)
      model.reset()  -- keep memory flat over 424 models
    end
  end)

  it("names an unknown service and suggests close ones", function()
    local msg = error_of(model.service, "rdss")
    assert.matches('unknown service "rdss"', msg, 1, true)
    assert.matches("did you mean rds, ", msg, 1, true)
    assert.matches("kumo.aws.services() lists the 424", msg, 1, true)
    assert.is_true(#msg < 300, msg)
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
    local text = read_z(model.service("iam").path)
    assert.matches('"ruleset":{', text, 1, true)
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
  it("regenerates the committed models byte for byte, with NOTICE and LICENSE, and "
    .. "keeps the growth of the repository from models under 8 MB", function()
    local probe = io.popen("python3 -c 'import botocore' 2>&1; echo $?")
    local rc = probe:read("a"):match("(%d+)%s*$")
    probe:close()
    assert.are.equal("0", rc, "python3 with botocore is needed to run the generator")
    local out = tmpdir()
    local root = os.getenv("KUMO_ROOT") or "."
    assert.is_true(os.execute("python3 " .. root .. "/tools/gen-models.py --out " .. out
      .. " sts kms s3 ec2 >/dev/null"))
    local here = root .. "/modules/kumo/models/"
    for _, f in ipairs{ "sts.json.z", "kms.json.z", "s3.json.z", "ec2.json.z",
        "_partitions.json", "NOTICE", "LICENSE" } do
      assert.are.equal(read(here .. f), read(out .. "/" .. f), f)
    end
    -- the whole folder: every file is what the generator writes for all services
    local all = tmpdir()
    assert.is_true(os.execute("python3 " .. root .. "/tools/gen-models.py --quiet --out " .. all
      .. " >/dev/null"))
    local p = io.popen("diff -rq " .. here .. " " .. all .. " 2>&1; du -sb " .. here)
    local diff = p:read("a")
    p:close()
    os.execute("rm -rf " .. all)
    local bytes = tonumber(diff:match("^(%d+)%s") or diff:match("\n(%d+)%s"))
    assert.are.equal("", diff:gsub("[^\n]*%d+%s+[^\n]*models/?\n?$", ""), diff)
    assert.is_true(bytes < 8e6, "models folder " .. tostring(bytes) .. " bytes")
    local index = read(out .. "/_index.json")
    assert.matches('"services":["ec2","kms","s3","sts"]', index, 1, true)
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
