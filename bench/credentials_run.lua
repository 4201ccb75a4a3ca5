-- One "script run" that needs to act in the APP and RDS accounts of the
-- sandbox: resolves profiles app and rds (AssumeRole each, or the shared
-- ~/.aws/cli/cache) and calls GetCallerIdentity in both. Prints the seconds.
-- Usage: kumo run bench/credentials_run.lua            (files from AWS_CONFIG_FILE etc.)
--        kumo run bench/credentials_run.lua get N      (N cached get() calls: calls/s)
local aws = require "kumo.aws"
local clock = require "kumo.clock"
local mode, n = ...
local t0 = clock.monotonic()
if mode == "get" then
  local s = aws.session{ profile = "app" }
  local p = s:credentials()
  p:get()
  n = tonumber(n) or 100000
  t0 = clock.monotonic()
  for _ = 1, n do p:get() end
  print(string.format("%.0f", n / (clock.monotonic() - t0)))
  return
end
for _, name in ipairs{ "app", "rds" } do
  aws.session{ profile = name }:identity()
end
print(string.format("%.3f", clock.monotonic() - t0))
