-- The workflow's security-group and tag logic without AWS: which rules
-- are extras on a group kumo owns (allowed rules and rules another step
-- manages are not), tag diffs, and which errors are AWS's (transient).
-- The end-to-end behaviour is in tests/e2e/workflow_converge_spec.lua.
local root = os.getenv("KUMO_ROOT") or "."
package.path = root .. "/scripts/?.lua;" .. package.path
local sg = require "rds-proxy.sg"
local tags = require "rds-proxy.tags"
local prechecks = require "rds-proxy.prechecks"

-- A context whose only read is one page of DescribeSecurityGroupRules.
local function ctx_with(rules, allowed)
  return {
    allowed_rules = allowed,
    read_all = function(_, side, service, op, params)
      assert.are.equal("rds", side)
      assert.are.equal("ec2:DescribeSecurityGroupRules", service .. ":" .. op)
      assert.are.same({ { Name = "group-id", Values = { "sg-1" } } }, params.Filters)
      return { { SecurityGroupRules = rules } }
    end,
  }
end

local RULES = {
  { SecurityGroupRuleId = "sgr-a", IsEgress = false, IpProtocol = "tcp", FromPort = 5432, ToPort = 5432,
    ReferencedGroupInfo = { GroupId = "sg-client", UserId = "111111111111" } },
  { SecurityGroupRuleId = "sgr-b", IsEgress = false, IpProtocol = "tcp", FromPort = 5432, ToPort = 5432,
    CidrIpv4 = "0.0.0.0/0" },
  { SecurityGroupRuleId = "sgr-c", IsEgress = false, IpProtocol = "tcp", FromPort = 443, ToPort = 443,
    CidrIpv4 = "10.0.0.0/8" },
  { SecurityGroupRuleId = "sgr-d", IsEgress = true, IpProtocol = "-1", FromPort = -1, ToPort = -1,
    CidrIpv4 = "0.0.0.0/0" },
  { SecurityGroupRuleId = "sgr-e", IsEgress = false, IpProtocol = "-1", FromPort = -1, ToPort = -1,
    CidrIpv6 = "::/0" },
}

