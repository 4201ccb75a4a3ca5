-- kumo.endpoints: the endpoint rule sets with botocore's builtIns, and the
-- endpoint override order. (Every region of every partition, in every
-- variant, is compared with botocore itself by suite 53.)
local endpoints = require "kumo.endpoints"

local RDS = { endpointPrefix = "rds", signingName = "rds", serviceId = "RDS", kumoName = "rds" }
local SM = { endpointPrefix = "secretsmanager", signingName = "secretsmanager",
  serviceId = "Secrets Manager", kumoName = "secretsmanager" }
local IAM = { endpointPrefix = "iam", signingName = "iam", serviceId = "IAM", kumoName = "iam" }
local STS = { endpointPrefix = "sts", signingName = "sts", serviceId = "STS", kumoName = "sts" }

local function env(t) return function(n) return t[n] end end

local function error_of(args)
  local ok, msg = pcall(endpoints.resolve, args)
  assert.is_false(ok)
  return tostring(msg)
end

describe("kumo.endpoints rule sets", function()
  it("builds regional endpoints", function()
    local e = endpoints.resolve{ meta = RDS, region = "ap-northeast-1", getenv = env{} }
    assert.are.equal("https://rds.ap-northeast-1.amazonaws.com", e.url)
    assert.are.equal("ap-northeast-1", e.signing_region)
    assert.are.equal("rds", e.signing_name)
    assert.are.equal("aws", e.partition)
    assert.are.equal("endpoint rule set of rds (partition aws)", e.source)
  end)

  it("uses the global IAM endpoint signed for us-east-1, in any region or none", function()
    for _, region in ipairs{ "eu-west-1", "ap-northeast-1" } do
      local e = endpoints.resolve{ meta = IAM, region = region, getenv = env{} }
      assert.are.equal("https://iam.amazonaws.com", e.url)
      assert.are.equal("us-east-1", e.signing_region)
    end
    assert.are.equal("https://iam.amazonaws.com", endpoints.resolve{ meta = IAM, getenv = env{} }.url)
    local cn = endpoints.resolve{ meta = IAM, region = "cn-north-1", getenv = env{} }
    assert.are.equal("https://iam.cn-north-1.amazonaws.com.cn", cn.url)
    assert.are.equal("cn-north-1", cn.signing_region)
  end)

  it("uses regional STS by default and the global host in legacy mode", function()
    local e = endpoints.resolve{ meta = STS, region = "eu-west-1", getenv = env{} }
    assert.are.equal("https://sts.eu-west-1.amazonaws.com", e.url)
    assert.are.equal("eu-west-1", e.signing_region)
    local l = endpoints.resolve{ meta = STS, region = "eu-west-1", getenv = env{},
      sts_regional_endpoints = "legacy" }
    assert.are.equal("https://sts.amazonaws.com", l.url)
    assert.are.equal("us-east-1", l.signing_region)
    local r = endpoints.resolve{ meta = STS, region = "ap-east-1", getenv = env{},
      sts_regional_endpoints = "legacy" } -- not one of the 16 legacy regions
    assert.are.equal("https://sts.ap-east-1.amazonaws.com", r.url)
    -- legacy mode does not apply to FIPS, as in botocore's rule set
    local f = endpoints.resolve{ meta = STS, region = "us-east-1", getenv = env{},
      sts_regional_endpoints = "legacy", use_fips = true }
    assert.are.equal("https://sts-fips.us-east-1.amazonaws.com", f.url)
    -- no region: botocore's partition endpoint (aws-global)
    assert.are.equal("https://sts.amazonaws.com", endpoints.resolve{ meta = STS, getenv = env{} }.url)
    assert.matches('use "regional" or "legacy"', error_of{ meta = STS, region = "eu-west-1",
      getenv = env{}, sts_regional_endpoints = "global" }, 1, true)
  end)

  it("finds other partitions by region name and pattern; FIPS and dual-stack variants", function()
    assert.are.equal("https://rds.cn-northwest-1.amazonaws.com.cn",
      endpoints.resolve{ meta = RDS, region = "cn-northwest-1", getenv = env{} }.url)
    assert.are.equal("https://rds.us-gov-east-1.amazonaws.com",
      endpoints.resolve{ meta = RDS, region = "us-gov-east-1", getenv = env{} }.url)
    assert.are.equal("aws-eusc", endpoints.resolve{ meta = RDS, region = "eusc-de-east-9",
      getenv = env{} }.partition)
    assert.are.equal("https://rds.ap-future-7.amazonaws.com",
      endpoints.resolve{ meta = RDS, region = "ap-future-7", getenv = env{} }.url)
    assert.are.equal("https://rds-fips.us-east-1.amazonaws.com",
      endpoints.resolve{ meta = RDS, region = "us-east-1", getenv = env{}, use_fips = true }.url)
    -- the rule sets' hosts where the partition data had none (botocore's)
    assert.are.equal("https://rds-fips.us-iso-east-1.c2s.ic.gov",
      endpoints.resolve{ meta = RDS, region = "us-iso-east-1", getenv = env{}, use_fips = true }.url)
    -- Secrets Manager's dual-stack host keeps amazonaws.com (its rule set says so)
    assert.are.equal("https://secretsmanager.us-east-1.amazonaws.com",
      endpoints.resolve{ meta = SM, region = "us-east-1", getenv = env{}, use_dualstack = true }.url)
    local g = endpoints.resolve{ meta = IAM, region = "us-gov-west-1", getenv = env{}, use_fips = true }
    assert.are.equal("https://iam.us-gov.amazonaws.com", g.url)
    assert.are.equal("us-gov-west-1", g.signing_region)
  end)

  it("treats fips- / -fips pseudo regions as the region with FIPS, as botocore does", function()
    for _, r in ipairs{ "fips-us-east-1", "us-east-1-fips" } do
      local e = endpoints.resolve{ meta = RDS, region = r, getenv = env{} }
      assert.are.equal("https://rds-fips.us-east-1.amazonaws.com", e.url)
      assert.are.equal("us-east-1", e.signing_region)
    end
  end)

  it("refuses a variant botocore refuses, naming service, region and partition", function()
    local msg = error_of{ meta = RDS, region = "eu-isoe-west-1", getenv = env{}, use_dualstack = true }
    assert.matches("rds: no dual-stack endpoint in region eu-isoe-west-1", msg, 1, true)
    assert.matches("aws-iso-e", msg, 1, true)
  end)

  it("reports the rule set's own error with the service and region", function()
    local ok, msg = pcall(endpoints.from_rules, RDS, { Region = "us-east-1", UseFIPS = true,
      UseDualStack = false, Endpoint = "https://example.com" })
    assert.is_false(ok)
    assert.are.equal("rds: endpoint rules (region us-east-1): Invalid Configuration: FIPS and "
      .. "custom endpoint are not supported", msg)
  end)

  it("asks for a region for regional services and rejects a malformed one", function()
    local msg = error_of{ meta = RDS, getenv = env{} }
    assert.truthy(msg:find("no region", 1, true))
    assert.truthy(msg:find("AWS_REGION", 1, true))
    for _, bad in ipairs{ "us east 1", "-us-east-1", "12345", "", "us-east-1.evil.com",
        string.rep("a", 64) } do
      msg = error_of{ meta = RDS, region = bad, getenv = env{} }
      assert.matches("is not a valid region name", msg, 1, true)
      assert.matches("rds: region", msg, 1, true)
    end
  end)

  it("takes the signing scope from the rule's auth schemes, as botocore picks it", function()
    assert.are.same({ name = "v4", region = "us-east-1", service = "sts" },
      endpoints.auth_scheme{ { name = "sigv4", signingName = "sts", signingRegion = "us-east-1" } })
    -- no CRT in botocore, no sigv4a in kumo: the next scheme
    assert.are.same({ name = "v4", region = "eu-west-1", service = "s3" }, endpoints.auth_scheme{
      { name = "sigv4a", signingName = "s3", signingRegionSet = { "*" } },
      { name = "sigv4", signingName = "s3", signingRegion = "eu-west-1" } })
    assert.is_nil(endpoints.auth_scheme(nil))
    local ok, msg = pcall(endpoints.auth_scheme, { { name = "sigv9" } })
    assert.is_false(ok)
    assert.matches("sigv9", msg, 1, true)
  end)
