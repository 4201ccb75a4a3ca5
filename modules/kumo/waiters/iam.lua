--- kumo's own IAM waiters, next to the model's RoleExists, PolicyExists,
-- InstanceProfileExists and UserExists. IAM is eventually consistent: a
-- role or inline policy just written may not be visible (or usable by RDS)
-- for a few seconds. Format: docs/waiters.md.
--
-- Call parameters: RolePolicyExists `{ RoleName, PolicyName }`;
-- RoleDeleted `{ RoleName }`.

return {
  version = 2,
  waiters = {
    RolePolicyExists = {
      description = "Wait until the role's inline policy can be read.",
      operation = "GetRolePolicy", delay = 1, maxAttempts = 30,
      observe = "PolicyName",
      acceptors = {
        { matcher = "status", expected = 200, state = "success" },
        { matcher = "error", expected = "NoSuchEntity", state = "retry" },
      },
    },
    RoleDeleted = {
      description = "Wait until the role is gone.",
      operation = "GetRole", delay = 1, maxAttempts = 30,
      observe = "Role.RoleName",
      acceptors = {
        { matcher = "error", expected = "NoSuchEntity", state = "success" },
        { matcher = "status", expected = 200, state = "retry" },
      },
    },
  },
}
