-- kumo.aws / kumo.session: the entry point, options and credentials.
local aws = require "kumo.aws"

local function opts(extra)
  local o = { region = "us-east-1", env = {}, config_file = "/nonexistent",
    credentials_file = "/nonexistent" }
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end

describe("kumo.aws sessions", function()
  it("rejects unknown options with a suggestion", function()
    local ok, msg = pcall(aws.session, { regoin = "us-east-1" })
    assert.is_false(ok)
    assert.truthy(msg:find('unknown option "regoin"; did you mean region', 1, true))
    ok, msg = pcall(function() aws.session(opts()):client("rds", { endpoint = "x" }) end)
    assert.is_false(ok)
    assert.truthy(msg:find("endpoint_url", 1, true))
  end)

  it("refuses a named profile that does not exist", function()
    local ok, msg = pcall(aws.session, opts{ profile = "nope" })
    assert.is_false(ok)
    assert.truthy(msg:find('profile "nope" (the profile option) not found', 1, true))
    ok, msg = pcall(aws.session, opts{ env = { AWS_PROFILE = "gone" } })
    assert.is_false(ok)
    assert.truthy(msg:find("unset AWS_PROFILE", 1, true))
    assert.is_truthy(aws.session(opts()))  -- a missing "default" is fine
  end)

  it("takes the region from the option, AWS_REGION, AWS_DEFAULT_REGION", function()
    assert.are.equal("eu-west-1", aws.session(opts{ region = "eu-west-1" }).region)
    local o = opts{ env = { AWS_REGION = "ap-south-1", AWS_DEFAULT_REGION = "eu-north-1" } }
    o.region = nil
    assert.are.equal("ap-south-1", aws.session(o).region)
    o.env = { AWS_DEFAULT_REGION = "eu-north-1" }
    assert.are.equal("eu-north-1", aws.session(o).region)
  end)

  it("uses explicit credentials, else the provider chain (environment)", function()
    local s = aws.session(opts{ credentials = { access_key_id = "AKIAEXPLICIT00000001",
      secret_access_key = "x" } })
    assert.are.equal("AKIAEXPLICIT00000001", s:get_credentials().access_key_id)
    local e = aws.session(opts{ env = { AWS_ACCESS_KEY_ID = "AKIAFROMENV000000001",
      AWS_SECRET_ACCESS_KEY = "SECRETVALUE123", AWS_SESSION_TOKEN = "TOKENVALUE456" } })
    local c = e:get_credentials()
    assert.are.equal("AKIAFROMENV000000001", c.access_key_id)
    assert.are.equal("TOKENVALUE456", c.session_token)
    for _, text in ipairs{ tostring(c), tostring(e), tostring(e:client("rds")) } do
      assert.is_nil(text:find("SECRETVALUE123", 1, true))
      assert.is_nil(text:find("TOKENVALUE456", 1, true))
    end
  end)

  it("caches clients made without options", function()
    local s = aws.session(opts())
    assert.are.equal(s:client("rds"), s:client("rds"))
    assert.are_not.equal(s:client("rds"), s:client("rds", { timeout = 3 }))
    assert.truthy(tostring(s:client("rds")):find("rds us-east-1", 1, true))
  end)

  it("names an unknown service", function()
    local ok, msg = pcall(function() return aws.session(opts()):client("rdss") end)
    assert.is_false(ok)
    assert.truthy(tostring(msg):find("rdss", 1, true))
  end)

  it("derives sessions with :with, sharing hooks but not retry quotas", function()
    local s = aws.session(opts{ credentials = { access_key_id = "AKIAEXPLICIT00000001", secret_access_key = "x" } })
    local seen = 0
    s:add_hook(function() seen = seen + 1 end)
    local d = s:with{ region = "eu-west-1" }
    assert.are.equal("eu-west-1", d.region)
    assert.are.equal("AKIAEXPLICIT00000001", d:get_credentials().access_key_id)
    assert.are.equal(s.hooks, d.hooks)
    assert.are_not.equal(s:retry_quota("h"), d:retry_quota("h"))
    assert.are.equal(d:retry_quota("h"), d:retry_quota("h"))
  end)

  it("exposes the error helpers", function()
    local e = aws.errors.new{ code = "X" }
    assert.is_true(aws.is_error(e))
    assert.is_false(aws.is_error("X"))
  end)
end)