end)

describe("kumo.endpoints overrides", function()
  local all_env = env{
    AWS_ENDPOINT_URL_SECRETS_MANAGER = "http://127.0.0.1:1001",
    AWS_ENDPOINT_URL = "http://127.0.0.1:1002",
  }
  local profile = { endpoint_url = "http://127.0.0.1:1004", services = "dev" }
  local services = { secrets_manager = { endpoint_url = "http://127.0.0.1:1003" },
    rds = { endpoint_url = "http://127.0.0.1:1003" } }

  it("follows botocore's order: service env, global env, services section, profile", function()
    local a = { meta = SM, region = "us-east-1", getenv = all_env, profile = profile, services = services }
    local e = endpoints.resolve(a)
    assert.are.equal("http://127.0.0.1:1001", e.url)
    assert.are.equal("AWS_ENDPOINT_URL_SECRETS_MANAGER", e.source)
    a.getenv = env{ AWS_ENDPOINT_URL = "http://127.0.0.1:1002" }
    assert.are.equal("http://127.0.0.1:1002", endpoints.resolve(a).url)
    a.getenv = env{}
    assert.are.equal("http://127.0.0.1:1003", endpoints.resolve(a).url)
    a.services = {}
    assert.are.equal("http://127.0.0.1:1004", endpoints.resolve(a).url)
    a.profile = {}
    assert.are.equal("https://secretsmanager.us-east-1.amazonaws.com", endpoints.resolve(a).url)
  end)

  it("lets code-given endpoint_url win, client over session", function()
    local a = { meta = RDS, region = "us-east-1", getenv = all_env, profile = profile,
      services = services, session_url = "https://s.example", client_url = "https://c.example/base/" }
    local e = endpoints.resolve(a)
    assert.are.equal("https://c.example/base", e.url)
    assert.are.equal("/base", e.path)
    a.client_url = nil
    assert.are.equal("https://s.example", endpoints.resolve(a).url)
  end)

  it("ignores configured endpoints on request (env, profile key or option)", function()
    local a = { meta = RDS, region = "us-east-1", profile = profile, services = services,
      getenv = env{ AWS_ENDPOINT_URL = "http://127.0.0.1:1002", AWS_IGNORE_CONFIGURED_ENDPOINT_URLS = "true" } }
    assert.are.equal("https://rds.us-east-1.amazonaws.com", endpoints.resolve(a).url)
    a.getenv = env{ AWS_ENDPOINT_URL = "http://127.0.0.1:1002" }
    a.profile = { endpoint_url = "http://127.0.0.1:1004", ignore_configured_endpoint_urls = "true" }
    assert.are.equal("https://rds.us-east-1.amazonaws.com", endpoints.resolve(a).url)
    a.profile = {}
    a.ignore_configured = true
    assert.are.equal("https://rds.us-east-1.amazonaws.com", endpoints.resolve(a).url)
    a.session_url = "http://localhost:9" -- explicit code still wins
    assert.are.equal("http://localhost:9", endpoints.resolve(a).url)
  end)

  it("signs a custom endpoint with the client's region; none is refused as botocore does", function()
    local e = endpoints.resolve{ meta = RDS, region = "eu-west-1", getenv = env{},
      session_url = "http://127.0.0.1:5000" }
    assert.are.equal("eu-west-1", e.signing_region)
    -- botocore: NoRegionError "You must specify a region." (iam when signing)
    for _, meta in ipairs{ IAM, RDS } do
      local ok, msg = pcall(endpoints.resolve, { meta = meta, getenv = env{},
        session_url = "http://127.0.0.1:5000" })
      assert.is_false(ok)
      assert.truthy(tostring(msg):find(endpoints.NO_REGION, 1, true), msg)
    end
  end)

  it("accepts plain http only on loopback unless allow_http is set", function()
    for _, u in ipairs{ "http://127.0.0.1:4566", "http://localhost:4566", "http://[::1]:4566",
        "http://127.1.2.3" } do
      assert.are.equal("http", endpoints.resolve{ meta = RDS, region = "us-east-1", getenv = env{},
        session_url = u }.scheme)
    end
    local ok, msg = pcall(endpoints.resolve, { meta = RDS, region = "us-east-1",
      getenv = env{ AWS_ENDPOINT_URL_RDS = "http://10.1.2.3:4566" } })
    assert.is_false(ok)
    assert.truthy(msg:find("AWS_ENDPOINT_URL_RDS", 1, true))
    assert.truthy(msg:find("allow_http = true", 1, true))
    local e = endpoints.resolve{ meta = RDS, region = "us-east-1", allow_http = true,
      getenv = env{ AWS_ENDPOINT_URL_RDS = "http://10.1.2.3:4566" } }
    assert.are.equal("http://10.1.2.3:4566", e.url)
  end)

  it("rejects what is not an http(s) URL", function()
    for _, u in ipairs{ "localhost:4566", "ftp://x", "https://" } do
      local ok, msg = pcall(endpoints.resolve, { meta = RDS, region = "us-east-1", getenv = env{},
        session_url = u })
      assert.is_false(ok, u)
      assert.truthy(msg:find("endpoint_url", 1, true))
    end
  end)

  it("spells service ids as the settings do", function()
    assert.are.equal("secrets_manager", endpoints.snake_id("Secrets Manager"))
    assert.are.equal("cloudwatch_logs", endpoints.snake_id("CloudWatch Logs"))
  end)
end)
