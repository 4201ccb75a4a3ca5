--- kumo's own RAM waiters (botocore ships no waiters file for RAM).
-- RAM lists are paginated, so these read every page before matching
-- (`paginate = true`). Format: docs/waiters.md.
--
-- Call parameters:
-- * ResourceShareActive: `{ resourceOwner = "SELF", resourceShareArns = { arn } }`
-- * ResourceShareAssociated: `{ associationType = "RESOURCE"|"PRINCIPAL",
--   resourceShareArns = { arn } }` (run once per type)
-- * ResourceShareInvitationAccepted (receiver): `{ resourceShareArns = { arn } }`
-- * SharedResourcesAvailable (participant): `{ resourceOwner = "OTHER-ACCOUNTS",
--   resourceShareArns = { arn }, resourceType = "ec2:Subnet" }`
-- * ResourceShareDeleted: `{ resourceOwner = "SELF", resourceShareArns = { arn } }`

local ORG_HINT = "Subnets can only be shared inside one AWS Organization with RAM sharing " ..
  "enabled (EnableSharingWithAwsOrganization in the management account); read statusMessage"

return {
  version = 2,
  waiters = {
    ResourceShareActive = {
      description = "Wait until the resource share is ACTIVE.",
      operation = "GetResourceShares", delay = 5, maxAttempts = 60, paginate = true,
      observe = "resourceShares[].{name: name, status: status, message: statusMessage}",
      acceptors = {
        { matcher = "pathAll", argument = "resourceShares[].status", expected = "ACTIVE", state = "success" },
        { matcher = "pathAny", argument = "resourceShares[].status", expected = "FAILED", state = "failure", hint = ORG_HINT },
        { matcher = "pathAny", argument = "resourceShares[].status", expected = "DELETING", state = "failure",
          hint = "The share is being deleted; create a new one" },
        { matcher = "pathAny", argument = "resourceShares[].status", expected = "DELETED", state = "failure",
          hint = "The share was deleted; create a new one" },
        { matcher = "error", expected = "UnknownResourceException", state = "retry" },
      },
    },
    ResourceShareAssociated = {
      description = "Wait until every association (resources or principals) of the share is ASSOCIATED.",
      operation = "GetResourceShareAssociations", delay = 5, maxAttempts = 60, paginate = true,
      observe = "resourceShareAssociations[].{entity: associatedEntity, status: status, message: statusMessage}",
      acceptors = {
        { matcher = "pathAll", argument = "resourceShareAssociations[].status", expected = "ASSOCIATED", state = "success" },
        { matcher = "pathAny", argument = "resourceShareAssociations[].status", expected = "FAILED", state = "failure", hint = ORG_HINT },
        { matcher = "pathAny", argument = "resourceShareAssociations[].status", expected = "DISASSOCIATING", state = "failure",
          hint = "Someone is removing the association; associate it again" },
        { matcher = "pathAny", argument = "resourceShareAssociations[].status", expected = "DISASSOCIATED", state = "failure",
          hint = "The association was removed; associate it again" },
        { matcher = "pathAny", argument = "resourceShareAssociations[].status", expected = "SUSPENDED", state = "failure",
          hint = "The association is suspended (the principal left the organization?)" },
        { matcher = "pathAny", argument = "resourceShareAssociations[].status", expected = "SUSPENDING", state = "failure",
          hint = "The association is being suspended (the principal left the organization?)" },
        { matcher = "error", expected = "UnknownResourceException", state = "retry" },
      },
    },
    ResourceShareInvitationAccepted = {
      description = "Wait until the invitation to the share is ACCEPTED (receiver side; not used for subnets inside an organization).",
      operation = "GetResourceShareInvitations", delay = 5, maxAttempts = 60, paginate = true,
      observe = "resourceShareInvitations[].status",
      acceptors = {
        { matcher = "pathAll", argument = "resourceShareInvitations[].status", expected = "ACCEPTED", state = "success" },
        { matcher = "pathAny", argument = "resourceShareInvitations[].status", expected = "REJECTED", state = "failure" },
        { matcher = "pathAny", argument = "resourceShareInvitations[].status", expected = "EXPIRED", state = "failure" },
        { matcher = "error", expected = "ResourceShareInvitationArnNotFoundException", state = "retry" },
        { matcher = "error", expected = "UnknownResourceException", state = "retry" },
      },
    },
    SharedResourcesAvailable = {
      description = "Wait until the shared resources are AVAILABLE to this (participant) account.",
      operation = "ListResources", delay = 5, maxAttempts = 60, paginate = true,
      observe = "resources[].{arn: arn, status: status}",
      acceptors = {
        { matcher = "pathAll", argument = "resources[].status", expected = "AVAILABLE", state = "success" },
        { matcher = "pathAny", argument = "resources[].status", expected = "ZONAL_RESOURCE_INACCESSIBLE", state = "failure",
          hint = "A shared subnet is in an Availability Zone this account cannot use" },
        { matcher = "pathAny", argument = "resources[].status", expected = "LIMIT_EXCEEDED", state = "failure",
          hint = "A RAM or VPC sharing limit was reached" },
        { matcher = "pathAny", argument = "resources[].status", expected = "UNAVAILABLE", state = "failure" },
      },
    },
    ResourceShareDeleted = {
      description = "Wait until the resource share is DELETED (or gone).",
      operation = "GetResourceShares", delay = 5, maxAttempts = 60, paginate = true,
      observe = "resourceShares[].status",
      acceptors = {
        { matcher = "pathAll", argument = "resourceShares[].status", expected = "DELETED", state = "success" },
        { matcher = "path", argument = "length(resourceShares) == `0`", expected = true, state = "success" },
        { matcher = "error", expected = "UnknownResourceException", state = "success" },
      },
    },
  },
}
