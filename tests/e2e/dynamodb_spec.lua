-- kumo.dynamodb end to end: items marshalled by kumo, put and read back
-- through the DynamoDB client against the sandbox (moto's DynamoDB, SigV4
-- and IAM checked), and the same item read by boto3's resource layer (its
-- TypeDeserializer) as the independent reader.
local aws = require "kumo.aws"
local ddb = require "kumo.dynamodb"
local json = require "kumo.json"
local sandbox = dofile((os.getenv("KUMO_ROOT") or ".") .. "/tests/lib/sandbox.lua")

local function shell_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

describe("DynamoDB items through kumo.dynamodb against the sandbox", function()
  local sb, client

  setup(function()
    sb = sandbox.start{}
    client = aws.session{ profile = "app", config_file = sb.dir .. "/config",
      credentials_file = sb.dir .. "/credentials", env = {}, credential_cache = false }:client("dynamodb")
    client:CreateTable{ TableName = "kumo-items", BillingMode = "PAY_PER_REQUEST",
      AttributeDefinitions = { { AttributeName = "id", AttributeType = "S" } },
      KeySchema = { { AttributeName = "id", KeyType = "HASH" } } }
  end)

  teardown(function()
    if sb then sb.stop() end
  end)

  it("puts an item of every type and gets it back unchanged; boto3 reads the same values", function()
    local item = { id = "u1", count = 42, price = ddb.number("19.90"), huge = ddb.number("12345678901234567890.123"),
      name = "kumo 雲", ok = true, gone = ddb.null, blob = ddb.binary("\0\1\255"),
      tags = ddb.set{ "a", "b" }, scores = ddb.set{ 1, ddb.number("2.5") },
      blobs = ddb.set{ ddb.binary("x"), ddb.binary("\0") },
      list = json.array{ 1, "two", json.array{}, { nested = true } }, map = { k = "v", inner = { n = -7 } } }
    client:PutItem{ TableName = "kumo-items", Item = ddb.marshal(item) }
    local got = ddb.unmarshal(client:GetItem{ TableName = "kumo-items", Key = ddb.marshal{ id = "u1" },
      ConsistentRead = true }.Item)
    assert.are.equal(42, got.count)
    assert.are.equal("19.90", got.price.text)
    assert.are.equal("12345678901234567890.123", tostring(got.huge))
    assert.are.equal("kumo 雲", got.name)
    assert.is_true(got.ok)
    assert.are.equal(ddb.null, got.gone)
    assert.are.equal("\0\1\255", got.blob.bytes)
    assert.are.same({ "a", "b" }, got.tags:sorted())
    assert.are.same({ "1", "2.5" }, got.scores:sorted())
    assert.are.same({ "\0", "x" }, got.blobs:sorted())
    assert.are.equal("two", got.list[2])
    assert.are.equal(0, #got.list[3])
    assert.is_true(got.list[4].nested)
    assert.are.equal(-7, got.map.inner.n)
    local script = [[
import boto3, json, base64
t = boto3.Session(profile_name="app").resource("dynamodb").Table("kumo-items")
i = t.get_item(Key={"id": "u1"}, ConsistentRead=True)["Item"]
print(json.dumps({"price": str(i["price"]), "huge": str(i["huge"]), "count": str(i["count"]),
  "blob": base64.b64encode(bytes(i["blob"])).decode(), "tags": sorted(i["tags"]),
  "scores": sorted(str(x) for x in i["scores"]), "gone": i["gone"], "list2": i["list"][1],
  "inner": str(i["map"]["inner"]["n"]), "name": i["name"]}))]]
    local path = sb.dir .. "/read_item.py"
    local f = assert(io.open(path, "w"))
    f:write(script)
    f:close()
    local p = assert(io.popen(string.format("AWS_CONFIG_FILE=%s AWS_SHARED_CREDENTIALS_FILE=%s python3 %s",
      shell_quote(sb.dir .. "/config"), shell_quote(sb.dir .. "/credentials"), shell_quote(path))))
    local out = p:read("a")
    assert(p:close(), out)
    local seen = json.decode(out)
    assert.are.equal("19.90", seen.price)
    assert.are.equal("12345678901234567890.123", seen.huge)
    assert.are.equal("42", seen.count)
    assert.are.equal("AAH/", seen.blob)
    assert.are.same({ "a", "b" }, seen.tags)
    assert.are.same({ "1", "2.5" }, seen.scores)
    assert.are.equal(json.null, seen.gone)
    assert.are.equal("two", seen.list2)
    assert.are.equal("-7", seen.inner)
    assert.are.equal("kumo 雲", seen.name)
  end)
end)
