-- The share step's verify names what is wrong with each subnet's association.
local root = os.getenv("KUMO_ROOT") or "."
package.path = root .. "/scripts/?.lua;" .. root .. "/scripts/?/init.lua;" .. package.path
local share = require "rds-proxy.steps.share"

local function fake_ctx(subnets_seen)
  return {
    pair = { region = "ap-northeast-1", app = { subnet_ids = { "subnet-a", "subnet-b" } } },
    facts = { app_account = "111111111111", rds_account = "222222222222" },
    read = function(_, _, _, op, params)
      assert.are.equal("DescribeSubnets", op)
      local out = {}
      for i = 1, subnets_seen do out[i] = { SubnetId = params.SubnetIds[i] } end
      return { Subnets = out }
    end,
  }
end

local ARN = "arn:aws:ec2:ap-northeast-1:111111111111:subnet/"

describe("rds-proxy share step: verify", function()
  it("passes an active share with every subnet and the RDS account associated", function()
    local live = { status = "ACTIVE", principals = { ["222222222222"] = "ASSOCIATED" },
      resources = { [ARN .. "subnet-a"] = "ASSOCIATED", [ARN .. "subnet-b"] = "ASSOCIATED" } }
    assert.are.same({}, share.verify(fake_ctx(2), live))
  end)

  it("names a missing association as such and a failed one by its status", function()
    local live = { status = "ACTIVE", principals = { ["222222222222"] = "ASSOCIATED" },
      resources = { [ARN .. "subnet-a"] = "FAILED" } }
    assert.are.same({
      ARN .. "subnet-a is not associated with the share (association FAILED)",
      ARN .. "subnet-b is not associated with the share (no association)",
    }, share.verify(fake_ctx(2), live))
  end)

  it("reports the principal and the subnets the RDS account cannot see", function()
    local live = { status = "ACTIVE", principals = {},
      resources = { [ARN .. "subnet-a"] = "ASSOCIATED", [ARN .. "subnet-b"] = "ASSOCIATED" } }
    assert.are.same({
      "the RDS account 222222222222 is not an associated principal",
      "the RDS account does not see every shared subnet: missing",
    }, share.verify(fake_ctx(1), live))
  end)
end)
