--- kumo's own Secrets Manager waiters (botocore ships none).
-- Format: docs/waiters.md. Both call DescribeSecret, which never returns
-- the secret's value.
--
-- Call parameters: `{ SecretId = name_or_arn }`.

return {
  version = 2,
  waiters = {
    SecretExists = {
      description = "Wait until the secret can be described (eventual consistency after create).",
      operation = "DescribeSecret", delay = 2, maxAttempts = 30,
      observe = "{name: Name, deleted: DeletedDate}",
      acceptors = {
        { matcher = "path", argument = "DeletedDate == `null`", expected = true, state = "success" },
        { matcher = "path", argument = "DeletedDate != `null`", expected = true, state = "failure",
          hint = "The secret is scheduled for deletion: RestoreSecret it, or use a new name" },
        { matcher = "error", expected = "ResourceNotFoundException", state = "retry" },
      },
    },
    SecretDeleted = {
      description = "Wait until the secret is gone or scheduled for deletion.",
      operation = "DescribeSecret", delay = 2, maxAttempts = 30,
      observe = "{name: Name, deleted: DeletedDate}",
      acceptors = {
        { matcher = "error", expected = "ResourceNotFoundException", state = "success" },
        { matcher = "path", argument = "DeletedDate != `null`", expected = true, state = "success" },
      },
    },
  },
}
