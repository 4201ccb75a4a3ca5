--- kumo.aws: the entry point for calling AWS from a script.
--
--     local aws = require "kumo.aws"
--     local s   = aws.session{ profile = "rds", region = "ap-northeast-1" }
--     local rds = s:client("rds")
--     local out = rds:DescribeDBProxies{ DBProxyName = "orders-proxy" }
--
-- See docs/client.md for the whole guide.
-- @module kumo.aws
require "kumo.api"                -- the native API check (raises when stale)

local aws = {}

--- Make a session (see `kumo.session` for the options).
-- @tparam[opt] table opts `profile`, `region`, `endpoint_url`, `credentials`, ...
-- @treturn table session
function aws.session(opts)
  return require("kumo.session").new(opts)
end

--- The services kumo has a model of (botocore's names, sorted): every
-- service of the botocore it was generated from. A model is loaded when a
-- client of its service is first made, not here.
-- @treturn {string,...} names such as `"ec2"`, `"s3"`, `"secretsmanager"`
function aws.services()
  return require("kumo.model").services()
end

--- Is `v` a kumo AWS error object (`code`, `message`, `http_status`, ...)?
-- @param v any value
-- @treturn boolean
function aws.is_error(v)
  return require("kumo.errors").is(v)
end

return setmetatable(aws, {
  -- aws.errors, aws.retry, aws.endpoints, aws.paginate: the modules, on first use.
  __index = function(t, key)
    if key == "errors" or key == "retry" or key == "endpoints" or key == "paginate" then
      local mod = require("kumo." .. key)
      rawset(t, key, mod)
      return mod
    end
    return nil
  end,
})
