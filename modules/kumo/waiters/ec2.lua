--- kumo's own EC2 waiters (botocore's EC2 waiters are available too; these
-- cover the participant side of subnet sharing and security-group teardown).
-- Format: docs/waiters.md.
--
-- Call parameters:
-- * SharedSubnetsVisible: `{ SubnetIds = { ... } }` (participant account)
-- * SecurityGroupVisible: `{ GroupIds = { sg } }` (longer than the model's
--   SecurityGroupExists, 5 s x 6)
-- * SecurityGroupDeletable: `{ Filters = { { Name = "group-id", Values = { sg } } } }`

return {
  version = 2,
  waiters = {
    SharedSubnetsVisible = {
      description = "Wait until every requested subnet is visible and available in this account.",
      operation = "DescribeSubnets", delay = 5, maxAttempts = 60,
      observe = "Subnets[].{id: SubnetId, state: State, owner: OwnerId}",
      acceptors = {
        { matcher = "path", inputOutput = true, expected = true, state = "success",
          argument = "length(output.Subnets[?State=='available']) == length(input.SubnetIds)" },
        { matcher = "error", expected = "InvalidSubnetID.NotFound", state = "retry" },
      },
    },
    SecurityGroupVisible = {
      description = "Wait until the security group can be described (eventual consistency after create).",
      operation = "DescribeSecurityGroups", delay = 5, maxAttempts = 40,
      observe = "SecurityGroups[].GroupId",
      acceptors = {
        { matcher = "path", argument = "length(SecurityGroups[].GroupId) > `0`", expected = true, state = "success" },
        { matcher = "error", expected = "InvalidGroup.NotFound", state = "retry" },
      },
    },
    SecurityGroupDeletable = {
      description = "Wait until no network interface uses the security group (ENIs of a deleted endpoint drain slowly).",
      operation = "DescribeNetworkInterfaces", delay = 15, maxAttempts = 80,
      observe = "NetworkInterfaces[].{id: NetworkInterfaceId, status: Status, description: Description}",
      acceptors = {
        { matcher = "path", argument = "length(NetworkInterfaces) == `0`", expected = true, state = "success" },
      },
    },
  },
}
