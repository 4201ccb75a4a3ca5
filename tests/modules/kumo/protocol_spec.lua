-- The protocol modules against the shipped models: what goes on the wire,
-- what comes back, and the shared helpers.
local model = require "kumo.model"
local pshape = require "kumo.protocol.shape"
local wire = require "kumo.protocol.wire"

local root = os.getenv("KUMO_ROOT") or "."
local TOKEN = "00000000-0000-4000-8000-000000000000"
local ctx = { uuid = function() return TOKEN end }

local function proto_of(svc)
  return require("kumo.protocol." .. svc.metadata.protocol:gsub("-", "_"))
end

local function call(service, op, params)
  local svc = model.service(service)
  return proto_of(svc).serialize(svc, model.operation(svc, op), params, ctx)
end

local function parse(service, op, body, headers, status)
  local svc = model.service(service)
  return proto_of(svc).parse(svc, model.operation(svc, op),
    { status = status or 200, headers = headers or {}, body = body })
end

local function parse_error(service, op, body, headers, status)
  local svc = model.service(service)
  return proto_of(svc).parse_error(svc, model.operation(svc, op),
    { status = status or 400, headers = headers or {}, body = body })
end

local function header(req, name)
  for _, h in ipairs(req.headers) do
    if h[1]:lower() == name:lower() then return h[2] end
  end
end

