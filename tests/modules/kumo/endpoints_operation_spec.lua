-- Per-operation endpoints (botocore's EndpointRulesetResolver per call): an
-- operation's staticContextParams, contextParam members and
-- operationContextParams reach its rule set through Client:endpoint(entry,
-- params), cached per distinct parameter set; and the builtIns of the S3
-- settings (AWS::S3::UseGlobalEndpoint ...) and of account_id_endpoint_mode.
-- neptune-graph, whose rule set requires the operations' ApiType, is called
-- for real at the loopback logging server of the credentials' fake endpoints.
local aws = require "kumo.aws"
local H = require "tests.modules.kumo.credentials.helpers"

local dir = H.tmpdir()
local CREDS = { access_key_id = "AKIAOPENDPOINT000001", secret_access_key = "op-endpoint-secret" }

local function session(env, extra)
  local o = { region = "us-west-2", env = env or {}, config_file = dir .. "/none",
    credentials_file = dir .. "/none", credentials = CREDS, max_attempts = 1 }
  for k, v in pairs(extra or {}) do o[k] = v end
  return aws.session(o)
end

local function host(ep) return ep.authority end

describe("neptune-graph (ApiType from staticContextParams)", function()
  local fake
  setup(function() fake = H.start_fake() end)
  teardown(function() if fake then fake.stop() end end)

  it("is called: ListGraphs and GetGraph reach the server, signed for neptune-graph", function()
    fake.reset()
    local g = session{ AWS_ENDPOINT_URL = fake.url }:client("neptune-graph")
    local _, err = g:try("ListGraphs", {})
    assert.is_not_nil(err)   -- the fake knows no graphs: the request is what counts
    assert.is_nil(tostring(err):find("ApiType", 1, true))
    g:try("GetGraph", { graphIdentifier = "g-0123456789" })
    local log = fake.log()
    assert.are.equal(2, #log)
    assert.are.equal("GET", log[1].method)
    assert.are.equal("/graphs", log[1].path)
    assert.are.equal("/graphs/g-0123456789", log[2].path)
    assert.truthy(log[1].headers["authorization"]:find("/us%-west%-2/neptune%-graph/aws4_request"))
  end)

  it("resolves control-plane and data-plane operations to their own hosts", function()
    local g = session():client("neptune-graph")
    assert.are.equal("neptune-graph.us-west-2.amazonaws.com", host(g:endpoint(g:operation("ListGraphs"))))
    assert.are.equal("us-west-2.neptune-graph.amazonaws.com",
      host(g:endpoint(g:operation("ExecuteQuery"), { graphIdentifier = "g-1" })))
    -- the client's own endpoint (retry quota, tools) resolves too: the first operation's
    assert.truthy(g:endpoint().authority:find("neptune%-graph"))
  end)
end)

describe("per-operation endpoint cache", function()
  it("keeps one endpoint per distinct parameter set; operations without any share the client's", function()
    local k = session():client("kinesis")
    local put = k:operation("PutRecord")
    local a1 = k:endpoint(put, { StreamARN = "arn:aws:kinesis:us-west-2:111111111111:stream/a" })
    local a2 = k:endpoint(put, { StreamARN = "arn:aws:kinesis:us-west-2:111111111111:stream/a", Data = "x" })
    local b = k:endpoint(put, { StreamARN = "arn:aws:kinesis:us-west-2:222222222222:stream/b" })
    assert.are.equal(a1, a2)
    assert.are_not.equal(a1, b)
    assert.are.equal("111111111111.data-kinesis.us-west-2.amazonaws.com", host(a1))
    assert.are.equal("222222222222.data-kinesis.us-west-2.amazonaws.com", host(b))
    local sqs = session():client("sqs")
    assert.are.equal(sqs:endpoint(), sqs:endpoint(sqs:operation("ListQueues"), {}))
  end)
end)

describe("S3 builtIns from the S3 settings", function()
  it("us-east-1 is s3.amazonaws.com (legacy, botocore's default), regional when asked", function()
    assert.are.equal("s3.amazonaws.com", host(session(nil, { region = "us-east-1" }):client("s3"):endpoint()))
    assert.are.equal("s3.us-east-1.amazonaws.com", host(session({ AWS_S3_US_EAST_1_REGIONAL_ENDPOINT = "regional" },
      { region = "us-east-1" }):client("s3"):endpoint()))
    assert.are.equal("s3.us-east-1.amazonaws.com", host(session(nil,
      { region = "us-east-1", s3 = { us_east_1_regional_endpoint = "regional" } }):client("s3"):endpoint()))
    assert.are.equal("s3.us-west-2.amazonaws.com", host(session():client("s3"):endpoint()))
  end)

  it("accelerate and a bad setting", function()
    local c = session(nil, { s3 = { use_accelerate_endpoint = true } }):client("s3")
    assert.are.equal("amzn-bucket-1.s3-accelerate.amazonaws.com",
      host(c:endpoint(c:operation("GetObject"), { Bucket = "amzn-bucket-1", Key = "k" })))
    local p = session(nil, { s3 = { addressing_style = "path" } }):client("s3")
    assert.are.equal("s3.us-west-2.amazonaws.com",
      host(p:endpoint(p:operation("GetObject"), { Bucket = "amzn-bucket-1", Key = "k" })))
    local ok, err = pcall(function()
      return session({ AWS_S3_US_EAST_1_REGIONAL_ENDPOINT = "sideways" }):client("s3"):endpoint()
    end)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("us_east_1_regional_endpoint", 1, true))
  end)
end)

describe("account_id_endpoint_mode (DynamoDB)", function()
  local ARN = "arn:aws:dynamodb:us-west-2:123456789012:table/t1"
  it("preferred (default) uses the table ARN's account endpoint, disabled the regional one", function()
    local d = session():client("dynamodb")
    assert.are.equal("123456789012.ddb.us-west-2.amazonaws.com",
      host(d:endpoint(d:operation("GetItem"), { TableName = ARN })))
    assert.are.equal("123456789012.ddb.us-west-2.amazonaws.com",
      host(d:endpoint(d:operation("BatchGetItem"), { RequestItems = { [ARN] = {} } })))
    assert.are.equal("dynamodb.us-west-2.amazonaws.com", host(d:endpoint(d:operation("GetItem"), { TableName = "t1" })))
    local off = session{ AWS_ACCOUNT_ID_ENDPOINT_MODE = "disabled" }:client("dynamodb")
    assert.are.equal("dynamodb.us-west-2.amazonaws.com",
      host(off:endpoint(off:operation("GetItem"), { TableName = ARN })))
  end)

  it("a bad mode is an error naming the setting", function()
    local d = session{ AWS_ACCOUNT_ID_ENDPOINT_MODE = "often" }:client("dynamodb")
    local ok, err = pcall(d.endpoint, d)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("account_id_endpoint_mode", 1, true))
  end)
end)
