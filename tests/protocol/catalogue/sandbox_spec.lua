-- Services new to kumo with the whole catalogue, end to end against the
-- sandbox (real HTTP, SigV4 verified, IAM checked; role assumed through
-- STS): SNS (query), SQS and DynamoDB and SSM (json), Route 53 (rest-xml),
-- API Gateway (rest-json),
-- each model loaded lazily on the client's first use; what kumo made is
-- read back with boto3 (read_back.py), an independent reader.
local aws = require "kumo.aws"
local json = require "kumo.json"
local model = require "kumo.model"
local root = os.getenv("KUMO_ROOT") or "."
local sandbox = dofile(root .. "/tests/lib/sandbox.lua")
local q = sandbox.shell_quote

describe("the catalogue's services against the sandbox", function()
  local sb, s

  setup(function()
    sb = sandbox.start{}
    s = aws.session{ profile = "app", config_file = sb.dir .. "/config",
      credentials_file = sb.dir .. "/credentials", env = {}, credential_cache = false }
  end)

  teardown(function()
    if sb then sb.stop() end
  end)

  it("makes resources in six services kumo did not ship before, and boto3 reads them", function()
    model.reset()
    local sns = s:client("sns")
    local topic = sns:CreateTopic{ Name = "kumo-endpoint-changed" }.TopicArn
    assert.matches("^arn:aws:sns:[%w-]+:111111111111:kumo%-endpoint%-changed$", topic)
    local sqs = s:client("sqs")
    local queue = sqs:CreateQueue{ QueueName = "kumo-checks",
      Attributes = { VisibilityTimeout = "45" } }.QueueUrl
    assert.matches("kumo%-checks$", queue)
    assert.are.equal("45", sqs:GetQueueAttributes{ QueueUrl = queue,
      AttributeNames = { "VisibilityTimeout" } }.Attributes.VisibilityTimeout)
    local ddb = s:client("dynamodb")
    ddb:CreateTable{ TableName = "kumo-cat", BillingMode = "PAY_PER_REQUEST",
      AttributeDefinitions = { { AttributeName = "k", AttributeType = "S" } },
      KeySchema = { { AttributeName = "k", KeyType = "HASH" } } }
    ddb:PutItem{ TableName = "kumo-cat", Item = { k = { S = "a b/ü" }, n = { N = "1.5" },
      l = { L = { { S = "x" }, { BOOL = true } } }, b = { B = "bytes\0here" } } }
    local ssm = s:client("ssm")
    ssm:PutParameter{ Name = "/kumo/catalogue/endpoint", Value = "proxy.example:5432",
      Type = "String" }
    local r53 = s:client("route53")
    local zone = r53:CreateHostedZone{ Name = "kumo.internal.", CallerReference = "cat-1" }
    assert.matches("^/hostedzone/", zone.HostedZone.Id)
    local api = s:client("apigateway"):CreateRestApi{ name = "kumo-cat",
      description = "made by kumo: ü & <x>" }
    assert.is_string(api.id)
    -- lazily: the models of what was used (and STS for the role), nothing else
    local loaded = table.concat(model.loaded(), " ")
    for _, name in ipairs{ "sns", "sqs", "dynamodb", "ssm", "route53", "apigateway" } do
      assert.matches(name, loaded, 1, true)
    end
    assert.is_true(#model.loaded() <= 7, loaded)

    local p = io.popen(string.format("python3 %s %s %s app 2>&1",
      q(root .. "/tests/protocol/catalogue/read_back.py"), q(sb.dir), q(sb.endpoint)))
    local text = p:read("a")
    p:close()
    local seen = json.decode(text)
    assert.is_table(seen, text)
    assert.are.same({ topic }, seen.sns_topics)
    assert.are.same({ queue }, seen.sqs_queues)
    assert.are.equal("proxy.example:5432", seen.ssm_value)
    assert.are.same({ "kumo.internal." }, seen.route53_zones)
    assert.are.same({ { "kumo-cat", "made by kumo: ü & <x>" } }, seen.apigateway_apis)
    local item = seen.dynamodb_item
    assert.are.same({ S = "a b/ü" }, item.k)
    assert.are.same({ N = "1.5" }, item.n)
    assert.are.same({ { S = "x" }, { BOOL = true } }, item.l.L)
    assert.are.equal(require("kumo.crypto").hex("bytes\0here"), item.b.B_hex)
  end)

  it("reads back with kumo what it wrote (json, query and rest-xml parsers)", function()
    local got = s:client("dynamodb"):GetItem{ TableName = "kumo-cat", Key = { k = { S = "a b/ü" } } }
    assert.are.equal("1.5", got.Item.n.N)
    assert.are.equal("bytes\0here", got.Item.b.B)
    local topics = s:client("sns"):ListTopics{}.Topics
    assert.are.equal(1, #topics)
    local zones = s:client("route53"):ListHostedZones{}.HostedZones
    assert.are.equal("kumo.internal.", zones[1].Name)
    assert.are.equal("proxy.example:5432",
      s:client("ssm"):GetParameter{ Name = "/kumo/catalogue/endpoint" }.Parameter.Value)
  end)
end)
