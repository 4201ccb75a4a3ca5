--- The workflow's steps, in apply order. `destroy` runs them in reverse
-- (the facts doc's teardown order). Reorder, remove or add steps here, or
-- in a config's `steps = { ... }` (names, or step tables run confined): a
-- step is a module with `read`, `diff`, `create`, `update`, `verify`,
-- `delete` and optional `needs` (see docs/workflow.md, contract.lua).
-- @module rds-proxy.steps
return {
  "share",            -- APP: RAM share of the APP subnets with the RDS account
  "secret",           -- RDS: the database credentials (only when secret = {...})
  "role",             -- RDS: IAM role the proxy uses to read the secret
  "proxy_sg",         -- RDS: proxy security group in the DB VPC (no rules)
  "db_ingress",       -- RDS: DB SG admits the proxy SG on the DB port
  "proxy",            -- RDS: the RDS Proxy
  "target_group",     -- RDS: connection pool settings of the default target group
  "target",           -- RDS: the database registered as the proxy's target
  "endpoint_sg",      -- RDS: endpoint security group, in the APP VPC
  "endpoint_ingress", -- RDS: endpoint SG admits the APP clients on the listener port
  "endpoint",         -- RDS: the proxy endpoint in the shared APP subnets
}