local function fixture(name)
  local f = assert(io.open(root .. "/bench/lib/" .. name, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

describe("query protocol (sts, rds, iam)", function()
  it("writes a form body in model member order", function()
    local req = call("sts", "AssumeRole", { RoleSessionName = "s 1",
      RoleArn = "arn:aws:iam::111122223333:role/r", DurationSeconds = 900 })
    assert.are.equal("POST", req.method)
    assert.are.equal("/", req.path)
    assert.are.equal("Action=AssumeRole&Version=2011-06-15"
      .. "&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fr&RoleSessionName=s%201"
      .. "&DurationSeconds=900", req.body)
    assert.are.equal("application/x-www-form-urlencoded; charset=utf-8", header(req, "Content-Type"))
  end)

  it("numbers list members and structures from 1", function()
    local req = call("rds", "DescribeDBProxies",
      { Filters = { { Name = "a", Values = { "x", "y" } } }, MaxRecords = 20 })
    assert.are.equal("Action=DescribeDBProxies&Version=2014-10-31&Filters.Filter.1.Name=a"
      .. "&Filters.Filter.1.Values.Value.1=x&Filters.Filter.1.Values.Value.2=y&MaxRecords=20", req.body)
    req = call("iam", "ListRoles", {})
    assert.are.equal("Action=ListRoles&Version=2010-05-08", req.body)
  end)

  it("parses a result wrapper into AWS API names and Lua types", function()
    local out, meta = parse("rds", "DescribeDBProxies", fixture("rds_describe_db_proxies.xml"))
    local p = out.DBProxies[1]
    assert.are.equal("orders-proxy", p.DBProxyName)
    assert.are.equal("REQUIRED", p.Auth[1].IAMAuth)
    assert.are.same({ "subnet-0a", "subnet-0b", "subnet-0c" }, p.VpcSubnetIds)
    assert.is_true(p.RequireTLS)
    assert.is_false(p.DebugLogging)
    assert.are.equal(1800, p.IdleClientTimeout)
    assert.are.equal("integer", math.type(p.IdleClientTimeout))
    assert.is_true(math.abs(p.CreatedDate - 1714557600.123) < 1e-6)
    assert.are.equal("8c1e4d2a-0000-4000-8000-000000000000", meta.request_id)
  end)

  it("parses an error with its code, message, request id and modeled fields", function()
    local err = parse_error("rds", "DescribeDBProxies", [[<ErrorResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/">
  <Error><Type>Sender</Type><Code>DBProxyNotFoundFault</Code><Message>DBProxy orders not found.</Message></Error>
  <RequestId>5e6f-11</RequestId></ErrorResponse>]], {}, 404)
    assert.are.equal("DBProxyNotFoundFault", err.code)
    assert.are.equal("DBProxy orders not found.", err.message)
    assert.are.equal("5e6f-11", err.request_id)
    assert.are.same({}, err.fields) -- the fault has no modeled members
  end)

  it("survives an error body that is not XML", function()
    local err = parse_error("sts", "GetCallerIdentity", "<html>bad gateway", {}, 502)
    assert.is_nil(err.code)
    assert.are.same({}, err.fields)
  end)
end)

describe("ec2 protocol", function()
  it("uses capitalized locationName and flat lists", function()
    local req = call("ec2", "DescribeSubnets",
      { Filters = { { Name = "vpc-id", Values = { "vpc-1", "vpc-2" } } }, SubnetIds = {} })
    assert.are.equal("Action=DescribeSubnets&Version=2016-11-15&Filter.1.Name=vpc-id"
      .. "&Filter.1.Value.1=vpc-1&Filter.1.Value.2=vpc-2", req.body)
  end)

  it("fills an absent idempotency token and keeps a given one, without touching params", function()
    local params = { MinCount = 1, MaxCount = 1, ImageId = "ami-1" }
    local req = call("ec2", "RunInstances", params)
    assert.matches("ClientToken=" .. TOKEN, req.body, 1, true)
    assert.is_nil(params.ClientToken)
    params.ClientToken = "mine"
    assert.matches("ClientToken=mine", call("ec2", "RunInstances", params).body, 1, true)
  end)

  it("parses item lists and tag sets", function()
    local out, meta = parse("ec2", "DescribeSubnets", fixture("ec2_describe_subnets.xml"))
    assert.are.equal(6, #out.Subnets)
    local s = out.Subnets[2]
    assert.are.equal("subnet-01", s.SubnetId)
    assert.are.equal(251, s.AvailableIpAddressCount)
    assert.is_false(s.MapPublicIpOnLaunch)
    assert.are.same({ { Key = "Name", Value = "private-1" } }, s.Tags)
    assert.are.same({}, s.Ipv6CidrBlockAssociationSet)
    assert.are.equal("7a62c49f-347e-4fc4-9331-6e8eEXAMPLE", meta.request_id)
  end)

  it("parses the ec2 error envelope", function()
    local err = parse_error("ec2", "DescribeSubnets", [[<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>InvalidSubnetID.NotFound</Code><Message>The subnet ID 'subnet-9' does not exist</Message></Error></Errors><RequestID>ab-12</RequestID></Response>]])
    assert.are.equal("InvalidSubnetID.NotFound", err.code)
    assert.are.equal("The subnet ID 'subnet-9' does not exist", err.message)
    assert.are.equal("ab-12", err.request_id)
  end)
end)

describe("json protocol (kms, secretsmanager, logs, cloudwatch)", function()
  it("sends X-Amz-Target and the JSON content type", function()
    local req = call("kms", "ListKeys", { Limit = 100 })
    assert.are.equal("TrentService.ListKeys", header(req, "X-Amz-Target"))
    assert.are.equal("application/x-amz-json-1.1", header(req, "Content-Type"))
    assert.are.equal('{"Limit":100}', req.body)
    assert.are.equal('{}', call("kms", "ListKeys", {}).body)
  end)

  it("writes blobs as base64 and timestamps as epoch seconds", function()
    local req = call("secretsmanager", "CreateSecret",
      { Name = "db", SecretBinary = "\0\1\2hello" })
    assert.matches('"SecretBinary":"AAECaGVsbG8="', req.body, 1, true)
    assert.matches('"ClientRequestToken":"' .. TOKEN .. '"', req.body, 1, true)
    req = call("cloudwatch", "PutMetricData", { Namespace = "App", MetricData = {
      { MetricName = "Latency", Timestamp = 1700000000.5, Value = 0.25, Unit = "Seconds" } } })
    assert.matches('"Timestamp":1700000000.5', req.body, 1, true)
    assert.matches('"Value":0.25', req.body, 1, true)
    assert.are.equal("GraniteServiceVersion20100801.PutMetricData", header(req, "X-Amz-Target"))
    assert.are.equal("true", header(req, "x-amzn-query-mode"))
  end)

  it("parses results with blobs, timestamps and integers", function()
    local out = parse("secretsmanager", "GetSecretValue",
      '{"ARN":"arn:x","Name":"db","SecretBinary":"AAECaGVsbG8=","CreatedDate":1714557600.5,'
      .. '"VersionStages":["AWSCURRENT"]}')
    assert.are.equal("\0\1\2hello", out.SecretBinary)
    assert.are.equal(1714557600.5, out.CreatedDate)
    assert.are.same({ "AWSCURRENT" }, out.VersionStages)
    out = parse("logs", "DescribeLogGroups", '{"logGroups":[{"logGroupName":"g","storedBytes":42,'
      .. '"creationTime":1714557600000}]}')
    assert.are.equal("integer", math.type(out.logGroups[1].storedBytes))
    assert.are.equal(1714557600000, out.logGroups[1].creationTime)
    out = parse("kms", "ListKeys", fixture("kms_list_keys.json"))
    assert.are.equal(50, #out.Keys)
    assert.is_false(out.Truncated)
  end)

  it("returns documents as decoded, with integers as integers", function()
    local svc = { metadata = { protocol = "json", jsonVersion = "1.1", targetPrefix = "T" }, shapes = {
      Out = { type = "structure", members = { Doc = { shape = "D" } } },
      D = { type = "structure", document = true } } }
    local op = { name = "Get", output = { shape = "Out" } }
    local out = require("kumo.protocol.json").parse(svc, op,
      { status = 200, headers = {}, body = '{"Doc":{"n":3,"f":1.5,"l":[1,{"x":true}],"s":"t"}}' })
    assert.are.same({ n = 3, f = 1.5, l = { 1, { x = true } }, s = "t" }, out.Doc)
    assert.are.equal("integer", math.type(out.Doc.n))
    assert.are.equal("integer", math.type(out.Doc.l[1]))
  end)

  it("parses errors from __type (namespace stripped) or X-Amzn-ErrorType", function()
    local err = parse_error("kms", "DescribeKey",
      '{"__type":"com.amazonaws.kms#NotFoundException","message":"Key not found"}',
      { ["x-amzn-requestid"] = "r-1" })
    assert.are.equal("NotFoundException", err.code)
    assert.are.equal("Key not found", err.message)
    assert.are.equal("r-1", err.request_id)
    assert.are.same({ message = "Key not found" }, err.fields)
    err = parse_error("secretsmanager", "GetSecretValue", '{"Message":"Secrets Manager can\'t find it."}',
      { ["x-amzn-errortype"] = "ResourceNotFoundException:http://internal.amazon.com/coral/" })
    assert.are.equal("ResourceNotFoundException", err.code)
    assert.are.equal("Secrets Manager can't find it.", err.message)
  end)

  it("takes the error code from x-amzn-query-error for awsQueryCompatible services", function()
    local err = parse_error("cloudwatch", "GetMetricData",
      '{"__type":"com.amazonaws.cloudwatch#InvalidNextToken","message":"bad"}',
      { ["x-amzn-query-error"] = "InvalidNextToken;Sender" })
    assert.are.equal("InvalidNextToken", err.code)
  end)
end)

describe("rest-json protocol (ram)", function()
  it("maps the operation to its URI and JSON body", function()
    local req = call("ram", "GetResourceShares", { resourceOwner = "SELF", name = "db share" })
    assert.are.equal("POST", req.method)
    assert.are.equal("/getresourceshares", req.path)
    assert.are.same({}, req.query)
    assert.are.same({ name = "db share", resourceOwner = "SELF" }, require("cjson").decode(req.body))
    assert.are.equal("application/json", header(req, "Content-Type"))
  end)

  it("parses results and errors", function()
    local out = parse("ram", "GetResourceShares", fixture("ram_get_resource_shares.json"))
    assert.are.equal(5, #out.resourceShares)
    assert.are.equal("ACTIVE", out.resourceShares[1].status)
    assert.is_true(math.abs(out.resourceShares[1].creationTime - 1714557600.123) < 1e-6)
    local err = parse_error("ram", "GetResourceShares", '{"message":"no such share"}',
      { ["x-amzn-errortype"] = "UnknownResourceException:http://internal.amazon.com/" }, 400)
    assert.are.equal("UnknownResourceException", err.code)
    assert.are.equal("no such share", err.message)
  end)

  it("fills URI labels (percent-encoded) and refuses a missing one", function()
    local svc = { metadata = { protocol = "rest-json" }, shapes = {
      In = { type = "structure", members = {
        Id = { shape = "S", location = "uri", locationName = "Id" },
        Key = { shape = "S", location = "uri", locationName = "Key" },
        Q = { shape = "L", location = "querystring", locationName = "q" } } },
      S = { type = "string" }, L = { type = "list", member = { shape = "S" } } } }
    local op = { name = "Get", http = { method = "GET", requestUri = "/things/{Id}/{Key+}?x=1" },
      input = { shape = "In" } }
    local rj = require "kumo.protocol.rest_json"
    local req = rj.serialize(svc, op, { Id = "a b", Key = "dir/f#1", Q = { "1", "2" } }, ctx)
    assert.are.equal("/things/a%20b/dir/f%231", req.path)
    assert.are.same({ { "x", "1" }, { "q", "1" }, { "q", "2" } }, req.query)
    assert.are.equal("", req.body)
    local ok, err = pcall(rj.serialize, svc, op, { Key = "k" }, ctx)
    assert.is_false(ok)
    assert.matches("Get: Id is required (it is part of the URI", err, 1, true)
  end)
end)

describe("REST driver (kumo.protocol.rest) and its body codecs", function()
  local rest = require "kumo.protocol.rest"
  -- A made-up service: a URI label, a header, two body members; the output
  -- has a header member and a body member.
  local function service(protocol)
    local shapes = {
      Str = { type = "string" }, Int = { type = "integer" },
      PutThingRequest = { type = "structure", xmlNamespace = { uri = "urn:t" }, members = {
        Name = { shape = "Str", location = "uri", locationName = "Name" },
        Color = { shape = "Str", location = "header", locationName = "X-Color" },
        Size = { shape = "Int" }, Note = { shape = "Str" } } },
      PutThingResponse = { type = "structure", members = {
        Id = { shape = "Str", location = "header", locationName = "x-id" },
        Size = { shape = "Int" } } },
    }
    local op = { name = "PutThing", http = { method = "PUT", requestUri = "/things/{Name}" },
                 input = { shape = "PutThingRequest" }, output = { shape = "PutThingResponse" } }
    return { metadata = { protocol = protocol }, shapes = shapes }, op
  end

  -- A codec of `key=value` lines, to show what is the driver's and what the codec's.
  local function lines_codec(empty_body)
    local codec = { content_type = "text/x-lines", empty_body = empty_body,
                    request_id = { "x-second", "x-first" } }
    function codec.encode(shapes, shape, v)
      local out = {}
      for _, name in ipairs({ "Size", "Note" }) do
        if v[name] ~= nil then out[#out + 1] = name .. "=" .. tostring(v[name]) end
      end
      assert(shapes[shape.members.Size.shape].type == "integer")
      return table.concat(out, "\n")
    end
    function codec.read(_, _, bytes, what)
      local out = {}
      for k, v in bytes:gmatch("(%w+)=(%w+)") do out[k] = math.tointeger(tonumber(v)) or v end
      if not next(out) then error(what .. ": no lines", 0) end
      return out
    end
    function codec.error(_, _, res)
      return { code = res.body:match("code=(%w+)"), fields = {} }
    end
    return codec
  end

  it("binds the URI, headers and status, and leaves the body to the codec", function()
    local svc, op = service("rest-lines")
    local proto = rest.protocol(lines_codec(nil))
    local req = proto.serialize(svc, op, { Name = "a b", Color = "red", Size = 3 })
    assert.are.equal("PUT", req.method)
    assert.are.equal("/things/a%20b", req.path)
    assert.are.equal("red", header(req, "X-Color"))
    assert.are.equal("Size=3", req.body)
    assert.are.equal("text/x-lines", header(req, "Content-Type"))
    -- no body member set: no body unless the codec names one for it
    req = proto.serialize(svc, op, { Name = "n", Color = "red" })
    assert.are.equal("", req.body)
    assert.is_nil(header(req, "Content-Type"))
    req = rest.protocol(lines_codec("EMPTY")).serialize(svc, op, { Name = "n" })
    assert.are.equal("EMPTY", req.body)
    assert.are.equal("text/x-lines", header(req, "Content-Type"))

    local out, meta = proto.parse(svc, op, { status = 200, body = "Size=7",
      headers = { ["x-id"] = "i-1", ["x-first"] = "r-1", ["x-second"] = "r-2" } })
    assert.are.same({ Id = "i-1", Size = 7 }, out)
    assert.are.equal("r-2", meta.request_id)
    assert.has_error(function()
      proto.parse(svc, op, { status = 200, body = "?", headers = {} })
    end, "response: no lines")
    local err = proto.parse_error(svc, op, { status = 400, body = "code=Nope",
      headers = { ["x-first"] = "r-1" } })
    assert.are.equal("Nope", err.code)
    assert.are.equal("r-1", err.request_id)
  end)

  it("sends Content-MD5 for httpChecksumRequired in rest-xml as in rest-json", function()
    local svc, op = service("rest-xml")
    op.httpChecksumRequired = true
    local req = require("kumo.protocol.rest_xml").serialize(svc, op, { Name = "n", Size = 3 })
    assert.are.equal('<PutThingRequest xmlns="urn:t"><Size>3</Size></PutThingRequest>', req.body)
    assert.are.equal("application/xml", header(req, "Content-Type"))
    -- python3: base64(md5(body)), computed apart from kumo
    assert.are.equal("/T+XiglsApMo3RWgChWgUg==", header(req, "Content-MD5"))
    svc, op = service("rest-json")
    op.httpChecksumRequired = true
    req = require("kumo.protocol.rest_json").serialize(svc, op, { Name = "n", Size = 3 })
    assert.are.equal('{"Size":3}', req.body)
    assert.are.equal(require("kumo.crypto").md5_base64('{"Size":3}'), header(req, "Content-MD5"))
    op.httpChecksumRequired = nil
    assert.is_nil(header(require("kumo.protocol.rest_json").serialize(svc, op, { Name = "n", Size = 3 }),
      "Content-MD5"))
  end)
end)

describe("request compression", function()
  local gunzip = require "tests.lib.gunzip"

  it("gzips a large CloudWatch PutMetricData body, which python's gzip reads back", function()
    local data = {}
    for i = 1, 200 do data[i] = { MetricName = "Latency", Value = i * 0.5, Unit = "Seconds",
      Dimensions = { { Name = "Service", Value = "orders" } } } end
    local params = { Namespace = "App", MetricData = data }
    local svc = model.service("cloudwatch")
    local op = model.operation(svc, "PutMetricData")
    assert.is_table(op.requestcompression)
    local json = require "kumo.protocol.json"
    local raw = json.serialize(svc, op, params, { uuid = ctx.uuid, disable_request_compression = true })
    assert.is_true(#raw.body >= 10240)
    local req = json.serialize(svc, op, params, ctx)
    assert.are.equal("gzip", header(req, "Content-Encoding"))
    assert.is_true(#req.body < #raw.body / 5, "compressed " .. #req.body .. " of " .. #raw.body)
    assert.are.equal(raw.body, gunzip(req.body))
  end)

  it("leaves small bodies alone", function()
    local req = call("cloudwatch", "PutMetricData", { Namespace = "App",
      MetricData = { { MetricName = "m", Value = 1 } } })
    assert.is_nil(header(req, "Content-Encoding"))
    assert.matches('"Namespace":"App"', req.body, 1, true)
  end)

  it("computes CRC-32 as zlib does", function()
    local crypto = require "kumo.crypto"
    assert.are.equal(0xCBF43926, crypto.crc32("123456789"))
    assert.are.equal(0, crypto.crc32(""))
  end)
end)

describe("event streams", function()
  local gz = require "kumo.crypto"
  local function frame(headers, payload)
    local hs = {}
    for _, h in ipairs(headers) do hs[#hs + 1] = string.pack(">s1Bs2", h[1], 7, h[2]) end
    hs = table.concat(hs)
    local total = 12 + #hs + #payload + 4
    local prelude = string.pack(">I4I4", total, #hs)
    local msg = prelude .. string.pack(">I4", gz.crc32(prelude)) .. hs .. payload
    return msg .. string.pack(">I4", gz.crc32(msg))
  end

  -- Logs is an awsJson1_1 service: its stream begins with an initial-response
  -- event holding the output's other members (StartLiveTail has none: `{}`).
  local initial = frame({ { ":message-type", "event" }, { ":event-type", "initial-response" },
    { ":content-type", "application/json" } }, "{}")

  it("reads the events of Logs StartLiveTail from a whole body", function()
    local body = initial .. frame({ { ":message-type", "event" }, { ":event-type", "sessionStart" },
        { ":content-type", "application/json" } }, '{"requestId":"r-1","sessionId":"s-1"}')
      .. frame({ { ":message-type", "event" }, { ":event-type", "sessionUpdate" } },
        '{"sessionResults":[{"message":"hello","timestamp":1714557600000}]}')
    local out = parse("logs", "StartLiveTail", body)
    assert.are.equal(2, #out.responseStream)
    assert.are.same({ requestId = "r-1", sessionId = "s-1" }, out.responseStream[1].sessionStart)
    assert.are.equal("hello", out.responseStream[2].sessionUpdate.sessionResults[1].message)
    assert.are.same({ "responseStream" }, pshape.keys(out))
  end)

  it("refuses a JSON stream that does not begin with initial-response", function()
    local start = frame({ { ":message-type", "event" }, { ":event-type", "sessionStart" } }, "{}")
    local ok, err = pcall(parse, "logs", "StartLiveTail", start .. initial)
    assert.is_false(ok)
    assert.matches('the first event is "sessionStart", not initial-response', err, 1, true)
    ok, err = pcall(parse, "logs", "StartLiveTail", "")
    assert.is_false(ok)
    assert.matches("no initial-response event", err, 1, true)
  end)

  it("refuses a corrupt frame and raises exception events", function()
    local good = initial .. frame({ { ":event-type", "sessionStart" } }, "{}")
    local bad = good:sub(1, -2) .. string.char((good:byte(-1) + 1) % 256)
    local ok, err = pcall(parse, "logs", "StartLiveTail", bad)
    assert.is_false(ok)
    assert.matches("message CRC mismatch", err, 1, true)
    -- an exception in place of initial-response, or after it, is raised as itself
    for _, prefix in ipairs{ "", initial } do
      ok, err = pcall(parse, "logs", "StartLiveTail", prefix .. frame({ { ":message-type", "exception" },
        { ":exception-type", "SessionTimeoutException" } }, '{"message":"timed out"}'))
      assert.is_false(ok)
      assert.are.equal("SessionTimeoutException", err.code)
    end
  end)
end)

describe("unions in responses", function()
  it("reads the one member set of a Logs union (GetIntegration)", function()
    local out = parse("logs", "GetIntegration", '{"integrationName":"i","integrationDetails":'
      .. '{"openSearchIntegrationDetails":{"dataSource":{"dataSourceName":"d"}}}}')
    assert.are.same({ openSearchIntegrationDetails = { dataSource = { dataSourceName = "d" } } },
      out.integrationDetails)
  end)

  it("names a member the model does not know, as botocore does", function()
    local out = parse("logs", "GetIntegration",
      '{"integrationName":"i","integrationDetails":{"s3TablesIntegrationDetails":{"arn":"x"}}}')
    assert.are.same({ SDK_UNKNOWN_MEMBER = { name = "s3TablesIntegrationDetails" } },
      out.integrationDetails)
    assert.are.equal("i", out.integrationName)
  end)

  it("refuses a union with more or fewer than one member set, naming the union", function()
    for _, details in ipairs{ '{}', '{"openSearchIntegrationDetails":{},"other":{}}' } do
      local ok, err = pcall(parse, "logs", "GetIntegration", '{"integrationDetails":' .. details .. '}')
      assert.is_false(ok)
      assert.matches("union IntegrationDetails must have exactly one member set", err, 1, true)
    end
  end)
end)

describe("protocol helpers", function()
  it("reads timestamps in every AWS format", function()
    assert.are.equal(1422172800, wire.parse_time("2015-01-25T08:00:00Z"))
    assert.are.equal(1422172800.123, wire.parse_time("2015-01-25T08:00:00.123Z"))
    assert.are.equal(1422172800, wire.parse_time("2015-01-25T09:00:00+01:00"))
    assert.are.equal(1422172800, wire.parse_time("Sun, 25 Jan 2015 08:00:00 GMT"))
    assert.are.equal(1422172800, wire.parse_time("1422172800"))
    assert.is_nil(wire.parse_time("soon"))
  end)

  it("writes timestamps", function()
    assert.are.equal("2015-01-25T08:00:00Z", wire.iso8601(1422172800))
    assert.are.equal("2015-01-25T08:00:00.123Z", wire.iso8601(1422172800.123))
    assert.are.equal("Sun, 25 Jan 2015 08:00:00 GMT", wire.rfc822(1422172800))
    assert.are.equal("1422172800.5", wire.format_time(1422172800.5, "unixTimestamp"))
    assert.are.equal("2015-01-25T08:00:00Z", wire.format_time("Sun, 25 Jan 2015 08:00:00 GMT", "iso8601"))
  end)

  it("writes numbers exactly and special floats by name", function()
    assert.are.equal("0.1", wire.float_text(0.1))
    assert.are.equal("1", wire.float_text(1.0))
    assert.are.equal("123456789.123", wire.float_text(123456789.123))
    assert.are.equal("NaN", wire.float_text(0 / 0))
    assert.are.equal("-Infinity", wire.float_text(-math.huge))
    assert.are.equal("9007199254740993", wire.int_text(9007199254740993))
  end)

  it("percent-encodes as AWS signs", function()
    assert.are.equal("a%20b%2Fc~d_e.f-g%C3%A9", wire.urlencode("a b/c~d_e.f-gé"))
    assert.are.equal("a%20b/c", wire.urlencode("a b/c", true))
  end)

  it("round-trips base64", function()
    for _, s in ipairs{ "", "f", "fo", "foo", "foob", "\0\255\128binary" } do
      assert.are.equal(s, wire.b64decode(wire.b64encode(s)))
    end
    assert.are.equal("Zm9vYg==", wire.b64encode("foob"))
  end)

  -- (Was: the Lua fallback parser against kumo.xml.decode on the two fixtures
  -- and this document. The fallback is gone; the fixtures' values are checked
  -- by the DescribeDBProxies and DescribeSubnets cases above, this document
  -- and the malformed ones by the one reader here.)
  it("reads XML through the one reader: references, CDATA, comments, attributes", function()
    local xmlbody = require "kumo.protocol.xmlbody"
    local S = {
      A = { type = "structure", members = {
        x = { shape = "Str", xmlAttribute = true }, y = { shape = "Str", xmlAttribute = true },
        b = { shape = "Str" }, c = { shape = "Str" } } },
      Str = { type = "string" },
    }
    local v = assert(xmlbody.read(S, S.A,
      '<a x="1&amp;2" y=\'q"\'><b>t&lt;&#65;&#x42;<![CDATA[<raw>]]></b><!-- c --><c/></a>'))
    assert.are.same({ x = "1&2", y = 'q"', b = "t<AB<raw>", c = "" }, v)
    for _, bad in ipairs{ "<a><b></a>", "<a>", "", "<a/><b/>" } do
      local r, err = xmlbody.read(S, S.A, bad)
      assert.is_nil(r, bad)
      assert.matches("^xml: line %d+, column %d+: ", err)
    end
  end)
end)
