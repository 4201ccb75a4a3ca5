--- kumo side of bench/parts.d/25-catalogue.sh: one service's model load,
-- session, client and first call against the local server, timed from
-- before `require "kumo.aws"` (the host's own start is the caller's wall
-- clock). Prints "<ms> <service>".
-- Usage: kumo run first_call.lua SERVICE PORT
local clock = require "kumo.clock"
local t0 = clock.monotonic()
local aws = require "kumo.aws"
local service, port = arg[1], arg[2]
local s = aws.session{
  region = "us-east-1", env = {}, config_file = "/nonexistent", credentials_file = "/nonexistent",
  credentials = { access_key_id = "AKIAIOSFODNN7EXAMPLE",
    secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" },
}
local c = s:client(service, { endpoint_url = "http://127.0.0.1:" .. port })
local out
if service == "ec2" then out = c:DescribeRegions{}
elseif service == "s3" then out = c:ListBuckets{}
else out = c:ListTables{} end
assert(out, "no answer")
print(string.format("%.2f %s", (clock.monotonic() - t0) * 1000, service))