describe("workflow security groups", function()
  it("reads inbound rules one per source, with their IDs, ports and protocols", function()
    local rules = sg.rules(ctx_with(RULES), "sg-1")
    assert.are.equal(4, #rules, "the egress rule is not listed")
    assert.are.same({ id = "sgr-a", protocol = "tcp", port = 5432, from_group = "sg-client",
                      from_user = "111111111111" }, rules[1])
    assert.are.equal("all", rules[4].port)
    assert.are.equal("all/all from ::/0", sg.describe(rules[4]))
    assert.are.equal("tcp/5432 from 111111111111/sg-client", sg.describe(rules[1]))
  end)

  it("calls extra every inbound rule but the allowed ones and those another step manages", function()
    local step = sg.group_step{ name = "endpoint_sg", title = "t", group_name = function() return "n" end,
      vpc_id = function() return "vpc-1" end, description = function() return "d" end,
      managed_elsewhere = function(_, r) return r.from_group ~= nil end }
    local ctx = ctx_with(RULES, { endpoint_sg = { { protocol = "tcp", port = 443, cidr = "10.0.0.0/8" } } })
    local extra = step.extras(ctx, { GroupId = "sg-1" })
    local ids = {}
    for i, r in ipairs(extra) do ids[i] = r.id end
    assert.are.same({ "sgr-b", "sgr-e" }, ids)
    local d = sg.remove_diff(extra[1])
    assert.are.equal("- remove rule", d.key)
    assert.are.equal("tcp/5432 from 0.0.0.0/0 (sgr-b)", d.have)
    assert.are.equal("sgr-b", d.rule_id)
    -- without the allowance, the 10.0.0.0/8 rule is an extra too
    assert.are.equal(3, #step.extras(ctx_with(RULES), { GroupId = "sg-1" }))
  end)

  it("finds its group in the configured VPC and the pair's group left in a former VPC, to delete last", function()
    local step = sg.group_step{ name = "endpoint_sg", title = "t", group_name = function() return "kumo-p-endpoint" end,
      vpc_id = function() return "vpc-new" end, description = function() return "d" end }
    local function group(id, vpc, pair)
      return { GroupId = id, GroupName = "kumo-p-endpoint", VpcId = vpc,
               Tags = pair and { { Key = "kumo:pair", Value = pair } } or {} }
    end
    local calls = 0
    local ctx = {
      pair = { name = "p" }, facts = { rds_account = "222222222222" },
      read = function(_, side, service, op, params)
        calls = calls + 1
        assert.are.equal("rds ec2 DescribeSecurityGroups", side .. " " .. service .. " " .. op)
        -- by name and owner, in every VPC: a group in a former VPC is found too
        for _, f in ipairs(params.Filters) do assert.are_not.equal("vpc-id", f.Name) end
        return { SecurityGroups = { group("sg-old", "vpc-old", "p"), group("sg-new", "vpc-new", "p"),
                                    group("sg-theirs", "vpc-x", "other-pair"), group("sg-user", "vpc-y") } }
      end,
      read_all = function() return { { SecurityGroupRules = {} } } end,
    }
    local live, dups = step.read(ctx)
    assert.are.equal("sg-new", live.GroupId)
    assert.are.equal(1, #dups, "only the pair's own group in another VPC")
    assert.are.equal("sg-old", dups[1].GroupId)
    assert.are.equal("in vpc-old, not in the configured VPC vpc-new", step.stale(ctx, dups[1]))
    assert.is_nil(step.stale(ctx, live))
    assert.is_true(step.stale_last)
    -- absent in the configured VPC: nothing live, the old one still a stale copy
    ctx.sg_seen, ctx.sg_elsewhere = nil, nil
    local moved = sg.group_step{ name = "endpoint_sg", title = "t", group_name = function() return "kumo-p-endpoint" end,
      vpc_id = function() return "vpc-3" end, description = function() return "d" end }
    live, dups = moved.read(ctx)
    assert.is_nil(live)
    assert.are.equal(2, #dups)
    assert.are.equal(2, calls)
  end)

  it("matches a rule on protocol, port and exactly one source", function()
    local r = { protocol = "tcp", port = 5432, from_group = "sg-x" }
    assert.is_true(sg.matches(r, { port = 5432, from_group = "sg-x" }))
    assert.is_false(sg.matches(r, { port = 3306, from_group = "sg-x" }))
    assert.is_false(sg.matches(r, { port = 5432, from_group = "sg-y" }))
    assert.is_false(sg.matches(r, { protocol = "udp", port = 5432, from_group = "sg-x" }))
    assert.is_false(sg.matches(r, { port = 5432, cidr = "0.0.0.0/0" }))
  end)
end)

describe("workflow tags", function()
  it("lists the tags to set and to remove, never aws: ones", function()
    local d = tags.diff({ { Key = "Project", Value = "orders" }, { Key = "Team", Value = "db" } },
      { { Key = "Project", Value = "old" }, { Key = "Gone", Value = "x" }, { Key = "aws:cloudformation:stack-name", Value = "s" } })
    assert.are.same({ set = { Project = "orders", Team = "db" }, remove = { "Gone" } }, d.tags)
    assert.are.equal("Gone=x, Project=old", d.have)
    assert.are.equal("Project=orders, Team=db", d.want)
    assert.is_nil(tags.diff({ { key = "a", value = "1" } }, { { key = "a", value = "1" } }))
  end)
end)

describe("workflow pre-check errors", function()
  it("tells AWS's throttling and outages from the config's mistakes", function()
    assert.is_true(prechecks.transient({ code = "Throttling", throttling = true, http_status = 400 }))
    assert.is_true(prechecks.transient({ code = "InternalFailure", http_status = 503 }))
    assert.is_true(prechecks.transient({ kind = "transport", code = "CURLE_COULDNT_CONNECT" }))
    assert.is_false(prechecks.transient({ code = "DBInstanceNotFound", http_status = 404, kind = "service" }))
    assert.is_false(prechecks.transient({ code = "AccessDenied", http_status = 403, kind = "service" }))
  end)
end)
